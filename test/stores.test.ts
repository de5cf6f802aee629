// Store conformance on SQLite (a real file) and PostgreSQL (a fresh database per run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../src/storage/db.ts';
import { migrations } from '../src/storage/migrations/index.ts';
import { storeConformance } from '../src/storage/conformance/stores.ts';
import { createTestDatabase, openTestStore } from './helpers/databases.ts';

const url = process.env.DATABASE_URL;
const asStore = async (serverUrl?: string) => {
  const d = await openTestStore(serverUrl);
  return { db: d.db, close: d.dispose };
};
storeConformance('sqlite', () => asStore());
storeConformance('postgres', () => asStore(url), url ? false : 'DATABASE_URL not set: PostgreSQL store suite skipped');

test('postgres: two nodes starting at once on a fresh database apply each migration once', { skip: url ? false : 'DATABASE_URL not set: PostgreSQL migration test skipped' }, async () => {
  const t = await createTestDatabase(url!);
  try {
    const nodes = await Promise.all([1, 2, 3].map(() => openDatabase({ dataDir: '', databaseUrl: t.url })));
    const applied = await nodes[0]!.db.selectFrom('kysely_migration' as any).select('name' as any).execute();
    assert.deepEqual(applied.map((r: any) => r.name), Object.keys(migrations));
    for (const n of nodes) await n.close();
  } finally {
    await t.drop();
  }
});
