// The app launcher, third-party-initiated login, refresh-token hand-off to a real third-party
// app (examples/handoff-app), the profile endpoint, and the password grant policy. Browser
// tests in Chromium; token-level checks with the protocol agent. Runs on SQLite and on
// PostgreSQL + Redis.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestServer, freePort, type Backend, type TestServer, LOOPBACK_OUTBOUND } from '../helpers/server.ts';
import { startTestRp } from '../helpers/test-rp.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { fillSignIn, haveChromium, launch } from '../helpers/browser.ts';
import { Agent, text } from '../helpers/agent.ts';
import { png, dataUrl } from '../helpers/png.ts';

interface HandoffApp {
  base: string;
  loginUrl: string;
  refreshToken(): string | null;
  close(): Promise<void>;
}
const { startHandoffApp } = (await import('../../examples/handoff-app/server.js' as string)) as {
  startHandoffApp(o: { issuer: string; clientId: string; clientSecret: string; port?: number }): Promise<HandoffApp>;
};

export function launcherSuite(backend: Backend) {
  const noBrowser = haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium)';
  const test = (name: string, opts: { skip?: string | false } | (() => Promise<void>), fn?: () => Promise<void>) =>
    typeof opts === 'function'
      ? nodeTest(`${backend.name}: ${name}`, { skip: backend.skip }, opts)
      : nodeTest(`${backend.name}: ${name}`, { skip: backend.skip || opts.skip }, fn!);

  let gh: TestServer;
  let issuer: string;
  let portal: { clientId: string; clientSecret: string };
  let portalApp: HandoffApp;
  let crm: Awaited<ReturnType<typeof startTestRp>>;
  let crmClientId: string;
  let upstream: TestUpstream;
  const logo = dataUrl(png(120, 60));
  const alice = { email: 'alice@example.test', password: 'alice-password-1' };

  before(async () => {
    if (backend.skip) return;
    // Its upstreams / back-channel logout receivers run on this machine: allowed explicitly.
    gh = await startTestServer(LOOPBACK_OUTBOUND, { backend });
    issuer = `${gh.base}/t/default`;
    await gh.api('POST', '/tenants/default/users', { ...alice, givenName: 'Alice', familyName: 'Example' });
    await gh.api('POST', '/tenants/default/users', { email: 'bob@example.test', password: 'bob-password-1' });

    // The hand-off app: created first with a placeholder URL, then pointed at the running app.
    const port = await freePort();
    const created = await gh.api('POST', '/tenants/default/apps', {
      name: 'portal',
      displayName: 'Member Portal',
      type: 'handoff',
      loginRedirectUrl: `http://127.0.0.1:${port}/gatehouse/login`,
      refreshTokenMinutes: 30,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.refreshTokenMinutes, 30);
    // Logos: PNG, GIF or JPG, at most 250 KB and 200 x 150.
    const tooBig = await gh.api('PATCH', `/tenants/default/apps/${created.body.clientId}`, { logo: dataUrl(png(100, 50, 300 * 1024)) });
    assert.equal(tooBig.status, 400);
    assert.match(tooBig.body.error.message, /at most 250 KB/);
    const tooLarge = await gh.api('PATCH', `/tenants/default/apps/${created.body.clientId}`, { logo: dataUrl(png(400, 300)) });
    assert.equal(tooLarge.status, 400);
    assert.match(tooLarge.body.error.message, /400 x 300 pixels; it may be at most 200 x 150/);
    const svg = await gh.api('PATCH', `/tenants/default/apps/${created.body.clientId}`, {
      logo: dataUrl(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'image/svg+xml'),
    });
    assert.equal(svg.status, 400);
    assert.match(svg.body.error.message, /PNG, GIF or JPG/);
    assert.equal((await gh.api('PATCH', `/tenants/default/apps/${created.body.clientId}`, { logo })).status, 200);
    portal = { clientId: created.body.clientId, clientSecret: created.body.clientSecret };
    portalApp = await startHandoffApp({ issuer, clientId: portal.clientId, clientSecret: portal.clientSecret, port });
    assert.equal((await gh.api('POST', `/tenants/default/apps/${portal.clientId}/deployment/targets`, { type: 'user', ref: alice.email })).status < 300, true);

    // An OpenID Connect app that registered an initiate_login_uri.
    const rpPort = await freePort();
    const c = await gh.api('POST', '/tenants/default/apps', {
      name: 'crm',
      displayName: 'Customer CRM',
      type: 'web',
      redirectUris: [`http://127.0.0.1:${rpPort}/callback`],
      initiateLoginUri: `http://127.0.0.1:${rpPort}/initiate`,
      homeUrl: `http://127.0.0.1:${rpPort}/home`,
    });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    crmClientId = c.body.clientId;
    await gh.api('PUT', `/tenants/default/apps/${crmClientId}/deployment`, { all: true });
    crm = await startTestRp({ issuer, clientId: crmClientId, clientSecret: c.body.clientSecret, port: rpPort });
    // Not deployed to anyone: never listed.
    await gh.api('POST', '/tenants/default/apps', {
      name: 'secret',
      displayName: 'Secret App',
      type: 'web',
      redirectUris: ['https://secret.example.test/cb'],
      homeUrl: 'https://secret.example.test/',
    });
  });
  after(async () => {
    await portalApp?.close();
    await crm?.close();
    await upstream?.stop();
    await gh?.close();
  });

  const signInPage = (page: import('playwright-core').Page, who = alice) => fillSignIn(page, who);

  test('browser: the launcher asks for sign-in, lists the apps deployed to the user, and hands a refresh token to the hand-off app, which shows the user', {
    skip: noBrowser,
  }, async () => {
    const browser: Browser = await launch();
    try {
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${issuer}/launcher`);
      await signInPage(page);
      assert.equal(await page.locator('h1').textContent(), 'Your applications');
      const names = await page.locator('a.app-tile').allTextContents();
      assert.deepEqual(
        names.map((n) => n.trim().replace(/^[A-Z](?=[A-Z][a-z])/, '')),
        ['Customer CRM', 'Member Portal'],
        'deployed and launchable apps only',
      );
      assert.equal(await page.locator('a.app-tile', { hasText: 'Member Portal' }).locator('img.app-logo').getAttribute('src'), logo, "the app's logo");
      assert.ok(
        await page
          .locator('a.app-tile', { hasText: 'Member Portal' })
          .locator('img.app-logo')
          .evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 120),
        'the logo renders',
      );
      await page.getByRole('link', { name: /Member Portal/ }).click();
      assert.equal(await page.locator('#hello').textContent(), 'Hello Alice Example');
      assert.equal(await page.locator('#email').textContent(), alice.email);
      // The app can trade its (rotated) refresh token again later.
      await page.getByRole('link', { name: 'Refresh' }).click();
      assert.equal(await page.locator('#hello').textContent(), 'Hello Alice Example');
    } finally {
      await browser.close();
    }
  });

  test('browser: opening an OpenID Connect app uses third-party-initiated login, and the app signs in through the SSO session', {
    skip: noBrowser,
  }, async () => {
    const browser: Browser = await launch();
    try {
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${issuer}/launcher`);
      await signInPage(page);
      await page.getByRole('link', { name: /Customer CRM/ }).click();
      assert.equal(await page.locator('#user').textContent(), `Signed in as ${alice.email}`, 'no second sign-in');
      const init = crm.initiated()!;
      assert.equal(init.iss, issuer);
      assert.equal(init.target_link_uri, `${crm.base}/home`);
      assert.equal(init.login_hint, alice.email);
    } finally {
      await browser.close();
    }
  });

  test('browser: a launch link without a session asks the user to sign in and then continues to the app', { skip: noBrowser }, async () => {
    const browser: Browser = await launch();
    try {
      const page = await (await browser.newContext()).newPage();
      const link = (await gh.api('GET', `/tenants/default/apps/${portal.clientId}`)).body.launchUrl;
      assert.equal(link, `${issuer}/launch/${portal.clientId}`);
      await page.goto(link);
      assert.equal(await page.locator('h1').textContent(), 'Sign in');
      await signInPage(page);
      assert.equal(await page.locator('#hello').textContent(), 'Hello Alice Example');
      // Without scripts the page still works: it shows the button.
      const noScript = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
      await noScript.goto(link);
      await signInPage(noScript);
      assert.equal(await noScript.locator('h1').textContent(), 'Opening Member Portal');
      await noScript.getByRole('button', { name: 'Continue to Member Portal' }).click();
      assert.equal(await noScript.locator('#hello').textContent(), 'Hello Alice Example');
    } finally {
      await browser.close();
    }
  });

  /** Launch the hand-off app with the agent and return the refresh token its page would POST. */
  async function handedOver(agent: Agent, who = alice): Promise<string> {
    assert.equal(await agent.follow(`${issuer}/launch/${portal.clientId}`, 'never:'), null);
    if (/name="email"/.test(agent.lastBody) && !/refresh_token/.test(agent.lastBody)) {
      let f = agent.form();
      await agent.follow(f.action, 'never:', { form: { ...f.fields, email: who.email } });
      f = agent.form();
      await agent.follow(f.action, 'never:', { form: { ...f.fields, email: who.email, password: who.password } });
    }
    const f = agent.form();
    assert.equal(f.action, portalApp.loginUrl, `the hand-off form posts to the app: ${text(agent.lastBody).slice(0, 200)}`);
    return f.fields.refresh_token!;
  }

  const tokenRequest = (body: Record<string, string>, clientId: string, secret: string) =>
    fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });

  test('a handed-over refresh token: the right client gets access tokens that work at userinfo and the profile endpoint; a wrong secret and an expired token are refused', async () => {
    const rt = await handedOver(new Agent());
    const wrong = await tokenRequest({ grant_type: 'refresh_token', refresh_token: rt }, portal.clientId, 'not-the-secret');
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_client');

    const ok = await tokenRequest({ grant_type: 'refresh_token', refresh_token: rt }, portal.clientId, portal.clientSecret);
    assert.equal(ok.status, 200);
    const tokens = (await ok.json()) as { access_token: string; refresh_token: string };
    const profile = await fetch(`${issuer}/api/profile`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(profile.status, 200);
    assert.deepEqual(await profile.json(), {
      sub: (await gh.api('GET', `/tenants/default/users/${alice.email}`)).body.id,
      email: alice.email,
      givenName: 'Alice',
      familyName: 'Example',
      name: 'Alice Example',
      groups: [],
    });
    const me = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(((await me.json()) as { email: string }).email, alice.email);
    const noToken = await fetch(`${issuer}/api/profile`);
    assert.equal(noToken.status, 401);
    assert.match(noToken.headers.get('www-authenticate') ?? '', /Bearer/);
    assert.equal((await fetch(`${issuer}/api/profile`, { headers: { authorization: 'Bearer not-a-token' } })).status, 401);

    // Its lifetime (30 minutes) runs out: moved into the past in the store, as the clock would.
    const rt2 = tokens.refresh_token;
    const db = gh.services.database.db;
    const rows = await db.selectFrom('oidc_artifacts').selectAll().where('model', '=', 'RefreshToken').execute();
    const past = Date.now() - 1000;
    for (const r of rows) {
      const payload = JSON.parse(r.payload);
      payload.exp = Math.floor(past / 1000);
      await db
        .updateTable('oidc_artifacts')
        .set({ expires_at: past, payload: JSON.stringify(payload) })
        .where('model', '=', 'RefreshToken')
        .where('id', '=', r.id)
        .execute();
    }
    const expired = await tokenRequest({ grant_type: 'refresh_token', refresh_token: rt2 }, portal.clientId, portal.clientSecret);
    assert.equal(expired.status, 400);
    assert.equal(((await expired.json()) as { error: string }).error, 'invalid_grant');
  });

  test('an app not deployed to the user is not launched', async () => {
    const agent = new Agent();
    assert.equal(await agent.follow(`${issuer}/launch/${portal.clientId}`, 'never:'), null);
    let f = agent.form();
    await agent.follow(f.action, 'never:', { form: { ...f.fields, email: 'bob@example.test' } });
    f = agent.form();
    await agent.follow(f.action, 'never:', { form: { ...f.fields, email: 'bob@example.test', password: 'bob-password-1' } });
    assert.equal(agent.lastStatus, 403);
    assert.match(text(agent.lastBody), /Member Portal has not been deployed to bob@example.test/);
    assert.equal((await fetch(`${issuer}/launch/no-such-app`)).status, 404);
  });

  test('password grant policy: off unless the app opts in; wrong passwords refused; users of an Enabled upstream refused except administrators; Test mode allowed; hand-off refresh keeps working for upstream users', async () => {
    const grant = (clientId: string, secret: string, username: string, password: string) =>
      tokenRequest({ grant_type: 'password', username, password, scope: 'openid email offline_access' }, clientId, secret);
    const errorOf = async (r: Response) => (await r.json()) as { error: string; error_description?: string };

    const legacy = await gh.api('POST', '/tenants/default/apps', {
      name: 'legacy-api',
      displayName: 'Legacy API',
      type: 'web',
      redirectUris: ['https://legacy.example.test/cb'],
    });
    await gh.api('PUT', `/tenants/default/apps/${legacy.body.clientId}/deployment`, { all: true });
    const off = await grant(legacy.body.clientId, legacy.body.clientSecret, alice.email, alice.password);
    assert.equal(off.status, 400);
    assert.match((await errorOf(off)).error_description ?? '', /grant type is not allowed for this client/, 'off by default');
    const v = (await gh.api('GET', `/tenants/default/apps/${legacy.body.clientId}`)).body.version;
    assert.equal((await gh.api('PATCH', `/tenants/default/apps/${legacy.body.clientId}`, { passwordGrant: true, version: v })).status, 200);
    const spa = await gh.api('POST', '/tenants/default/apps', {
      name: 'spa',
      displayName: 'SPA',
      type: 'spa',
      redirectUris: ['https://spa.example.test/cb'],
      passwordGrant: true,
    });
    assert.equal(spa.status, 400, 'a public client cannot use it');

    const on = await grant(legacy.body.clientId, legacy.body.clientSecret, alice.email, alice.password);
    assert.equal(on.status, 200);
    const t = (await on.json()) as { access_token: string; refresh_token?: string; token_type: string };
    assert.equal(t.token_type, 'Bearer');
    assert.ok(t.refresh_token, 'offline_access gives a refresh token');
    assert.equal((await fetch(`${issuer}/api/profile`, { headers: { authorization: `Bearer ${t.access_token}` } })).status, 200);
    const refreshed = await tokenRequest({ grant_type: 'refresh_token', refresh_token: t.refresh_token! }, legacy.body.clientId, legacy.body.clientSecret);
    assert.equal(refreshed.status, 200);
    const bad = await grant(legacy.body.clientId, legacy.body.clientSecret, alice.email, 'wrong-password-1');
    assert.equal(bad.status, 400);
    assert.equal((await errorOf(bad)).error, 'invalid_grant');
    assert.equal((await grant(legacy.body.clientId, legacy.body.clientSecret, 'nobody@example.test', 'whatever-123')).status, 400);

    // An upstream directory signs in example.org: Enabled.
    upstream = await startUpstream({
      redirectUri: `${issuer}/federation/callback`,
      accounts: [{ sub: 'u-1', email: 'uma@example.org', password: 'up-pass-1', given_name: 'Uma', family_name: 'Up' }],
    });
    const up = await gh.api('POST', '/tenants/default/upstreams', {
      name: 'Org ID',
      type: 'oidc',
      authorityUrl: upstream.issuer,
      clientId: upstream.clientId,
      clientSecret: upstream.clientSecret,
      mode: 'enabled',
      domains: ['example.org'],
    });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await gh.api('POST', '/tenants/default/users', { email: 'staff@example.org', password: 'staff-password-1' });
    await gh.api('POST', '/tenants/default/users', { email: 'sysadmin@example.org', password: 'sysadmin-password-1', roles: ['admin'] });
    const staff = await grant(legacy.body.clientId, legacy.body.clientSecret, 'staff@example.org', 'staff-password-1');
    assert.equal(staff.status, 400);
    assert.match((await errorOf(staff)).error_description ?? '', /signs in through Org ID/);
    assert.equal(
      (await grant(legacy.body.clientId, legacy.body.clientSecret, 'sysadmin@example.org', 'sysadmin-password-1')).status,
      200,
      'administrators keep it',
    );
    const cur = await gh.api('GET', `/tenants/default/upstreams/${up.body.id}`);
    assert.equal(
      (
        await gh.api('PATCH', `/tenants/default/upstreams/${up.body.id}`, {
          mode: 'test',
          settings: { testUsers: ['staff@example.org'] },
          version: cur.body.version,
        })
      ).status,
      200,
    );
    assert.equal((await grant(legacy.body.clientId, legacy.body.clientSecret, 'staff@example.org', 'staff-password-1')).status, 200, 'Test mode: allowed');
    const cur2 = await gh.api('GET', `/tenants/default/upstreams/${up.body.id}`);
    assert.equal((await gh.api('PATCH', `/tenants/default/upstreams/${up.body.id}`, { mode: 'enabled', version: cur2.body.version })).status, 200);

    // An upstream user launches the hand-off app (signing in through the upstream); its refresh token works.
    await gh.api('POST', `/tenants/default/apps/${portal.clientId}/deployment/targets`, { type: 'domain', ref: 'example.org' });
    const agent = new Agent();
    assert.equal(await agent.follow(`${issuer}/launch/${portal.clientId}`, 'never:'), null);
    const f = agent.form();
    await agent.follow(f.action, 'never:', { form: { ...f.fields, email: 'uma@example.org' } });
    assert.match(agent.lastBody, /id="upstream-login"/, text(agent.lastBody));
    await agent.follow(agent.lastUrl, 'never:', { form: { login: 'uma@example.org', password: 'up-pass-1' } });
    const rt = agent.form().fields.refresh_token!;
    assert.ok(rt, text(agent.lastBody).slice(0, 200));
    const r = await tokenRequest({ grant_type: 'refresh_token', refresh_token: rt }, portal.clientId, portal.clientSecret);
    assert.equal(r.status, 200);
  });

  test('a hand-off app that requires two-step verification is handed no token after a password-only sign-in: the launcher steps up first', async () => {
    const v = (await gh.api('GET', `/tenants/default/apps/${portal.clientId}`)).body.version;
    assert.equal((await gh.api('PATCH', `/tenants/default/apps/${portal.clientId}`, { requireMfa: true, version: v })).status, 200);
    try {
      const agent = new Agent();
      assert.equal(await agent.follow(`${issuer}/launch/${portal.clientId}`, 'never:'), null);
      let f = agent.form();
      await agent.follow(f.action, 'never:', { form: { ...f.fields, email: alice.email } });
      f = agent.form();
      await agent.follow(f.action, 'never:', { form: { ...f.fields, email: alice.email, password: alice.password } });
      assert.equal(agent.lastStatus, 403);
      assert.match(text(agent.lastBody), /Two-step verification needed/, 'alice has no second factor: told to set one up');
      assert.doesNotMatch(agent.lastBody, /refresh_token/);
    } finally {
      const v2 = (await gh.api('GET', `/tenants/default/apps/${portal.clientId}`)).body.version;
      await gh.api('PATCH', `/tenants/default/apps/${portal.clientId}`, { requireMfa: false, version: v2 });
    }
  });
}
