// The state of one sign-in through an upstream, kept sealed in the browser between leaving
// for the upstream and coming back (10 minutes), bound to the engine's interaction.
import type { CookieJar } from '../shared/sealed-cookie.ts';
import type { Services } from '../services.ts';
import { sealedCookie } from '../shared/sealed-cookie.ts';

export interface Transaction {
  uid: string;
  upstreamId: string;
  state: string;
  nonce: string;
  verifier: string;
  email?: string;
  /** The application being signed in to (its events name it). */
  clientId?: string;
  /** Set once the upstream answered and the user is known: the interaction can finish. */
  result?: { accountId: string; amr: string[]; acr: string };
}

const cookie = (services: Pick<Services, 'config' | 'sealer'>) => sealedCookie<Transaction>(services, 'gh_fed', 10 * 60_000);

export const saveTransaction = (services: Pick<Services, 'config' | 'sealer'>, ctx: CookieJar, slug: string, t: Transaction) =>
  cookie(services).save(ctx, slug, t);
export const readTransaction = (services: Pick<Services, 'config' | 'sealer'>, ctx: CookieJar) => cookie(services).read(ctx);
export const clearTransaction = (services: Pick<Services, 'config' | 'sealer'>, ctx: CookieJar, slug: string) => cookie(services).clear(ctx, slug);
