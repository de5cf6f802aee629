// How long a change notice takes from the node that publishes it to another node: the delay
// within which other nodes serve a change (docs/operations.md says "well within a second").
// Measured here, not asserted in tests, where a busy machine would make any fixed limit flaky.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 \
//     npx node bench/notices.ts [--count=200]
//
// Two buses (two connections, as two nodes have) per transport; notices one after another,
// each timed from publish to delivery. Prints the median, 95th percentile and maximum.
import crypto from 'node:crypto';
import pino from 'pino';
import pg from 'pg';
import { Redis } from 'ioredis';
import { PostgresBus, RedisBus, type Bus } from '../src/ops/bus.ts';

const count = Number(/^--count=(\d+)$/.exec(process.argv.find((a) => a.startsWith('--count=')) ?? '')?.[1] ?? 200);
const logger = pino({ level: 'silent' });

async function measure(name: string, a: Bus, b: Bus): Promise<void> {
  const waiting = new Map<string, (at: bigint) => void>();
  b.subscribe('bench', (m) => waiting.get(m)?.(process.hrtime.bigint()));
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const id = String(i);
    const arrived = new Promise<bigint>((resolve) => waiting.set(id, resolve));
    const start = process.hrtime.bigint();
    await a.publish('bench', id);
    ms.push(Number((await arrived) - start) / 1e6);
    waiting.delete(id);
  }
  ms.sort((x, y) => x - y);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(2);
  console.log(`${name.padEnd(22)} ${count} notices: median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${ms.at(-1)!.toFixed(2)} ms`);
}

if (process.env.REDIS_URL) {
  const prefix = `ghbench:${crypto.randomBytes(6).toString('hex')}:`;
  const [ra, rb] = [new Redis(process.env.REDIS_URL), new Redis(process.env.REDIS_URL)];
  const [a, b] = [await RedisBus.open(ra, prefix, logger), await RedisBus.open(rb, prefix, logger)];
  try {
    await measure('Redis pub/sub', a, b);
  } finally {
    await a.close();
    await b.close();
    ra.disconnect();
    rb.disconnect();
  }
} else console.log('REDIS_URL not set: Redis pub/sub not measured');

if (process.env.DATABASE_URL) {
  // LISTEN/NOTIFY is per database: a throw-away one, dropped afterwards.
  const name = `gh_bench_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(process.env.DATABASE_URL);
  u.pathname = `/${name}`;
  const pools = [new pg.Pool({ connectionString: u.href }), new pg.Pool({ connectionString: u.href })];
  const client = () => new pg.Client({ connectionString: u.href });
  const [a, b] = [await PostgresBus.open(pools[0]!, client, logger), await PostgresBus.open(pools[1]!, client, logger)];
  try {
    await measure('PostgreSQL NOTIFY', a, b);
  } finally {
    await a.close();
    await b.close();
    await Promise.all(pools.map((p) => p.end()));
    await admin.query(`DROP DATABASE ${name}`);
    await admin.end();
  }
} else console.log('DATABASE_URL not set: PostgreSQL LISTEN/NOTIFY not measured');
