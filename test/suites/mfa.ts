// Two-step verification with TOTP: enrollment on the account page (QR code, a code to finish,
// recovery codes shown once), the code step at sign-in, replays and wrong codes refused,
// recovery codes used once, amr/acr in ID tokens, the helpdesk reset. Chromium for the pages;
// the codes are computed with otpauth, as an authenticator app would.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import * as OTPAuth from 'otpauth';
import { startTestServer, freePort, type Backend, type TestServer } from '../helpers/server.ts';
import { startTestRp } from '../helpers/test-rp.ts';
import { haveChromium, launch } from '../helpers/browser.ts';
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
const codeAt = (offsetSteps: number) => new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + offsetSteps * 30_000 });

before(async () => {
  if (skip) return;
  gh = await startTestServer({}, { backend });
  issuer = `${gh.base}/t/default`;
  browser = await launch();
  await gh.api('POST', '/tenants/default/users', { ...alice, givenName: 'Alice' });
  const port = await freePort();
  const a = await gh.api('POST', '/tenants/default/apps', { name: 'crm', displayName: 'Customer CRM', type: 'web', redirectUris: [`http://127.0.0.1:${port}/callback`], passwordGrant: true });
  await gh.api('PUT', `/tenants/default/apps/${a.body.clientId}/deployment`, { all: true });
  web = { clientId: a.body.clientId, clientSecret: a.body.clientSecret };
  rp = await startTestRp({ issuer, clientId: web.clientId, clientSecret: web.clientSecret, port });
});
after(async () => { await browser?.close(); await rp?.close(); await gh?.close(); });

async function passwordStep(page: Page) {
  await page.goto(`${rp.base}/login`);
  await page.getByLabel('Email').fill(alice.email);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Password').fill(alice.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('enrolling an authenticator on the account page: QR code, a code to finish, ten recovery codes shown once', async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${issuer}/account`);
  await page.getByLabel('Email').fill(alice.email);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Password').fill(alice.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  assert.equal(await page.locator('h1').textContent(), 'Your account');
  assert.match(await page.locator('main').textContent() ?? '', /Two-step verification is off/);
  await page.getByRole('link', { name: 'Add an authenticator app' }).click();
  assert.equal(await page.locator('.qr svg').count(), 1, 'a QR code');
  secret = (await page.locator('#totp-secret').textContent())!.replace(/\s+/g, '');
  await page.getByLabel('Code from the app').fill('000000' === codeAt(0) ? '111111' : '000000');
  await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
  assert.match(await page.locator('[role=alert]').textContent() ?? '', /not right/, 'a wrong code does not finish it');
  await page.getByLabel('Code from the app').fill(codeAt(0));
  await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
  recovery = (await page.locator('#recovery-codes code').allTextContents());
  assert.equal(recovery.length, 10);
  assert.equal(new Set(recovery).size, 10);
  await page.getByRole('link', { name: 'Done' }).click();
  assert.match(await page.locator('main').textContent() ?? '', /Authenticator app.*10 of 10 recovery codes left/s);
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
  assert.match(await replay.locator('[role=alert]').textContent() ?? '', /already used/);
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
  assert.match(await again.locator('[role=alert]').textContent() ?? '', /not right/);

  const grant = await fetch(`${issuer}/token`, {
    method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${web.clientId}:${web.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
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
}
