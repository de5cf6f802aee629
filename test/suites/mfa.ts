// Two-step verification with TOTP: enrollment on the account page (QR code, a code to finish,
// recovery codes shown once), the code step at sign-in, replays and wrong codes refused,
// recovery codes used once, amr/acr in ID tokens, the helpdesk reset. Chromium for the pages;
// the codes are computed by the test itself (test/helpers/totp.ts), as an authenticator app would.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { enrollTotp, totpCode } from '../helpers/totp.ts';
import { startTestServer, freePort, type Backend, type TestServer } from '../helpers/server.ts';
import { startTestRp } from '../helpers/test-rp.ts';
import { fillSignIn, haveChromium, launch } from '../helpers/browser.ts';
import { Agent, text } from '../helpers/agent.ts';

export function mfaSuite(backend: Backend) {
  const skip = backend.skip || (haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium)');
  const test = (name: string, fn: () => Promise<void>) => nodeTest(`${backend.name}: ${name}`, { skip }, fn);

  let gh: TestServer;
  let issuer: string;
  let browser: Browser;
  let rp: Awaited<ReturnType<typeof startTestRp>>;
  let web: { clientId: string; clientSecret: string };
  const alice = { email: 'alice@example.test', password: 'alice-password-1' };
  let secret = '';
  let recovery: string[] = [];
  const codeAt = (offsetSteps: number) => totpCode(secret, Date.now() + offsetSteps * 30_000);

  before(async () => {
    if (skip) return;
    gh = await startTestServer({}, { backend });
    issuer = `${gh.base}/t/default`;
    browser = await launch();
    await gh.api('POST', '/tenants/default/users', { ...alice, givenName: 'Alice' });
    const port = await freePort();
    const a = await gh.api('POST', '/tenants/default/apps', {
      name: 'crm',
      displayName: 'Customer CRM',
      type: 'web',
      redirectUris: [`http://127.0.0.1:${port}/callback`],
      passwordGrant: true,
    });
    await gh.api('PUT', `/tenants/default/apps/${a.body.clientId}/deployment`, { all: true });
    web = { clientId: a.body.clientId, clientSecret: a.body.clientSecret };
    rp = await startTestRp({ issuer, clientId: web.clientId, clientSecret: web.clientSecret, port });
  });
  after(async () => {
    await browser?.close();
    await rp?.close();
    await gh?.close();
  });

  async function passwordStep(page: Page) {
    await page.goto(`${rp.base}/login`);
    await fillSignIn(page, alice);
  }

  test('enrolling an authenticator on the account page: QR code, a code to finish, ten recovery codes shown once', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${issuer}/account`);
    await fillSignIn(page, alice);
    assert.equal(await page.locator('h1').textContent(), 'Your account');
    assert.match((await page.locator('main').textContent()) ?? '', /Two-step verification is off/);
    await page.getByRole('link', { name: 'Add an authenticator app' }).click();
    assert.equal(await page.locator('.qr svg').count(), 1, 'a QR code');
    secret = (await page.locator('#totp-secret').textContent())!.replace(/\s+/g, '');
    await page.getByLabel('Code from the app').fill('000000' === codeAt(0) ? '111111' : '000000');
    await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
    assert.match((await page.locator('[role=alert]').textContent()) ?? '', /not right/, 'a wrong code does not finish it');
    await page.getByLabel('Code from the app').fill(codeAt(0));
    await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
    recovery = await page.locator('#recovery-codes code').allTextContents();
    assert.equal(recovery.length, 10);
    assert.equal(new Set(recovery).size, 10);
    await page.getByRole('link', { name: 'Done' }).click();
    assert.match((await page.locator('main').textContent()) ?? '', /Authenticator app.*10 of 10 recovery codes left/s);
  });

  test('signing in then asks for the code; the ID token says so (amr otp, acr mfa); a code used once is refused the second time', async () => {
    const page = await (await browser.newContext()).newPage();
    await passwordStep(page);
    assert.equal(await page.locator('h1').textContent(), 'Two-step verification');
    // The enrollment used this step's code: the next step's code (within the drift window) signs in.
    const code = codeAt(1);
    await page.getByLabel('Code from your authenticator app').fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
    assert.equal(await page.locator('#user').textContent(), `Signed in as ${alice.email}`);
    const claims = rp.idTokenClaims();
    assert.equal(claims.acr, 'urn:gatehouse:loa:mfa');
    assert.deepEqual(claims.amr, ['pwd', 'otp']);

    const replay = await (await browser.newContext()).newPage();
    await passwordStep(replay);
    await replay.getByLabel('Code from your authenticator app').fill(code);
    await replay.getByRole('button', { name: 'Verify' }).click();
    assert.match((await replay.locator('[role=alert]').textContent()) ?? '', /already used/);
  });

  test('a recovery code signs in once; the password grant is refused while two-step verification is on', async () => {
    const page = await (await browser.newContext()).newPage();
    await passwordStep(page);
    await page.getByLabel('Code from your authenticator app').fill(recovery[0]!.toLowerCase());
    await page.getByRole('button', { name: 'Verify' }).click();
    assert.equal(await page.locator('#user').textContent(), `Signed in as ${alice.email}`);
    const again = await (await browser.newContext()).newPage();
    await passwordStep(again);
    await again.getByLabel('Code from your authenticator app').fill(recovery[0]!);
    await again.getByRole('button', { name: 'Verify' }).click();
    assert.match((await again.locator('[role=alert]').textContent()) ?? '', /not right/);

    const grant = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${web.clientId}:${web.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'password', username: alice.email, password: alice.password }),
    });
    assert.equal(grant.status, 400);
    assert.match(((await grant.json()) as { error_description: string }).error_description, /two-step verification/);
  });

  test('wrong codes are limited per account (whatever the browser sends back), and the helpdesk reset turns two-step verification off', async () => {
    const agent = new Agent();
    const start = async () => {
      assert.equal(await agent.follow(`${rp.base}/login`, 'never:'), null);
      let f = agent.form();
      await agent.follow(f.action, 'never:', { form: { ...f.fields, email: alice.email } });
      f = agent.form();
      await agent.follow(f.action, 'never:', { form: { ...f.fields, email: alice.email, password: alice.password } });
      assert.match(text(agent.lastBody), /Two-step verification/);
      return agent.form();
    };
    const f = await start();
    const wrong = codeAt(0) === '123456' ? '654321' : '123456';
    for (let i = 0; i < 5; i++) await agent.follow(f.action, 'never:', { form: { ...f.fields, code: wrong } });
    assert.equal(agent.lastStatus, 429);
    assert.match(text(agent.lastBody), /Too many wrong codes/);
    // Even the right code is refused until the window ends.
    await agent.follow(f.action, 'never:', { form: { ...f.fields, code: codeAt(0) } });
    assert.equal(agent.lastStatus, 429);

    const reset = await gh.api('DELETE', `/tenants/default/users/${alice.email}/mfa`);
    assert.equal(reset.status, 204);
    const log = await gh.api('GET', '/tenants/default/audit?type=admin.user.mfa_reset');
    assert.equal(log.body.items[0].actor, 'admin@example.test');
    const page = await (await browser.newContext()).newPage();
    await passwordStep(page);
    assert.equal(await page.locator('#user').textContent(), `Signed in as ${alice.email}`, 'no code asked any more');
  });

  const enroll = (page: Page, who: { email: string; password: string }) => enrollTotp(page, issuer, who);

  test('step-up: an app asking for acr_values=urn:gatehouse:loa:mfa gets the code step although the SSO session exists; once done, asking again is silent', async () => {
    const carol = { email: 'carol@example.test', password: 'carol-password-1' };
    await gh.api('POST', '/tenants/default/users', carol);
    const context = await browser.newContext();
    const page = await context.newPage();
    const s = await enroll(page, carol); // signed in with the password only (no factor yet then)
    await page.goto(`${rp.base}/login?acr_values=${encodeURIComponent('urn:gatehouse:loa:mfa')}`);
    assert.equal(await page.locator('h1').textContent(), 'Two-step verification', 'the session lacks MFA: asked for a code');
    await page.getByLabel('Code from your authenticator app').fill(totpCode(s, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Verify' }).click();
    assert.equal(await page.locator('#user').textContent(), 'Signed in as carol@example.test');
    assert.equal(rp.idTokenClaims().acr, 'urn:gatehouse:loa:mfa');
    // Now the session has it: asking again needs nothing.
    await page.goto(`${rp.base}/login?acr_values=${encodeURIComponent('urn:gatehouse:loa:mfa')}`);
    assert.equal(await page.locator('#user').textContent(), 'Signed in as carol@example.test');
  });

  test('an app marked as requiring MFA: a user without a second factor is told to set one up', async () => {
    const dave = { email: 'dave@example.test', password: 'dave-password-1' };
    await gh.api('POST', '/tenants/default/users', dave);
    const v = (await gh.api('GET', `/tenants/default/apps/${web.clientId}`)).body.version;
    assert.equal((await gh.api('PATCH', `/tenants/default/apps/${web.clientId}`, { requireMfa: true, version: v })).status, 200);
    try {
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${rp.base}/login`);
      await page.getByLabel('Email').fill(dave.email);
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByLabel('Password').fill(dave.password);
      const answer = page.waitForResponse((r) => r.url().includes('/interaction/') && r.request().method() === 'GET' && r.status() === 403);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await answer;
      assert.equal(await page.locator('h1').textContent(), 'Two-step verification needed');
      assert.equal(await page.getByRole('link', { name: 'Set up two-step verification' }).getAttribute('href'), `${issuer}/account`);
    } finally {
      const v2 = (await gh.api('GET', `/tenants/default/apps/${web.clientId}`)).body.version;
      await gh.api('PATCH', `/tenants/default/apps/${web.clientId}`, { requireMfa: false, version: v2 });
    }
  });

  test('lockout after failed passwords, with a clear message, and the helpdesk unlock', async () => {
    const erin = { email: 'erin@example.test', password: 'erin-password-1' };
    await gh.api('POST', '/tenants/default/users', erin);
    const agent = new Agent();
    assert.equal(await agent.follow(`${rp.base}/login`, 'never:'), null);
    let f = agent.form();
    await agent.follow(f.action, 'never:', { form: { ...f.fields, email: erin.email } });
    f = agent.form();
    for (let i = 0; i < 5; i++) await agent.follow(f.action, 'never:', { form: { ...f.fields, email: erin.email, password: 'wrong-password-x' } });
    await agent.follow(f.action, 'never:', { form: { ...f.fields, email: erin.email, password: erin.password } });
    assert.equal(agent.lastStatus, 429);
    assert.match(text(agent.lastBody), /Too many failed sign-in attempts. Try again in \d+ minutes?/);
    assert.equal((await gh.api('POST', `/tenants/default/users/${erin.email}/unlock`)).status, 204);
    const done = await agent.follow(f.action, rp.base + '/callback', { form: { ...f.fields, email: erin.email, password: erin.password } });
    assert.ok(done, `signs in after the unlock: ${text(agent.lastBody).slice(0, 200)}`);
    const log = await gh.api('GET', '/tenants/default/audit?type=admin.user.unlocked');
    assert.equal(log.body.items[0].actor, 'admin@example.test');
  });

  test("the account page lists the user's devices and sessions (this browser marked); signing out another browser's session ends it there", async () => {
    const fay = { email: 'fay@example.test', password: 'fay-password-1' };
    await gh.api('POST', '/tenants/default/users', fay);
    const laptop = await (
      await browser.newContext({ userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' })
    ).newPage();
    await laptop.goto(`${rp.base}/login`);
    await fillSignIn(laptop, fay);
    assert.equal(await laptop.locator('#user').textContent(), `Signed in as ${fay.email}`);

    const desk = await (await browser.newContext()).newPage();
    await enroll(desk, fay);
    await desk.getByRole('link', { name: 'Done' }).click();
    assert.match((await desk.locator('#devices').textContent()) ?? '', /Authenticator app\s+authenticator app, added/);
    const sessions = desk.locator('#sessions li');
    assert.equal(await sessions.count(), 2);
    const windows = sessions.filter({ hasText: 'Chrome 131 on Windows' });
    assert.match((await windows.textContent()) ?? '', /apps: Customer CRM/);
    assert.equal(await sessions.filter({ hasText: 'this browser' }).count(), 1);
    assert.equal(await windows.filter({ hasText: 'this browser' }).count(), 0);
    await windows.getByRole('button', { name: 'Sign out Chrome 131 on Windows' }).click();
    assert.match((await desk.locator('[role=status]').textContent()) ?? '', /Signed out Chrome 131 on Windows/);
    assert.equal(await desk.locator('#sessions li').count(), 1);
    // The laptop's session is gone: the app's next sign-in asks for the password again.
    await laptop.goto(`${rp.base}/login`);
    assert.equal(await laptop.locator('h1').textContent(), 'Sign in');
    const log = await gh.api('GET', '/tenants/default/audit?type=session.ended');
    assert.equal(log.body.items[0].actor, fay.email);
  });
}
