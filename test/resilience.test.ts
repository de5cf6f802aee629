// Store outages under load: while Redis or PostgreSQL restarts, Gatehouse answers 503 with
// Retry-After (never 500), /readyz says it is not ready, and when the store is back Gatehouse
// recovers by itself, with every write it acknowledged still there. Each test runs its own
// throw-away Redis or PostgreSQL (the machine's shared ones are never restarted).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent } from './helpers/agent.ts';
import { codeFlow, rpConfig } from './helpers/rp.ts';
import { createTestDatabase, randomName } from './helpers/databases.ts';
import { freePort } from './helpers/server.ts';
import { adminClient, startNode, type Node } from './helpers/cluster.ts';
import { waitFor } from './helpers/wait.ts';

const dbUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
const PG_BIN = (() => {
  const dir = '/usr/lib/postgresql';
  try {
    return fs
      .readdirSync(dir)
      .map((v) => path.join(dir, v, 'bin'))
      .find((b) => fs.existsSync(path.join(b, 'initdb')));
  } catch {
    return undefined;
  }
})();
const haveRedisServer = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;
const asRoot = process.getuid?.() === 0;

const SECRET = 'resilience-test-secret-'.padEnd(48, 'x');
const RP = 'https://app.example.test/cb';
const PASSWORD = 'a long enough password 1';
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

// ---- throw-away stores
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor(
    () =>
      spawnSync('redis-cli', ['-p', String(port), 'ping'])
        .stdout?.toString()
        .trim() === 'PONG',
    { what: 'redis-server to answer PING' },
  );
  return child;
}
const stopProcess = (c: ChildProcess, signal: NodeJS.Signals = 'SIGKILL') =>
  new Promise<void>((r) => {
    if (c.exitCode !== null || c.signalCode !== null) return r();
    c.once('exit', () => r());
    c.kill(signal);
  });

/** A PostgreSQL cluster of its own, run as the postgres user (the server refuses to run as root). */
function throwawayPostgres(port: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-pg-'));
  fs.chownSync(dir, Number(spawnSync('id', ['-u', 'postgres']).stdout.toString()), Number(spawnSync('id', ['-g', 'postgres']).stdout.toString()));
  const run = (...args: string[]) => {
    const r = spawnSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr || r.stdout}`);
  };
  run(path.join(PG_BIN!, 'initdb'), '-D', `${dir}/data`, '-A', 'trust', '-U', 'postgres', '--no-sync', '-N');
  const ctl = (...a: string[]) => run(path.join(PG_BIN!, 'pg_ctl'), '-D', `${dir}/data`, '-w', ...a);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => ctl('-l', `${dir}/log`, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start'),
    stop: () => ctl('-m', 'fast', 'stop'),
    remove: async () => {
      try {
        ctl('-m', 'immediate', 'stop');
      } catch {
        /* not running */
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- load
interface Outcome {
  status: number;
  retryAfter: string | null;
  phase: string;
  email?: string;
}
/** Runs `step` from `workers` loops, appending to `out`, until `stop()` is true. */
async function load(workers: number, stop: () => boolean, out: Outcome[], step: (i: number) => Promise<Outcome>): Promise<void> {
  let n = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (!stop()) out.push(await step(n++));
    }),
  );
}
const basic = (c: { clientId: string; clientSecret: string }) => `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`;
async function clientCredentials(n: Node, svc: { clientId: string; clientSecret: string }) {
  const r = await fetch(`${n.base}/t/default/token`, {
    method: 'POST',
    headers: { authorization: basic(svc), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  await r.arrayBuffer();
  return { status: r.status, retryAfter: r.headers.get('retry-after') };
}
const readyz = async (n: Node) => {
  const r = await fetch(`${n.base}/readyz`);
  await r.arrayBuffer();
  return { status: r.status, retryAfter: r.headers.get('retry-after') };
};

/** A node with a user, a web app and a service app, and a refresh token issued before any outage. */
async function seeded(n: Node) {
  const api = adminClient(n.base);
  assert.equal((await api('POST', '/tenants/default/users', { email: 'alice@example.test', password: PASSWORD })).status, 201);
  const web = (await api('POST', '/tenants/default/apps', { name: 'web', displayName: 'Web', type: 'web', redirectUris: [RP] })).body;
  const svc = (await api('POST', '/tenants/default/apps', { name: 'svc', displayName: 'Service', type: 'service' })).body;
  for (const c of [web.clientId, svc.clientId]) await api('PUT', `/tenants/default/apps/${c}/deployment`, { all: true, targets: [] });
  const signIn = async () =>
    (
      await codeFlow(await rpConfig(`${n.base}/t/default`, web.clientId, web.clientSecret), new Agent(), {
        redirectUri: RP,
        email: 'alice@example.test',
        password: PASSWORD,
        scope: 'openid offline_access',
        extra: { prompt: 'consent' },
      })
    ).tokens;
  const refreshToken = (await signIn()).refresh_token!;
  const refresh = async (token: string) => {
    const r = await fetch(`${n.base}/t/default/token`, {
      method: 'POST',
      headers: { authorization: basic(web), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }),
    });
    return { status: r.status, body: (await r.json()) as { refresh_token?: string; error?: string } };
  };
  return { api, web, svc, refreshToken, refresh, signIn };
}

/**
 * The outage script, run while `load` runs: steady traffic, then `down()`, a 503 seen (and
 * /readyz failing), then `up()`, and traffic succeeding again without restarting Gatehouse.
 */
async function outage(n: Node, out: Outcome[], setPhase: (p: string) => void, down: () => Promise<void>, up: () => Promise<void>) {
  await waitFor(() => out.filter((o) => o.status < 300).length >= 20, { what: 'traffic to flow before the outage' });
  setPhase('down');
  await down();
  await waitFor(() => out.some((o) => o.status === 503), { what: 'requests answered 503 while the store is down' });
  const notReady = await readyz(n);
  assert.equal(notReady.status, 503, '/readyz tells the load balancer to stop sending traffic');
  assert.ok(notReady.retryAfter);
  setPhase('back');
  await up();
  await waitFor(() => out.filter((o) => o.phase === 'back' && o.status < 300).length >= 10, { what: 'Gatehouse to recover by itself once the store was back' });
  assert.equal((await readyz(n)).status, 200);
}

function checkOutcomes(out: Outcome[]) {
  const bad = out.filter((o) => !(o.status < 300 || (o.status === 503 && o.retryAfter)));
  assert.deepEqual(bad.slice(0, 5), [], `only successes and 503 with Retry-After (of ${out.length} requests)`);
}

const redisSkip = !dbUrl
  ? 'DATABASE_URL not set: Redis restart test skipped'
  : !haveRedisServer
    ? 'redis-server is not installed: Redis restart test skipped'
    : false;
test('Redis restarting under load: 503 with Retry-After meanwhile, recovery without restarting Gatehouse, durable tokens kept', {
  skip: redisSkip,
}, async () => {
  const db = await createTestDatabase(dbUrl!);
  cleanups.push(() => db.drop());
  const redisPort = await freePort();
  let redis = await startRedis(redisPort);
  cleanups.push(() => stopProcess(redis));
  const n = await startNode('solo', { DATABASE_URL: db.url, REDIS_URL: `redis://127.0.0.1:${redisPort}`, GATEHOUSE_SECRET: SECRET });
  cleanups.push(async () => {
    if (process.env.DEBUG_NODE) console.log(n.output());
    await n.kill();
  });
  const s = await seeded(n);

  const out: Outcome[] = [];
  let phase = 'before';
  let stop = false;
  const running = load(
    4,
    () => stop,
    out,
    async () => ({ ...(await clientCredentials(n, s.svc)), phase }),
  );
  try {
    await outage(
      n,
      out,
      (p) => {
        phase = p;
      },
      () => stopProcess(redis),
      async () => {
        redis = await startRedis(redisPort);
      },
    );
  } finally {
    stop = true;
    await running;
  }
  checkOutcomes(out);
  // Refresh tokens are durable (PostgreSQL): the one issued before the outage still works.
  const r = await s.refresh(s.refreshToken);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // Sessions lived in the restarted Redis (it keeps nothing): signing in again works.
  assert.ok((await s.signIn()).access_token);
});

const pgSkip = !redisUrl
  ? 'REDIS_URL not set: PostgreSQL restart test skipped'
  : !PG_BIN
    ? 'PostgreSQL server binaries (initdb, pg_ctl) not found: PostgreSQL restart test skipped'
    : !asRoot
      ? 'not running as root (needed to run a throw-away PostgreSQL as the postgres user): PostgreSQL restart test skipped'
      : false;
test('PostgreSQL restarting under load: 503 with Retry-After meanwhile, recovery, and every acknowledged write kept', { skip: pgSkip }, async () => {
  const pg = throwawayPostgres(await freePort());
  pg.start();
  cleanups.push(() => pg.remove());
  const prefix = `ghtest:${randomName()}:`;
  const n = await startNode('solo', { DATABASE_URL: pg.url, REDIS_URL: redisUrl!, GATEHOUSE_REDIS_PREFIX: prefix, GATEHOUSE_SECRET: SECRET });
  cleanups.push(async () => {
    if (process.env.DEBUG_NODE) console.log(n.output());
    await n.kill();
  });
  const s = await seeded(n);

  const out: Outcome[] = [];
  let phase = 'before';
  let stop = false;
  // Half the traffic issues tokens, half creates users (each an acknowledged durable write).
  const running = load(
    4,
    () => stop,
    out,
    async (i) => {
      if (i % 2) return { ...(await clientCredentials(n, s.svc)), phase };
      const email = `user${i}@example.test`;
      const r = await s.api('POST', '/tenants/default/users', { email, password: PASSWORD });
      return { status: r.status, retryAfter: r.headers.get('retry-after'), phase, email };
    },
  );
  try {
    await outage(
      n,
      out,
      (p) => {
        phase = p;
      },
      async () => pg.stop(),
      async () => pg.start(),
    );
  } finally {
    stop = true;
    await running;
  }
  checkOutcomes(out);
  const acknowledged = out.filter((o) => o.email && o.status === 201).map((o) => o.email!);
  assert.ok(acknowledged.length > 5);
  for (const email of acknowledged)
    assert.equal((await s.api('GET', `/tenants/default/users/${email}`)).status, 200, `${email} was acknowledged, so it must exist`);
  const r = await s.refresh(s.refreshToken);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // Every token issued has its audit event, even those whose event was due while the database was away.
  const issued = out.filter((o) => !o.email && o.status === 200).length;
  const client = new (await import('pg')).default.Client({ connectionString: pg.url });
  await client.connect();
  try {
    const count = async () =>
      Number((await client.query("select count(*) as n from audit_events where type = 'token.issued' and data like '%client_credentials%'")).rows[0].n);
    await waitFor(async () => (await count()) >= issued, { what: `audit events for all ${issued} tokens issued` });
  } finally {
    await client.end();
  }
});
