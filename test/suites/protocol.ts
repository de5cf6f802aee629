// Black-box protocol tests: a real Gatehouse, driven by openid-client v6. The same suite
// runs on the embedded SQLite store and on PostgreSQL + Redis.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { X509Certificate } from 'node:crypto';
import { ADMIN, startTestServer, type Backend, type TestServer, LOOPBACK_OUTBOUND } from '../helpers/server.ts';
import { Agent, text } from '../helpers/agent.ts';
import { rpConfig, codeFlow, backchannelReceiver } from '../helpers/rp.ts';
import { jwkWithCertificate } from '../helpers/certs.ts';

export function protocolSuite(backend: Backend) {
  const skip = backend.skip;
  const test = (name: string, fn: () => Promise<void>) => nodeTest(name, { skip }, fn);
  let gh: TestServer;
  let issuer: string;
  const RP = 'https://rp.example.test/callback';
  const RP2 = 'https://rp2.example.test/callback';
  const alice = { email: 'alice@example.test', password: 'alice-password-1' };
  const bob = { email: 'bob@other.test', password: 'bob-password-1' };
  const ADMIN_EMAIL = ADMIN.email;
  let web: { client_id: string; client_secret: string };
  let web2: { client_id: string; client_secret: string };
  let bcl: Awaited<ReturnType<typeof backchannelReceiver>>;

  async function createApp(body: Record<string, unknown>, slug = 'default') {
    const r = await gh.api('POST', `/tenants/${slug}/apps`, body);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return { ...r.body, client_id: r.body.clientId, client_secret: r.body.clientSecret };
  }

  before(async () => {
    if (skip) return;
    // Its upstreams / back-channel logout receivers run on this machine: allowed explicitly.
    gh = await startTestServer(LOOPBACK_OUTBOUND, { backend });
    issuer = `${gh.base}/t/default`;
    bcl = await backchannelReceiver();
    for (const u of [alice, bob])
      assert.equal((await gh.api('POST', '/tenants/default/users', { ...u, givenName: 'Alice', familyName: 'Liddell', groups: ['Staff'] })).status, 201);
    web = await createApp({
      name: 'crm',
      displayName: 'Customer CRM',
      type: 'web',
      redirectUris: [RP],
      postLogoutRedirectUris: ['https://rp.example.test/bye'],
      backchannelLogoutUri: bcl.url,
      claims: [
        { name: 'department', value: 'Sales' },
        { name: 'org_unit', attribute: 'domain' },
      ],
    });
    web2 = await createApp({ name: 'wiki', displayName: 'Team Wiki', type: 'web', redirectUris: [RP2] });
    for (const a of [web, web2])
      assert.equal((await gh.api('POST', `/tenants/default/apps/${a.client_id}/deployment/targets`, { type: 'user', ref: alice.email })).status, 200);
  });
  after(async () => {
    await bcl?.close();
    await gh?.close();
  });

  test('discovery and JWKS publish RS256 and ES256 keys with X.509 certificates', async () => {
    const config = await rpConfig(issuer, web.client_id, web.client_secret);
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, issuer);
    assert.ok(meta.code_challenge_methods_supported?.includes('S256'));
    assert.ok(meta.pushed_authorization_request_endpoint);
    assert.ok(meta.dpop_signing_alg_values_supported?.length);
    assert.ok(meta.backchannel_logout_supported);
    const jwks = (await (await fetch(meta.jwks_uri!)).json()) as { keys: Array<Record<string, any>> };
    const algs = new Set(jwks.keys.map((k) => k.alg));
    assert.ok(algs.has('RS256') && algs.has('ES256'));
    for (const k of jwks.keys) {
      assert.equal(k.d, undefined, 'private parts must never be published');
      const cert = new X509Certificate(Buffer.from(k.x5c[0], 'base64'));
      const years = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (365 * 24 * 3600e3);
      assert.ok(years > 1.9 && years < 2.1, `certificate validity ${years} years`);
    }
  });

  test('authorization code + PKCE: ID token, userinfo and custom claims', async () => {
    const config = await rpConfig(issuer, web.client_id, web.client_secret);
    const { tokens } = await codeFlow(config, new Agent(), { redirectUri: RP, ...alice, scope: 'openid email profile groups' });
    const claims = tokens.claims()!;
    assert.equal(claims.iss, issuer);
    assert.equal(claims.email, alice.email);
    assert.equal(claims.department, 'Sales');
    assert.equal(claims.org_unit, 'example.test');
    assert.deepEqual(claims.amr, ['pwd']);
    assert.ok(tokens.refresh_token, 'web apps get a refresh token');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.email, alice.email);
    assert.equal(info.given_name, 'Alice');
    assert.deepEqual(info.groups, ['Staff']);
    assert.equal(info.preferred_username, alice.email);
  });

  test('SSO: a second app in the same browser signs in without any prompt', async () => {
    const agent = new Agent();
    await codeFlow(await rpConfig(issuer, web.client_id, web.client_secret), agent, { redirectUri: RP, ...alice });
    const config2 = await rpConfig(issuer, web2.client_id, web2.client_secret);
    const url = oidc.buildAuthorizationUrl(config2, {
      redirect_uri: RP2,
      scope: 'openid',
      state: 's',
      code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
      code_challenge_method: 'S256',
    });
    const callback = await agent.follow(url.href, RP2);
    assert.ok(callback, `expected a silent redirect, got page: ${text(agent.lastBody).slice(0, 200)}`);
    assert.ok(new URL(callback).searchParams.get('code'));
  });

  test('refresh tokens rotate, and reuse of an old one revokes the grant', async () => {
    const config = await rpConfig(issuer, web.client_id, web.client_secret);
    const { tokens } = await codeFlow(config, new Agent(), { redirectUri: RP, ...alice });
    const first = tokens.refresh_token!;
    const second = await oidc.refreshTokenGrant(config, first);
    assert.ok(second.refresh_token && second.refresh_token !== first);
    await assert.rejects(oidc.refreshTokenGrant(config, first), (e: any) => e.error === 'invalid_grant');
    // The reuse revoked the whole grant: the newest token is dead too.
    await assert.rejects(oidc.refreshTokenGrant(config, second.refresh_token!), (e: any) => e.error === 'invalid_grant');
  });

  test('client_credentials, introspection and revocation', async () => {
    const svc = await createApp({ name: 'batch', displayName: 'Batch job', type: 'service' });
    assert.ok(svc.client_secret);
    const config = await rpConfig(issuer, svc.client_id, svc.client_secret);
    const t = await oidc.clientCredentialsGrant(config, {});
    assert.ok(t.access_token);
    const active = await oidc.tokenIntrospection(config, t.access_token);
    assert.equal(active.active, true);
    assert.equal(active.client_id, svc.client_id);
    await oidc.tokenRevocation(config, t.access_token);
    assert.equal((await oidc.tokenIntrospection(config, t.access_token)).active, false);
    const wrong = await rpConfig(issuer, svc.client_id, 'x'.repeat(43));
    await assert.rejects(oidc.clientCredentialsGrant(wrong, {}), (e: any) => JSON.stringify(e.cause).includes('invalid_client'));
  });

  test("client authentication: private_key_jwt with the app's registered key, client_secret_jwt, the secret in the header or the form; another method or key is refused", async () => {
    const invalidClient = (e: any) => JSON.stringify(e.cause).includes('invalid_client');
    const signer = async (clientId: string, privateJwk: Record<string, unknown>) => {
      const key = await globalThis.crypto.subtle.importKey('jwk', privateJwk as JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
      return oidc.discovery(new URL(issuer), clientId, {}, oidc.PrivateKeyJwt({ key, kid: 'rp-key-1' }), { execute: [oidc.allowInsecureRequests] });
    };
    const { publicJwk, privateJwk } = await jwkWithCertificate(new Date(Date.now() + 365 * 86400_000));

    const noKeys = await gh.api('POST', '/tenants/default/apps', {
      name: 'signer-0',
      displayName: 'Signer',
      type: 'service',
      clientAuthMethod: 'private_key_jwt',
    });
    assert.equal(noKeys.status, 400);
    assert.match(noKeys.body.error.message, /register them in jwks/);
    const svc = await createApp({ name: 'signer', displayName: 'Signer', type: 'service', clientAuthMethod: 'private_key_jwt', jwks: { keys: [publicJwk] } });
    assert.equal(svc.clientAuthMethod, 'private_key_jwt');
    const signed = await signer(svc.client_id, privateJwk);
    const token = (await oidc.clientCredentialsGrant(signed, {})).access_token;
    assert.ok(token, 'an assertion signed with the registered key');
    assert.equal((await oidc.tokenIntrospection(signed, token)).active, true, 'introspection takes the same method');
    await oidc.tokenRevocation(signed, token);
    assert.equal((await oidc.tokenIntrospection(signed, token)).active, false, 'and so does revocation');
    await assert.rejects(
      oidc.clientCredentialsGrant(await rpConfig(issuer, svc.client_id, svc.client_secret), {}),
      invalidClient,
      'its client secret does not authenticate it',
    );
    const stranger = await jwkWithCertificate(new Date(Date.now() + 365 * 86400_000));
    await assert.rejects(oidc.clientCredentialsGrant(await signer(svc.client_id, stranger.privateJwk), {}), invalidClient, 'a key it did not register');
    const unkeyed = await gh.api('PATCH', `/tenants/default/apps/${svc.client_id}`, { jwks: null });
    assert.equal(unkeyed.status, 400, 'its keys cannot be removed while it signs with them');
    // A new key registered takes effect at once.
    assert.equal((await gh.api('PATCH', `/tenants/default/apps/${svc.client_id}`, { jwks: { keys: [stranger.publicJwk] } })).status, 200);
    assert.ok((await oidc.clientCredentialsGrant(await signer(svc.client_id, stranger.privateJwk), {})).access_token);
    await assert.rejects(oidc.clientCredentialsGrant(await signer(svc.client_id, privateJwk), {}), invalidClient, 'the replaced key no longer works');

    // The default, client_secret_basic, also takes the secret in the form (client_secret_post).
    const plain = await createApp({ name: 'poster', displayName: 'Poster', type: 'service' });
    assert.equal(plain.clientAuthMethod, 'client_secret_basic', 'the default');
    const poster = await oidc.discovery(new URL(issuer), plain.client_id, plain.client_secret, oidc.ClientSecretPost(plain.client_secret), {
      execute: [oidc.allowInsecureRequests],
    });
    assert.ok((await oidc.clientCredentialsGrant(poster, {})).access_token);
    const hs = await createApp({ name: 'hs-signer', displayName: 'HS signer', type: 'service', clientAuthMethod: 'client_secret_jwt' });
    const hsConfig = await oidc.discovery(new URL(issuer), hs.client_id, hs.client_secret, oidc.ClientSecretJwt(hs.client_secret), {
      execute: [oidc.allowInsecureRequests],
    });
    assert.ok((await oidc.clientCredentialsGrant(hsConfig, {})).access_token);
    await assert.rejects(
      oidc.clientCredentialsGrant(await rpConfig(issuer, hs.client_id, hs.client_secret), {}),
      invalidClient,
      'client_secret_jwt: the plain secret is not accepted',
    );

    const spa = await gh.api('POST', '/tenants/default/apps', {
      name: 'spa-signer',
      displayName: 'SPA',
      type: 'spa',
      redirectUris: ['https://spa.example.test/cb'],
      clientAuthMethod: 'private_key_jwt',
    });
    assert.equal(spa.status, 400);
    assert.match(spa.body.error.message, /public clients/);
    assert.equal((await gh.api('GET', `/tenants/default/apps/${web.client_id}`)).body.clientAuthMethod, 'client_secret_basic');
  });

  test('public clients must use PKCE; native apps may use any loopback port and custom schemes', async () => {
    const spa = await createApp({ name: 'spa', displayName: 'SPA', type: 'spa', redirectUris: ['http://localhost:5173/cb'] });
    assert.equal(spa.client_secret, null);
    const agent = new Agent();
    const noPkce = `${issuer}/auth?client_id=${spa.client_id}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('http://localhost:5173/cb')}`;
    const back = await agent.follow(noPkce, 'http://localhost:5173/cb');
    assert.ok(back && new URL(back).searchParams.get('error') === 'invalid_request', `got ${back}`);

    const native = await createApp({
      name: 'mobile',
      displayName: 'Mobile',
      type: 'native',
      redirectUris: ['http://127.0.0.1/callback', 'com.example.app://callback'],
    });
    await gh.api('POST', `/tenants/default/apps/${native.client_id}/deployment/targets`, { all: true });
    const config = await rpConfig(issuer, native.client_id);
    const { tokens } = await codeFlow(config, new Agent(), { redirectUri: 'http://127.0.0.1:49152/callback', ...alice });
    assert.ok(tokens.id_token);
    const { callback } = await codeFlow(config, new Agent(), { redirectUri: 'com.example.app://callback', ...alice }).catch((e) => ({ callback: String(e) }));
    assert.match(callback, /^com\.example\.app:\/\/callback\?/);
    // A custom scheme is matched exactly.
    const wrong = `${issuer}/auth?client_id=${native.client_id}&response_type=code&scope=openid&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256&redirect_uri=${encodeURIComponent('com.example.app://other')}`;
    assert.equal(await agent.follow(wrong, 'com.example.app://'), null);
    assert.match(text(agent.lastBody), /not registered/);
  });

  test('unknown app and unregistered redirect URI: error page, never a redirect', async () => {
    const agent = new Agent();
    const unknown = await agent.follow(`${issuer}/auth?client_id=nope&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(RP)}`, 'https://');
    assert.equal(unknown, null);
    assert.equal(agent.lastStatus, 400);
    assert.match(text(agent.lastBody), /Unknown application/);
    const evil = await agent.follow(
      `${issuer}/auth?client_id=${web.client_id}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('https://evil.example/cb')}`,
      'https://',
    );
    assert.equal(evil, null);
    assert.match(text(agent.lastBody), /not registered/);
  });

  test('an app not deployed to the user: clear page, then access_denied to the app; undeploy takes effect at once', async () => {
    const config = await rpConfig(issuer, web.client_id, web.client_secret);
    const agent = new Agent();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid',
      state: 'st',
      code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
      code_challenge_method: 'S256',
    });
    await assert.rejects(agent.signIn(url.href, RP, bob.email, bob.password), /did not complete/);
    assert.equal(agent.lastStatus, 403);
    assert.match(text(agent.lastBody), /not been deployed to bob@other\.test/);
    const f = agent.form();
    const back = await agent.follow(f.action, RP, { form: f.fields });
    assert.equal(new URL(back!).searchParams.get('error'), 'access_denied');

    // Deploy by domain, then undeploy: the next authorization (with an SSO session) follows each change.
    await gh.api('POST', `/tenants/default/apps/${web.client_id}/deployment/targets`, { type: 'domain', ref: 'other.test' });
    assert.ok(await agent.follow(url.href, RP));
    await gh.api('PUT', `/tenants/default/apps/${web.client_id}/deployment`, { all: false, targets: [{ type: 'user', ref: alice.email }] });
    assert.equal(await agent.follow(url.href, RP), null);
    assert.equal(agent.lastStatus, 403);
  });

  test('sign-in errors: no user enumeration, disabled account page, throttling with a retry time', async () => {
    const config = await rpConfig(issuer, web.client_id, web.client_secret);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid',
      state: 'st',
      code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
      code_challenge_method: 'S256',
    });
    const attempt = async (email: string, password: string) => {
      const agent = new Agent();
      await assert.rejects(agent.signIn(url.href, RP, email, password));
      return { status: agent.lastStatus, message: text(agent.lastBody) };
    };
    const unknown = await attempt('nobody@example.test', 'whatever-1');
    const wrong = await attempt(alice.email, 'wrong-password');
    assert.equal(unknown.status, wrong.status);
    assert.equal(unknown.message.replace('nobody@example.test', 'X'), wrong.message.replace(alice.email, 'X'));

    await gh.api('POST', '/tenants/default/users', { email: 'carol@example.test', password: 'carol-password-1' });
    await gh.api('PATCH', '/tenants/default/users/carol@example.test', { status: 'disabled' });
    const disabled = await attempt('carol@example.test', 'carol-password-1');
    assert.equal(disabled.status, 403);
    assert.match(disabled.message, /account is disabled/);

    let last = { status: 0, message: '' };
    for (let i = 0; i < 6; i++) last = await attempt('dave@example.test', 'bad-password');
    assert.equal(last.status, 429);
    assert.match(last.message, /Try again in \d+ minutes?/);
  });

  test('RP-initiated logout ends the session and sends a back-channel logout token', async () => {
    const config = await rpConfig(issuer, web.client_id, web.client_secret);
    const agent = new Agent();
    const { tokens } = await codeFlow(config, agent, { redirectUri: RP, ...alice });
    bcl.received.length = 0;
    const end = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://rp.example.test/bye' });
    assert.equal(await agent.follow(end.href, 'https://rp.example.test/bye'), null);
    assert.match(text(agent.lastBody), /Do you want to sign out/);
    const f = agent.form();
    const done = await agent.follow(f.action, 'https://rp.example.test/bye', { form: { ...f.fields, logout: 'yes' } });
    assert.ok(done?.startsWith('https://rp.example.test/bye'));
    await bcl.next();
    assert.equal(bcl.received.length, 1);
    const claims = jose.decodeJwt(bcl.received[0]!);
    assert.equal(claims.iss, issuer);
    assert.equal(claims.aud, web.client_id);
    assert.ok((claims.events as Record<string, unknown>)['http://schemas.openid.net/event/backchannel-logout']);
    // The session is gone: the next authorization asks to sign in again.
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid',
      state: 's',
      code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
      code_challenge_method: 'S256',
    });
    assert.equal(await agent.follow(url.href, RP), null);
    assert.match(text(agent.lastBody), /Sign in/);
  });

  test('PAR and DPoP-bound access tokens', async () => {
    const config = await rpConfig(issuer, web.client_id, web.client_secret);
    const keyPair = await oidc.randomDPoPKeyPair('ES256');
    const dpop = oidc.getDPoPHandle(config, keyPair);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = await oidc.buildAuthorizationUrlWithPAR(
      config,
      { redirect_uri: RP, scope: 'openid email', state: 'st', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' },
      { DPoP: dpop },
    );
    assert.ok(url.searchParams.get('request_uri')?.startsWith('urn:ietf:params:oauth:request_uri:'));
    const callback = await new Agent().signIn(url.href, RP, alice.email, alice.password);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: 'st' }, undefined, { DPoP: dpop });
    assert.equal(tokens.token_type.toLowerCase(), 'dpop');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub, { DPoP: dpop });
    assert.equal(info.email, alice.email);
    // Without the proof the bound token is refused.
    const plain = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(plain.status, 401);
  });

  test('tenants are isolated: clients, tokens and sessions of one are useless at another', async () => {
    assert.equal((await gh.api('POST', '/tenants', { slug: 'acme' })).status, 201);
    const acmeIssuer = `${gh.base}/t/acme`;
    // The default tenant's client is unknown at acme.
    const agent = new Agent();
    assert.equal(
      await agent.follow(`${acmeIssuer}/auth?client_id=${web.client_id}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(RP)}`, 'https://'),
      null,
    );
    assert.match(text(agent.lastBody), /Unknown application/);
    // A default-tenant access token is refused by acme's userinfo.
    const config = await rpConfig(issuer, web.client_id, web.client_secret);
    const sso = new Agent();
    const { tokens } = await codeFlow(config, sso, { redirectUri: RP, ...alice });
    assert.equal((await fetch(`${acmeIssuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status, 401);
    // The default tenant's session does not sign anyone in at acme, and alice does not exist there.
    const acmeApp = await createApp({ name: 'crm', displayName: 'Acme CRM', type: 'web', redirectUris: [RP] }, 'acme');
    await gh.api('POST', `/tenants/acme/apps/${acmeApp.client_id}/deployment/targets`, { all: true });
    const acmeConfig = await rpConfig(acmeIssuer, acmeApp.client_id, acmeApp.client_secret);
    const url = oidc.buildAuthorizationUrl(acmeConfig, {
      redirect_uri: RP,
      scope: 'openid',
      state: 's',
      code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
      code_challenge_method: 'S256',
    });
    assert.equal(await sso.follow(url.href, RP), null, 'no silent sign-in across tenants');
    await assert.rejects(new Agent().signIn(url.href, RP, alice.email, alice.password), /did not complete/);
    // Different keys per tenant.
    const kids = async (iss: string) => ((await (await fetch(`${iss}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    const [a, b] = await Promise.all([kids(issuer), kids(acmeIssuer)]);
    assert.equal(a.filter((k) => b.includes(k)).length, 0);
  });

  test('key rotation publishes the new key before it signs', async () => {
    const before = ((await (await fetch(`${issuer}/jwks`)).json()) as { keys: Array<{ kid: string; alg: string }> }).keys;
    // The next key was published at this server's start, less than the 7 days relying parties
    // may cache the JWKS: rotate schedules it, --now refuses it, --force uses it.
    const safe = await gh.api('POST', '/tenants/default/keys/rotate', { alg: 'RS256' });
    assert.equal(safe.status, 200);
    assert.deepEqual(safe.body.activated, []);
    assert.equal(safe.body.scheduled.length, 1);
    const refused = await gh.api('POST', '/tenants/default/keys/rotate', { alg: 'RS256', now: true });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /published only .* ago.*--force/s);
    const r = await gh.api('POST', '/tenants/default/keys/rotate', { alg: 'RS256', now: true, force: true });
    assert.equal(r.status, 200);
    const activated = r.body.activated[0];
    assert.equal(activated, safe.body.scheduled[0].kid);
    assert.ok(
      before.some((k) => k.kid === activated),
      'the newly active key was already in the JWKS',
    );
    const config = await rpConfig(issuer, web.client_id, web.client_secret);
    const { tokens } = await codeFlow(config, new Agent(), { redirectUri: RP, ...alice });
    assert.equal(jose.decodeProtectedHeader(tokens.id_token!).kid, activated);
    const keys = await gh.api('GET', '/tenants/default/keys');
    assert.ok(
      keys.body.items.some((k: any) => k.status === 'retired'),
      'the old key stays published while its tokens live',
    );
  });

  test('sign-in forms carry a CSRF token, pages a strict CSP; a forged form post is refused', async () => {
    const config = await rpConfig(issuer, web.client_id, web.client_secret);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid',
      state: 's',
      code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
      code_challenge_method: 'S256',
    });
    const agent = new Agent();
    assert.equal(await agent.follow(url.href, RP), null);
    const page = await agent.request(agent.lastUrl);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    const f = agent.form();
    assert.ok(f.fields.csrf);
    const forged = await agent.request(f.action, { form: { email: alice.email, csrf: 'x'.repeat(43) } });
    assert.equal(forged.status, 403);
    assert.match(text(await forged.text()), /could not be verified/);
    const missing = await agent.request(f.action, { form: { email: alice.email } });
    assert.equal(missing.status, 403);
    // The genuine form still works afterwards.
    assert.ok(await agent.signIn(url.href, RP, alice.email, alice.password));
  });

  test('a user disabled while signed in: the SSO session stops working, and so do their tokens', async () => {
    await gh.api('POST', '/tenants/default/users', { email: 'erin@example.test', password: 'erin-password-1' });
    await gh.api('POST', `/tenants/default/apps/${web.client_id}/deployment/targets`, { type: 'user', ref: 'erin@example.test' });
    const config = await rpConfig(issuer, web.client_id, web.client_secret);
    const agent = new Agent();
    const { tokens } = await codeFlow(config, agent, { redirectUri: RP, email: 'erin@example.test', password: 'erin-password-1' });
    assert.equal((await gh.api('PATCH', '/tenants/default/users/erin@example.test', { status: 'disabled' })).status, 200);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid',
      state: 's',
      code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
      code_challenge_method: 'S256',
    });
    assert.equal(await agent.follow(url.href, RP), null, 'no silent sign-in for a disabled account');
    assert.equal(agent.lastStatus, 200);
    assert.match(text(agent.lastBody), /Sign in/);
    await assert.rejects(agent.signIn(url.href, RP, 'erin@example.test', 'erin-password-1'), /did not complete/);
    assert.match(text(agent.lastBody), /account is disabled/);
    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), (e: any) => e.error === 'invalid_grant');
    assert.equal((await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status, 401);
  });

  test('SSO sessions are listed per user with browser, IP and apps; ending one signs the browser out and tells its apps', async () => {
    const frank = { email: 'frank@example.test', password: 'frank-password-1' };
    await gh.api('POST', '/tenants/default/users', frank);
    for (const a of [web, web2]) await gh.api('POST', `/tenants/default/apps/${a.client_id}/deployment/targets`, { type: 'user', ref: frank.email });
    const tenant = (await gh.services.tenantStore.bySlug('default'))!;
    const user = (await gh.services.userStore.userByEmail(tenant.id, frank.email))!;
    const config = await rpConfig(issuer, web.client_id, web.client_secret);
    const laptop = new Agent();
    const phone = new Agent();
    const { tokens } = await codeFlow(config, laptop, { redirectUri: RP, ...frank, scope: 'openid email' });
    await codeFlow(config, phone, { redirectUri: RP, ...frank });
    // The laptop's session also signs in to the wiki (SSO).
    const config2 = await rpConfig(issuer, web2.client_id, web2.client_secret);
    const url2 = oidc.buildAuthorizationUrl(config2, {
      redirect_uri: RP2,
      scope: 'openid',
      state: 's',
      code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
      code_challenge_method: 'S256',
    });
    assert.ok(await laptop.follow(url2.href, RP2));

    const sessions = await gh.services.sessionService.listForUser(tenant.id, user.id);
    assert.equal(sessions.length, 2);
    const laptopSession = sessions.find((s) => s.apps.length === 2)!;
    assert.ok(laptopSession, JSON.stringify(sessions));
    assert.deepEqual(laptopSession.appNames.map((a) => a.name).sort(), ['Customer CRM', 'Team Wiki']);
    assert.equal(laptopSession.ip, '127.0.0.1');
    assert.ok(laptopSession.startedAt <= laptopSession.lastSeenAt && laptopSession.expiresAt > Date.now());
    assert.deepEqual(laptopSession.amr, ['pwd']);

    bcl.received.length = 0;
    assert.equal(await gh.services.sessionService.end(tenant, laptopSession.id, { by: ADMIN_EMAIL, why: 'test' }), true);
    await bcl.next();
    assert.equal(bcl.received.length, 1, 'the CRM (the only app with a back-channel logout URI) is told');
    assert.equal(jose.decodeJwt(bcl.received[0]!).sub, user.id);
    // The laptop must sign in again; its refresh token (no offline_access) ended with the session.
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid',
      state: 's',
      code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
      code_challenge_method: 'S256',
    });
    assert.equal(await laptop.follow(url.href, RP), null);
    assert.match(text(laptop.lastBody), /Sign in/);
    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), (e: any) => e.error === 'invalid_grant');
    // The phone's session is untouched; ending a session twice says so.
    assert.ok(await phone.follow(url.href, RP), 'the other session still signs in silently');
    assert.deepEqual(
      (await gh.services.sessionService.listForUser(tenant.id, user.id)).map((s) => s.id),
      sessions.filter((s) => s !== laptopSession).map((s) => s.id),
    );
    assert.equal(await gh.services.sessionService.end(tenant, laptopSession.id, { by: ADMIN_EMAIL, why: 'test' }), false);
    const audit = await gh.api('GET', '/tenants/default/audit?type=session.ended');
    assert.equal(audit.body.items[0].actor, ADMIN_EMAIL);

    // Disabling the account ends the rest of its sessions.
    assert.equal((await gh.api('PATCH', `/tenants/default/users/${frank.email}`, { status: 'disabled' })).status, 200);
    assert.deepEqual(await gh.services.sessionService.listForUser(tenant.id, user.id), []);
  });
}
