// The kinds of application profile, how confidential ones authenticate at the token endpoint,
// and when their certificates are flagged: plain lists with no imports, so that the store, the
// rules, and the admin API's response shapes (src/admin/shapes.ts, which the console
// type-checks under browser settings) share one definition.
export const APP_TYPE_NAMES = ['web', 'native', 'spa', 'service', 'handoff', 'saml'] as const;
export type AppType = (typeof APP_TYPE_NAMES)[number];

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_jwt', 'private_key_jwt'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/** A registered certificate is flagged (alert, app view) from this many days before it expires. */
export const APP_CERT_WARNING_DAYS = 90;
