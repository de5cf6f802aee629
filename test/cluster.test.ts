// Two Gatehouse processes on one PostgreSQL database and one Redis, behind a round-robin
// proxy: any node serves any request, changes reach every node within a second, throttles
// count across nodes, the scheduled work runs on one node and moves when it dies, and a node
// killed under load loses only the requests it was serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { Agent, text } from './helpers/agent.ts';
import { backchannelReceiver, codeFlow, rpConfig } from './helpers/rp.ts';
import { createTestDatabase, deleteRedisPrefix, randomName } from './helpers/databases.ts';
import { adminClient, metric, roundRobinProxy, startNode, within, type Node, type Proxy } from './helpers/cluster.ts';

const dbUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
const skip = !dbUrl || !redisUrl ? 'DATABASE_URL and REDIS_URL are needed: multi-node tests skipped' : false;

const RP = 'https://app.example.test/cb';
const LOGGED_OUT = 'https://app.example.test/bye';
const PASSWORD = 'a long enough password 1';
let db: Awaited<ReturnType<typeof createTestDatabase>>;
const prefix = `ghtest:${randomName()}:`;
let proxy: Proxy;
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
  env = { DATABASE_URL: db.url, REDIS_URL: redisUrl!, GATEHOUSE_REDIS_PREFIX: prefix, GATEHOUSE_SECRET: 'cluster-test-secret-'.padEnd(48, 'x'), GATEHOUSE_PUBLIC_URL: proxy.base };
  nodes.push(await startNode('A', env));
  nodes.push(await startNode('B', env));
  receiver = await backchannelReceiver();
  const api = adminClient(proxy.base);
  for (const email of ['alice@example.test', 'bob@example.test']) {
    assert.equal((await api('POST', '/tenants/default/users', { email, password: PASSWORD })).status, 201);
  }
  const w = await api('POST', '/tenants/default/apps', { name: 'web', displayName: 'Web app', type: 'web', redirectUris: [RP], postLogoutRedirectUris: [LOGGED_OUT], backchannelLogoutUri: receiver.url });
  assert.equal(w.status, 201, JSON.stringify(w.body));
  web = w.body;
  svc = (await api('POST', '/tenants/default/apps', { name: 'svc', displayName: 'Service', type: 'service' })).body;
  for (const c of [web.clientId, svc.clientId]) assert.equal((await api('PUT', `/tenants/default/apps/${c}/deployment`, { all: true, targets: [] })).status, 200);
});

after(async () => {
  if (skip) return;
  await Promise.all(nodes.map((n) => n.kill()));
  await proxy.close();
  await receiver.close();
  await db.drop();
  const { Redis } = await import('ioredis');
  const r = new Redis(redisUrl!);
  await deleteRedisPrefix(r, prefix);
  r.disconnect();
});

const node = (name: string) => nodes.find((n) => n.name === name)!;
const basic = (c: { clientId: string; clientSecret: string }) => `Basic ${Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString('base64')}`;
/** POST to a node's token endpoint directly (not through the proxy). */
async function tokenAt(n: Node, client: { clientId: string; clientSecret: string }, params: Record<string, string>) {
  const res = await fetch(`${n.base}/t/default/token`, { method: 'POST', headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
const onNode = (url: string, n: Node) => url.replace(proxy.base, n.base);

test('a sign-in started on one node finishes on the other; refresh tokens move between nodes, and reuse on either revokes the grant', { skip }, async () => {
  const before = new Map(proxy.served);
  const { tokens } = await codeFlow(await rpConfig(issuer, web.clientId, web.clientSecret), new Agent(), { redirectUri: RP, email: 'alice@example.test', password: PASSWORD, scope: 'openid email offline_access', extra: { prompt: 'consent' } });
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

test('a key rotation on one node reaches the other within a second', { skip }, async () => {
  const jwks = async (n: Node) => JSON.stringify(await (await fetch(`${n.base}/t/default/jwks`)).json());
  const before = await jwks(node('B'));
  const rotated = await adminClient(node('A').base)('POST', '/tenants/default/keys/rotate', {});
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  const took = await within(1000, async () => (await jwks(node('B'))) !== before);
  assert.ok(took !== undefined, 'node B publishes the new key within a second');
  assert.equal(await jwks(node('A')), await jwks(node('B')), 'both nodes publish the same keys');
  // Tokens node A now signs verify with what node B publishes.
  const cc = await rpConfig(issuer, web.clientId, web.clientSecret);
  const { tokens } = await codeFlow(cc, new Agent(), { redirectUri: RP, email: 'alice@example.test', password: PASSWORD });
  const kid = JSON.parse(Buffer.from(tokens.id_token!.split('.')[0]!, 'base64url').toString()).kid;
  assert.ok((JSON.parse(await jwks(node('B'))) as { keys: { kid: string }[] }).keys.some((k) => k.kid === kid));
});

test('failed sign-ins count across nodes: five wrong passwords anywhere lock the account everywhere', { skip }, async () => {
  const config = await rpConfig(issuer, web.clientId, web.clientSecret);
  const agent = new Agent();
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: RP, scope: 'openid', state: randomName(), nonce: randomName(), code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' }).href;
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
    const u = onNode(oidc.buildAuthorizationUrl(config, { redirect_uri: RP, scope: 'openid', state: randomName(), nonce: randomName(), code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' }).href, n);
    await a.follow(u, RP);
    let g = a.form();
    await a.follow(onNode(g.action, n), RP, { form: { ...g.fields, email: 'bob@example.test' } });
    g = a.form();
    assert.equal(await a.follow(onNode(g.action, n), RP, { form: { ...g.fields, email: 'bob@example.test', password: PASSWORD } }), null, `node ${n.name} refuses even the right password`);
    assert.match(text(a.lastBody), /Too many|try again in/i, `node ${n.name} says when to retry`);
  }
});

test('the scheduled work runs on one node; when that node is killed under load it moves, and only in-flight requests are lost', { skip }, async () => {
  const leaders = await Promise.all(nodes.map(async (n) => [n, await metric(n.base, 'gatehouse_scheduler_leader')] as const));
  const leading = leaders.filter(([, v]) => v === 1).map(([n]) => n);
  assert.equal(leading.length, 1, 'exactly one node leads');
  const victim = leading[0]!;
  const survivor = nodes.find((n) => n !== victim)!;

  // Client credentials through the proxy from 8 workers for 2.5 s; the leader is killed at 0.8 s.
  const issued: string[] = [];
  const failures: number[] = [];
  const stopAt = Date.now() + 2500;
  let killedAt = 0;
  const worker = async () => {
    while (Date.now() < stopAt) {
      const res = await fetch(`${proxy.base}/t/default/token`, { method: 'POST', headers: { authorization: basic(svc), 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
      const raw = await res.text();
      const body = (() => { try { return JSON.parse(raw); } catch { return { raw }; } })() as { access_token?: string };
      if (res.status === 200 && body.access_token) issued.push(body.access_token); else { failures.push(res.status); if (process.env.DEBUG_CLUSTER) console.log(res.status, JSON.stringify(body)); }
    }
  };
  const killer = (async () => { await new Promise((r) => setTimeout(r, 800)); killedAt = Date.now(); await victim.kill('SIGKILL'); })();
  await Promise.all([...Array.from({ length: 8 }, worker), killer]);
  nodes = nodes.filter((n) => n !== victim);

  assert.ok(killedAt > 0 && issued.length > 50, `load ran (${issued.length} tokens)`);
  assert.ok(failures.every((s) => s === 502), `only dropped requests failed, got ${failures.join(',')}`);
  assert.ok(failures.length <= 8, `at most the 8 in-flight requests were lost, got ${failures.length}`);
  const took = await within(15_000, async () => (await metric(survivor.base, 'gatehouse_scheduler_leader')) === 1);
  assert.ok(took !== undefined, 'the surviving node took over the scheduled work');
  // Every token acknowledged before and after the kill is still valid.
  for (const t of issued.filter((_, i) => i % 10 === 0)) {
    const r = await fetch(`${survivor.base}/t/default/token/introspection`, { method: 'POST', headers: { authorization: basic(svc), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: t }) });
    assert.equal(((await r.json()) as { active: boolean }).active, true);
  }
});
