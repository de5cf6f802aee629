// The familiar-device cookie (smart lockout, interaction/lockout.ts): a browser that signed in
// to an account successfully before is familiar to it, so a stranger's failed guesses
// elsewhere never lock the user out of it. One cookie per browser (not one per account: a
// shared ward computer signs in dozens of people, and a cookie each would overflow the
// request headers) holding a short hash of each account, newest first, at most
// MAX_ACCOUNTS; sealed (AES-GCM under the instance secret: neither readable nor forgeable),
// HttpOnly, SameSite=Lax, Secure per GATEHOUSE_SECURE_COOKIES, scoped to the tenant's
// paths, kept FAMILIAR_DEVICE_DAYS and renewed at each sign-in.
import type { CookieJar } from '../shared/sealed-cookie.ts';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';

export const FAMILIAR_DEVICE_DAYS = 180;
const MAX_ACCOUNTS = 20;
const NAME = 'gh_fam';
const DAY = 86_400_000;

/** An account's mark in the cookie: a MAC of the tenant and user (no user id in the browser). */
export const deviceMark = (services: Pick<Services, 'sealer'>, tenantId: string, userId: string) =>
  services.sealer.mac(`familiar:${tenantId}:${userId}`).slice(0, 16);

const options = (services: Pick<Services, 'config'>, tenant: Tenant) => ({
  path: `/t/${tenant.slug}/`,
  httpOnly: true,
  sameSite: 'lax' as const,
  secure: services.config.secureCookies,
  signed: false,
  overwrite: true,
});

/** The account marks this browser holds for the tenant (empty when none, expired or tampered with). */
export function familiarMarks(services: Pick<Services, 'sealer'>, ctx: CookieJar, tenant: Tenant): string[] {
  const sealed = ctx.cookies.get(NAME);
  if (!sealed || sealed.length > 4096) return [];
  try {
    const v = JSON.parse(services.sealer.openUncached(sealed)) as { t: string; a: string[]; exp: number };
    return v.t === tenant.id && v.exp > Date.now() && Array.isArray(v.a) ? v.a.filter((x) => typeof x === 'string').slice(0, MAX_ACCOUNTS) : [];
  } catch {
    return [];
  }
}

/** After a successful sign-in: this browser is familiar to the account (first in the list). */
export function markFamiliar(services: Pick<Services, 'config' | 'sealer'>, ctx: CookieJar, tenant: Tenant, userId: string): void {
  const mark = deviceMark(services, tenant.id, userId);
  const marks = [mark, ...familiarMarks(services, ctx, tenant).filter((m) => m !== mark)].slice(0, MAX_ACCOUNTS);
  const exp = Date.now() + FAMILIAR_DEVICE_DAYS * DAY;
  ctx.cookies.set(NAME, services.sealer.seal(JSON.stringify({ t: tenant.id, a: marks, exp })), {
    ...options(services, tenant),
    maxAge: FAMILIAR_DEVICE_DAYS * DAY,
  });
}
