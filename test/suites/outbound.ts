// Abuse tests for issue 14 points 5 and 6, against a real Gatehouse started WITHOUT
// GATEHOUSE_OUTBOUND_ALLOW (the default): URLs the server would fetch that point at metadata,
// link-local, loopback or private addresses are refused at save time with a 400 naming the
// field and the setting; text with control characters or invalid UTF-8 is refused; URL fields
// take https only; client assertions that live longer than 5 minutes are refused.
// The fetch-time rules (connected address, redirects, size, deadline) are in test/outbound.test.ts.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import crypto from 'node:crypto';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, LOOPBACK_OUTBOUND, type Backend, type TestServer } from '../helpers/server.ts';
import { jwkWithCertificate } from '../helpers/certs.ts';
import { backchannelReceiver, codeFlow, rpConfig } from '../helpers/rp.ts';
import { Agent } from '../helpers/agent.ts';

export function outboundSuite(backend: Backend) {
  const skip = backend.skip;
  const test = (name: string, fn: () => Promise<void>) => nodeTest(name, { skip }, fn);
  let gh: TestServer;
  let issuer: string;
  /** A local server that would happily answer (a discovery document, a logout receiver): it must see no request. */
  let local: http.Server;
  let localPort: number;
  const hits: string[] = [];

  before(async () => {
    if (skip) return;
    gh = await startTestServer({}, { backend });
    issuer = `${gh.base}/t/default`;
    local = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      const iss = `http://127.0.0.1:${localPort}`;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: iss, authorization_endpoint: `${iss}/auth`, token_endpoint: `${iss}/token`, jwks_uri: `${iss}/jwks` }));
    });
    await new Promise<void>((r) => local.listen(0, '127.0.0.1', () => r()));
    localPort = (local.address() as AddressInfo).port;
  });
  after(async () => {
    local?.close();
    await gh?.close();
  });

  const problemsOf = (body: any) => JSON.stringify(body?.error ?? body);

  test('upstream addresses on metadata, link-local, loopback and private addresses are refused at save time, naming the field and GATEHOUSE_OUTBOUND_ALLOW', async () => {
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [
        { discoveryUrl: `http://127.0.0.1:${localPort}/.well-known/openid-configuration` },
        'discoveryUrl',
        /127\.0\.0\.1 is a loopback address.*GATEHOUSE_OUTBOUND_ALLOW/,
      ],
      [{ authorityUrl: `http://127.0.0.1:${localPort}` }, 'authorityUrl', /loopback.*GATEHOUSE_OUTBOUND_ALLOW/],
      [{ authorityUrl: `http://localhost:${localPort}` }, 'authorityUrl', /localhost resolves to .*loopback.*GATEHOUSE_OUTBOUND_ALLOW/],
      [
        { authorityUrl: 'https://169.254.169.254/latest/meta-data' },
        'authorityUrl',
        /169\.254\.169\.254 is a link-local \(cloud metadata\) address; Gatehouse never sends requests there/,
      ],
      [{ authorityUrl: 'https://[fd00:ec2::254]/' }, 'authorityUrl', /cloud metadata/],
      [{ authorityUrl: 'https://100.100.100.200/' }, 'authorityUrl', /cloud metadata/],
      [{ authorityUrl: 'https://10.1.2.3/adfs' }, 'authorityUrl', /10\.1\.2\.3 is a private address.*GATEHOUSE_OUTBOUND_ALLOW/],
      [{ authorityUrl: 'https://192.168.0.10/' }, 'authorityUrl', /private address.*GATEHOUSE_OUTBOUND_ALLOW/],
    ];
    for (const [address, field, re] of cases) {
      const r = await gh.api('POST', '/tenants/default/upstreams', { name: 'Internal', type: 'oidc', clientId: 'x', ...address });
      assert.equal(r.status, 400, JSON.stringify(address));
      assert.match(r.body.error.message, re, JSON.stringify(address));
      assert.equal(r.body.error.details.problems[0].field, field);
    }
    assert.deepEqual(hits, [], 'the local server was never contacted');
    assert.equal((await gh.api('GET', '/tenants/default/upstreams')).body.items.length, 0, 'nothing saved');
  });

  test('a back-channel logout URI on metadata, link-local, loopback or private addresses is refused at save time', async () => {
    const base = { name: 'crm', displayName: 'CRM', type: 'web', redirectUris: ['https://crm.example.test/cb'] };
    const cases: Array<[string, RegExp]> = [
      ['http://169.254.169.254/latest/meta-data/', /must use https/],
      [
        'https://169.254.169.254/latest/meta-data/',
        /backchannelLogoutUri.*169\.254\.169\.254 is a link-local \(cloud metadata\) address; Gatehouse never sends requests there/,
      ],
      ['https://[fe80::1]/logout', /link-local/],
      ['https://[fd00:ec2::254]/logout', /cloud metadata/],
      [`http://127.0.0.1:${localPort}/logout`, /backchannelLogoutUri.*loopback address.*GATEHOUSE_OUTBOUND_ALLOW/],
      [`http://localhost:${localPort}/logout`, /localhost resolves to .*GATEHOUSE_OUTBOUND_ALLOW/],
      ['https://[::1]/logout', /loopback.*GATEHOUSE_OUTBOUND_ALLOW/],
      ['https://172.20.0.5/logout', /private address.*GATEHOUSE_OUTBOUND_ALLOW/],
    ];
    for (const [uri, re] of cases) {
      const r = await gh.api('POST', '/tenants/default/apps', { ...base, backchannelLogoutUri: uri });
      assert.equal(r.status, 400, uri);
      assert.match(problemsOf(r.body), re, uri);
    }
    // Changing an existing profile is checked the same way.
    const ok = await gh.api('POST', '/tenants/default/apps', { ...base, backchannelLogoutUri: 'https://crm.example.test/logout' });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const patched = await gh.api('PATCH', `/tenants/default/apps/${ok.body.clientId}`, { backchannelLogoutUri: 'https://169.254.169.254/latest/meta-data/' });
    assert.equal(patched.status, 400);
    assert.match(problemsOf(patched.body), /never sends requests there/);
    assert.equal((await gh.api('GET', `/tenants/default/apps/${ok.body.clientId}`)).body.backchannelLogoutUri, 'https://crm.example.test/logout');
    assert.deepEqual(hits, []);
  });

  nodeTest(
    'endpoints a discovery document lists (token, JWKS, userinfo) are checked at save time too',
    { skip: skip || (backend.name !== 'sqlite' && 'store-independent: runs in the SQLite file') },
    async () => {
      // Discovery itself is on an allowed address (127.0.0.1); what it lists is not.
      const listed: Record<string, string> = {};
      const seen: string[] = [];
      const upstream = http.createServer((req, res) => {
        seen.push(req.url ?? '');
        const iss = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ issuer: iss, authorization_endpoint: `${iss}/auth`, token_endpoint: `${iss}/token`, jwks_uri: `${iss}/jwks`, ...listed }));
      });
      await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
      const server = await startTestServer({ GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.1/32' });
      try {
        const authorityUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
        const cases: Array<[Record<string, string>, RegExp]> = [
          [
            { jwks_uri: 'http://169.254.169.254/latest/meta-data/' },
            /lists its jwks_uri at http:\/\/169\.254\.169\.254\/latest\/meta-data\/.*never sends requests there/,
          ],
          [{ token_endpoint: 'http://127.0.0.2:9/token' }, /lists its token_endpoint at .*127\.0\.0\.2 is a loopback address.*GATEHOUSE_OUTBOUND_ALLOW/],
          [{ userinfo_endpoint: 'https://10.0.0.7/userinfo' }, /lists its userinfo_endpoint at .*10\.0\.0\.7 is a private address/],
        ];
        for (const [extra, re] of cases) {
          for (const k of Object.keys(listed)) delete listed[k];
          Object.assign(listed, extra);
          const r = await server.api('POST', '/tenants/default/upstreams', { name: 'Listed', type: 'oidc', clientId: 'x', authorityUrl });
          assert.equal(r.status, 400, JSON.stringify(extra));
          assert.match(r.body.error.message, re);
          assert.equal(r.body.error.details.problems[0].field, 'authorityUrl');
        }
        for (const k of Object.keys(listed)) delete listed[k];
        const ok = await server.api('POST', '/tenants/default/upstreams', { name: 'Listed', type: 'oidc', clientId: 'x', authorityUrl });
        assert.equal(ok.status, 201, JSON.stringify(ok.body));
        assert.ok(seen.length > 0, 'discovery on the allowed address was fetched');
      } finally {
        await server.close();
        upstream.close();
      }
    },
  );

  nodeTest(
    'fetch time: a back-channel logout URI saved while the operator allowed loopback is not called once the allow-list no longer covers it',
    { skip: skip || (backend.name !== 'sqlite' && 'store-independent: runs in the SQLite file') },
    async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-outbound-'));
      const receiver = await backchannelReceiver();
      const RP = 'https://rp.example.test/callback';
      const alice = { email: 'alice@example.test', password: 'alice-password-1' };
      let server = await startTestServer(LOOPBACK_OUTBOUND, { dataDir });
      try {
        assert.equal((await server.api('POST', '/tenants/default/users', alice)).status, 201);
        const app = await server.api('POST', '/tenants/default/apps', {
          name: 'crm',
          displayName: 'CRM',
          type: 'web',
          redirectUris: [RP],
          backchannelLogoutUri: receiver.url,
        });
        assert.equal(app.status, 201, JSON.stringify(app.body));
        assert.equal(
          (await server.api('POST', `/tenants/default/apps/${app.body.clientId}/deployment/targets`, { type: 'user', ref: alice.email })).status,
          200,
        );
        await server.close();
        // The same data, started again without GATEHOUSE_OUTBOUND_ALLOW.
        server = await startTestServer({}, { dataDir });
        const config = await rpConfig(`${server.base}/t/default`, app.body.clientId, app.body.clientSecret);
        await codeFlow(config, new Agent(), { redirectUri: RP, ...alice });
        const tenant = (await server.services.tenantStore.bySlug('default'))!;
        const user = (await server.services.userStore.userByEmail(tenant.id, alice.email))!;
        const [session] = await server.services.sessionService.listForUser(tenant.id, user.id);
        assert.ok(session);
        // Ending the session waits for the back-channel attempts: nothing may have arrived.
        assert.equal(await server.services.sessionService.end(tenant, session.id, { by: 'test', why: 'test' }), true);
        assert.deepEqual(receiver.received, [], 'the receiver on 127.0.0.1 was not called');
        const ended = (await server.api('GET', '/tenants/default/audit?type=session.ended')).body.items[0];
        assert.equal(ended.level, 'warn');
        assert.match(JSON.stringify(ended.data.backchannelFailed), /127\.0\.0\.1 is a loopback address.*GATEHOUSE_OUTBOUND_ALLOW/);
      } finally {
        await server.close();
        await receiver.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    },
  );

  test('names with NUL and other control characters are refused with a 400 that says which field and which character', async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['/tenants/default/users', { email: 'nul@example.test', givenName: 'Ann\u0000', familyName: 'Lee' }, /givenName: contains the control character U\+0000/],
      [
        '/tenants/default/users',
        { email: 'esc@example.test', givenName: 'Ann', familyName: '\u001b[31mLee' },
        /familyName: contains the control character U\+001B/,
      ],
      ['/tenants/default/users', { email: 'nl@example.test', givenName: 'Ann\nAdmin', familyName: 'Lee' }, /givenName: contains the control character U\+000A/],
      ['/tenants/default/groups', { name: 'Sales\u0007' }, /name: contains the control character U\+0007/],
      ['/tenants/default/apps', { name: 'crm2', displayName: 'CRM\u009b', type: 'service' }, /displayName: contains the control character U\+009B/],
      ['/tenants/default/apps', { name: 'crm3\u007f', displayName: 'CRM', type: 'service' }, /name: contains the control character U\+007F/],
      ['/tenants/default/apps', { name: 'crm4', displayName: 'CRM \ud800', type: 'service' }, /lone UTF-16 surrogate/],
      ['/tenants', { slug: 'acme', name: 'Acme\r\nX-Injected: 1' }, /name: contains the control character U\+000D/],
    ];
    for (const [path, body, re] of cases) {
      const r = await gh.api('POST', path, body);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}`);
      assert.match(r.body.error.message, re);
    }
    for (const email of ['nul@example.test', 'esc@example.test', 'nl@example.test']) {
      assert.equal((await gh.api('GET', `/tenants/default/users?search=${email}`)).body.items.length, 0, `${email} not created`);
    }
  });

  test('a body that is not valid UTF-8 is refused with a 400 saying so, not stored with replacement characters', async () => {
    const json = Buffer.concat([
      Buffer.from('{"email":"utf@example.test","givenName":"Ren'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('e","familyName":"Doe"}'),
    ]);
    const res = await fetch(`${gh.base}/api/v1/tenants/default/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await gh.adminToken()}` },
      body: json,
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { message: string } };
    assert.match(body.error.message, /givenName: contains U\+FFFD.*invalid UTF-8.*send the text encoded as UTF-8/);
    assert.equal((await gh.api('GET', '/tenants/default/users?search=utf@example.test')).body.items.length, 0);
  });

  test('the import file is held to the same rules: control characters, invalid UTF-8 and javascript: URLs stop it, naming the entry', async () => {
    const { importFile } = await import('../../src/tenants/import.ts');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-import-'));
    try {
      const cases: Array<[string, string | Buffer, RegExp]> = [
        [
          'nul.json',
          JSON.stringify({ tenants: [{ slug: 'default', users: [{ email: 'imp@example.test', givenName: 'Imp\u0000' }] }] }),
          /tenants\.0\.users\.0\.givenName: contains the control character U\+0000/,
        ],
        [
          'latin1.yaml',
          Buffer.concat([
            Buffer.from('tenants:\n  - slug: default\n    users:\n      - { email: imp@example.test, familyName: "M'),
            Buffer.from([0xfc]),
            Buffer.from('ller" }\n'),
          ]),
          /familyName: contains U\+FFFD.*UTF-8/,
        ],
        [
          'js.json',
          JSON.stringify({
            tenants: [
              {
                slug: 'default',
                apps: [
                  {
                    name: 'js',
                    displayName: 'JS',
                    type: 'web',
                    clientId: 'js-client-0001',
                    redirectUris: ['https://js.example.test/cb'],
                    homeUrl: 'javascript:alert(1)',
                  },
                ],
              },
            ],
          }),
          /homeUrl: must be an https/,
        ],
      ];
      for (const [name, content, re] of cases) {
        const file = path.join(dir, name);
        fs.writeFileSync(file, content);
        await assert.rejects(importFile(gh.services, file), (e: Error) => re.test(e.message), name);
      }
      assert.equal((await gh.api('GET', '/tenants/default/users?search=imp@example.test')).body.items.length, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('URL fields take https only (http on loopback): javascript: and plain http are refused', async () => {
    const base = { name: 'portal', displayName: 'Portal', type: 'web', redirectUris: ['https://portal.example.test/cb'] };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ homeUrl: 'javascript:alert(document.cookie)' }, /homeUrl: must be an https:\/\/ address \(javascript: is not allowed\)/],
      [{ homeUrl: 'JavaScript:alert(1)' }, /homeUrl: must be an https/],
      [{ homeUrl: 'data:text/html,<script>alert(1)</script>' }, /homeUrl: must be an https/],
      [{ homeUrl: 'http://portal.example.test/' }, /homeUrl: must use https/],
      [{ initiateLoginUri: 'javascript:alert(1)' }, /initiateLoginUri: must be an https/],
      [{ homeUrl: 'https://portal.example.test/\u0000' }, /control character U\+0000/],
    ];
    for (const [extra, re] of cases) {
      const r = await gh.api('POST', '/tenants/default/apps', { ...base, ...extra });
      assert.equal(r.status, 400, JSON.stringify(extra));
      assert.match(r.body.error.message, re);
    }
    const ok = await gh.api('POST', '/tenants/default/apps', {
      ...base,
      homeUrl: 'https://portal.example.test/',
      initiateLoginUri: 'http://127.0.0.1:8080/login',
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const patched = await gh.api('PATCH', `/tenants/default/apps/${ok.body.clientId}`, { homeUrl: 'javascript:alert(1)' });
    assert.equal(patched.status, 400);
    const up = await gh.api('POST', '/tenants/default/upstreams', { name: 'Weird', type: 'oidc', clientId: 'x', authorityUrl: 'javascript:alert(1)' });
    assert.equal(up.status, 400);
    assert.match(up.body.error.message, /authorityUrl: must be an https/);
  });

  test('client assertions (client_secret_jwt, private_key_jwt) that expire more than 5 minutes ahead are refused with invalid_client', async () => {
    const tokenEndpoint = `${issuer}/token`;
    const secretApp = await gh.api('POST', '/tenants/default/apps', {
      name: 'hs-batch',
      displayName: 'Batch',
      type: 'service',
      clientAuthMethod: 'client_secret_jwt',
    });
    assert.equal(secretApp.status, 201, JSON.stringify(secretApp.body));
    const { publicJwk, privateJwk } = await jwkWithCertificate(new Date(Date.now() + 365 * 86400_000));
    const keyApp = await gh.api('POST', '/tenants/default/apps', {
      name: 'pk-batch',
      displayName: 'Batch 2',
      type: 'service',
      clientAuthMethod: 'private_key_jwt',
      jwks: { keys: [publicJwk] },
    });
    assert.equal(keyApp.status, 201, JSON.stringify(keyApp.body));
    const privateKey = await jose.importJWK(privateJwk as jose.JWK, 'ES256');

    const assertion = async (clientId: string, expiresIn: number, sign: (j: jose.SignJWT) => Promise<string>) =>
      sign(
        new jose.SignJWT({})
          .setIssuer(clientId)
          .setSubject(clientId)
          .setAudience(tokenEndpoint)
          .setJti(crypto.randomUUID())
          .setIssuedAt()
          .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn),
      );
    const hs = (j: jose.SignJWT) => j.setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secretApp.body.clientSecret));
    const es = (j: jose.SignJWT) => j.setProtectedHeader({ alg: 'ES256', kid: 'rp-key-1' }).sign(privateKey);
    const token = (clientAssertion: string) =>
      fetch(tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: clientAssertion,
        }),
      });

    for (const [clientId, sign] of [
      [secretApp.body.clientId, hs],
      [keyApp.body.clientId, es],
    ] as const) {
      const yearLong = await token(await assertion(clientId, 365 * 86400, sign));
      assert.equal(yearLong.status, 401, 'a 1-year assertion');
      const body = (await yearLong.json()) as { error: string; error_description: string };
      assert.equal(body.error, 'invalid_client');
      assert.match(body.error_description, /at most 5 minutes ahead/);
      const tenMinutes = await token(await assertion(clientId, 600, sign));
      assert.equal(tenMinutes.status, 401, 'a 10-minute assertion');
      const fourMinutes = await token(await assertion(clientId, 240, sign));
      assert.equal(fourMinutes.status, 200, `a 4-minute assertion is fine: ${await fourMinutes.clone().text()}`);
    }
    // openid-client's own assertions (short-lived) keep working.
    const key = await globalThis.crypto.subtle.importKey('jwk', privateJwk as JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const config = await oidc.discovery(new URL(issuer), keyApp.body.clientId, {}, oidc.PrivateKeyJwt({ key, kid: 'rp-key-1' }), {
      execute: [oidc.allowInsecureRequests],
    });
    assert.ok((await oidc.clientCredentialsGrant(config, {})).access_token);
  });
}
