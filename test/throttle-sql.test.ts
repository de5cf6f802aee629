// Sign-in throttles in the database (PostgreSQL without Redis; the same statements on SQLite):
// failures counted through two connections add up, and a window that ended starts over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HELD } from '../src/ops/ratelimit.ts';
import { SqlThrottle, purgeThrottleCounters } from '../src/storage/throttle-counters.ts';
import { createTestDatabase, openTestStore } from './helpers/databases.ts';
import { openDatabase } from '../src/storage/db.ts';

const rule = { limit: 3, windowSeconds: 60 };

for (const dialect of ['sqlite', 'postgres'] as const) {
  const skip = dialect === 'postgres' && !process.env.DATABASE_URL ? 'DATABASE_URL not set: PostgreSQL throttle test skipped' : false;
  test(`${dialect}: failures from two nodes add up, block both, end with the window, and reset clears them`, { skip }, async () => {
    let now = 1_000_000;
    const clock = () => now;
    let a: SqlThrottle, b: SqlThrottle, dispose: () => Promise<void>, db: Parameters<typeof purgeThrottleCounters>[0];
    if (dialect === 'sqlite') {
      const store = await openTestStore();
      db = store.db;
      a = new SqlThrottle(store.db, 'account', rule, clock);
      b = new SqlThrottle(store.db, 'account', rule, clock);
      dispose = () => store.dispose();
    } else {
      const t = await createTestDatabase(process.env.DATABASE_URL!);
      const one = await openDatabase({ dataDir: '', databaseUrl: t.url });
      const two = await openDatabase({ dataDir: '', databaseUrl: t.url });
      db = one.db;
      a = new SqlThrottle(one.db, 'account', rule, clock);
      b = new SqlThrottle(two.db, 'account', rule, clock);
      dispose = async () => {
        await one.close();
        await two.close();
        await t.drop();
      };
    }
    try {
      await Promise.all([a.fail('t1:alice'), b.fail('t1:alice')]);
      assert.equal(await b.blockedFor('t1:alice'), 0, 'under the limit');
      assert.equal(await a.fail('t1:alice'), 60);
      assert.equal(await b.blockedFor('t1:alice'), 60, 'blocked on the other node too');
      assert.equal(await b.blockedFor('t1:bob'), 0);
      now += 60_000;
      assert.equal(await a.blockedFor('t1:alice'), 0, 'the window ended');
      assert.equal(await a.fail('t1:alice'), 0, 'a new window starts at one');
      await a.fail('t1:alice');
      await a.fail('t1:alice');
      assert.equal(await b.blockedFor('t1:alice'), 60);
      await b.reset('t1:alice');
      assert.equal(await a.blockedFor('t1:alice'), 0);
      await a.fail('t1:carol');
      now += 61_000;
      assert.equal(await purgeThrottleCounters(db, now), 1, 'ended windows are purged');
      assert.equal(await a.blockedFor('t1:carol'), 0);
    } finally {
      await dispose();
    }
  });
  test(`${dialect}: counts seen by two nodes add up in their window; a hold blocks both nodes until it ends (smart lockout's counters)`, { skip }, async () => {
    let now = 1_000_000;
    const clock = () => now;
    let a: SqlThrottle, b: SqlThrottle, dispose: () => Promise<void>;
    if (dialect === 'sqlite') {
      const store = await openTestStore();
      a = new SqlThrottle(store.db, 'account', rule, clock);
      b = new SqlThrottle(store.db, 'account', rule, clock);
      dispose = () => store.dispose();
    } else {
      const t = await createTestDatabase(process.env.DATABASE_URL!);
      const one = await openDatabase({ dataDir: '', databaseUrl: t.url });
      const two = await openDatabase({ dataDir: '', databaseUrl: t.url });
      a = new SqlThrottle(one.db, 'account', rule, clock);
      b = new SqlThrottle(two.db, 'account', rule, clock);
      dispose = async () => {
        await one.close();
        await two.close();
        await t.drop();
      };
    }
    try {
      assert.deepEqual(await Promise.all([a.hit('n', 900), b.hit('n', 900)]).then((r) => r.sort()), [1, 2]);
      assert.equal(await b.count('n'), 2);
      now += 900_000;
      assert.equal(await a.count('n'), 0, 'the window ended');
      assert.equal(await b.hit('n', 900), 1, 'a new window starts at one');
      await a.hold('lock:n', 300);
      assert.equal(await b.blockedFor('lock:n', HELD), 300);
      await b.hold('lock:n', 60);
      assert.equal(await a.blockedFor('lock:n', HELD), 60, 'a new hold replaces the old');
      now += 60_000;
      assert.equal(await a.blockedFor('lock:n', HELD), 0);
    } finally {
      await dispose();
    }
  });
}
