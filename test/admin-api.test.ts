// Admin API: authentication, roles, validation, optimistic concurrency, deployments by group
// and OU, secrets shown once, audit of every change, and no 5xx on hostile input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { Agent } from './helpers/agent.ts';
import { rpConfig, codeFlow } from './helpers/rp.ts';

let gh: TestServer;
const RP = 'https://app.example.test/cb';
before(async () => {
  gh = await startTestServer();
});
after(async () => {
  await gh?.close();
});

const tokenFor = async (email: string, password: string, tenant = 'default') => {
  const r = await fetch(`${gh.base}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, tenant }),
  });
  return { status: r.status, body: (await r.json()) as any };
};

test('no token, a bad token or a non-administrator gets 401/403 with a clear message', async () => {
  const none = await gh.api('GET', '/tenants', undefined, '');
  assert.equal(none.status, 401);
  assert.match(none.body.error.message, /Authorization: Bearer/);
  assert.equal((await gh.api('GET', '/tenants', undefined, 'garbage')).status, 401);
  const forged = (await gh.adminToken()).split('.');
  forged[1] = Buffer.from(JSON.stringify({ sub: 'x', tenant: 'default', roles: ['superadmin'] })).toString('base64url');
  assert.equal((await gh.api('GET', '/tenants', undefined, forged.join('.'))).status, 401);
  await gh.api('POST', '/tenants/default/users', { email: 'plain@example.test', password: 'plain-password-1' });
  const plain = await tokenFor('plain@example.test', 'plain-password-1');
  assert.equal(plain.status, 403);
  assert.match(plain.body.error.message, /not an administrator/);
  assert.equal((await tokenFor('admin@example.test', 'wrong')).status, 401);
});

test('roles: helpdesk reads users but cannot change them; only superadmins change app profiles', async () => {
  await gh.api('POST', '/tenants/default/users', { email: 'help@example.test', password: 'help-password-1', roles: ['helpdesk'] });
  await gh.api('POST', '/tenants/default/users', { email: 'adm@example.test', password: 'adm-password-1', roles: ['admin'] });
  const help = (await tokenFor('help@example.test', 'help-password-1')).body.access_token;
  const adm = (await tokenFor('adm@example.test', 'adm-password-1')).body.access_token;
  assert.equal((await gh.api('GET', '/tenants/default/users', undefined, help)).status, 200);
  const denied = await gh.api('POST', '/tenants/default/users', { email: 'x@example.test' }, help);
  assert.equal(denied.status, 403);
  assert.match(denied.body.error.message, /helpdesk/);
  assert.equal((await gh.api('POST', '/tenants/default/apps', { name: 'a', displayName: 'A', type: 'service' }, adm)).status, 403);
  assert.equal((await gh.api('POST', '/tenants', { slug: 'nope' }, adm)).status, 403);
  // Granting a role one does not hold is refused like any act beyond one's role (docs/security.md).
  const grant = await gh.api('POST', '/tenants/default/users', { email: 'y@example.test', roles: ['superadmin'] }, adm);
  assert.equal(grant.status, 403);
  assert.match(grant.body.error.message, /superadmin/);
  // A disabled administrator's token stops working at once.
  await gh.api('PATCH', '/tenants/default/users/adm@example.test', { status: 'disabled' });
  assert.equal((await gh.api('GET', '/tenants/default/users', undefined, adm)).status, 401);
});

test('validation errors name the field; stale edits get 409; bad JSON and oversized bodies get 4xx', async () => {
  const bad = await gh.api('POST', '/tenants/default/apps', { name: '', displayName: 'X', type: 'desktop' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_request');
  assert.ok(bad.body.error.details.problems.some((p: any) => p.field === 'type'));
  const uri = await gh.api('POST', '/tenants/default/apps', {
    name: 'w',
    displayName: 'W',
    type: 'web',
    redirectUris: ['http://insecure.example/cb', 'https://ok.example/cb#frag'],
  });
  assert.equal(uri.status, 400);
  assert.match(uri.body.error.message, /use https/);
  assert.match(uri.body.error.message, /fragment/);
  const nat = await gh.api('POST', '/tenants/default/apps', { name: 'n', displayName: 'N', type: 'native', redirectUris: ['myapp://cb'] });
  assert.match(nat.body.error.message, /reverse domain name/);

  const u = await gh.api('POST', '/tenants/default/users', { email: 'v@example.test', password: 'v-password-1' });
  assert.equal((await gh.api('PATCH', '/tenants/default/users/v@example.test', { givenName: 'One', version: u.body.version })).status, 200);
  const stale = await gh.api('PATCH', '/tenants/default/users/v@example.test', { givenName: 'Two', version: u.body.version });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.error.code, 'version_conflict');
  assert.equal((await gh.api('GET', '/tenants/default/users/v@example.test')).body.givenName, 'One', 'the stale edit lost nothing');
  assert.equal((await gh.api('POST', '/tenants/default/users', { email: 'v@example.test' })).status, 409);

  const token = await gh.adminToken();
  const raw = async (body: string, type = 'application/json') =>
    (await fetch(`${gh.base}/api/v1/tenants/default/users`, { method: 'POST', headers: { 'content-type': type, authorization: `Bearer ${token}` }, body }))
      .status;
  assert.equal(await raw('{"email":'), 400);
  assert.equal(await raw(JSON.stringify({ email: 'big@example.test', givenName: 'x'.repeat(2_000_000) })), 413);
  assert.equal(await raw('[1,2,3]'), 400);
  assert.equal(await raw(JSON.stringify({ email: ['a'] })), 400);
  assert.equal((await gh.api('GET', '/tenants/default/users?limit=100000')).status, 400);
  assert.equal((await gh.api('GET', '/tenants/nope/users')).status, 404);
  assert.equal((await gh.api('GET', '/tenants/default/users/nobody@example.test')).status, 404);
});

test('app secrets are shown once, can be regenerated, and the old one stops working', async () => {
  const r = await gh.api('POST', '/tenants/default/apps', { name: 'svc', displayName: 'Service', type: 'service' });
  assert.equal(r.status, 201);
  assert.ok(r.body.clientSecret.length >= 32);
  const shown = await gh.api('GET', `/tenants/default/apps/${r.body.clientId}`);
  assert.equal(shown.body.clientSecret, undefined);
  assert.equal(shown.body.hasSecret, true);
  assert.equal(shown.body.deployed, false, 'a new app is Not deployed');
  assert.equal(shown.body.metadata.discoveryUrl, `${gh.base}/t/default/.well-known/openid-configuration`);
  const regen = await gh.api('POST', `/tenants/default/apps/${r.body.clientId}/secret`);
  const issuer = `${gh.base}/t/default`;
  await assert.rejects(oidc.clientCredentialsGrant(await rpConfig(issuer, r.body.clientId, r.body.clientSecret), {}));
  assert.ok((await oidc.clientCredentialsGrant(await rpConfig(issuer, r.body.clientId, regen.body.clientSecret), {})).access_token);
});

test('deployment to a group and to an OU (and its sub-OUs); token lifetimes per app', async () => {
  await gh.api('POST', '/tenants/default/users', { email: 'g1@example.test', password: 'g1-password-1', groups: ['Nurses'] });
  await gh.api('POST', '/tenants/default/users', { email: 'o1@example.test', password: 'o1-password-1', ou: '/Clinic/North/Ward 3' });
  await gh.api('POST', '/tenants/default/users', { email: 'none@example.test', password: 'none-password-1' });
  const app = await gh.api('POST', '/tenants/default/apps', {
    name: 'emr',
    displayName: 'EMR',
    type: 'web',
    redirectUris: [RP],
    tokenTtls: { accessToken: 300 },
  });
  const dep = await gh.api('PUT', `/tenants/default/apps/${app.body.clientId}/deployment`, {
    all: false,
    targets: [
      { type: 'group', ref: 'Nurses' },
      { type: 'ou', ref: '/Clinic/North' },
    ],
  });
  assert.equal(dep.status, 200);
  assert.deepEqual(
    dep.body.deployment.targets.map((t: any) => t.label),
    ['Nurses', '/Clinic/North'],
  );
  const missing = await gh.api('PUT', `/tenants/default/apps/${app.body.clientId}/deployment`, { all: false, targets: [{ type: 'group', ref: 'Nobody' }] });
  assert.equal(missing.status, 400);
  assert.match(missing.body.error.message, /No group "Nobody"/);
  const config = await rpConfig(`${gh.base}/t/default`, app.body.clientId, app.body.clientSecret);
  for (const email of ['g1@example.test', 'o1@example.test']) {
    const { tokens } = await codeFlow(config, new Agent(), { redirectUri: RP, email, password: email.split('@')[0] + '-password-1' });
    assert.equal(tokens.expires_in, 300);
  }
  await assert.rejects(codeFlow(config, new Agent(), { redirectUri: RP, email: 'none@example.test', password: 'none-password-1' }), /did not complete/);
});

test('every administrator change is an audit event naming the administrator', async () => {
  await gh.api('POST', '/tenants/default/groups', { name: 'Auditors' });
  const r = await gh.api('GET', '/tenants/default/audit?type=admin.group.created');
  assert.equal(r.status, 200);
  assert.equal(r.body.items[0].actor, 'admin@example.test');
  assert.equal(r.body.items[0].data.name, 'Auditors');
  const failed = await gh.api('GET', '/tenants/default/audit?level=warn&type=signin.failed');
  assert.ok(failed.body.items.length >= 1, 'failed sign-ins are audited');
});

test('hostile input to pages and engine never produces a 5xx', async () => {
  const urls = [
    '/t/default/auth?client_id=%00%ff&redirect_uri=javascript:alert(1)',
    '/t/default/auth?' + 'a=b&'.repeat(2000),
    '/t/default/interaction/' + 'x'.repeat(5000),
    '/t/UPPER/auth',
    '/t/default/token',
    '/t/default/me',
    '/api/v1/../../etc/passwd',
    '/setup/forged-token',
  ];
  for (const u of urls) {
    const res = await fetch(gh.base + u, { redirect: 'manual' });
    assert.ok(res.status < 500, `${u} -> ${res.status}`);
  }
  const posts: Array<[string, string, string]> = [
    ['/t/default/token', 'grant_type=password&username=a&password=b', 'application/x-www-form-urlencoded'],
    ['/t/default/token', '{}', 'application/json'],
    ['/t/default/interaction/abc/password', 'email=a%40b.c&password=x', 'application/x-www-form-urlencoded'],
    ['/t/default/interaction/abc/identify', 'x'.repeat(100_000), 'application/x-www-form-urlencoded'],
    ['/setup/abc', 'email=a', 'application/x-www-form-urlencoded'],
  ];
  for (const [u, body, type] of posts) {
    const res = await fetch(gh.base + u, { method: 'POST', body, headers: { 'content-type': type }, redirect: 'manual' });
    assert.ok(res.status >= 400 && res.status < 500, `${u} -> ${res.status}`);
  }
});

test('signed-token lifetimes are capped at 24 hours, refresh tokens may live longer', async () => {
  const bad = await gh.api('POST', '/tenants/default/apps', {
    name: 'ttl1',
    displayName: 'T',
    type: 'web',
    redirectUris: [RP],
    tokenTtls: { idToken: 2 * 86400 },
  });
  assert.equal(bad.status, 400);
  assert.ok(bad.body.error.details.problems.some((p: any) => p.field === 'tokenTtls.idToken'));
  const ok = await gh.api('POST', '/tenants/default/apps', {
    name: 'ttl2',
    displayName: 'T',
    type: 'web',
    redirectUris: [RP],
    tokenTtls: { refreshToken: 90 * 86400 },
  });
  assert.equal(ok.status, 201);
});

test('wrong-typed and hostile bodies on every admin route get a 4xx, never a 5xx', async () => {
  const app = await gh.api('POST', '/tenants/default/apps', { name: 'fuzz', displayName: 'Fuzz', type: 'web', redirectUris: [RP] });
  const id = app.body.clientId;
  await gh.api('POST', '/tenants/default/users', { email: 'fuzz@example.test', password: 'fuzz-password-1' });
  const routes: Array<[string, string]> = [
    ['POST', '/tenants'],
    ['PATCH', '/tenants/default'],
    ['POST', '/tenants/default/users'],
    ['PATCH', '/tenants/default/users/fuzz@example.test'],
    ['POST', '/tenants/default/groups'],
    ['PUT', '/tenants/default/groups/nope/members/fuzz@example.test'],
    ['POST', '/tenants/default/ous'],
    ['POST', '/tenants/default/domains'],
    ['POST', '/tenants/default/apps'],
    ['PATCH', `/tenants/default/apps/${id}`],
    ['PUT', `/tenants/default/apps/${id}/deployment`],
    ['POST', `/tenants/default/apps/${id}/deployment/targets`],
    ['POST', '/tenants/default/keys/rotate'],
    ['POST', '/auth/token'],
  ];
  const bodies: unknown[] = [
    null,
    42,
    'text',
    [],
    {},
    {
      name: 123,
      email: {},
      slug: [],
      path: null,
      all: 'yes',
      targets: 'x',
      type: 'user',
      ref: 5,
      alg: 'HS256',
      version: 'x',
      redirectUris: [1],
      claims: [{}],
      tokenTtls: { idToken: -5 },
      sessionLifetimeMinutes: 1e12,
      roles: ['god'],
      status: 'zombie',
      groups: 'x',
      ou: 5,
      password: 1,
    },
    {
      ou: '////',
      path: '/',
      name: ' ',
      email: 'a@b',
      redirectUris: ['javascript:alert(1)'],
      type: 'web',
      displayName: 'x'.repeat(1000),
      targets: [{ type: 'ou', ref: 'nope' }],
      all: false,
    },
  ];
  const token = await gh.adminToken();
  for (const [method, p] of routes) {
    for (const body of bodies) {
      const r = await fetch(`${gh.base}/api/v1${p}`, {
        method,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      assert.ok(r.status < 500, `${method} ${p} ${JSON.stringify(body).slice(0, 60)} -> ${r.status}`);
      if (r.status >= 400) assert.equal(typeof ((await r.json()) as any).error.message, 'string');
    }
  }
  assert.equal((await gh.api('GET', `/tenants/default/apps/${id}`)).body.name, 'fuzz', 'nothing was lost');
});
