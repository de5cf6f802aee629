// Browser tests: the sign-in pages in real Chromium, SSO across two apps, logout, error pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { startTestRp } from './helpers/test-rp.ts';
import { haveChromium, launch } from './helpers/browser.ts';
import { freePort } from './helpers/server.ts';

const skip = haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium): browser tests skipped';
let gh: TestServer;
let browser: Browser;
let crm: Awaited<ReturnType<typeof startTestRp>>;
let wiki: Awaited<ReturnType<typeof startTestRp>>;
const alice = { email: 'alice@example.test', password: 'alice-password-1' };

before(async () => {
  if (skip) return;
  gh = await startTestServer();
  browser = await launch();
  await gh.api('POST', '/tenants/default/users', { ...alice, givenName: 'Alice' });
  await gh.api('POST', '/tenants/default/users', { email: 'bob@example.test', password: 'bob-password-1' });
  const mk = async (name: string, displayName: string) => {
    const port = await freePort();
    const r = await gh.api('POST', '/tenants/default/apps', {
      name,
      displayName,
      type: 'web',
      redirectUris: [`http://127.0.0.1:${port}/callback`],
      postLogoutRedirectUris: [`http://127.0.0.1:${port}/bye`],
    });
    assert.equal(r.status, 201);
    await gh.api('POST', `/tenants/default/apps/${r.body.clientId}/deployment/targets`, { type: 'user', ref: alice.email });
    return startTestRp({ issuer: `${gh.base}/t/default`, clientId: r.body.clientId, clientSecret: r.body.clientSecret, port });
  };
  crm = await mk('crm', 'Customer CRM');
  wiki = await mk('wiki', 'Team Wiki');
});
after(async () => {
  await browser?.close();
  await crm?.close();
  await wiki?.close();
  await gh?.close();
});

test('identifier-first sign-in, SSO into a second app, and sign-out', { skip }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  await page.goto(`${crm.base}/login?login_hint=${encodeURIComponent(alice.email)}`);
  assert.equal(await page.locator('h1').textContent(), 'Sign in');
  assert.match((await page.locator('.app').textContent()) ?? '', /Customer CRM/);
  assert.equal(await page.locator('#email').inputValue(), alice.email, 'login_hint pre-fills the email');
  await page.getByRole('button', { name: 'Next' }).click();
  assert.equal(await page.locator('h1').textContent(), 'Enter your password');
  await page.getByLabel('Password').fill(alice.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  assert.equal(await page.locator('#user').textContent(), `Signed in as ${alice.email}`);

  // The second app signs in without any prompt.
  await page.goto(`${wiki.base}/login`);
  assert.equal(await page.locator('#user').textContent(), `Signed in as ${alice.email}`);

  // Cookies are HttpOnly and SameSite.
  const cookies = await context.cookies(`${gh.base}/t/default/auth`);
  assert.ok(cookies.length > 0);
  for (const c of cookies) {
    assert.ok(c.httpOnly, `${c.name} HttpOnly`);
    assert.equal(c.sameSite, 'Lax');
  }

  // Sign out from the first app: confirmation page, then the app's goodbye page.
  await page.goto(`${crm.base}/logout`);
  assert.equal(await page.locator('h1').textContent(), 'Sign out');
  await page.getByRole('button', { name: 'Sign out' }).click();
  assert.equal(await page.locator('#bye').textContent(), 'Signed out of the app');
  // Signed out everywhere: the wiki asks to sign in again.
  await page.goto(`${wiki.base}/login`);
  assert.equal(await page.locator('h1').textContent(), 'Sign in');
  assert.deepEqual(cspViolations, []);
  await context.close();
});

test('error pages: wrong password, invalid email, not deployed, unknown app, bad redirect URI, expired sign-in', { skip }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${crm.base}/login`);
  await page.locator('#email').fill('not@an-email');
  await page.getByRole('button', { name: 'Next' }).click();
  assert.match((await page.getByRole('alert').textContent()) ?? '', /Enter your email address/);
  await page.locator('#email').fill(alice.email);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  assert.match((await page.getByRole('alert').textContent()) ?? '', /email or password is incorrect/);
  await page.getByRole('link', { name: 'Use another account' }).click();
  assert.equal(await page.locator('h1').textContent(), 'Sign in');

  // Bob has an account but the app is not deployed to him.
  await page.locator('#email').fill('bob@example.test');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Password').fill('bob-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  assert.equal(await page.locator('h1').textContent(), 'This application is not available to you');
  await page.getByRole('button', { name: 'Return to the application' }).click();
  assert.equal(await page.locator('#error').textContent(), 'access_denied');

  const res = await page.goto(
    `${gh.base}/t/default/auth?client_id=unknown&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(crm.base + '/callback')}`,
  );
  assert.equal(res!.status(), 400);
  assert.equal(await page.locator('h1').textContent(), 'Unknown application');

  await page.goto(`${crm.base}/login?redirect_uri=${encodeURIComponent('https://evil.example/callback')}`);
  assert.equal(await page.locator('h1').textContent(), 'Sign-in address not registered');
  assert.ok(page.url().startsWith(gh.base), 'never redirected to an unregistered URI');

  const expired = await page.goto(`${gh.base}/t/default/interaction/doesnotexist`);
  assert.equal(expired!.status(), 400);
  assert.equal(await page.locator('h1').textContent(), 'Sign-in expired');
  await context.close();
});
