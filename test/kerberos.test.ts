// Desktop SSO with Kerberos (SPNEGO; issue 19 part 1) against a real MIT KDC (Debian's
// krb5-kdc) on 127.0.0.1: the CLI sets the tenant's service principal and keytab (never shown
// again); Chromium with a ticket from kinit signs in to an openid-client relying party with
// no sign-in page (amr wia); without a ticket the page is shown (401 Negotiate, no dialog);
// an expired ticket, a ticket for another service, an unknown and a disabled user each get
// the page and an audit event saying why. SQLite only: the settings are one row.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN, deployedApp, freePort, startTestServer, type TestServer } from './helpers/server.ts';
import { startTestRp } from './helpers/test-rp.ts';
import { CHROMIUM, haveChromium } from './helpers/browser.ts';
import { Agent } from './helpers/agent.ts';
import { GENEROUS_MS, waitFor } from './helpers/wait.ts';
import { haveKdc, REALM, startKdc, type Kdc } from './helpers/kdc.ts';
import { loadGss } from '../src/kerberos/service.ts';
import * as agent from '../src/workstations/agent.ts';

const gssClient = (await import('kerberos').then(
  (m) => (m as any).default ?? m,
  () => undefined,
)) as undefined | { initializeClient(spn: string): Promise<{ step(t: string): Promise<string> }> };
const skip = !haveKdc()
  ? 'the MIT KDC is not installed (apt-get install -y krb5-kdc krb5-admin-server krb5-user)'
  : !haveChromium()
    ? `chromium is not installed at ${CHROMIUM}`
    : !gssClient || !(await loadGss())
      ? 'the kerberos npm package is not installed (needs libkrb5-dev; npm install kerberos)'
      : false;
const test = (name: string, fn: () => Promise<void>) => nodeTest(name, { skip }, fn);
const MAIN = path.resolve(import.meta.dirname, '../src/cli/main.ts');

let kdc: Kdc;
let gh: TestServer;
let rp: Awaited<ReturnType<typeof startTestRp>>;
const contexts: BrowserContext[] = [];
const caches: Record<string, string> = {};
const users = { alice: 'alice@example.test', dave: 'dave@example.test', erin: 'erin@example.test' };

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [MAIN, ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          GATEHOUSE_URL: gh.base,
          GATEHOUSE_ADMIN_EMAIL: ADMIN.email,
          GATEHOUSE_ADMIN_PASSWORD: ADMIN.password,
        },
      },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
}

/** A Negotiate token for `spn` from a ticket cache (the kerberos package's client side, in this process). */
async function token(cache: string, spn = 'HTTP@localhost'): Promise<string> {
  process.env.KRB5CCNAME = `FILE:${cache}`;
  try {
    const c = await gssClient!.initializeClient(spn);
    return await c.step('');
  } finally {
    delete process.env.KRB5CCNAME;
  }
}

/** A sign-in started at the relying party, stopped at Gatehouse's sign-in step: its URL and cookies. */
async function signInStep(): Promise<{ url: string; cookie: string; status: number; challenge: string | null }> {
  const agent = new Agent();
  const start = await fetch(`${rp.base}/login`, { redirect: 'manual' });
  assert.equal(await agent.follow(start.headers.get('location')!, rp.base), null);
  const cookie = [...agent.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const again = await fetch(agent.lastUrl, { headers: { cookie }, redirect: 'manual' });
  return { url: agent.lastUrl, cookie, status: again.status, challenge: again.headers.get('www-authenticate') };
}

/**
 * Chromium using a ticket cache. A persistent profile: Chromium never does integrated
 * authentication in an off-the-record context (Playwright's newContext()). "localhost" is
 * resolved as the system does (not mapped with --host-resolver-rules, which makes the
 * service name HTTP@127.0.0.1), and not canonicalized (--disable-auth-negotiate-cname-lookup).
 */
async function kerberosBrowser(cache: string): Promise<Page> {
  const context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(kdc.dir, 'profile-')), {
    executablePath: CHROMIUM,
    headless: true,
    timeout: GENEROUS_MS,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--auth-server-allowlist=localhost',
      '--disable-auth-negotiate-cname-lookup',
      // Chromium's net log says what it did with a challenge (AUTH_* events): DEBUG_KRB=1 keeps one per browser.
      ...(process.env.DEBUG_KRB ? [`--log-net-log=${cache}.net.json`, '--net-log-capture-mode=Everything'] : []),
    ],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', KRB5_CONFIG: kdc.env.KRB5_CONFIG!, KRB5CCNAME: `FILE:${cache}` },
  });
  context.setDefaultTimeout(GENEROUS_MS);
  contexts.push(context);
  return context.pages()[0] ?? context.newPage();
}

/** Answer the sign-in step's challenge with a ticket's token, then follow on: the relying party's callback URL, or null when a page was shown. */
async function negotiate(step: { url: string; cookie: string }, cache: string): Promise<{ status: number; callback: string | null; agent: Agent }> {
  const res = await fetch(step.url, { headers: { cookie: step.cookie, authorization: `Negotiate ${await token(cache)}` }, redirect: 'manual' });
  const agent = new Agent();
  for (const c of [...step.cookie.split('; '), ...res.headers.getSetCookie().map((h) => h.split(';')[0]!)]) {
    const i = c.indexOf('=');
    agent.jar.set(c.slice(0, i), c.slice(i + 1));
  }
  const callback = res.status === 303 ? await agent.follow(new URL(res.headers.get('location')!, step.url).href, `${rp.base}/callback`) : null;
  return { status: res.status, callback, agent };
}

before(async () => {
  if (skip) return;
  kdc = await startKdc();
  // The server runs in this process: it reads the realm's krb5.conf (clockskew 1 s) too.
  process.env.KRB5_CONFIG = kdc.env.KRB5_CONFIG;
  for (const p of ['HTTP/localhost', 'HTTP/other.localhost', 'alice', 'carol', 'dave', 'erin']) await kdc.principal(p);
  await kdc.keytab('HTTP/localhost', path.join(kdc.dir, 'http.keytab'));
  for (const p of ['alice', 'carol', 'dave', 'erin']) {
    await kdc.keytab(p, path.join(kdc.dir, `${p}.keytab`));
    caches[p] = path.join(kdc.dir, `${p}.ccache`);
    await kdc.kinit(p, path.join(kdc.dir, `${p}.keytab`), caches[p]!);
  }
  gh = await startTestServer({}, { publicHost: 'localhost' });
  for (const [name, email] of Object.entries(users)) {
    const r = await gh.api('POST', '/tenants/default/users', { email, password: `${name}-password-1` });
    assert.equal(r.status, 201);
    if (name === 'dave')
      assert.equal((await gh.api('PATCH', `/tenants/default/users/${r.body.id}`, { status: 'disabled', version: r.body.version })).status, 200);
  }
  // Erin's policy wants a second factor at every sign-in.
  assert.equal(
    (
      await gh.api('POST', '/tenants/default/policies', {
        name: 'Erin needs MFA',
        priority: 1,
        targets: [{ type: 'user', ref: users.erin }],
        settings: { mfa: { required: 'always' } },
      })
    ).status,
    201,
  );
  const port = await freePort();
  const app = await deployedApp(gh, { name: 'charts', displayName: 'Ward charts', type: 'web', redirectUris: [`http://127.0.0.1:${port}/callback`] });
  rp = await startTestRp({ issuer: `${gh.base}/t/default`, clientId: app.clientId, clientSecret: app.clientSecret, port });
});
after(async () => {
  for (const c of contexts) await c.close();
  await rp?.close();
  await gh?.close();
  await kdc?.stop();
  delete process.env.KRB5_CONFIG;
});

test('kerberos set/show/disable: the keytab is sealed and never shown; hostile settings get a clear 400', async () => {
  const off = await cli(['kerberos', 'show', '--tenant', 'default', '--json']);
  assert.equal(JSON.parse(off.stdout).enabled, false);
  // Before it is on, nothing is offered: the page is a plain 200.
  assert.equal((await signInStep()).status, 200);
  const bad = await gh.api('PUT', '/tenants/default/kerberos', {
    principal: 'HTTP/localhost@EXAMPLE.TEST',
    keytab: Buffer.from('not a keytab').toString('base64'),
  });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /not a Kerberos keytab/);
  const badPrincipal = await gh.api('PUT', '/tenants/default/kerberos', { principal: 'localhost', keytab: 'BQI=' });
  assert.equal(badPrincipal.status, 400);
  const badCidr = await cli([
    'kerberos',
    'set',
    '--tenant',
    'default',
    '--keytab',
    path.join(kdc.dir, 'http.keytab'),
    '--principal',
    `HTTP/localhost@${REALM}`,
    '--negotiate-from',
    '10.0.0.0/99',
  ]);
  assert.equal(badCidr.code, 1);
  assert.match(badCidr.stderr, /not a CIDR range/);
  // Offered only to 10.0.0.0/8 first: this test's 127.0.0.1 gets the plain page.
  const narrow = await cli([
    'kerberos',
    'set',
    '--tenant',
    'default',
    '--keytab',
    path.join(kdc.dir, 'http.keytab'),
    '--principal',
    `HTTP/localhost@${REALM}`,
    '--negotiate-from',
    '10.0.0.0/8',
    '--json',
  ]);
  assert.equal(narrow.code, 0, narrow.stderr);
  assert.equal((await signInStep()).status, 200, 'not offered outside --negotiate-from');
  const set = await cli([
    'kerberos',
    'set',
    '--tenant',
    'default',
    '--keytab',
    path.join(kdc.dir, 'http.keytab'),
    '--principal',
    `HTTP/localhost@${REALM}`,
    '--negotiate-from',
    '127.0.0.0/8,::1',
    '--json',
  ]);
  assert.equal(set.code, 0, set.stderr);
  const shown = await cli(['kerberos', 'show', '--tenant', 'default', '--json']);
  const k = JSON.parse(shown.stdout);
  assert.deepEqual([k.enabled, k.realm, k.principal, k.hasKeytab, k.negotiateFrom], [true, REALM, `HTTP/localhost@${REALM}`, true, ['127.0.0.0/8', '::1']]);
  const keytab = fs.readFileSync(path.join(kdc.dir, 'http.keytab')).toString('base64');
  assert.ok(!shown.stdout.includes(keytab.slice(8, 40)), 'the keytab is never returned');
  const audit = JSON.stringify((await gh.api('GET', '/tenants/default/audit?limit=100')).body);
  assert.ok(!audit.includes(keytab.slice(8, 40)), 'nor in the audit trail');
  const disabled = await cli(['kerberos', 'disable', '--tenant', 'default']);
  assert.equal(disabled.code, 0);
  assert.equal((await signInStep()).status, 200);
  assert.equal(
    (await cli(['kerberos', 'set', '--tenant', 'default', '--keytab', path.join(kdc.dir, 'http.keytab'), '--principal', `HTTP/localhost@${REALM}`])).code,
    0,
  );
});

test('a ticket signs in to the relying party with no sign-in page; amr has wia', async () => {
  // What a browser with a ticket does, step by step: the sign-in step answers 401 Negotiate
  // (with the page as its body); the token for HTTP@localhost from the user's ticket cache is
  // sent back; the sign-in finishes without a page and the relying party gets its code.
  const step = await signInStep();
  assert.equal(step.status, 401);
  assert.equal(step.challenge, 'Negotiate');
  assert.match(await (await fetch(step.url, { headers: { cookie: step.cookie } })).text(), /Email/, "the normal page is the 401's body");
  const { status, callback, agent: a } = await negotiate(step, caches.alice!);
  assert.equal(status, 303);
  assert.ok(callback, `the sign-in went on to the relying party without a page (got ${a.lastStatus}: ${a.lastBody.slice(0, 200)})`);
  const page = await fetch(callback!);
  assert.match(await page.text(), new RegExp(`Signed in as ${users.alice}`));
  assert.ok((rp.idTokenClaims().amr as string[]).includes('wia'), `amr: ${JSON.stringify(rp.idTokenClaims().amr)}`);
  const ok = (await gh.api('GET', '/tenants/default/audit?type=signin.succeeded&limit=5')).body.items as Array<{ data: { via?: string; amr: string[] } }>;
  assert.ok(ok.some((e) => e.data.via === 'kerberos' && e.data.amr.includes('wia')));
});

test("a ticket does not skip a second factor the user's policy requires", async () => {
  const { status, callback, agent: a } = await negotiate(await signInStep(), caches.erin!);
  assert.equal(status, 303, 'the ticket was accepted');
  assert.equal(callback, null, 'but the sign-in stops for the second factor');
  assert.match(a.lastUrl, /\/interaction\//);
  assert.match(a.lastBody, /two-step verification/i);
});

test('a Kerberos session from the address an enrolled workstation reported ends at its sign-out', async () => {
  const tenantId = (await gh.services.tenantStore.bySlug('default'))!.id;
  const code = (await gh.api('POST', '/tenants/default/workstations/codes')).body.code as string;
  const stateFile = path.join(kdc.dir, 'agent.json');
  await agent.enroll({ url: gh.base, code, stateFile, name: 'ward-pc' });
  await agent.signin(stateFile, users.alice, 'alice-password-1');
  // Alice's browser on that workstation (this machine's address) signs in with her ticket.
  const step = await signInStep();
  assert.ok((await negotiate(step, caches.alice!)).callback);
  const aliceId = (await gh.services.userStore.userByEmail(tenantId, users.alice))!.id;
  const before = (await gh.services.sessionService.listForUser(tenantId, aliceId)).filter((s) => s.amr.includes('wia'));
  assert.ok(before.length >= 1);
  const r = await agent.signout(stateFile);
  assert.ok(r.sessionsEnded >= 1);
  assert.deepEqual(
    (await gh.services.sessionService.listForUser(tenantId, aliceId)).filter((s) => s.amr.includes('wia')),
    [],
  );
});

test('Chromium with a ticket signs in to the relying party with no sign-in page', async () => {
  const page = await kerberosBrowser(caches.alice!);
  // Chromium loads its GSSAPI library at the first Negotiate challenge and answers that one
  // as unsupported (net log: AUTH_HANDLER_CREATE_RESULT -339, then AUTH_LIBRARY_LOAD): a first
  // visit to the sign-in step loads it, as a browser that has been running would have.
  await page.goto(`${rp.base}/login`);
  await page.waitForLoadState();
  const seen: string[] = [];
  page.on('framenavigated', (f) => seen.push(f.url()));
  await page.goto(`${rp.base}/login`);
  await page.locator('#user').waitFor();
  assert.equal(await page.locator('#user').textContent(), `Signed in as ${users.alice}`);
  assert.deepEqual(
    seen.filter((u) => u.includes('/interaction/')),
    [],
    'no sign-in page was shown',
  );
  assert.ok((rp.idTokenClaims().amr as string[]).includes('wia'));
});

test('Chromium without a ticket shows the sign-in page (no dialog)', async () => {
  const page = await kerberosBrowser(path.join(kdc.dir, 'none.ccache'));
  await page.goto(`${rp.base}/login`);
  await page.getByLabel('Email').waitFor();
});

test('fallbacks: another service, an unknown user, a disabled user, an expired ticket, garbage; each audited with the reason', async () => {
  const cases: Array<[string, () => Promise<string>]> = [
    ['wrong_service', () => token(caches.alice!, 'HTTP@other.localhost')],
    ['unknown_user', () => token(caches.carol!)],
    ['disabled_user', () => token(caches.dave!)],
    ['invalid_ticket', async () => Buffer.from('garbage').toString('base64')],
  ];
  // A ticket that lives 3 seconds: its token is made now and sent once the ticket has expired.
  const short = path.join(kdc.dir, 'alice-short.ccache');
  await kdc.kinit('alice', path.join(kdc.dir, 'alice.keytab'), short, '3s');
  const made = Date.now();
  const expiredToken = await token(short);
  for (const [reason, make] of cases) {
    const step = await signInStep();
    const res = await fetch(step.url, { headers: { cookie: step.cookie, authorization: `Negotiate ${await make()}` }, redirect: 'manual' });
    assert.equal(res.status, 200, `${reason}: the page, with no new challenge`);
    assert.equal(res.headers.get('www-authenticate'), null);
    assert.match(await res.text(), /Email/);
  }
  await waitFor(() => Date.now() > made + 5000, { what: 'the short ticket to expire' });
  const step = await signInStep();
  const res = await fetch(step.url, { headers: { cookie: step.cookie, authorization: `Negotiate ${expiredToken}` }, redirect: 'manual' });
  assert.equal(res.status, 200);
  const events = (await gh.api('GET', '/tenants/default/audit?type=kerberos.fallback&limit=50')).body.items as Array<{
    data: { reason: string; principal?: string };
  }>;
  const reasons = events.map((e) => e.data.reason);
  if (process.env.DEBUG_KRB) console.log(JSON.stringify(events, null, 1));
  for (const r of ['wrong_service', 'unknown_user', 'disabled_user', 'invalid_ticket', 'ticket_expired'])
    assert.ok(reasons.includes(r), `audited: ${r} (got ${reasons.join(', ')})`);
  assert.ok(events.some((e) => e.data.reason === 'disabled_user' && e.data.principal === `dave@${REALM}`));
});
