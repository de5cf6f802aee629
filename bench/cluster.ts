// Scale-out benchmark: Gatehouse on PostgreSQL + Redis with 1 and then 2 worker processes
// (`gatehouse start --workers N`), the same client_credentials and refresh scenarios as the
// core benchmark (bench/load.ts), the scaling ratio, and what each token costs PostgreSQL
// (rows written and commits, from pg_stat_database). Writes its section of bench/RESULTS.md.
//
//   DATABASE_URL=postgres://... REDIS_URL=redis://... npx node bench/cluster.ts [--quick]
//
// It creates and drops its own database on that server and uses its own Redis key prefix.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Redis } from 'ioredis';
import { importDocument } from './settings.ts';
import type { PhaseResult, Scenario, Spec } from './load.ts';

const root = path.resolve(import.meta.dirname, '..');
const QUICK = process.argv.includes('--quick');
const dbServer = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
if (!dbServer || !redisUrl) {
  console.error('Set DATABASE_URL and REDIS_URL (the scale-out benchmark runs on PostgreSQL + Redis).');
  process.exit(2);
}

const SCENARIOS: Scenario[] = ['client_credentials', 'refresh_token'];
const PHASES = QUICK
  ? { warmupSeconds: 1, peakRounds: 1, peakSeconds: 2, halfSeconds: 1 }
  : { warmupSeconds: 2, peakRounds: 3, peakSeconds: 6, halfSeconds: 1 };
const CONCURRENCY = 64;
const log = (s: string) => process.stderr.write(s + '\n');

const name = `gh_bench_${crypto.randomBytes(4).toString('hex')}`;
const prefix = `ghbench:${crypto.randomBytes(4).toString('hex')}:`;
const admin = new pg.Client({ connectionString: dbServer });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const dbUrl = Object.assign(new URL(dbServer), { pathname: `/${name}` }).href;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cluster-bench-'));
const importPath = path.join(tmp, 'import.json');
fs.writeFileSync(importPath, JSON.stringify(importDocument()));

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as import('node:net').AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function start(workers: number, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', './src/boot/ts-cache.js', 'src/main.ts', '--workers', String(workers), '--import', importPath], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: dbUrl,
      REDIS_URL: redisUrl,
      GATEHOUSE_REDIS_PREFIX: prefix,
      GATEHOUSE_SECRET: 'bench-secret-'.padEnd(48, 'x'),
      PORT: String(port),
      HOST: '127.0.0.1',
      GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: 'warn',
      GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: 'bench.admin@example.test',
      GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: 'bench-admin-password-0123',
    },
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const deadline = Date.now() + 60_000;
  // With several workers, wait for each (the primary starts the others once the first listens).
  const children = () =>
    spawnSync('pgrep', ['-P', String(child.pid)])
      .stdout.toString()
      .trim()
      .split('\n')
      .filter(Boolean).length;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Gatehouse exited:\n${out}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok && (workers === 1 || children() === workers)) break;
    if (Date.now() > deadline) throw new Error(`not ready:\n${out}`);
    await sleep(100);
  }
  await sleep(1000); // let the last worker finish starting
  return child;
}

const stop = (c: ChildProcess) =>
  new Promise<void>((r) => {
    if (c.exitCode !== null) return r();
    c.once('exit', () => r());
    c.kill('SIGTERM');
  });

function runLoad(spec: Spec): Promise<{ peak: number; rounds: number[]; phases: PhaseResult[]; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bench/load.ts', JSON.stringify(spec)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (b) => {
      out += b;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (spec.warmupSeconds + spec.peakRounds * spec.peakSeconds + spec.halfSeconds + 90) * 1000);
    child.on('exit', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!));
      } catch {
        resolve({ peak: 0, rounds: [], phases: [], error: 'load generator failed' });
      }
    });
  });
}

interface DbStats {
  commits: number;
  written: number;
}
async function dbStats(): Promise<DbStats> {
  // Backends report their counters when idle or every second: give them the time.
  await sleep(1500);
  const { rows } = await admin.query('SELECT xact_commit, tup_inserted + tup_updated + tup_deleted AS written FROM pg_stat_database WHERE datname = $1', [
    name,
  ]);
  return { commits: Number(rows[0].xact_commit), written: Number(rows[0].written) };
}

/** CPU seconds used so far by Gatehouse's serving processes (the workers, or the single process). */
function serverCpuSeconds(server: ChildProcess, workers: number): number {
  const pids =
    workers === 1
      ? [String(server.pid)]
      : spawnSync('pgrep', ['-P', String(server.pid)])
          .stdout.toString()
          .trim()
          .split('\n')
          .filter(Boolean);
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime
    } catch {
      /* gone */
    }
  }
  return ticks / 100;
}

interface Row {
  workers: number;
  scenario: Scenario;
  peak: number;
  rounds: number[];
  tokens: number;
  rowsPerToken: number;
  commitsPerToken: number;
  tokensPerCpuSecond: number;
  cores: number;
}
const rows: Row[] = [];
const began = Date.now();
try {
  for (const workers of [1, 2]) {
    const port = await freePort();
    log(`\n== ${workers} worker${workers > 1 ? 's' : ''} ==`);
    const server = await start(workers, port);
    try {
      for (const scenario of SCENARIOS) {
        const before = await dbStats();
        const cpuBefore = serverCpuSeconds(server, workers);
        const t0 = Date.now();
        const r = await runLoad({ base: `http://127.0.0.1:${port}`, scenario, concurrency: CONCURRENCY, ...PHASES, halfRate: 10 });
        if (r.error) throw new Error(`${scenario}: ${r.error}`);
        const cpu = serverCpuSeconds(server, workers) - cpuBefore;
        const wall = (Date.now() - t0) / 1000;
        const after = await dbStats();
        const tokens = r.phases.reduce((n, p) => n + p.ok, 0);
        rows.push({
          workers,
          scenario,
          peak: r.peak,
          rounds: r.rounds,
          tokens,
          rowsPerToken: (after.written - before.written) / tokens,
          commitsPerToken: (after.commits - before.commits) / tokens,
          tokensPerCpuSecond: tokens / cpu,
          cores: cpu / wall,
        });
        log(`  ${scenario}: peak ${r.peak}/s`);
      }
    } finally {
      await stop(server);
    }
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  const redis = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
  fs.rmSync(tmp, { recursive: true, force: true });
}

const peak = (w: number, s: Scenario) => rows.find((r) => r.workers === w && r.scenario === s)!;
const label: Record<string, string> = { client_credentials: 'client_credentials tokens/s', refresh_token: 'refresh grants/s (rotating)' };
const L: string[] = [];
L.push('## Scale-out: PostgreSQL + Redis, 1 and 2 workers', '');
L.push(
  `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npx node bench/cluster.ts\`${QUICK ? ' --quick' : ''} in ${Math.round((Date.now() - began) / 1000)} s on the same machine (${os.availableParallelism()} cores), PostgreSQL and Redis local.`,
);
L.push(
  `\`gatehouse start --workers N\` (node:cluster, one port), a fresh database seeded with the same import; load from bench/load.ts with ${CONCURRENCY} virtual users; peak = median of ${PHASES.peakRounds} closed-loop round(s) of ${PHASES.peakSeconds} s. Nothing is pinned: the workers, the load generator, PostgreSQL and Redis share the machine's cores. Rows written and commits per token are PostgreSQL's own counters (pg_stat_database) over the whole scenario, divided by the tokens issued. Tokens per CPU-second divides the tokens issued by the CPU time Gatehouse's serving processes used (from /proc), and cores is that CPU time over the wall time: when 2 workers issue as many tokens per CPU-second as 1, they scale without contention, and the throughput ratio is then bounded by the cores they could get.`,
  '',
);
L.push(
  '| Scenario | 1 worker | 2 workers | Scaling (target ≥ 1.7×) | Tokens per CPU-second (1 / 2 workers) | Cores used (1 / 2 workers) | PostgreSQL rows written / token (1 / 2) | PostgreSQL commits / token (1 / 2) |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
);
for (const s of SCENARIOS) {
  const a = peak(1, s);
  const b = peak(2, s);
  const ratio = b.peak / a.peak;
  L.push(
    `| ${label[s]} | ${a.peak.toFixed(1)} | ${b.peak.toFixed(1)} | ${ratio.toFixed(2)}× ${ratio >= 1.7 ? '**pass**' : '**FAIL**'} | ${a.tokensPerCpuSecond.toFixed(0)} / ${b.tokensPerCpuSecond.toFixed(0)} | ${a.cores.toFixed(2)} / ${b.cores.toFixed(2)} | ${a.rowsPerToken.toFixed(2)} / ${b.rowsPerToken.toFixed(2)} | ${a.commitsPerToken.toFixed(2)} / ${b.commitsPerToken.toFixed(2)} |`,
  );
}
L.push('');
const md = L.join('\n');
process.stdout.write(md + '\n');
if (!QUICK) {
  const file = path.join(root, 'bench', 'RESULTS.md');
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const start = '<!-- scale-out: bench/cluster.ts -->';
  const end = '<!-- /scale-out -->';
  const section = `${start}\n${md}\n${end}`;
  const next = text.includes(start) ? text.replace(new RegExp(`${start}[\\s\\S]*?${end}`), section) : `${text.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(file, next);
  log('wrote the scale-out section of bench/RESULTS.md');
}
