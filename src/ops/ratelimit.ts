// Failure counters for throttling sign-in. Fixed windows keyed by account or IP.
// In memory for one node; the scale-out work moves these counters to Redis.
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

/** Human wording for a wait. */
export function waitWords(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const m = Math.ceil(seconds / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}
