// The engine's Client model, read from application profiles: apps are registered by
// administrators (never by dynamic registration), so the engine only ever reads them.
import type { App } from '../storage/apps.ts';
import type { AppService } from '../apps/service.ts';
import { isConfidential } from '../apps/service.ts';
import { signingKeys } from '../apps/jwks.ts';
import { forgetOnChange, type Bus } from '../ops/bus.ts';
import { TOKEN_EXCHANGE_GRANT } from './native-sso.ts';
import { samlBackchannelUri, samlCallbackUri } from '../saml/idp.ts';

export const PASSWORD_GRANT = 'password';

/**
 * Application profiles the engine reads on every request (client authentication, the
 * deployment check at authorization), kept in memory. A change to an application profile
 * drops its entry on the node that made it before it answers, and on every other node by a
 * change notice (forgetOnChange, see ops/bus.ts); after
 * a break in notices everything is dropped; and entries are reloaded after five minutes in
 * any case. Unknown client IDs are never kept (anyone can send them).
 */
export class ClientCache {
  readonly #entries = new Map<string, { until: number; value: Promise<App | undefined> }>();
  readonly #changed: (key: string) => Promise<void>;
  readonly #load: (tenantId: string, clientId: string) => Promise<App | undefined>;
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(bus: Bus, load: (tenantId: string, clientId: string) => Promise<App | undefined>, ttlMs = 5 * 60_000, max = 10_000) {
    this.#load = load;
    this.#ttlMs = ttlMs;
    this.#max = max;
    this.#changed = forgetOnChange(
      bus,
      'clients',
      (key) => this.#entries.delete(key),
      () => this.#entries.clear(),
    );
  }

  get(tenantId: string, clientId: string): Promise<App | undefined> {
    const key = `${tenantId}\n${clientId}`;
    const hit = this.#entries.get(key);
    if (hit && hit.until > Date.now()) return hit.value;
    const value = this.#load(tenantId, clientId);
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    // Stored before it resolves, so that an invalidation meanwhile drops it too.
    this.#entries.set(key, { until: Date.now() + this.#ttlMs, value });
    value.then(
      (v) => {
        if (v === undefined && this.#entries.get(key)?.value === value) this.#entries.delete(key);
      },
      () => {
        if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
      },
    );
    return value;
  }

  /** An application profile changed (call after the write is stored): forget it here at once, then on every other node. */
  invalidate(tenantId: string, clientId: string): Promise<void> {
    return this.#changed(`${tenantId}\n${clientId}`);
  }
}

/** How a confidential app authenticates at the token endpoint; private_key_jwt with the keys it registered. */
function clientAuth(app: App, secret: string | undefined): Record<string, unknown> {
  if (app.clientAuthMethod === 'private_key_jwt')
    return { client_secret: secret, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: signingKeys(app.jwks) } };
  return { client_secret: secret, token_endpoint_auth_method: app.clientAuthMethod };
}

export function clientMetadata(app: App, secret: string | undefined, issuer?: string): Record<string, unknown> {
  const base = {
    client_id: app.clientId,
    client_name: app.displayName,
    gatehouse_ttls: app.tokenTtls,
    gatehouse_claims: app.claims,
    gatehouse_require_mfa: app.requireMfa,
  };
  const password = app.passwordGrant ? [PASSWORD_GRANT] : [];
  if (app.type === 'saml') {
    // A SAML app signs users in through the engine as an internal authorization request
    // (saml/routes.ts): the code comes back to Gatehouse's own SAML callback and is redeemed
    // in-process, so the app is a public client (PKCE) whose only redirect URI is that callback.
    // With a SOAP Single Logout service, the engine's back-channel logout reaches the SP too:
    // its logout token goes to an internal address that oidc/engine.ts's fetch hook turns into
    // a SAML LogoutRequest (saml/logout.ts), so every way a session ends logs the SP out. With
    // only a front-channel (Redirect/POST) service, the same hook notes the SP, and a browser
    // signing out is taken through its SLO endpoint (saml/logout.ts frontChannelLogout).
    return {
      ...base,
      token_endpoint_auth_method: 'none',
      application_type: 'web',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: issuer ? [samlCallbackUri(issuer)] : [],
      ...(issuer &&
        (app.saml?.sloBackchannelUrl || app.saml?.slo) && {
          backchannel_logout_uri: samlBackchannelUri(issuer, app.clientId),
          backchannel_logout_session_required: true,
        }),
    };
  }
  if (app.type === 'service') {
    return { ...base, ...clientAuth(app, secret), grant_types: ['client_credentials', ...password], response_types: [], redirect_uris: [] };
  }
  if (app.type === 'handoff') {
    // Refresh tokens are handed over at launch (apps/launch.ts); the app only redeems them.
    return { ...base, ...clientAuth(app, secret), grant_types: ['refresh_token', ...password], response_types: [], redirect_uris: [] };
  }
  return {
    ...base,
    ...(isConfidential(app.type) ? clientAuth(app, secret) : { token_endpoint_auth_method: 'none' }),
    application_type: app.type === 'native' ? 'native' : 'web',
    // Native apps may attempt the Native SSO token exchange; outside a device SSO group it is
    // refused with unauthorized_client (oidc/native-sso.ts), as the specification asks.
    grant_types: ['authorization_code', 'refresh_token', ...password, ...(app.type === 'native' ? [TOKEN_EXCHANGE_GRANT] : [])],
    response_types: ['code'],
    redirect_uris: app.redirectUris,
    post_logout_redirect_uris: app.postLogoutRedirectUris,
    ...(app.backchannelLogoutUri && { backchannel_logout_uri: app.backchannelLogoutUri, backchannel_logout_session_required: true }),
  };
}

/**
 * Gatehouse's own client of each tenant's engine: the app launcher signs the user in through
 * it (so a launch reuses the SSO session, or asks the user to sign in). Its client ID is
 * reserved; its secret is derived from the instance secret and never leaves the server.
 */
export const LAUNCHER_CLIENT_ID = 'gatehouse-launcher';

export function launcherClientMetadata(secret: string, redirectUris: string[]): Record<string, unknown> {
  return {
    client_id: LAUNCHER_CLIENT_ID,
    client_secret: secret,
    client_name: 'Gatehouse',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: redirectUris,
  };
}

/**
 * The admin console's client of each tenant's engine: a public client (code + PKCE, no
 * secret) whose access tokens are JWTs for the admin API (a resource indicator, RFC 8707;
 * see engine.ts). Only active users holding an administrator role get a grant. Reserved.
 */
export const CONSOLE_CLIENT_ID = 'gatehouse-console';
/** The one scope of the admin API resource; the admin API requires it on console tokens. */
export const CONSOLE_SCOPE = 'gatehouse:admin';
/** Short-lived: the console renews with its refresh token (kept in memory), which ends with the SSO session. */
export const CONSOLE_ACCESS_TOKEN_SECONDS = 600;
/** The admin API as a resource indicator: the audience of every admin access token. */
export const adminApiResource = (publicUrl: string) => `${publicUrl}/api`;
export const consoleRedirectUri = (issuer: string) => `${issuer}/console/callback`;
export const consoleSignedOutUri = (issuer: string) => `${issuer}/console/signed-out`;

export function consoleClientMetadata(issuer: string): Record<string, unknown> {
  return {
    client_id: CONSOLE_CLIENT_ID,
    client_name: 'Gatehouse admin console',
    application_type: 'web',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [consoleRedirectUri(issuer)],
    post_logout_redirect_uris: [consoleSignedOutUri(issuer)],
    gatehouse_ttls: { accessToken: CONSOLE_ACCESS_TOKEN_SECONDS },
  };
}

/** An engine adapter for the Client model that reads this tenant's application profiles. */
export function clientAdapter(
  apps: AppService,
  tenantId: string,
  cache: ClientCache,
  launcher: Record<string, unknown>,
  consoleClient?: Record<string, unknown>,
  issuer?: string,
) {
  const readOnly = async () => {
    throw new Error('clients are managed through application profiles');
  };
  return {
    async find(id: string) {
      if (typeof id !== 'string' || id.length > 200) return undefined;
      if (id === LAUNCHER_CLIENT_ID) return launcher;
      if (id === CONSOLE_CLIENT_ID) return consoleClient;
      const app = await cache.get(tenantId, id);
      return app ? clientMetadata(app, apps.clientSecretOf(app), issuer) : undefined;
    },
    upsert: readOnly,
    destroy: readOnly,
    consume: readOnly,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
    revokeByGrantId: async () => undefined,
  };
}
