// The admin API's response shapes, as zod schemas: the route files answer with them (checked
// and published in the OpenAPI document), and the console (console/src/types.ts) and the CLI
// take their types from them with z.output, so a change here is a type error where a client
// relies on the old shape instead of a hand copy gone stale. This file imports nothing but zod:
// the console type-checks it under browser settings (no Node types) and imports it with
// `import type` only, so neither zod nor server code reaches the console's bundle. (Besides zod
// it imports only modules that import nothing but zod: src/apps/kinds.ts, src/policy/settings.ts.)
import { z } from 'zod';
import { APP_CERT_WARNING_DAYS, APP_TYPE_NAMES, CLIENT_AUTH_METHODS } from '../apps/kinds.ts';
import { policySettingsWith } from '../policy/settings.ts';

export const epochMs = z.number().int().describe('epoch milliseconds');

export const role = z.enum(['superadmin', 'admin', 'helpdesk', 'auditor']);

/** A language of Gatehouse's pages: the catalogs of src/i18n (LOCALES; test/unit-i18n.test.ts checks they agree). Spelled out here because the console imports this file without Node. */
export const locale = z.enum(['en', 'es', 'fr', 'de']);
/** A page of a list: pass nextCursor as ?cursor= for the next one. */
export const page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('pass as ?cursor= for the next page; null on the last page'),
  });

export const userSummary = z.object({
  id: z.string(),
  tenantId: z.string(),
  email: z.string(),
  username: z.string().nullable().describe('the sign-in name, unique in the tenant (lowercased); directory users: from the directory (sAMAccountName, uid)'),
  emailVerified: z
    .boolean()
    .describe('the email_verified claim: the user followed a verification link, an administrator marked it, or a directory or upstream gave the address'),
  mustChangePassword: z.boolean().describe('the user must choose a new password at their next sign-in'),
  domain: z.string(),
  givenName: z.string().nullable(),
  familyName: z.string().nullable(),
  status: z.enum(['active', 'disabled']),
  ouId: z.string().nullable(),
  roles: z.array(role),
  hasPassword: z.boolean(),
  upstreamId: z.string().nullable().describe("the upstream directory that keeps this user's names and email"),
  directoryId: z.string().nullable().describe('the LDAP directory that keeps this user (they sign in with its password)'),
  locale: z
    .string()
    .nullable()
    .describe("the language the user chose for Gatehouse's pages (en, es, fr, de); null: none chosen, the browser's or the tenant default applies"),
  createdAt: epochMs,
  updatedAt: epochMs,
  version: z.number().int(),
  mayManage: z
    .boolean()
    .describe(
      'whether you may change, disable, delete, unlock this account, reset its password or two-step verification, end its sessions or change its groups: false when it holds a role you do not hold (see "Who may act on whom")',
    ),
});

export const deploymentTarget = z.object({
  type: z.enum(['user', 'group', 'ou', 'domain']),
  id: z.string(),
  label: z.string().describe('the email, group name, OU path or domain'),
});

export const auditEvent = z.object({
  id: z.string(),
  at: epochMs,
  type: z.string(),
  level: z.enum(['info', 'warn', 'error']),
  actor: z.string().nullable().describe('the administrator who made the change'),
  subject: z.string().nullable(),
  userId: z.string().nullable(),
  clientId: z.string().nullable(),
  ip: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
});

// ---------- application profiles ----------

export const appType = z.enum(APP_TYPE_NAMES);

/**
 * Claims the engine or Gatehouse sets from the sign-in and the token itself: a custom claim of
 * the same name would let a profile assert an assurance level (acr, amr), a subject, an
 * audience or a verified address that the sign-in never established.
 */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'auth_time',
  'nonce',
  'acr',
  'amr',
  'azp',
  'sid',
  'at_hash',
  'c_hash',
  's_hash',
  'ds_hash',
  'cnf',
  'scope',
  'client_id',
  'events',
  'email_verified',
  'phone_number_verified',
]);

export const customClaim = z.object({
  name: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/, 'must be a claim name like department or urn:example:role')
    .refine((n) => !RESERVED_CLAIMS.has(n), {
      message: 'is set by Gatehouse from the sign-in and the token itself; choose another name, like department or urn:example:role',
    }),
  value: z.string().max(1000).optional().describe('a static value'),
  attribute: z.string().max(50).optional().describe('or a user attribute: email, given_name, family_name, name, domain, ou, groups, user_id'),
});

// Signed tokens live at most a day: a retired signing key stays published for 24 hours, so
// everything it signed must have expired by then. Refresh tokens are opaque and may live longer.
const signedTtl = z
  .number()
  .int()
  .min(60)
  .max(24 * 3600);
export const tokenTtls = z
  .object({
    accessToken: signedTtl.optional(),
    idToken: signedTtl.optional(),
    refreshToken: z
      .number()
      .int()
      .min(60)
      .max(365 * 24 * 3600)
      .optional(),
  })
  .describe('seconds: accessToken and idToken 60 s to 24 h, refreshToken 60 s to 1 year');

/** The IdP metadata an application is configured with ("View and copy IdP metadata"). */
export const idpMetadata = z.object({
  issuer: z.string(),
  discoveryUrl: z.string(),
  authorizationEndpoint: z.string(),
  tokenEndpoint: z.string(),
  userinfoEndpoint: z.string(),
  jwksUri: z.string(),
  endSessionEndpoint: z.string(),
  introspectionEndpoint: z.string(),
  revocationEndpoint: z.string(),
  pushedAuthorizationRequestEndpoint: z.string(),
});

/** SAML apps: the service provider's settings (docs/saml.md), and the IdP addresses to configure it with. */
export const samlApp = z.object({
  entityId: z.string().describe('the SP entity ID'),
  acs: z
    .array(z.object({ url: z.string(), binding: z.literal('HTTP-POST'), index: z.number().int() }))
    .describe('Assertion Consumer Service URLs; the first is the default'),
  slo: z
    .object({ url: z.string(), binding: z.enum(['redirect', 'post']) })
    .nullable()
    .describe("the SP's Single Logout service (front channel)"),
  sloBackchannelUrl: z.string().nullable().describe("the SP's SOAP Single Logout service"),
  nameIdFormat: z.enum(['email', 'persistent', 'transient', 'unspecified']),
  nameIdAttribute: z.string(),
  attributes: z.array(
    z.object({
      name: z.string(),
      friendlyName: z.string().optional(),
      format: z.enum(['basic', 'uri', 'unspecified']).optional(),
      attribute: z.string().optional(),
      value: z.string().optional(),
    }),
  ),
  sign: z.enum(['response', 'assertion', 'both']),
  signatureAlgorithm: z.enum(['rsa-sha256', 'rsa-sha1']),
  allowSha1: z.boolean(),
  encryptAssertion: z.boolean(),
  assertionLifetimeSeconds: z.number().int(),
  requireSignedRequests: z.boolean(),
  certificates: z.array(z.string()).describe("the SP's certificates (PEM)"),
  idp: z
    .object({ entityId: z.string(), metadataUrl: z.string(), ssoUrl: z.string(), sloUrl: z.string(), launchUrl: z.string() })
    .describe('what to configure the SP with'),
  warnings: z.array(z.string()),
});

export const app = z.object({
  clientId: z.string(),
  name: z.string(),
  displayName: z.string(),
  type: appType,
  redirectUris: z.array(z.string()),
  postLogoutRedirectUris: z.array(z.string()),
  backchannelLogoutUri: z.string().nullable(),
  homeUrl: z.string().nullable(),
  initiateLoginUri: z.string().nullable(),
  loginRedirectUrl: z.string().nullable(),
  passwordGrant: z.boolean(),
  logo: z.string().nullable(),
  requireMfa: z.boolean(),
  deviceSsoGroup: z.string().nullable().describe('native apps: the device SSO group (OpenID Connect Native SSO); null: none'),
  claims: z.array(customClaim),
  tokenTtls,
  refreshTokenMinutes: z.number().int().optional().describe('hand-off apps: the absolute lifetime of a handed-over refresh token, from the launch'),
  outliveSession: z.boolean().optional().describe("hand-off apps: the handed-over refresh token survives the user's sign-out of Gatehouse"),
  launchUrl: z.string().describe("the app's stable launch link"),
  hasSecret: z.boolean().describe('the secret itself is shown only when created or regenerated'),
  deployed: z.boolean().describe('Deployed / Not deployed'),
  deployment: z.object({ all: z.boolean(), targets: z.array(deploymentTarget) }),
  metadata: idpMetadata,
  jwks: z
    .object({ keys: z.array(z.looseObject({ kty: z.string() })) })
    .nullable()
    .describe('the registered public keys'),
  certificateExpiresAt: epochMs.nullable().describe('the earliest expiry of the registered certificates'),
  clientAuthMethod: z.enum([...CLIENT_AUTH_METHODS, 'none']).describe('token endpoint authentication; none for public apps (spa, native)'),
  certificateExpiresSoon: z.boolean().describe(`a registered certificate expires within ${APP_CERT_WARNING_DAYS} days`),
  saml: samlApp.optional().describe('SAML apps: the service provider, and the IdP addresses to configure it with'),
  createdAt: epochMs,
  updatedAt: epochMs,
  version: z.number().int(),
});

// ---------- user policies ----------

export const policy = z.object({
  id: z.string(),
  name: z.string(),
  priority: z.number().int(),
  targets: z.array(z.object({ type: z.enum(['all', 'user', 'group', 'ou', 'domain']), id: z.string(), label: z.string() })),
  settings: policySettingsWith(z.string()),
  createdAt: epochMs,
  updatedAt: epochMs,
  version: z.number().int(),
});

// ---------- tenants, branding ----------

export const tenant = z.object({
  slug: z.string(),
  name: z.string(),
  issuer: z.string(),
  discoveryUrl: z.string(),
  sessionLifetimeMinutes: z.number().int().describe('0 = off, else 30-5760'),
  sharedDeviceShiftHours: z.number().int().describe('how long a shared-device session (Native SSO check-out) lasts, 1-24 hours (default 12)'),
  createdAt: epochMs,
  updatedAt: epochMs,
  version: z.number().int(),
});

export const branding = z.object({
  backgroundColor: z.string().nullable().describe("#rrggbb; null: Gatehouse's own"),
  logo: z.string().nullable().describe('a data: URL (PNG, GIF or JPEG); null: none'),
  defaultLocale: locale.describe("the pages' language when neither the application (ui_locales), the user's choice nor the browser decides; default en"),
  sessionLifetimeMinutes: z.number().int().describe('users are signed out after this long; 0 = off'),
  version: z.number().int().describe("the tenant's version"),
});

// ---------- signing keys, second factors ----------

export const signingKey = z.object({
  kid: z.string(),
  alg: z.enum(['RS256', 'ES256']),
  status: z
    .enum(['active', 'next', 'retired'])
    .describe('active signs; next is published ahead of the next rotation; retired stays published until its tokens expire'),
  notAfter: epochMs.describe("the certificate's expiry (two years from the key's creation)"),
  expiresSoon: z.boolean().describe('the certificate expires within the warning period: rotate'),
  createdAt: epochMs,
  publishedAt: epochMs.describe('when the key first appeared in the JWKS'),
  activatesAt: epochMs.nullable().describe('active and retired: when it started signing; next: when it will start signing'),
  activatedAt: epochMs.nullable(),
  retiredAt: epochMs.nullable(),
});

export const mfaFactor = z.object({
  id: z.string(),
  type: z.string().describe('totp (authenticator app), webauthn (passkey), push (Gatehouse Authenticator), ...'),
  label: z.string(),
  createdAt: epochMs,
  lastUsedAt: epochMs.nullable(),
});

// ---------- sessions ----------

export const sessionView = z.object({
  id: z.string(),
  userId: z.string(),
  email: z.string().nullable(),
  device: z.string().describe('the browser and system, like "Chrome 131 on Windows"'),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  startedAt: epochMs,
  lastSeenAt: epochMs,
  expiresAt: epochMs,
  apps: z.array(z.object({ clientId: z.string(), name: z.string() })).describe('the applications signed in to through this session'),
  amr: z.array(z.string()).describe('how the user signed in: pwd, otp, hwk, ...'),
  acr: z.string().nullable(),
  mayEnd: z.boolean().describe('whether you may end it: false when its user holds a role you do not hold'),
});

export const deviceSessionView = z.object({
  id: z.string().describe('the device session (DEVICE_SESSION_ID of gatehouse device checkin)'),
  userId: z.string(),
  email: z.string().nullable(),
  group: z.string().describe('the device SSO group of the app that checked the device out'),
  deviceName: z.string().nullable().describe('as reported by the check-out app (device_name)'),
  deviceId: z.string().nullable().describe('as reported by the check-out app (device_id)'),
  startedAt: epochMs,
  expiresAt: epochMs.describe('the end of the shift'),
  endedAt: epochMs.nullable(),
  endReason: z.string().nullable().describe('checkin, checkin_by_administrator, next_checkout or expired'),
  status: z.enum(['live', 'expired', 'ended']),
  apps: z
    .array(z.object({ clientId: z.string(), name: z.string(), joinedAt: epochMs }))
    .describe('the apps that obtained tokens under it, the check-out app first'),
  amr: z.array(z.string()).describe('how the user signed in at check-out'),
  acr: z.string().nullable(),
  mayCheckIn: z.boolean().describe('whether you may check it in: false when its user holds a role you do not hold'),
});

// ---------- groups, OUs ----------

export const group = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  memberCount: z.number().int(),
  createdAt: epochMs,
  updatedAt: epochMs,
  version: z.number().int(),
});

export const ou = z.object({
  id: z.string(),
  name: z.string(),
  parentId: z.string().nullable(),
  path: z.string(),
  createdAt: epochMs,
  updatedAt: epochMs,
  version: z.number().int(),
});

// ---------- directories (LDAP / Active Directory) and connectors ----------

const count = z.number().int();
export const syncRun = z.object({
  id: z.string(),
  mode: z.enum(['full', 'incremental']),
  trigger: z.enum(['schedule', 'admin']),
  status: z.enum(['running', 'succeeded', 'failed']),
  phase: z.enum(['users', 'groups', 'memberships', 'cleanup', 'done']),
  users: z.object({ seen: count, created: count, updated: count, unchanged: count, disabled: count, skipped: count }),
  groups: z.object({ seen: count, created: count, updated: count }),
  memberships: z.object({ added: count, removed: count }),
  errorCount: count,
  errors: z.array(z.object({ dn: z.string(), message: z.string() })),
  message: z.string().nullable(),
  startedAt: epochMs,
  finishedAt: epochMs.nullable(),
});

export const directorySettings = z.object({
  kind: z.enum(['ad', 'openldap']),
  via: z.enum(['direct', 'connector']),
  urls: z.array(z.string()),
  startTls: z.boolean(),
  allowPlain: z.boolean(),
  caCertificate: z.string().nullable(),
  bindDn: z.string(),
  baseDns: z.array(z.string()),
  userFilter: z.string(),
  groupFilter: z.string(),
  attributes: z.object({
    externalId: z.string(),
    username: z.string(),
    email: z.string(),
    emailFallback: z.string().nullable(),
    givenName: z.string(),
    familyName: z.string(),
    memberOf: z.string().nullable(),
    member: z.string(),
    groupName: z.string(),
    changeMarker: z.enum(['uSNChanged', 'modifyTimestamp']),
  }),
  syncIntervalMinutes: count,
  fullSyncHours: count,
  pageSize: count,
  timeoutSeconds: count,
  passwordHelp: z
    .string()
    .nullable()
    .optional()
    .describe("where this directory's users change their password (a URL or one line of text), shown on their account page"),
});

export const directory = z.object({
  id: z.string(),
  name: z.string(),
  enabled: z.boolean(),
  settings: directorySettings,
  hasBindPassword: z.boolean(),
  lastSyncAt: epochMs.nullable(),
  lastFullSyncAt: epochMs.nullable(),
  lastRun: syncRun.nullable(),
  problem: z
    .object({
      kind: z.enum(['no_connector', 'sync_failed']),
      message: z.string().describe('what is wrong and what to do'),
      at: epochMs.nullable().describe("when it was seen (the failed sync's end); null for a state that holds now"),
    })
    .nullable()
    .describe('why the directory is down (its last sync failed, or no connector is connected to reach it); null when it is not, or is switched off'),
  createdAt: epochMs,
  updatedAt: epochMs,
  version: z.number().int(),
});

export const syncStatus = z.object({ running: syncRun.nullable(), runs: z.array(syncRun), lastSyncAt: epochMs.nullable(), lastFullSyncAt: epochMs.nullable() });

export const directoryTest = z.object({
  ok: z.boolean(),
  message: z.string(),
  url: z.string(),
  via: z.string(),
  bases: z.array(
    z.object({
      dn: z.string(),
      users: count,
      groups: count,
      sample: z.array(z.object({ dn: z.string(), email: z.string().nullable() })),
      problem: z.string().optional(),
    }),
  ),
});

export const connector = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['connected', 'disconnected', 'revoked']),
  lastSeenAt: epochMs.nullable(),
  connectedAt: epochMs.nullable(),
  version: z.string().nullable().describe("the connector's software version"),
  latencyMs: z.number().nullable(),
  address: z.string().nullable(),
  lastError: z.string().nullable(),
  lastErrorAt: epochMs.nullable(),
  recommendedFix: z.string().nullable(),
  createdAt: epochMs,
});

export const provisioningCode = z.object({ enterpriseId: z.string(), code: z.string(), expiresAt: epochMs, validSeconds: z.number().int(), url: z.string() });

// ---------- workstations (agents and the user switch) ----------

export const workstation = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['active', 'revoked']),
  address: z.string().nullable().describe("the address of the agent's last call"),
  version: z.string().nullable().describe("the agent's software version"),
  currentUser: z.object({ id: z.string(), email: z.string() }).nullable().describe('who is signed in to the desktop (null: nobody)'),
  since: epochMs.nullable().describe('when the current user signed in'),
  lastSeenAt: epochMs.nullable(),
  sessionsBound: z.number().int().describe('live SSO sessions started on this workstation'),
  createdAt: epochMs,
});

export const workstationCode = z.object({ code: z.string(), expiresAt: epochMs, validSeconds: z.number().int(), url: z.string() });

// ---------- desktop SSO with Kerberos ----------

export const kerberosMapping = z.object({
  rules: z
    .array(z.enum(['username', 'principal-as-email', 'name-at-email-domain']))
    .min(1)
    .max(3)
    .describe(
      "tried in order: username (the principal's name to the user's directory username), principal-as-email (name@REALM, lowercased, to the email: AD userPrincipalName), name-at-email-domain (name@emailDomain to the email)",
    ),
  emailDomain: z.string().max(253).nullable(),
});

export const kerberosSettings = z.object({
  enabled: z.boolean(),
  realm: z.string().nullable(),
  principal: z.string().nullable(),
  hasKeytab: z.boolean().describe('the keytab itself is never returned'),
  mapping: kerberosMapping.nullable(),
  negotiateFrom: z.array(z.string()).describe('address ranges Negotiate is offered to; empty: every address'),
  updatedAt: epochMs.nullable(),
  available: z.boolean().describe('the kerberos package is installed on this server'),
});

// ---------- upstream directories ----------

export const upstreamMode = z.enum(['disabled', 'test', 'enabled']).describe('disabled; test: only testUsers are routed there; enabled');
export const upstreamCheck = z.object({ ok: z.boolean(), message: z.string().nullable().describe('what failed'), checkedAt: epochMs });

export const upstream = z.object({
  id: z.string(),
  name: z.string(),
  mode: upstreamMode,
  type: z.enum(['entra', 'okta', 'cognito', 'oidc']),
  clientId: z.string(),
  scopes: z.array(z.string()),
  domains: z.array(z.string()),
  audience: z.enum(['staff', 'all']),
  loginHint: z.boolean(),
  showButton: z.boolean(),
  testUsers: z.array(z.string()),
  claimGate: z.object({ claim: z.string(), value: z.string() }).nullable(),
  externalIdClaim: z.string().nullable(),
  claims: z.object({ givenName: z.string(), familyName: z.string(), email: z.string() }),
  discoveryUrl: z.string(),
  issuer: z.string().describe('as the discovery document named it when saved'),
  hasClientSecret: z.boolean(),
  redirectUrl: z.string().describe('register this at the upstream'),
  lastCheck: upstreamCheck.nullable().describe('the last check of its discovery (hourly while not disabled, and POST .../test)'),
  createdAt: epochMs,
  updatedAt: epochMs,
  version: z.number().int(),
});

// ---------- the overview ----------

export const overviewAlert = z.object({
  level: z.enum(['warn', 'error']).describe('error: already expired'),
  kind: z.enum(['idp_certificate_expiring', 'app_certificate_expiring', 'upstream_discovery_failed', 'directory_down', 'connector_down', 'push_flood']),
  message: z.string(),
  subject: z.string().optional().describe("the key ID, the app's client ID, the upstream's, directory's or connector's ID, or the user ID (push_flood)"),
  expiresAt: z.number().int().optional(),
  at: z.number().int().optional().describe('when the problem was seen (a failed check or sync, a connector last seen, a push flood), epoch ms'),
});

export const overview = z.object({
  counts: z.object({
    users: z.number().int(),
    groups: z.number().int(),
    apps: z.number().int(),
    deployedApps: z.number().int(),
    activeSessions: z.number().int(),
  }),
  recentFailures: z.array(auditEvent),
  alerts: z.array(overviewAlert),
});
