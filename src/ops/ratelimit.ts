// Failure counters for throttling sign-in. Fixed windows keyed by account or IP.
// In memory for the embedded store (one process); in Redis when REDIS_URL is set; in
// PostgreSQL when only DATABASE_URL is (storage/throttle-counters.ts): every node and worker
// counts the same failures.
import type { Redis } from 'ioredis';
//
// A key is blocked once `limit` failures fall within `windowSeconds`, and stays blocked for
// `windowSeconds` from the failure that reached the limit. Callers may pass their own rule
// per call (a user policy's lockout threshold and duration); otherwise the throttle's own.
export interface Throttle {
  /** Seconds until the key may try again, or 0 when it may try now. */
  blockedFor(key: string, rule?: ThrottleRule): Promise<number>;
  /** Count a failure; returns seconds blocked after it (0 when still under the limit). */
  fail(key: string, rule?: ThrottleRule): Promise<number>;
  reset(key: string): Promise<void>;
  /**
   * Count an event in a window of `windowSeconds` started by the first (no blocking of its
   * own); returns the count so far. The sign-in lockout (interaction/lockout.ts) counts
   * failures and lockouts with it and decides itself what a count means.
   */
  hit(key: string, windowSeconds: number): Promise<number>;
  /** The count of a key in its current window (0 when none or ended). */
  count(key: string): Promise<number>;
  /** Hold the key for `seconds` from now, whatever it held: `blockedFor(key, HELD)` reads it. */
  hold(key: string, seconds: number): Promise<void>;
}

export interface ThrottleRule {
  limit: number;
  windowSeconds: number;
}

/** The rule that reads a key set by `hold` (any count blocks until the hold ends). */
export const HELD: ThrottleRule = { limit: 1, windowSeconds: 1 };

export class MemoryThrottle implements Throttle {
  readonly rule: ThrottleRule;
  readonly #hits = new Map<string, { count: number; resetAt: number }>();
  readonly #now: () => number;
  constructor(rule: ThrottleRule, now: () => number = Date.now) {
    this.rule = rule;
    this.#now = now;
  }
  async blockedFor(key: string, rule = this.rule): Promise<number> {
    const e = this.#hits.get(key);
    if (!e || e.resetAt <= this.#now()) return 0;
    return e.count >= rule.limit ? Math.ceil((e.resetAt - this.#now()) / 1000) : 0;
  }
  async fail(key: string, rule = this.rule): Promise<number> {
    const now = this.#now();
    let e = this.#hits.get(key);
    if (!e || e.resetAt <= now) {
      e = { count: 0, resetAt: now + rule.windowSeconds * 1000 };
      this.#hits.set(key, e);
    }
    e.count++;
    if (e.count === rule.limit) e.resetAt = now + rule.windowSeconds * 1000; // locked for the whole duration from here
    if (this.#hits.size > 100_000) this.#sweep(now); // bounded memory under an attack from many keys
    return this.blockedFor(key, rule);
  }
  async reset(key: string): Promise<void> {
    this.#hits.delete(key);
  }
  async hit(key: string, windowSeconds: number): Promise<number> {
    const now = this.#now();
    let e = this.#hits.get(key);
    if (!e || e.resetAt <= now) {
      e = { count: 0, resetAt: now + windowSeconds * 1000 };
      this.#hits.set(key, e);
    }
    e.count++;
    if (this.#hits.size > 100_000) this.#sweep(now);
    return e.count;
  }
  async count(key: string): Promise<number> {
    const e = this.#hits.get(key);
    return e && e.resetAt > this.#now() ? e.count : 0;
  }
  async hold(key: string, seconds: number): Promise<void> {
    this.#hits.set(key, { count: 1, resetAt: this.#now() + seconds * 1000 });
  }
  #sweep(now: number) {
    for (const [k, v] of this.#hits) if (v.resetAt <= now) this.#hits.delete(k);
  }
}

// Count and start the window in one step, so concurrent failures on several nodes all count.
const FAIL_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 or n == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`;

export class RedisThrottle implements Throttle {
  readonly rule: ThrottleRule;
  readonly #redis: Redis;
  readonly #prefix: string;
  /** `name` separates throttles (account, ip) sharing one Redis. */
  constructor(redis: Redis, prefix: string, name: string, rule: ThrottleRule) {
    this.#redis = redis;
    this.#prefix = `${prefix}throttle:${name}:`;
    this.rule = rule;
  }
  async blockedFor(key: string, rule = this.rule): Promise<number> {
    const k = this.#prefix + key;
    const [[, count], [, ttl]] = (await this.#redis.multi().get(k).pttl(k).exec()) as [[unknown, string | null], [unknown, number]];
    return Number(count ?? 0) >= rule.limit && ttl > 0 ? Math.ceil(ttl / 1000) : 0;
  }
  async fail(key: string, rule = this.rule): Promise<number> {
    const [count, ttl] = (await this.#redis.eval(FAIL_SCRIPT, 1, this.#prefix + key, rule.windowSeconds * 1000, rule.limit)) as [number, number];
    return count >= rule.limit ? Math.ceil(ttl / 1000) : 0;
  }
  async reset(key: string): Promise<void> {
    await this.#redis.del(this.#prefix + key);
  }
  async hit(key: string, windowSeconds: number): Promise<number> {
    // A limit of 0 is never reached: the script only counts and starts the window.
    const [count] = (await this.#redis.eval(FAIL_SCRIPT, 1, this.#prefix + key, windowSeconds * 1000, 0)) as [number, number];
    return count;
  }
  async count(key: string): Promise<number> {
    return Number((await this.#redis.get(this.#prefix + key)) ?? 0);
  }
  async hold(key: string, seconds: number): Promise<void> {
    await this.#redis.set(this.#prefix + key, '1', 'PX', Math.max(1, Math.round(seconds * 1000)));
  }
}

/** Human wording for a wait. */
export function waitWords(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const m = Math.ceil(seconds / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}
