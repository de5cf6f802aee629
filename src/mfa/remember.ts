// "Remember this device for N days" (a policy's rememberDeviceDays): after a second factor,
// the browser gets a cookie per user that skips the second factor while it is valid. The
// cookie is sealed (AES-GCM under the instance secret: it can be neither read nor forged) and
// names a row in the store, so an administrator's MFA reset (or the user forgetting the
// browser on the account page) revokes it at once; a policy that lowers the number of days
// shortens cookies already given.
import type Koa from 'koa';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import { describeDevice } from '../sessions/device.ts';

const DAY = 86_400_000;

/** One cookie per user, so people sharing a browser are remembered separately. */
const cookieName = (services: Pick<Services, 'sealer'>, userId: string) => `gh_rd_${services.sealer.mac(`remember:${userId}`).slice(0, 16)}`;
const cookieOptions = (services: Pick<Services, 'config'>, tenant: Tenant) => ({
  path: `/t/${tenant.slug}/`,
  httpOnly: true,
  sameSite: 'lax' as const,
  secure: services.config.publicUrl.startsWith('https:'),
  signed: false,
  overwrite: true,
});

export async function rememberBrowser(
  services: Pick<Services, 'config' | 'mfaStore' | 'sealer'>,
  ctx: Pick<Koa.Context, 'cookies' | 'get'>,
  tenant: Tenant,
  user: { id: string },
  days: number,
): Promise<void> {
  if (days <= 0) return;
  const expiresAt = Date.now() + days * DAY;
  const id = await services.mfaStore.remember(tenant.id, user.id, describeDevice(ctx.get('user-agent') || null), expiresAt);
  ctx.cookies.set(cookieName(services, user.id), services.sealer.seal(JSON.stringify({ id, t: tenant.id, u: user.id, exp: expiresAt })), {
    ...cookieOptions(services, tenant),
    maxAge: days * DAY,
  });
}

/** Does this browser skip the second factor for this user (under a policy of `days`)? */
export async function isRemembered(
  services: Pick<Services, 'mfaStore' | 'sealer'>,
  ctx: Pick<Koa.Context, 'cookies' | 'get'>,
  tenant: Tenant,
  user: { id: string },
  days: number,
): Promise<boolean> {
  if (days <= 0) return false;
  const sealed = ctx.cookies.get(cookieName(services, user.id));
  if (!sealed || sealed.length > 1024) return false;
  let v: { id: string; t: string; u: string; exp: number };
  try {
    v = JSON.parse(services.sealer.openUncached(sealed));
  } catch {
    return false;
  }
  const now = Date.now();
  if (v.t !== tenant.id || v.u !== user.id || !(v.exp > now)) return false;
  const row = await services.mfaStore.remembered(tenant.id, user.id, v.id);
  return !!row && row.expiresAt > now && row.createdAt + days * DAY > now;
}
