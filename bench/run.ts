// The benchmark: Gatehouse (embedded SQLite store) against a bare oidc-provider peer
// (bench/peer.ts) under the same load, one after the other, on this machine. Writes
// bench/RESULTS.md. See bench/README.md.
//
//   npm run bench                       full run (about 5 minutes)
//   node bench/run.ts --quick           short phases, to check the harness (numbers are rough)
//   node bench/run.ts --only=gatehouse  one server only (no ratio)
//   node bench/run.ts --scenarios=client_credentials,silent_sso
//   node bench/run.ts --profile         also start Gatehouse with --cpu-prof and summarize it
//                                       (profiling slows it: RESULTS.md is not written)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BENCH, importDocument } from './settings.ts';
import { rssMB, type PhaseResult, type Scenario, type Spec } from './load.ts';
import { summarizeProfile } from './profile-summary.ts';

const root = path.resolve(import.meta.dirname, '..');
const NODE = process.execPath;
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const opt = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const QUICK = flag('quick');
const PROFILE = flag('profile');
const ONLY = opt('only') as 'gatehouse' | 'peer' | undefined;
const ALL_SCENARIOS: Scenario[] = ['client_credentials', 'refresh_token', 'silent_sso', 'password_signin'];
const SCENARIOS = (opt('scenarios')?.split(',') ?? ALL_SCENARIOS) as Scenario[];
for (const s of SCENARIOS)
  if (!ALL_SCENARIOS.includes(s)) {
    console.error(`unknown scenario ${s}; use ${ALL_SCENARIOS.join(', ')}`);
    process.exit(2);
  }

if (Number(process.versions.node.split('.')[0]) < 24) {
  console.error(`Node ${process.versions.node}: the benchmark needs the project's Node 24 (npm run bench, or npx node bench/run.ts).`);
  process.exit(2);
}

// Load shape per scenario. The whole run stays around five minutes.
const PHASES = QUICK
  ? { warmupSeconds: 1, peakRounds: 1, peakSeconds: 2, halfSeconds: 2 }
  : { warmupSeconds: 2, peakRounds: 3, peakSeconds: 6, halfSeconds: 12 };
const CONCURRENCY: Record<Scenario, number> = { client_credentials: 32, refresh_token: 32, silent_sso: 32, password_signin: 16 };
/** Above this much CPU (in cores) used by other processes during a phase, the report warns. */
const OTHER_CPU_LIMIT = 0.15;
const READY_RUNS = QUICK ? 1 : 3;
const IDLE_SETTLE_MS = QUICK ? 1000 : 3000;

// Pinning: the server on core 1, the load generator on core 0 (a 2-core machine).
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && os.availableParallelism() >= 2;
const pin = (core: number) => (hasTaskset ? ['taskset', '-c', String(core)] : []);
const wrkPath = spawnSync('sh', ['-c', 'command -v wrk']).stdout?.toString().trim() || undefined;

// As `npm start` runs it (package.json).
const GATEHOUSE_ENTRY = '--no-allocation-site-pretenuring --import ./src/boot/ts-cache.js src/main.ts';
const log = (s: string) => process.stderr.write(s + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
const r1 = (n: number) => Math.round(n * 10) / 10;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

// ---- server processes ----
type Kind = 'gatehouse' | 'peer';
interface Server {
  kind: Kind;
  child: ChildProcess;
  pid: number;
  port: number;
  base: string;
  spawnedAt: number;
  output: string[];
  exited?: number | string;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
const dataDir = path.join(tmp, 'data');
const importPath = path.join(tmp, 'import.json');
fs.writeFileSync(importPath, JSON.stringify(importDocument(), null, 2));
const profileDir = path.join(tmp, 'profiles');

// Experiments only (e.g. BENCH_NODE_FLAGS=--trace-gc): extra flags for Gatehouse's node. The
// server's output is kept in the work dir's server-<kind>.log either way.
const extraNodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);

function spawnServer(kind: Kind, port: number, opts: { import?: boolean; profile?: boolean } = {}): Server {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1' };
  // The embedded store only: never a database or Redis from the caller's environment.
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'GATEHOUSE_SECRET', 'NODE_OPTIONS']) delete env[k];
  let cmd: string[];
  if (kind === 'gatehouse') {
    Object.assign(env, {
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: 'warn',
      GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: 'bench.admin@example.test',
      GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: 'bench-admin-password-0123',
    });
    cmd = [
      ...pin(1),
      NODE,
      ...extraNodeFlags,
      ...(opts.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
      ...GATEHOUSE_ENTRY.split(' '),
      ...(opts.import ? ['--import', importPath] : []),
    ];
  } else {
    cmd = [...pin(1), NODE, 'bench/peer.ts'];
  }
  const spawnedAt = performance.now();
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const s: Server = { kind, child, pid: child.pid!, port, base: `http://127.0.0.1:${port}`, spawnedAt, output: [] };
  const logFile = path.join(tmp, `server-${kind}.log`);
  const keep = (b: Buffer) => {
    fs.appendFileSync(logFile, b);
    s.output.push(b.toString());
    if (s.output.length > 200) s.output.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('exit', (code, signal) => {
    s.exited = code ?? signal ?? 'exited';
  });
  return s;
}

function getStatus(port: number, p: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
  });
}

/** Milliseconds from spawn to the first 200 from /readyz. */
async function waitReady(s: Server, timeoutMs = 60_000): Promise<number> {
  for (;;) {
    if (s.exited !== undefined) throw new Error(`${s.kind} exited (${s.exited}) before it was ready:\n${s.output.join('').slice(-3000)}`);
    if ((await getStatus(s.port, '/readyz')) === 200) return performance.now() - s.spawnedAt;
    if (performance.now() - s.spawnedAt > timeoutMs) throw new Error(`${s.kind} not ready after ${timeoutMs} ms:\n${s.output.join('').slice(-3000)}`);
    await sleep(5);
  }
}

async function stop(s: Server): Promise<void> {
  if (s.exited !== undefined) return;
  const exited = new Promise<void>((r) => s.child.once('exit', () => r()));
  s.child.kill('SIGTERM');
  const killed = await Promise.race([exited.then(() => false), sleep(15_000).then(() => true)]);
  if (killed) {
    s.child.kill('SIGKILL');
    await exited;
  }
}

async function startReady(kind: Kind, opts: { import?: boolean; profile?: boolean } = {}): Promise<{ s: Server; readyMs: number }> {
  const s = spawnServer(kind, await freePort(), opts);
  try {
    return { s, readyMs: await waitReady(s) };
  } catch (e) {
    await stop(s);
    throw e;
  }
}

// ---- load ----
interface LoadResult {
  scenario: Scenario;
  peak: number;
  rounds: number[];
  half?: PhaseResult;
  phases: PhaseResult[];
  error?: string;
}

function runLoad(spec: Spec): Promise<LoadResult> {
  return new Promise((resolve) => {
    const cmd = [...pin(0), NODE, 'bench/load.ts', JSON.stringify(spec)];
    const child = spawn(cmd[0]!, cmd.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (b) => {
      out += b;
    });
    child.stderr!.on('data', (b) => {
      err += b;
      process.stderr.write(b);
    });
    // Every load process is bounded in time; this is the backstop.
    const limit = (spec.warmupSeconds + spec.peakRounds * spec.peakSeconds + spec.halfSeconds + 90) * 1000;
    const timer = setTimeout(() => child.kill('SIGKILL'), limit);
    child.on('exit', (code) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!));
      } catch {
        resolve({
          scenario: spec.scenario,
          peak: 0,
          rounds: [],
          phases: [],
          error: `load generator failed (exit ${code}): ${err.trim().split('\n').slice(-6).join(' | ').slice(0, 600)}`,
        });
      }
    });
  });
}

/** A cross-check of the client_credentials peak with wrk (C, cheaper per request than Node). */
function wrkClientCredentials(base: string, seconds: number): Promise<{ rate: number; p50?: string; p99?: string; non2xx: number } | undefined> {
  if (!wrkPath) return Promise.resolve(undefined);
  const script = path.join(tmp, 'cc.lua');
  const auth = Buffer.from(`${encodeURIComponent(BENCH.service.clientId)}:${encodeURIComponent(BENCH.service.clientSecret)}`).toString('base64');
  fs.writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.body = "grant_type=client_credentials"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nwrk.headers["Authorization"] = "Basic ${auth}"\n`,
  );
  return new Promise((resolve) => {
    const cmd = [...pin(0), wrkPath, '-t1', '-c32', `-d${seconds}s`, '--latency', '-s', script, `${base}/t/default/token`];
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (b) => {
      out += b;
    });
    child.on('exit', () => {
      const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      if (!Number.isFinite(rate)) return resolve(undefined);
      resolve({
        rate: r1(rate),
        p50: /\s50%\s+(\S+)/.exec(out)?.[1],
        p99: /\s99%\s+(\S+)/.exec(out)?.[1],
        non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
      });
    });
  });
}

// ---- one server, start to finish ----
interface ServerResult {
  kind: Kind;
  firstStartMs?: number;
  readyMs: number[];
  idleRssMB?: number;
  loadedRssMaxMB?: number;
  loadedRssEndMB?: number;
  idleAfterLoadRssMB?: number;
  scenarios: LoadResult[];
  wrk?: Awaited<ReturnType<typeof wrkClientCredentials>>;
  error?: string;
  profile?: string;
}

async function benchServer(kind: Kind): Promise<ServerResult> {
  const res: ServerResult = { kind, readyMs: [], scenarios: [] };
  log(`\n== ${kind} ==`);
  if (kind === 'gatehouse') {
    // First start creates the data dir and applies the import (users, apps); not timed as "ready".
    const first = await startReady('gatehouse', { import: true });
    res.firstStartMs = Math.round(first.readyMs);
    log(`  first start (new data dir, --import): ready in ${res.firstStartMs} ms`);
    await stop(first.s);
  }
  for (let i = 0; i < READY_RUNS; i++) {
    const { s, readyMs } = await startReady(kind);
    res.readyMs.push(Math.round(readyMs));
    log(`  start ${i + 1}${kind === 'gatehouse' ? ' (existing data dir)' : ''}: ready in ${Math.round(readyMs)} ms`);
    await stop(s);
  }

  const { s } = await startReady(kind, { profile: PROFILE && kind === 'gatehouse' });
  try {
    await sleep(IDLE_SETTLE_MS);
    res.idleRssMB = rssMB(s.pid);
    log(`  idle RSS after start: ${res.idleRssMB} MB`);
    for (const scenario of SCENARIOS) {
      log(`  -- ${scenario}`);
      const r = await runLoad({ base: s.base, scenario, serverPid: s.pid, concurrency: CONCURRENCY[scenario], ...PHASES });
      res.scenarios.push(r);
      if (r.error) log(`  ${r.error}`);
      if (s.exited !== undefined) throw new Error(`${kind} exited (${s.exited}) during ${scenario}:\n${s.output.join('').slice(-3000)}`);
      if (scenario === 'client_credentials' && wrkPath) {
        res.wrk = await wrkClientCredentials(s.base, QUICK ? 2 : 5);
        log(`  wrk cross-check, client_credentials peak: ${res.wrk?.rate ?? '?'}/s`);
      }
    }
    const phases = res.scenarios.flatMap((r) => r.phases);
    res.loadedRssMaxMB = Math.max(0, ...phases.map((p) => p.serverRssMaxMB ?? 0)) || undefined;
    res.loadedRssEndMB = rssMB(s.pid);
    await sleep(IDLE_SETTLE_MS);
    res.idleAfterLoadRssMB = rssMB(s.pid);
    log(`  RSS: max under load ${res.loadedRssMaxMB} MB, at end of load ${res.loadedRssEndMB} MB, idle after load ${res.idleAfterLoadRssMB} MB`);
    const errs = s.output
      .join('')
      .split('\n')
      .filter((l) => /error/i.test(l))
      .slice(0, 5);
    if (errs.length) log(`  server logged errors, e.g.:\n    ${errs.join('\n    ').slice(0, 1500)}`);
  } finally {
    await stop(s);
  }
  if (PROFILE && kind === 'gatehouse') {
    const files = fs.existsSync(profileDir) ? fs.readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')) : [];
    if (files.length) {
      const file = path.join(profileDir, files.sort().at(-1)!);
      res.profile = summarizeProfile(file);
      log(`\n  CPU profile ${file}\n${res.profile}`);
    } else log('  no CPU profile was written');
  }
  return res;
}

// ---- report ----
function machine() {
  const cpu = /model name\s*:\s*(.+)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? os.cpus()[0]?.model ?? '?';
  const nproc = spawnSync('nproc').stdout?.toString().trim() || String(os.availableParallelism());
  const oidcVersion = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/oidc-provider/package.json'), 'utf8')).version;
  return { cpu, nproc, node: process.versions.node, kernel: os.release(), memGB: r1(os.totalmem() / 2 ** 30), oidcVersion };
}

const fmt = (n: number | undefined, d = 1) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(d));
const LABEL: Record<Scenario, string> = {
  client_credentials: 'client_credentials tokens/s',
  refresh_token: 'refresh grants/s (rotating)',
  silent_sso: 'silent SSO authorize redirects/s',
  password_signin: 'full password sign-ins/s',
};

function report(g: ServerResult | undefined, p: ServerResult | undefined, startedAt: Date, totalSeconds: number): string {
  const m = machine();
  const sc = (r: ServerResult | undefined, s: Scenario) => r?.scenarios.find((x) => x.scenario === s);
  const L: string[] = [];
  L.push('# Gatehouse benchmark results', '');
  L.push(
    `Measured ${startedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC by \`npm run bench\` (bench/run.ts) in ${Math.round(totalSeconds)} s. Regenerate with \`npm run bench\`; see bench/README.md for what is measured and how.`,
    '',
  );
  L.push('## Machine', '');
  L.push(`- CPU: ${m.cpu}, \`nproc\` = ${m.nproc}, ${m.memGB} GiB RAM, Linux ${m.kernel}`);
  L.push(`- Node ${m.node}, oidc-provider ${m.oidcVersion}`);
  L.push(
    `- Pinning: ${hasTaskset ? 'server on core 1, load generator on core 0 (`taskset`)' : '**none** (taskset unavailable or one core): server and load generator share the CPUs, numbers are pessimistic'}`,
    '',
  );
  L.push('## Settings', '');
  L.push(
    `- **Gatehouse**: \`node ${GATEHOUSE_ENTRY}\`, embedded SQLite store in a fresh data dir (seeded once with \`--import\`: one user, a confidential web app and a service app, \`deploy: [all]\`), \`LOG_LEVEL=warn\`, default tenant, issuer \`http://127.0.0.1:PORT/t/default\`.`,
  );
  L.push(
    "- **Peer**: `node bench/peer.ts`, bare oidc-provider with an in-memory store (a Map; see bench/README.md for why not the built-in LRU adapter), same clients, scopes, token TTLs, `rotateRefreshToken`, cookies, key types (RS256 2048 + ES256) and issuer path; a minimal identifier + password sign-in that verifies the password with argon2id using Gatehouse's parameters.",
  );
  L.push('- Same load for both, one server at a time: HTTP/1.1 keep-alive from a Node load generator (bench/load.ts).');
  L.push(
    `- Per scenario: warm-up ${PHASES.warmupSeconds} s; **peak** = median of ${PHASES.peakRounds} closed-loop round(s) of ${PHASES.peakSeconds} s with ${CONCURRENCY.client_credentials} virtual users (${CONCURRENCY.password_signin} for sign-ins); then **half of peak** offered at a fixed rate (open loop) for ${PHASES.halfSeconds} s, where p50/p99 are measured from each request's scheduled start.`,
  );
  L.push(
    '- client_credentials: `POST /token` with HTTP Basic. Refresh: `POST /token grant_type=refresh_token`, each request using the token the previous one returned (rotation), 64 chains. Silent SSO: `GET /auth?...&prompt=none` with a session cookie, success = redirect to the app with a code. Sign-in: fresh browser, `/auth` → identifier page → POST email → POST password → resume → redirect with a code (5 requests; latency is for the whole sign-in, the per-request figure is given separately).',
  );
  L.push('');
  L.push('## Results', '');
  const busyPhases = [g, p].flatMap((r) =>
    (r?.scenarios ?? []).flatMap((x) =>
      x.phases.filter((ph) => (ph.otherCpu ?? 0) > OTHER_CPU_LIMIT).map((ph) => `${r!.kind} ${x.scenario} ${ph.name} (${fmt(ph.otherCpu, 2)})`),
    ),
  );
  if (busyPhases.length)
    L.push(
      `**Warning: other processes used CPU during ${busyPhases.length} phase(s)** (more than ${OTHER_CPU_LIMIT} of a core: ${busyPhases.slice(0, 6).join(', ')}${busyPhases.length > 6 ? ', …' : ''}). Those numbers are pessimistic; run again on a quiet machine.`,
      '',
    );
  for (const r of [g, p]) if (r?.error) L.push(`**${r.kind} did not complete:** ${r.error.split('\n').slice(0, 4).join(' ').slice(0, 500)}`, '');
  L.push('| Scenario | Gatehouse peak | Peer peak | Gatehouse / peer | Gatehouse p50 / p99 at half peak | Peer p50 / p99 at half peak | Gatehouse errors |');
  L.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const s of SCENARIOS) {
    const a = sc(g, s);
    const b = sc(p, s);
    const ratio = a && b?.peak ? `${Math.round((100 * a.peak) / b.peak)} %` : '–';
    const lat = (r?: LoadResult) => (r?.half ? `${fmt(r.half.p50)} / ${fmt(r.half.p99)} ms` : r?.error ? 'failed' : '–');
    const errors = a ? a.phases.reduce((n, x) => n + x.errors, 0) : undefined;
    L.push(`| ${LABEL[s]} | ${fmt(a?.peak)} | ${fmt(b?.peak)} | ${ratio} | ${lat(a)} | ${lat(b)} | ${errors ?? '–'} |`);
  }
  const gs = sc(g, 'password_signin');
  const ps = sc(p, 'password_signin');
  if (gs?.half?.step || ps?.half?.step) {
    L.push(
      '',
      `Sign-in, per HTTP request at half peak (p50 / p99): Gatehouse ${fmt(gs?.half?.step?.p50)} / ${fmt(gs?.half?.step?.p99)} ms, peer ${fmt(ps?.half?.step?.p50)} / ${fmt(ps?.half?.step?.p99)} ms. By step (Gatehouse p50 / p99): ${Object.entries(
        gs?.half?.step?.byStep ?? {},
      )
        .map(([k, v]) => `${k} ${fmt(v.p50)} / ${fmt(v.p99)} ms`)
        .join('; ')}.`,
    );
  }
  if (g?.wrk || p?.wrk)
    L.push(
      '',
      `Cross-check of the client_credentials peak with \`wrk -t1 -c32\` (5 s): Gatehouse ${fmt(g?.wrk?.rate)}/s (p50 ${g?.wrk?.p50 ?? '–'}, p99 ${g?.wrk?.p99 ?? '–'}, non-2xx ${g?.wrk?.non2xx ?? '–'}), peer ${fmt(p?.wrk?.rate)}/s (p50 ${p?.wrk?.p50 ?? '–'}, p99 ${p?.wrk?.p99 ?? '–'}). It runs right after the client_credentials phases, when the peer holds every token issued so far in its heap (slower GC), so its peer figure is lower than the peak above.`,
    );
  L.push('');
  L.push(
    '| Process | Idle RSS after start | RSS under load (max / at end) | Idle RSS after load | Ready after start (median of runs) | First start, new data dir + import |',
  );
  L.push('|---|---:|---:|---:|---:|---:|');
  for (const r of [g, p]) {
    if (!r) continue;
    L.push(
      `| ${r.kind === 'gatehouse' ? 'Gatehouse' : 'Peer'} | ${fmt(r.idleRssMB)} MB | ${fmt(r.loadedRssMaxMB)} / ${fmt(r.loadedRssEndMB)} MB | ${fmt(r.idleAfterLoadRssMB)} MB | ${fmt(median(r.readyMs), 0)} ms (${r.readyMs.join(', ')}) | ${r.firstStartMs !== undefined ? `${r.firstStartMs} ms` : '–'} |`,
    );
  }
  L.push('');
  L.push('## Targets', '');
  L.push('| Target | Measured | Result |', '|---|---|---|');
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? '**pass**' : '**FAIL**');
  const gcc = sc(g, 'client_credentials');
  const pcc = sc(p, 'client_credentials');
  const ccRatio = gcc && pcc?.peak ? gcc.peak / pcc.peak : undefined;
  L.push(
    `| client_credentials ≥ 60 % of the bare engine | ${ccRatio !== undefined ? `${Math.round(ccRatio * 100)} % (${fmt(gcc!.peak)} vs ${fmt(pcc!.peak)} tokens/s)` : '–'} | ${verdict(ccRatio !== undefined ? ccRatio >= 0.6 : undefined)} |`,
  );
  for (const s of SCENARIOS) {
    const a = sc(g, s);
    const p99 = s === 'password_signin' ? a?.half?.step?.p99 : a?.half?.p99;
    const what = s === 'password_signin' ? 'per sign-in request' : 'per request';
    L.push(
      `| p99 < 20 ms at half of peak: ${LABEL[s].replace(/\/s.*$/, '').replace(/ tokens$/, '')} (${what}) | ${a?.half ? `${fmt(p99)} ms at ${fmt(a.half.offered)}/s` : '–'} | ${verdict(p99 !== undefined && a?.half ? p99 < 20 : undefined)} |`,
    );
  }
  L.push(`| idle RSS < 120 MB | ${fmt(g?.idleRssMB)} MB | ${verdict(g?.idleRssMB !== undefined ? g.idleRssMB < 120 : undefined)} |`);
  const ready = g ? median(g.readyMs) : undefined;
  L.push(
    `| ready within 1.5 s on an existing data dir | ${fmt(ready, 0)} ms (median) | ${verdict(ready !== undefined && Number.isFinite(ready) ? ready <= 1500 : undefined)} |`,
  );
  L.push('');
  L.push('## All phases', '');
  L.push(
    "Closed-loop phases report latency per iteration at saturation; `server CPU` is the server process's CPU time over wall time (1.0 = its core is busy), `loader CPU` the same for the load generator, `other CPU` what everything else on the machine used (in cores; a few hundredths is kernel networking).",
    '',
  );
  L.push(
    '| Server | Scenario | Phase | Offered/s | Achieved/s | OK | Errors | p50 ms | p90 ms | p99 ms | max ms | server CPU | loader CPU | other CPU | RSS max MB |',
  );
  L.push('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of [g, p]) {
    if (!r) continue;
    for (const x of r.scenarios) {
      if (x.error) L.push(`| ${r.kind} | ${x.scenario} | failed: ${x.error.replace(/\|/g, '/')} |||||||||||`);
      for (const ph of x.phases) {
        L.push(
          `| ${r.kind} | ${x.scenario} | ${ph.name} | ${fmt(ph.offered)} | ${fmt(ph.rate)} | ${ph.ok} | ${ph.errors} | ${fmt(ph.p50, 2)} | ${fmt(ph.p90, 2)} | ${fmt(ph.p99, 2)} | ${fmt(ph.max, 1)} | ${fmt(ph.serverCpu, 2)} | ${fmt(ph.loaderCpu, 2)} | ${fmt(ph.otherCpu, 2)} | ${fmt(ph.serverRssMaxMB)} |`,
        );
      }
    }
  }
  const errorLines = [g, p].flatMap((r) =>
    (r?.scenarios ?? []).flatMap((x) =>
      x.phases.flatMap((ph) => Object.entries(ph.errorSamples).map(([k, n]) => `- ${r!.kind} ${x.scenario} ${ph.name}: ${n} × ${k}`)),
    ),
  );
  if (errorLines.length) L.push('', '### Errors', '', ...errorLines.slice(0, 30));
  L.push('');
  return L.join('\n');
}

// ---- main ----
const startedAt = new Date();
const t0 = performance.now();
log(`Gatehouse benchmark: ${SCENARIOS.join(', ')}${QUICK ? ' (quick)' : ''}; work dir ${tmp}; Gatehouse started with node ${GATEHOUSE_ENTRY}`);
if (!hasTaskset) log('warning: taskset unavailable or one core: server and load generator are not pinned');
let g: ServerResult | undefined;
let p: ServerResult | undefined;
try {
  if (ONLY !== 'peer') {
    try {
      g = await benchServer('gatehouse');
    } catch (e) {
      g = { kind: 'gatehouse', readyMs: [], scenarios: [], error: String((e as Error).message ?? e) };
      log(`gatehouse failed: ${g.error}`);
    }
  }
  if (ONLY !== 'gatehouse') {
    try {
      p = await benchServer('peer');
    } catch (e) {
      p = { kind: 'peer', readyMs: [], scenarios: [], error: String((e as Error).message ?? e) };
      log(`peer failed: ${p.error}`);
    }
  }
} finally {
  const total = (performance.now() - t0) / 1000;
  const md = report(g, p, startedAt, total);
  if (PROFILE || QUICK || ONLY) {
    const out = path.join(tmp, 'RESULTS.md');
    fs.writeFileSync(out, md);
    log(`\n${md}\n(not written to bench/RESULTS.md: ${PROFILE ? '--profile' : QUICK ? '--quick' : '--only'} run; saved to ${out})`);
  } else {
    // Keep the scale-out section, which bench/cluster.ts writes.
    const file = path.join(root, 'bench/RESULTS.md');
    const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    const scaleOut = /<!-- scale-out: bench\/cluster\.ts -->[\s\S]*?<!-- \/scale-out -->/.exec(old)?.[0];
    fs.writeFileSync(file, scaleOut ? `${md.trimEnd()}\n\n${scaleOut}\n` : md);
    log(`\nwrote bench/RESULTS.md (${Math.round(total)} s)`);
  }
  if (!PROFILE && extraNodeFlags.length === 0) fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(g?.error || p?.error ? 1 : 0);
