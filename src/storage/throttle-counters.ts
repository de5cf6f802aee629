// Throttle counters kept in the database (PostgreSQL without Redis): the Throttle of
// ops/ratelimit.ts as one statement per operation, so every node counts the same failures.
import { sql, type Kysely } from 'kysely';
import type { DB } from './schema.ts';
import type { Throttle, ThrottleRule } from '../ops/ratelimit.ts';

export class SqlThrottle implements Throttle {
  readonly rule: ThrottleRule;
  readonly #db: Kysely<DB>;
  readonly #prefix: string;
  readonly #now: () => number;
  constructor(db: Kysely<DB>, name: string, rule: ThrottleRule, now: () => number = Date.now) {
    this.#db = db;
    this.#prefix = `${name}:`;
    this.rule = rule;
    this.#now = now;
  }
  #wait(row: { count: number; reset_at: number } | undefined, now: number, rule: ThrottleRule): number {
    return row && Number(row.count) >= rule.limit && Number(row.reset_at) > now ? Math.ceil((Number(row.reset_at) - now) / 1000) : 0;
  }
  async blockedFor(key: string, rule = this.rule): Promise<number> {
    const now = this.#now();
    const row = await this.#db
      .selectFrom('throttle_counters')
      .select(['count', 'reset_at'])
      .where('key', '=', this.#prefix + key)
      .executeTakeFirst();
    return this.#wait(row, now, rule);
  }
  async fail(key: string, rule = this.rule): Promise<number> {
    const now = this.#now();
    const resetAt = now + rule.windowSeconds * 1000;
    // One statement: concurrent failures on several nodes all count, an ended window restarts,
    // and the failure that reaches the limit starts the lock's full duration.
    const row = await this.#db
      .insertInto('throttle_counters')
      .values({ key: this.#prefix + key, count: 1, reset_at: resetAt })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          count: sql<number>`case when throttle_counters.reset_at <= ${now} then 1 else throttle_counters.count + 1 end`,
          reset_at: sql<number>`case when throttle_counters.reset_at <= ${now} or throttle_counters.count + 1 = ${rule.limit} then ${resetAt} else throttle_counters.reset_at end`,
        }),
      )
      .returning(['count', 'reset_at'])
      .executeTakeFirstOrThrow();
    return this.#wait(row, now, rule);
  }
  async reset(key: string): Promise<void> {
    await this.#db
      .deleteFrom('throttle_counters')
      .where('key', '=', this.#prefix + key)
      .execute();
  }
  async hit(key: string, windowSeconds: number): Promise<number> {
    const now = this.#now();
    const row = await this.#db
      .insertInto('throttle_counters')
      .values({ key: this.#prefix + key, count: 1, reset_at: now + windowSeconds * 1000 })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          count: sql<number>`case when throttle_counters.reset_at <= ${now} then 1 else throttle_counters.count + 1 end`,
          reset_at: sql<number>`case when throttle_counters.reset_at <= ${now} then ${now + windowSeconds * 1000} else throttle_counters.reset_at end`,
        }),
      )
      .returning(['count'])
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
  async count(key: string): Promise<number> {
    const row = await this.#db
      .selectFrom('throttle_counters')
      .select('count')
      .where('key', '=', this.#prefix + key)
      .where('reset_at', '>', this.#now())
      .executeTakeFirst();
    return Number(row?.count ?? 0);
  }
  async hold(key: string, seconds: number): Promise<void> {
    const resetAt = this.#now() + Math.round(seconds * 1000);
    await this.#db
      .insertInto('throttle_counters')
      .values({ key: this.#prefix + key, count: 1, reset_at: resetAt })
      .onConflict((oc) => oc.column('key').doUpdateSet({ count: 1, reset_at: resetAt }))
      .execute();
  }
}

/** Counters whose window has ended (the maintenance job deletes them). */
export async function purgeThrottleCounters(db: Kysely<DB>, now = Date.now()): Promise<number> {
  const r = await db.deleteFrom('throttle_counters').where('reset_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows ?? 0);
}
