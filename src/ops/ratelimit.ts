// Failure counters for throttling sign-in. Fixed windows keyed by account or IP.
// In memory for the embedded store (one process); in Redis when REDIS_URL is set, so that
// every node and worker counts the same failures.
import type { Redis } from 'ioredis';
export interface Throttle {
  /** Seconds until the key may try again, or 0 when it may try now. */
  blockedFor(key: string): Promise<number>;
  /** Count a failure; returns seconds blocked after it (0 when still under the limit). */
  fail(key: string): Promise<number>;
  reset(key: string): Promise<void>;
}

export interface ThrottleRule { limit: number; windowSeconds: number }

export class MemoryThrottle implements Throttle {
  readonly rule: ThrottleRule;
  readonly #hits = new Map<string, { count: number; resetAt: number }>();
  readonly #now: () => number;
  constructor(rule: ThrottleRule, now: () => number = Date.now) {
    this.rule = rule;
    this.#now = now;
  }
  async blockedFor(key: string): Promise<number> {
    const e = this.#hits.get(key);
    if (!e || e.resetAt <= this.#now()) return 0;
    return e.count >= this.rule.limit ? Math.ceil((e.resetAt - this.#now()) / 1000) : 0;
  }
  async fail(key: string): Promise<number> {
    const now = this.#now();
    let e = this.#hits.get(key);
    if (!e || e.resetAt <= now) {
      e = { count: 0, resetAt: now + this.rule.windowSeconds * 1000 };
      this.#hits.set(key, e);
    }
    e.count++;
    if (this.#hits.size > 100_000) this.#sweep(now); // bounded memory under an attack from many keys
    return this.blockedFor(key);
  }
  async reset(key: string): Promise<void> { this.#hits.delete(key); }
  #sweep(now: number) { for (const [k, v] of this.#hits) if (v.resetAt <= now) this.#hits.delete(k); }
}

// Count and start the window in one step, so concurrent failures on several nodes all count.
const FAIL_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
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
  async blockedFor(key: string): Promise<number> {
    const k = this.#prefix + key;
    const [[, count], [, ttl]] = (await this.#redis.multi().get(k).pttl(k).exec()) as [[unknown, string | null], [unknown, number]];
    return Number(count ?? 0) >= this.rule.limit && ttl > 0 ? Math.ceil(ttl / 1000) : 0;
  }
  async fail(key: string): Promise<number> {
    const [count, ttl] = (await this.#redis.eval(FAIL_SCRIPT, 1, this.#prefix + key, this.rule.windowSeconds * 1000)) as [number, number];
    return count >= this.rule.limit ? Math.ceil(ttl / 1000) : 0;
  }
  async reset(key: string): Promise<void> { await this.#redis.del(this.#prefix + key); }
}

/** Human wording for a wait. */
export function waitWords(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const m = Math.ceil(seconds / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}
