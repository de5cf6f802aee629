// Push approval with number matching through the Gatehouse Authenticator, end to end in
// Chromium: the authenticator (the installable web app) runs in a second browser context, the
// "phone", enrolled from the account page's setup link; it reads the request (user, app) and
// the test types the number it reads on the sign-in page. Right number, wrong number, deny,
// 30-second expiry (the request's expiry moved into the past in the store: no sleeping),
// number matching off, the token code (the request then withdrawn from the phone; also when
// the sign-in is abandoned), a setup link opened in an already open authenticator tab, the
// page without scripts, removal reaching the phone;
// on PostgreSQL + Redis also a sign-in on one node reaching a phone connected to another.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN, startTestServer, freePort, type Backend, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { startTestRp } from '../helpers/test-rp.ts';
import { fillSignIn, haveChromium, launch } from '../helpers/browser.ts';
import { Agent, text } from '../helpers/agent.ts';

export function pushSuite(backend: Backend) {
  const skip = backend.skip || (haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium)');
  const test = (name: string, fn: () => Promise<void>) => nodeTest(`${backend.name}: ${name}`, { skip }, fn);

  let gh: TestServer;
  let issuer: string;
  let browser: Browser;
  let rp: Awaited<ReturnType<typeof startTestRp>>;
  let phone: BrowserContext;
  let authenticator: Page;
  const alice = { email: 'alice@example.test', password: 'alice-password-1' };

  before(async () => {
    if (skip) return;
    gh = await startTestServer({}, { backend });
    issuer = `${gh.base}/t/default`;
    browser = await launch();
    await gh.api('POST', '/tenants/default/users', alice);
    const port = await freePort();
    const a = await gh.api('POST', '/tenants/default/apps', {
      name: 'crm',
      displayName: 'Customer CRM',
      type: 'web',
      redirectUris: [`http://127.0.0.1:${port}/callback`],
    });
    await gh.api('PUT', `/tenants/default/apps/${a.body.clientId}/deployment`, { all: true });
    rp = await startTestRp({ issuer, clientId: a.body.clientId, clientSecret: a.body.clientSecret, port });
    phone = await browser.newContext();
    authenticator = await phone.newPage();
  });
  after(async () => {
    await browser?.close();
    await rp?.close();
    await gh?.close();
  });

  /** Add the Gatehouse Authenticator to `who` on the account page (desk browser), opening the setup link on `phonePage`. */
  async function enroll(base: string, who: { email: string; password: string }, phonePage: Page, desk: Page, phoneBase = base): Promise<void> {
    await desk.goto(`${base}/t/default/account`);
    await fillSignIn(desk, who);
    await desk.getByRole('link', { name: 'Add the Gatehouse Authenticator' }).click();
    assert.equal(await desk.locator('.qr svg').count(), 1, 'a QR code of the setup link');
    const link = (await desk.locator('#setup-link').getAttribute('href'))!;
    assert.match(link, /\/authenticator\/#enroll=default\/[A-Z0-9]{4}-/);
    await phonePage.goto(link.replace(base, phoneBase));
    await phonePage.locator('.account', { hasText: who.email }).locator('.state-ok').waitFor();
  }

  async function passwordStep(page: Page, who = alice) {
    await page.goto(`${rp.base}/login`);
    await fillSignIn(page, who);
    await page.locator('h1', { hasText: 'Two-step verification' }).waitFor();
  }

  /** The newest request still waiting, as stored. */
  async function pendingRequest() {
    const r = await gh.services.database.db
      .selectFrom('push_challenges')
      .select(['id', 'expires_at'])
      .where('status', '=', 'pending')
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow();
    return { id: r.id, expiresAt: Number(r.expires_at) };
  }
  const statusOf = async (id: string) =>
    (await gh.services.database.db.selectFrom('push_challenges').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

  /** The request as the phone shows it. */
  async function requestOnPhone(p = authenticator) {
    const card = p.locator('.request');
    await card.waitFor();
    return {
      card,
      user: await card.locator('.request-user').textContent(),
      app: await card.locator('.request-app').textContent(),
      text: await card.textContent(),
    };
  }

  test('enrolling from the account page: the setup link opens the authenticator, which keeps a non-extractable P-256 key; the account page moves on by itself to ten recovery codes', async () => {
    const desk = await (await browser.newContext()).newPage();
    await enroll(gh.base, alice, authenticator, desk);
    await desk.locator('#recovery-codes').waitFor();
    assert.equal(await desk.locator('#recovery-codes code').count(), 10);
    await desk.getByRole('link', { name: 'Done' }).click();
    assert.match((await desk.locator('#devices').textContent()) ?? '', /Gatehouse Authenticator \(push and token codes\), added/);

    const stored = await authenticator.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open('gatehouse-authenticator');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      const all = await new Promise<any[]>((resolve) => {
        const r = db.transaction('accounts').objectStore('accounts').getAll();
        r.onsuccess = () => resolve(r.result);
      });
      const k = all[0].privateKey as CryptoKey;
      const exported = await crypto.subtle.exportKey('jwk', k).then(
        () => 'exported',
        (e: Error) => e.name,
      );
      return {
        n: all.length,
        extractable: k.extractable,
        alg: (k.algorithm as EcKeyAlgorithm).namedCurve,
        exported,
        totpExtractable: (all[0].totpKey as CryptoKey).extractable,
        sw: !!(await navigator.serviceWorker.ready).active,
      };
    });
    assert.deepEqual(stored, { n: 1, extractable: false, alg: 'P-256', exported: 'InvalidAccessError', totpExtractable: false, sw: true });

    const manifest = (await (await fetch(`${gh.base}/authenticator/manifest.webmanifest`)).json()) as {
      display: string;
      scope: string;
      icons: Array<{ src: string; sizes: string }>;
    };
    assert.equal(manifest.display, 'standalone');
    assert.equal(manifest.scope, '/authenticator/');
    const icon = await fetch(`${gh.base}/authenticator/icon-512.png`);
    assert.equal(icon.headers.get('content-type'), 'image/png');
    assert.equal(Buffer.from(await icon.arrayBuffer()).readUInt32BE(16), 512, 'a 512-pixel PNG');
    const page = await fetch(`${gh.base}/authenticator/`);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'; .*worker-src 'self'/);
  });

  test('number matching: the sign-in page shows a 2-digit number, the phone shows who and which app (not the number); the right number signs in without a reload (amr swk)', async () => {
    const page = await (await browser.newContext()).newPage();
    await passwordStep(page);
    const number = (await page.locator('#push-number').textContent())!.trim();
    assert.match(number, /^\d{2}$/);
    const req = await requestOnPhone();
    assert.equal(req.user, alice.email);
    assert.equal(req.app, 'Customer CRM');
    const shown = (await req.card.locator('h2, p:not(.hint), label').allTextContents()).join(' ');
    assert.ok(!shown.includes(number), `the phone asks for the number; it does not show it: ${shown}`);
    await req.card.getByLabel('Enter the number shown on the sign-in screen').fill(number);
    await req.card.getByRole('button', { name: 'Approve' }).click();
    await page.locator('#user').waitFor(); // the sign-in page's script saw the approval
    assert.equal(await page.locator('#user').textContent(), `Signed in as ${alice.email}`);
    assert.deepEqual(rp.idTokenClaims().amr, ['pwd', 'swk']);
    assert.equal(rp.idTokenClaims().acr, 'urn:gatehouse:loa:mfa');
    assert.match((await authenticator.locator('#message').textContent()) ?? '', /Approved/);
  });

  test('a wrong number ends the sign-in (the user must begin again) and is audited', async () => {
    const page = await (await browser.newContext()).newPage();
    await passwordStep(page);
    const number = Number(await page.locator('#push-number').textContent());
    const req = await requestOnPhone();
    await req.card.getByLabel('Enter the number shown on the sign-in screen').fill(String(number === 99 ? 10 : number + 1));
    await req.card.getByRole('button', { name: 'Approve' }).click();
    await page.locator('#push-ended').waitFor();
    assert.match((await page.locator('#push-ended').textContent()) ?? '', /did not match/);
    assert.match((await authenticator.locator('#message').textContent()) ?? '', /not the number/);
    // Beginning again: the email page, not the second factor.
    await page.getByRole('link', { name: 'Sign in again' }).click();
    assert.equal(await page.locator('h1').textContent(), 'Sign in');
    const log = await gh.api('GET', '/tenants/default/audit?type=mfa.push_wrong_number');
    assert.equal(log.body.items[0].data.app, 'Customer CRM');
  });

  test('a deny ends the sign-in', async () => {
    const page = await (await browser.newContext()).newPage();
    await passwordStep(page);
    const req = await requestOnPhone();
    await req.card.getByRole('button', { name: 'Deny' }).click();
    await page.locator('#push-ended').waitFor();
    assert.match((await page.locator('#push-ended').textContent()) ?? '', /denied/);
    assert.equal(await page.locator('#user').count(), 0);
  });

  test('30 seconds without an answer (expiry moved into the past in the store): the page says so and a late approval is refused', async () => {
    const page = await (await browser.newContext()).newPage();
    await passwordStep(page);
    const number = (await page.locator('#push-number').textContent())!.trim();
    const req = await requestOnPhone();
    const sent = await gh.services.database.db
      .selectFrom('push_challenges')
      .select(['id', 'created_at', 'expires_at'])
      .where('status', '=', 'pending')
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal(Number(sent.expires_at) - Number(sent.created_at), 30_000, 'requests expire after 30 seconds');
    await gh.services.database.db
      .updateTable('push_challenges')
      .set({ expires_at: Date.now() - 1 })
      .where('id', '=', sent.id)
      .execute();
    await page.locator('#push-ended').waitFor();
    assert.match((await page.locator('#push-ended').textContent()) ?? '', /not approved within 30 seconds/);
    await req.card.getByLabel('Enter the number shown on the sign-in screen').fill(number);
    await req.card.getByRole('button', { name: 'Approve' }).click();
    await authenticator.locator('#message', { hasText: 'expired' }).waitFor();
    assert.equal(await page.locator('#user').count(), 0);
  });

  test('number matching off (policy): approve or deny only; the page works without scripts too ("I approved it, continue")', async () => {
    const pol = await gh.api('POST', '/tenants/default/policies', {
      name: 'No number matching',
      priority: 1,
      targets: [{ type: 'user', ref: alice.email }],
      settings: { numberMatching: false },
    });
    assert.equal(pol.status, 201);
    try {
      const page = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
      await passwordStep(page);
      assert.equal(await page.locator('#push-number').count(), 0, 'no number to match');
      assert.match((await page.locator('.push').textContent()) ?? '', /Approve the request in the app/);
      const req = await requestOnPhone();
      assert.equal(await req.card.locator('input').count(), 0, 'the phone asks for no number');
      await page.getByRole('button', { name: 'I approved it, continue' }).click();
      assert.match((await page.locator('[role=alert]').textContent()) ?? '', /not been approved yet/, 'continuing early says so');
      await req.card.getByRole('button', { name: 'Approve' }).click();
      await authenticator.locator('#message', { hasText: 'Approved' }).waitFor();
      await page.getByRole('button', { name: 'I approved it, continue' }).click();
      assert.equal(await page.locator('#user').textContent(), `Signed in as ${alice.email}`);
    } finally {
      await gh.api('DELETE', `/tenants/default/policies/${pol.body.id}`);
    }
  });

  test('the token code the authenticator shows can be typed instead (amr otp)', async () => {
    const page = await (await browser.newContext()).newPage();
    await passwordStep(page);
    await requestOnPhone(); // the push is there too; the user types the code instead
    const code = (await authenticator.locator('.token-code').textContent())!.replace(/\s+/g, '');
    assert.match(code, /^\d{6}$/);
    const sent = await pendingRequest();
    await page.getByLabel('Token code from your Gatehouse Authenticator').fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
    assert.equal(await page.locator('#user').textContent(), `Signed in as ${alice.email}`);
    assert.deepEqual(rp.idTokenClaims().amr, ['pwd', 'otp']);
    // The sign-in is over: the request leaves the phone at once, not when its 30 seconds run out.
    await authenticator.locator('.request').waitFor({ state: 'detached' });
    assert.ok(Date.now() < sent.expiresAt, 'withdrawn by Gatehouse, before the request would have expired on its own');
    assert.equal(await statusOf(sent.id), 'withdrawn');
  });

  test('a sign-in abandoned on the second-factor page ("Use another account") withdraws its request from the phone', async () => {
    const page = await (await browser.newContext()).newPage();
    await passwordStep(page);
    await requestOnPhone();
    const sent = await pendingRequest();
    await page.getByRole('link', { name: 'Use another account' }).click();
    assert.equal(await page.locator('h1').textContent(), 'Sign in');
    await authenticator.locator('.request').waitFor({ state: 'detached' });
    assert.ok(Date.now() < sent.expiresAt, 'withdrawn, not expired');
    assert.equal(await statusOf(sent.id), 'withdrawn');
  });

  test('a setup link opened in an authenticator tab that is already open (only the address fragment changes) adds the account', async () => {
    const hana = { email: 'hana@example.test', password: 'hana-password-1' };
    await gh.api('POST', '/tenants/default/users', hana);
    const desk = await (await browser.newContext()).newPage();
    await desk.goto(`${gh.base}/t/default/account`);
    await fillSignIn(desk, hana);
    await desk.getByRole('link', { name: 'Add the Gatehouse Authenticator' }).click();
    const link = (await desk.locator('#setup-link').getAttribute('href'))!;
    const streamsBefore = gh.services.pushService.streams.size;
    const tab = await (await browser.newContext()).newPage();
    await tab.goto(`${gh.base}/authenticator/`);
    await tab.locator('#add-form').waitFor();
    await tab.evaluate((hash) => {
      location.hash = hash;
    }, new URL(link).hash);
    await tab.locator('.account', { hasText: hana.email }).locator('.state-ok').waitFor();
    assert.equal(new URL(tab.url()).hash, '', 'the one-time code is taken out of the address');
    await desk.locator('#recovery-codes').waitFor();
    // Closed again: later tests count the authenticators connected to this node.
    await tab.context().close();
    await desk.context().close();
    await waitFor(() => gh.services.pushService.streams.size === streamsBefore, { what: "the closed tab's stream to end on the server" });
  });

  test('the authenticator API answers bad input with a clear 4xx in JSON: unreadable bodies, missing fields, unknown setup codes, unsigned or foreign-signed requests, missing tickets', async () => {
    const api = `${gh.base}/t/default/authenticator/api`;
    const post = async (path: string, body: string) => {
      const r = await fetch(api + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: r.status, body: (await r.json()) as { error: { code: string; message: string } } };
    };
    let r = await post('/enroll', '{not json');
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /could not be read/);
    r = await post('/enroll', '{}');
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /code: /);
    const { generateKeyPair, exportJWK, CompactSign } = await import('jose');
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const sign = (header: Record<string, string>, payload: unknown) =>
      new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'ES256', ...header }).sign(privateKey);
    r = await post(
      '/enroll',
      JSON.stringify({
        code: 'AAAA-BBBB-CCCC-DDDD',
        publicKey: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
        proof: await sign({}, { typ: 'enroll', code: 'AAAA-BBBB-CCCC-DDDD' }),
      }),
    );
    assert.equal(r.status, 410);
    assert.match(r.body.error.message, /expired or was already used/);
    r = await post('/ticket', JSON.stringify({ jws: 'abc' }));
    assert.equal(r.status, 400);
    // A request naming alice's phone but signed with another key is refused.
    const device = await gh.services.database.db.selectFrom('mfa_factors').select('id').where('type', '=', 'push').executeTakeFirstOrThrow();
    r = await post('/decide', JSON.stringify({ jws: await sign({ kid: device.id }, { typ: 'decision', cid: 'x', decision: 'approve', number: '42' }) }));
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'device_not_recognized');
    assert.equal((await fetch(`${api}/events`)).status, 401);
    assert.equal((await fetch(`${api}/events?ticket=v1.a.b.c`)).status, 401);
    assert.equal(
      (await fetch(`${gh.base}/t/nowhere/authenticator/api/ticket`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jws":"a"}' }))
        .status,
      404,
    );
  });

  test(
    'postgres+redis' === backend.name
      ? 'a sign-in on node A reaches an authenticator connected to node B (change notices through Redis)'
      : 'several nodes: covered on PostgreSQL + Redis',
    async () => {
      if (backend.name !== 'postgres+redis') return;
      const c = gh.services.config;
      const nodeB = await startTestServer(
        {
          DATABASE_URL: c.databaseUrl!,
          REDIS_URL: c.redisUrl!,
          GATEHOUSE_REDIS_PREFIX: c.redisPrefix,
          GATEHOUSE_SECRET: c.secret!,
          GATEHOUSE_PUBLIC_URL: gh.base,
        },
        {
          backend: { name: 'node-b', skip: false, env: async () => ({}), cleanup: async () => {} },
        },
      );
      try {
        const bob = { email: 'bob@example.test', password: 'bob-password-1' };
        await gh.api('POST', '/tenants/default/users', bob);
        const bobPhone = await (await browser.newContext()).newPage();
        await enroll(gh.base, bob, bobPhone, await (await browser.newContext()).newPage(), nodeB.url);
        assert.equal(nodeB.services.pushService.streams.size, 1, "the phone's stream is on node B");
        assert.equal(gh.services.pushService.streams.size, 1, "alice's phone stays on node A");
        const page = await (await browser.newContext()).newPage();
        await passwordStep(page, bob);
        const number = (await page.locator('#push-number').textContent())!.trim();
        const req = await requestOnPhone(bobPhone);
        assert.equal(req.user, bob.email);
        await req.card.getByLabel('Enter the number shown on the sign-in screen').fill(number);
        await req.card.getByRole('button', { name: 'Approve' }).click();
        await page.locator('#user').waitFor();
        assert.equal(await page.locator('#user').textContent(), `Signed in as ${bob.email}`);
      } finally {
        await nodeB.close();
      }
    },
  );

  test('past 10 requests in 15 minutes no new request is sent to the phone (MFA fatigue); the page asks for the code instead; mfa.push_flood is audited and shown as an alert on the console overview', async () => {
    const recent = (await gh.api('GET', '/tenants/default/audit?type=mfa.push_sent&limit=200')).body.items.filter(
      (e: { at: number; data: { email?: string } }) => e.data.email === alice.email && e.at > Date.now() - 15 * 60_000,
    ).length;
    // Bring alice to the limit with password steps from a plain HTTP agent (each one sends a request).
    for (let i = recent; i < 10; i++) {
      const agent = new Agent();
      assert.equal(await agent.follow(`${rp.base}/login`, `${rp.base}/callback`), null);
      let f = agent.form();
      await agent.follow(f.action, `${rp.base}/callback`, { form: { ...f.fields, email: alice.email } });
      f = agent.form();
      await agent.follow(f.action, `${rp.base}/callback`, { form: { ...f.fields, email: alice.email, password: alice.password } });
      assert.match(text(agent.lastBody), /Two-step verification/);
    }
    const page = await (await browser.newContext()).newPage();
    await passwordStep(page);
    assert.equal(await page.locator('#push-number').count(), 0, 'no new request');
    assert.match((await page.locator('[role=alert]').textContent()) ?? '', /Many approval requests were sent to your phone.*Enter the 6-digit code/);
    // The code field stays (typing the code is tested above; its 30-second step was used there).
    assert.equal(await page.getByLabel('Token code from your Gatehouse Authenticator').count(), 1);
    const sentNow = (await gh.api('GET', '/tenants/default/audit?type=mfa.push_sent&limit=200')).body.items.filter(
      (e: { at: number; data: { email?: string } }) => e.data.email === alice.email && e.at > Date.now() - 15 * 60_000,
    ).length;
    assert.equal(sentNow, 10, 'nothing more was sent');
    // The security team sees it: one mfa.push_flood (warn) naming the app, and an alert on the console's overview.
    const floods = (await gh.api('GET', `/tenants/default/audit?type=mfa.push_flood&user=${alice.email}`)).body.items;
    assert.equal(floods.length, 1, 'one event when the limit is reached');
    assert.equal(floods[0].level, 'warn');
    assert.ok(floods[0].clientId, 'the application signed in to');
    const overview = await gh.api('GET', '/tenants/default/overview');
    const alert = overview.body.alerts.find((a: { kind: string }) => a.kind === 'push_flood');
    assert.ok(alert, JSON.stringify(overview.body.alerts));
    assert.match(alert.message, new RegExp(`approval requests were sent to ${alice.email}'s phone`));
    const consolePage = await (await browser.newContext()).newPage();
    await consolePage.goto(`${gh.base}/console`);
    await fillSignIn(consolePage, { email: ADMIN.email, password: ADMIN.password });
    const alerts = consolePage.getByRole('region', { name: 'Alerts' });
    await alerts.waitFor();
    assert.match((await alerts.textContent()) ?? '', new RegExp(`10 approval requests were sent to ${alice.email}'s phone`));
    assert.equal(await alerts.getByRole('link', { name: 'Open the user' }).count(), 1);
  });

  test("an administrator's reset removes the push device: the open authenticator says so at once", async () => {
    assert.equal((await gh.api('DELETE', `/tenants/default/users/${alice.email}/mfa`)).status, 204);
    await authenticator.locator('.state-off').waitFor();
    assert.match((await authenticator.locator('.account').textContent()) ?? '', /removed from the account/);
  });
}
