// `gatehouse start`: read config -> build context -> listen; graceful shutdown.
import { loadConfig, ConfigError } from './config/index.ts';
import { startServer, type RunningServer } from './server.ts';
import { DataDirLockedError } from './storage/db.ts';
import { StartupRefusal } from './shared/errors.ts';
import { importFile } from './tenants/import.ts';
import { runPrimary, workerCount, workerIndex } from './ops/cluster.ts';
import { CONSOLE_DIST } from './admin/console.ts';
import fs from 'node:fs';
import path from 'node:path';

export async function main(args: { importFile?: string; workers?: number } = {}): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const index = workerIndex();
  if (index === undefined) {
    const { workers, notice } = workerCount(config, args.workers);
    if (notice) console.error(notice);
    if (workers > 1) {
      console.error(`Gatehouse is starting ${workers} worker processes on port ${config.port}.`);
      runPrimary(workers, { forwardHangup: !!config.tls });
      return;
    }
  }
  // Worker 0 (or the only process) sets up; the other workers start after it listens.
  const leading = index === undefined || index === 0;
  let running;
  try {
    running = await startServer(config, {
      beforeListen:
        args.importFile && leading
          ? async (services) => {
              const summary = await importFile(services, args.importFile!);
              services.logger.info({ import: summary }, `imported ${args.importFile}`);
            }
          : undefined,
    });
  } catch (e) {
    if (e instanceof DataDirLockedError || e instanceof ConfigError || e instanceof StartupRefusal) {
      console.error(e.message);
      process.exit(2);
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') {
      console.error(`Port ${config.port} is already in use. Stop what uses it or set PORT to another port.`);
      process.exit(2);
    }
    if (err.code === 'ECONNREFUSED') {
      console.error(`Cannot reach the database or Redis (${err.message}). Check DATABASE_URL / REDIS_URL and that the server is running.`);
      process.exit(2);
    }
    if (err.name === 'ImportError') {
      console.error(err.message);
      process.exit(2);
    }
    throw e;
  }
  const { services, boot } = running;
  if (!leading) {
    services.logger.info({ worker: index }, 'worker ready');
    handleSignals(services, running);
    return;
  }
  const issuer = `${config.publicUrl}/t/default`;
  const lines = [
    '',
    `Gatehouse is running at ${config.publicUrl} (listening on ${running.url}, store: ${services.database.dialect === 'sqlite' ? `SQLite in ${config.dataDir}` : 'PostgreSQL'}${services.redis ? ' + Redis' : ''})`,
    `  Issuer (default tenant):  ${issuer}`,
    `  Discovery:                ${issuer}/.well-known/openid-configuration`,
    `  Sign-in:                  users sign in at ${issuer}/auth when an application sends them there`,
    `  Admin console:            ${config.publicUrl}/console (each tenant's: ${config.publicUrl}/t/<slug>/console)${fs.existsSync(path.join(CONSOLE_DIST, 'index.html')) ? '' : ' — not built: run npm ci'}`,
  ];
  if (boot.setupUrl)
    lines.push(`  First administrator:      open this one-time link within 24 hours to create it:`, `                            ${boot.setupUrl}`);
  else if (boot.adminEmail) lines.push(`  Administrator:            ${boot.adminEmail} (from GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL)`);
  else lines.push('  Administrator:            already set up; sign in to the admin console or the admin API with your administrator account');
  if (index !== undefined)
    lines.push(`  Worker processes:         ${process.env.GATEHOUSE_WORKERS_TOTAL} (one per core by default; --workers or GATEHOUSE_WORKERS to change)`);
  lines.push(`  Admin API:                ${config.publicUrl}/api/v1 (CLI: GATEHOUSE_URL=${config.publicUrl} ./bin/gatehouse.js --help)`, '');
  process.stdout.write(lines.join('\n') + '\n');
  services.logger.info({ url: config.publicUrl, issuer }, 'ready');
  handleSignals(services, running);
}

function handleSignals(services: RunningServer['services'], running: RunningServer): void {
  // A terminal's Ctrl-C often arrives twice (from the terminal and again from a wrapper such
  // as npm or the gatehouse launcher): a repeat within a second is the same request; a later
  // one means "stop now".
  let firstSignalAt = 0;
  const shutdown = (signal: string) => {
    if (firstSignalAt) {
      if (Date.now() - firstSignalAt > 1000) {
        services.logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      return;
    }
    firstSignalAt = Date.now();
    services.logger.info({ signal }, 'shutting down: finishing in-flight requests');
    running.stop().then(
      () => process.exit(0),
      (err) => {
        services.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // SIGHUP re-reads GATEHOUSE_TLS_CERT/_KEY (a renewed certificate) without closing the
  // listener. Without TLS it keeps its default meaning (the terminal went away: stop).
  if (services.config.tls)
    process.on('SIGHUP', () => {
      running.reloadTls();
    });
}

if (import.meta.main) {
  // `node src/main.ts [--import FILE] [--workers N]` (what `npm start` runs); `gatehouse start` calls main() too.
  const { values } = (await import('node:util')).parseArgs({ options: { import: { type: 'string' }, workers: { type: 'string' } }, allowPositionals: false });
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) {
    console.error('--workers must be a whole number of 1 or more.');
    process.exit(2);
  }
  await main({ importFile: values.import, workers });
}
