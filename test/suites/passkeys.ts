// Passkeys (WebAuthn) with Chromium's virtual authenticator over CDP: added on the account
// page, then used at sign-in as the second factor (amr hwk); a passkey from another
// authenticator is refused; passwordless sign-in ("Sign in with a passkey" on the email page)
// only where a policy allows it. Gatehouse runs at http://localhost here: WebAuthn needs a host name.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, freePort, type Backend, type TestServer } from '../helpers/server.ts';
import { startTestRp } from '../helpers/test-rp.ts';
import { fillSignIn, haveChromium, launch, LOCALHOST_IS_IPV4 } from '../helpers/browser.ts';

export function passkeySuite(backend: Backend) {
  const skip = backend.skip || (haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium)');
  const test = (name: string, fn: () => Promise<void>) => nodeTest(`${backend.name}: ${name}`, { skip }, fn);

  let gh: TestServer;
  let browser: Browser;
  let rp: Awaited<ReturnType<typeof startTestRp>>;
  const pat = { email: 'pat@example.test', password: 'pat-password-1' };
  let patBrowser: { context: BrowserContext; page: Page } | undefined;

  before(async () => {
    if (skip) return;
    gh = await startTestServer({}, { backend, publicHost: 'localhost' });
    browser = await launch([LOCALHOST_IS_IPV4]);
    await gh.api('POST', '/tenants/default/users', pat);
    const port = await freePort();
    const a = await gh.api('POST', '/tenants/default/apps', {
      name: 'crm',
      displayName: 'Customer CRM',
      type: 'web',
      redirectUris: [`http://127.0.0.1:${port}/callback`],
    });
    await gh.api('PUT', `/tenants/default/apps/${a.body.clientId}/deployment`, { all: true });
    rp = await startTestRp({ issuer: `${gh.base}/t/default`, clientId: a.body.clientId, clientSecret: a.body.clientSecret, port });
  });
  after(async () => {
    await browser?.close();
    await rp?.close();
    await gh?.close();
  });

  /** A browser context with a virtual platform authenticator (user verification always succeeds). */
  async function withAuthenticator(): Promise<{ context: BrowserContext; page: Page; authenticatorId: string }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    return { context, page, authenticatorId };
  }

  async function addPasskey(page: Page, who: { email: string; password: string }) {
    await page.goto(`${gh.base}/t/default/account`);
    await fillSignIn(page, who);
    await page.getByRole('link', { name: 'Add a passkey' }).click();
  }

  async function passwordStep(page: Page) {
    await page.goto(`${rp.base}/login`);
    await fillSignIn(page, pat);
  }

  test("a passkey added on the account page confirms the sign-in (amr hwk); the recovery codes come with it; another authenticator's passkey is refused", async () => {
    const { page, context } = await withAuthenticator();
    patBrowser = { page, context };
    await addPasskey(page, pat);
    await page.getByLabel('Name').fill('Laptop');
    await page.getByRole('button', { name: 'Create a passkey' }).click();
    await page.waitForSelector('#recovery-codes');
    assert.equal(
      await page.locator('#recovery-codes code').count(),
      10,
      `first factor: recovery codes shown once: ${await page.locator('main').textContent()}`,
    );
    await page.getByRole('link', { name: 'Done' }).click();
    assert.match((await page.locator('main').textContent()) ?? '', /Laptop\s+passkey, added/);

    // Sign in to the app in the same browser (same authenticator), from a fresh session.
    await context.clearCookies();
    await passwordStep(page);
    assert.equal(await page.locator('h1').textContent(), 'Two-step verification');
    await page.getByRole('button', { name: 'Use your passkey' }).click();
    await page.waitForSelector('#user');
    assert.equal(await page.locator('#user').textContent(), `Signed in as ${pat.email}`);
    assert.deepEqual(rp.idTokenClaims().amr, ['pwd', 'hwk']);
    assert.equal(rp.idTokenClaims().acr, 'urn:gatehouse:loa:mfa');

    // A browser whose authenticator holds no passkey for Gatehouse cannot use that button.
    const other = await withAuthenticator();
    await passwordStep(other.page);
    await other.page.getByRole('button', { name: 'Use your passkey' }).click();
    await other.page.waitForFunction(() => !!document.querySelector('[data-webauthn-status]')?.textContent);
    assert.match((await other.page.locator('[data-webauthn-status]').textContent()) ?? '', /passkey was not used/);
    assert.equal(await other.page.locator('h1').textContent(), 'Two-step verification', 'still asked for the second factor');
  });

  test('passwordless: where a policy allows it, "Sign in with a passkey" on the email page signs in with the passkey alone (amr hwk + mfa); a user whose policy does not allow it is refused', async () => {
    const { page, context } = patBrowser!;
    await context.clearCookies();
    await page.goto(`${rp.base}/login`);
    assert.equal(await page.getByRole('button', { name: 'Sign in with a passkey' }).count(), 0, 'not offered while no policy allows it');
    const pol = await gh.api('POST', '/tenants/default/policies', {
      name: 'Passwordless',
      priority: 1,
      targets: [{ type: 'user', ref: pat.email }],
      settings: { passwordlessPasskeys: true },
    });
    assert.equal(pol.status, 201);
    await page.goto(`${rp.base}/login`);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForSelector('#user');
    assert.equal(await page.locator('#user').textContent(), `Signed in as ${pat.email}`);
    assert.deepEqual(rp.idTokenClaims().amr, ['hwk', 'mfa']);
    assert.equal(rp.idTokenClaims().acr, 'urn:gatehouse:loa:mfa');

    // Quinn has a passkey too, but no policy letting it sign in alone.
    const quinn = { email: 'quinn@example.test', password: 'quinn-password-1' };
    await gh.api('POST', '/tenants/default/users', quinn);
    const q = await withAuthenticator();
    await addPasskey(q.page, quinn);
    await q.page.getByRole('button', { name: 'Create a passkey' }).click();
    await q.page.waitForSelector('#recovery-codes');
    await q.context.clearCookies();
    await q.page.goto(`${rp.base}/login`);
    await q.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await q.page.waitForSelector('[role=alert]');
    assert.match((await q.page.locator('[role=alert]').textContent()) ?? '', /does not let your account sign in with a passkey alone/);
    assert.equal(await q.page.locator('h1').textContent(), 'Sign in');
  });

  test('"Remember this device", ticked on the second-factor page, travels with the passkey (a module script shared with push approval): the next sign-in in this browser skips the second factor', async () => {
    const { page, context } = patBrowser!;
    assert.equal((await gh.api('DELETE', '/tenants/default/policies/Passwordless')).status, 204);
    const pol = await gh.api('POST', '/tenants/default/policies', {
      name: 'Remember',
      priority: 1,
      targets: [{ type: 'user', ref: pat.email }],
      settings: { rememberDeviceDays: 7 },
    });
    assert.equal(pol.status, 201);
    try {
      await context.clearCookies();
      await passwordStep(page);
      assert.equal(await page.locator('h1').textContent(), 'Two-step verification');
      await page.getByLabel('Remember this device for 7 days').check();
      await page.getByRole('button', { name: 'Use your passkey' }).click();
      await page.waitForSelector('#user');
      assert.deepEqual(rp.idTokenClaims().amr, ['pwd', 'hwk']);
      // A new sign-in in the same browser, keeping only the remembered-browser cookie.
      const kept = (await context.cookies()).filter((c) => c.name.startsWith('gh_rd_'));
      assert.equal(kept.length, 1, 'the browser was remembered for the user');
      await context.clearCookies();
      await context.addCookies(kept);
      await passwordStep(page);
      await page.waitForSelector('#user');
      assert.deepEqual(rp.idTokenClaims().amr, ['pwd', 'mfa'], 'no second factor asked: remembered');
      const events = (await gh.api('GET', '/tenants/default/audit?type=mfa.remembered')).body.items;
      assert.equal(events[0]?.data.email, pat.email);
    } finally {
      await gh.api('DELETE', `/tenants/default/policies/${pol.body.id}`);
    }
  });
}
