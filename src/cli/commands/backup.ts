// `gatehouse backup` and `gatehouse restore`: unlike the admin commands they work on the data
// directory itself (GATEHOUSE_DATA_DIR, on this machine), as `start` does: a backup is taken
// beside the running server without stopping it, a restore makes a new data directory for a
// server to start on. PostgreSQL has its own tools (pg_dump / pg_restore): these say so.
import { opt, need, type Command } from '../args.ts';
import { SetupError } from '../client.ts';
import { loadConfig, ConfigError, type Config } from '../../config/index.ts';
import { StartupRefusal } from '../../shared/errors.ts';
import { plural } from '../output.ts';

const PG_BACKUP =
  'The store is PostgreSQL (DATABASE_URL is set): back it up with pg_dump, e.g. `pg_dump --format=custom --file=gatehouse.dump "$DATABASE_URL"`, ' +
  'and keep GATEHOUSE_SECRET with it. See "Backup and restore" in docs/operations.md. Nothing was done.';
const PG_RESTORE =
  'The store is PostgreSQL (DATABASE_URL is set): restore with pg_restore into a new, empty database, e.g. ' +
  '`createdb gatehouse_restored && pg_restore --no-owner --dbname=gatehouse_restored gatehouse.dump`, then start Gatehouse on it with the same GATEHOUSE_SECRET. ' +
  'See "Backup and restore" in docs/operations.md. Nothing was done.';

function config(pgMessage: string): Config {
  // PostgreSQL first: its answer does not depend on the other settings being complete.
  if (process.env.DATABASE_URL) throw new SetupError(pgMessage);
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) throw new SetupError(e.message);
    throw e;
  }
}

/** Refusals of the store layer become one line on stderr and exit code 2. */
async function refusing<T>(run: () => Promise<T>): Promise<T> {
  const { BackupRefusal } = await import('../../storage/sqlite/backup.ts');
  try {
    return await run();
  } catch (e) {
    if (e instanceof BackupRefusal || e instanceof StartupRefusal) throw new SetupError(e.message);
    throw e;
  }
}

const kb = (n: number) => (n < 1024 * 1024 ? `${Math.ceil(n / 1024)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`);

export const backupCommands: Record<string, Command> = {
  backup: {
    usage: 'gatehouse backup --to FILE [--json]',
    summary:
      'Copy the embedded store (GATEHOUSE_DATA_DIR) to a new file (mode 0600) while the server runs; keep the instance secret with it. PostgreSQL: use pg_dump (see docs/operations.md).',
    options: { to: { type: 'string' } },
    async run(o, _a, out) {
      const to = need(o, 'to');
      const c = config(PG_BACKUP);
      const { backupSqlite } = await import('../../storage/sqlite/backup.ts');
      const r = await refusing(async () => backupSqlite(c.dataDir, to));
      const secret = c.secret ? 'the instance secret it runs with (GATEHOUSE_SECRET)' : `the instance secret file ${c.dataDir}/secret.key`;
      const keep =
        `Keep ${secret} with this backup, stored apart from it and as safely: the signing keys and client secrets in the backup are sealed under it, and a restore needs it. ` +
        'After `gatehouse secret rotate`, back up again with the new secret.';
      out.print(
        [
          `Backed up ${c.dataDir} to ${r.file} (${kb(r.bytes)}, mode 0600): ${plural(r.tenants, 'tenant')}, ${plural(r.users, 'user')}, ${plural(r.apps, 'app')}, schema ${r.schema}.`,
          keep,
        ].join('\n'),
        { ...r, secret: c.secret ? 'GATEHOUSE_SECRET' : `${c.dataDir}/secret.key`, note: keep },
      );
    },
  },
  restore: {
    usage: 'gatehouse restore --from FILE [--secret-file FILE] [--json]',
    summary:
      'Restore a backup into an empty or missing data directory (GATEHOUSE_DATA_DIR) on which no server runs, after checking its schema and that the instance secret (GATEHOUSE_SECRET, --secret-file, or secret.key already in the directory) opens it.',
    options: { from: { type: 'string' }, 'secret-file': { type: 'string' } },
    async run(o, _a, out) {
      const from = need(o, 'from');
      const c = config(PG_RESTORE);
      const { restoreSqlite } = await import('../../storage/sqlite/backup.ts');
      const r = await refusing(async () =>
        restoreSqlite({
          from,
          dataDir: c.dataDir,
          secretFile: opt(o, 'secret-file'),
          secrets: c.secret ? [c.secret, ...(c.secretPrevious ? [c.secretPrevious] : [])] : undefined,
        }),
      );
      out.print(
        [
          `Restored ${from} into ${r.dataDir}: ${plural(r.tenants, 'tenant')}, ${plural(r.users, 'user')}, ${plural(r.apps, 'app')}, schema ${r.schema}; the instance secret opens it.`,
          r.pending ? `The next start applies ${plural(r.pending, 'migration')} this version adds (the backup was made by an older Gatehouse).` : '',
          `Start Gatehouse on it: GATEHOUSE_DATA_DIR=${r.dataDir}${r.secret === 'env' ? ' with the same GATEHOUSE_SECRET' : ' (its secret.key is in place)'} gatehouse start`,
        ]
          .filter(Boolean)
          .join('\n'),
        r,
      );
    },
  },
};
