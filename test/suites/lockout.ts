// Smart lockout, tried as an attacker and read as the security team would (issue 15, points 1
// and 4), in Chromium behind a trusted proxy (GATEHOUSE_TRUST_PROXY=true: each browser context
// sends its own X-Forwarded-For, so each is a different address):
// - a stranger's 20 wrong passwords from an unfamiliar address lock only unfamiliar origins:
//   the real user signs in at once from their familiar browser, and from a new browser once the
//   lockout (the policy's first, 1 minute) has ended by itself;
// - the attacker's address is refused (429 with Retry-After) for the account it attacked while a
//   colleague behind the same address still signs in; spraying a new account is refused after one try;
// - the admin API token endpoint follows the same rules: a stranger cannot lock the superadmin out;
// - the audit trail: signin.failed from the attacker's address, signin.locked with the origin,
//   signin.throttled, signin.succeeded only once every factor is done, with the client id
//   (signin.password_ok in between when a second factor follows).
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN, startTestServer, freePort, type Backend, type TestServer } from '../helpers/server.ts';
import { startTestRp } from '../helpers/test-rp.ts';
import { fillSignIn, haveChromium, launch } from '../helpers/browser.ts';
import { enrollTotp, totpCode } from '../helpers/totp.ts';

export function lockoutSuite(backend: Backend) {
  const skip = backend.skip || (haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium)');
  const test = (name: string, fn: () => Promise<void>) => nodeTest(`${backend.name}: ${name}`, { skip }, fn);

  let gh: TestServer;
  let browser: Browser;
  let rp: Awaited<ReturnType<typeof startTestRp>>;
  let clientId: string;
  const nora = { email: 'nora@example.test', password: 'nora-password-1' };
  const olaf = { email: 'olaf@example.test', password: 'olaf-password-1' };
  const pat = { email: 'pat@example.test', password: 'pat-password-1' };
  const tess = { email: 'tess@example.test', password: 'tess-password-1' };
  const HOME = '198.51.100.10';
  const ATTACKER = '203.0.113.66';
  const NEW_PLACE = '192.0.2.77';
  const CAFE = '198.51.100.99';
  let since = 0;

  before(async () => {
    if (skip) return;
    // A low address limit so that 20 attempts cross it (the default is 50 in 15 minutes).
    gh = await startTestServer({ GATEHOUSE_TRUST_PROXY: 'true', GATEHOUSE_SIGNIN_ADDRESS_LIMIT: '10' }, { backend });
    browser = await launch();
    for (const u of [nora, olaf, pat, tess]) assert.equal((await gh.api('POST', '/tenants/default/users', u)).status, 201);
    // Nora's policy: 3 wrong passwords lock for 1 minute at first (the shortest a policy allows).
    const p = await gh.api('POST', '/tenants/default/policies', {
      name: 'Ward',
      priority: 1,
      targets: [{ type: 'user', ref: nora.email }],
      settings: { lockout: { threshold: 3, durationMinutes: 1 } },
    });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    const port = await freePort();
    const a = await gh.api('POST', '/tenants/default/apps', {
      name: 'crm',
      displayName: 'Customer CRM',
      type: 'web',
      redirectUris: [`http://127.0.0.1:${port}/callback`],
    });
    clientId = a.body.clientId;
    await gh.api('PUT', `/tenants/default/apps/${clientId}/deployment`, { all: true });
    rp = await startTestRp({ issuer: `${gh.base}/t/default`, clientId, clientSecret: a.body.clientSecret, port });
  });
  after(async () => {
    await browser?.close();
    await rp?.close();
    await gh?.close();
  });

  const contextAt = (ip: string) => browser.newContext({ extraHTTPHeaders: { 'X-Forwarded-For': ip } });

  /** Sign in through the app as a person does; true when the app shows who signed in. */
  async function signIn(page: Page, who: { email: string; password: string }): Promise<boolean> {
    await page.goto(`${rp.base}/login`);
    await fillSignIn(page, who);
    await page.locator('#user, [role=alert], h1').first().waitFor();
    return (await page.locator('#user').count()) === 1;
  }

  /** On the password page: type a password, press Sign in; the answer's status, Retry-After and message. */
  async function tryPassword(page: Page, password: string) {
    await page.getByLabel('Password').fill(password);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/password') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    await page.waitForLoadState();
    const headers = await res.allHeaders();
    return {
      status: res.status(),
      retryAfter: headers['retry-after'] ? Number(headers['retry-after']) : undefined,
      message:
        (await page
          .locator('[role=alert]')
          .first()
          .textContent()
          .catch(() => '')) ?? '',
    };
  }

  async function toPasswordPage(page: Page, email: string) {
    await page.goto(`${rp.base}/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Password').waitFor();
  }

  async function events(query: string) {
    const r = await gh.api('GET', `/tenants/default/audit?${query}&since=${since}&limit=200`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.items as Array<{ type: string; level: string; ip: string | null; clientId: string | null; data: any; at: number }>;
  }

  let familiar: BrowserContext;
  let newPlace: Page;

  test('20 wrong passwords from an unfamiliar address: the real user still signs in at once from their familiar browser; the attacker is refused with 429 and Retry-After', async () => {
    since = Date.now();
    familiar = await contextAt(HOME);
    const home = await familiar.newPage();
    assert.ok(await signIn(home, nora), 'first sign-in from home');
    const fam = (await familiar.cookies()).filter((c) => c.name === 'gh_fam');
    assert.equal(fam.length, 1, 'the browser is now familiar to her account');
    assert.equal(fam[0]!.httpOnly, true);
    assert.equal(fam[0]!.sameSite, 'Lax');
    assert.equal(fam[0]!.path, '/t/default/');
    const days = (fam[0]!.expires * 1000 - Date.now()) / 86_400_000;
    assert.ok(days > 179 && days <= 180, `kept 180 days: ${days}`);
    // Her SSO session ends (she signs out, the browser closes): the long-lived cookie stays.
    await familiar.clearCookies();
    await familiar.addCookies(fam);

    const attacker = await (await contextAt(ATTACKER)).newPage();
    await toPasswordPage(attacker, nora.email);
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await tryPassword(attacker, `guess-${i}-wrong`));
    assert.deepEqual(
      answers.slice(0, 2).map((a) => a.status),
      [401, 401],
    );
    assert.equal(answers[2]!.status, 401, 'the third wrong password is answered as wrong, and says the lockout began');
    assert.match(answers[2]!.message, /Too many failed attempts: try again in 1 minute/);
    for (const a of answers.slice(3)) {
      assert.equal(a.status, 429, a.message);
      assert.ok(a.retryAfter! > 0 && a.retryAfter! <= 15 * 60, `Retry-After: ${a.retryAfter}`);
      assert.match(a.message, /Too many failed sign-in attempts/);
    }
    // Even the right password is refused to the attacker's browser while locked.
    assert.equal((await tryPassword(attacker, nora.password)).status, 429);
    // And to any other unfamiliar origin: a new browser at a new address.
    newPlace = await (await contextAt(NEW_PLACE)).newPage();
    await toPasswordPage(newPlace, nora.email);
    const refused = await tryPassword(newPlace, nora.password);
    assert.equal(refused.status, 429, 'unfamiliar origins are locked');
    assert.ok(refused.retryAfter! > 0 && refused.retryAfter! <= 60, `Retry-After ${refused.retryAfter}`);

    // Nora in her familiar browser, even from an address she never used (the laptop at a
    // café): in at once (before the fix: 429 for 15 minutes).
    const laptop = await contextAt(CAFE);
    await laptop.addCookies((await familiar.cookies()).filter((c) => c.name === 'gh_fam'));
    const again = await laptop.newPage();
    assert.ok(
      await signIn(again, nora),
      `familiar browser: ${await again
        .locator('main')
        .textContent()
        .catch(() => '')}`,
    );
  });

  test("the attacker's address: a colleague behind it still signs in (only slowed); a new account tried from it is refused after one wrong password", async () => {
    const colleague = await (await contextAt(ATTACKER)).newPage();
    assert.ok(await signIn(colleague, olaf), 'a correct password of another account behind the same address is not refused');
    const spray = await (await contextAt(ATTACKER)).newPage();
    await toPasswordPage(spray, pat.email);
    const first = await tryPassword(spray, 'Winter2026!');
    assert.equal(first.status, 401, 'an account this address has not failed on gets its password checked');
    const second = await tryPassword(spray, 'Spring2026!');
    assert.equal(second.status, 429);
    assert.ok(second.retryAfter! > 0);
    assert.match(second.message, /from your network/);
    // Pat herself, from elsewhere, is not locked by one failure.
    assert.ok(await signIn(await (await contextAt(HOME)).newPage(), pat));
  });

  test("the audit trail shows both: failures and the lockout from the attacker's address (with the origin), the refused attempts, and the real sign-ins with the app", async () => {
    const failed = await events(`type=signin.failed&user=${nora.email}`);
    assert.ok(
      failed.length >= 3 && failed.every((e) => e.ip === ATTACKER && e.level === 'warn' && e.data.origin.familiar === false),
      JSON.stringify(failed.map((e) => [e.ip, e.data.origin])),
    );
    const locked = await events(`type=signin.locked&user=${nora.email}`);
    assert.equal(locked.length, 1, 'one lockout: attempts while locked do not renew it');
    assert.equal(locked[0]!.level, 'warn');
    assert.equal(locked[0]!.ip, ATTACKER);
    assert.deepEqual(
      { ip: locked[0]!.data.origin.ip, familiar: locked[0]!.data.origin.familiar, seconds: locked[0]!.data.seconds },
      { ip: ATTACKER, familiar: false, seconds: 60 },
    );
    const throttled = await events(`type=signin.throttled&user=${nora.email}`);
    assert.ok(throttled.filter((e) => e.ip === ATTACKER).length >= 18, "the attacker's refused attempts");
    assert.deepEqual(
      throttled.filter((e) => e.ip !== ATTACKER).map((e) => [e.ip, e.data.scope, e.data.origin.familiar]),
      [[NEW_PLACE, 'account', false]],
      'the new browser refused during the lockout',
    );
    const ok = await events(`type=signin.succeeded&user=${nora.email}`);
    assert.equal(ok.length, 2, 'the first sign-in and the one during the attack');
    assert.deepEqual(
      ok.map((e) => e.ip),
      [CAFE, HOME],
    );
    assert.ok(
      ok.every((e) => e.clientId === clientId && e.data.clientId === clientId && e.level === 'info'),
      JSON.stringify(ok),
    );
    assert.deepEqual([ok[0]!.data.origin.familiar, ok[0]!.data.origin.by], [true, 'device'], 'the sign-in during the attack came from a familiar browser');
    assert.equal((await events(`type=signin.throttled&user=${pat.email}`))[0]!.data.scope, 'address');
  });

  test('the new browser refused during the lockout signs in once the lockout has ended by itself (no unlock)', async () => {
    // Wait as a person would, until the end the lockout event gave (the policy's 1 minute), then sign in.
    const [lock] = await events(`type=signin.locked&user=${nora.email}`);
    const page = newPlace;
    const deadline = Date.now() + 100_000;
    let signedIn = false;
    let wait = Math.max(0, lock!.at + lock!.data.seconds * 1000 - Date.now());
    while (!signedIn && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, wait + 500));
      signedIn = await signIn(page, nora);
      wait = 5000;
    }
    assert.ok(signedIn, 'the lockout ended by itself');
    const ok = await events(`type=signin.succeeded&user=${nora.email}`);
    assert.equal(ok[0]!.ip, NEW_PLACE);
  });

  test("the admin API token endpoint follows the same rules: a stranger's wrong passwords do not lock the superadmin out of a familiar address", async () => {
    const token = (ip: string, password: string) =>
      fetch(`${gh.base}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
        body: JSON.stringify({ email: ADMIN.email, password }),
      });
    // The admin signed in from 127.0.0.1 when the test began (the admin token of gh.api): familiar.
    const stranger = '203.0.113.200';
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 8; i++) {
      last = await token(stranger, `wrong-${i}`);
      statuses.push(last.status);
    }
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
    assert.equal(statuses[7], 429);
    assert.ok(Number(last!.headers.get('retry-after')) > 0, 'Retry-After');
    assert.match(((await last!.json()) as { error: { message: string } }).error.message, /Try again in/);
    const mine = await token('127.0.0.1', ADMIN.password);
    assert.equal(mine.status, 200, 'the superadmin from a familiar address gets a token at once');
    const locked = await events(`type=signin.locked&user=${ADMIN.email}`);
    assert.equal(locked[0]!.data.origin.ip, stranger);
    const ok = await events(`type=signin.succeeded&user=${ADMIN.email}`);
    assert.equal(ok[0]!.data.via, 'admin_api_token');
    assert.equal(ok[0]!.data.origin.by, 'address', 'familiar by its address (an API client has no browser cookie)');
  });

  test('audit: a password then a wrong TOTP code then the right one writes signin.password_ok, mfa.failed, then one signin.succeeded with the client id', async () => {
    const ctx = await contextAt(HOME);
    const page = await ctx.newPage();
    const secret = await enrollTotp(page, `${gh.base}/t/default`, tess);
    await ctx.clearCookies();
    const start = Date.now();
    await page.goto(`${rp.base}/login`);
    await fillSignIn(page, tess);
    await page.getByLabel('Code from your authenticator app').waitFor();
    const mid = await gh.api('GET', `/tenants/default/audit?user=${tess.email}&since=${start}`);
    const midTypes = mid.body.items.map((e: { type: string }) => e.type);
    assert.ok(midTypes.includes('signin.password_ok'), midTypes.join());
    assert.ok(!midTypes.includes('signin.succeeded'), 'no success while the second factor is pending');
    const valid = [-30_000, 0, 30_000].map((d) => totpCode(secret, Date.now() + d));
    const wrong = valid.includes('000000') ? '111111' : '000000';
    await page.getByLabel('Code from your authenticator app').fill(wrong);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('[role=alert]').first().waitFor();
    const afterWrong = (await gh.api('GET', `/tenants/default/audit?user=${tess.email}&since=${start}`)).body.items.map((e: { type: string }) => e.type);
    assert.ok(afterWrong.includes('mfa.failed') && !afterWrong.includes('signin.succeeded'), afterWrong.join());
    // The enrollment used this step's code: the next step's (within the drift window) signs in.
    await page.getByLabel('Code from your authenticator app').fill(totpCode(secret, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('#user').waitFor();
    const all = (await gh.api('GET', `/tenants/default/audit?user=${tess.email}&since=${start}`)).body.items.reverse() as Array<{
      type: string;
      level: string;
      clientId: string | null;
      data: any;
    }>;
    const order = all.map((e) => e.type).filter((t) => /^(signin|mfa)\./.test(t));
    assert.deepEqual(order, ['signin.password_ok', 'mfa.failed', 'mfa.succeeded', 'signin.succeeded']);
    const pw = all.find((e) => e.type === 'signin.password_ok')!;
    assert.equal(pw.level, 'info');
    assert.equal(pw.clientId, clientId);
    const ok = all.find((e) => e.type === 'signin.succeeded')!;
    assert.equal(ok.level, 'info');
    assert.equal(ok.clientId, clientId);
    assert.deepEqual(ok.data.amr, ['pwd', 'otp']);
  });

  test('audit: a right password for a user who must use a second factor but has none is signin.password_ok (set-up next), not signin.succeeded', async () => {
    const uma = { email: 'uma@example.test', password: 'uma-password-1' };
    assert.equal((await gh.api('POST', '/tenants/default/users', uma)).status, 201);
    assert.equal(
      (
        await gh.api('POST', '/tenants/default/policies', {
          name: 'Uma needs MFA',
          priority: 2,
          targets: [{ type: 'user', ref: uma.email }],
          settings: { mfa: { required: 'always' } },
        })
      ).status,
      201,
    );
    const start = Date.now();
    const page = await (await contextAt(HOME)).newPage();
    await page.goto(`${rp.base}/login`);
    await fillSignIn(page, uma);
    assert.equal(await page.locator('h1').textContent(), 'Two-step verification needed');
    const trail = (await gh.api('GET', `/tenants/default/audit?user=${uma.email}&since=${start}`)).body.items as Array<{
      type: string;
      level: string;
      clientId: string | null;
      data: any;
    }>;
    const types = trail.map((e) => e.type);
    assert.ok(!types.includes('signin.succeeded'), types.join());
    const pw = trail.find((e) => e.type === 'signin.password_ok');
    assert.ok(pw, types.join());
    assert.deepEqual([pw.level, pw.clientId, pw.data.next], ['info', clientId, 'second_factor_setup']);
  });
}
