// Two Gatehouse processes on one PostgreSQL database and one Redis, behind a round-robin
// proxy: any node serves any request, changes reach every node (how fast: bench/), throttles
// count across nodes, the scheduled work runs on one node and moves when it dies, and a node
// killed under load loses only the requests it was serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { Agent, text } from './helpers/agent.ts';
import { backchannelReceiver, codeFlow, rpConfig } from './helpers/rp.ts';
import { createTestDatabase, deleteRedisPrefix, randomName } from './helpers/databases.ts';
import { adminClient, metric, roundRobinProxy, startNode, type Node, type Proxy as RoundRobin } from './helpers/cluster.ts';
import { waitFor } from './helpers/wait.ts';
import { spawn, spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { ADMIN, freePort } from './helpers/server.ts';
import { startTestRp } from './helpers/test-rp.ts';
import { haveChromium, launch } from './helpers/browser.ts';

const dbUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
const skip = !dbUrl || !redisUrl ? 'DATABASE_URL and REDIS_URL are needed: multi-node tests skipped' : false;

const RP = 'https://app.example.test/cb';
const LOGGED_OUT = 'https://app.example.test/bye';
const PASSWORD = 'a long enough password 1';
let db: Awaited<ReturnType<typeof createTestDatabase>>;
const prefix = `ghtest:${randomName()}:`;
let proxy: RoundRobin;
let nodes: Node[] = [];
let env: Record<string, string>;
let issuer: string;
let web: { clientId: string; clientSecret: string };
let svc: { clientId: string; clientSecret: string };
let receiver: Awaited<ReturnType<typeof backchannelReceiver>>;

before(async () => {
  if (skip) return;
  db = await createTestDatabase(dbUrl!);
  proxy = await roundRobinProxy(() => nodes);
  issuer = `${proxy.base}/t/default`;
  env = {
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl!,
    GATEHOUSE_REDIS_PREFIX: prefix,
    GATEHOUSE_SECRET: 'cluster-test-secret-'.padEnd(48, 'x'),
    GATEHOUSE_PUBLIC_URL: proxy.base,
    // The back-channel logout receiver runs on this machine: allowed explicitly.
    GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.0/8',
  };
  nodes.push(await startNode('A', env));
  nodes.push(await startNode('B', env));
  receiver = await backchannelReceiver();
  const api = adminClient(proxy.base);
  for (const email of ['alice@example.test', 'bob@example.test']) {
    assert.equal((await api('POST', '/tenants/default/users', { email, password: PASSWORD })).status, 201);
  }
  const w = await api('POST', '/tenants/default/apps', {
    name: 'web',
    displayName: 'Web app',
    type: 'web',
    redirectUris: [RP],
    postLogoutRedirectUris: [LOGGED_OUT],
    backchannelLogoutUri: receiver.url,
  });
  assert.equal(w.status, 201, JSON.stringify(w.body));
  web = w.body;
  svc = (await api('POST', '/tenants/default/apps', { name: 'svc', displayName: 'Service', type: 'service' })).body;
  for (const c of [web.clientId, svc.clientId])
    assert.equal((await api('PUT', `/tenants/default/apps/${c}/deployment`, { all: true, targets: [] })).status, 200);
});

after(async () => {
  if (skip) return;
  await Promise.all(nodes.map((n) => n.kill()));
  await proxy.close();
  await receiver.close();
  await db.drop();
  const r = new Redis(redisUrl!);
  await deleteRedisPrefix(r, prefix);
  r.disconnect();
});

const node = (name: string) => nodes.find((n) => n.name === name)!;
const basic = (c: { clientId: string; clientSecret: string }) =>
  `Basic ${Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString('base64')}`;
/** POST to a node's token endpoint directly (not through the proxy). */
async function tokenAt(n: Node, client: { clientId: string; clientSecret: string }, params: Record<string, string>) {
  const res = await fetch(`${n.base}/t/default/token`, {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
const onNode = (url: string, n: Node) => url.replace(proxy.base, n.base);

test('a sign-in started on one node finishes on the other; refresh tokens move between nodes, and reuse on either revokes the grant', { skip }, async () => {
  const before = new Map(proxy.served);
  const { tokens } = await codeFlow(await rpConfig(issuer, web.clientId, web.clientSecret), new Agent(), {
    redirectUri: RP,
    email: 'alice@example.test',
    password: PASSWORD,
    scope: 'openid email offline_access',
    extra: { prompt: 'consent' },
  });
  for (const name of ['A', 'B']) assert.ok((proxy.served.get(name) ?? 0) > (before.get(name) ?? 0), `node ${name} took part in the sign-in`);
  assert.ok(tokens.refresh_token);

  const r1 = await tokenAt(node('A'), web, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
  assert.equal(r1.status, 200, JSON.stringify(r1.body));
  const r2 = await tokenAt(node('B'), web, { grant_type: 'refresh_token', refresh_token: r1.body.refresh_token });
  assert.equal(r2.status, 200, JSON.stringify(r2.body));
  for (const n of nodes) {
    const info = await fetch(`${n.base}/t/default/me`, { headers: { authorization: `Bearer ${r2.body.access_token}` } });
    assert.equal(info.status, 200, `userinfo at node ${n.name}`);
    assert.equal(((await info.json()) as any).email, 'alice@example.test');
  }
  // The refresh token r1 was already used (at B): presenting it again, at A, is reuse.
  const replay = await tokenAt(node('A'), web, { grant_type: 'refresh_token', refresh_token: r1.body.refresh_token });
  assert.equal(replay.status, 400);
  assert.equal(replay.body.error, 'invalid_grant');
  const after = await tokenAt(node('B'), web, { grant_type: 'refresh_token', refresh_token: r2.body.refresh_token });
  assert.equal(after.body.error, 'invalid_grant', 'the whole grant was revoked');
});

test('signing out on one node ends the session on every node, and the app is told once', { skip }, async () => {
  const agent = new Agent();
  const config = await rpConfig(issuer, web.clientId, web.clientSecret);
  const { tokens } = await codeFlow(config, agent, { redirectUri: RP, email: 'alice@example.test', password: PASSWORD });
  const silent = () => oidc.buildAuthorizationUrl(config, { redirect_uri: RP, scope: 'openid', prompt: 'none', state: randomName() }).href;
  const first = await agent.follow(onNode(silent(), node('A')), RP);
  assert.match(first!, /[?&]code=/, 'the session works at node A');
  const received = receiver.received.length;

  const end = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: LOGGED_OUT }).href;
  assert.equal(await agent.follow(onNode(end, node('B')), LOGGED_OUT), null, 'a confirmation page');
  const form = agent.form();
  const done = await agent.follow(onNode(form.action, node('B')), LOGGED_OUT, { form: { ...form.fields, logout: 'yes' } });
  assert.ok(done?.startsWith(LOGGED_OUT), `signed out at node B: ${text(agent.lastBody).slice(0, 200)}`);

  const again = await agent.follow(onNode(silent(), node('A')), RP);
  assert.match(again!, /error=login_required/, 'node A no longer knows the session');
  await receiver.next();
  assert.equal(receiver.received.length - received, 1, 'one back-channel logout for one sign-out');
});

test('a key rotation on one node reaches the other', { skip }, async () => {
  const jwks = async (n: Node) => JSON.stringify(await (await fetch(`${n.base}/t/default/jwks`)).json());
  const before = await jwks(node('B'));
  const rotated = await adminClient(node('A').base)('POST', '/tenants/default/keys/rotate', { now: true, force: true }); // keys published seconds ago
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  await waitFor(async () => (await jwks(node('B'))) !== before, { what: 'node B to publish the new key' });
  assert.equal(await jwks(node('A')), await jwks(node('B')), 'both nodes publish the same keys');
  // Tokens node A now signs verify with what node B publishes.
  const cc = await rpConfig(issuer, web.clientId, web.clientSecret);
  const { tokens } = await codeFlow(cc, new Agent(), { redirectUri: RP, email: 'alice@example.test', password: PASSWORD });
  const kid = JSON.parse(Buffer.from(tokens.id_token!.split('.')[0]!, 'base64url').toString()).kid;
  assert.ok((JSON.parse(await jwks(node('B'))) as { keys: { kid: string }[] }).keys.some((k) => k.kid === kid));
});

test('a client secret regenerated on one node is refused by the other', { skip }, async () => {
  const api = adminClient(node('A').base);
  const app = (await api('POST', '/tenants/default/apps', { name: 'rotating', displayName: 'Rotating', type: 'service' })).body;
  await api('PUT', `/tenants/default/apps/${app.clientId}/deployment`, { all: true, targets: [] });
  const old = { clientId: app.clientId, clientSecret: app.clientSecret };
  assert.equal((await tokenAt(node('B'), old, { grant_type: 'client_credentials' })).status, 200, 'node B knows (and keeps) the client');
  const regenerated = await api('POST', `/tenants/default/apps/${app.clientId}/secret`);
  assert.equal(regenerated.status, 200, JSON.stringify(regenerated.body));
  const fresh = { clientId: app.clientId, clientSecret: regenerated.body.clientSecret };
  await waitFor(async () => (await tokenAt(node('B'), old, { grant_type: 'client_credentials' })).status === 401, { what: 'node B to refuse the old secret' });
  assert.equal((await tokenAt(node('B'), fresh, { grant_type: 'client_credentials' })).status, 200);
});

test('failed sign-ins count across nodes: five wrong passwords anywhere lock the account everywhere', { skip }, async () => {
  const config = await rpConfig(issuer, web.clientId, web.clientSecret);
  const agent = new Agent();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: RP,
    scope: 'openid',
    state: randomName(),
    nonce: randomName(),
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  }).href;
  assert.equal(await agent.follow(url, RP), null);
  let f = agent.form();
  await agent.follow(f.action, RP, { form: { ...f.fields, email: 'bob@example.test' } });
  const served = new Map(proxy.served);
  for (let i = 0; i < 5; i++) {
    f = agent.form();
    await agent.follow(f.action, RP, { form: { ...f.fields, email: 'bob@example.test', password: `wrong ${i}` } });
  }
  for (const name of ['A', 'B']) assert.ok((proxy.served.get(name) ?? 0) > (served.get(name) ?? 0), `node ${name} counted failures`);
  for (const n of nodes) {
    const a = new Agent();
    const u = onNode(
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: RP,
        scope: 'openid',
        state: randomName(),
        nonce: randomName(),
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      }).href,
      n,
    );
    await a.follow(u, RP);
    let g = a.form();
    await a.follow(onNode(g.action, n), RP, { form: { ...g.fields, email: 'bob@example.test' } });
    g = a.form();
    assert.equal(
      await a.follow(onNode(g.action, n), RP, { form: { ...g.fields, email: 'bob@example.test', password: PASSWORD } }),
      null,
      `node ${n.name} refuses even the right password`,
    );
    assert.match(text(a.lastBody), /Too many|try again in/i, `node ${n.name} says when to retry`);
  }
});

test('the scheduled work runs on one node; when that node is killed under load it moves, and only in-flight requests are lost', { skip }, async () => {
  const leaders = await Promise.all(nodes.map(async (n) => [n, await metric(n.base, 'gatehouse_scheduler_leader')] as const));
  const leading = leaders.filter(([, v]) => v === 1).map(([n]) => n);
  assert.equal(leading.length, 1, 'exactly one node leads');
  const victim = leading[0]!;
  const survivor = nodes.find((n) => n !== victim)!;

  // Client credentials through the proxy from 8 clients; the leader is killed once 30 tokens
  // were issued, and the load goes on until every client has had 5 answers sent after the
  // kill. Counts, not seconds: on a busy machine the same things happen, only slower.
  const CLIENTS = 8;
  const issued: string[] = [];
  const failures: { status: number; beforeKill: boolean; afterRecovery: boolean }[] = [];
  let killing = false;
  let killed = false;
  let stop = false;
  const answeredAfterKill = new Array<number>(CLIENTS).fill(0);
  const recovered = new Array<boolean>(CLIENTS).fill(false);
  const worker = async (c: number) => {
    while (!stop) {
      const sentAfterKill = killed;
      const res = await fetch(`${proxy.base}/t/default/token`, {
        method: 'POST',
        headers: { authorization: basic(svc), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      const raw = await res.text();
      const body = (() => {
        try {
          return JSON.parse(raw);
        } catch {
          return { raw };
        }
      })() as { access_token?: string };
      if (res.status === 200 && body.access_token) {
        issued.push(body.access_token);
        if (sentAfterKill) recovered[c] = true;
      } else failures.push({ status: res.status, beforeKill: !killing, afterRecovery: recovered.every(Boolean) });
      if (sentAfterKill) answeredAfterKill[c]!++;
    }
  };
  const killer = (async () => {
    try {
      await waitFor(() => issued.length >= 30, { what: '30 tokens issued before the kill' });
      killing = true;
      await victim.kill('SIGKILL');
      killed = true;
      await waitFor(() => answeredAfterKill.every((n) => n >= 5), { what: 'every client answered 5 times after the kill' });
    } finally {
      stop = true;
    }
  })();
  await Promise.all([...Array.from({ length: CLIENTS }, (_, c) => worker(c)), killer]);
  nodes = nodes.filter((n) => n !== victim);

  assert.ok(killed && issued.length > 50, `load ran (${issued.length} tokens)`);
  assert.ok(
    failures.every((f) => f.status === 502),
    `only dropped requests failed, got ${failures.map((f) => f.status).join(',')}`,
  );
  // Lost: the requests the node was serving, and any the proxy had already sent on its open
  // connections to it (as with a real load balancer); nothing before the kill, and nothing once
  // every client has been served again after it.
  assert.ok(
    failures.every((f) => !f.beforeKill && !f.afterRecovery),
    `failures only at the kill: ${JSON.stringify(failures)}`,
  );
  assert.ok(failures.length <= 16, `only in-flight requests were lost, got ${failures.length}`);
  await waitFor(async () => (await metric(survivor.base, 'gatehouse_scheduler_leader')) === 1, { what: 'the surviving node to take over the scheduled work' });
  // Every token acknowledged before and after the kill is still valid.
  for (const t of issued.filter((_, i) => i % 10 === 0)) {
    const r = await fetch(`${survivor.base}/t/default/token/introspection`, {
      method: 'POST',
      headers: { authorization: basic(svc), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: t }),
    });
    assert.equal(((await r.json()) as { active: boolean }).active, true);
  }
  // A replacement node joins; the tests after this one run across it and the survivor.
  nodes.push(await startNode('C', env));
});

test('gatehouse start --workers 2: one port, metrics summed over the workers, one scheduler, a dead worker replaced', { skip }, async () => {
  const db2 = await createTestDatabase(dbUrl!);
  const prefix2 = `ghtest:${randomName()}:`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const metricsPort = await freePort();
  const metricsBase = `http://127.0.0.1:${metricsPort}`;
  const metricsToken = 'workers-metrics-token-'.padEnd(40, 't');
  const child = spawn(process.execPath, ['bin/gatehouse.js', 'start', '--workers', '2'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: {
      ...process.env,
      DATABASE_URL: db2.url,
      REDIS_URL: redisUrl!,
      GATEHOUSE_REDIS_PREFIX: prefix2,
      GATEHOUSE_SECRET: 'workers-test-secret-'.padEnd(48, 'x'),
      PORT: String(port),
      HOST: '127.0.0.1',
      GATEHOUSE_PUBLIC_URL: base,
      LOG_LEVEL: 'warn',
      GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
      GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      GATEHOUSE_METRICS_PORT: String(metricsPort),
      GATEHOUSE_METRICS_TOKEN: metricsToken,
      // Each worker streams the events it records: every token's event once, whichever worker issued it.
      GATEHOUSE_AUDIT_STREAM: 'stdout',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    await waitFor(async () => out.includes('Worker processes:         2') && (await fetch(`${base}/readyz`)).status === 200, {
      what: 'two workers to start',
    }).catch((e: Error) => {
      throw new Error(`${e.message}:\n${out}`);
    });
    // bin/gatehouse.js runs the pinned node (the primary), whose children are the workers.
    const children = (pid: number | string) =>
      spawnSync('pgrep', ['-P', String(pid)])
        .stdout.toString()
        .trim()
        .split('\n')
        .filter(Boolean);
    const primary = children(child.pid!)[0]!;
    await waitFor(() => children(primary).length === 2, { what: 'two worker processes' });
    const api = adminClient(base);
    const s = (await api('POST', '/tenants/default/apps', { name: 'svc', displayName: 'Service', type: 'service' })).body;
    await api('PUT', `/tenants/default/apps/${s.clientId}/deployment`, { all: true, targets: [] });
    for (let i = 0; i < 20; i++) {
      // A new connection each time, so the primary hands requests to both workers.
      const r = await fetch(`${base}/t/default/token`, {
        method: 'POST',
        headers: { authorization: basic(s), 'content-type': 'application/x-www-form-urlencoded', connection: 'close' },
        body: 'grant_type=client_credentials',
      });
      assert.equal(r.status, 200);
    }
    // Every scrape, whichever worker takes it (a new connection each time), on the main port
    // and on the metrics listener the workers share, sums all workers: the leader gauge used
    // to alternate 1, 0, 1 because workers never answered the primary's collection.
    for (let i = 0; i < 6; i++) {
      for (const at of [base, metricsBase]) {
        // The main port, once a metrics listener exists, answers only with the metrics token.
        const text = await (
          await fetch(`${at}/metrics`, { headers: { connection: 'close', ...(at === base && { authorization: `Bearer ${metricsToken}` }) } })
        ).text();
        assert.match(
          text,
          /gatehouse_tokens_issued_total\{grant_type="client_credentials"\} 20\b/,
          `every worker's tokens are counted in scrape ${i} of ${at}`,
        );
        assert.match(text, /^gatehouse_scheduler_leader 1$/m, `one worker runs the scheduled work (scrape ${i} of ${at})`);
      }
    }

    const issued = () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{"stream":"audit"'))
        .map((l) => JSON.parse(l) as { id: string; type: string })
        .filter((e) => e.type === 'token.issued');
    await waitFor(() => issued().length >= 20, { what: '20 token.issued events on the audit stream' });
    assert.equal(issued().length, 20, 'each event streamed once, not once per worker');
    assert.equal(new Set(issued().map((e) => e.id)).size, 20);

    // Kill a worker: the primary starts another, and the service goes on.
    const killed = children(primary)[0]!;
    process.kill(Number(killed), 'SIGKILL');
    await waitFor(() => /restarting it in/.test(out) && children(primary).length === 2 && !children(primary).includes(killed), {
      what: 'the killed worker to be replaced',
    }).catch((e: Error) => {
      throw new Error(`${e.message}:\n${out.slice(-500)}`);
    });
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${base}/t/default/token`, {
        method: 'POST',
        headers: { authorization: basic(s), 'content-type': 'application/x-www-form-urlencoded', connection: 'close' },
        body: 'grant_type=client_credentials',
      });
      assert.equal(r.status, 200);
    }
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, `graceful stop:\n${out.slice(-800)}`);
    await db2.drop();
    const r = new Redis(redisUrl!);
    await deleteRedisPrefix(r, prefix2);
    r.disconnect();
  }
});

test('in a real browser across both nodes: sign in, SSO into a second app, sign out everywhere', {
  skip: skip || (haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium): browser test skipped'),
}, async () => {
  const api = adminClient(proxy.base);
  const mk = async (name: string) => {
    const port = await freePort();
    const r = await api('POST', '/tenants/default/apps', {
      name,
      displayName: name,
      type: 'web',
      redirectUris: [`http://127.0.0.1:${port}/callback`],
      postLogoutRedirectUris: [`http://127.0.0.1:${port}/bye`],
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await api('PUT', `/tenants/default/apps/${r.body.clientId}/deployment`, { all: true, targets: [] });
    return startTestRp({ issuer, clientId: r.body.clientId, clientSecret: r.body.clientSecret, port });
  };
  const crm = await mk('crm');
  const wiki = await mk('wiki');
  const browser = await launch();
  try {
    const served = new Map(proxy.served);
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${crm.base}/login?login_hint=alice%40example.test`);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    assert.equal(await page.locator('#user').textContent(), 'Signed in as alice@example.test');
    await page.goto(`${wiki.base}/login`);
    assert.equal(await page.locator('#user').textContent(), 'Signed in as alice@example.test', 'SSO without a prompt');
    assert.equal(nodes.length, 2);
    for (const name of nodes.map((n) => n.name)) assert.ok((proxy.served.get(name) ?? 0) > (served.get(name) ?? 0), `node ${name} served the browser`);
    await page.goto(`${crm.base}/logout`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    assert.equal(await page.locator('#bye').textContent(), 'Signed out of the app');
    await page.goto(`${wiki.base}/login`);
    assert.equal(await page.locator('h1').textContent(), 'Sign in', 'signed out on every node');
  } finally {
    await browser.close();
    await crm.close();
    await wiki.close();
  }
});
