// Engine configuration: one oidc-provider instance per tenant, issuer <public URL>/t/<slug>.
// Public API of oidc-provider only.
import Provider, { errors, interactionPolicy as policies, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { CustomClaim, TokenTtls } from '../storage/apps.ts';
import { adapterFactory } from './adapters/index.ts';
import {
  adminApiResource,
  clientAdapter,
  consoleClientMetadata,
  CONSOLE_CLIENT_ID,
  CONSOLE_SCOPE,
  launcherClientMetadata,
  LAUNCHER_CLIENT_ID,
} from './clients.ts';
import { impliedGrant, SCOPES } from './grants.ts';
import { accountClaims } from './claims.ts';
import { registerPasswordGrant } from './password-grant.ts';
import { DEVICE_PARAMS, DEVICE_SSO_SCOPE, nativeSso } from './native-sso.ts';
import { policyRequiresMfa, type PolicySettings } from '../policy/policies.ts';
import { ACR_FED_MFA, ACR_MFA, ACR_PWD, ACR_VALUES, acrClaimProblem, acrRequestOf, decideAcr, hasSecondFactor } from '../policy/acr.ts';
import { engineCookieKeys, issueAcr } from './internals/index.ts';
import type { UserWithSecret } from '../storage/users.ts';
import { logoutPage, messagePage } from '../interaction/pages.ts';
import { noteLocale, t } from '../i18n/index.ts';
import { MAX_SESSION_MINUTES } from '../storage/tenants.ts';
import { EngineStoreUnavailableError, OUTAGE_RETRY_AFTER_SECONDS, forEngine, isStoreOutage, outageAware } from '../shared/outage.ts';
import { pageBranding } from '../interaction/branding.ts';
import { noteClientId } from '../ops/access-log.ts';
import { samlBackchannelUri } from '../saml/idp.ts';
import { frontChannelLogout, samlBackchannelLogout } from '../saml/logout.ts';

export const issuerFor = (publicUrl: string, slug: string) => `${publicUrl}/t/${slug}`;

const DEFAULT_TTL = { accessToken: 3600, idToken: 3600, refreshToken: 14 * 24 * 3600 };
/** "Session logout after: off" still ends a browser session after the longest allowed lifetime. */
const sessionSeconds = (t: Tenant) => 60 * (t.sessionLifetimeMinutes || MAX_SESSION_MINUTES);

const clientTtl = (ctx: KoaContextWithOIDC | undefined, key: keyof TokenTtls, fallback: number, client?: unknown): number => {
  // Tokens minted outside the engine's own requests (a hand-off launch) have no ctx.oidc: the client comes along.
  const ttls = ((ctx?.oidc?.client ?? client) as { gatehouse_ttls?: TokenTtls } | undefined)?.gatehouse_ttls;
  return ttls?.[key] ?? fallback;
};

/**
 * Refresh tokens live for the app's refresh token lifetime counted from the first issue of
 * the chain (the engine's `iiat`, which rotation carries over), never from the last rotation:
 * an app that refreshes often must still sign the user in again when it runs out.
 */
const nowSeconds = () => Math.floor(Date.now() / 1000);
const refreshSecondsLeft = (token: { iiat?: number; iat?: number }, lifetime: number) => (token.iiat ?? token.iat ?? nowSeconds()) + lifetime - nowSeconds();

export const launcherSecret = (services: Pick<Services, 'sealer'>, tenant: Tenant) => services.sealer.derive(`launcher/${tenant.id}`);
export const launcherRedirectUri = (services: Pick<Services, 'config'>, tenant: Tenant) =>
  `${issuerFor(services.config.publicUrl, tenant.slug)}/launcher/callback`;
/** Where a workstation link's sign-in comes back (workstations/routes.ts): the launcher's client, its own callback. */
export const workstationRedirectUri = (services: Pick<Services, 'config'>, tenant: Tenant) =>
  `${issuerFor(services.config.publicUrl, tenant.slug)}/workstation/callback`;

/** How far ahead a client assertion's exp may be (seconds). */
export const MAX_ASSERTION_SECONDS = 300;

export async function buildEngine(services: Services, tenant: Tenant): Promise<Provider> {
  const issuer = issuerFor(services.config.publicUrl, tenant.slug);
  const jwks = await services.keyService.jwksForEngine(tenant.id);
  const customClaimNames = new Set<string>();
  for (const a of await services.appStore.list(tenant.id)) for (const c of a.claims) customClaimNames.add(c.name);

  const storedArtifacts = adapterFactory({
    db: services.database.db,
    tenantId: tenant.id,
    redis: services.redis,
    redisPrefix: services.config.redisPrefix,
    tokens: services.tokenHasher,
    overrides: {
      Client: () =>
        clientAdapter(
          services.appService,
          tenant.id,
          services.clientCache,
          launcherClientMetadata(launcherSecret(services, tenant), [launcherRedirectUri(services, tenant), workstationRedirectUri(services, tenant)]),
          consoleClientMetadata(issuer),
          issuer,
        ),
    },
  });

  // Sessions are also described in the session registry (listed, ended by administrators).
  const artifacts = (model: string) => (model === 'Session' ? services.sessionService.tracked(tenant.id, storedArtifacts(model)) : storedArtifacts(model));

  // The signed-in user is read once per request, though the engine asks for it more than once.
  const usersByRequest = new WeakMap<object, Map<string, ReturnType<typeof services.userStore.userById>>>();
  const userFor = (ctx: object | undefined, id: string) => {
    if (!ctx) return services.userStore.userById(tenant.id, id);
    let m = usersByRequest.get(ctx);
    if (!m) usersByRequest.set(ctx, (m = new Map()));
    let u = m.get(id);
    if (!u) m.set(id, (u = services.userStore.userById(tenant.id, id)));
    return u;
  };

  const adminApi = adminApiResource(services.config.publicUrl);
  const cookieOpts = { httpOnly: true, sameSite: 'lax' as const, secure: services.config.secureCookies, path: `/t/${tenant.slug}` };

  // A user policy's session lifetime replaces the tenant's. The engine asks for the session
  // TTL synchronously at the end of a request; the policy was read earlier in that same
  // request (the login checks below run at every authorization with a session), so it is
  // kept per request.
  const sessionTtlByRequest = new WeakMap<object, number>();
  const settingsFor = async (ctx: KoaContextWithOIDC, user: UserWithSecret) => {
    const s = await outageAware(services.policyService.settingsFor(user), forEngine);
    if (s.sessionLifetimeMinutes) sessionTtlByRequest.set(ctx, s.sessionLifetimeMinutes * 60);
    return s;
  };

  const deviceSso = nativeSso(services, tenant, issuer);

  const configuration: Configuration = {
    adapter: artifacts as unknown as Configuration['adapter'],
    jwks: jwks as Configuration['jwks'],
    async findAccount(ctx, sub) {
      const user = await outageAware(userFor(ctx, sub), forEngine);
      if (user?.status !== 'active') return undefined;
      return {
        accountId: user.id,
        claims: async (use, scope) => {
          const custom = (ctx.oidc?.client as unknown as { gatehouse_claims?: CustomClaim[] } | undefined)?.gatehouse_claims ?? [];
          // Native SSO: an ID token for scope device_sso names its device session (ds_hash, sid).
          const device = use === 'id_token' && scope.split(' ').includes(DEVICE_SSO_SCOPE) ? await outageAware(deviceSso.idTokenClaims(ctx), forEngine) : {};
          return { ...(await accountClaims(services, user, scope, custom)), ...device, sub: user.id };
        },
      };
    },
    claims: {
      openid: ['sub', 'acr', 'amr', 'auth_time', ...customClaimNames],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
      groups: ['groups'],
      [DEVICE_SSO_SCOPE]: ['ds_hash', 'sid'],
    },
    // The check-out app of a shared device may describe it (OpenID Connect Native SSO, see native-sso.ts).
    extraParams: Object.fromEntries(DEVICE_PARAMS.map((p) => [p, deviceSso.deviceParamCheck])),
    discovery: { native_sso_supported: true },
    scopes: SCOPES,
    acrValues: ACR_VALUES,
    cookies: {
      keys: engineCookieKeys(services.sealer.derive(`cookies/${tenant.id}`)),
      names: { session: 'gh_session', interaction: 'gh_interaction', resume: 'gh_resume' },
      long: { ...cookieOpts },
      short: { ...cookieOpts },
    },
    extraClientMetadata: {
      properties: ['gatehouse_ttls', 'gatehouse_claims', 'gatehouse_require_mfa'],
    },
    features: {
      devInteractions: { enabled: false },
      // Apps may ask for claims one by one, and for an essential acr (policy/acr.ts).
      claimsParameter: { enabled: true },
      clientCredentials: { enabled: true },
      // A client may introspect or revoke only tokens issued to itself.
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      pushedAuthorizationRequests: { enabled: true },
      dPoP: { enabled: true },
      backchannelLogout: { enabled: true },
      // One resource server: the admin API, for the admin console only. Its access tokens are
      // JWTs (audience = the admin API) that src/admin/auth.ts verifies. Asked for only when a
      // request names a resource, so other clients' tokens are unchanged.
      resourceIndicators: {
        enabled: true,
        async getResourceServerInfo(_ctx, resource, client) {
          if (client.clientId !== CONSOLE_CLIENT_ID || resource !== adminApi) throw new errors.InvalidTarget('this resource is not available to this client');
          return { scope: CONSOLE_SCOPE, audience: adminApi, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          noteLocale({ uiLocales: ctx.oidc.params?.ui_locales });
          ctx.body = logoutPage({ form, appName: ctx.oidc.client?.clientName, branding: pageBranding(tenant) });
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          noteLocale({ uiLocales: ctx.oidc.params?.ui_locales, back: undefined }); // the sign-out is done: nothing to show again
          ctx.body = messagePage({ title: t('logout.done.title'), message: t('logout.done.message'), branding: pageBranding(tenant) });
        },
      },
    },
    interactions: {
      policy: interactionPolicy(
        async (ctx) => {
          const id = ctx.oidc.session?.accountId;
          return id ? ((await outageAware(userFor(ctx, id), forEngine)) ?? undefined) : undefined;
        },
        settingsFor,
        (user, settings) =>
          outageAware(services.mfaStore.factors(tenant.id, user.id), forEngine).then((fs) => fs.some((f) => settings.allowedFactors.includes(f.type))),
      ),
      url: (_ctx, interaction) => `/t/${tenant.slug}/interaction/${interaction.uid}`,
    },
    clientBasedCORS(_ctx, origin, client) {
      // Browser apps (public clients) may call the token and userinfo endpoints from their own origins.
      return client.clientAuthMethod === 'none' && (client.redirectUris ?? []).some((u) => URL.parse(u)?.origin === origin);
    },
    // ID tokens carry the claims of the granted scopes, as most applications expect.
    conformIdTokenClaims: false,
    // The engine's only outgoing calls go to back-channel logout URIs registered in application
    // profiles. They go through Gatehouse's outbound client (shared/outbound.ts) instead of the
    // engine's own special-use-address filter: the same rules as every other outbound request,
    // checked on the connected address, with private ranges opened by GATEHOUSE_OUTBOUND_ALLOW.
    fetch: (url, options) => {
      delete (options as { dispatcher?: unknown }).dispatcher;
      // SAML apps' back-channel logout: handled in-process (oidc/clients.ts), never sent.
      if (String(url).startsWith(samlBackchannelUri(issuer, ''))) return samlBackchannelLogout(services, tenant, String(url), options as RequestInit);
      return services.outbound.fetch(url, options as RequestInit);
    },
    // Client assertions (private_key_jwt, client_secret_jwt) live at most 5 minutes: a
    // long-lived one is a bearer credential that anyone who sees it can replay until it
    // expires (the engine's jti check only stops exact replays while it remembers them).
    async assertJwtClientAuthClaimsAndHeader(_ctx, claims) {
      const ahead = Number(claims.exp) - Math.floor(Date.now() / 1000);
      if (!(ahead <= MAX_ASSERTION_SECONDS)) {
        const e = new errors.InvalidClientAuth('client_assertion expires too far ahead');
        e.error_description = `the client_assertion expires ${Math.round(ahead / 60)} minutes from now; Gatehouse accepts client assertions that expire at most ${MAX_ASSERTION_SECONDS / 60} minutes ahead. Create a new assertion for each request with a short exp.`;
        throw e;
      }
    },
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    // Every use rotates the refresh token. A chain whose absolute lifetime has ended is refused
    // even if its latest token says otherwise (tokens rotated before lifetimes were absolute).
    async rotateRefreshToken(ctx) {
      await outageAware(deviceSso.assertRefreshAllowed(ctx), forEngine);
      const token = ctx.oidc.entities.RefreshToken;
      const lifetime = clientTtl(ctx, 'refreshToken', DEFAULT_TTL.refreshToken);
      if (token && refreshSecondsLeft(token, lifetime) <= 0) {
        const message = `the refresh token's lifetime (${Math.round(lifetime / 60)} minutes from when it was first issued) has ended; sign the user in again`;
        throw Object.assign(new errors.InvalidGrant(message), { error_description: message });
      }
      return true;
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    async loadExistingGrant(ctx) {
      // Decided at every authorization, with or without an SSO session, so undeploying
      // an app takes effect at the next authorization.
      const session = ctx.oidc.session!;
      const client = ctx.oidc.client!;
      if (client.clientId === LAUNCHER_CLIENT_ID) {
        // The launcher only learns who is signed in; what they may open is decided per app.
        const user = session.accountId ? await outageAware(userFor(ctx, session.accountId), forEngine) : undefined;
        return user
          ? impliedGrant(ctx.oidc.provider, { grantId: session.grantIdFor(client.clientId), clientId: client.clientId, accountId: user.id, scope: 'openid' })
          : undefined;
      }
      if (client.clientId === CONSOLE_CLIENT_ID) {
        // The admin console: for active administrators only (the consent step refuses others).
        const user = session.accountId ? await outageAware(userFor(ctx, session.accountId), forEngine) : undefined;
        if (user?.status !== 'active' || user.roles.length === 0) return undefined;
        return impliedGrant(ctx.oidc.provider, {
          grantId: session.grantIdFor(client.clientId),
          clientId: client.clientId,
          accountId: user.id,
          scope: 'openid email profile',
          resources: { [adminApi]: CONSOLE_SCOPE },
        });
      }
      const deployedUser = async () => {
        const user = session.accountId ? await userFor(ctx, session.accountId) : undefined;
        const profile = await services.clientCache.get(tenant.id, client.clientId);
        return user && profile && (await services.appService.isDeployedTo(profile, user)) ? user : undefined;
      };
      const user = await outageAware(deployedUser(), forEngine);
      if (!user) return undefined; // not deployed to this user: the consent step explains the refusal
      await outageAware(deviceSso.noteCheckout(ctx), forEngine);
      return impliedGrant(ctx.oidc.provider, {
        grantId: ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId),
        clientId: client.clientId,
        accountId: user.id,
        scope: [...(ctx.oidc.requestParamScopes ?? [])].join(' '),
        claims: [...(ctx.oidc.requestParamClaims ?? [])],
      });
    },
    ttl: {
      AccessToken: (ctx) => clientTtl(ctx, 'accessToken', DEFAULT_TTL.accessToken),
      ClientCredentials: (ctx) => clientTtl(ctx, 'accessToken', DEFAULT_TTL.accessToken),
      IdToken: (ctx) => clientTtl(ctx, 'idToken', DEFAULT_TTL.idToken),
      // Absolute: what is left of the lifetime since the chain's first issue (at least a second,
      // as the engine requires; such a token is refused at its next use anyway).
      RefreshToken: (ctx, token, client) =>
        Math.max(1, refreshSecondsLeft(token as { iiat?: number }, clientTtl(ctx, 'refreshToken', DEFAULT_TTL.refreshToken, client))),
      AuthorizationCode: 60,
      Interaction: 3600,
      Session: (ctx) => sessionTtlByRequest.get(ctx) ?? sessionSeconds(tenant),
      Grant: 365 * 24 * 3600,
      PushedAuthorizationRequest: 60,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
    },
    async renderError(ctx, out, error) {
      ctx.type = 'html';
      noteLocale({ uiLocales: ctx.oidc?.params?.ui_locales });
      ctx.body = messagePage(describeEngineError(out, error));
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      userinfoSigningAlgValues: ['RS256', 'ES256'],
      introspectionSigningAlgValues: ['RS256', 'ES256'],
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.proxy = services.config.trustProxy;
  provider.use(async (ctx, next) => {
    await next();
    noteClientId(ctx.res, ctx.oidc?.client?.clientId); // the access log's client id: known once the engine has it
    if (ctx.status === 503) ctx.set('Retry-After', String(OUTAGE_RETRY_AFTER_SECONDS));
  });
  provider.use(deviceSso.tokenResponse);
  provider.use(frontChannelLogout(services, tenant));
  wireEvents(services, tenant, provider);
  registerPasswordGrant(services, tenant, provider);
  deviceSso.registerExchange(provider, configuration.findAccount!);
  return provider;
}

/**
 * The engine's standard prompts, plus Gatehouse's: a session whose user was disabled or deleted
 * since signing in must sign in again (and is then told why), rather than reach the app; single
 * sign-on turned off by the user's policy; the second factor (step-up) when the app's profile,
 * the user's policy or the app's acr request needs one the session's sign-in lacked; an
 * essential acr claim the sign-in cannot meet.
 */
function interactionPolicy(
  sessionUser: (ctx: KoaContextWithOIDC) => Promise<UserWithSecret | undefined>,
  settingsFor: (ctx: KoaContextWithOIDC, u: UserWithSecret) => Promise<PolicySettings>,
  hasUsableFactor: (u: UserWithSecret, s: PolicySettings) => Promise<boolean>,
) {
  const policy = policies.base();
  const login = policy.get('login')!;
  // The engine's own acr checks want the session's class listed exactly, so an MFA sign-in
  // fails a request for the password class and is prompted again and again. Gatehouse's rule
  // (policy/acr.ts: any listed class the sign-in satisfies) replaces them.
  login.checks.remove('essential_acrs');
  login.checks.remove('essential_acr');
  login.checks.add(
    new policies.Check('account_inactive', 'the signed-in account is no longer active', (ctx) =>
      ctx.oidc.session?.accountId && !ctx.oidc.account ? policies.Check.REQUEST_PROMPT : policies.Check.NO_NEED_TO_PROMPT,
    ),
  );
  // The user's policy turns single sign-on off: no application may be signed in to.
  login.checks.add(
    new policies.Check(SSO_DISABLED, 'single sign-on is turned off for this account', async (ctx) => {
      const user = await sessionUser(ctx);
      return user && !(await settingsFor(ctx, user)).ssoEnabled ? policies.Check.REQUEST_PROMPT : policies.Check.NO_NEED_TO_PROMPT;
    }),
  );
  login.checks.add(
    new policies.Check(MFA_REQUIRED, 'this sign-in needs two-step verification', async (ctx) => {
      if (!ctx.oidc.session?.accountId) return policies.Check.NO_NEED_TO_PROMPT;
      const signedIn = ctx.oidc.session.acr;
      const request = acrRequestOf(ctx.oidc.params as Record<string, unknown>);
      const outcome = decideAcr(signedIn, request);
      // The tokens carry the best listed class the sign-in satisfies (its own, when listed).
      if (outcome.kind === 'satisfied' && outcome.acr !== signedIn) issueAcr(ctx, outcome.acr);
      if (hasSecondFactor(signedIn)) return policies.Check.NO_NEED_TO_PROMPT;
      if (outcome.kind === 'step_up' || appRequiresMfa(ctx.oidc.client)) return policies.Check.REQUEST_PROMPT;
      const user = await sessionUser(ctx);
      const settings = user && (await settingsFor(ctx, user));
      if (!settings || !policyRequiresMfa(settings, { ip: ctx.ip, clientId: ctx.oidc.client?.clientId })) return policies.Check.NO_NEED_TO_PROMPT;
      // Gatehouse's own pages (the account page, the launcher) stay open to a user who has no
      // factor yet, so they can add one; apps still ask (and the launcher steps up before
      // handing an app a token, apps/routes.ts).
      if (ctx.oidc.client?.clientId === LAUNCHER_CLIENT_ID && !(await hasUsableFactor(user, settings))) return policies.Check.NO_NEED_TO_PROMPT;
      return policies.Check.REQUEST_PROMPT;
    }),
  );
  // An essential acr claim no listed class of which this sign-in (or a second factor) can meet,
  // such as an upstream directory's class after a local sign-in: sign in again (another way);
  // when a sign-in just completed still does not meet it, the authorization fails
  // (OpenID Connect Core 5.5.1.1: a failed authentication), with the reason.
  login.checks.add(
    new policies.Check(ACR_UNMET, 'the requested authentication context class could not be obtained', (ctx) => {
      const problem = acrClaimProblem(ctx.oidc.params as Record<string, unknown>);
      if (problem) throw new errors.InvalidRequest(problem);
      if (!ctx.oidc.session?.accountId) return policies.Check.NO_NEED_TO_PROMPT;
      const request = acrRequestOf(ctx.oidc.params as Record<string, unknown>);
      if (!request?.essential || decideAcr(ctx.oidc.session.acr, request).kind !== 'unmet') return policies.Check.NO_NEED_TO_PROMPT;
      if (ctx.oidc.result?.login) {
        throw new errors.AccessDenied(
          `the application requires a sign-in of class ${request.values.join(' or ')} (an essential acr claim); this sign-in (${ctx.oidc.session.acr ?? 'unknown class'}) does not meet it`,
        );
      }
      return policies.Check.REQUEST_PROMPT;
    }),
  );
  return policy;
}

export const MFA_REQUIRED = 'mfa_required';
export const SSO_DISABLED = 'sso_disabled';
export const ACR_UNMET = 'acr_unmet';
export const MFA_ACR = ACR_MFA;
/** Sign-ins that included a second factor (here, or at an upstream directory). */
export const MFA_ACRS = [ACR_MFA, ACR_FED_MFA];

/** Does the app's profile require a second factor? */
/**
 * After a password alone, does this request still want a second factor: the app's profile, or
 * acr_values / an essential acr claim no password-class sign-in can meet (the MFA_REQUIRED
 * check's rule for a session of class pwd; the sign-in steps ask it before the engine does).
 */
export function wantsMfa(params: Record<string, unknown>, client: unknown): boolean {
  return appRequiresMfa(client) || decideAcr(ACR_PWD, acrRequestOf(params)).kind === 'step_up';
}

export const appRequiresMfa = (client: unknown) => !!(client as { gatehouse_require_mfa?: boolean } | undefined)?.gatehouse_require_mfa;

/** Say what went wrong in words the person in front of the browser can act on. */
export function describeEngineError(out: { error: string; error_description?: string }, error: Error): { title: string; message: string; detail?: string } {
  const d = out.error_description ?? '';
  if (error instanceof errors.InvalidClient || /client is invalid|client not found/i.test(d)) {
    return { title: t('error.unknownClient.title'), message: t('error.unknownClient.message'), detail: t('error.unknownClient.detail') };
  }
  if (error instanceof errors.InvalidRedirectUri || /redirect_uri/i.test(d)) {
    return { title: t('error.redirectUri.title'), message: t('error.redirectUri.message'), detail: t('error.redirectUri.detail') };
  }
  if (out.error === 'invalid_request' && /interaction|session/i.test(d)) {
    return { title: t('error.expired.title'), message: t('error.expired.message'), detail: t('error.expired.detail') };
  }
  // The engine's own description stays as it is (English, and technical: for the app's developer).
  return { title: t('error.engine.title'), message: d || out.error, detail: t('error.engine.detail') };
}

function wireEvents(services: Services, tenant: Tenant, provider: Provider): void {
  const audit = (type: string, data: Record<string, unknown>, level: 'info' | 'warn' = 'info', ctx?: KoaContextWithOIDC) =>
    services.auditStore
      .record({ tenantId: tenant.id, type, level, data, ip: ctx?.ip ?? null, subject: (data.accountId as string) ?? null }, { lazy: true })
      .catch((e) => {
        if (!isStoreOutage(e)) services.logger.error({ err: e }, 'audit write failed');
      });
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const grantType = String((ctx.oidc.params as Record<string, unknown>)?.grant_type ?? 'unknown');
    services.metrics.tokensIssued.inc({ grant_type: grantType });
    // Token issues are frequent; they are audited at a summary level: client and grant type, never the token.
    void audit('token.issued', { clientId: ctx.oidc.client?.clientId, grantType, accountId: ctx.oidc.account?.accountId }, 'info', ctx);
  });
  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: Error) => {
    void audit('token.error', { clientId: ctx.oidc.client?.clientId, error: (err as errors.OIDCProviderError).error ?? err.message }, 'warn', ctx);
  });
  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    void audit('logout', { clientId: ctx.oidc.client?.clientId, accountId: ctx.oidc.session?.accountId }, 'info', ctx);
  });
  provider.on('backchannel.error', (_ctx: unknown, err: Error, client: { clientId: string }) => {
    void audit('logout.backchannel_failed', { clientId: client.clientId, error: err.message }, 'warn');
  });
  provider.on('server_error', (_ctx: unknown, err: Error) => services.logger.error({ err }, 'engine server error'));
  // Store outages are answered 503 (not server_error); one warning line each, without a stack.
  provider.on('grant.error', (_ctx: unknown, err: Error) => {
    if (err instanceof EngineStoreUnavailableError) services.logger.warn({ cause: String((err.cause as Error)?.message ?? err.cause) }, 'store unavailable');
  });
}
