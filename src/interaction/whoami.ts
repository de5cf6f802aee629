// Who is signed in, for Gatehouse's own pages (the launcher, the account page): they sign in
// through the tenant's engine as Gatehouse's own client (oidc/clients.ts LAUNCHER_CLIENT_ID).
// With an SSO session that is a silent round trip; without one the user signs in first. The
// code that comes back is redeemed in-process (it never leaves this server).
import type Koa from 'koa';
import crypto from 'node:crypto';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { UserWithSecret } from '../storage/users.ts';
import { sealedCookie } from '../shared/sealed-cookie.ts';
import { LAUNCHER_CLIENT_ID } from '../oidc/clients.ts';
import { issuerFor, launcherRedirectUri } from '../oidc/engine.ts';
import { isConsumed } from '../oidc/internals/index.ts';
import { t as msg } from '../i18n/index.ts';

/** What the engine said about the sign-in. */
export interface SignedIn {
  user: UserWithSecret;
  authTime?: number;
  amr?: string[];
  acr?: string /** the engine session signed in through (hand-off grants end with it) */;
  sessionUid?: string;
}

export type RoundTrip = { ok: true; who: SignedIn; next: string | null } | { ok: false; status: number; title: string; message: string; detail: string };

const pending = (services: Pick<Services, 'config' | 'sealer'>) => sealedCookie<{ state: string; next: string | null }>(services, 'gh_launch', 10 * 60_000);

/** Send the browser through the engine; `next` says where to continue (kept sealed in a cookie). */
export function startSignIn(
  services: Pick<Services, 'config' | 'sealer'>,
  ctx: Pick<Koa.Context, 'cookies' | 'status' | 'redirect'>,
  tenant: Tenant,
  next: string | null,
  opts: { acrValues?: string; prompt?: 'login'; redirectUri?: string } = {},
): string {
  const state = crypto.randomBytes(24).toString('base64url');
  pending(services).save(ctx, tenant.slug, { state, next });
  const to = new URL(`${issuerFor(services.config.publicUrl, tenant.slug)}/auth`);
  for (const [k, v] of Object.entries({
    client_id: LAUNCHER_CLIENT_ID,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: opts.redirectUri ?? launcherRedirectUri(services, tenant),
    state,
  }))
    to.searchParams.set(k, v);
  if (opts.prompt) to.searchParams.set('prompt', opts.prompt); // a new sign-in even over another user's session (workstation links)
  if (opts.acrValues) to.searchParams.set('acr_values', opts.acrValues); // step-up (engine.ts MFA check)
  ctx.status = 303;
  ctx.redirect(to.href);
  return state;
}

/** Back from the engine (at launcherRedirectUri): who signed in, and where to continue. */
export async function finishSignIn(
  services: Pick<Services, 'config' | 'engineCache' | 'sealer' | 'userStore'>,
  ctx: Pick<Koa.Context, 'cookies' | 'query'>,
  tenant: Tenant,
  redirectUri = launcherRedirectUri(services, tenant),
): Promise<RoundTrip> {
  const t = pending(services).read(ctx);
  pending(services).clear(ctx, tenant.slug);
  const again = msg('roundtrip.again', { url: `${issuerFor(services.config.publicUrl, tenant.slug)}/launcher` });
  if (!t || t.state !== ctx.query.state)
    return { ok: false, status: 400, title: msg('roundtrip.expired.title'), message: msg('roundtrip.expired.late'), detail: again };
  if (typeof ctx.query.error === 'string')
    return { ok: false, status: 400, title: msg('roundtrip.notSignedIn.title'), message: msg('roundtrip.notSignedIn.message'), detail: again };
  const entry = await services.engineCache.get(tenant.slug);
  const code = typeof ctx.query.code === 'string' ? await entry!.provider.AuthorizationCode.find(ctx.query.code) : undefined;
  if (!code || code.clientId !== LAUNCHER_CLIENT_ID || code.redirectUri !== redirectUri || isConsumed(code)) {
    return { ok: false, status: 400, title: msg('roundtrip.expired.title'), message: msg('roundtrip.expired.used'), detail: again };
  }
  await code.consume();
  const user = await services.userStore.userById(tenant.id, code.accountId!);
  if (user?.status !== 'active')
    return { ok: false, status: 403, title: msg('disabled.title'), message: msg('password.disabled'), detail: msg('roundtrip.disabled.detail') };
  return { ok: true, who: { user, authTime: code.authTime, amr: code.amr, acr: code.acr, sessionUid: code.sessionUid }, next: t.next };
}
