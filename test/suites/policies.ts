// User policies: precedence (the first by priority whose target matches), MFA required
// (always, outside trusted networks), single sign-on turned off, allowed factors, remember
// this device, session lifetime override, lockout threshold and duration, validation; in
// Chromium and through the admin API.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, freePort, type Backend, type TestServer } from '../helpers/server.ts';
import { startTestRp } from '../helpers/test-rp.ts';
import { fillSignIn, haveChromium, launch } from '../helpers/browser.ts';
import { enrollTotp, totpCode } from '../helpers/totp.ts';
import { Agent, text } from '../helpers/agent.ts';

export function policySuite(backend: Backend) {
  const skip = backend.skip || (haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium)');
  const test = (name: string, fn: () => Promise<void>) => nodeTest(`${backend.name}: ${name}`, { skip }, fn);

  let gh: TestServer;
  let browser: Browser;
  let rp: Awaited<ReturnType<typeof startTestRp>>;
  const finance = { email: 'fiona@example.test', password: 'fiona-password-1' };
  const staff = { email: 'sam@example.test', password: 'sam-password-1' };
  const ids: Record<string, string> = {};

  before(async () => {
    if (skip) return;
    gh = await startTestServer({}, { backend });
    browser = await launch();
    await gh.api('POST', '/tenants/default/groups', { name: 'Finance' });
    await gh.api('POST', '/tenants/default/users', { ...finance, groups: ['Finance'] });
    await gh.api('POST', '/tenants/default/users', staff);
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

  async function signIn(who: { email: string; password: string }): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${rp.base}/login`);
    await fillSignIn(page, who);
    return page;
  }

  test("precedence: the first policy by priority whose target matches applies, and the API shows the order and each user's policy", async () => {
    const everyone = await gh.api('POST', '/tenants/default/policies', {
      name: 'Everyone',
      priority: 100,
      targets: [{ type: 'all' }],
      settings: { mfa: { required: 'outside_trusted_networks', trustedNetworks: ['127.0.0.0/8', '::1/128'] } },
    });
    assert.equal(everyone.status, 201, JSON.stringify(everyone.body));
    const fin = await gh.api('POST', '/tenants/default/policies', {
      name: 'Finance needs MFA',
      priority: 10,
      targets: [{ type: 'group', ref: 'Finance' }],
      settings: { mfa: { required: 'always' } },
    });
    assert.equal(fin.status, 201, JSON.stringify(fin.body));
    ids.everyone = everyone.body.id;
    ids.fin = fin.body.id;
    assert.deepEqual(
      fin.body.targets.map((t: { label: string }) => t.label),
      ['Finance'],
    );
    const list = await gh.api('GET', '/tenants/default/policies');
    assert.deepEqual(
      list.body.items.map((p: { name: string }) => p.name),
      ['Finance needs MFA', 'Everyone'],
    );
    assert.match(list.body.precedence, /first policy, by priority/);
    assert.equal((await gh.api('GET', `/tenants/default/users/${finance.email}/policy`)).body.policy.name, 'Finance needs MFA');
    assert.equal((await gh.api('GET', `/tenants/default/users/${staff.email}/policy`)).body.policy.name, 'Everyone');
    const bad = await gh.api('POST', '/tenants/default/policies', {
      name: 'Bad',
      priority: 5,
      targets: [{ type: 'all' }],
      settings: { mfa: { required: 'outside_trusted_networks', trustedNetworks: ['10.0.0.300/8'] } },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /10\.0\.0\.0\/8/);
    assert.equal((await gh.api('POST', '/tenants/default/policies', { name: 'Everyone', priority: 5 })).status, 409);
  });

  test('priorities are unique: a second policy at a taken priority, created or moved there, is refused with 409 naming the policy that has it', async () => {
    const taken = await gh.api('POST', '/tenants/default/policies', { name: 'Contractors', priority: 100, targets: [] });
    assert.equal(taken.status, 409, 'priority 100 belongs to "Everyone"');
    assert.match(taken.body.error.message, /"Everyone" already has priority 100/);
    assert.equal((await gh.api('GET', '/tenants/default/policies?search=Contractors')).body.items.length, 0, 'nothing was created');
    const c = await gh.api('POST', '/tenants/default/policies', { name: 'Contractors', priority: 90, targets: [] });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    const moved = await gh.api('PATCH', `/tenants/default/policies/${c.body.id}`, { priority: 10, version: c.body.version });
    assert.equal(moved.status, 409);
    assert.match(moved.body.error.message, /"Finance needs MFA" already has priority 10/);
    assert.equal((await gh.api('GET', `/tenants/default/policies/${c.body.id}`)).body.priority, 90, 'unchanged');
    // Keeping its own priority is not a conflict with itself.
    assert.equal((await gh.api('PATCH', `/tenants/default/policies/${c.body.id}`, { priority: 90, version: c.body.version })).status, 200);
    assert.equal((await gh.api('DELETE', `/tenants/default/policies/${c.body.id}`)).status, 204);
  });

  test('passwordless passkeys need passkeys allowed: refused with 400 saying what to change, at creation and when a change would break the rule', async () => {
    const bad = await gh.api('POST', '/tenants/default/policies', {
      name: 'No passkeys but passwordless',
      priority: 95,
      targets: [],
      settings: { passwordlessPasskeys: true, allowedFactors: ['totp'] },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /add "webauthn" to allowedFactors/);
    assert.equal(bad.body.error.details.problems[0].field, 'settings.passwordlessPasskeys');
    const ok = await gh.api('POST', '/tenants/default/policies', { name: 'Passwordless', priority: 95, targets: [], settings: { passwordlessPasskeys: true } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const drop = await gh.api('PATCH', `/tenants/default/policies/${ok.body.id}`, { settings: { allowedFactors: ['totp', 'push'] }, version: ok.body.version });
    assert.equal(drop.status, 400);
    assert.match(drop.body.error.message, /add "webauthn" to allowedFactors, or turn passwordlessPasskeys off/);
    assert.deepEqual((await gh.api('GET', `/tenants/default/policies/${ok.body.id}`)).body.settings.allowedFactors, ['totp', 'webauthn', 'push'], 'unchanged');
    assert.equal((await gh.api('DELETE', `/tenants/default/policies/${ok.body.id}`)).status, 204);
  });

  test('MFA required: always for the Finance group (no authenticator yet: told to set one up); a trusted network lets others in with a password, an untrusted one does not', async () => {
    const f = await signIn(finance);
    assert.equal(await f.locator('h1').textContent(), 'Two-step verification needed');

    const s = await signIn(staff);
    assert.equal(await s.locator('#user').textContent(), `Signed in as ${staff.email}`, 'inside the trusted network: password only');

    const v = (await gh.api('GET', `/tenants/default/policies/${ids.everyone}`)).body.version;
    assert.equal(
      (
        await gh.api('PATCH', `/tenants/default/policies/${ids.everyone}`, {
          settings: { mfa: { required: 'outside_trusted_networks', trustedNetworks: ['10.0.0.0/8'] } },
          version: v,
        })
      ).status,
      200,
    );
    // The existing SSO session (password only) no longer suffices from outside the network.
    await s.goto(`${rp.base}/login`);
    assert.equal(await s.locator('h1').textContent(), 'Two-step verification needed');
  });

  test('single sign-on turned off by policy: the sign-in is refused with a page that says so', async () => {
    const off = await gh.api('POST', '/tenants/default/policies', {
      name: 'Sam off',
      priority: 1,
      targets: [{ type: 'user', ref: staff.email }],
      settings: { ssoEnabled: false },
    });
    assert.equal(off.status, 201);
    const page = await signIn(staff);
    assert.equal(await page.locator('h1').textContent(), 'Single sign-on is turned off for your account');
    const log = await gh.api('GET', '/tenants/default/audit?type=signin.failed&text=sso_disabled');
    assert.ok(log.body.items.length >= 1);
    assert.equal((await gh.api('DELETE', `/tenants/default/policies/${off.body.id}`)).status, 204);
    assert.equal((await gh.api('GET', `/tenants/default/users/${staff.email}/policy`)).body.policy.name, 'Everyone');
  });

  /** Priorities for per-user policies: before "Everyone" (100), after the test-local ones (1); two policies may not share one. */
  let nextPriority = 2;

  /** A user with one policy of their own. */
  async function userWithPolicy(name: string, settings: Record<string, unknown>) {
    const who = { email: `${name}@example.test`, password: `${name}-password-1` };
    assert.equal((await gh.api('POST', '/tenants/default/users', who)).status, 201);
    const p = await gh.api('POST', '/tenants/default/policies', {
      name: `${name} policy`,
      priority: nextPriority++,
      targets: [{ type: 'user', ref: who.email }],
      settings,
    });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    return who;
  }

  test('allowed factors: only passkeys allowed and MFA always: an authenticator app is neither accepted at sign-in nor offered on the account page (which stays reachable to add a passkey)', async () => {
    const tess = { email: 'tess@example.test', password: 'tess-password-1' };
    await gh.api('POST', '/tenants/default/users', tess);
    const context = await browser.newContext();
    const page = await context.newPage();
    await enrollTotp(page, `${gh.base}/t/default`, tess); // before the policy: apps were allowed
    await gh.api('POST', '/tenants/default/policies', {
      name: 'tess passkeys only',
      priority: nextPriority++,
      targets: [{ type: 'user', ref: tess.email }],
      settings: { allowedFactors: ['webauthn'], mfa: { required: 'always' } },
    });
    await context.clearCookies();
    await page.goto(`${rp.base}/login`);
    await fillSignIn(page, tess);
    assert.equal(await page.locator('h1').textContent(), 'Two-step verification needed', 'the authenticator app does not count');
    await page.getByRole('link', { name: 'Set up two-step verification' }).click();
    assert.equal(await page.locator('h1').textContent(), 'Your account');
    assert.equal(await page.getByRole('link', { name: 'Add an authenticator app' }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Add the Gatehouse Authenticator' }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Add a passkey' }).count(), 1);
    const refused = await page.goto(`${gh.base}/t/default/account/totp`);
    assert.equal(refused!.status(), 403);
    assert.match((await page.locator('main').textContent()) ?? '', /does not allow authenticator apps.*You can add passkeys/s);
  });

  test("remember this device for 7 days: the checkbox sets an HttpOnly cookie that skips the code (amr mfa); an administrator's MFA reset revokes it", async () => {
    const remy = await userWithPolicy('remy', { rememberDeviceDays: 7 });
    const context = await browser.newContext();
    const page = await context.newPage();
    const secret = await enrollTotp(page, `${gh.base}/t/default`, remy);
    await context.clearCookies();
    await page.goto(`${rp.base}/login`);
    await fillSignIn(page, remy);
    await page.getByLabel('Remember this device for 7 days').check();
    await page.getByLabel('Code from your authenticator app').fill(totpCode(secret, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Verify' }).click();
    assert.equal(await page.locator('#user').textContent(), `Signed in as ${remy.email}`);
    const cookie = (await context.cookies()).find((c) => c.name.startsWith('gh_rd_'))!;
    assert.ok(cookie, 'a remember-device cookie');
    assert.equal(cookie.httpOnly, true);
    assert.ok(Math.abs(cookie.expires * 1000 - (Date.now() + 7 * 86_400_000)) < 120_000, 'valid for 7 days');
    assert.ok(!cookie.value.includes(remy.email) && cookie.value.length > 40, 'sealed, not readable');

    const signInAgain = async () => {
      await context.clearCookies({ name: 'gh_session' }); // a new sign-in, in the same browser
      await page.goto(`${rp.base}/login`);
      await fillSignIn(page, remy);
    };
    await signInAgain();
    assert.equal(await page.locator('#user').textContent(), `Signed in as ${remy.email}`, 'no code asked on this browser');
    assert.deepEqual(rp.idTokenClaims().amr, ['pwd', 'mfa']);
    assert.equal(rp.idTokenClaims().acr, 'urn:gatehouse:loa:mfa');
    const other = await (await browser.newContext()).newPage();
    await other.goto(`${rp.base}/login`);
    await fillSignIn(other, remy);
    assert.equal(await other.locator('h1').textContent(), 'Two-step verification', 'another browser is asked');

    assert.equal((await gh.api('DELETE', `/tenants/default/users/${remy.email}/mfa`)).status, 204);
    await enrollTotp(page, `${gh.base}/t/default`, remy); // a new authenticator after the reset
    await signInAgain();
    assert.equal(await page.locator('h1').textContent(), 'Two-step verification', 'the reset revoked the remembered browser');
  });

  test("session lifetime override: a policy of 30 minutes gives that user's SSO session 30 minutes instead of the tenant's 120", async () => {
    const sally = await userWithPolicy('sally', { sessionLifetimeMinutes: 30 });
    const expiry = async (who: { email: string; password: string }) => {
      const page = await signIn(who);
      assert.equal(await page.locator('#user').textContent(), `Signed in as ${who.email}`);
      const c = (await page.context().cookies()).find((x) => x.name === 'gh_session')!;
      return Math.round((c.expires * 1000 - Date.now()) / 60_000);
    };
    const mins = await expiry(sally);
    assert.ok(mins >= 28 && mins <= 30, `sally's session cookie lasts ${mins} minutes`);
    const other = await userWithPolicy('otto', { ssoEnabled: true });
    const otherMins = await expiry(other);
    assert.ok(otherMins >= 118 && otherMins <= 120, `a user without the override keeps the tenant's 120 minutes: ${otherMins}`);
  });

  test("lockout per policy: 3 failures lock the account for the policy's 2 minutes (the default stays 5 failures)", async () => {
    const lou = await userWithPolicy('lou', { lockout: { threshold: 3, durationMinutes: 2 } });
    const attempt = async (who: { email: string }, password: string, agent: Agent) => {
      let f = agent.form();
      await agent.follow(f.action, 'never:', { form: { ...f.fields, email: who.email } });
      f = agent.form();
      await agent.follow(f.action, 'never:', { form: { ...f.fields, email: who.email, password } });
    };
    const fresh = async () => {
      const a = new Agent();
      assert.equal(await a.follow(`${rp.base}/login`, 'never:'), null);
      return a;
    };
    const agent = await fresh();
    for (let i = 0; i < 2; i++) await attempt(lou, 'wrong-password-x', agent);
    assert.equal(agent.lastStatus, 401, 'two failures: not locked yet');
    await attempt(lou, 'wrong-password-x', agent);
    assert.match(text(agent.lastBody), /Too many failed attempts: try again in 2 minutes/);
    const again = await fresh();
    await attempt(lou, lou.password, again);
    assert.equal(again.lastStatus, 429, 'the right password is refused while locked');
    assert.match(text(again.lastBody), /Try again in 2 minutes/);
    // Someone under the default lockout is not locked by three failures.
    const dflt = await fresh();
    for (let i = 0; i < 3; i++) await attempt(staff, 'wrong-password-x', dflt);
    assert.equal(dflt.lastStatus, 401);
    assert.doesNotMatch(text(dflt.lastBody), /Too many/);
  });
}
