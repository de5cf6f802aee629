// Downgrade refusal: a database a newer Gatehouse migrated (a migration name this build does
// not know in kysely's table) is refused at start with one line saying which migration, which
// version this is and what to do; nothing is changed. Same on SQLite and PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { appliedMigrations, lastStartedBy, openDatabase } from '../../src/storage/db.ts';
import { migrationList } from '../../src/storage/migrations/index.ts';
import { StartupRefusal } from '../../src/shared/errors.ts';
import { gatehouseVersion } from '../../src/shared/version.ts';
import { createTestDatabase } from '../helpers/databases.ts';
import { freePort } from '../helpers/server.ts';
import { spawnServer } from '../helpers/spawn.ts';

const FUTURE = '9990_from_a_newer_gatehouse';

export function upgradeSuite(store: 'sqlite' | 'postgres') {
  const url = process.env.DATABASE_URL;
  const skip = store === 'postgres' && !url ? 'DATABASE_URL not set: PostgreSQL suite skipped' : false;

  test(`${store}: a database migrated by a newer Gatehouse is refused at start, with what to do`, { skip }, async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-upgrade-'));
    const pgdb = store === 'postgres' ? await createTestDatabase(url!) : undefined;
    try {
      const where = { dataDir, databaseUrl: pgdb?.url };
      // An instance as this build leaves it, then "upgraded" by a future version.
      const d = await openDatabase(where);
      assert.deepEqual(
        await appliedMigrations(d.db),
        migrationList.map((m) => m.name),
      );
      assert.equal(await lastStartedBy(d.db), gatehouseVersion(), 'each start records its version');
      await sql`insert into kysely_migration (name, timestamp) values (${FUTURE}, ${new Date().toISOString()})`.execute(d.db);
      await sql`update instance_settings set value = '9.9.0' where name = 'gatehouse_version'`.execute(d.db);
      await d.close();

      await assert.rejects(openDatabase(where), (e: unknown) => {
        assert.ok(e instanceof StartupRefusal, String(e));
        assert.match(e.message, /upgraded by a newer Gatehouse \(Gatehouse 9\.9\.0 last started on it\)/);
        assert.match(e.message, new RegExp(`migration ${FUTURE} applied`));
        assert.match(e.message, new RegExp(`Gatehouse ${gatehouseVersion().replace(/\./g, '\\.')} does not know`));
        assert.match(e.message, new RegExp(`its newest is ${migrationList.at(-1)!.name}`));
        assert.match(e.message, /run the newer Gatehouse version again, or restore the backup/);
        return true;
      });

      // `gatehouse start` as an operator runs it: exit code 2 and that one line on stderr.
      const port = await freePort();
      const env: Record<string, string> = pgdb ? { DATABASE_URL: pgdb.url, GATEHOUSE_SECRET: 'test-secret-'.padEnd(48, 'x') } : {};
      const server = await spawnServer(dataDir, port, env);
      assert.equal(server.ready, false, server.output());
      assert.equal(await server.exited, 2);
      assert.match(server.errors(), new RegExp(`upgraded by a newer Gatehouse \\(Gatehouse 9\\.9\\.0 last started on it\\): it has migration ${FUTURE}`));
      assert.doesNotMatch(server.errors(), /corrupted migrations| {4}at /, 'no stack trace, no kysely jargon');

      // Nothing was changed: the database still has exactly what it had.
      const again = await openDatabase({ ...where, lock: false }).catch((e) => e);
      assert.ok(again instanceof StartupRefusal);
      const check = pgdb ? new (await import('pg')).default.Client({ connectionString: pgdb.url }) : undefined;
      let names: string[];
      if (check) {
        await check.connect();
        names = (await check.query('select name from kysely_migration order by name')).rows.map((r) => r.name);
        await check.end();
      } else {
        const { DatabaseSync } = await import('node:sqlite');
        const raw = new DatabaseSync(path.join(dataDir, 'gatehouse.db'), { readOnly: true });
        names = (raw.prepare('select name from kysely_migration order by name').all() as Array<{ name: string }>).map((r) => r.name);
        raw.close();
      }
      assert.deepEqual(names, [...migrationList.map((m) => m.name), FUTURE].sort());
    } finally {
      await pgdb?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
