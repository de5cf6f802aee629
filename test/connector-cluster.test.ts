// Connectors serve every Gatehouse node: two real Gatehouse processes on one PostgreSQL
// (with Redis, and without: LISTEN/NOTIFY), a real slapd, and real `gatehouse connector`
// processes connected to one node while test connection, sync and sign-in are asked of the
// other. The relayed passwords never cross the bus in the clear; a failing connector on the
// asking node fails over to the other node's, and one killed mid-request on the other node
// leaves the request to the next; when the node holding the connector is killed (or stops),
// the asking node says clearly that no connector is connected.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import net from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';
import * as oidc from 'openid-client';
import { createTestDatabase, deleteRedisPrefix, randomName } from './helpers/databases.ts';
import { adminClient, startNode, type Node } from './helpers/cluster.ts';
import { startConnector, type ConnectorProcess } from './helpers/connector.ts';
import { OPENLDAP, addEntry, haveSlapd, startSlapd, type Slapd } from './helpers/slapd.ts';
import { Agent, text } from './helpers/agent.ts';
import { freePort } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';
import { rpConfig } from './helpers/rp.ts';

const dbUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
const skip =
  !dbUrl || !redisUrl
    ? 'DATABASE_URL and REDIS_URL are needed: multi-node tests skipped'
    : !haveSlapd()
      ? 'slapd is not installed (apt-get install -y slapd ldap-utils)'
      : false;

const T = '/tenants/default';
const alice = { email: 'alice@example.test', password: 'alice-directory-pw' };
const SECRET = 'connector-cluster-secret-'.padEnd(48, 'x');
// Enough users that a page of search results is larger than a NOTIFY payload (8,000 bytes).
const EXTRA = 40;
const extraLdif = Array.from(
  { length: EXTRA },
  (_, i) =>
    `dn: uid=user${i},ou=Staff,dc=example,dc=test\nobjectClass: inetOrgPerson\nuid: user${i}\ncn: User Number ${i}\ngivenName: User\nsn: Number ${i}\nmail: user${i}@example.test\nuserPassword: user-${i}-pw\n`,
).join('\n');

interface Cluster {
  name: string;
  db: Awaited<ReturnType<typeof createTestDatabase>>;
  asking: Node;
  holding: Node;
  api: ReturnType<typeof adminClient>;
  config: oidc.Configuration;
  redirectUri: string;
  /** Every message that crossed the bus, as the bus carried it. */
  traffic: string[];
  stopTap(): Promise<void>;
}

let ldap: Slapd;
let withRedis: Cluster;
let pgOnly: Cluster;
const prefix = `ghtest:${randomName()}:`;
const procs: ConnectorProcess[] = [];
const tmp = path.resolve(import.meta.dirname, '..', 'tmp');

async function cluster(name: string, redis: boolean): Promise<Cluster> {
  const db = await createTestDatabase(dbUrl!);
  const env = {
    DATABASE_URL: db.url,
    GATEHOUSE_SECRET: SECRET,
    LOG_LEVEL: 'debug',
    ...(redis ? { REDIS_URL: redisUrl!, GATEHOUSE_REDIS_PREFIX: prefix } : { REDIS_URL: '' }),
  };
  const asking = await startNode(`${name}-asking`, env); // first: it migrates the database
  const holding = await startNode(`${name}-holding`, env);
  const traffic: string[] = [];
  let stopTap: () => Promise<void>;
  if (redis) {
    const sub = new Redis(redisUrl!);
    sub.on('pmessage', (_p: string, _c: string, m: string) => traffic.push(m));
    await sub.psubscribe(`${prefix}bus:*`);
    stopTap = async () => {
      sub.disconnect();
    };
  } else {
    const l = new pg.Client({ connectionString: db.url });
    await l.connect();
    l.on('notification', (n) => traffic.push(n.payload ?? ''));
    await l.query('LISTEN gatehouse_bus');
    stopTap = () => l.end();
  }
  const api = adminClient(asking.base);
  const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  const a = await api('POST', `${T}/apps`, { name: 'wiki', displayName: 'Team Wiki', type: 'web', redirectUris: [redirectUri] });
  assert.equal(a.status, 201, JSON.stringify(a.body));
  await api('PUT', `${T}/apps/${a.body.clientId}/deployment`, { all: true });
  const config = await rpConfig(`${asking.base}/t/default`, a.body.clientId, a.body.clientSecret);
  return { name, db, asking, holding, api, config, redirectUri, traffic, stopTap };
}

before(async () => {
  if (skip) return;
  [ldap, withRedis, pgOnly] = await Promise.all([startSlapd({ extraLdif }), cluster('redis', true), cluster('pg', false)]);
});

after(async () => {
  if (skip) return;
  for (const c of procs) c.p.kill('SIGKILL');
  for (const c of [withRedis, pgOnly]) {
    if (!c) continue;
    await Promise.all([c.asking.kill(), c.holding.kill()]);
    await c.stopTap();
    await c.db.drop();
  }
  ldap?.stop();
  const r = new Redis(redisUrl!);
  await deleteRedisPrefix(r, prefix);
  r.disconnect();
});

function connector(_c: Cluster, node: Node, name: string, args: string[]) {
  const p = startConnector(node.base, name, path.join(tmp, `connector-${randomName()}.json`), args);
  procs.push(p);
  return p;
}

async function statusOf(c: Cluster, name: string, want: string) {
  let x: any;
  await waitFor(
    async () => {
      x = (await c.api('GET', `${T}/connectors`)).body.items.find((y: { name: string }) => y.name === name);
      return x?.status === want;
    },
    { what: `connector ${name} to become ${want} (as ${c.asking.name} sees it)`, interval: 50 },
  );
  return x;
}

async function signIn(c: Cluster, who: { email: string; password: string }) {
  const agent = new Agent();
  const url = oidc.buildAuthorizationUrl(c.config, {
    redirect_uri: c.redirectUri,
    scope: 'openid email',
    state: 'st',
    code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
    code_challenge_method: 'S256',
  });
  try {
    await agent.signIn(url.href, c.redirectUri, who.email, who.password);
    return { ok: true, status: 200, message: '' };
  } catch {
    return { ok: false, status: agent.lastStatus, message: text(agent.lastBody) };
  }
}

/** A connector attached to the holding node, and a directory reached through connectors. */
async function setUp(c: Cluster) {
  const code = (await c.api('POST', `${T}/connectors/codes`)).body.code;
  connector(c, c.holding, `${c.name}-site`, ['--enterprise-id', 'default', '--code', code]);
  const site = await statusOf(c, `${c.name}-site`, 'connected');
  const d = await c.api('POST', `${T}/directories`, {
    name: 'Site LDAP',
    bindPassword: OPENLDAP.bindPassword,
    settings: { kind: 'openldap', via: 'connector', urls: [ldap.url], startTls: false, allowPlain: true, bindDn: OPENLDAP.bindDn, baseDns: [OPENLDAP.base] },
  });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  return { site, dirId: d.body.id as string };
}

/** Relayed messages were seen on the bus, and no secret was in any of them. */
function assertSealed(c: Cluster) {
  const relayed = c.traffic.filter((m) => m.includes('"k":"req"'));
  assert.ok(relayed.length >= 3, `requests were relayed over the bus (${relayed.length})`);
  for (const m of c.traffic) {
    for (const secret of [alice.password, 'new-hire-pw', OPENLDAP.bindPassword, 'alice@example.test'])
      assert.equal(m.includes(secret), false, `a bus message carried ${secret} in the clear`);
  }
  for (const n of [c.asking, c.holding])
    for (const secret of [alice.password, 'new-hire-pw', OPENLDAP.bindPassword])
      assert.equal(n.output().includes(secret), false, `node ${n.name} logged a secret`);
}

test("PostgreSQL + Redis: a connector on node B serves test connection, sync and sign-in asked of node A; a failing connector on A fails over to B's; B killed: A says no connector is connected", {
  skip,
}, async () => {
  const c = withRedis;
  const { site, dirId } = await setUp(c);
  const t = await c.api('POST', `${T}/directories/${dirId}/test`);
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.equal(t.body.ok, true, t.body.message);
  assert.equal(t.body.via, site.id);
  const run = await c.api('POST', `${T}/directories/${dirId}/sync`, { mode: 'full', wait: true });
  assert.equal(run.body.status, 'succeeded', run.body.message);
  assert.equal(run.body.users.created, 6 + EXTRA);
  assert.equal((await signIn(c, alice)).ok, true, 'alice signs in on A with her directory password, checked through B');
  const wrong = await signIn(c, { email: alice.email, password: 'not-her-password' });
  assert.equal(wrong.status, 401);
  assert.match(wrong.message, /email or password is incorrect/);

  // A connector on A whose directory does not answer: A tries it first, then B's.
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const deadUrl = `ldap://127.0.0.1:${(closed.address() as net.AddressInfo).port}`;
  await new Promise<void>((r) => closed.close(() => r()));
  const local = connector(c, c.asking, 'redis-local', [
    '--enterprise-id',
    'default',
    '--code',
    (await c.api('POST', `${T}/connectors/codes`)).body.code,
    '--ldap-url',
    deadUrl,
  ]);
  await statusOf(c, 'redis-local', 'connected');
  assert.equal((await signIn(c, alice)).ok, true, 'the sign-in went on through the connector on B');
  const localStatus = (await c.api('GET', `${T}/connectors`)).body.items.find((x: { name: string }) => x.name === 'redis-local');
  assert.match(localStatus.lastError, /Could not reach/);
  assertSealed(c);

  // The local connector stops; B is killed without a word (its connections stay marked in the store).
  local.p.kill('SIGTERM');
  await statusOf(c, 'redis-local', 'disconnected');
  await c.holding.kill('SIGKILL');
  const down = await signIn(c, alice);
  assert.equal(down.status, 503);
  assert.match(down.message, /cannot reach your organization's directory/);
  const audit = await c.api('GET', `${T}/audit?type=directory.unavailable`);
  assert.match(
    JSON.stringify(audit.body.items[0]),
    /No connector of this organization is connected to Gatehouse \(connector redis-site was connected to a Gatehouse node that stopped answering\)/,
  );
  const t2 = await c.api('POST', `${T}/directories/${dirId}/test`);
  assert.equal(t2.status, 502);
  assert.equal(t2.body.error.code, 'directory_no_connector');
  assert.match(t2.body.error.message, /Start `gatehouse connector`/);
  const gone = (await c.api('GET', `${T}/connectors`)).body.items.find((x: { name: string }) => x.name === 'redis-site');
  assert.equal(gone.status, 'disconnected', "A no longer counts the dead node's connection");
});

test('PostgreSQL without Redis (LISTEN/NOTIFY): a connector killed mid-request on the other node leaves the request to the next; pages larger than a notice go through the store; the holding node stopped: no connector at once', {
  skip,
}, async () => {
  const c = pgOnly;
  // First on the holding node (connected first, so tried first): a connector whose "directory" never answers.
  let reachedHole: () => void = () => {};
  const reached = new Promise<void>((r) => {
    reachedHole = r;
  });
  const hole = net.createServer((s) => {
    s.on('error', () => {});
    reachedHole();
  });
  await new Promise<void>((r) => hole.listen(0, '127.0.0.1', () => r()));
  try {
    const stuck = connector(c, c.holding, 'pg-stuck', [
      '--enterprise-id',
      'default',
      '--code',
      (await c.api('POST', `${T}/connectors/codes`)).body.code,
      '--ldap-url',
      `ldap://127.0.0.1:${(hole.address() as net.AddressInfo).port}`,
    ]);
    await statusOf(c, 'pg-stuck', 'connected');
    const { site, dirId } = await setUp(c);
    const pending = c.api('POST', `${T}/directories/${dirId}/sync`, { mode: 'full', wait: true });
    await reached; // the stuck connector holds the first request of the sync ...
    stuck.p.kill('SIGKILL'); // ... and dies with it: its node answers "lost", and the asking node goes on with the other
    const run = await pending;
    assert.equal(run.body.status, 'succeeded', run.body.message);
    const stuckStatus = (await c.api('GET', `${T}/connectors`)).body.items.find((x: { name: string }) => x.name === 'pg-stuck');
    assert.match(stuckStatus.lastError, /connector pg-stuck disconnected/, 'the request reached it, and its node reported the loss');
    assert.equal(run.body.users.created, 6 + EXTRA);
    assert.ok(
      c.traffic.some((m) => m.includes('"k":"res"') && m.includes('"spill"')),
      'a page too large for NOTIFY waited in the store',
    );
    const t = await c.api('POST', `${T}/directories/${dirId}/test`);
    assert.equal(t.body.via, site.id);
    assert.equal((await signIn(c, alice)).ok, true);
    // Someone added to the directory after the sync signs in: looked up through the connector on the other node.
    await addEntry(ldap.url, OPENLDAP, 'uid=newhire,ou=Staff,dc=example,dc=test', {
      objectClass: 'inetOrgPerson',
      uid: 'newhire',
      cn: 'New Hire',
      sn: 'Hire',
      mail: 'newhire@example.test',
      userPassword: 'new-hire-pw',
    });
    assert.equal((await signIn(c, { email: 'newhire@example.test', password: 'new-hire-pw' })).ok, true);
    assertSealed(c);
    const q = new pg.Client({ connectionString: c.db.url });
    await q.connect();
    const { rows } = await q.query('SELECT count(*)::int AS n FROM connector_relay');
    await q.end();
    assert.equal(rows[0].n, 0, 'every message kept in the store was taken by its node');

    // A node that stops cleanly releases its connections: the other node knows at once (no wait for an answer).
    await c.holding.kill('SIGTERM');
    const down = await signIn(c, alice);
    assert.equal(down.status, 503);
    const audit = await c.api('GET', `${T}/audit?type=directory.unavailable`);
    assert.match(JSON.stringify(audit.body.items[0]), /No connector of this organization is connected to Gatehouse, so the directory cannot be reached/);
    assert.equal((await c.api('GET', `${T}/connectors`)).body.items.find((x: { name: string }) => x.name === 'pg-site').status, 'disconnected');
  } finally {
    hole.close(); // also when an assertion failed: an open server would keep the test process alive
  }
});
