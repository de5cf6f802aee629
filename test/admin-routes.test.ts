// Every route of the admin API, walked from its own OpenAPI document (so a new route cannot
// escape): 401 without a token, 403 for each role that lacks it (and for another tenant's
// administrator), 400 for invalid input of each kind it takes, 409 for a stale edit of a
// versioned record, and a well-formed answer to every read (answers are checked against their
// schemas by the server: GATEHOUSE_STRICT_API_RESPONSES makes a mismatch a 500).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { adminRouter } from '../src/admin/routes.ts';
import { prepareSettings } from '../src/directory/ldap/settings.ts';

let gh: TestServer;
let doc: any;
const tokens: Record<string, string> = {};
/** A value for every path parameter name: records made for this test. */
const fixture: Record<string, string> = { slug: 'default', session: 'no-such-session', connector: 'no-such-connector', workstation: 'no-such-workstation' };

interface Op {
  method: string;
  path: string;
  op: any;
}
const ops = (): Op[] => Object.entries(doc.paths).flatMap(([path, item]: [string, any]) => Object.entries(item).map(([method, op]) => ({ method, path, op })));
const name = (o: Op) => `${o.method.toUpperCase()} ${o.path}`;
const fill = (path: string, values: Record<string, string> = fixture) =>
  path.replace(/\{(\w+)\}/g, (_, p: string) => {
    assert.ok(values[p], `test fixture missing for path parameter {${p}}: add one`);
    return encodeURIComponent(values[p]!);
  });

async function call(method: string, path: string, opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${gh.base}/api/v1${path}`, {
    method: method.toUpperCase(),
    headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    body: method === 'get' ? undefined : (opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body))),
  });
  const text = await res.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

async function tokenOf(email: string, password: string, tenant = 'default') {
  const r = await call('post', '/auth/token', { body: { email, password, tenant } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.access_token as string;
}

before(async () => {
  gh = await startTestServer();
  tokens.superadmin = await gh.adminToken();
  for (const role of ['admin', 'helpdesk', 'auditor']) {
    await gh.api('POST', '/tenants/default/users', { email: `role-${role}@example.test`, password: `${role}-password-1`, roles: [role] });
    tokens[role] = await tokenOf(`role-${role}@example.test`, `${role}-password-1`);
  }
  // A superadmin of another tenant: a tenant's administrators reach only their own tenant.
  await gh.api('POST', '/tenants', { slug: 'acme' });
  await gh.api('POST', '/tenants/acme/users', { email: 'boss@acme.test', password: 'boss-password-1', roles: ['superadmin'] });
  tokens.otherTenant = await tokenOf('boss@acme.test', 'boss-password-1', 'acme');

  fixture.user = (
    await gh.api('POST', '/tenants/default/users', {
      email: 'fixture@example.test',
      password: 'fixture-password-1',
      ou: '/Fixture/Leaf',
      groups: ['fixture-group'],
    })
  ).body.email;
  fixture.group = (await gh.api('GET', '/tenants/default/groups/fixture-group')).body.id;
  fixture.ou = (await gh.api('POST', '/tenants/default/ous', { path: '/Empty' })).body.id;
  fixture.clientId = (
    await gh.api('POST', '/tenants/default/apps', {
      name: 'fixture-app',
      displayName: 'Fixture',
      type: 'web',
      redirectUris: ['https://fixture.example.test/cb'],
    })
  ).body.clientId;
  fixture.policy = (
    await gh.api('POST', '/tenants/default/policies', { name: 'fixture-policy', priority: 50, targets: [{ type: 'group', ref: 'fixture-group' }] })
  ).body.id;
  // Records the documented examples name (the deployment example deploys to them).
  await gh.api('POST', '/tenants/default/groups', { name: 'Nurses' });
  await gh.api('POST', '/tenants/default/users', { email: 'pilot@example.com', password: 'pilot-password-1' });
  // An upstream saved directly (creating one through the API fetches its discovery document).
  const tenant = (await gh.services.tenantStore.bySlug('default'))!;
  fixture.upstream = (
    await gh.services.upstreamStore.create(tenant.id, {
      name: 'fixture-upstream',
      mode: 'disabled',
      clientSecretSealed: null,
      settings: {
        type: 'oidc',
        clientId: 'x',
        discoveryUrl: 'https://idp.example.test/.well-known/openid-configuration',
        issuer: 'https://idp.example.test',
        scopes: ['openid'],
        domains: [],
        audience: 'staff',
        loginHint: true,
        showButton: false,
        testUsers: [],
        claimGate: null,
        externalIdClaim: null,
        claims: { givenName: 'given_name', familyName: 'family_name', email: 'email' },
      },
    })
  ).id;
  // An LDAP directory saved directly too (nothing here answers LDAP; its edits need none).
  fixture.directory = (
    await gh.services.ldapStore.create(tenant.id, {
      name: 'fixture-directory',
      enabled: false,
      bindPasswordSealed: null,
      settings: prepareSettings({
        kind: 'openldap',
        urls: ['ldaps://ldap.example.test'],
        bindDn: 'cn=gatehouse,dc=example,dc=test',
        baseDns: ['dc=example,dc=test'],
      }),
    })
  ).id;
  const r = await call('get', '/openapi.json');
  assert.equal(r.status, 200);
  doc = r.body;
});
after(async () => {
  await gh?.close();
});

test('the OpenAPI document is 3.1, describes every registered route, and each operation says who may call it', async () => {
  assert.equal(doc.openapi, '3.1.0');
  const documented = new Set(ops().map((o) => `${o.method} ${o.path}`));
  // Every route the router serves is in the document: an undeclared (hand-registered) route fails here.
  const router = adminRouter(gh.services);
  const served = new Set(
    router.stack.flatMap((l) =>
      l.methods
        .filter((m) => m !== 'HEAD')
        .map(
          (m) =>
            `${m.toLowerCase()} ${String(l.path)
              .replace(/^\/api\/v1/, '')
              .replace(/:(\w+)/g, '{$1}')}`,
        ),
    ),
  );
  assert.deepEqual(
    [...served].filter((s) => !documented.has(s)),
    [],
    'routes served but not declared with route() (src/admin/route.ts)',
  );
  assert.deepEqual(
    [...documented].filter((s) => !served.has(s)),
    [],
  );
  const ids = new Set<string>();
  for (const o of ops()) {
    assert.ok(o.op.operationId && !ids.has(o.op.operationId), `${name(o)}: a unique operationId`);
    ids.add(o.op.operationId);
    assert.ok(Array.isArray(o.op['x-gatehouse-roles']), `${name(o)}: x-gatehouse-roles`);
    assert.ok(o.op.responses, name(o));
    if (o.op['x-gatehouse-versioned'])
      assert.ok(o.op.requestBody?.content['application/json'].example, `${name(o)}: a versioned route needs an example body (used below)`);
  }
  assert.ok(ops().length >= 60, `only ${ops().length} operations`);
});

test('401 without a token, or with one that is not an admin token, on every route but the public ones', async () => {
  for (const o of ops()) {
    if (o.op['x-gatehouse-access'] === 'public') continue;
    const none = await call(o.method, fill(o.path), { body: {} });
    assert.equal(none.status, 401, `${name(o)} without a token -> ${none.status}`);
    assert.equal(none.body.error.code, 'unauthorized');
    assert.match(none.body.error.message, /Bearer/);
    const junk = await call(o.method, fill(o.path), { body: {}, token: 'not.a.token' });
    assert.equal(junk.status, 401, `${name(o)} with a junk token -> ${junk.status}`);
  }
});

test('403 for every role that lacks the route, and for an administrator of another tenant', async () => {
  let checked = 0;
  for (const o of ops()) {
    const access = o.op['x-gatehouse-access'];
    if (access === 'public' || access === 'signed-in') continue;
    const allowed: string[] = o.op['x-gatehouse-roles'];
    for (const role of ['admin', 'helpdesk', 'auditor'].filter((r) => !allowed.includes(r))) {
      const r = await call(o.method, fill(o.path), { token: tokens[role], body: {} });
      assert.equal(r.status, 403, `${name(o)} as ${role} -> ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'forbidden');
      checked++;
    }
    const other = await call(o.method, fill(o.path), { token: tokens.otherTenant, body: {} });
    assert.equal(other.status, 403, `${name(o)} as acme's superadmin -> ${other.status}`);
  }
  assert.ok(checked > 50, `only ${checked} role checks`);
});

/** Query values that break a parameter's schema (it is a string, number, enum or bounded). */
const BAD_QUERY = ['-5', 'x'.repeat(2000), 'not-a-number', 'UPPER CASE ENUM?', '99999999999999999999'];

test('400 for invalid input of every kind a route takes: body, query and path', async () => {
  let checked = 0;
  const expect400 = (o: Op, what: string, r: { status: number; body: any }) => {
    assert.equal(r.status, 400, `${name(o)} with ${what} -> ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    assert.ok(['invalid_request', 'invalid_body'].includes(r.body.error.code), `${name(o)}: ${r.body.error.code}`);
    assert.equal(typeof r.body.error.message, 'string');
    checked++;
  };
  for (const o of ops()) {
    const token = tokens.superadmin;
    const hasBody = !!o.op.requestBody;
    if (hasBody) {
      // A JSON array where an object is expected, and a body that is not JSON at all.
      expect400(o, 'an array body', await call(o.method, fill(o.path), { token, body: [1, 2] }));
      expect400(o, 'a body that is not JSON', await call(o.method, fill(o.path), { token, rawBody: '{"oops":' }));
    }
    for (const p of (o.op.parameters ?? []).filter((x: any) => x.in === 'query')) {
      // Find a value this parameter refuses (the schema says which kinds of value it takes).
      const s = p.schema;
      const bad = s.enum
        ? 'not-one-of-them'
        : s.type === 'integer' || s.type === 'number'
          ? s.minimum !== undefined
            ? String(s.minimum - 1)
            : 'not-a-number'
          : BAD_QUERY[1]!;
      const r = await call(o.method, `${fill(o.path)}?${new URLSearchParams({ [p.name]: bad })}`, { token, body: hasBody ? {} : undefined });
      expect400(o, `?${p.name}=${bad.slice(0, 20)}`, r);
      assert.ok(
        r.body.error.details.problems.some((x: any) => x.field === p.name && x.in === 'query'),
        `${name(o)}: the problem names ${p.name}`,
      );
    }
    if (o.path.includes('{slug}')) {
      const r = await call(o.method, fill(o.path, { ...fixture, slug: 'Not_A_Slug!' }), { token, body: {} });
      expect400(o, 'a malformed tenant slug', r);
      assert.ok(r.body.error.details.problems.some((x: any) => x.field === 'slug' && x.in === 'path'));
    }
  }
  assert.ok(checked > 100, `only ${checked} checks`);
});

test('every read answers a superadmin with a well-formed answer (checked against its schema by the server)', async () => {
  for (const o of ops().filter((x) => x.method === 'get')) {
    const r = await call('get', fill(o.path), { token: tokens.superadmin });
    assert.equal(r.status, 200, `${name(o)} -> ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    if (typeof r.body?.version === 'number')
      assert.equal(
        (await fetch(`${gh.base}/api/v1${fill(o.path)}`, { headers: { authorization: `Bearer ${tokens.superadmin}` } })).headers.get('etag'),
        `"${r.body.version}"`,
      );
  }
});

test('409 version_conflict for a stale edit of every versioned record, by body version and by If-Match; nothing is lost', async () => {
  const versioned = ops().filter((o) => o.op['x-gatehouse-versioned']);
  assert.ok(versioned.length >= 8, versioned.map(name).join(', '));
  for (const o of versioned) {
    const path = fill(o.path);
    const example = o.op.requestBody.content['application/json'].example;
    const first = await call(o.method, path, { token: tokens.superadmin, body: example });
    assert.equal(first.status, 200, `${name(o)} with its example -> ${first.status} ${JSON.stringify(first.body).slice(0, 300)}`);
    const v = first.body.version;
    assert.equal(typeof v, 'number', `${name(o)} answers the record's version`);
    const byBody = await call(o.method, path, { token: tokens.superadmin, body: { ...example, version: v - 1 } });
    assert.equal(byBody.status, 409, `${name(o)} with a stale version -> ${byBody.status}`);
    assert.equal(byBody.body.error.code, 'version_conflict');
    assert.match(byBody.body.error.message, /changed by someone else/);
    const byHeader = await call(o.method, path, { token: tokens.superadmin, body: example, headers: { 'if-match': `"${v - 1}"` } });
    assert.equal(byHeader.status, 409, `${name(o)} with a stale If-Match -> ${byHeader.status}`);
    // The refused edits changed nothing: the version read before still edits.
    const fresh = await call(o.method, path, { token: tokens.superadmin, body: example, headers: { 'if-match': `"${v}"` } });
    assert.equal(fresh.status, 200, `${name(o)} with the current version -> ${fresh.status} ${JSON.stringify(fresh.body).slice(0, 200)}`);
    assert.equal(fresh.body.version, v + 1);
  }
});
