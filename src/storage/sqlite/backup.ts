// `gatehouse backup` and `gatehouse restore` for the embedded store.
//
// A backup is one SQLite file written with VACUUM INTO from a connection of its own: the copy
// is made inside one read transaction, so it is the database as of one commit, and in WAL mode
// a reader never blocks the running server's writers (nor they it), so no stop is needed. The
// copy goes to a temporary name beside the target, created 0600 before SQLite writes to it, and
// is renamed into place only once it checks out: a failed backup leaves no half-file under the
// name an operator would restore from.
//
// A restore goes into an empty (or missing) data directory only, under the data directory's
// lock, so that no server can run on it meanwhile; before anything is written it checks the file
// is a Gatehouse database, that this build knows its schema, and that the instance secret it
// will run with opens the values sealed in it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Sealer, SECRET_FILE, secretCheckValue } from '../../shared/crypto.ts';
import { SEALED_COLUMNS } from '../sealed.ts';
import { DataDirLockedError, lockDataDir, newerSchemaRefusal } from '../db.ts';
import { migrationList } from '../migrations/index.ts';

export const DB_FILE = 'gatehouse.db';

/** Something the operator must fix first: the message says what and how (the CLI exits 2). */
export class BackupRefusal extends Error {}

export interface BackupSummary {
  file: string;
  bytes: number;
  /** The newest migration the database has (its schema version). */
  schema: string;
  tenants: number;
  users: number;
  apps: number;
}

const sizeOf = (f: string) => fs.statSync(f).size;

/** What a Gatehouse database holds, read from `db`; refuses a file that is not one. */
function inspect(db: DatabaseSync, what: string): { applied: string[]; tenants: number; users: number; apps: number } {
  let quick: string;
  try {
    quick = String((db.prepare('PRAGMA quick_check').get() as Record<string, unknown>)?.quick_check);
  } catch (e) {
    throw new BackupRefusal(`${what} is not a SQLite database or is damaged (${(e as Error).message}). Give the file \`gatehouse backup\` wrote.`);
  }
  if (quick !== 'ok') throw new BackupRefusal(`${what} is damaged (SQLite's check says: ${quick.slice(0, 200)}). Use another backup.`);
  const tables = new Set((db.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>).map((r) => r.name));
  for (const t of ['kysely_migration', 'instance_settings', 'tenants', 'users', 'apps']) {
    if (!tables.has(t))
      throw new BackupRefusal(`${what} is a SQLite database but not a Gatehouse database (it has no ${t} table). Give the file \`gatehouse backup\` wrote.`);
  }
  const count = (t: string) => Number((db.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n);
  return {
    applied: (db.prepare('select name from kysely_migration order by name').all() as Array<{ name: string }>).map((r) => r.name),
    tenants: count('tenants'),
    users: count('users'),
    apps: count('apps'),
  };
}

/** A consistent copy of `source` (open, any journal mode) at `target` (a new 0600 file), synced to disk. */
function copyInto(source: DatabaseSync, target: string): void {
  fs.closeSync(fs.openSync(target, 'wx', 0o600)); // VACUUM INTO writes into an empty file and keeps its mode
  source.prepare('VACUUM INTO ?').run(target);
  const fd = fs.openSync(target, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not every system syncs directories */
  }
}

const partialName = (target: string) => path.join(path.dirname(target), `.${path.basename(target)}.partial-${crypto.randomBytes(4).toString('hex')}`);

/** Copy the data dir's database to `to` while the server (if any) keeps running. */
export function backupSqlite(dataDir: string, to: string): BackupSummary {
  const file = path.join(dataDir, DB_FILE);
  if (!fs.existsSync(file)) {
    throw new BackupRefusal(
      `There is no Gatehouse database in ${dataDir} (GATEHOUSE_DATA_DIR): nothing to back up. Set GATEHOUSE_DATA_DIR to the data directory the server runs on.`,
    );
  }
  const target = path.resolve(to);
  if (fs.existsSync(target))
    throw new BackupRefusal(`${target} already exists: a backup never overwrites a file. Give a new file name, or move the old one away.`);
  if (!fs.existsSync(path.dirname(target)))
    throw new BackupRefusal(`The directory ${path.dirname(target)} does not exist. Create it, or give a file in an existing directory.`);
  const partial = partialName(target);
  let source: DatabaseSync | undefined;
  try {
    // Read-only: a backup can never change the instance it copies.
    source = new DatabaseSync(file, { readOnly: true, timeout: 10_000 });
    copyInto(source, partial);
    source.close();
    source = undefined;
    const copy = new DatabaseSync(partial, { readOnly: true });
    let facts;
    try {
      facts = inspect(copy, `The copy of ${file}`);
    } finally {
      copy.close();
    }
    fs.renameSync(partial, target);
    syncDir(path.dirname(target));
    return { file: target, bytes: sizeOf(target), schema: facts.applied.at(-1) ?? 'none', tenants: facts.tenants, users: facts.users, apps: facts.apps };
  } catch (e) {
    source?.close();
    fs.rmSync(partial, { force: true });
    if (e instanceof BackupRefusal) throw e;
    const err = e as NodeJS.ErrnoException & { errcode?: number };
    if (err.code === 'EACCES')
      throw new BackupRefusal(
        `Cannot write ${target} or read ${file} (permission denied). Run the backup as the user Gatehouse runs as, into a directory it can write.`,
      );
    if (err.code === 'ENOSPC' || err.errcode === 13)
      throw new BackupRefusal(`The disk holding ${target} is full: nothing was written. Free some space or back up to another disk.`);
    throw new BackupRefusal(`The backup of ${file} failed (${err.message}); nothing was written to ${target}.`);
  }
}

export interface RestoreOptions {
  from: string;
  dataDir: string;
  /** GATEHOUSE_SECRET (and GATEHOUSE_SECRET_PREVIOUS) the restored instance will run with. */
  secrets?: string[];
  /** A secret.key kept with the backup, copied into the data dir. */
  secretFile?: string;
}

export interface RestoreSummary extends Omit<BackupSummary, 'file'> {
  dataDir: string;
  /** Where the instance secret comes from once restored. */
  secret: 'env' | 'file';
  /** Migrations this build will apply at the next start (a backup from an older version). */
  pending: number;
}

const readKey = (f: string) => fs.readFileSync(f, 'utf8').trim();

/** Restore `from` into an empty or missing data dir on which no server runs. */
export function restoreSqlite(o: RestoreOptions): RestoreSummary {
  const from = path.resolve(o.from);
  const dataDir = path.resolve(o.dataDir);
  if (!fs.existsSync(from)) throw new BackupRefusal(`${from} does not exist. Give the file \`gatehouse backup --to FILE\` wrote.`);
  if (!fs.statSync(from).isFile()) throw new BackupRefusal(`${from} is not a file. Give the file \`gatehouse backup --to FILE\` wrote.`);

  // The data dir: missing, empty, or holding only the instance secret's key file.
  const dirSecret = path.join(dataDir, SECRET_FILE);
  let entries: string[] = [];
  if (fs.existsSync(dataDir)) {
    if (!fs.statSync(dataDir).isDirectory())
      throw new BackupRefusal(`${dataDir} (GATEHOUSE_DATA_DIR) is a file, not a directory. Restore into a new or empty directory.`);
    entries = fs.readdirSync(dataDir);
  }
  if (entries.includes('gatehouse.lock')) {
    // A server on it holds its lock: say so rather than only "not empty". (Probing takes the
    // lock for a moment and writes the pid file: its content is put back.)
    const pidFile = path.join(dataDir, 'gatehouse.pid');
    let pid: string | undefined;
    try {
      pid = fs.readFileSync(pidFile, 'utf8');
    } catch {
      /* none */
    }
    try {
      lockDataDir(dataDir)();
      if (pid !== undefined) fs.writeFileSync(pidFile, pid, { mode: 0o600 });
      else fs.rmSync(pidFile, { force: true });
    } catch (e) {
      if (e instanceof DataDirLockedError)
        throw new BackupRefusal(
          `A Gatehouse server is running on ${dataDir}: ${e.message.replace(/^The data directory \S+ is in use by /, 'it is in use by ')} Restore into a new, empty data directory (and start the server on it), never under a running server.`,
        );
      throw e;
    }
  }
  const others = entries.filter((f) => f !== SECRET_FILE);
  if (others.length) {
    throw new BackupRefusal(
      `${dataDir} (GATEHOUSE_DATA_DIR) is not empty (it holds ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''}): ` +
        'restore never overwrites an instance. Set GATEHOUSE_DATA_DIR to a new or empty directory, or move this one away first.',
    );
  }

  // The instance secret the restored instance will run with.
  let secrets: string[];
  let source: 'env' | 'file';
  if (o.secrets?.length) {
    if (o.secretFile) throw new BackupRefusal('Give the instance secret once: either GATEHOUSE_SECRET or --secret-file, not both.');
    secrets = o.secrets;
    source = 'env';
  } else if (o.secretFile) {
    if (!fs.existsSync(o.secretFile)) throw new BackupRefusal(`The secret file ${o.secretFile} does not exist. Give the secret.key kept with the backup.`);
    if (entries.includes(SECRET_FILE))
      throw new BackupRefusal(`${dirSecret} already exists: give the instance secret once (remove it, or leave out --secret-file).`);
    secrets = [readKey(o.secretFile)];
    source = 'file';
  } else if (entries.includes(SECRET_FILE)) {
    secrets = [readKey(dirSecret)];
    source = 'file';
  } else {
    throw new BackupRefusal(
      "The backup's signing keys and client secrets are sealed under the instance secret it was made with, and none was given. " +
        'Set GATEHOUSE_SECRET to that secret, or give --secret-file FILE (the secret.key kept with the backup), and run restore again. Nothing was changed.',
    );
  }
  if (!secrets[0]) throw new BackupRefusal('The instance secret given is empty. Give the secret the backed-up instance ran with.');

  // The backup itself.
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(from, { readOnly: true });
  } catch (e) {
    throw new BackupRefusal(`${from} cannot be opened as a SQLite database (${(e as Error).message}). Give the file \`gatehouse backup\` wrote.`);
  }
  try {
    const facts = inspect(db, from);
    const last = (db.prepare("select value from instance_settings where name = 'gatehouse_version'").get() as { value: string } | undefined)?.value;
    const newer = newerSchemaRefusal(facts.applied, migrationList, `The backup ${from}`, last);
    if (newer)
      throw new BackupRefusal(
        newer.replace(
          'Gatehouse does not downgrade a database: run the newer Gatehouse version again, or restore the backup taken before the upgrade',
          'Restore it with that newer Gatehouse version, or use a backup made by this version or an older one',
        ),
      );
    const check = (db.prepare("select value from instance_settings where name = 'secret_check'").get() as { value: string } | undefined)?.value;
    if (check && !secrets.some((s) => secretCheckValue(s) === check)) {
      throw new BackupRefusal(
        `The instance secret given (${source === 'env' ? 'GATEHOUSE_SECRET' : 'the secret file'}) is not the one this backup was made with, so its signing keys and client secrets could not be opened. ` +
          'Give the secret the backed-up instance ran with at the time of the backup (after a `gatehouse secret rotate`, the new one). Nothing was changed.',
      );
    }
    // Sealed values must open too (not only the check value match): one of each kind.
    const sealer = new Sealer(secrets[0], secrets.slice(1));
    for (const c of SEALED_COLUMNS) {
      const row = db.prepare(`select ${c.column} as v from ${c.table} where ${c.column} like 'v1.%' limit 1`).get() as { v: string } | undefined;
      if (row && !sealer.opens(row.v)) {
        throw new BackupRefusal(
          `A sealed value in the backup (${c.table}) does not open with the instance secret given: it is not the secret this backup was made with. Give that secret. Nothing was changed.`,
        );
      }
    }

    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    let unlock: () => void;
    try {
      unlock = lockDataDir(dataDir);
    } catch (e) {
      if (e instanceof DataDirLockedError)
        throw new BackupRefusal(`A Gatehouse server started on ${dataDir} meanwhile. Stop it and restore into a new, empty data directory.`);
      throw e;
    }
    const target = path.join(dataDir, DB_FILE);
    const partial = partialName(target);
    try {
      copyInto(db, partial);
      if (source === 'file' && o.secretFile) {
        const fd = fs.openSync(dirSecret, 'wx', 0o600);
        try {
          fs.writeSync(fd, secrets[0] + '\n');
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
      fs.renameSync(partial, target);
      syncDir(dataDir);
    } catch (e) {
      fs.rmSync(partial, { force: true });
      const err = e as NodeJS.ErrnoException & { errcode?: number };
      if (err.code === 'ENOSPC' || err.errcode === 13) throw new BackupRefusal(`The disk holding ${dataDir} is full. Free some space and run restore again.`);
      throw new BackupRefusal(`Restoring into ${dataDir} failed (${err.message}). Nothing was restored; fix that and run restore again.`);
    } finally {
      unlock();
    }
    const known = new Set(facts.applied);
    return {
      dataDir,
      bytes: sizeOf(target),
      schema: facts.applied.at(-1) ?? 'none',
      tenants: facts.tenants,
      users: facts.users,
      apps: facts.apps,
      secret: source,
      pending: migrationList.filter((m) => !known.has(m.name)).length,
    };
  } finally {
    db.close();
  }
}
