// `gatehouse start --workers N`: one primary process that only supervises, and N worker
// processes that each run a whole Gatehouse server on the same port (node:cluster hands
// connections to them in turn). Workers share nothing in memory: everything they share is in
// PostgreSQL and Redis, exactly as separate nodes behind a load balancer do.
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import type { Config } from '../config/index.ts';

export const WORKERS_NEED_SHARED_STORE =
  'Gatehouse runs one process on the embedded SQLite store: a SQLite data directory belongs to one process. ' +
  'To use several workers (or nodes), set DATABASE_URL (and REDIS_URL). Continuing with one process.';

/** How many processes to run, and why not more when the store cannot share. */
export function workerCount(config: Config, asked: number | undefined): { workers: number; notice?: string } {
  const wanted = asked ?? config.workers ?? (config.databaseUrl ? os.availableParallelism() : 1);
  if (wanted > 1 && !config.databaseUrl) return { workers: 1, notice: WORKERS_NEED_SHARED_STORE };
  return { workers: wanted };
}

/** The worker's number (0 is the first, which sets up the store and prints the banner); undefined outside a cluster. */
export const workerIndex = (): number | undefined => (cluster.isWorker ? Number(process.env.GATEHOUSE_WORKER_INDEX ?? 0) : undefined);

/**
 * Runs in the primary: starts worker 0 first (it migrates the store, creates the default
 * tenant and applies --import), the others once it listens; restarts a worker that dies,
 * with a growing pause if it keeps dying; on SIGINT/SIGTERM stops them all gracefully.
 */
export function runPrimary(workers: number, opts: { forwardHangup?: boolean } = {}): void {
  const byIndex = new Map<number, Worker>();
  const restarts = new Map<number, number>();
  let stopping = false;
  let started = false;

  // /metrics on any worker shows the sum over all workers (prom-client's cluster aggregation).
  const aggregator = import('prom-client').then((m) => new m.default.AggregatorRegistry());
  const fork = (index: number): Worker => {
    const w = cluster.fork({ GATEHOUSE_WORKER_INDEX: String(index), GATEHOUSE_WORKERS_TOTAL: String(workers) });
    byIndex.set(index, w);
    w.on('message', (m: { type?: string; id?: string }) => {
      if (m?.type !== 'gatehouse:metrics-req') return;
      void aggregator
        .then((a) => a.clusterMetrics())
        .then(
          (text) => {
            if (!w.isDead()) w.send({ type: 'gatehouse:metrics-res', id: m.id, text });
          },
          () => {
            /* the worker falls back to its own metrics */
          },
        );
    });
    w.once('listening', () => {
      // Running for a minute resets its restart pause.
      setTimeout(() => {
        if (byIndex.get(index) === w) restarts.delete(index);
      }, 60_000).unref();
    });
    return w;
  };

  cluster.on('exit', (w, code, signal) => {
    const index = [...byIndex].find(([, x]) => x === w)?.[0];
    if (index === undefined || stopping) return;
    byIndex.delete(index);
    if (index === 0 && !started) {
      // The first worker could not start (bad settings, store unreachable): it said why.
      process.exit(code ?? 1);
    }
    const n = (restarts.get(index) ?? 0) + 1;
    restarts.set(index, n);
    const pause = Math.min(30_000, 500 * 2 ** (n - 1));
    console.error(`Gatehouse worker ${index} (pid ${w.process.pid}) stopped (${signal ?? `exit code ${code}`}); restarting it in ${pause / 1000} s.`);
    setTimeout(() => {
      if (!stopping) fork(index);
    }, pause);
  });

  const first = fork(0);
  first.once('listening', () => {
    started = true;
    for (let i = 1; i < workers; i++) fork(i);
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const w of byIndex.values()) if (!w.isDead()) w.process.kill(signal === 'SIGINT' ? 'SIGTERM' : signal);
    const left = () => [...byIndex.values()].filter((w) => !w.isDead()).length;
    const check = setInterval(() => {
      if (left() === 0) {
        clearInterval(check);
        process.exit(0);
      }
    }, 50);
    // Workers finish in-flight requests within 10 s; past that, stop them.
    setTimeout(() => {
      for (const w of byIndex.values()) if (!w.isDead()) w.process.kill('SIGKILL');
    }, 15_000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // With GATEHOUSE_TLS_CERT: each worker holds its own TLS context, so each reloads the files.
  if (opts.forwardHangup)
    process.on('SIGHUP', () => {
      for (const w of byIndex.values()) if (!w.isDead()) w.process.kill('SIGHUP');
    });
}
