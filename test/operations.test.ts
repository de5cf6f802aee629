// Operations: health, readiness, metrics, first-administrator setup link, declarative import,
// one process per SQLite data dir, durability across kill -9, maintenance, session lifetime,
// graceful shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as oidc from 'openid-client';
import { startTestServer, freePort, ADMIN } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';
import { Agent, text } from './helpers/agent.ts';
import { rpConfig, codeFlow } from './helpers/rp.ts';
import { runMaintenance } from '../src/ops/jobs.ts';

const root = path.resolve(import.meta.dirname, '..');
const RP = 'https://app.example.test/cb';

/** Start `node src/main.ts` as its own process; resolves when it prints that it is running. */
async function spawnServer(dataDir: string, port: number, env: Record<string, string> = {}, args: string[] = []) {
  const child = spawn(process.execPath, ['src/main.ts', ...args], {
    cwd: root,
    // These are embedded-store tests: the machine's PostgreSQL/Redis settings must not leak in.
    env: {
      ...process.env,
      DATABASE_URL: '',
      REDIS_URL: '',
      PORT: String(port),
      HOST: '127.0.0.1',
      GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      GATEHOUSE_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let announced: (v: boolean) => void;
  const running = new Promise<boolean>((resolve) => {
    announced = resolve;
  });
  child.stdout!.on('data', (d) => {
    out += d;
    if (out.includes('Gatehouse is running')) announced(true);
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      announced(false);
      resolve(code);
    }),
  );
  const ready = await running;
  return { child, ready, exited, output: () => out, errors: () => err };
}
const stop = async (c: ChildProcess, exited: Promise<unknown>) => {
  if (c.exitCode === null) c.kill('SIGTERM');
  await exited;
};
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gh-ops-'));

test('healthz, readyz and Prometheus metrics', async () => {
  const gh = await startTestServer();
  try {
    assert.deepEqual(await (await fetch(`${gh.base}/healthz`)).json(), { status: 'ok' });
    // Addresses people and programs may try: a tenant's own page, unknown pages, unknown API routes.
    const home = await fetch(`${gh.base}/t/default`, { headers: { accept: 'text/html' } });
    assert.equal(home.status, 200);
    assert.match(await home.text(), /single sign-on service of Default organization/);
    const missing = await fetch(`${gh.base}/no/such/page`, { headers: { accept: 'text/html' } });
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /Page not found/);
    const api = await fetch(`${gh.base}/api/v1/nope`);
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as any).error.code, 'not_found');
    const ready = await fetch(`${gh.base}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as any).checks.database, 'ok');
    const svc = await gh.api('POST', '/tenants/default/apps', { name: 'svc', displayName: 'Svc', type: 'service' });
    await oidc.clientCredentialsGrant(await rpConfig(`${gh.base}/t/default`, svc.body.clientId, svc.body.clientSecret), {});
    const metrics = await (await fetch(`${gh.base}/metrics`)).text();
    assert.match(metrics, /gatehouse_tokens_issued_total\{grant_type="client_credentials"\} 1/);
    assert.match(metrics, /gatehouse_http_request_duration_seconds_bucket\{le="[^"]+",route="\/t\/:tenant\/token",method="POST"\}/);
    assert.match(metrics, /gatehouse_http_requests_total\{route="\/readyz",method="GET",status="200"\} 1/);
  } finally {
    await gh.close();
  }
});

test('without a bootstrap administrator, start prints a one-time setup link that works once', async () => {
  const dir = tmpDir();
  const port = await freePort();
  const s = await spawnServer(dir, port);
  try {
    assert.ok(s.ready, s.errors());
    const link = /(http:\/\/127\.0\.0\.1:\d+\/setup\/[\w-]+)/.exec(s.output())?.[1];
    assert.ok(link, s.output());
    assert.match(s.output(), /Issuer \(default tenant\):\s+http:\/\/127\.0\.0\.1:\d+\/t\/default/);
    const agent = new Agent();
    await agent.follow(link, 'never');
    assert.match(text(agent.lastBody), /Create the first administrator/);
    const f = agent.form();
    await agent.follow(f.action, 'never', { form: { ...f.fields, email: 'first@example.test', password: 'short' } });
    assert.equal(agent.lastStatus, 400, 'a short password is refused');
    await agent.follow(f.action, 'never', { form: { ...f.fields, email: 'first@example.test', password: 'a long enough passphrase' } });
    assert.match(text(agent.lastBody), /first@example\.test is now a superadministrator/);
    const tok = await fetch(`http://127.0.0.1:${port}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'first@example.test', password: 'a long enough passphrase' }),
    });
    assert.equal(tok.status, 200);
    const again = await fetch(link);
    assert.equal(again.status, 410, 'the link works once');
  } finally {
    await stop(s.child, s.exited);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a second process on the same SQLite data dir refuses to start with a clear message', async () => {
  const dir = tmpDir();
  const first = await spawnServer(dir, await freePort(), { GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password });
  try {
    assert.ok(first.ready, first.errors());
    const second = await spawnServer(dir, await freePort());
    assert.equal(second.ready, false);
    assert.equal(await second.exited, 2);
    assert.match(second.errors(), /in use by process \d+/);
    assert.match(second.errors(), /Only one Gatehouse process/);
  } finally {
    await stop(first.child, first.exited);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('import: the same file twice changes nothing; a bad file stops start-up naming the problem', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'seed.yaml');
  fs.writeFileSync(
    file,
    `
tenants:
  - slug: clinic
    sessionLifetimeMinutes: 60
    ous: [/Wards/North]
    users:
      - { email: nurse@clinic.test, password: nurse-password-1, givenName: Nora, ou: /Wards/North, groups: [Nurses] }
    apps:
      - name: emr
        displayName: EMR
        type: web
        clientId: emr-client-0001
        clientSecret: emr-secret-that-is-at-least-32-characters
        redirectUris: [${RP}]
        deploy: [{ group: Nurses }]
      - name: portal
        displayName: Vendor Portal
        type: saml
        clientId: portal-saml-0001
        saml:
          entityId: https://portal.clinic.test/sp
          acs: [{ url: https://portal.clinic.test/acs }]
          slo: { url: https://portal.clinic.test/slo, binding: redirect }
          nameIdFormat: persistent
          attributes: [{ name: mail, attribute: email }]
        deploy: [all]
`,
  );
  const gh = await startTestServer({}, { importFile: file });
  try {
    const config = await rpConfig(`${gh.base}/t/clinic`, 'emr-client-0001', 'emr-secret-that-is-at-least-32-characters');
    const { tokens } = await codeFlow(config, new Agent(), { redirectUri: RP, email: 'nurse@clinic.test', password: 'nurse-password-1' });
    assert.equal(tokens.claims()!.given_name, 'Nora');
    const { importFile } = await import('../src/tenants/import.ts');
    const second = await importFile(gh.services, file);
    assert.deepEqual(second.changes, [], 'importing the same file again changes nothing');
    const portal = await gh.api('GET', '/tenants/clinic/apps/portal-saml-0001');
    assert.equal(portal.status, 200, JSON.stringify(portal.body));
    assert.equal(portal.body.type, 'saml');
    assert.equal(portal.body.saml.entityId, 'https://portal.clinic.test/sp');
    assert.equal(portal.body.saml.nameIdFormat, 'persistent');
    assert.equal(portal.body.saml.sign, 'both', 'the defaults fill in what the file does not say');
    assert.equal(portal.body.deployment.all, true);
    // Start-up fetches nothing: an SP's metadata is pasted (metadataXml), never a URL.
    const fetching = path.join(dir, 'fetching.yaml');
    fs.writeFileSync(
      fetching,
      `tenants:\n  - slug: clinic\n    apps:\n      - { name: p2, displayName: P2, type: saml, clientId: portal-saml-0002, saml: { metadataUrl: 'https://portal.clinic.test/md' } }\n`,
    );
    await assert.rejects(importFile(gh.services, fetching), /metadataUrl/);
    const show = await gh.api('GET', '/tenants/clinic');
    assert.equal(show.body.sessionLifetimeMinutes, 60);
    assert.equal(show.body.issuer, `${gh.base}/t/clinic`);
  } finally {
    await gh.close();
  }
  fs.writeFileSync(file, 'tenants:\n  - slug: Bad Slug\n');
  const s = await spawnServer(dir, await freePort(), {}, ['--import', file]);
  assert.equal(s.ready, false);
  assert.equal(await s.exited, 2);
  assert.match(s.errors(), /tenants\.0\.slug/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('nothing acknowledged is lost when the server is killed with SIGKILL mid-load', async () => {
  const dir = tmpDir();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password };
  let s = await spawnServer(dir, port, env);
  assert.ok(s.ready, s.errors());
  const token = (
    (await (
      await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
    ).json()) as any
  ).access_token;
  const api = (method: string, p: string, body?: unknown) =>
    fetch(`${base}/api/v1${p}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  await api('POST', '/tenants/default/users', { email: 'rt@example.test', password: 'rt-password-1' });
  const appRes = (await (await api('POST', '/tenants/default/apps', { name: 'crm', displayName: 'CRM', type: 'web', redirectUris: [RP] })).json()) as any;
  await api('POST', `/tenants/default/apps/${appRes.clientId}/deployment/targets`, { all: true });
  const config = await rpConfig(`${base}/t/default`, appRes.clientId, appRes.clientSecret);

  const users: string[] = [];
  const apps: string[] = [];
  const refreshTokens: string[] = [];
  let running = true;
  const loop = async (work: (i: number) => Promise<void>) => {
    for (let i = 0; running; i++)
      await work(i).catch(() => {
        running = false;
      });
  };
  const load = Promise.all([
    loop(async (i) => {
      const email = `load${i}@example.test`;
      if ((await api('POST', '/tenants/default/users', { email, password: 'load-password-1' })).status === 201) users.push(email);
    }),
    loop(async (i) => {
      const r = await api('POST', '/tenants/default/apps', { name: `app${i}`, displayName: `App ${i}`, type: 'service' });
      if (r.status === 201) apps.push(((await r.json()) as any).clientId);
    }),
    loop(async () => {
      const { tokens } = await codeFlow(config, new Agent(), { redirectUri: RP, email: 'rt@example.test', password: 'rt-password-1' });
      refreshTokens.push(tokens.refresh_token!);
    }),
  ]);
  // The kill comes once enough acknowledged writes exist (or a loop stopped on an error), however long that takes.
  await waitFor(() => !running || (users.length >= 20 && refreshTokens.length >= 5), { what: 'acknowledged writes before the kill' });
  s.child.kill('SIGKILL');
  await s.exited;
  running = false;
  await load;
  assert.ok(users.length >= 5 && refreshTokens.length >= 1, `enough load before the kill (${users.length} users, ${refreshTokens.length} refresh tokens)`);

  s = await spawnServer(dir, port, env);
  try {
    assert.ok(s.ready, s.errors());
    const fresh = (
      (await (
        await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
      ).json()) as any
    ).access_token;
    const get = (p: string) => fetch(`${base}/api/v1${p}`, { headers: { authorization: `Bearer ${fresh}` } });
    for (const email of users) assert.equal((await get(`/tenants/default/users/${email}`)).status, 200, `user ${email} survived`);
    for (const id of apps) assert.equal((await get(`/tenants/default/apps/${id}`)).status, 200, `app ${id} survived`);
    for (const rt of refreshTokens) {
      const intro = await oidc.tokenIntrospection(config, rt);
      assert.equal(intro.active, true, 'refresh token (and its grant) survived');
    }
    const refreshed = await oidc.refreshTokenGrant(config, refreshTokens[0]!);
    assert.ok(refreshed.access_token);
  } finally {
    await stop(s.child, s.exited);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('maintenance purges expired artifacts and audits certificates near expiry', async () => {
  const gh = await startTestServer();
  try {
    const db = gh.services.database.db;
    await db
      .insertInto('oidc_artifacts')
      .values({
        model: 'Session',
        id: 'old',
        tenant_id: 'x',
        payload: '{}',
        grant_id: null,
        user_code: null,
        uid: null,
        expires_at: Date.now() - 1000,
        consumed_at: null,
      })
      .execute();
    const tenant = await gh.services.tenantStore.getBySlug('default');
    const active = (await gh.services.keyService.list(tenant.id)).find((k) => k.status === 'active')!;
    await db
      .updateTable('signing_keys')
      .set({ not_after: Date.now() + 10 * 24 * 3600e3 })
      .where('kid', '=', active.kid)
      .execute();
    const res = await runMaintenance(gh.services);
    assert.ok(res.purged >= 1);
    assert.equal(await db.selectFrom('oidc_artifacts').select('id').where('id', '=', 'old').executeTakeFirst(), undefined);
    const warn = await gh.api('GET', '/tenants/default/audit?type=keys.certificate_expiring');
    assert.equal(warn.body.items[0].subject, active.kid);
    assert.equal(warn.body.items[0].level, 'warn');
    const keys = await gh.api('GET', '/tenants/default/keys');
    assert.equal(keys.body.items.find((k: any) => k.kid === active.kid).expiresSoon, true);
  } finally {
    await gh.close();
  }
});

test('session lifetime per tenant: validated, and the session cookie follows it', async () => {
  const gh = await startTestServer();
  try {
    assert.equal((await gh.api('PATCH', '/tenants/default', { sessionLifetimeMinutes: 10 })).status, 400);
    assert.equal((await gh.api('PATCH', '/tenants/default', { sessionLifetimeMinutes: 6000 })).status, 400);
    assert.equal((await gh.api('PATCH', '/tenants/default', { sessionLifetimeMinutes: 30 })).status, 200);
    await gh.api('POST', '/tenants/default/users', { email: 's@example.test', password: 's-password-1' });
    const app = await gh.api('POST', '/tenants/default/apps', { name: 'a', displayName: 'A', type: 'web', redirectUris: [RP] });
    await gh.api('POST', `/tenants/default/apps/${app.body.clientId}/deployment/targets`, { all: true });
    const config = await rpConfig(`${gh.base}/t/default`, app.body.clientId, app.body.clientSecret);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    // Drive the sign-in by hand to see the Set-Cookie of the session.
    const agent = new Agent();
    await agent.follow(url.href, RP);
    let f = agent.form();
    await agent.follow(f.action, RP, { form: { ...f.fields, email: 's@example.test' } });
    f = agent.form();
    const res = await agent.request(f.action, { form: { ...f.fields, email: 's@example.test', password: 's-password-1' } });
    const resume = await agent.request(new URL(res.headers.get('location')!, gh.base).href);
    const session = resume.headers.getSetCookie().find((c) => c.startsWith('gh_session='));
    assert.ok(session, 'session cookie set');
    const maxAge = Number(/max-age=(\d+)/i.exec(session!)?.[1] ?? NaN);
    const expires = Date.parse(/expires=([^;]+)/i.exec(session!)?.[1] ?? '');
    const seconds = Number.isFinite(maxAge) ? maxAge : (expires - Date.now()) / 1000;
    assert.ok(seconds > 29 * 60 && seconds <= 30 * 60 + 5, `session cookie lives ${seconds}s`);
    assert.match(session!, /path=\/t\/default/i);
    assert.match(session!, /httponly/i);
    assert.match(session!, /samesite=lax/i);
  } finally {
    await gh.close();
  }
});

test('graceful shutdown lets in-flight requests finish', async () => {
  const gh = await startTestServer();
  const svc = await gh.api('POST', '/tenants/default/apps', { name: 'svc', displayName: 'Svc', type: 'service' });
  const config = await rpConfig(`${gh.base}/t/default`, svc.body.clientId, svc.body.clientSecret);
  // Close once all ten requests have reached the server and none has been answered yet.
  let arrived = 0;
  const allArrived = new Promise<void>((resolve) =>
    gh.server.on('request', () => {
      if (++arrived === 10) resolve();
    }),
  );
  const inflight = Array.from({ length: 10 }, () => oidc.clientCredentialsGrant(config, {}));
  await allArrived;
  const closing = gh.close();
  const results = await Promise.allSettled(inflight);
  await closing;
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 10);
});

test('logs never contain passwords, client secrets or tokens', async () => {
  const dir = tmpDir();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const s = await spawnServer(dir, port, {
    LOG_LEVEL: 'trace',
    GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
  });
  try {
    assert.ok(s.ready, s.errors());
    const token = (
      (await (
        await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
      ).json()) as any
    ).access_token;
    const app = (await (
      await fetch(`${base}/api/v1/tenants/default/apps`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ name: 'svc', displayName: 'Svc', type: 'service' }),
      })
    ).json()) as any;
    const t = await oidc.clientCredentialsGrant(await rpConfig(`${base}/t/default`, app.clientId, app.clientSecret), {});
    await fetch(`${base}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: ADMIN.email, password: 'wrong-password-123' }),
    });
    await stop(s.child, s.exited);
    const logs = s.output() + s.errors();
    assert.ok(logs.length > 0);
    for (const secret of [ADMIN.password, 'wrong-password-123', app.clientSecret, t.access_token, token])
      assert.ok(!logs.includes(secret), 'a secret reached the logs');
  } finally {
    await stop(s.child, s.exited);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
