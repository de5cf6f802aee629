// Throwaway stores for tests: a fresh PostgreSQL database per use (dropped afterwards) and
// a unique Redis key prefix (its keys deleted afterwards), so parallel suites never meet.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { openDatabase, type Database } from '../../src/storage/db.ts';

export const randomName = () => crypto.randomBytes(8).toString('hex');

/** Create an empty database next to `serverUrl`'s; returns its URL and how to drop it. */
export async function createTestDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `gh_test_${randomName()}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (e) {
    await admin.end();
    throw e;
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    url: u.href,
    drop: async () => {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** A migrated store: SQLite in a temp dir, or PostgreSQL in a fresh database when `serverUrl` is given. */
export async function openTestStore(serverUrl?: string): Promise<Database & { dispose(): Promise<void> }> {
  if (serverUrl) {
    const t = await createTestDatabase(serverUrl);
    const d = await openDatabase({ dataDir: '', databaseUrl: t.url });
    return Object.assign(d, {
      dispose: async () => {
        await d.close();
        await t.drop();
      },
    });
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-store-'));
  const d = await openDatabase({ dataDir: dir });
  return Object.assign(d, {
    dispose: async () => {
      await d.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  });
}

export async function deleteRedisPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
