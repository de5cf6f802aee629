// Change notices between nodes: every subscriber on every node gets each notice, and a node
// whose notice channel broke is told to reload everything when it is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import pg from 'pg';
import { Redis } from 'ioredis';
import { LocalBus, PostgresBus, RedisBus, type Bus } from '../src/ops/bus.ts';
import { createTestDatabase, randomName } from './helpers/databases.ts';
import { waitFor } from './helpers/wait.ts';

const logger = pino({ level: 'silent' });
const dbUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;

async function deliversToEveryNode(a: Bus, b: Bus) {
  const gotA: string[] = [];
  const gotB: string[] = [];
  a.subscribe('engines', (m) => gotA.push(m));
  b.subscribe('engines', (m) => gotB.push(m));
  b.subscribe('clients', () => gotB.push('wrong topic'));
  await a.publish('engines', 'acme');
  await b.publish('engines', '');
  await waitFor(() => gotA.length === 2 && gotB.length === 2, { what: 'both notices delivered to both nodes' });
  assert.deepEqual(gotA.sort(), ['', 'acme']);
  assert.deepEqual(gotB.sort(), ['', 'acme']);
}

test('in-process notices reach the subscribers', async () => {
  const bus = new LocalBus();
  await deliversToEveryNode(bus, bus);
});

test('Redis: a notice published on one node reaches every node', { skip: redisUrl ? false : 'REDIS_URL not set: Redis bus test skipped' }, async () => {
  const prefix = `ghtest:${randomName()}:`;
  const [ra, rb] = [new Redis(redisUrl!), new Redis(redisUrl!)];
  const a = await RedisBus.open(ra, prefix, logger);
  const b = await RedisBus.open(rb, prefix, logger);
  try {
    await deliversToEveryNode(a, b);
  } finally {
    await a.close();
    await b.close();
    ra.disconnect();
    rb.disconnect();
  }
});

test('PostgreSQL: notices reach every node, and a node whose listening connection was cut reloads and keeps receiving', {
  skip: dbUrl ? false : 'DATABASE_URL not set: PostgreSQL bus test skipped',
}, async () => {
  const db = await createTestDatabase(dbUrl!);
  const pools = [new pg.Pool({ connectionString: db.url }), new pg.Pool({ connectionString: db.url })];
  for (const p of pools)
    p.on('error', () => {
      /* idle connections ended by the test's terminate */
    });
  const client = () => {
    const c = new pg.Client({ connectionString: db.url });
    return c;
  };
  const a = await PostgresBus.open(pools[0]!, client, logger);
  const b = await PostgresBus.open(pools[1]!, client, logger);
  try {
    await deliversToEveryNode(a, b);
    let resynced = 0;
    const got: string[] = [];
    b.subscribe(
      'clients',
      (m) => got.push(m),
      () => {
        resynced++;
      },
    );
    // Cut every LISTEN connection, as a database restart would.
    await pools[0]!.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query = 'LISTEN gatehouse_bus'`, [
      db.url.split('/').pop(),
    ]);
    await waitFor(() => resynced > 0, { what: 'the node to reload what it keeps once it listens again' });
    await waitFor(
      async () => {
        await a.publish('clients', 'after');
        return got.includes('after');
      },
      { what: 'notices to flow again' },
    );
  } finally {
    await a.close();
    await b.close();
    await Promise.all(pools.map((p) => p.end()));
    await db.drop();
  }
});
