// Issue 17, points 1-4: usernames, mail, password reset by email, email verification; tried
// as a clinician and as an attacker would. A real SMTP server runs in the test process and
// the tests read what it received.
// - usernames: set by API (unique per tenant, case-insensitive), used by the password grant
//   and the admin token endpoint (jsmith, CORP\jsmith, a userPrincipalName); an unknown one
//   gets the same answer as a wrong password;
// - email_verified: false for a new local user until the link is followed or an
//   administrator marks it;
// - mail: the admin "send test email" arrives, from GATEHOUSE_MAIL_FROM with the tenant's
//   from-name, text and HTML; a from-name or address with a line break is refused (400);
// - reset: the link works once, not after 15 minutes, not once a newer one was sent, not
//   after a sign-in, not on another tenant's page; the forgot page answers the same for
//   unknown identifiers; requests are throttled and audited; the new password follows the
//   rules; the old one stops working and the user is told by email;
// - directory users: a password or a synced name set by an administrator is refused (409).
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, deployedApp, LOOPBACK_OUTBOUND, type Backend, type TestServer } from '../helpers/server.ts';
import { backchannelReceiver } from '../helpers/rp.ts';
import { startSmtp } from '../helpers/smtp.ts';
import { waitFor } from '../helpers/wait.ts';
import { haveChromium, launch } from '../helpers/browser.ts';
import { startTestRp } from '../helpers/test-rp.ts';
import { freePort } from '../helpers/server.ts';

const enc = encodeURIComponent;

export function selfServiceSuite(backend: Backend) {
  const skip = backend.skip;
  const test = (name: string, fn: () => Promise<void>) => nodeTest(`${backend.name}: ${name}`, { skip }, fn);

  let gh: TestServer;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let issuer: string;
  let app: { clientId: string; clientSecret: string };
  const jane = { email: 'jane.smith@hospital.test', username: 'JSmith', password: 'ward-seven-night-shift' };
  const FROM = 'sso@hospital.test';

  before(async () => {
    if (skip) return;
    smtp = await startSmtp();
    // Loopback outbound: the back-channel logout receiver below listens on 127.0.0.1.
    gh = await startTestServer({ GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_MAIL_FROM: FROM, ...LOOPBACK_OUTBOUND }, { backend });
    issuer = `${gh.base}/t/default`;
    app = await deployedApp(gh, {
      name: 'ehr',
      displayName: 'Patient Records',
      type: 'web',
      redirectUris: ['https://ehr.hospital.test/cb'],
      passwordGrant: true,
    });
    const u = await gh.api('POST', '/tenants/default/users', jane);
    assert.equal(u.status, 201, JSON.stringify(u.body));
  });
  after(async () => {
    await gh?.close();
    await smtp?.close();
  });

  const grant = (username: string, password: string) =>
    fetch(`${issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'password', username, password, scope: 'openid email profile' }),
    });
  const userinfo = async (accessToken: string) =>
    (await (await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } })).json()) as Record<string, unknown>;
  const form = (path: string, fields: Record<string, string>) =>
    fetch(`${issuer}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
      redirect: 'manual',
    });

  /** The next message to `to` (after `count` already received) and the link in it. */
  async function nextMail(to: string, count: number, what: string) {
    await waitFor(() => smtp.to(to).length > count, { what });
    const m = smtp.to(to)[count]!;
    const link = /https?:\/\/\S+?token=[A-Za-z0-9_-]+/.exec(m.text)?.[0];
    return { m, link, token: link ? new URL(link).searchParams.get('token')! : undefined };
  }

  test('usernames: set by the API, unique per tenant whatever the case, refused with @ or \\; the password grant and the admin token take them; unknown ones answer as wrong passwords', async () => {
    const shown = await gh.api('GET', `/tenants/default/users/${jane.email}`);
    assert.equal(shown.body.username, 'jsmith', 'kept lowercased');
    assert.equal(shown.body.emailVerified, false, 'a new local user is not verified');
    const dup = await gh.api('POST', '/tenants/default/users', { email: 'john.smith@hospital.test', username: 'jsMITH', password: 'another-long-password' });
    assert.equal(dup.status, 409);
    assert.match(dup.body.error.message, /username jsmith is taken/);
    for (const bad of ['j@smith', 'CORP\\jsmith', 'has space', '']) {
      const r = await gh.api('POST', '/tenants/default/users', { email: 'x@hospital.test', username: bad });
      assert.equal(r.status, 400, bad);
    }

    for (const id of ['jsmith', 'JSMITH', jane.email]) {
      const r = await grant(id, jane.password);
      assert.equal(r.status, 200, `${id}: ${await r.clone().text()}`);
    }
    const ok = (await (await grant('jsmith', jane.password)).json()) as { access_token: string };
    const claims = await userinfo(ok.access_token);
    assert.equal(claims.email, jane.email);
    assert.equal(claims.email_verified, false, 'email_verified is false until confirmed');
    assert.equal(claims.preferred_username, 'jsmith');

    const unknown = await grant('nosuchuser', 'whatever-password');
    const wrong = await grant('jsmith', 'not-her-password');
    assert.equal(unknown.status, wrong.status);
    assert.deepEqual(await unknown.json(), await wrong.json(), 'the same answer for an unknown username and a wrong password');

    // Administrators sign in to the admin API with their username too.
    assert.equal((await gh.api('PATCH', `/tenants/default/users/${jane.email}`, { roles: ['helpdesk'] })).status, 200);
    const tok = await fetch(`${gh.base}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'jsmith', password: jane.password }),
    });
    assert.equal(tok.status, 200, await tok.clone().text());
    assert.equal((await gh.api('PATCH', `/tenants/default/users/${jane.email}`, { roles: [] })).status, 200);

    // The tenant may allow emails only: then a username is an unknown identifier.
    const s = await gh.api('GET', '/tenants/default/self-service');
    assert.equal(s.body.signInWith, 'either', 'the default');
    assert.equal((await gh.api('PATCH', '/tenants/default/self-service', { signInWith: 'email', version: s.body.version })).status, 200);
    assert.equal((await grant('jsmith', jane.password)).status, 400);
    assert.equal((await grant(jane.email, jane.password)).status, 200);
    const s2 = await gh.api('GET', '/tenants/default/self-service');
    assert.equal((await gh.api('PATCH', '/tenants/default/self-service', { signInWith: 'either', version: s2.body.version })).status, 200);

    // An administrator marks the address verified: the claim follows.
    assert.equal((await gh.api('PATCH', `/tenants/default/users/${jane.email}`, { emailVerified: true })).status, 200);
    const again = (await (await grant('jsmith', jane.password)).json()) as { access_token: string };
    assert.equal((await userinfo(again.access_token)).email_verified, true);
    assert.equal((await gh.api('PATCH', `/tenants/default/users/${jane.email}`, { emailVerified: false })).status, 200);
  });

  test("CORP\\jsmith and jsmith@corp.example.org name a directory user through the tenant's domain map; a directory user's password and synced names are refused with 409", async () => {
    const db = gh.services.database.db;
    const tenant = (await gh.services.tenantStore.bySlug('default'))!;
    // A directory and one of its users, as a sync leaves them (no LDAP server needed for this).
    const now = Date.now();
    await db
      .insertInto('ldap_directories')
      .values({
        id: 'dir_corp',
        tenant_id: tenant.id,
        name: 'CORP AD',
        enabled: 0,
        settings: JSON.stringify({ kind: 'ad', via: 'direct', urls: ['ldap://127.0.0.1:1'], baseDns: ['dc=corp'] }),
        bind_password_sealed: null,
        sync_marks: '{}',
        last_sync_at: null,
        last_full_sync_at: null,
        created_at: now,
        updated_at: now,
        version: 1,
      })
      .execute();
    await db
      .insertInto('users')
      .values({
        id: 'usr_dirkim',
        tenant_id: tenant.id,
        email: 'kim.lee@corp.example.org',
        domain: 'corp.example.org',
        given_name: 'Kim',
        family_name: 'Lee',
        password_hash: null,
        status: 'active',
        ou_id: null,
        roles: '[]',
        upstream_id: null,
        directory_id: 'dir_corp',
        external_id: 'guid-kim',
        dn: 'cn=kim lee,dc=corp',
        directory_seen_at: now,
        username: 'klee',
        email_verified: 1,
        created_at: now,
        updated_at: now,
        version: 1,
      })
      .execute();
    const { resolveIdentifier } = await import('../../src/selfservice/identifiers.ts');
    const s = await gh.api('GET', '/tenants/default/self-service');
    const bad = await gh.api('PATCH', '/tenants/default/self-service', { domains: { CORP: 'dir_nope' }, version: s.body.version });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /does not have/);
    const set = await gh.api('PATCH', '/tenants/default/self-service', {
      domains: { corp: 'dir_corp', 'Corp.Example.org': 'dir_corp' },
      version: s.body.version,
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body.domains, { CORP: 'dir_corp', 'corp.example.org': 'dir_corp' });
    const t = (await gh.services.tenantStore.bySlug('default'))!;
    for (const id of ['CORP\\klee', 'corp\\KLEE', 'klee', 'kim.lee@corp.example.org']) {
      assert.equal((await resolveIdentifier(gh.services, t, id)).user?.id, 'usr_dirkim', id);
    }
    // A UPN suffix names the directory; the local part is the username there.
    await db.updateTable('users').set({ email: 'kim.lee@hospital.test', domain: 'hospital.test' }).where('id', '=', 'usr_dirkim').execute();
    assert.equal((await resolveIdentifier(gh.services, t, 'klee@corp.example.org')).user?.id, 'usr_dirkim');
    assert.equal((await resolveIdentifier(gh.services, t, 'OTHER\\klee')).user, undefined, 'an unmapped domain names nobody');

    const pw = await gh.api('PATCH', '/tenants/default/users/usr_dirkim', { password: 'a-password-never-used' });
    assert.equal(pw.status, 409);
    assert.match(pw.body.error.message, /password is kept by the directory CORP AD/);
    const names = await gh.api('PATCH', '/tenants/default/users/usr_dirkim', { givenName: 'Kimberly' });
    assert.equal(names.status, 409);
    assert.match(names.body.error.message, /givenName comes from the directory CORP AD and would be overwritten at the next sync/);
    const shown = await gh.api('GET', '/tenants/default/users/usr_dirkim');
    assert.equal(shown.body.hasPassword, false);
    assert.equal(shown.body.givenName, 'Kim');
    assert.equal(
      (await gh.api('PATCH', '/tenants/default/users/usr_dirkim', { status: 'disabled' })).status,
      200,
      'what the directory does not keep can still be changed',
    );
  });

  test("send test email: it arrives from GATEHOUSE_MAIL_FROM with the tenant's from-name, in text and HTML; header injection is refused", async () => {
    const s = await gh.api('GET', '/tenants/default/self-service');
    const inj = await gh.api('PATCH', '/tenants/default/self-service', { mailFromName: 'Hospital\r\nBcc: victim@evil.test', version: s.body.version });
    assert.equal(inj.status, 400);
    assert.equal((await gh.api('PATCH', '/tenants/default/self-service', { mailFromName: 'St. Mary Hospital', version: s.body.version })).status, 200);
    const to = 'it@hospital.test';
    assert.equal((await gh.api('POST', '/tenants/default/self-service/test-email', { to: 'it@hospital.test\r\nBcc: victim@evil.test' })).status, 400);
    const r = await gh.api('POST', '/tenants/default/self-service/test-email', { to });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.smtpConfigured, true);
    const { m } = await nextMail(to, 0, 'the test message');
    assert.equal(m.from, FROM);
    assert.match(m.headers.from!, /St\. Mary Hospital/);
    assert.match(m.headers['content-type']!, /multipart\/alternative/);
    assert.match(m.text, /text\/plain/);
    assert.match(m.text, /text\/html/);
    assert.match(m.text, /This is a test message/);
    assert.equal(smtp.received.filter((x) => x.to.includes('victim@evil.test')).length, 0);
    assert.equal((await gh.api('POST', '/tenants/default/self-service/test-email', { to }, '')).status, 401, 'administrators only');
  });

  test('password reset: same answer for unknown accounts; the link works once, for the newest request, on its own tenant only; the old password stops working; the user is told', async () => {
    const page = await fetch(`${issuer}/selfservice/forgot`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Reset your password/);
    const known = await form('/selfservice/forgot', { identifier: 'jsmith' });
    const unknown = await form('/selfservice/forgot', { identifier: 'nobody-here' });
    assert.equal(known.status, 200);
    assert.equal(unknown.status, known.status);
    assert.equal(await unknown.text(), await known.text(), 'identical answers: no enumeration');
    const hostile = await form('/selfservice/forgot', { identifier: 'jsmith\u0000\r\nBcc: x@evil.test' });
    assert.equal(hostile.status, 400);
    assert.match(await hostile.text(), /control character/);

    const before = smtp.to(jane.email).length;
    const first = await nextMail(jane.email, before, 'the first reset link');
    assert.ok(first.token, first.m.text);
    assert.match(first.m.subject, /Reset your .* password/);
    // A newer request voids the first link.
    assert.equal((await form('/selfservice/forgot', { identifier: jane.email })).status, 200);
    const second = await nextMail(jane.email, before + 1, 'the second reset link');
    assert.notEqual(second.token, first.token);
    const superseded = await fetch(`${issuer}/selfservice/reset?token=${first.token}`);
    assert.equal(superseded.status, 410);
    assert.match(await superseded.text(), /newer one was sent/);

    // Another tenant's page does not take it.
    assert.equal((await gh.api('POST', '/tenants', { slug: 'clinic', name: 'Clinic' })).status, 201);
    const elsewhere = await fetch(`${gh.base}/t/clinic/selfservice/reset?token=${second.token}`);
    assert.equal(elsewhere.status, 400);
    assert.match(await elsewhere.text(), /another organization/);

    const shown = await fetch(`${issuer}/selfservice/reset?token=${second.token}`);
    assert.equal(shown.status, 200);
    assert.match(await shown.text(), /at least 8 characters; not a common password/i);
    const common = await form('/selfservice/reset', { token: second.token!, password: 'Password123!', confirm: 'Password123!' });
    assert.equal(common.status, 400);
    assert.match(await common.text(), /most common passwords/);
    const mine = await form('/selfservice/reset', { token: second.token!, password: jane.email, confirm: jane.email });
    assert.equal(mine.status, 400);
    assert.match(await mine.text(), /must not be your email address or username/);
    const mismatch = await form('/selfservice/reset', { token: second.token!, password: 'triage-desk-lantern', confirm: 'triage-desk-lantern2' });
    assert.equal(mismatch.status, 400);
    const done = await form('/selfservice/reset', { token: second.token!, password: 'triage-desk-lantern', confirm: 'triage-desk-lantern' });
    assert.equal(done.status, 200);
    assert.match(await done.text(), /Password changed/);
    const replay = await form('/selfservice/reset', { token: second.token!, password: 'another-fine-phrase', confirm: 'another-fine-phrase' });
    assert.equal(replay.status, 410, 'single use');

    assert.equal((await grant('jsmith', jane.password)).status, 400, 'the old password no longer works');
    assert.equal((await grant('jsmith', 'triage-desk-lantern')).status, 200);
    jane.password = 'triage-desk-lantern';
    const told = await nextMail(jane.email, before + 2, 'the "password changed" message');
    assert.match(told.m.subject, /password was changed/);
    const events = await gh.api('GET', '/tenants/default/audit?type=selfservice.password_changed');
    assert.equal(events.status, 200);
    assert.equal(events.body.items.length, 1);
    const all = JSON.stringify((await gh.api('GET', '/tenants/default/audit?limit=200')).body);
    assert.doesNotMatch(all, new RegExp(second.token!), 'link secrets never in the audit trail');
    assert.doesNotMatch(all, /triage-desk-lantern/, 'passwords never in the audit trail');
  });

  test('a reset link expires after 15 minutes and is voided by a sign-in; requests are throttled per account', async () => {
    const before = smtp.to(jane.email).length;
    assert.equal((await form('/selfservice/forgot', { identifier: 'jsmith' })).status, 200);
    const a = await nextMail(jane.email, before, 'a reset link');
    await gh.services.database.db
      .updateTable('user_links')
      .set({ expires_at: Date.now() - 1 })
      .where('used_at', 'is', null)
      .execute();
    const expired = await fetch(`${issuer}/selfservice/reset?token=${a.token}`);
    assert.equal(expired.status, 410);
    assert.match(await expired.text(), /expired/);

    assert.equal((await form('/selfservice/forgot', { identifier: 'jsmith' })).status, 200);
    const b = await nextMail(jane.email, before + 1, 'another reset link');
    assert.equal((await grant('jsmith', jane.password)).status, 200, 'she remembered it');
    assert.equal((await fetch(`${issuer}/selfservice/reset?token=${b.token}`)).status, 410, 'a sign-in voids pending links');

    // The fifth request in 15 minutes was the last one sent; more are dropped and audited.
    for (let i = 0; i < 3; i++) assert.equal((await form('/selfservice/forgot', { identifier: 'jsmith' })).status, 200);
    await waitFor(async () => (await gh.api('GET', '/tenants/default/audit?type=selfservice.reset_throttled')).body.items.length > 0, {
      what: 'the throttled request audited',
    });
  });

  test('email verification: the link confirms the address once; email_verified follows', async () => {
    const tenant = (await gh.services.tenantStore.bySlug('default'))!;
    const user = (await gh.services.userStore.userByEmail(tenant.id, jane.email))!;
    const before = smtp.to(jane.email).length;
    assert.deepEqual(await gh.services.selfService.sendVerification(tenant, user, { ip: '127.0.0.1' }), { ok: true });
    await waitFor(
      () =>
        smtp
          .to(jane.email)
          .slice(before)
          .some((m) => /Confirm your email/.test(m.subject)),
      { what: 'the verification link' },
    );
    const m = smtp
      .to(jane.email)
      .slice(before)
      .find((x) => /Confirm your email/.test(x.subject))!;
    const token = /token=([A-Za-z0-9_-]+)/.exec(m.text)![1];
    const v = { m, token };
    assert.match(v.m.subject, /Confirm your email address/);
    const page = await fetch(`${issuer}/selfservice/verify?token=${v.token}`);
    assert.equal(page.status, 200, 'opening the link (a mail scanner may) does not use it');
    assert.equal((await fetch(`${issuer}/selfservice/verify?token=${v.token}`)).status, 200);
    const ok = await form('/selfservice/verify', { token: v.token! });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /confirmed/);
    assert.equal((await form('/selfservice/verify', { token: v.token! })).status, 410);
    const t = (await (await grant('jsmith', jane.password)).json()) as { access_token: string };
    assert.equal((await userinfo(t.access_token)).email_verified, true);
  });

  test('CLI: user create --username, signin show, mail test', async () => {
    const { execFile } = await import('node:child_process');
    const path = await import('node:path');
    const bin = path.resolve(import.meta.dirname, '..', '..', 'bin', 'gatehouse.js');
    const env = { ...process.env, GATEHOUSE_URL: gh.base, GATEHOUSE_ADMIN_TOKEN: await gh.adminToken(), GATEHOUSE_ADMIN_TENANT: '' };
    const cli = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [bin, ...args], { env }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    const created = await cli([
      'user',
      'create',
      '--tenant',
      'default',
      '--email',
      'porter@hospital.test',
      '--password',
      'lift-b-basement-keys',
      '--username',
      'Porter1',
      '--json',
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).username, 'porter1');
    assert.equal((await grant('porter1', 'lift-b-basement-keys')).status, 200);
    const shown = await cli(['signin', 'show', '--tenant', 'default', '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).signInWith, 'either');
    const before = smtp.to('porter@hospital.test').length;
    const sent = await cli(['mail', 'test', '--tenant', 'default', '--to', 'porter@hospital.test']);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /queued/);
    await nextMail('porter@hospital.test', before, 'the test message from the CLI');
    const bad = await cli(['signin', 'set', '--tenant', 'default', '--with', 'nickname']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--with takes email, username or either/);
  });

  test('in Chromium: sign in with a username (the page says what it accepts); login_hint may be one; "Forgot your password?" leads to the reset page; a change the administrator requires is asked at sign-in', async () => {
    if (!haveChromium()) return; // Chromium is not installed (apt-get install -y chromium)
    const port = await freePort();
    const bc = await backchannelReceiver();
    const web = await deployedApp(gh, {
      name: 'rota',
      displayName: 'Duty Rota',
      type: 'web',
      redirectUris: [`http://127.0.0.1:${port}/callback`],
      backchannelLogoutUri: bc.url,
    });
    const rp = await startTestRp({ issuer, clientId: web.clientId, clientSecret: web.clientSecret, port });
    const browser = await launch();
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${rp.base}/login`);
      assert.equal(await page.locator('label[for=email]').textContent(), 'Email or username');
      assert.match((await page.locator('#identifier-hint').textContent()) ?? '', /username, like name@example.com or jsmith/);
      await page.getByLabel('Email or username').fill('JSmith');
      await page.getByRole('button', { name: 'Next' }).click();
      const forgot = page.getByRole('link', { name: 'Forgot your password?', exact: true });
      assert.equal(await forgot.count(), 1);
      await forgot.click();
      await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
      await page.getByRole('link', { name: 'Back to sign-in' }).click();
      await page.getByLabel('Email or username').fill('jsmith');
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByLabel('Password').fill(jane.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('#user').waitFor();
      assert.equal(await page.locator('#user').textContent(), `Signed in as ${jane.email}`);
      assert.equal(rp.idTokenClaims().email_verified, true, 'she confirmed her address earlier');

      // The account page: her password is kept here, so she can change it (current one required).
      await page.goto(`${issuer}/account`);
      await page.getByRole('heading', { name: 'Your account' }).waitFor();
      assert.match((await page.locator('main').textContent()) ?? '', /Your email address is confirmed/);
      await page.getByLabel('Current password').fill('not-my-password');
      await page.getByLabel('New password', { exact: true }).fill('morning-round-bay-three');
      await page.getByLabel('Type the new password again').fill('morning-round-bay-three');
      await page.getByRole('button', { name: 'Change password' }).click();
      assert.match((await page.getByRole('alert').textContent()) ?? '', /current password is not correct/);
      await page.getByLabel('Current password').fill(jane.password);
      await page.getByLabel('New password', { exact: true }).fill('morning-round-bay-three');
      await page.getByLabel('Type the new password again').fill('morning-round-bay-three');
      await page.getByRole('button', { name: 'Change password' }).click();
      assert.match((await page.getByRole('status').textContent()) ?? '', /Your password is changed/);
      jane.password = 'morning-round-bay-three';
      assert.equal((await grant('jsmith', jane.password)).status, 200);
      await context.close();

      // login_hint as a username pre-fills it.
      const c2 = await browser.newContext();
      const p2 = await c2.newPage();
      await p2.goto(`${rp.base}/login?login_hint=jsmith`);
      assert.equal(await p2.locator('#email').inputValue(), 'jsmith');
      await c2.close();

      // The administrator requires a new password: asked after the old one, with the rules;
      // her other sessions then end, and their apps hear of it by back-channel logout.
      const sessions = async () => (await gh.api('GET', `/tenants/default/users/${enc(jane.email)}/sessions`)).body.items as Array<{ id: string }>;
      const before = await sessions();
      assert.equal(before.length, 1, "the first browser's session (kept by her own change on the account page)");
      assert.equal(bc.received.length, 0);
      assert.equal((await gh.api('PATCH', `/tenants/default/users/${jane.email}`, { mustChangePassword: true })).status, 200);
      const c3 = await browser.newContext();
      const p3 = await c3.newPage();
      await p3.goto(`${rp.base}/login?login_hint=jsmith`);
      await p3.getByRole('button', { name: 'Next' }).click();
      await p3.getByLabel('Password').fill(jane.password);
      await p3.getByRole('button', { name: 'Sign in' }).click();
      await p3.getByRole('heading', { name: 'Choose a new password' }).waitFor();
      await p3.getByLabel('New password', { exact: true }).fill('qwerty123');
      await p3.getByLabel('Type the new password again').fill('qwerty123');
      await p3.getByRole('button', { name: 'Save new password' }).click();
      assert.match((await p3.getByRole('alert').textContent()) ?? '', /most common passwords/);
      await p3.getByLabel('New password', { exact: true }).fill('linen-cupboard-on-level-four');
      await p3.getByLabel('Type the new password again').fill('linen-cupboard-on-level-four');
      await p3.getByRole('button', { name: 'Save new password' }).click();
      await p3.locator('#user').waitFor();
      jane.password = 'linen-cupboard-on-level-four';
      assert.equal((await gh.api('GET', `/tenants/default/users/${jane.email}`)).body.mustChangePassword, false);
      await waitFor(() => bc.received.length > 0, { what: "back-channel logout of the first browser's session" });
      const after = await sessions();
      assert.ok(!after.some((x) => x.id === before[0]!.id), "the first browser's session ended");
      assert.equal((await grant('jsmith', jane.password)).status, 200);
      await c3.close();
    } finally {
      await browser.close();
      await rp.close();
      await bc.close();
    }
  });
}
