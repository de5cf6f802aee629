// The state of one sign-in through an upstream, kept in the browser between leaving for the
// upstream and coming back: sealed (AES-GCM under the instance secret), so it can be neither
// read nor forged, bound to the engine's interaction, and short-lived.
import type Koa from 'koa';
import type { Context } from '../context.ts';

const COOKIE = 'gh_fed';
const LIFETIME_MS = 10 * 60_000;

export interface Transaction {
  uid: string;
  upstreamId: string;
  state: string;
  nonce: string;
  verifier: string;
  email?: string;
  /** Set once the upstream answered and the user is known: the interaction can finish. */
  result?: { accountId: string; amr: string[]; acr: string };
  exp: number;
}

const cookieOptions = (app: Context, slug: string) => ({
  path: `/t/${slug}/`, httpOnly: true, sameSite: 'lax' as const, secure: app.config.publicUrl.startsWith('https:'), signed: false, overwrite: true,
});

export function saveTransaction(app: Context, ctx: Koa.Context, slug: string, t: Omit<Transaction, 'exp'>): void {
  const sealed = app.sealer.seal(JSON.stringify({ ...t, exp: Date.now() + LIFETIME_MS }));
  ctx.cookies.set(COOKIE, sealed, { ...cookieOptions(app, slug), maxAge: LIFETIME_MS });
}

/** The transaction this browser holds, if it is intact and not expired. */
export function readTransaction(app: Context, ctx: Koa.Context): Transaction | undefined {
  const sealed = ctx.cookies.get(COOKIE);
  if (!sealed) return undefined;
  try {
    const t = JSON.parse(app.sealer.open(sealed)) as Transaction;
    return t.exp > Date.now() ? t : undefined;
  } catch {
    return undefined;
  }
}

export function clearTransaction(app: Context, ctx: Koa.Context, slug: string): void {
  ctx.cookies.set(COOKIE, '', { ...cookieOptions(app, slug), maxAge: 0 });
}
