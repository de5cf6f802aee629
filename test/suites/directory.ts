// LDAP / Active Directory sync and sign-in against a real slapd (OpenLDAP and AD-style
// data from LDIF): test connection, full sync (users, OUs, domains, groups), a browser
// sign-in with the directory password, deployment and policies by synced OU and group,
// locked / expired / must-change accounts, an incremental change, a user disabled in the
// directory refused and signed out, and the Active Directory mapping.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import * as oidc from 'openid-client';
import { startTestServer, freePort, type Backend, type TestServer } from '../helpers/server.ts';
import { startTestRp } from '../helpers/test-rp.ts';
import { fillSignIn, haveChromium, launch } from '../helpers/browser.ts';
import { Agent, text } from '../helpers/agent.ts';
import { rpConfig } from '../helpers/rp.ts';
import { AD, OPENLDAP, addEntry, haveSlapd, modifyEntry, startSlapd, type Slapd } from '../helpers/slapd.ts';

export function directorySuite(backend: Backend) {
  const skip =
    backend.skip ||
    (!haveSlapd()
      ? 'slapd is not installed (apt-get install -y slapd ldap-utils)'
      : haveChromium()
        ? false
        : 'Chromium is not installed (apt-get install -y chromium)');
  const test = (name: string, fn: () => Promise<void>) => nodeTest(`${backend.name}: ${name}`, { skip }, fn);

  let gh: TestServer;
  let ldap: Slapd;
  let browser: Browser;
  let rp: Awaited<ReturnType<typeof startTestRp>>;
  let config: oidc.Configuration;
  let redirectUri: string;
  let dirId: string;
  const T = '/tenants/default';
  const alice = { email: 'alice@example.test', password: 'alice-directory-pw' };
  const bob = { email: 'bob@example.test', password: 'bob-directory-pw' };
  const openldapSettings = () => ({ kind: 'openldap', urls: [ldap.url], startTls: false, allowPlain: true, bindDn: OPENLDAP.bindDn, baseDns: [OPENLDAP.base] });

  before(async () => {
    if (skip) return;
    [ldap, gh, browser] = await Promise.all([startSlapd(), startTestServer({}, { backend }), launch()]);
    const port = await freePort();
    redirectUri = `http://127.0.0.1:${port}/callback`;
    const a = await gh.api('POST', `${T}/apps`, { name: 'wiki', displayName: 'Team Wiki', type: 'web', redirectUris: [redirectUri] });
    rp = await startTestRp({ issuer: `${gh.base}/t/default`, clientId: a.body.clientId, clientSecret: a.body.clientSecret, port });
    config = await rpConfig(`${gh.base}/t/default`, a.body.clientId, a.body.clientSecret);
    // Deployed only to a synced OU and a synced group (resolved after the first sync).
    (globalThis as Record<string, unknown>).__wiki = a.body.clientId;
  });
  after(async () => {
    await browser?.close();
    await rp?.close();
    await gh?.close();
    ldap?.stop();
  });

  async function signInPage(who: { email: string; password: string }) {
    const agent = new Agent();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid email',
      state: 'st',
      code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
      code_challenge_method: 'S256',
    });
    try {
      await agent.signIn(url.href, redirectUri, who.email, who.password);
      return { ok: true, status: 200, message: '', agent };
    } catch {
      return { ok: false, status: agent.lastStatus, message: text(agent.lastBody), agent };
    }
  }

  test('test connection reports what it found, and explains bad settings', async () => {
    const plain = await gh.api('POST', `${T}/directories/test`, {
      settings: { ...openldapSettings(), allowPlain: false },
      bindPassword: OPENLDAP.bindPassword,
    });
    assert.equal(plain.status, 400);
    assert.match(plain.body.error.message, /unencrypted.*Use ldaps:\/\//);
    assert.doesNotMatch(plain.body.error.message, /allowPlain|startTls: false/, 'no advice to turn encryption off');
    const wrong = await gh.api('POST', `${T}/directories/test`, { settings: openldapSettings(), bindPassword: 'not-it' });
    assert.equal(wrong.status, 502);
    assert.match(wrong.body.error.message, /refused the bind DN .*Check the bind DN and password/);
    const ok = await gh.api('POST', `${T}/directories/test`, { settings: openldapSettings(), bindPassword: OPENLDAP.bindPassword });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.ok, true);
    assert.equal(ok.body.bases[0].users, 7);
    assert.equal(ok.body.bases[0].groups, 2);
    assert.match(ok.body.message, /found 7 users and 2 groups/);
    assert.ok(ok.body.bases[0].sample.some((s: { email: string }) => s.email === alice.email));
  });

  test('full sync: users with their OU and domain from the DN, groups and members; counts and errors in the API', async () => {
    const d = await gh.api('POST', `${T}/directories`, { name: 'Staff LDAP', settings: openldapSettings(), bindPassword: OPENLDAP.bindPassword });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    assert.equal(d.body.hasBindPassword, true);
    assert.equal(JSON.stringify(d.body).includes(OPENLDAP.bindPassword), false, 'the bind password is never shown');
    assert.equal(d.body.settings.attributes.externalId, 'entryUUID', 'OpenLDAP defaults');
    dirId = d.body.id;
    const run = await gh.api('POST', `${T}/directories/${dirId}/sync`, { mode: 'full', wait: true });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal(run.body.status, 'succeeded', run.body.message);
    assert.equal(run.body.users.seen, 7);
    assert.equal(run.body.users.created, 6);
    assert.equal(run.body.errorCount, 1);
    assert.match(run.body.errors[0].dn, /uid=nomail/);
    assert.match(run.body.errors[0].message, /no usable email/);
    const status = await gh.api('GET', `${T}/directories/${dirId}/sync`);
    assert.equal(status.body.running, null);
    assert.equal(status.body.runs[0].id, run.body.id);

    const a = (await gh.api('GET', `${T}/users/${alice.email}`)).body;
    assert.equal(a.givenName, 'Alice');
    assert.equal(a.ou, '/Staff/Sales/EMEA');
    assert.equal(a.domain, 'example.test');
    assert.deepEqual(a.groups.sort(), ['Engineers', 'Sales Team']);
    assert.equal(a.hasPassword, false, 'no password is stored for directory users');
    assert.equal((await gh.api('GET', `${T}/users/frank@example.test`)).body.status, 'disabled', 'an administrator lock (ppolicy) is a disabled account');
    assert.ok((await gh.api('GET', `${T}/ous`)).body.items.some((o: { path: string }) => o.path === '/Staff/Sales/EMEA'));
    assert.ok((await gh.api('GET', `${T}/domains`)).body.items.some((x: { name: string }) => x.name === 'example.test'));
  });

  test('browser sign-in with the directory password; deployment by a synced OU and group, a policy by a synced group', async () => {
    const clientId = (globalThis as Record<string, unknown>).__wiki as string;
    assert.equal((await gh.api('POST', `${T}/apps/${clientId}/deployment/targets`, { type: 'ou', ref: '/Staff/Sales' })).status, 200);
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${rp.base}/login`);
    await fillSignIn(page, alice);
    assert.equal(await page.locator('#user').textContent(), `Signed in as ${alice.email}`);
    // Bob is in no deployed OU: not deployed, until his synced group is.
    const refused = await signInPage(bob);
    assert.equal(refused.status, 403);
    assert.match(refused.message, /not been deployed/);
    assert.equal((await gh.api('POST', `${T}/apps/${clientId}/deployment/targets`, { type: 'group', ref: 'Engineers' })).status, 200);
    assert.equal((await signInPage(bob)).ok, true);
    // A policy targeting the synced group applies to its members.
    const p = await gh.api('POST', `${T}/policies`, {
      name: 'Engineers off',
      priority: 1,
      targets: [{ type: 'group', ref: 'Engineers' }],
      settings: { ssoEnabled: false },
    });
    assert.equal(p.status, 201);
    assert.equal((await gh.api('GET', `${T}/users/${bob.email}/policy`)).body.policy.name, 'Engineers off');
    const off = await signInPage(bob);
    assert.match(off.message, /Single sign-on is turned off/);
    assert.equal((await gh.api('DELETE', `${T}/policies/${p.body.id}`)).status, 204);
    // A wrong directory password is a wrong password.
    const wrong = await signInPage({ email: alice.email, password: 'not-her-password' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.message, /email or password is incorrect/);
  });

  test('locked, expired and must-change-password accounts get a clear message', async () => {
    const clientId = (globalThis as Record<string, unknown>).__wiki as string;
    await gh.api('PUT', `${T}/apps/${clientId}/deployment`, { all: true });
    const locked = await signInPage({ email: 'carol@example.test', password: 'carol-directory-pw' });
    assert.equal(locked.status, 403);
    assert.match(locked.message, /account is locked/);
    const reset = await signInPage({ email: 'dave@example.test', password: 'dave-directory-pw' });
    assert.match(reset.message, /must change your password/);
    const expired = await signInPage({ email: 'erin@example.test', password: 'erin-directory-pw' });
    assert.match(expired.message, /password has expired/);
    const disabled = await signInPage({ email: 'frank@example.test', password: 'frank-directory-pw' });
    assert.match(disabled.message, /disabled/i);
  });

  test('a wrong password for a locked or disabled directory account gets the usual "incorrect" answer: the account\'s state is told only after a right password', async () => {
    // carol: locked by ppolicy (pwdAccountLockedTime); frank: locked by an administrator (disabled).
    for (const email of ['carol@example.test', 'frank@example.test']) {
      const wrong = await signInPage({ email, password: 'not-the-password' });
      assert.equal(wrong.status, 401, `${email}: ${wrong.message}`);
      assert.match(wrong.message, /email or password is incorrect/);
      assert.doesNotMatch(wrong.message, /disabled|locked/i);
    }
    // The right password still says why (the previous test; checked again after the failures).
    assert.match((await signInPage({ email: 'frank@example.test', password: 'frank-directory-pw' })).message, /disabled/i);
  });

  test('a directory that accepts the connection but never answers is reported as a timeout, never as a refused StartTLS nor with advice to turn encryption off', async () => {
    const net = await import('node:net');
    const silent = net.createServer((sock) => {
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `ldap://127.0.0.1:${(silent.address() as import('node:net').AddressInfo).port}`;
      const r = await gh.api('POST', `${T}/directories/test`, {
        settings: { ...openldapSettings(), urls: [url], startTls: true, allowPlain: false, timeoutSeconds: 2 },
        bindPassword: OPENLDAP.bindPassword,
      });
      assert.equal(r.status, 502, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'directory_timeout', JSON.stringify(r.body));
      assert.match(r.body.error.message, /did not answer in time/);
      assert.doesNotMatch(r.body.error.message, /refused StartTLS|allowPlain|startTls: false/);
    } finally {
      silent.close();
    }
  });

  test('incremental sync picks up a change, a new user and a membership; a user disabled in the directory is refused and signed out', async () => {
    await modifyEntry(ldap.url, OPENLDAP, 'uid=bob,ou=Staff,dc=example,dc=test', { givenName: ['Robert'] });
    await addEntry(ldap.url, OPENLDAP, 'uid=nina,ou=Staff,dc=example,dc=test', {
      objectClass: 'inetOrgPerson',
      uid: 'nina',
      cn: 'Nina New',
      sn: 'New',
      mail: 'nina@example.test',
      userPassword: 'nina-directory-pw',
    });
    await modifyEntry(ldap.url, OPENLDAP, 'cn=Engineers,ou=Groups,dc=example,dc=test', {
      member: ['uid=bob,ou=Staff,dc=example,dc=test', 'uid=nina,ou=Staff,dc=example,dc=test'],
    });
    // Bob has a session in this agent.
    const bobs = await signInPage(bob);
    assert.equal(bobs.ok, true);
    const run = await gh.api('POST', `${T}/directories/${dirId}/sync`, { mode: 'incremental', wait: true });
    assert.equal(run.body.status, 'succeeded', run.body.message);
    assert.equal(run.body.mode, 'incremental');
    // (modifyTimestamp has one-second steps: entries changed in the mark's own second are read again; the AD test checks strictness with uSNChanged.)
    assert.equal((await gh.api('GET', `${T}/users/${bob.email}`)).body.givenName, 'Robert');
    assert.deepEqual((await gh.api('GET', `${T}/users/nina@example.test`)).body.groups, ['Engineers']);
    assert.deepEqual((await gh.api('GET', `${T}/users/${alice.email}`)).body.groups, ['Sales Team'], 'removed from Engineers in the directory');
    assert.equal((await signInPage({ email: 'nina@example.test', password: 'nina-directory-pw' })).ok, true);

    // Disabled in the directory (an administrator lock), then synced: refused, and the session no longer signs him in.
    const bobUser = (await gh.api('GET', `${T}/users/${bob.email}`)).body;
    assert.ok((await gh.services.sessionService.listForUser(bobUser.tenantId, bobUser.id)).length >= 1, 'bob has an SSO session');
    await modifyEntry(ldap.url, OPENLDAP, 'uid=bob,ou=Staff,dc=example,dc=test', { pwdAccountLockedTime: ['000001010000Z'] });
    const run2 = await gh.api('POST', `${T}/directories/${dirId}/sync`, { mode: 'incremental', wait: true });
    assert.equal(run2.body.users.disabled, 1, JSON.stringify(run2.body));
    assert.equal((await gh.api('GET', `${T}/users/${bob.email}`)).body.status, 'disabled');
    const audit = await gh.api('GET', `${T}/audit?type=directory.user_disabled`);
    assert.equal(audit.body.items.length, 1);
    assert.equal((await gh.services.sessionService.listForUser(bobUser.tenantId, bobUser.id)).length, 0, 'his sessions were ended');
    const ended = await gh.api('GET', `${T}/audit?type=session.ended`);
    assert.match(JSON.stringify(ended.body.items), /disabled in the directory Staff LDAP/);
    const again = await signInPage(bob);
    assert.equal(again.ok, false);
    assert.match(again.message, /disabled/i);
    // The existing browser session: the next authorization asks to sign in again (no silent SSO).
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      state: 's2',
      code_challenge: await oidc.calculatePKCECodeChallenge('w'.repeat(43)),
      code_challenge_method: 'S256',
    });
    assert.equal(await bobs.agent.follow(url.href, redirectUri), null, 'no silent sign-in for a disabled user');
    assert.match(text(bobs.agent.lastBody), /Email/);

    // Removed from the directory: the next full sync disables her.
    const { Client } = await import('ldapts');
    const c = new Client({ url: ldap.url });
    await c.bind(OPENLDAP.rootDn, OPENLDAP.rootPw);
    await c.del('uid=nina,ou=Staff,dc=example,dc=test');
    await c.unbind();
    const full = await gh.api('POST', `${T}/directories/${dirId}/sync`, { mode: 'full', wait: true });
    assert.equal(full.body.status, 'succeeded');
    assert.equal((await gh.api('GET', `${T}/users/nina@example.test`)).body.status, 'disabled');
  });

  test('Active Directory mapping: objectGUID, userPrincipalName as email fallback, memberOf, uSNChanged, account control', async () => {
    const d = await gh.api('POST', `${T}/directories`, {
      name: 'Corp AD',
      bindPassword: AD.bindPassword,
      settings: { kind: 'ad', urls: [ldap.url], startTls: false, allowPlain: true, bindDn: AD.bindDn, baseDns: [AD.base] },
    });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    assert.equal(d.body.settings.attributes.externalId, 'objectGUID');
    assert.equal(d.body.settings.attributes.changeMarker, 'uSNChanged');
    const run = await gh.api('POST', `${T}/directories/${d.body.id}/sync`, { mode: 'full', wait: true });
    assert.equal(run.body.status, 'succeeded', run.body.message);
    assert.equal(run.body.users.created, 4);
    const grace = (await gh.api('GET', `${T}/users/grace@corp.example`)).body;
    assert.equal(grace.ou, '/Finance');
    assert.equal(grace.domain, 'corp.example');
    assert.deepEqual(grace.groups, ['Finance Team']);
    const henry = (await gh.api('GET', `${T}/users/henry@corp.example`)).body;
    assert.equal(henry.familyName, 'Ford', 'no mail: the userPrincipalName is the email');
    assert.deepEqual(henry.groups, ['Finance Team']);
    assert.equal((await signInPage({ email: 'grace@corp.example', password: 'grace-ad-pw' })).ok, true);
    assert.match((await signInPage({ email: 'ivy@corp.example', password: 'ivy-ad-pw' })).message, /account is locked/);
    assert.match((await signInPage({ email: 'jack@corp.example', password: 'jack-ad-pw' })).message, /must change your password/);
    // userAccountControl's disabled bit, picked up by uSNChanged.
    await modifyEntry(ldap.url, AD, 'cn=Henry Ford,ou=Finance,dc=corp,dc=example', { userAccountControl: ['514'], uSNChanged: ['1010'] });
    const inc = await gh.api('POST', `${T}/directories/${d.body.id}/sync`, { mode: 'incremental', wait: true });
    assert.equal(inc.body.users.seen, 1);
    assert.equal((await gh.api('GET', `${T}/users/henry@corp.example`)).body.status, 'disabled');
  });

  test('someone not synced yet signs in: found by email (or userPrincipalName) in the directory, created as a sync would (OU, domain, groups), then bound', async () => {
    const { Client, Attribute, Change } = await import('ldapts');
    const c = new Client({ url: ldap.url });
    const oscar = 'uid=oscar,ou=EMEA,ou=Sales,ou=Staff,dc=example,dc=test';
    await c.bind(OPENLDAP.rootDn, OPENLDAP.rootPw);
    await c.add(oscar, {
      objectClass: 'inetOrgPerson',
      uid: 'oscar',
      cn: 'Oscar New',
      givenName: 'Oscar',
      sn: 'New',
      mail: 'Oscar.New@example.test',
      userPassword: 'oscar-directory-pw',
    });
    await c.modify(
      'cn=Sales Team,ou=Groups,dc=example,dc=test',
      new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [oscar] }) }),
    );
    await c.unbind();
    assert.equal((await gh.api('GET', `${T}/users/oscar.new@example.test`)).status, 404, 'not synced yet');
    const r = await signInPage({ email: 'oscar.new@example.test', password: 'oscar-directory-pw' });
    assert.equal(r.ok, true, r.message);
    const o = (await gh.api('GET', `${T}/users/oscar.new@example.test`)).body;
    assert.equal(o.givenName, 'Oscar');
    assert.equal(o.ou, '/Staff/Sales/EMEA');
    assert.equal(o.domain, 'example.test');
    assert.deepEqual(o.groups, ['Sales Team'], 'the groups whose member list has them');
    assert.equal(o.hasPassword, false);
    const found = await gh.api('GET', `${T}/audit?type=directory.user_found`);
    assert.match(JSON.stringify(found.body.items[0]), /Staff LDAP.*oscar\.new@example\.test/);

    // Active Directory: no mail, so the userPrincipalName is the email; groups from memberOf.
    const ad = new Client({ url: ldap.url });
    await ad.bind(AD.rootDn, AD.rootPw);
    await ad.add('cn=Kim New,ou=Finance,dc=corp,dc=example', [
      new Attribute({ type: 'objectClass', values: ['user'] }),
      new Attribute({ type: 'cn', values: ['Kim New'] }),
      new Attribute({ type: 'sn', values: ['New'] }),
      new Attribute({ type: 'sAMAccountName', values: ['knew'] }),
      new Attribute({ type: 'userPrincipalName', values: ['kim@corp.example'] }),
      new Attribute({ type: 'objectGUID', values: [Buffer.from('2e3a5f1b4d9c8a4e8f00000000000009', 'hex')] }),
      new Attribute({ type: 'userAccountControl', values: ['512'] }),
      new Attribute({ type: 'pwdLastSet', values: ['133000000000000000'] }),
      new Attribute({ type: 'uSNChanged', values: ['1030'] }),
      new Attribute({ type: 'memberOf', values: ['cn=Finance Team,ou=Groups,dc=corp,dc=example'] }),
      new Attribute({ type: 'userPassword', values: ['kim-ad-pw'] }),
    ]);
    await ad.unbind();
    // A wrong password: found and created as a sync would, but refused like any wrong password.
    const wrong = await signInPage({ email: 'kim@corp.example', password: 'not-kims-password' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.message, /email or password is incorrect/);
    assert.equal((await signInPage({ email: 'kim@corp.example', password: 'kim-ad-pw' })).ok, true);
    const k = (await gh.api('GET', `${T}/users/kim@corp.example`)).body;
    assert.equal(k.ou, '/Finance');
    assert.deepEqual(k.groups, ['Finance Team']);

    // In no directory: incorrect, and nobody is created.
    const nobody = await signInPage({ email: 'nobody@example.test', password: 'whatever-it-is' });
    assert.equal(nobody.status, 401);
    assert.equal((await gh.api('GET', `${T}/users/nobody@example.test`)).status, 404);
  });
}
