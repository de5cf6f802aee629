// Upstream directories: independent OpenID providers (oidc-provider instances of their own)
// that Gatehouse routes users to by email domain, with just-in-time accounts, the claim gate,
// Test/Enabled modes, the administrator fallback, and upstream failures. The first test runs
// in real Chromium; the rest drive the same pages with the protocol agent. The same suite
// runs on the embedded SQLite store and on PostgreSQL + Redis.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import * as oidc from 'openid-client';
import { startTestServer, freePort, type Backend, type TestServer, LOOPBACK_OUTBOUND } from '../helpers/server.ts';
import { startTestRp } from '../helpers/test-rp.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { haveChromium, launch } from '../helpers/browser.ts';
import { Agent, text } from '../helpers/agent.ts';
import { rpConfig } from '../helpers/rp.ts';

export function federationSuite(backend: Backend) {
  const test = (name: string, opts: { skip?: string | false } | (() => Promise<void>), fn?: () => Promise<void>) =>
    typeof opts === 'function'
      ? nodeTest(`${backend.name}: ${name}`, { skip: backend.skip }, opts)
      : nodeTest(`${backend.name}: ${name}`, { skip: backend.skip || opts.skip }, fn!);
  let gh: TestServer;
  let rp: Awaited<ReturnType<typeof startTestRp>>;
  let rpClient: { clientId: string; clientSecret: string; redirectUri: string };
  let contoso: TestUpstream; // Enabled, claim gate, external ID
  let fabrikam: TestUpstream; // starts in Test mode; names only at userinfo
  let flaky: TestUpstream; // for failures
  const ids: Record<string, string> = {};
  const callback = () => `${gh.base}/t/default/federation/callback`;

  async function addUpstream(name: string, up: TestUpstream, extra: Record<string, unknown>) {
    const r = await gh.api('POST', '/tenants/default/upstreams', {
      name,
      type: 'oidc',
      authorityUrl: up.issuer,
      clientId: up.clientId,
      clientSecret: up.clientSecret,
      ...extra,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  }

  before(async () => {
    if (backend.skip) return;
    // Its upstreams / back-channel logout receivers run on this machine: allowed explicitly.
    gh = await startTestServer(LOOPBACK_OUTBOUND, { backend });
    const port = await freePort();
    const app = await gh.api('POST', '/tenants/default/apps', {
      name: 'crm',
      displayName: 'Customer CRM',
      type: 'web',
      redirectUris: [`http://127.0.0.1:${port}/callback`],
    });
    assert.equal(app.status, 201);
    assert.equal((await gh.api('PUT', `/tenants/default/apps/${app.body.clientId}/deployment`, { all: true })).status, 200);
    rp = await startTestRp({ issuer: `${gh.base}/t/default`, clientId: app.body.clientId, clientSecret: app.body.clientSecret, port });
    rpClient = { clientId: app.body.clientId, clientSecret: app.body.clientSecret, redirectUri: `http://127.0.0.1:${port}/callback` };

    contoso = await startUpstream({
      name: 'Contoso ID',
      redirectUri: callback(),
      accounts: [
        {
          sub: 'c-1',
          email: 'carol@contoso.test',
          password: 'up-pass-1',
          given_name: 'Carol',
          family_name: 'Jones',
          email_verified: true,
          roles: ['Gatehouse_Access'],
          employee_id: 'E100',
          amr: ['pwd', 'mfa'],
        },
        { sub: 'c-2', email: 'dave@contoso.test', password: 'up-pass-2', given_name: 'Dave', family_name: 'Lee', roles: ['Other'] },
        {
          sub: 'c-3',
          email: 'erin@contoso.test',
          password: 'up-pass-3',
          given_name: 'Erin',
          family_name: 'Moss',
          roles: ['Gatehouse_Access'],
          email_verified: false,
        },
        { sub: 'c-4', email: 'legacy@contoso.test', password: 'up-pass-4', given_name: 'Leo', family_name: 'Gacy', roles: ['Gatehouse_Access'] },
      ],
    });
    fabrikam = await startUpstream({
      name: 'Fabrikam',
      redirectUri: callback(),
      idTokenClaims: false,
      accounts: [
        { sub: 'f-1', email: 'frank@fabrikam.test', password: 'up-pass-5', given_name: 'Frank', family_name: 'Ford' },
        { sub: 'f-2', email: 'gina@fabrikam.test', password: 'up-pass-6', given_name: 'Gina', family_name: 'Gold' },
      ],
    });
    flaky = await startUpstream({
      name: 'Flaky',
      redirectUri: callback(),
      accounts: [{ sub: 'x-1', email: 'hal@flaky.test', password: 'up-pass-7', given_name: 'Hal', family_name: 'Nine' }],
    });
    ids.contoso = await addUpstream('Contoso ID', contoso, {
      mode: 'enabled',
      domains: ['contoso.test'],
      claimGate: { claim: 'roles', value: 'Gatehouse_Access' },
      externalIdClaim: 'employee_id',
      showButton: true,
    });
    ids.fabrikam = await addUpstream('Fabrikam', fabrikam, { mode: 'test', domains: ['fabrikam.test'], testUsers: ['frank@fabrikam.test'] });
    ids.flaky = await addUpstream('Flaky', flaky, { mode: 'enabled', domains: ['flaky.test'] });
    // Local accounts in a routed domain: an administrator (keeps a password fallback) and a plain user.
    assert.equal(
      (await gh.api('POST', '/tenants/default/users', { email: 'root@contoso.test', password: 'local-admin-pass-1', roles: ['admin'] })).status,
      201,
    );
    assert.equal((await gh.api('POST', '/tenants/default/users', { email: 'legacy@contoso.test', password: 'local-user-pass-1' })).status, 201);
    assert.equal((await gh.api('POST', '/tenants/default/users', { email: 'erin@contoso.test', password: 'local-user-pass-2' })).status, 201);
  });
  after(async () => {
    await rp?.close();
    await contoso?.stop();
    await fabrikam?.stop();
    await flaky?.stop();
    await gh?.close();
  });

  async function authUrl() {
    const config = await rpConfig(`${gh.base}/t/default`, rpClient.clientId, rpClient.clientSecret);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: rpClient.redirectUri,
      scope: 'openid email profile',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return {
      url: url.href,
      finish: (cb: string) => oidc.authorizationCodeGrant(config, new URL(cb), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }),
    };
  }

  /** Start at the app, give the email at Gatehouse; returns the agent on whatever page follows. */
  async function identify(agent: Agent, email: string) {
    const a = await authUrl();
    assert.equal(await agent.follow(a.url, rpClient.redirectUri), null);
    const f = agent.form();
    const done = await agent.follow(f.action, rpClient.redirectUri, { form: { ...f.fields, email } });
    assert.equal(done, null);
    return a;
  }

  /** On the upstream's sign-in form: sign in there and follow back (stopping at `stop`). */
  async function signInUpstream(agent: Agent, email: string, password: string, stop = rpClient.redirectUri) {
    assert.match(agent.lastBody, /id="upstream-login"/, `expected the upstream sign-in form, got: ${text(agent.lastBody).slice(0, 200)}`);
    return agent.follow(agent.lastUrl, stop, { form: { login: email, password } });
  }

  const userByEmail = async (email: string) =>
    (await gh.api('GET', `/tenants/default/users?search=${encodeURIComponent(email)}`)).body.items.find((u: { email: string }) => u.email === email);

  test('browser: email routing to the upstream with login_hint, a just-in-time account (every event naming the app), then names synced on the next sign-in', {
    skip: haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium)',
  }, async () => {
    const browser: Browser = await launch();
    try {
      const started = Date.now();
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${rp.base}/login`);
      assert.equal(await page.getByRole('link', { name: 'Sign in with Contoso ID' }).count(), 1, 'the upstream is offered as a button');
      await page.getByLabel('Email').fill('carol@contoso.test');
      await page.getByRole('button', { name: 'Next' }).click();
      // At the upstream, the email is already filled in (login_hint).
      await page.waitForSelector('#upstream-login');
      assert.equal(await page.locator('#login').inputValue(), 'carol@contoso.test');
      await page.locator('#password').fill('up-pass-1');
      await page.getByRole('button', { name: 'Sign in upstream' }).click();
      assert.equal(await page.locator('#user').textContent(), 'Signed in as carol@contoso.test');
      const claims = rp.idTokenClaims();
      assert.equal(claims.acr, 'urn:gatehouse:loa:fed-mfa', 'the upstream did MFA');
      assert.ok((claims.amr as string[]).includes('mfa'));

      const carol = await userByEmail('carol@contoso.test');
      assert.ok(carol, 'the account was created on first sign-in');
      // Every event of the federated sign-in names the application signed in to.
      const trail = (await gh.api('GET', `/tenants/default/audit?since=${started}&limit=100`)).body.items as Array<{
        type: string;
        clientId: string | null;
        userId: string | null;
      }>;
      const fed = trail.filter((e) => e.type.startsWith('federation.') || e.type === 'signin.succeeded');
      assert.deepEqual([...new Set(fed.map((e) => e.type))].sort(), [
        'federation.callback',
        'federation.redirect',
        'federation.token',
        'federation.user_created',
        'signin.succeeded',
      ]);
      assert.ok(
        fed.every((e) => e.clientId === rpClient.clientId),
        JSON.stringify(fed.map((e) => [e.type, e.clientId])),
      );
      assert.equal(carol.givenName, 'Carol');
      assert.equal(carol.familyName, 'Jones');
      assert.equal(carol.hasPassword, false);
      assert.equal(carol.upstreamId, ids.contoso);
      // Names come from the upstream: read-only here.
      const edit = await gh.api('PATCH', `/tenants/default/users/${carol.id}`, { givenName: 'Caroline' });
      assert.equal(edit.status, 409);
      assert.match(edit.body.error.message, /Contoso ID/);

      // Renamed upstream: the next sign-in (a new browser session) brings the new name.
      contoso.accounts.get('c-1')!.family_name = 'Smith';
      const page2 = await (await browser.newContext()).newPage();
      await page2.goto(`${rp.base}/login`);
      await page2.getByLabel('Email').fill('carol@contoso.test');
      await page2.getByRole('button', { name: 'Next' }).click();
      await page2.locator('#password').fill('up-pass-1');
      await page2.getByRole('button', { name: 'Sign in upstream' }).click();
      assert.equal(await page2.locator('#user').textContent(), 'Signed in as carol@contoso.test');
      const again = await userByEmail('carol@contoso.test');
      assert.equal(again.id, carol.id, 'the same account (linked by issuer + subject)');
      assert.equal(again.familyName, 'Smith');
    } finally {
      await browser.close();
    }
  });

  test('the claim gate refuses a user without the required role, creates nothing and logs why', async () => {
    const agent = new Agent();
    await identify(agent, 'dave@contoso.test');
    assert.equal(await signInUpstream(agent, 'dave@contoso.test', 'up-pass-2'), null);
    assert.equal(agent.lastStatus, 403);
    assert.match(text(agent.lastBody), /not authorized by the claim configured for Contoso ID/);
    assert.equal(await userByEmail('dave@contoso.test'), undefined);
    const logs = await gh.api('GET', '/tenants/default/audit?level=warn&text=dave');
    assert.ok(logs.body.items.some((e: { type: string }) => e.type === 'federation.claim_refused'));
  });

  test('an existing account is not joined on an email the upstream did not confirm', async () => {
    const agent = new Agent();
    await identify(agent, 'erin@contoso.test');
    assert.equal(await signInUpstream(agent, 'erin@contoso.test', 'up-pass-3'), null);
    assert.equal(agent.lastStatus, 409);
    assert.match(text(agent.lastBody), /did not confirm that this email belongs to you/);
    assert.equal((await userByEmail('erin@contoso.test')).upstreamId, null);
  });

  test('Enabled mode: a routed user can only sign in upstream; an administrator keeps the password fallback', async () => {
    // A plain local user in the routed domain is sent straight to the upstream...
    const plain = new Agent();
    await identify(plain, 'legacy@contoso.test');
    assert.match(plain.lastBody, /id="upstream-login"/);
    // ...and a password posted directly is refused.
    const sneaky = new Agent();
    const a = await authUrl();
    await sneaky.follow(a.url, rpClient.redirectUri);
    const f = sneaky.form();
    await sneaky.follow(f.action.replace(/\/identify$/, '') + '/password', rpClient.redirectUri, {
      form: { ...f.fields, email: 'legacy@contoso.test', password: 'local-user-pass-1' },
    });
    assert.equal(sneaky.lastStatus, 403);
    assert.match(text(sneaky.lastBody), /signs you in through Contoso ID/);

    // The administrator chooses: the upstream or their local password.
    const admin = new Agent();
    const flow = await identify(admin, 'root@contoso.test');
    assert.match(text(admin.lastBody), /Continue with Contoso ID/);
    const form = admin.form();
    const done = await admin.follow(form.action, rpClient.redirectUri, { form: { ...form.fields, password: 'local-admin-pass-1' } });
    assert.ok(done, `the password fallback signs in: ${text(admin.lastBody).slice(0, 200)}`);
    const tokens = await flow.finish(done!);
    assert.equal(tokens.claims()!.acr, 'urn:gatehouse:loa:pwd');
  });

  test('browser: Test mode routes only the listed test users, who may also use a password; Enabled then routes everyone in the domain', {
    skip: haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium)',
  }, async () => {
    const browser: Browser = await launch();
    try {
      const tester = await (await browser.newContext()).newPage();
      await tester.goto(`${rp.base}/login`);
      await tester.getByLabel('Email').fill('frank@fabrikam.test');
      await tester.getByRole('button', { name: 'Next' }).click();
      assert.equal(await tester.getByLabel('Password').count(), 1, 'Test mode keeps the password option');
      await tester.getByRole('link', { name: 'Continue with Fabrikam' }).click();
      await tester.locator('#password').fill('up-pass-5');
      await tester.getByRole('button', { name: 'Sign in upstream' }).click();
      assert.equal(await tester.locator('#user').textContent(), 'Signed in as frank@fabrikam.test');
      const frank = await userByEmail('frank@fabrikam.test');
      assert.equal(frank.givenName, 'Frank', 'names fetched from userinfo when the ID token has none');

      const other = await (await browser.newContext()).newPage();
      await other.goto(`${rp.base}/login`);
      await other.getByLabel('Email').fill('gina@fabrikam.test');
      await other.getByRole('button', { name: 'Next' }).click();
      assert.equal(await other.locator('h1').textContent(), 'Enter your password', 'not a test user: not routed');

      const cur = await gh.api('GET', `/tenants/default/upstreams/${ids.fabrikam}`);
      assert.equal((await gh.api('PATCH', `/tenants/default/upstreams/${ids.fabrikam}`, { mode: 'enabled', version: cur.body.version })).status, 200);
      const routed = await (await browser.newContext()).newPage();
      await routed.goto(`${rp.base}/login`);
      await routed.getByLabel('Email').fill('gina@fabrikam.test');
      await routed.getByRole('button', { name: 'Next' }).click();
      await routed.waitForSelector('#upstream-login');
      assert.equal(await routed.locator('#login').inputValue(), 'gina@fabrikam.test', 'Enabled: routed, with the login hint');
    } finally {
      await browser.close();
    }
  });

  test('browser: an upstream whose ID token signature does not verify is refused, and one that cannot be reached fails cleanly; neither leaves a user behind', {
    skip: haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium)',
  }, async () => {
    const browser: Browser = await launch();
    const signIn = async () => {
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${rp.base}/login`);
      await page.getByLabel('Email').fill('hal@flaky.test');
      await page.getByRole('button', { name: 'Next' }).click();
      await page.locator('#password').fill('up-pass-7');
      return page;
    };
    try {
      flaky.tamperJwks(true);
      const bad = await signIn();
      const answer = bad.waitForResponse((r) => r.url().includes('/federation/callback'));
      await bad.getByRole('button', { name: 'Sign in upstream' }).click();
      assert.equal((await answer).status(), 502);
      assert.match((await bad.locator('main').textContent()) ?? '', /could not complete your sign-in through Flaky: its ID token signature did not verify/);
      assert.equal(await userByEmail('hal@flaky.test'), undefined);
      const logs = await gh.api('GET', `/tenants/default/audit?level=error&text=${encodeURIComponent('signature')}&since=${Date.now() - 60_000}`);
      assert.ok(logs.body.items.some((e: { type: string }) => e.type === 'federation.error'));

      // The upstream cannot be reached from Gatehouse when it redeems the code.
      flaky.tamperJwks(false);
      flaky.dropTokenRequests(true);
      const gone = await signIn();
      const answer2 = gone.waitForResponse((r) => r.url().includes('/federation/callback'));
      await gone.getByRole('button', { name: 'Sign in upstream' }).click();
      assert.equal((await answer2).status(), 502);
      assert.match((await gone.locator('main').textContent()) ?? '', /could not complete your sign-in through Flaky: it could not be reached/);
      assert.equal(await userByEmail('hal@flaky.test'), undefined);
    } finally {
      await browser.close();
    }
  });

  test('browser: the upstream button, the claim-gate refusal page, and an administrator choosing the password fallback', {
    skip: haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium)',
  }, async () => {
    const browser: Browser = await launch();
    try {
      // The button starts at the upstream without an email.
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${rp.base}/login`);
      await page.getByRole('link', { name: 'Sign in with Contoso ID' }).click();
      await page.waitForSelector('#upstream-login');
      assert.equal(await page.locator('#login').inputValue(), '');
      await page.locator('#login').fill('carol@contoso.test');
      await page.locator('#password').fill('up-pass-1');
      await page.getByRole('button', { name: 'Sign in upstream' }).click();
      assert.equal(await page.locator('#user').textContent(), 'Signed in as carol@contoso.test');

      // Without the required role: a page that says which claim is missing.
      const refused = await (await browser.newContext()).newPage();
      await refused.goto(`${rp.base}/login`);
      await refused.getByLabel('Email').fill('dave@contoso.test');
      await refused.getByRole('button', { name: 'Next' }).click();
      await refused.locator('#password').fill('up-pass-2');
      const answer = refused.waitForResponse((r) => r.url().includes('/federation/callback'));
      await refused.getByRole('button', { name: 'Sign in upstream' }).click();
      assert.equal((await answer).status(), 403);
      assert.equal(await refused.locator('h1').textContent(), 'Not authorized');
      assert.match(
        (await refused.locator('main').textContent()) ?? '',
        /not authorized by the claim configured for Contoso ID: your account there must have roles containing Gatehouse_Access/,
      );

      // An administrator in a routed domain sees both ways in and uses the password.
      const admin = await (await browser.newContext()).newPage();
      await admin.goto(`${rp.base}/login`);
      await admin.getByLabel('Email').fill('root@contoso.test');
      await admin.getByRole('button', { name: 'Next' }).click();
      assert.equal(await admin.getByRole('link', { name: 'Continue with Contoso ID' }).count(), 1);
      await admin.getByLabel('Password').fill('local-admin-pass-1');
      await admin.getByRole('button', { name: 'Sign in with password' }).click();
      assert.equal(await admin.locator('#user').textContent(), 'Signed in as root@contoso.test');
    } finally {
      await browser.close();
    }
  });

  test('the external ID links an upstream account whose subject changed to the same user', async () => {
    const before = await userByEmail('carol@contoso.test');
    const old = contoso.accounts.get('c-1')!;
    contoso.accounts.delete('c-1');
    contoso.accounts.set('c-1-new', { ...old, sub: 'c-1-new', password: 'up-pass-new' });
    const agent = new Agent();
    const flow = await identify(agent, 'carol@contoso.test');
    const cb = await signInUpstream(agent, 'carol@contoso.test', 'up-pass-new');
    assert.ok(cb, text(agent.lastBody).slice(0, 200));
    const tokens = await flow.finish(cb!);
    assert.equal(tokens.claims()!.sub, before.id, 'the same Gatehouse account');
  });

  test('Disabled mode routes nobody; an upstream for everyone ("staff and public") takes every email no other upstream claims', async () => {
    const id = await addUpstream('Public', fabrikam, { mode: 'disabled', audience: 'all', confirm: true });
    const a1 = new Agent();
    await identify(a1, 'zoe@public.test');
    assert.match(text(a1.lastBody), /Enter your password/);
    const cur = await gh.api('GET', `/tenants/default/upstreams/${id}`);
    assert.equal((await gh.api('PATCH', `/tenants/default/upstreams/${id}`, { mode: 'enabled', version: cur.body.version })).status, 200);
    const a2 = new Agent();
    await identify(a2, 'zoe@public.test');
    assert.match(a2.lastBody, /id="upstream-login"/, 'routed to the catch-all upstream');
    const a3 = new Agent();
    await identify(a3, 'carol@contoso.test');
    assert.equal(contoso.hints.at(-1), 'carol@contoso.test', 'a domain claimed by another upstream still goes there');
    assert.equal((await gh.api('DELETE', `/tenants/default/upstreams/${id}`)).status, 204);
  });

  test('admin API: discovery is checked when saving, problems are reported in plain words, and secrets never come back', async () => {
    const dead = await freePort();
    const r1 = await gh.api('POST', '/tenants/default/upstreams', { name: 'Nowhere', type: 'oidc', authorityUrl: `http://127.0.0.1:${dead}`, clientId: 'x' });
    assert.equal(r1.status, 400);
    assert.match(r1.body.error.message, /Could not reach/);
    const r2 = await gh.api('POST', '/tenants/default/upstreams', {
      name: 'Not discovery',
      type: 'oidc',
      discoveryUrl: `${contoso.issuer}/other/.well-known/openid-configuration`,
      clientId: 'x',
    });
    assert.equal(r2.status, 400);
    assert.match(r2.body.error.message, /did not answer with an OpenID Connect discovery document/);
    // The same upstream under another name (localhost for 127.0.0.1): it publishes another issuer.
    const other = contoso.issuer.replace('127.0.0.1', 'localhost');
    const r2b = await gh.api('POST', '/tenants/default/upstreams', { name: 'Wrong issuer', type: 'oidc', authorityUrl: other, clientId: 'x' });
    assert.equal(r2b.status, 400);
    assert.match(r2b.body.error.message, /names its issuer http:\/\/127\.0\.0\.1/);
    const r2c = await gh.api('POST', '/tenants/default/upstreams', {
      name: 'Wrong issuer 2',
      type: 'oidc',
      discoveryUrl: `${other}/.well-known/openid-configuration`,
      clientId: 'x',
    });
    assert.equal(r2c.status, 400);
    assert.match(r2c.body.error.message, /does not match where it was published/);
    const r3 = await gh.api('POST', '/tenants/default/upstreams', { name: 'Plain', type: 'okta', authorityUrl: 'http://idp.example.com', clientId: 'x' });
    assert.equal(r3.status, 400);
    assert.match(r3.body.error.message, /https/);
    const one = await gh.api('GET', `/tenants/default/upstreams/${ids.contoso}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.issuer, contoso.issuer);
    assert.equal(one.body.redirectUrl, callback());
    assert.equal(one.body.hasClientSecret, true);
    assert.ok(!JSON.stringify(one.body).includes(contoso.clientSecret));
    assert.equal((await gh.api('GET', '/tenants/default/upstreams', undefined, '')).status, 401);
    const stale = await gh.api('PATCH', `/tenants/default/upstreams/${ids.contoso}`, { name: 'Contoso', version: one.body.version - 1 });
    assert.equal(stale.status, 409);
    // A settings change touches only what was sent.
    const patched = await gh.api('PATCH', `/tenants/default/upstreams/${ids.contoso}`, { settings: { loginHint: false }, version: one.body.version });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.loginHint, false);
    assert.deepEqual(patched.body.domains, ['contoso.test']);
    assert.deepEqual(patched.body.claimGate, { claim: 'roles', value: 'Gatehouse_Access' });
    const badPatch = await gh.api('PATCH', `/tenants/default/upstreams/${ids.contoso}`, { settings: { domains: ['not a domain'] } });
    assert.equal(badPatch.status, 400);
    assert.match(badPatch.body.error.message, /domains/);
  });

  test('routing without silent conflicts: an email domain belongs to one upstream (409 naming it, on creation and update); one upstream takes everyone', async () => {
    const taken = await gh.api('POST', '/tenants/default/upstreams', {
      name: 'Contoso again',
      type: 'oidc',
      authorityUrl: fabrikam.issuer,
      clientId: fabrikam.clientId,
      domains: ['other.test', 'contoso.test'],
    });
    assert.equal(taken.status, 409, JSON.stringify(taken.body));
    assert.match(taken.body.error.message, /contoso\.test is already claimed by the upstream directory "Contoso ID"/);
    assert.equal(taken.body.error.details.problems[0].field, 'domains');
    assert.equal((await gh.api('GET', '/tenants/default/upstreams?search=Contoso again')).body.items.length, 0, 'nothing was created');
    const moved = await gh.api('PATCH', `/tenants/default/upstreams/${ids.flaky}`, { settings: { domains: ['flaky.test', 'fabrikam.test'] } });
    assert.equal(moved.status, 409);
    assert.match(moved.body.error.message, /fabrikam\.test is already claimed by the upstream directory "Fabrikam"/);
    assert.deepEqual((await gh.api('GET', `/tenants/default/upstreams/${ids.flaky}`)).body.domains, ['flaky.test'], 'unchanged');
    // Keeping its own domains is no conflict with itself.
    assert.equal((await gh.api('PATCH', `/tenants/default/upstreams/${ids.flaky}`, { settings: { domains: ['flaky.test'] } })).status, 200);

    const first = await gh.api('POST', '/tenants/default/upstreams', {
      name: 'Everyone A',
      type: 'oidc',
      authorityUrl: fabrikam.issuer,
      clientId: fabrikam.clientId,
      audience: 'all',
      confirm: true,
    });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const second = await gh.api('POST', '/tenants/default/upstreams', {
      name: 'Everyone B',
      type: 'oidc',
      authorityUrl: fabrikam.issuer,
      clientId: fabrikam.clientId,
      audience: 'all',
      confirm: true,
    });
    assert.equal(second.status, 409);
    assert.match(second.body.error.message, /"Everyone A" already takes every email no other upstream claims/);
    assert.equal((await gh.api('DELETE', `/tenants/default/upstreams/${first.body.id}`)).status, 204);
  });

  test('audience "all" says how many local accounts with passwords it takes over and applies only with confirm: true', async () => {
    const staff = await gh.api('POST', '/tenants/default/upstreams', {
      name: 'Wide',
      type: 'oidc',
      authorityUrl: fabrikam.issuer,
      clientId: fabrikam.clientId,
      domains: ['wide.test'],
    });
    assert.equal(staff.status, 201);
    const dry = await gh.api('PATCH', `/tenants/default/upstreams/${staff.body.id}`, { settings: { audience: 'all' } });
    assert.equal(dry.status, 409);
    assert.equal(dry.body.error.code, 'confirmation_required');
    const n = dry.body.error.details.takesOver as number;
    assert.equal(typeof n, 'number');
    assert.match(dry.body.error.message, new RegExp(`${n} local accounts? with a password would sign in through it.*"confirm": true`));
    assert.equal((await gh.api('GET', `/tenants/default/upstreams/${staff.body.id}`)).body.audience, 'staff', 'a dry run changes nothing');
    // One more local account with a password at a domain no upstream claims counts; one at a claimed domain does not.
    assert.equal((await gh.api('POST', '/tenants/default/users', { email: 'walt@unclaimed.test', password: 'walt-password-1' })).status, 201);
    assert.equal((await gh.api('POST', '/tenants/default/users', { email: 'wade@wide.test', password: 'wade-password-1' })).status, 201);
    const again = await gh.api('PATCH', `/tenants/default/upstreams/${staff.body.id}`, { settings: { audience: 'all' } });
    assert.equal(again.body.error.details.takesOver, n + 1);
    const applied = await gh.api('PATCH', `/tenants/default/upstreams/${staff.body.id}`, { settings: { audience: 'all' }, confirm: true });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    assert.equal(applied.body.audience, 'all');
    // Creating one for everyone asks the same.
    assert.equal((await gh.api('DELETE', `/tenants/default/upstreams/${staff.body.id}`)).status, 204);
    const created = await gh.api('POST', '/tenants/default/upstreams', {
      name: 'Wide 2',
      type: 'oidc',
      authorityUrl: fabrikam.issuer,
      clientId: fabrikam.clientId,
      audience: 'all',
    });
    assert.equal(created.status, 409);
    assert.equal(created.body.error.details.takesOver, n + 2, 'wade@wide.test is no longer claimed by an upstream');
    assert.equal((await gh.api('GET', '/tenants/default/upstreams?search=Wide 2')).body.items.length, 0);
  });

  test("discovery of every upstream not disabled is re-checked (hourly by the leader, and by the admin's Test): a broken one is an overview alert naming it and what failed", async () => {
    const { runMaintenance } = await import('../../src/ops/jobs.ts');
    const fading = await startUpstream({ name: 'Fading', redirectUri: callback(), accounts: [] });
    let stopped = false;
    try {
      const id = await addUpstream('Fading ID', fading, { mode: 'enabled', domains: ['fading.test'] });
      const ok = await gh.api('POST', `/tenants/default/upstreams/${id}/test`);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.ok, true);
      const alertsOf = async () =>
        (await gh.api('GET', '/tenants/default/overview')).body.alerts.filter((a: { kind: string }) => a.kind === 'upstream_discovery_failed');
      assert.deepEqual(await alertsOf(), []);

      await fading.stop();
      stopped = true;
      // The hourly check (what the leader runs), without waiting an hour.
      await runMaintenance(gh.services);
      const alerts = await alertsOf();
      assert.equal(alerts.length, 1, JSON.stringify(alerts));
      assert.equal(alerts[0].subject, id);
      assert.equal(alerts[0].level, 'error');
      assert.match(alerts[0].message, /The upstream directory Fading ID failed its discovery check .*Could not reach/);
      const shown = (await gh.api('GET', `/tenants/default/upstreams/${id}`)).body.lastCheck;
      assert.equal(shown.ok, false);
      assert.match(shown.message, /Could not reach/);
      const audit = await gh.api('GET', '/tenants/default/audit?type=federation.discovery_failed');
      assert.equal(audit.body.items[0].data.upstream, 'Fading ID');
      // The admin's Test answers the same, and a disabled upstream raises no alert.
      const failed = await gh.api('POST', `/tenants/default/upstreams/${id}/test`);
      assert.equal(failed.status, 200);
      assert.equal(failed.body.ok, false);
      assert.equal((await gh.api('PATCH', `/tenants/default/upstreams/${id}`, { mode: 'disabled' })).status, 200);
      assert.deepEqual(await alertsOf(), []);
      assert.equal((await gh.api('DELETE', `/tenants/default/upstreams/${id}`)).status, 204);
    } finally {
      if (!stopped) await fading.stop();
    }
  });
}
