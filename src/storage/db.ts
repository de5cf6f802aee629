// Opens the configured store: SQLite in the data dir (default) or PostgreSQL (DATABASE_URL),
// applies migrations, and for SQLite takes the data dir's exclusive process lock.
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Kysely, Migrator, PostgresDialect, type MigrationProvider } from 'kysely';
import type { DB } from './schema.ts';
import { migrations } from './migrations/index.ts';
import { GroupCommitDriver, nodeSqliteDialect, openSqlite } from './sqlite/dialect.ts';
import { startCheckpointer, type Checkpointer } from './sqlite/checkpointer.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<DB>;
  dialect: Dialect;
  /** PostgreSQL only: the pool, and a dedicated connection (for LISTEN and session locks). */
  pg?: { pool: import('pg').Pool; newClient(): import('pg').Client };
  /** SQLite only: hold new writes back while `during` runs (reads go on); see GroupCommitDriver. */
  holdWrites?(during: () => Promise<unknown>): Promise<void>;
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

/**
 * One process per SQLite data dir: an exclusive lock on a side file, held for the process
 * lifetime. The operating system releases it when the process dies, even on kill -9.
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = path.join(dataDir, 'gatehouse.lock');
  const pidFile = path.join(dataDir, 'gatehouse.pid');
  const lock = new DatabaseSync(lockFile, { timeout: 0 });
  try {
    lock.exec('PRAGMA locking_mode = EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); BEGIN EXCLUSIVE; INSERT INTO holder VALUES (0);');
  } catch {
    lock.close();
    let pid = 'another process';
    try { pid = `process ${fs.readFileSync(pidFile, 'utf8').trim()}`; } catch { /* unknown holder */ }
    throw new DataDirLockedError(
      `The data directory ${dataDir} is in use by ${pid}. Only one Gatehouse process may use an embedded (SQLite) data directory. ` +
      'Stop the other process, or use the running server (the gatehouse CLI talks to it through its admin API), ' +
      'or set DATABASE_URL to run several nodes on PostgreSQL.',
    );
  }
  fs.writeFileSync(pidFile, String(process.pid));
  return () => { try { lock.exec('ROLLBACK'); } catch { /* already released */ } lock.close(); };
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

export async function migrate(db: Kysely<DB>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
  }
}

export async function openDatabase(opts: { dataDir: string; databaseUrl?: string; lock?: boolean }): Promise<Database> {
  if (opts.databaseUrl) {
    // Loaded only when PostgreSQL is configured, to keep the embedded store's footprint small.
    const pg = (await import('pg')).default;
    // bigint columns hold epoch milliseconds, which fit in a JS number.
    pg.types.setTypeParser(20, (v) => Number(v));
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 10, connectionTimeoutMillis: 5000 });
    pool.on('error', () => { /* idle client errors surface on the next query */ });
    // A connection the server ends (a restart) while it is checked out but between queries
    // emits 'error' on itself; without a listener that would end the process. Its next query
    // fails instead, and that is answered 503 (see shared/outage.ts).
    pool.on('connect', (client) => { client.on('error', () => {}); });
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    await migrate(db);
    return {
      db,
      dialect: 'postgres',
      pg: { pool, newClient: () => new pg.Client({ connectionString: opts.databaseUrl, connectionTimeoutMillis: 5000 }) },
      ping: async () => { await pool.query('select 1'); },
      close: () => db.destroy(),
    };
  }
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const unlock = opts.lock === false ? () => {} : lockDataDir(opts.dataDir);
  let checkpointer: Checkpointer | undefined;
  try {
    const file = path.join(opts.dataDir, 'gatehouse.db');
    const raw = openSqlite(file);
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
        void driver.holdWrites(() => c.drain()).finally(() => { draining = false; });
      });
      checkpointer = c;
    };
    const driver = new GroupCommitDriver(raw, startCheckpointing);
    const db = new Kysely<DB>({ dialect: nodeSqliteDialect(driver) });
    await migrate(db);
    return {
      db,
      dialect: 'sqlite',
      holdWrites: (during) => driver.holdWrites(during),
      // Between write groups (VACUUM cannot run inside the group commit's transaction).
      compact: () => driver.holdWrites(async () => { raw.exec('VACUUM'); raw.exec('PRAGMA wal_checkpoint(TRUNCATE)'); }),
      ping: async () => { raw.prepare('select 1').get(); },
      close: async () => { await db.destroy(); await checkpointer?.stop(); unlock(); },
    };
  } catch (e) {
    await checkpointer?.stop();
    unlock();
    throw e;
  }
}
