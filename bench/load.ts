// The load generator: one process per server and scenario, pinned to its own core by
// bench/run.ts. It seeds what the scenario needs (sessions, refresh-token chains), warms up,
// finds peak throughput (closed loop: N virtual users back to back, a few rounds, median),
// then offers half of that peak at a fixed rate (open loop) and measures latency there.
// Latency in the open loop is measured from each request's scheduled start, so a stalled
// server cannot hide its queueing (no coordinated omission).
//
//   node bench/load.ts '<json spec>'   -> one JSON result on stdout, progress on stderr
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Client, Jar, firstForm, pathOf, type Res } from './http.ts';
import { BENCH } from './settings.ts';

export type Scenario = 'client_credentials' | 'refresh_token' | 'silent_sso' | 'password_signin';

export interface Spec {
  base: string; // http://127.0.0.1:port
  scenario: Scenario;
  serverPid?: number;
  concurrency: number; // closed-loop virtual users for warm-up and peak
  warmupSeconds: number;
  peakRounds: number;
  peakSeconds: number;
  halfSeconds: number;
  halfRate?: number; // default: half of the measured peak
  maxInFlight?: number; // open loop
}

export interface PhaseResult {
  name: string;
  mode: 'closed' | 'open';
  seconds: number;
  offered?: number;
  ok: number;
  errors: number;
  rate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** password_signin only: latency of each HTTP request within the sign-ins. */
  step?: { count: number; p50: number; p99: number; max: number; byStep: Record<string, { p50: number; p99: number }> };
  serverCpu?: number;
  loaderCpu: number;
  /** CPU used on the machine by anything but the server and this load generator (cores; kernel networking shows up here a little). */
  otherCpu?: number;
  stealCpu?: number;
  serverRssMaxMB?: number;
  serverRssEndMB?: number;
  errorSamples: Record<string, number>;
}

const PREFIX = '/t/default';
const basic = (id: string, secret: string) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
const WEB_AUTH = basic(BENCH.web.clientId, BENCH.web.clientSecret);
const SERVICE_AUTH = basic(BENCH.service.clientId, BENCH.service.clientSecret);
const FORM = 'application/x-www-form-urlencoded';
const authorizePath = (extra = '') =>
  `${PREFIX}/auth?` +
  new URLSearchParams({
    client_id: BENCH.web.clientId,
    response_type: 'code',
    scope: BENCH.scope,
    redirect_uri: BENCH.redirectUri,
    state: 'bench-state',
  }).toString() +
  extra;

class Stats {
  lat: number[] = [];
  errors = 0;
  samples: Record<string, number> = {};
  ok(ms: number) {
    this.lat.push(ms);
  }
  err(e: unknown) {
    this.errors++;
    const k = String((e as Error)?.message ?? e).slice(0, 160);
    this.samples[k] = (this.samples[k] ?? 0) + 1;
  }
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const r2 = (n: number) => Math.round(n * 100) / 100;

// ---- server process readings (/proc) ----
const CLK_TCK = 100;
function cpuTicks(pid: number): number | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
  } catch {
    return undefined;
  }
}
/** Busy and steal ticks of the whole machine (all CPUs), from /proc/stat. */
function machineTicks(): { busy: number; steal: number } | undefined {
  try {
    const f = /^cpu\s+(.+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))![1]!.split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal
    return { busy: f[0]! + f[1]! + f[2]! + f[5]! + f[6]!, steal: f[7] ?? 0 };
  } catch {
    return undefined;
  }
}
export function rssMB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? r2(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

// ---- the protocol steps ----
export class Flows {
  c: Client;
  stepStats?: Map<string, number[]>;
  constructor(c: Client) {
    this.c = c;
  }

  async #step(name: string, p: Promise<Res>): Promise<Res> {
    if (!this.stepStats) return p;
    const t0 = performance.now();
    const r = await p;
    const ms = performance.now() - t0;
    let a = this.stepStats.get(name);
    if (!a) this.stepStats.set(name, (a = []));
    a.push(ms);
    return r;
  }

  async clientCredentials(): Promise<void> {
    const r = await this.c.request('POST', `${PREFIX}/token`, { authorization: SERVICE_AUTH, 'content-type': FORM }, 'grant_type=client_credentials');
    if (r.status !== 200) throw new Error(`client_credentials: HTTP ${r.status}`);
  }

  /** Full identifier-first password sign-in from a fresh browser; returns the code. */
  async signIn(jar: Jar): Promise<string> {
    let r = await this.#step('authorize', this.c.request('GET', authorizePath(), { cookie: jar.header() }));
    jar.store(r.setCookie);
    if (r.status < 300 || r.status >= 400 || !r.location) throw new Error(`authorize: HTTP ${r.status}`);
    if (r.location.startsWith(BENCH.redirectUri)) return codeOf(r.location);
    let path = pathOf(r.location);
    r = await this.#step('identifier page', this.c.request('GET', path, { cookie: jar.header() }, undefined, true));
    jar.store(r.setCookie);
    if (r.status !== 200) throw new Error(`identifier page: HTTP ${r.status}`);
    let f = firstForm(r.body, path);
    path = f.action;
    r = await this.#step(
      'POST email',
      this.c.request(
        'POST',
        path,
        { cookie: jar.header(), 'content-type': FORM },
        new URLSearchParams({ ...f.fields, email: BENCH.user.email }).toString(),
        true,
      ),
    );
    jar.store(r.setCookie);
    if (r.status !== 200) throw new Error(`POST email: HTTP ${r.status}`);
    f = firstForm(r.body, path);
    r = await this.#step(
      'POST password',
      this.c.request(
        'POST',
        f.action,
        { cookie: jar.header(), 'content-type': FORM },
        new URLSearchParams({ ...f.fields, email: BENCH.user.email, password: BENCH.user.password }).toString(),
        true,
      ),
    );
    jar.store(r.setCookie);
    for (let i = 0; i < 5; i++) {
      if (r.status < 300 || r.status >= 400 || !r.location)
        throw new Error(
          `sign-in step: HTTP ${r.status} ${r.body
            .replace(/<[^>]+>/g, ' ')
            .replace(/\s+/g, ' ')
            .slice(0, 120)}`,
        );
      if (r.location.startsWith(BENCH.redirectUri)) return codeOf(r.location);
      r = await this.#step('resume', this.c.request('GET', pathOf(r.location), { cookie: jar.header() }));
      jar.store(r.setCookie);
    }
    throw new Error('sign-in: too many redirects');
  }

  /** Silent SSO: the browser has a session; /auth answers with a redirect carrying a code. */
  async silentAuthorize(jar: Jar): Promise<string> {
    const r = await this.c.request('GET', authorizePath('&prompt=none'), { cookie: jar.header() });
    jar.store(r.setCookie);
    if (r.status < 300 || r.status >= 400 || !r.location) throw new Error(`silent authorize: HTTP ${r.status}`);
    if (!r.location.startsWith(BENCH.redirectUri)) throw new Error(`silent authorize: redirected to ${r.location.slice(0, 80)} instead of the app`);
    return codeOf(r.location);
  }

  async exchangeCode(code: string): Promise<string> {
    const r = await this.c.request(
      'POST',
      `${PREFIX}/token`,
      { authorization: WEB_AUTH, 'content-type': FORM },
      new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: BENCH.redirectUri }).toString(),
      true,
    );
    if (r.status !== 200) throw new Error(`code exchange: HTTP ${r.status} ${r.body.slice(0, 160)}`);
    const rt = JSON.parse(r.body).refresh_token;
    if (!rt) throw new Error('code exchange: no refresh_token');
    return rt;
  }

  async refresh(rt: string): Promise<string> {
    const r = await this.c.request(
      'POST',
      `${PREFIX}/token`,
      { authorization: WEB_AUTH, 'content-type': FORM },
      `grant_type=refresh_token&refresh_token=${encodeURIComponent(rt)}`,
      true,
    );
    if (r.status !== 200) throw new Error(`refresh_token: HTTP ${r.status} ${r.body.slice(0, 160)}`);
    const next = JSON.parse(r.body).refresh_token;
    if (!next) throw new Error('refresh_token: no rotated refresh_token');
    return next;
  }
}

function codeOf(location: string): string {
  const u = new URL(location);
  const code = u.searchParams.get('code');
  if (!code) throw new Error(`redirected to the app without a code: ${u.searchParams.get('error') ?? ''} ${u.searchParams.get('error_description') ?? ''}`);
  return code;
}

// ---- load shapes ----
async function closedLoop(concurrency: number, seconds: number, iter: (vu: number) => Promise<void>, stats: Stats): Promise<number> {
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, vu) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await iter(vu);
          stats.ok(performance.now() - t0);
        } catch (e) {
          stats.err(e);
        }
      }
    }),
  );
  return (performance.now() - start) / 1000;
}

async function openLoop(rate: number, seconds: number, maxInFlight: number, iter: (slot: number) => Promise<void>, stats: Stats): Promise<number> {
  const start = performance.now();
  const n = Math.max(1, Math.floor(rate * seconds));
  const interval = 1000 / rate;
  const free = Array.from({ length: maxInFlight }, (_, i) => maxInFlight - 1 - i);
  let i = 0;
  let inflight = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (i < n && start + i * interval <= now && free.length) {
        const scheduled = start + i * interval;
        i++;
        inflight++;
        const slot = free.pop()!;
        iter(slot)
          .then(
            () => stats.ok(performance.now() - scheduled),
            (e) => stats.err(e),
          )
          .finally(() => {
            inflight--;
            free.push(slot);
            if (i >= n && inflight === 0) resolve();
          });
      }
      if (i < n) setTimeout(tick, Math.max(0, Math.min(1, start + i * interval - performance.now())));
    };
    tick();
  });
  return (performance.now() - start) / 1000;
}

async function main() {
  const spec = JSON.parse(process.argv[2]!) as Spec;
  const log = (s: string) => process.stderr.write(`    [${spec.scenario}] ${s}\n`);
  const maxInFlight = spec.maxInFlight ?? Math.max(64, spec.concurrency * 2);
  const c = new Client(spec.base, Math.max(spec.concurrency, maxInFlight) + 8);
  const flows = new Flows(c);
  const slots = Math.max(spec.concurrency, maxInFlight);

  // Seed: browser sessions (one full sign-in each) and, for refresh, one token chain per slot.
  const sessions: Jar[] = [];
  let chains: string[] = [];
  const t0 = performance.now();
  if (spec.scenario === 'silent_sso' || spec.scenario === 'refresh_token') {
    for (let i = 0; i < 8; i++) {
      const jar = new Jar();
      await flows.signIn(jar);
      sessions.push(jar);
    }
  }
  if (spec.scenario === 'refresh_token') {
    chains = await Promise.all(Array.from({ length: slots }, async (_, i) => flows.exchangeCode(await flows.silentAuthorize(sessions[i % sessions.length]!))));
  }
  log(`seeded ${sessions.length} sessions, ${chains.length} refresh chains in ${Math.round(performance.now() - t0)} ms`);

  let rr = 0;
  const iteration = async (slot: number): Promise<void> => {
    switch (spec.scenario) {
      case 'client_credentials':
        return flows.clientCredentials();
      case 'silent_sso': {
        await flows.silentAuthorize(sessions[rr++ % sessions.length]!);
        return;
      }
      case 'password_signin': {
        await flows.signIn(new Jar());
        return;
      }
      case 'refresh_token': {
        try {
          chains[slot] = await flows.refresh(chains[slot]!);
        } catch (e) {
          // Never retry a spent token (reuse revokes the grant): start a new chain, count the error.
          try {
            chains[slot] = await flows.exchangeCode(await flows.silentAuthorize(sessions[slot % sessions.length]!));
          } catch {
            /* next try */
          }
          throw e;
        }
      }
    }
  };

  const phases: PhaseResult[] = [];
  async function phase(name: string, mode: 'closed' | 'open', seconds: number, rate?: number): Promise<PhaseResult> {
    const stats = new Stats();
    flows.stepStats = spec.scenario === 'password_signin' ? new Map() : undefined;
    const pid = spec.serverPid;
    const ticks0 = pid ? cpuTicks(pid) : undefined;
    const cpu0 = process.cpuUsage();
    const m0 = machineTicks();
    let rssMax = 0;
    const sampler = pid
      ? setInterval(() => {
          rssMax = Math.max(rssMax, rssMB(pid) ?? 0);
        }, 250)
      : undefined;
    const elapsed =
      mode === 'closed' ? await closedLoop(spec.concurrency, seconds, iteration, stats) : await openLoop(rate!, seconds, maxInFlight, iteration, stats);
    if (sampler) clearInterval(sampler);
    const cpu = process.cpuUsage(cpu0);
    const ticks1 = pid ? cpuTicks(pid) : undefined;
    const m1 = machineTicks();
    const sorted = stats.lat.sort((a, b) => a - b);
    const res: PhaseResult = {
      name,
      mode,
      seconds: r2(elapsed),
      ...(rate !== undefined && { offered: r2(rate) }),
      ok: sorted.length,
      errors: stats.errors,
      rate: r2(sorted.length / elapsed),
      p50: r2(pct(sorted, 50)),
      p90: r2(pct(sorted, 90)),
      p99: r2(pct(sorted, 99)),
      max: r2(sorted.at(-1) ?? NaN),
      mean: r2(sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1)),
      loaderCpu: r2((cpu.user + cpu.system) / 1e6 / elapsed),
      ...(ticks0 !== undefined && ticks1 !== undefined && { serverCpu: r2((ticks1 - ticks0) / CLK_TCK / elapsed) }),
      ...(m0 &&
        m1 &&
        ticks0 !== undefined &&
        ticks1 !== undefined && {
          otherCpu: r2(Math.max(0, (m1.busy - m0.busy - (ticks1 - ticks0)) / CLK_TCK / elapsed - (cpu.user + cpu.system) / 1e6 / elapsed)),
          stealCpu: r2((m1.steal - m0.steal) / CLK_TCK / elapsed),
        }),
      ...(pid && { serverRssMaxMB: Math.max(rssMax, rssMB(pid) ?? 0), serverRssEndMB: rssMB(pid) }),
      errorSamples: stats.samples,
    };
    if (flows.stepStats) {
      const all = [...flows.stepStats.values()].flat().sort((a, b) => a - b);
      const byStep: Record<string, { p50: number; p99: number }> = {};
      for (const [k, v] of flows.stepStats) {
        v.sort((a, b) => a - b);
        byStep[k] = { p50: r2(pct(v, 50)), p99: r2(pct(v, 99)) };
      }
      res.step = { count: all.length, p50: r2(pct(all, 50)), p99: r2(pct(all, 99)), max: r2(all.at(-1) ?? NaN), byStep };
    }
    log(
      `${name}: ${res.rate}/s ok=${res.ok} err=${res.errors} p50=${res.p50} p99=${res.p99} ms server cpu=${res.serverCpu ?? '?'} loader cpu=${res.loaderCpu} other cpu=${res.otherCpu ?? '?'}`,
    );
    if (stats.errors) log(`  errors: ${JSON.stringify(stats.samples).slice(0, 400)}`);
    phases.push(res);
    return res;
  }

  if (spec.warmupSeconds > 0) await phase('warm-up', 'closed', spec.warmupSeconds);
  const rounds: number[] = [];
  for (let i = 0; i < spec.peakRounds; i++) rounds.push((await phase(`peak ${i + 1}`, 'closed', spec.peakSeconds)).rate);
  const peak = [...rounds].sort((a, b) => a - b)[Math.floor(rounds.length / 2)] ?? 0;
  const halfRate = spec.halfRate ?? peak / 2;
  let half: PhaseResult | undefined;
  if (spec.halfSeconds > 0 && halfRate > 0) {
    if (rounds.length) await new Promise((r) => setTimeout(r, 1000)); // let the server settle after saturation
    half = await phase('half of peak', 'open', spec.halfSeconds, halfRate);
  }
  c.close();
  process.stdout.write(JSON.stringify({ scenario: spec.scenario, peak, rounds, half, phases }) + '\n');
}

if (import.meta.main) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
