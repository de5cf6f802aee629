// Smart lockout (as Entra ID and Okta do it): wrong passwords are counted per account AND per
// kind of origin, so a stranger guessing from elsewhere cannot lock the real user out of the
// browsers and networks they use.
//
// - Origins are trusted in three degrees: a familiar device (the browser holds this account in
//   its familiar-device cookie, interaction/familiar.ts, given at every successful sign-in), a
//   familiar address (the account signed in successfully from it within
//   FAMILIAR_ADDRESS_DAYS), and unfamiliar (anything else).
// - Failures lock the degree they came from and every less trusted one, never a more trusted
//   one: a stranger elsewhere locks only unfamiliar origins; someone on the hospital's network
//   (a familiar address) locks that network and strangers, not the user's own browser; the
//   user's own browser failing (a forgotten password, a stolen laptop) locks everything.
// - A lockout grows: the policy's first duration, then 5, 15 and 60 times it (capped by the
//   policy's maximum), so guessing slows to a crawl instead of renewing at a flat rate; the
//   count of lockouts is forgotten a day after the last one, or at a successful sign-in from
//   that kind of origin, or at the helpdesk's unlock.
// - Attempts while locked are refused without checking the password and do not extend it.
//
// Per address (a hospital's NAT has hundreds of people behind one address):
// - Failures (any account) are counted in a 15-minute window. From half the address limit
//   on, every answer to that address is slowed (a delay that grows with the failures).
// - Over the limit, the address is answered 429 with Retry-After for the accounts it has
//   failed on in the window (the attacker's targets); colleagues behind the same address who
//   type their own correct password are only slowed. Over ten times the limit the address
//   is refused for every account until the window ends (that is no hospital, that is a spray).
//
// The counters live in the throttle backends (memory, PostgreSQL or Redis: ops/ratelimit.ts)
// so every node sees the same numbers.
import { setTimeout as delay } from 'node:timers/promises';
import net from 'node:net';
import type { Throttle } from '../ops/ratelimit.ts';
import type { Services } from '../services.ts';

/** What the per-account counts use: the account throttle only. */
export interface AccountCounts {
  throttles: { account: Throttle };
}
import type { PolicySettings } from '../policy/policies.ts';
import { HELD } from '../ops/ratelimit.ts';

/** An address a user signed in from successfully stays familiar for this long. */
export const FAMILIAR_ADDRESS_DAYS = 30;
/** Failures are counted in windows of this length (a window starts with its first failure). */
export const FAILURE_WINDOW_SECONDS = 15 * 60;
/** Lockouts grow by these multiples of the policy's first duration (capped by its maximum). */
export const LOCKOUT_GROWTH = [1, 5, 15, 60];
/** The count of lockouts (their growth) is forgotten this long after the last one. */
const LEVEL_MEMORY_SECONDS = 24 * 3600;
/** The longest delay given to an address over half its limit. */
const MAX_DELAY_MS = 3000;
/** Past this multiple of the address limit, the address is refused for every account. */
const HARD_LIMIT_FACTOR = 10;

/** How familiar an origin is to an account, most trusted first. */
export type Familiarity = 'device' | 'address' | 'unfamiliar';
const TRUST: Familiarity[] = ['device', 'address', 'unfamiliar'];

/** What the policy says (threshold, first and longest lockout). */
export interface LockoutPolicy {
  threshold: number;
  firstSeconds: number;
  maxSeconds: number;
}

export const lockoutPolicy = (s: PolicySettings): LockoutPolicy => ({
  threshold: s.lockout.threshold,
  firstSeconds: s.lockout.durationMinutes * 60,
  // Policies saved before the maximum existed get the default.
  maxSeconds: Math.max(s.lockout.durationMinutes, s.lockout.maxDurationMinutes ?? 60) * 60,
});

/** The length of the n-th lockout (1-based) under a policy. */
export const lockoutSeconds = (p: LockoutPolicy, n: number) => Math.min(p.maxSeconds, p.firstSeconds * LOCKOUT_GROWTH[Math.min(n, LOCKOUT_GROWTH.length) - 1]!);

const kindKey = (k: Familiarity) => k[0]!;
const keys = (subject: string, kind: Familiarity) => ({
  failures: `${subject}:${kindKey(kind)}`,
  lock: `lock:${subject}:${kindKey(kind)}`,
  level: `level:${subject}:${kindKey(kind)}`,
});

/** Seconds this subject is locked for an origin of this kind (0: not locked): its own lock and those of more trusted kinds. */
export async function lockedFor(services: AccountCounts, subject: string, kind: Familiarity): Promise<number> {
  const kinds = TRUST.slice(0, TRUST.indexOf(kind) + 1);
  const waits = await Promise.all(kinds.map((k) => services.throttles.account.blockedFor(keys(subject, k).lock, HELD)));
  return Math.max(0, ...waits);
}

/** A failure from an origin of this kind: counted; a new lockout when it reaches the threshold. */
export async function countFailure(
  services: AccountCounts,
  subject: string,
  kind: Familiarity,
  p: LockoutPolicy,
): Promise<{ locked: number; lockout?: number }> {
  const k = keys(subject, kind);
  const n = await services.throttles.account.hit(k.failures, FAILURE_WINDOW_SECONDS);
  if (n < p.threshold) return { locked: 0 };
  const lockout = await services.throttles.account.hit(k.level, LEVEL_MEMORY_SECONDS);
  const seconds = lockoutSeconds(p, lockout);
  await services.throttles.account.hold(k.lock, seconds);
  await services.throttles.account.reset(k.failures);
  return { locked: seconds, lockout };
}

/** A successful sign-in from an origin of this kind: its failures and lockout growth are forgotten. */
export async function forgetFailures(services: AccountCounts, subject: string, kind: Familiarity): Promise<void> {
  const k = keys(subject, kind);
  await Promise.all([services.throttles.account.reset(k.failures), services.throttles.account.reset(k.level), services.throttles.account.reset(k.lock)]);
}

/** The helpdesk's unlock: every count and lock of the subject, of every kind, is lifted. */
export async function liftLockout(services: AccountCounts, subject: string): Promise<void> {
  await Promise.all(TRUST.map((k) => forgetFailures(services, subject, k)));
}

// --- per address ---

/**
 * The address as the lockout counts it: IPv4 as is (IPv4-mapped IPv6 too), IPv6 by its /64
 * network, since one home or phone gets a whole /64 and changes addresses inside it at will
 * (privacy addresses): counting single IPv6 addresses would let a stranger rotate past the
 * limit and would make the owner's own addresses unfamiliar every day.
 */
export function addressBucket(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!net.isIPv6(ip)) return ip;
  const [head, tail = ''] = ip.toLowerCase().split('%')[0]!.split('::') as [string, string?];
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}

const addressKey = (ip: string) => `ip:${addressBucket(ip)}`;
const addressSubjectKey = (ip: string, subject: string) => `ipacct:${addressBucket(ip)}:${subject}`;

/** Where an address stands: its failures in the window, how long it must wait for this subject, the delay owed. */
export async function addressState(
  services: Pick<Services, 'config' | 'throttles'>,
  ip: string,
  subject: string,
): Promise<{ refusedFor: number; delayMs: number }> {
  const limit = services.config.signinAddressLimit;
  const failures = await services.throttles.ip.count(addressKey(ip));
  if (failures < Math.ceil(limit / 2)) return { refusedFor: 0, delayMs: 0 };
  const delayMs = Math.min(MAX_DELAY_MS, 250 * (failures - Math.ceil(limit / 2) + 1));
  if (failures < limit) return { refusedFor: 0, delayMs };
  const windowLeft = await services.throttles.ip.blockedFor(addressKey(ip), { limit: 1, windowSeconds: FAILURE_WINDOW_SECONDS });
  if (failures >= limit * HARD_LIMIT_FACTOR) return { refusedFor: windowLeft, delayMs: 0 };
  const failedHere = await services.throttles.ip.blockedFor(addressSubjectKey(ip, subject), HELD);
  return failedHere > 0 ? { refusedFor: Math.max(windowLeft, 1), delayMs: 0 } : { refusedFor: 0, delayMs };
}

/** A failure from this address on this subject: counted for the address and remembered for the pair. */
export async function countAddressFailure(services: Pick<Services, 'throttles'>, ip: string, subject: string): Promise<void> {
  await services.throttles.ip.hit(addressKey(ip), FAILURE_WINDOW_SECONDS);
  await services.throttles.ip.hold(addressSubjectKey(ip, subject), FAILURE_WINDOW_SECONDS);
}

/** Slow the answer to an address that has failed often (its delay from addressState). */
export const slowDown = (ms: number) => (ms > 0 ? delay(ms) : Promise.resolve());
