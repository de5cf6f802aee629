// Store conformance on SQLite (a real file) and PostgreSQL (a fresh database per run).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../src/storage/db.ts';
import { storeConformance } from '../src/storage/conformance/stores.ts';

storeConformance('sqlite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-store-'));
  const d = await openDatabase({ dataDir: dir });
  return { db: d.db, close: async () => { await d.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
});

const url = process.env.DATABASE_URL;
storeConformance('postgres', async () => {
  const name = `gh_test_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(url!);
  u.pathname = `/${name}`;
  const d = await openDatabase({ dataDir: '', databaseUrl: u.href });
  return {
    db: d.db,
    close: async () => { await d.close(); await admin.query(`DROP DATABASE ${name} WITH (FORCE)`); await admin.end(); },
  };
}, url ? false : 'DATABASE_URL not set: PostgreSQL store suite skipped');


test('postgres: two nodes starting at once on a fresh database apply each migration once', { skip: url ? false : 'DATABASE_URL not set: PostgreSQL migration test skipped' }, async () => {
  const name = `gh_test_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(url!);
  u.pathname = `/${name}`;
  try {
    const nodes = await Promise.all([openDatabase({ dataDir: '', databaseUrl: u.href }), openDatabase({ dataDir: '', databaseUrl: u.href }), openDatabase({ dataDir: '', databaseUrl: u.href })]);
    const applied = await nodes[0]!.db.selectFrom('kysely_migration' as any).select('name' as any).execute();
    assert.deepEqual(applied.map((r: any) => r.name), ['0001_core']);
    for (const n of nodes) await n.close();
  } finally {
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.end();
  }
});
