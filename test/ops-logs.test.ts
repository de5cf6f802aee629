// What a SIEM and a log pipeline receive from one real `gatehouse` process: the audit stream
// on standard output (GATEHOUSE_AUDIT_STREAM=stdout) and the request log
// (GATEHOUSE_ACCESS_LOG=true), after full flows — admin API with a bearer token, password
// sign-in, TOTP enrollment and sign-in with a code, code exchange, refresh, client
// credentials, userinfo, introspection. Every secret those flows handled is then looked for
// in the output: none may be there. Also who may read /metrics on the main port.
// SQLite only: storage plays no part in what is written to the output.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as oidc from 'openid-client';
import { ADMIN, freePort, startTestServer } from './helpers/server.ts';
import { spawnServer, type Spawned } from './helpers/spawn.ts';
import { Agent, text } from './helpers/agent.ts';
import { rpConfig } from './helpers/rp.ts';
import { totpCode } from './helpers/totp.ts';
import { waitFor } from './helpers/wait.ts';

const RP = 'https://app.example.test/cb';
const METRICS_TOKEN = 'metrics-token-'.padEnd(48, 'm');
const alice = { email: 'alice@example.test', password: 'alice the hospital nurse 7' };
const bob = { email: 'bob@example.test', password: 'bob the surgeon password 9' };
let dir: string;
let s: Spawned;
let base: string;
let issuer: string;
/** Every secret value the flows below handle: none may appear in the output. */
const secrets = new Map<string, string>();
const keep = (what: string, value: string | undefined) => {
  assert.ok(value && value.length >= 6, `${what} was captured`);
  secrets.set(what, value);
};

let adminToken: string;
async function api<T = any>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> {
  const r = await fetch(`${base}/api/v1${p}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const t = await r.text();
  return { status: r.status, body: t ? JSON.parse(t) : undefined };
}

/** Identifier, then password, on the sign-in pages; stops at the relying party or at the next page (MFA, account). */
async function passwordSteps(agent: Agent, startUrl: string, who: { email: string; password: string }): Promise<string | null> {
  const direct = await agent.follow(startUrl, RP);
  if (direct) return direct;
  let f = agent.form();
  assert.equal(await agent.follow(f.action, RP, { form: { ...f.fields, email: who.email } }), null);
  f = agent.form();
  return agent.follow(f.action, RP, { form: { ...f.fields, email: who.email, password: who.password } });
}

const outputLines = () =>
  s
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>);

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-oplogs-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  issuer = `${base}/t/default`;
  s = await spawnServer(dir, port, {
    GATEHOUSE_AUDIT_STREAM: 'stdout',
    GATEHOUSE_ACCESS_LOG: 'true',
    GATEHOUSE_METRICS_TOKEN: METRICS_TOKEN,
    GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
  });
  assert.ok(s.ready, s.errors());
  secrets.set('admin password', ADMIN.password);
  const t = await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
  adminToken = ((await t.json()) as { access_token: string }).access_token;
  keep('admin API bearer token', adminToken);
  secrets.set('metrics token', METRICS_TOKEN);
});

after(async () => {
  await s?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('full flows: audit events on stdout as JSON lines, one request log line per request, and no secret in either', async () => {
  for (const who of [alice, bob]) {
    assert.equal((await api('POST', '/tenants/default/users', who)).status, 201);
    secrets.set(`${who.email}'s password`, who.password);
  }
  const web = await api('POST', '/tenants/default/apps', { name: 'web', displayName: 'Web', type: 'web', redirectUris: [RP] });
  assert.equal(web.status, 201);
  keep('web client secret', web.body.clientSecret);
  const svc = await api('POST', '/tenants/default/apps', { name: 'svc', displayName: 'Service', type: 'service' });
  keep('service client secret', svc.body.clientSecret);
  for (const c of [web.body.clientId, svc.body.clientId]) assert.equal((await api('PUT', `/tenants/default/apps/${c}/deployment`, { all: true })).status, 200);
  const rotated = await api('POST', `/tenants/default/apps/${web.body.clientId}/secret`);
  keep('regenerated client secret', rotated.body.clientSecret);
  const config = await rpConfig(issuer, web.body.clientId, rotated.body.clientSecret);

  // Alice: password sign-in, code exchange, userinfo, refresh, introspection.
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const authUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: RP,
    scope: 'openid email offline_access',
    prompt: 'consent',
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const agent = new Agent();
  const callback = await passwordSteps(agent, authUrl.href, alice);
  assert.ok(callback, text(agent.lastBody).slice(0, 300));
  keep('authorization code', new URL(callback).searchParams.get('code')!);
  keep('state', state);
  keep('PKCE verifier', verifier);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
  keep('access token', tokens.access_token);
  keep('ID token', tokens.id_token);
  keep('refresh token', tokens.refresh_token);
  await oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck);
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  keep('refreshed access token', refreshed.access_token);
  keep('second refresh token', refreshed.refresh_token);
  assert.equal((await oidc.tokenIntrospection(config, refreshed.access_token)).active, true);
  for (const [name, value] of agent.jar) keep(`cookie ${name}`, value);

  // Bob: a TOTP authenticator added on the account page, then a sign-in with its code.
  const bobAgent = new Agent();
  assert.equal(await passwordSteps(bobAgent, `${issuer}/account`, bob), null);
  assert.match(text(bobAgent.lastBody), /Your account/);
  assert.equal(await bobAgent.follow(`${issuer}/account/totp`, RP), null);
  const totpSecret = /id="totp-secret">([^<]+)</.exec(bobAgent.lastBody)?.[1]?.replace(/\s+/g, '');
  keep('TOTP key', totpSecret);
  const enrollCode = totpCode(totpSecret!);
  keep('TOTP code (enrollment)', enrollCode);
  let f = bobAgent.form();
  assert.equal(await bobAgent.follow(f.action, RP, { form: { ...f.fields, code: enrollCode } }), null);
  const recovery = [...bobAgent.lastBody.matchAll(/<code>([^<]+)<\/code>/g)].map((m) => m[1]!);
  assert.ok(recovery.length >= 10, text(bobAgent.lastBody).slice(0, 300));
  keep('a recovery code', recovery[0]);
  const mfaAgent = new Agent();
  const bobUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: RP,
    scope: 'openid',
    state: oidc.randomState(),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  assert.equal(await passwordSteps(mfaAgent, bobUrl.href, bob), null);
  assert.match(text(mfaAgent.lastBody), /Two-step verification/);
  const signInCode = totpCode(totpSecret!, Date.now() + 30_000); // the enrollment's step is spent
  keep('TOTP code (sign-in)', signInCode);
  f = mfaAgent.form();
  const bobCallback = await mfaAgent.follow(f.action, RP, { form: { ...f.fields, code: signInCode } });
  assert.ok(bobCallback, text(mfaAgent.lastBody).slice(0, 300));
  keep("Bob's authorization code", new URL(bobCallback).searchParams.get('code')!);
  for (const [name, value] of [...bobAgent.jar, ...mfaAgent.jar]) keep(`Bob's cookie ${name}`, value);

  // A service: client credentials.
  const svcConfig = await rpConfig(issuer, svc.body.clientId, svc.body.clientSecret);
  keep('client credentials access token', (await oidc.clientCredentialsGrant(svcConfig, {})).access_token);
  // A wrong password and a wrong client secret: failures are audited too, without what was typed.
  const wrong = new Agent();
  assert.equal(await passwordSteps(wrong, authUrl.href, { email: alice.email, password: 'not-alices-password-xyz' }), null);
  secrets.set('a wrong password', 'not-alices-password-xyz');
  const bad = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${svc.body.clientId}:wrong-secret-value-123`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  assert.equal(bad.status, 401);
  secrets.set('a wrong client secret', 'wrong-secret-value-123');

  // The stream: each stored event once on stdout, with "stream":"audit".
  const stored = (await api('GET', '/tenants/default/audit?limit=500')).body.items as Array<{ id: string; type: string }>;
  await waitFor(
    () => {
      const ids = new Set(
        outputLines()
          .filter((l) => l.stream === 'audit')
          .map((l) => l.id),
      );
      return stored.every((e) => ids.has(e.id));
    },
    { what: 'every stored event on stdout' },
  );
  const lines = outputLines();
  const audit = lines.filter((l) => l.stream === 'audit');
  assert.equal(new Set(audit.map((l) => l.id)).size, audit.length, 'each event once');
  const types = new Set(audit.map((l) => l.type));
  for (const t of ['signin.succeeded', 'signin.password_ok', 'mfa.enrolled', 'mfa.succeeded', 'token.issued', 'signin.failed', 'token.error'])
    assert.ok(types.has(t), `${t} streamed (got ${[...types].join(', ')})`);
  const ok = audit.find((l) => l.type === 'signin.succeeded' && l.data.email === alice.email)!;
  assert.equal(ok.data.email, alice.email);
  assert.match(ok.time, /^\d{4}-\d\d-\d\dT/);
  assert.ok(ok.tenantId && ok.userId && ok.ip);

  // The request log: every request, by route pattern, with status, duration, address, tenant, client.
  const access = lines.filter((l) => l.stream === 'access');
  const token = access.filter((l) => l.route === '/t/:tenant/token' && l.method === 'POST');
  assert.ok(token.length >= 4, 'code exchange, refresh, client credentials, the refused one');
  assert.ok(
    token.some(
      (l) => l.status === 200 && l.clientId === web.body.clientId && l.tenant === 'default' && l.ip === '127.0.0.1' && typeof l.durationMs === 'number',
    ),
  );
  assert.ok(
    token.some((l) => l.status === 401),
    'the refused request is logged too',
  );
  assert.ok(
    access.some((l) => l.route === '/t/:tenant/auth' && l.clientId === web.body.clientId),
    'the authorization request names its client',
  );
  assert.ok(access.some((l) => l.route === '/api/v1/tenants/:slug/users' && l.method === 'POST' && l.status === 201 && l.tenant === 'default'));
  assert.ok(
    access.some((l) => l.route === '/t/:slug/interaction/:uid/password' && l.method === 'POST'),
    'sign-in pages by pattern',
  );
  assert.ok(
    access.some((l) => l.route === '/t/:tenant/token/introspection' && l.clientId === web.body.clientId),
    'introspection is not the token endpoint',
  );
  for (const l of access) {
    // Every segment a parameter or a fixed word: no ids, codes or tokens.
    for (const seg of l.route.split('/').slice(1))
      assert.match(seg, /^(:\w+|v1|[a-z][a-z.-]*|\.well-known|gatehouse\.css|[a-z]+\.js)$/, `a pattern, never a raw path: ${l.route}`);
    assert.deepEqual(
      Object.keys(l).filter((k) => !['stream', 'time', 'method', 'route', 'status', 'durationMs', 'ip', 'tenant', 'clientId', 'aborted'].includes(k)),
      [],
    );
  }
  if (process.env.GH_DUMP_OUTPUT) fs.writeFileSync(process.env.GH_DUMP_OUTPUT, s.output());
  // No secret, anywhere on the output (audit, request log, application log alike).
  const all = s.output() + s.errors();
  for (const [what, value] of secrets) {
    assert.ok(!all.includes(value), `the ${what} appears in the output`);
    assert.ok(!all.includes(encodeURIComponent(value)), `the ${what} (URL-encoded) appears in the output`);
  }
  assert.doesNotMatch(all, /authorization"|cookie"|Bearer /i);
});

test('/metrics on the main port: from this machine, or anywhere with the metrics token; a proxied or wrong-token request gets the 404 of an unknown address', async () => {
  const local = await fetch(`${base}/metrics`);
  assert.equal(local.status, 200);
  assert.match(await local.text(), /gatehouse_http_requests_total/);
  // Through a reverse proxy on this host every request comes from loopback: its headers tell.
  for (const h of [{ 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }, { 'x-real-ip': '203.0.113.9' }] as Record<string, string>[]) {
    const r = await fetch(`${base}/metrics`, { headers: { ...h, accept: 'application/json' } });
    assert.equal(r.status, 404, JSON.stringify(h));
    assert.deepEqual(await r.json(), { error: 'not_found', error_description: 'There is nothing at /metrics.' });
  }
  const unknown = await fetch(`${base}/no-such-thing`, { headers: { 'x-forwarded-for': '203.0.113.9', accept: 'application/json' } });
  assert.equal(unknown.status, 404);
  for (const auth of [
    `Bearer ${METRICS_TOKEN}x`,
    `Bearer ${METRICS_TOKEN.slice(0, -1)}`,
    'Bearer ',
    `Basic ${METRICS_TOKEN}`,
    METRICS_TOKEN,
    `Bearer ${adminToken}`,
  ]) {
    const r = await fetch(`${base}/metrics`, { headers: { authorization: auth, 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(r.status, 404, `refused: ${auth.slice(0, 12)}…`);
    await r.arrayBuffer();
  }
  const withToken = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}`, 'x-forwarded-for': '203.0.113.9' } });
  assert.equal(withToken.status, 200);
  assert.match(await withToken.text(), /^gatehouse_scheduler_leader 1$/m);
  // Without GATEHOUSE_TRUST_PROXY a forged X-Forwarded-For does not change the logged address.
  await waitFor(() => outputLines().filter((l) => l.stream === 'access' && l.route === '/metrics').length >= 11, { what: 'the request log lines of /metrics' });
  for (const l of outputLines().filter((l) => l.stream === 'access' && l.route === '/metrics')) assert.equal(l.ip, '127.0.0.1');
});

test('GATEHOUSE_METRICS_PORT: a listener serving only GET /metrics; the main port then wants the token even from this machine', async () => {
  const metricsPort = await freePort();
  const gh = await startTestServer({ GATEHOUSE_METRICS_PORT: String(metricsPort), GATEHOUSE_METRICS_TOKEN: METRICS_TOKEN });
  try {
    const m = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(m.status, 200);
    assert.match(await m.text(), /gatehouse_scheduler_leader 1/);
    for (const [method, p] of [
      ['GET', '/'],
      ['GET', '/api/v1/tenants'],
      ['POST', '/metrics'],
      ['GET', '/metrics/../api/v1/tenants'],
    ]) {
      const r = await fetch(`http://127.0.0.1:${metricsPort}${p}`, { method });
      assert.equal(r.status, 404, `${method} ${p}`);
      assert.match(await r.text(), /serves only GET \/metrics/);
    }
    const main = await fetch(`${gh.base}/metrics`);
    assert.equal(main.status, 404);
    await main.arrayBuffer();
    assert.equal((await fetch(`${gh.base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status, 200);
  } finally {
    await gh.close();
  }
  // Stopped with the server.
  await assert.rejects(fetch(`http://127.0.0.1:${metricsPort}/metrics`));
});
