// Opens the configured store: SQLite in the data dir (default) or PostgreSQL (DATABASE_URL),
// applies migrations, and for SQLite takes the data dir's exclusive process lock.
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Kysely, Migrator, PostgresDialect, sql, type MigrationProvider } from 'kysely';
import type { DB } from './schema.ts';
import { inDeclaredOrder, migrationList } from './migrations/index.ts';
import { GroupCommitDriver, nodeSqliteDialect, openSqlite } from './sqlite/dialect.ts';
import { startCheckpointer, type Checkpointer } from './sqlite/checkpointer.ts';
import { StartupRefusal } from '../shared/errors.ts';
import { gatehouseVersion } from '../shared/version.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<DB>;
  dialect: Dialect;
  /** PostgreSQL only: the pool, and a dedicated connection (for LISTEN and session locks). */
  pg?: { pool: import('pg').Pool; newClient(): import('pg').Client };
  /** SQLite only: hold new writes back while `during` runs (reads go on); see GroupCommitDriver. */
  holdWrites?(during: () => Promise<unknown>): Promise<void>;
  /** SQLite only: modes of the data dir and its files made private at this start, for the start log. */
  tightened?: string[];
  /**
   * SQLite only: rebuild the file (VACUUM) and empty the WAL, so rows deleted before leave no
   * bytes behind in free pages (used once, after tokens kept in clear were rewritten as hashes).
   */
  compact?(): Promise<void>;
  /** Cheap liveness probe for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class DataDirLockedError extends Error {}

/** The data dir's files: only the user Gatehouse runs as may read them (0600, the dir 0700). */
export const DATA_FILES = [
  'gatehouse.db',
  'gatehouse.db-wal',
  'gatehouse.db-shm',
  'gatehouse.db-journal',
  'gatehouse.lock',
  'gatehouse.lock-journal',
  'gatehouse.pid',
  'secret.key',
  'secret.key.new',
];

const mode = (m: number) => (m & 0o777).toString(8).padStart(4, '0');

/**
 * Create the data dir (0700), or check an existing one is a directory this process can use,
 * and tighten looser modes of it and its files. Answers what it tightened. A data dir that
 * cannot be used stops start-up with one line saying why and what to do.
 */
export function prepareDataDir(dataDir: string): string[] {
  const setting = `The data directory ${dataDir} (GATEHOUSE_DATA_DIR)`;
  let st: fs.Stats;
  try {
    st = fs.statSync(dataDir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR')
      throw new StartupRefusal(`${setting} cannot be created: a part of its path is a file, not a directory. Set GATEHOUSE_DATA_DIR to a directory path.`);
    if (code === 'EACCES')
      throw new StartupRefusal(
        `${setting} cannot be reached: permission denied on a directory above it. Let the user Gatehouse runs as (uid ${process.getuid?.()}) reach it, or set GATEHOUSE_DATA_DIR to a directory it owns.`,
      );
    if (code !== 'ENOENT')
      throw new StartupRefusal(`${setting} cannot be used (${code}). Set GATEHOUSE_DATA_DIR to a directory the user Gatehouse runs as owns.`);
    try {
      fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    } catch (e2) {
      const c = (e2 as NodeJS.ErrnoException).code;
      throw new StartupRefusal(
        `${setting} cannot be created (${c === 'EACCES' ? 'permission denied on its parent directory' : c}). Create it for the user Gatehouse runs as, or set GATEHOUSE_DATA_DIR to a directory it owns.`,
      );
    }
    return [];
  }
  if (!st.isDirectory())
    throw new StartupRefusal(`${setting} is a file, not a directory. Set GATEHOUSE_DATA_DIR to a directory (it is created if missing), or move the file away.`);
  try {
    fs.accessSync(dataDir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
    // Root passes access checks whatever the mode: listing it is the test that really fails.
    fs.readdirSync(dataDir);
  } catch (e) {
    throw new StartupRefusal(
      `${setting} cannot be read and written by this process (${(e as NodeJS.ErrnoException).code}, uid ${process.getuid?.()}). Make the user Gatehouse runs as its owner (chown -R), or set GATEHOUSE_DATA_DIR to a directory it owns.`,
    );
  }
  const tightened: string[] = [];
  const tighten = (file: string, want: number, name: string) => {
    let m: number;
    try {
      m = fs.statSync(file).mode;
    } catch {
      return;
    } // not there (yet)
    if ((m & 0o777 & ~want) === 0) return;
    try {
      fs.chmodSync(file, want);
      tightened.push(`${name} ${mode(m)} -> ${mode(want)}`);
    } catch (e) {
      tightened.push(
        `${name} is ${mode(m)} and could not be made ${mode(want)} (${(e as NodeJS.ErrnoException).code}): make the user Gatehouse runs as its owner`,
      );
    }
  };
  tighten(dataDir, 0o700, 'data directory');
  for (const f of DATA_FILES) tighten(path.join(dataDir, f), 0o600, f);
  return tightened;
}

/** Create files with no access for group and others while `during` runs (synchronous code only: the umask is process-wide). */
function privately<T>(during: () => T): T {
  const before = process.umask(0o077);
  try {
    return during();
  } finally {
    process.umask(before);
  }
}

/** SQLite's "not a database" / "malformed": a damaged or foreign file, said in one line. */
function damaged(e: unknown, file: string): StartupRefusal | undefined {
  const err = e as { errcode?: number; message?: string };
  if (err?.errcode === 26 || err?.errcode === 11 || /file is not a database|malformed/i.test(err?.message ?? '')) {
    return new StartupRefusal(
      `The database file ${file} is not a SQLite database or is damaged (${err.message}). Restore it from a backup (see docs/operations.md), or move it away to start with an empty instance.`,
    );
  }
  return undefined;
}

/**
 * One process per SQLite data dir: an exclusive lock on a side file, held for the process
 * lifetime. The operating system releases it when the process dies, even on kill -9.
 */
export function lockDataDir(dataDir: string): () => void {
  const lockFile = path.join(dataDir, 'gatehouse.lock');
  const pidFile = path.join(dataDir, 'gatehouse.pid');
  const lock = privately(() => new DatabaseSync(lockFile, { timeout: 0 }));
  try {
    privately(() =>
      lock.exec('PRAGMA locking_mode = EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); BEGIN EXCLUSIVE; INSERT INTO holder VALUES (0);'),
    );
  } catch (e) {
    lock.close();
    const bad = damaged(e, lockFile);
    if (bad)
      throw new StartupRefusal(
        `The lock file ${lockFile} is damaged (${(e as Error).message}). Make sure no Gatehouse process uses ${dataDir}, delete ${lockFile} and start again.`,
      );
    let pid = 'another process';
    try {
      pid = `process ${fs.readFileSync(pidFile, 'utf8').trim()}`;
    } catch {
      /* unknown holder */
    }
    throw new DataDirLockedError(
      `The data directory ${dataDir} is in use by ${pid}. Only one Gatehouse process may use an embedded (SQLite) data directory. ` +
        'Stop the other process, or use the running server (the gatehouse CLI talks to it through its admin API), ' +
        'or set DATABASE_URL to run several nodes on PostgreSQL.',
    );
  }
  fs.writeFileSync(pidFile, String(process.pid), { mode: 0o600 });
  return () => {
    try {
      lock.exec('ROLLBACK');
    } catch {
      /* already released */
    }
    lock.close();
  };
}

/** Applies `list` (the shipped migrations unless a test passes its own) in its declared order,
 *  refusing before anything runs a list whose order kysely's name sort would change. */
export async function migrate(db: Kysely<DB>, list = migrationList): Promise<void> {
  const ordered = inDeclaredOrder(list);
  const refusal = newerSchemaRefusal(await appliedMigrations(db), list, 'This database', await lastStartedBy(db));
  if (refusal) throw new StartupRefusal(refusal);
  const provider: MigrationProvider = { getMigrations: async () => ordered };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
  }
  // Which version last started on it: an older one that refuses it can then name the version.
  const version = gatehouseVersion();
  await db
    .insertInto('instance_settings')
    .values({ name: VERSION_SETTING, value: version, updated_at: Date.now() })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value: version, updated_at: Date.now() }))
    .execute();
}

/** The instance setting naming the Gatehouse version that last started on the database. */
export const VERSION_SETTING = 'gatehouse_version';

/** The version that last started on the database, when it recorded one. */
// biome-ignore lint/suspicious/noExplicitAny: reads tables of any schema version, before the typed schema applies
export async function lastStartedBy(db: Kysely<any>): Promise<string | undefined> {
  try {
    const r = await sql<{ value: string }>`select value from instance_settings where name = ${VERSION_SETTING}`.execute(db);
    return r.rows[0]?.value;
  } catch {
    return undefined; // a new database
  }
}

/** The migration names recorded in the database (kysely's table); none on a new database. */
// biome-ignore lint/suspicious/noExplicitAny: reads tables of any schema version, before the typed schema applies
export async function appliedMigrations(db: Kysely<any>): Promise<string[]> {
  try {
    const r = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    return r.rows.map((x) => x.name);
  } catch {
    return []; // no migration table yet: a new database
  }
}

/**
 * A database some newer Gatehouse migrated (it recorded a migration this build does not know)
 * is refused before anything runs: this build would read columns it does not understand, and
 * kysely's own error ("corrupted migrations") says nothing an operator can act on. The line
 * says which migration, which version this is, and the two ways out.
 */
export function newerSchemaRefusal(
  applied: string[],
  list: ReadonlyArray<{ name: string }> = migrationList,
  what = 'This database',
  lastVersion?: string,
): string | undefined {
  const known = new Set(list.map((m) => m.name));
  const unknown = applied.filter((n) => !known.has(n)).sort();
  if (!unknown.length) return undefined;
  const by = lastVersion && lastVersion !== gatehouseVersion() ? ` (Gatehouse ${lastVersion} last started on it)` : '';
  return (
    `${what} was upgraded by a newer Gatehouse${by}: it has migration${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} applied, ` +
    `which this Gatehouse ${gatehouseVersion()} does not know (its newest is ${list.at(-1)?.name ?? 'none'}). ` +
    'Gatehouse does not downgrade a database: run the newer Gatehouse version again, or restore the backup taken before the upgrade ' +
    '(`gatehouse restore --from FILE`, or pg_restore on PostgreSQL; see docs/operations.md). Nothing was changed.'
  );
}

export async function openDatabase(opts: { dataDir: string; databaseUrl?: string; lock?: boolean }): Promise<Database> {
  if (opts.databaseUrl) {
    // Loaded only when PostgreSQL is configured, to keep the embedded store's footprint small.
    const pg = (await import('pg')).default;
    // bigint columns hold epoch milliseconds, which fit in a JS number.
    pg.types.setTypeParser(20, (v) => Number(v));
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 10, connectionTimeoutMillis: 5000 });
    pool.on('error', () => {
      /* idle client errors surface on the next query */
    });
    // A connection the server ends (a restart) while it is checked out but between queries
    // emits 'error' on itself; without a listener that would end the process. Its next query
    // fails instead, and that is answered 503 (see shared/outage.ts).
    pool.on('connect', (client) => {
      client.on('error', () => {});
    });
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    await migrate(db);
    return {
      db,
      dialect: 'postgres',
      pg: { pool, newClient: () => new pg.Client({ connectionString: opts.databaseUrl, connectionTimeoutMillis: 5000 }) },
      ping: async () => {
        await pool.query('select 1');
      },
      close: () => db.destroy(),
    };
  }
  const tightened = prepareDataDir(opts.dataDir);
  const unlock = opts.lock === false ? () => {} : lockDataDir(opts.dataDir);
  let checkpointer: Checkpointer | undefined;
  const file = path.join(opts.dataDir, 'gatehouse.db');
  try {
    // SQLite gives the WAL and shared-memory files the database file's mode: a 0600 database
    // keeps them 0600 whenever they are made again.
    const raw = privately(() => openSqlite(file));
    // The checkpointer thread (an isolate of its own, ~10 MB) starts with the first commit:
    // until something is written there is nothing to checkpoint.
    let draining = false;
    const startCheckpointing = () => {
      if (checkpointer) return;
      const c = startCheckpointer(file, () => {
        // Without the worker the WAL would grow without bound: let commits checkpoint again.
        raw.exec('PRAGMA wal_autocheckpoint = 1000');
      });
      // A long log: hold writes for the moment the worker needs to catch up (see checkpointer.ts).
      c.onLong(() => {
        if (draining) return;
        draining = true;
        void driver
          .holdWrites(() => c.drain())
          .finally(() => {
            draining = false;
          });
      });
      checkpointer = c;
    };
    const driver = new GroupCommitDriver(raw, startCheckpointing);
    const db = new Kysely<DB>({ dialect: nodeSqliteDialect(driver) });
    await migrate(db);
    return {
      db,
      dialect: 'sqlite',
      tightened,
      holdWrites: (during) => driver.holdWrites(during),
      // Between write groups (VACUUM cannot run inside the group commit's transaction).
      compact: () =>
        driver.holdWrites(async () => {
          raw.exec('VACUUM');
          raw.exec('PRAGMA wal_checkpoint(TRUNCATE)');
        }),
      ping: async () => {
        raw.prepare('select 1').get();
      },
      close: async () => {
        await db.destroy();
        await checkpointer?.stop();
        unlock();
      },
    };
  } catch (e) {
    await checkpointer?.stop();
    unlock();
    throw damaged(e, file) ?? e;
  }
}
