// Signing keys that renew themselves (issue 16 points 1 and 2), end to end on one server
// (SQLite: the rules live in the KeyService, whose both-store tests are test/keys.test.ts).
// A data dir is made 23 months old by the real server run under Debian's faketime; then a
// server at today's date, with the key lifecycle's test clock (NODE_ENV=test), publishes a
// fresh next key at start and rotates to it on schedule 7 days later. A relying party that
// cached the JWKS before keeps working, tokens signed before still verify, the 60-day alert
// clears, `keys list --json` keeps its contract, and /metrics shows every certificate's expiry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { ADMIN, deployedApp, freePort, startTestServer, type TestServer } from './helpers/server.ts';
import { GENEROUS_MS, waitFor } from './helpers/wait.ts';
import { Agent } from './helpers/agent.ts';
import { codeFlow, rpConfig } from './helpers/rp.ts';
import { jwkWithCertificate } from './helpers/certs.ts';
import { runMaintenance } from '../src/ops/jobs.ts';
import { loadConfig } from '../src/config/index.ts';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin', 'gatehouse.js');
const DAY = 24 * 3600_000;
const AGE_DAYS = 700; // 23 months
const RP = 'https://app.example.test/cb';
const PW = 'correct horse battery staple 2';

let gh: TestServer;
let dataDir: string;
let jwksAtFirstStart: { keys: Array<{ kid: string; alg: string }> };

interface Key {
  kid: string;
  alg: string;
  status: string;
  publishedAt: number;
  activatesAt: number | null;
  notAfter: number;
  expiresSoon: boolean;
}
const keys = async (): Promise<Key[]> => (await gh.api('GET', '/tenants/default/keys')).body.items;
const jwks = async () => (await (await fetch(`${gh.base}/t/default/jwks`)).json()) as { keys: Array<{ kid: string; alg: string; d?: string }> };
const byStatus = (list: Key[], alg = 'RS256') => ({
  active: list.find((k) => k.alg === alg && k.status === 'active')!,
  next: list.find((k) => k.alg === alg && k.status === 'next')!,
  retired: list.filter((k) => k.alg === alg && k.status === 'retired'),
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
function cli(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        env: {
          ...process.env,
          GATEHOUSE_ADMIN_TOKEN: '',
          GATEHOUSE_ADMIN_TENANT: '',
          GATEHOUSE_URL: gh.base,
          GATEHOUSE_ADMIN_EMAIL: ADMIN.email,
          GATEHOUSE_ADMIN_PASSWORD: ADMIN.password,
        },
      },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * Debian's libfaketime, preloaded the way the `faketime` command does it, but into node itself:
 * the command forks, so stopping it would leave the server running on the data dir.
 */
function libfaketime(): string {
  const lib = path.join('faketime', 'libfaketime.so.1');
  const dir = fs
    .readdirSync('/usr/lib')
    .map((d) => path.join('/usr/lib', d))
    .find((d) => fs.existsSync(path.join(d, lib)));
  assert.ok(dir, 'libfaketime is missing: apt-get install faketime');
  return path.join(dir, lib);
}

/** `node src/main.ts` with its clock AGE_DAYS in the past; resolves once it says it runs. */
async function startInThePast(dir: string, port: number): Promise<{ child: ChildProcess; exited: Promise<unknown> }> {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      LD_PRELOAD: libfaketime(),
      FAKETIME: `-${AGE_DAYS}d`,
      DATABASE_URL: '',
      REDIS_URL: '',
      PORT: String(port),
      HOST: '127.0.0.1',
      GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      GATEHOUSE_DATA_DIR: dir,
      LOG_LEVEL: 'warn',
      GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
      GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '',
    err = '';
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const running = new Promise<boolean>((resolve) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('Gatehouse is running')) resolve(true);
    });
    child.once('exit', () => resolve(false));
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  assert.ok(await running, `the server under faketime did not start:\n${out}\n${err}`);
  return { child, exited };
}

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-keys-'));
  const port = await freePort();
  const past = await startInThePast(dataDir, port);
  try {
    jwksAtFirstStart = (await (await fetch(`http://127.0.0.1:${port}/t/default/jwks`)).json()) as typeof jwksAtFirstStart;
    const cert = new X509Certificate(Buffer.from((jwksAtFirstStart.keys[0] as unknown as { x5c: string[] }).x5c[0]!, 'base64'));
    assert.ok(Date.parse(cert.validFrom) < Date.now() - (AGE_DAYS - 1) * DAY, `the clock was moved: certificate from ${cert.validFrom}`);
  } finally {
    past.child.kill('SIGTERM');
    await past.exited;
  }
  // Today, with the key lifecycle's clock injectable (moved below by setting the offset).
  gh = await startTestServer({ NODE_ENV: 'test', GATEHOUSE_TEST_CLOCK_OFFSET_MS: '0' }, { dataDir });
});
after(async () => {
  await gh?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

let rp: { config: oidc.Configuration; jwksFetches: () => number; idToken: string; signedBy: string };

test('at start, a data dir 23 months old gets a fresh next key: the old one expired with the active key', async () => {
  assert.equal(jwksAtFirstStart.keys.length, 4, 'an active and a next key per algorithm, published 23 months ago');
  // The start-up run of the key lifecycle (on the leader) replaces the stale next keys.
  await waitFor(async () => (await keys()).filter((k) => k.status === 'next').every((k) => k.publishedAt > Date.now() - 10 * 60_000), {
    what: 'fresh next keys published at start',
    timeout: GENEROUS_MS,
  });
  const list = await keys();
  const old = new Set(jwksAtFirstStart.keys.map((k) => k.kid));
  for (const alg of ['RS256', 'ES256']) {
    const s = byStatus(list, alg);
    assert.ok(old.has(s.active.kid), `${alg}: the 23-month-old key still signs until the fresh one has been published 7 days`);
    assert.ok(s.active.notAfter < Date.now() + 31 * DAY && s.active.expiresSoon);
    assert.ok(!old.has(s.next.kid), `${alg}: a fresh next key`);
    assert.ok(s.next.notAfter > Date.now() + 729 * DAY, 'valid two years from its own creation');
    assert.ok(Math.abs(s.next.activatesAt! - (s.next.publishedAt + 7 * DAY)) < 1000, 'signs 7 days after it was published');
  }
  const now = (await jwks()).keys.map((k) => k.kid);
  const nextKids = list.filter((k) => k.status === 'next').map((k) => k.kid);
  assert.deepEqual(
    now.slice(0, 2).sort(),
    list
      .filter((k) => k.status === 'active')
      .map((k) => k.kid)
      .sort(),
    'the JWKS lists the signing keys first',
  );
  assert.deepEqual(now.slice(2).sort(), nextKids.sort(), 'then the fresh next keys; the stale ones never signed and are gone');
  const alerts = (await gh.api('GET', '/tenants/default/overview')).body.alerts;
  assert.ok(
    alerts.some((a: { kind: string }) => a.kind === 'idp_certificate_expiring'),
    'the 60-day alert is on meanwhile',
  );
});

test('keys list --json: exactly kid, alg, status, publishedAt, activatesAt, notAfter, in ISO 8601', async () => {
  const r = await cli(['keys', 'list', '--tenant', 'default', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const items = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  assert.ok(Array.isArray(items) && items.length === 4);
  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
  for (const k of items) {
    assert.deepEqual(Object.keys(k), ['kid', 'alg', 'status', 'publishedAt', 'activatesAt', 'notAfter']);
    assert.ok(['next', 'active', 'retired'].includes(k.status as string));
    for (const f of ['publishedAt', 'activatesAt', 'notAfter']) assert.match(k[f] as string, iso, `${f} of ${String(k.kid)}`);
  }
  const human = await cli(['keys', 'list', '--tenant', 'default']);
  assert.match(human.stdout, /EXPIRES WITHIN 60 DAYS/);
  assert.match(human.stdout, /signs from \d{4}-/);
});

test('a relying party signs in and caches the JWKS; keys rotate --now refuses the fresh key', async () => {
  const app = await deployedApp(gh, { name: 'crm', displayName: 'CRM', type: 'web', redirectUris: [RP] });
  await gh.api('POST', '/tenants/default/users', { email: 'alice@example.test', password: PW });
  const config = await rpConfig(`${gh.base}/t/default`, app.clientId, app.clientSecret);
  let fetches = 0;
  config[oidc.customFetch] = (url, options) => {
    if (new URL(url).pathname.endsWith('/jwks')) fetches++;
    return fetch(url, options as RequestInit);
  };
  const { tokens } = await codeFlow(config, new Agent(), { redirectUri: RP, email: 'alice@example.test', password: PW });
  const signedBy = jose.decodeProtectedHeader(tokens.id_token!).kid!;
  assert.equal(signedBy, byStatus(await keys(), jose.decodeProtectedHeader(tokens.id_token!).alg!).active.kid);
  rp = { config, jwksFetches: () => fetches, idToken: tokens.id_token!, signedBy };
  assert.ok(fetches <= 1);

  const before = await keys();
  const refused = await cli(['keys', 'rotate', '--tenant', 'default', '--now']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /published only 0 hours ago, less than the 7 days relying parties may cache the JWKS.*--force/s);
  assert.deepEqual(await keys(), before, 'a refusal changes nothing');
  const lone = await cli(['keys', 'rotate', '--tenant', 'default', '--force']);
  assert.equal(lone.code, 2);
  assert.match(lone.stderr, /--force only goes with --now/);
  const safe = await cli(['keys', 'rotate', '--tenant', 'default']);
  assert.equal(safe.code, 0, safe.stderr);
  assert.match(safe.stdout, /RS256: \S+ starts signing by itself at \d{4}-.*once relying parties have had time to fetch it/);
  assert.deepEqual(
    (await keys()).map((k) => [k.kid, k.status]),
    before.map((k) => [k.kid, k.status]),
  );
});

test('the admin API: hostile input is a 400, roles and tenants hold, no private key material anywhere', async () => {
  for (const body of [{ alg: 'HS256' }, { force: true }, { now: 'yes' }, { alg: ['RS256'] }, 'not json']) {
    const r = await gh.api('POST', '/tenants/default/keys/rotate', body);
    assert.equal(r.status, 400, JSON.stringify(body));
  }
  assert.equal((await gh.api('POST', '/tenants/nope/keys/rotate', {})).status, 404);
  assert.equal((await gh.api('POST', '/tenants', { slug: 'acme', name: 'Acme' })).status, 201);
  for (const [tenant, email, roles] of [
    ['default', 'auditor@example.test', ['auditor']],
    ['default', 'admin2@example.test', ['admin']],
    ['acme', 'root@acme.test', ['superadmin']],
  ] as const) {
    assert.equal((await gh.api('POST', `/tenants/${tenant}/users`, { email, password: PW, roles })).status, 201);
  }
  const token = async (email: string, tenant: string) => {
    const r = await fetch(`${gh.base}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PW, tenant }),
    });
    return ((await r.json()) as { access_token: string }).access_token;
  };
  const auditor = await token('auditor@example.test', 'default');
  assert.equal((await gh.api('GET', '/tenants/default/keys', undefined, auditor)).status, 200, 'an auditor sees the keys');
  const before = await keys();
  assert.equal((await gh.api('POST', '/tenants/default/keys/rotate', { now: true, force: true }, auditor)).status, 403);
  assert.equal(
    (await gh.api('POST', '/tenants/default/keys/rotate', { now: true, force: true }, await token('admin2@example.test', 'default'))).status,
    403,
    'rotation is for superadministrators',
  );
  const acme = await token('root@acme.test', 'acme');
  assert.equal((await gh.api('POST', '/tenants/default/keys/rotate', { now: true, force: true }, acme)).status, 403, "another tenant's superadministrator");
  assert.equal((await gh.api('GET', '/tenants/default/keys', undefined, acme)).status, 403);
  assert.deepEqual(await keys(), before, 'nothing was rotated');
  const everything = JSON.stringify([await gh.api('GET', '/tenants/default/keys'), await jwks(), await gh.api('GET', '/tenants/default/audit?limit=200')]);
  assert.doesNotMatch(everything, /"d":|private_sealed|PRIVATE KEY/);
});

test('/metrics (from loopback): the expiry of every active IdP certificate and every app-registered certificate', async () => {
  const app = await deployedApp(gh, { name: 'signer', displayName: 'Signer', type: 'web', redirectUris: [RP] });
  const notAfter = new Date(Math.floor((Date.now() + 80 * DAY) / 1000) * 1000);
  const { publicJwk } = await jwkWithCertificate(notAfter);
  assert.equal((await gh.api('PATCH', `/tenants/default/apps/${app.clientId}`, { jwks: { keys: [publicJwk] } })).status, 200);
  const text = await (await fetch(`${gh.base}/metrics`)).text();
  const gauge = (labels: string) => {
    const m = new RegExp(`^gatehouse_certificate_expiry_timestamp_seconds\\{${labels}\\} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const list = await keys();
  for (const k of list.filter((x) => x.status === 'active')) {
    assert.equal(gauge(`tenant="default",kind="idp",kid="${k.kid}"`), Math.floor(k.notAfter / 1000), `active ${k.alg} key`);
  }
  for (const k of list.filter((x) => x.status !== 'active')) assert.doesNotMatch(text, new RegExp(`kid="${k.kid}"`), 'only active keys');
  assert.equal(gauge(`tenant="default",kind="app",client_id="${app.clientId}"`), notAfter.getTime() / 1000);
  assert.match(text, /^gatehouse_certificate_expiry_timestamp_seconds\{tenant="acme",kind="idp",kid="[^"]+"\} \d+$/m, 'every tenant');
});

test('on schedule 7 days later: the fresh key signs, the old stays published, tokens and a cached JWKS keep working, the alert clears', async () => {
  const before = await keys();
  const fresh = byStatus(before).next;
  gh.services.config.testClockOffsetMs = fresh.activatesAt! - Date.now() + 60_000;
  await runMaintenance(gh.services); // what the leader runs every hour
  const after = await keys();
  const s = byStatus(after);
  assert.equal(s.active.kid, fresh.kid, 'the key published 7 days ago signs');
  assert.ok(
    s.retired.some((k) => k.kid === rp.signedBy),
    'the old key retired',
  );
  assert.ok(!s.active.expiresSoon);
  assert.ok(byStatus(after).next.activatesAt! > Date.now() + 500 * DAY, 'the next rotation is due 90 days before the new certificate expires');
  const alerts = (await gh.api('GET', '/tenants/default/overview')).body.alerts;
  assert.ok(!alerts.some((a: { kind: string }) => a.kind === 'idp_certificate_expiring'), JSON.stringify(alerts));

  const published = await jwks();
  assert.deepEqual(
    published.keys
      .slice(0, 2)
      .map((k) => k.kid)
      .sort(),
    after
      .filter((k) => k.status === 'active')
      .map((k) => k.kid)
      .sort(),
    'signing keys first',
  );
  assert.ok(
    published.keys.some((k) => k.kid === rp.signedBy),
    'the retired key stays in the JWKS while its tokens live',
  );
  await jose.jwtVerify(rp.idToken, jose.createLocalJWKSet(published as jose.JSONWebKeySet), { issuer: `${gh.base}/t/default` });

  const fetchesBefore = rp.jwksFetches();
  const { tokens } = await codeFlow(rp.config, new Agent(), { redirectUri: RP, email: 'alice@example.test', password: PW });
  assert.equal(jose.decodeProtectedHeader(tokens.id_token!).kid, fresh.kid, 'new tokens are signed by the fresh key');
  assert.equal(rp.jwksFetches(), fetchesBefore, 'the relying party verified them with the JWKS it cached before the rotation');

  const rotated = (await gh.api('GET', '/tenants/default/audit?type=keys.rotated')).body.items;
  assert.ok(
    rotated.some((e: { data: { activated: string[] } }) => e.data.activated.includes(fresh.kid)),
    'the rotation is audited',
  );

  const text = await (await fetch(`${gh.base}/metrics`)).text();
  assert.match(text, new RegExp(`kind="idp",kid="${fresh.kid}"\\} ${Math.floor(s.active.notAfter / 1000)}`));
  assert.doesNotMatch(text, new RegExp(`kid="${rp.signedBy}"`));

  // A day later every token the old key signed has expired: it leaves the JWKS.
  gh.services.config.testClockOffsetMs += DAY + 60_000;
  await runMaintenance(gh.services);
  assert.ok(!(await jwks()).keys.some((k) => k.kid === rp.signedBy));
  // (A fresh admin token: the cached one was signed by the old key, 8 days ago on the key clock.)
  const fresh2 = await fetch(`${gh.base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
  const left = await gh.api('GET', '/tenants/default/keys', undefined, ((await fresh2.json()) as { access_token: string }).access_token);
  assert.equal(left.status, 200, JSON.stringify(left.body));
  assert.ok(!(left.body.items as Key[]).some((k) => k.kid === rp.signedBy));
});

test('settings: publication period and rotation lead are checked; the test clock is refused outside tests', () => {
  const base = { GATEHOUSE_DATA_DIR: '/tmp/x' };
  assert.deepEqual(loadConfig(base).keys, { publishDays: 7, rotateBeforeDays: 90 });
  assert.throws(() => loadConfig({ ...base, GATEHOUSE_KEY_ROTATE_BEFORE_DAYS: '60' }), /GATEHOUSE_KEY_ROTATE_BEFORE_DAYS: must be 61 or more/);
  assert.throws(() => loadConfig({ ...base, GATEHOUSE_KEY_PUBLISH_DAYS: '0' }), /GATEHOUSE_KEY_PUBLISH_DAYS: must be 1 or more/);
  assert.deepEqual(loadConfig({ ...base, GATEHOUSE_KEY_PUBLISH_DAYS: '14', GATEHOUSE_KEY_ROTATE_BEFORE_DAYS: '120' }).keys, {
    publishDays: 14,
    rotateBeforeDays: 120,
  });
  assert.throws(() => loadConfig({ ...base, GATEHOUSE_TEST_CLOCK_OFFSET_MS: '1000' }), /only for tests \(NODE_ENV=test\)/);
  assert.equal(loadConfig(base).testClockOffsetMs, undefined);
});
