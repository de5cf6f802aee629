// OpenID Connect Native SSO for Mobile Apps 1.0 on the engine's public extension points:
//  - an app of a device SSO group that redeems a code for scope `device_sso` gets a
//    `device_secret` in the token response and an ID token with `ds_hash` and `sid` (a device
//    session starts, devices/service.ts);
//  - another app of the same group exchanges that ID token and the device secret at the token
//    endpoint (RFC 8693 token exchange) for its own tokens, with no user interaction, if the
//    app is deployed to the user, the user is active and the user's policy is met by the
//    check-out sign-in (amr, acr and auth_time are carried over).
// The device name and identifier come from the check-out app's authorization request
// (`device_name`, `device_id`) and are remembered until its code is redeemed.
import { textProblem } from '../shared/input.ts';
import type Provider from 'oidc-provider';
import { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import * as jose from 'jose';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { App } from '../storage/apps.ts';
import type { DeviceSession } from '../storage/device-sessions.ts';
import { impliedGrant, SCOPES } from './grants.ts';
import { policyRequiresMfa } from '../policy/policies.ts';
import { hasSecondFactor } from '../policy/acr.ts';

export const DEVICE_SSO_SCOPE = 'device_sso';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
export const DEVICE_SECRET_TYPE = 'urn:openid:params:token-type:device-secret';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Authorization request parameters a check-out app may send to describe the device. */
export const DEVICE_PARAMS = ['device_name', 'device_id'] as const;
export const MAX_DEVICE_PARAM = 200;

/** An error whose description the app sees (the engine's defaults are generic). */
function refuse(Kind: new (description: string) => Error, message: string): Error {
  return Object.assign(new Kind(message), { error_description: message });
}

type Ctx = KoaContextWithOIDC;
type NativeSsoServices = Pick<
  Services,
  'clientCache' | 'deviceSessionService' | 'userStore' | 'appService' | 'policyService' | 'keyService' | 'auditStore' | 'logger'
>;
type CodeLike = { accountId?: string; grantId?: string; sessionUid?: string; sid?: string; acr?: string; amr?: string[]; authTime?: number };

/**
 * The per-tenant Native SSO wiring: the ID token claims hook (findAccount's claims call it),
 * the token response middleware, the check-out note at authorization and the exchange grant.
 */
export function nativeSso(services: NativeSsoServices, tenant: Tenant, issuer: string) {
  /** Claims a request's ID token carries (ds_hash, sid), and the device secret for its response. */
  const byRequest = new WeakMap<object, { claims: Record<string, string>; secret?: string }>();

  const groupOf = async (clientId: string): Promise<{ app: App; group: string } | undefined> => {
    const app = await services.clientCache.get(tenant.id, clientId);
    return app?.type === 'native' && app.deviceSsoGroup ? { app, group: app.deviceSsoGroup } : undefined;
  };

  /** ds_hash and sid for an ID token issued at the token endpoint with scope device_sso. */
  async function idTokenClaims(ctx: Ctx | undefined): Promise<Record<string, string>> {
    if (!ctx?.oidc) return {};
    const known = byRequest.get(ctx);
    if (known) return known.claims;
    const params = ctx.oidc.params as Record<string, unknown> | undefined;
    const client = ctx.oidc.client;
    if (!client || !params) return {};
    const entities = ctx.oidc.entities as { AuthorizationCode?: CodeLike; RefreshToken?: CodeLike };
    if (params.grant_type === 'authorization_code' && entities.AuthorizationCode) {
      const member = await groupOf(client.clientId);
      if (!member) return {}; // not in a device SSO group: the scope asks for nothing
      const code = entities.AuthorizationCode;
      const device = code.sessionUid ? await services.deviceSessionService.store.takeCheckout(tenant.id, code.sessionUid, client.clientId) : undefined;
      const { secret, session } = await services.deviceSessionService.start(tenant, {
        userId: code.accountId!,
        group: member.group,
        clientId: client.clientId,
        grantId: code.grantId!,
        sessionUid: code.sessionUid ?? null,
        sid: code.sid,
        amr: code.amr ?? [],
        acr: code.acr ?? null,
        authTime: code.authTime ?? null,
        device: device ?? { name: null, id: null },
      });
      const claims = { ds_hash: session.dsHash, sid: session.sid };
      byRequest.set(ctx, { claims, secret });
      return claims;
    }
    if (params.grant_type === 'refresh_token' && entities.RefreshToken?.grantId) {
      // A refreshed ID token still names the device session it belongs to, while it lasts.
      const s = await services.deviceSessionService.store.byGrant(tenant.id, entities.RefreshToken.grantId);
      const claims: Record<string, string> = s && services.deviceSessionService.isLive(s) ? { ds_hash: s.dsHash, sid: s.sid } : {};
      byRequest.set(ctx, { claims });
      return claims;
    }
    return {};
  }

  /** The token response of a check-out carries the device secret (the engine has no field for it). */
  async function tokenResponse(ctx: Ctx, next: () => Promise<void>): Promise<void> {
    await next();
    const secret = byRequest.get(ctx)?.secret;
    if (secret && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') ctx.body = { ...(ctx.body as object), device_secret: secret };
  }

  /** At authorization: remember the device a check-out app described, for its code's redemption. */
  async function noteCheckout(ctx: Ctx): Promise<void> {
    const params = ctx.oidc.params as Record<string, unknown>;
    const uid = ctx.oidc.session?.uid;
    const client = ctx.oidc.client;
    if (!uid || !client || !(ctx.oidc.requestParamScopes ?? new Set()).has(DEVICE_SSO_SCOPE)) return;
    const name = typeof params.device_name === 'string' ? params.device_name : null;
    const id = typeof params.device_id === 'string' ? params.device_id : null;
    if (!name && !id) return;
    if (!(await groupOf(client.clientId))) return;
    await services.deviceSessionService.store.noteCheckout(tenant.id, uid, client.clientId, { name, id });
  }

  /** The authorization request's device_name / device_id: short printable text. */
  const deviceParamCheck = (_ctx: Ctx, value: string | undefined) => {
    if (value === undefined) return;
    if (typeof value !== 'string' || value.length > MAX_DEVICE_PARAM || textProblem(value) !== undefined) {
      throw refuse(errors.InvalidRequest, `device_name and device_id must be text of at most ${MAX_DEVICE_PARAM} characters without control characters`);
    }
  };

  /** Refresh tokens of a device session stop at its end (check-in revokes them; a shift's end is checked here). */
  async function assertRefreshAllowed(ctx: Ctx): Promise<void> {
    const rt = ctx.oidc.entities.RefreshToken as CodeLike | undefined;
    if (!rt?.grantId) return;
    const s = await services.deviceSessionService.store.byGrant(tenant.id, rt.grantId);
    if (s && !services.deviceSessionService.isLive(s))
      throw refuse(
        errors.InvalidGrant,
        'the shared-device session this refresh token belongs to has ended (the device was checked in, or the shift is over); sign in again',
      );
  }

  const keys = () => services.keyService.publicJwks(tenant.id).then((j) => jose.createLocalJWKSet(j as jose.JSONWebKeySet));

  function registerExchange(provider: Provider, findAccount: NonNullable<Configuration['findAccount']>): void {
    provider.registerGrantType(
      TOKEN_EXCHANGE_GRANT,
      async (ctx) => {
        const client = ctx.oidc.client!;
        const p = ctx.oidc.params as Record<string, string | undefined>;
        for (const name of ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type'] as const) {
          if (!p[name])
            throw refuse(
              errors.InvalidRequest,
              `missing required parameter ${name}: Native SSO sends the ID token as subject_token (${ID_TOKEN_TYPE}) and the device secret as actor_token (${DEVICE_SECRET_TYPE})`,
            );
        }
        if (p.subject_token_type !== ID_TOKEN_TYPE) throw refuse(errors.InvalidRequest, `subject_token_type must be ${ID_TOKEN_TYPE}`);
        if (p.actor_token_type !== DEVICE_SECRET_TYPE) throw refuse(errors.InvalidRequest, `actor_token_type must be ${DEVICE_SECRET_TYPE}`);
        if (p.audience !== undefined && p.audience !== client.clientId)
          throw refuse(errors.InvalidRequest, 'audience must be the client_id of the app making the request');
        if (p.requested_token_type !== undefined && p.requested_token_type !== ACCESS_TOKEN_TYPE)
          throw refuse(errors.InvalidRequest, `requested_token_type must be ${ACCESS_TOKEN_TYPE} (or left out)`);
        const member = await groupOf(client.clientId);
        if (!member)
          throw refuse(
            errors.UnauthorizedClient,
            'this app is not in a device SSO group, so it cannot use Native SSO; an administrator can add it to one (deviceSsoGroup)',
          );

        const session = await services.deviceSessionService.bySecret(tenant, p.actor_token!);
        if (!session) throw refuse(errors.InvalidGrant, 'the device secret is not valid');
        if (!services.deviceSessionService.isLive(session))
          throw refuse(errors.InvalidGrant, 'the device session has ended (the device was checked in, or the shift is over); sign in again');
        if (session.group !== member.group) throw refuse(errors.InvalidGrant, 'the device secret belongs to another device SSO group');
        await checkSubjectToken(p.subject_token!, session);

        const user = await services.userStore.userById(tenant.id, session.userId);
        if (user?.status !== 'active') throw refuse(errors.InvalidGrant, 'the account signed in on this device is no longer active');
        if (!(await services.appService.isDeployedTo(member.app, user)))
          throw refuse(errors.InvalidGrant, `${member.app.displayName} is not deployed to ${user.email}`);
        const settings = await services.policyService.settingsFor(user);
        if (!settings.ssoEnabled) throw refuse(errors.InteractionRequired, 'single sign-on is turned off for this account: sign in to this app normally');
        if (!hasSecondFactor(session.acr ?? undefined) && (member.app.requireMfa || policyRequiresMfa(settings, { ip: ctx.ip, clientId: client.clientId }))) {
          throw refuse(
            errors.InteractionRequired,
            "this app needs two-step verification, which the device's check-out sign-in did not include: sign in to this app normally",
          );
        }

        const requested = (p.scope ?? 'openid').split(' ').filter((s) => SCOPES.includes(s));
        const scope = [...new Set(['openid', ...requested])].join(' ');
        const prior = session.apps.find((a) => a.clientId === client.clientId)?.grantId;
        const grant = await impliedGrant(provider, { grantId: prior, clientId: client.clientId, accountId: user.id, scope });
        const gty = TOKEN_EXCHANGE_GRANT;
        const at = new provider.AccessToken({ accountId: user.id, client, grantId: grant.jti!, scope, gty, sid: session.sid } as ConstructorParameters<
          typeof provider.AccessToken
        >[0]);
        ctx.oidc.entity('AccessToken', at);
        const accessToken = await at.save();
        let refreshToken: string | undefined;
        if (client.grantTypeAllowed('refresh_token')) {
          const rt = new provider.RefreshToken({
            accountId: user.id,
            client,
            grantId: grant.jti!,
            scope,
            gty,
            sid: session.sid,
            expiresWithSession: false,
            amr: session.amr,
            acr: session.acr ?? undefined,
            authTime: session.authTime ?? undefined,
          } as ConstructorParameters<typeof provider.RefreshToken>[0]);
          refreshToken = await rt.save();
        }
        await services.deviceSessionService.store.addApp(tenant.id, session.id, client.clientId, grant.jti!);
        const account = await findAccount(ctx, user.id);
        if (!account) throw refuse(errors.InvalidGrant, 'the account signed in on this device is no longer active');
        ctx.oidc.entity('Account', account);
        const claims = { ds_hash: session.dsHash, sid: session.sid };
        byRequest.set(ctx, { claims });
        const idToken = new provider.IdToken(
          {
            ...(await account.claims('id_token', scope, {}, [])),
            sub: user.id,
            acr: session.acr ?? undefined,
            amr: session.amr.length ? session.amr : undefined,
            auth_time: session.authTime ?? undefined,
          },
          { ctx },
        );
        // The engine's own grants set scope on the IdToken so that issue() filters claims by it; its types omit the field.
        Object.assign(idToken, { scope });
        idToken.set('sid', session.sid);
        idToken.set('at_hash', accessToken);
        await services.auditStore
          .record(
            {
              tenantId: tenant.id,
              type: 'device.app_joined',
              actor: user.id,
              subject: user.id,
              ip: ctx.ip,
              data: { deviceSessionId: session.id, clientId: client.clientId, group: member.group },
            },
            { lazy: true },
          )
          .catch((err) => services.logger.warn({ err: (err as Error).message }, 'audit write failed'));
        ctx.body = {
          access_token: accessToken,
          issued_token_type: ACCESS_TOKEN_TYPE,
          token_type: at.tokenType,
          expires_in: at.expiration,
          scope,
          id_token: await idToken.issue({ use: 'idtoken' }),
          ...(refreshToken && { refresh_token: refreshToken }),
        };
      },
      ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'audience', 'scope', 'requested_token_type'],
    );
  }

  /**
   * The subject token must be an ID token this issuer signed for an app of the device session's
   * group, naming the device session's user, sid and device secret (ds_hash). It may have
   * expired: the device secret, checked above, is what stays valid for the shift (the
   * specification lets the ID token outlive its exp for this exchange).
   */
  async function checkSubjectToken(jwt: string, session: DeviceSession): Promise<void> {
    let payload: jose.JWTPayload;
    try {
      ({ payload } = await jose.jwtVerify(jwt, await keys(), { issuer, algorithms: ['RS256', 'ES256'], currentDate: new Date(0) }));
    } catch {
      throw refuse(errors.InvalidGrant, 'the subject_token is not an ID token issued by this tenant');
    }
    const auds = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const fromGroup = await Promise.all(auds.map(async (a) => typeof a === 'string' && (await groupOf(a))?.group === session.group));
    if (!fromGroup.some(Boolean)) throw refuse(errors.InvalidGrant, 'the subject_token was not issued to an app of this device SSO group');
    if (payload.sub !== session.userId) throw refuse(errors.InvalidGrant, 'the subject_token names another user than the device session');
    if (payload.sid !== session.sid || payload.ds_hash !== session.dsHash)
      throw refuse(errors.InvalidGrant, 'the subject_token does not belong to this device secret (sid or ds_hash differ)');
  }

  return { idTokenClaims, tokenResponse, noteCheckout, deviceParamCheck, assertRefreshAllowed, registerExchange };
}
