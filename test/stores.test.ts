// Store conformance on SQLite (a real file) and PostgreSQL (a fresh database per run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { migrate, openDatabase } from '../src/storage/db.ts';
import { inDeclaredOrder, migrationList, migrations } from '../src/storage/migrations/index.ts';
import { storeConformance } from '../src/storage/conformance/stores.ts';
import { createTestDatabase, openTestStore } from './helpers/databases.ts';

const url = process.env.DATABASE_URL;
const asStore = async (serverUrl?: string) => {
  const d = await openTestStore(serverUrl);
  return { db: d.db, close: d.dispose };
};
storeConformance('sqlite', () => asStore());
storeConformance('postgres', () => asStore(url), url ? false : 'DATABASE_URL not set: PostgreSQL store suite skipped');

test('postgres: two nodes starting at once on a fresh database apply each migration once', {
  skip: url ? false : 'DATABASE_URL not set: PostgreSQL migration test skipped',
}, async () => {
  const t = await createTestDatabase(url!);
  try {
    const nodes = await Promise.all([1, 2, 3].map(() => openDatabase({ dataDir: '', databaseUrl: t.url })));
    const applied = await nodes[0]!.db
      .selectFrom('kysely_migration' as any)
      .select('name' as any)
      .execute();
    assert.deepEqual(
      applied.map((r: any) => r.name),
      migrationList.map((m) => m.name),
    );
    for (const n of nodes) await n.close();
  } finally {
    await t.drop();
  }
});

for (const [name, serverUrl, skip] of [
  ['sqlite', undefined, false],
  ['postgres', url, url ? false : 'DATABASE_URL not set: PostgreSQL migration test skipped'],
] as const) {
  test(`${name}: a migration declared out of name order is refused before any runs`, { skip }, async () => {
    const d = await openTestStore(serverUrl);
    try {
      const ran: string[] = [];
      // Declared z before a: kysely's name sort would silently run 9998_a first.
      const extra = ['9999_z_declared_first', '9998_a_declared_second'].map((n) => ({
        name: n,
        async up() {
          ran.push(n);
        },
      }));
      await assert.rejects(
        migrate(d.db, [...migrationList, ...extra]),
        /Migration 9998_a_declared_second is declared after 9999_z_declared_first but sorts before it/,
      );
      assert.deepEqual(ran, []);
      await migrate(d.db, [...migrationList, ...extra.reverse()]);
      assert.deepEqual(ran, ['9998_a_declared_second', '9999_z_declared_first']);
    } finally {
      await d.dispose();
    }
  });
}

test('a migration name declared twice is refused; the shipped list is in order', () => {
  const up = async () => {};
  assert.throws(
    () =>
      inDeclaredOrder([
        { name: '0001_x', up },
        { name: '0002_y', up },
        { name: '0002_y', up },
      ]),
    /Migration 0002_y is declared after 0002_y but has the same name/,
  );
  assert.deepEqual(
    Object.keys(migrations),
    migrationList.map((m) => m.name),
  );
});

for (const [name, serverUrl, skip] of [
  ['sqlite', undefined, false],
  ['postgres', url, url ? false : 'DATABASE_URL not set: PostgreSQL migration test skipped'],
] as const) {
  test(`${name}: migration 0030 fills in the user and app of audit events stored before it`, { skip }, async () => {
    const { Kysely, Migrator, PostgresDialect } = await import('kysely');
    const d = await openTestStore(serverUrl);
    try {
      // A store as it was before 0030 (there are no down migrations): on PostgreSQL a second
      // database migrated up to 0029; on SQLite, the fresh store with 0030's additions removed.
      const t = serverUrl ? await createTestDatabase(serverUrl) : undefined;
      // (A pool's idle connections ended by the database's drop must not surface as errors.)
      const pool = t ? new (await import('pg')).default.Pool({ connectionString: t.url }).on('error', () => {}) : undefined;
      const db = pool ? new Kysely<any>({ dialect: new PostgresDialect({ pool }) }) : (d.db as unknown as InstanceType<typeof Kysely<any>>);
      try {
        const before = Object.fromEntries(Object.entries(migrations).filter(([k]) => k < '0030'));
        if (t) {
          await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest();
        } else {
          // SQLite: drop what 0030 added from the freshly migrated store and forget the migration.
          await db.schema.dropIndex('audit_events_user').execute();
          await db.schema.dropIndex('audit_events_client').execute();
          await db.schema.dropIndex('audit_events_actor').execute();
          await db.schema.dropIndex('audit_events_tenant_id').execute();
          await db.schema.alterTable('audit_events').dropColumn('user_id').execute();
          await db.schema.alterTable('audit_events').dropColumn('client_id').execute();
          await db.schema.alterTable('apps').dropColumn('jwks').execute();
          await db.schema.alterTable('apps').dropColumn('certificate_expires_at').execute();
          await db.deleteFrom('kysely_migration').where('name', '=', '0030_admin_api').execute();
        }
        const row = (id: string, type: string, subject: string | null, data: object) => ({
          id,
          tenant_id: null,
          at: 1,
          type,
          level: 'info',
          actor: null,
          subject,
          ip: null,
          data: JSON.stringify(data),
        });
        await db
          .insertInto('audit_events')
          .values([
            row('a', 'signin.failed', 'usr_123', { email: 'x@example.test' }),
            row('b', 'token.issued', 'usr_456', { clientId: 'client-1', grantType: 'authorization_code' }),
            row('c', 'admin.app.updated', 'client-2', { changes: ['name'] }),
            row('d', 'signin.failed', 'unknown@example.test', { email: 'unknown@example.test' }),
          ])
          .execute();
        // Unordered: on SQLite the migrations after 0030 stayed applied.
        await new Migrator({ db, provider: { getMigrations: async () => migrations }, allowUnorderedMigrations: true }).migrateToLatest();
        const rows = await db.selectFrom('audit_events').select(['id', 'user_id', 'client_id']).orderBy('id').execute();
        assert.deepEqual(
          rows.map((r) => ({ ...r })),
          [
            { id: 'a', user_id: 'usr_123', client_id: null },
            { id: 'b', user_id: 'usr_456', client_id: 'client-1' },
            { id: 'c', user_id: null, client_id: 'client-2' },
            { id: 'd', user_id: null, client_id: null },
          ],
        );
      } finally {
        if (t) {
          await db.destroy();
          await t.drop();
        }
      }
    } finally {
      await d.dispose();
    }
  });
}
