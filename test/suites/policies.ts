// User policies: precedence (the first by priority whose target matches), MFA required
// (always, outside trusted networks), single sign-on turned off, validation; in Chromium and
// through the admin API.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, freePort, type Backend, type TestServer } from '../helpers/server.ts';
import { startTestRp } from '../helpers/test-rp.ts';
import { fillSignIn, haveChromium, launch } from '../helpers/browser.ts';

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
  const a = await gh.api('POST', '/tenants/default/apps', { name: 'crm', displayName: 'Customer CRM', type: 'web', redirectUris: [`http://127.0.0.1:${port}/callback`] });
  await gh.api('PUT', `/tenants/default/apps/${a.body.clientId}/deployment`, { all: true });
  rp = await startTestRp({ issuer: `${gh.base}/t/default`, clientId: a.body.clientId, clientSecret: a.body.clientSecret, port });
});
after(async () => { await browser?.close(); await rp?.close(); await gh?.close(); });

async function signIn(who: { email: string; password: string }): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${rp.base}/login`);
  await fillSignIn(page, who);
  return page;
}

test('precedence: the first policy by priority whose target matches applies, and the API shows the order and each user\'s policy', async () => {
  const everyone = await gh.api('POST', '/tenants/default/policies', { name: 'Everyone', priority: 100, targets: [{ type: 'all' }], settings: { mfa: { required: 'outside_trusted_networks', trustedNetworks: ['127.0.0.0/8', '::1/128'] } } });
  assert.equal(everyone.status, 201, JSON.stringify(everyone.body));
  const fin = await gh.api('POST', '/tenants/default/policies', { name: 'Finance needs MFA', priority: 10, targets: [{ type: 'group', ref: 'Finance' }], settings: { mfa: { required: 'always' } } });
  assert.equal(fin.status, 201, JSON.stringify(fin.body));
  ids.everyone = everyone.body.id; ids.fin = fin.body.id;
  assert.deepEqual(fin.body.targets.map((t: { label: string }) => t.label), ['Finance']);
  const list = await gh.api('GET', '/tenants/default/policies');
  assert.deepEqual(list.body.items.map((p: { name: string }) => p.name), ['Finance needs MFA', 'Everyone']);
  assert.match(list.body.precedence, /first policy, by priority/);
  assert.equal((await gh.api('GET', `/tenants/default/users/${finance.email}/policy`)).body.policy.name, 'Finance needs MFA');
  assert.equal((await gh.api('GET', `/tenants/default/users/${staff.email}/policy`)).body.policy.name, 'Everyone');
  const bad = await gh.api('POST', '/tenants/default/policies', { name: 'Bad', priority: 5, targets: [{ type: 'all' }], settings: { mfa: { required: 'outside_trusted_networks', trustedNetworks: ['10.0.0.300/8'] } } });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /10\.0\.0\.0\/8/);
  assert.equal((await gh.api('POST', '/tenants/default/policies', { name: 'Everyone', priority: 5 })).status, 409);
});

test('MFA required: always for the Finance group (no authenticator yet: told to set one up); a trusted network lets others in with a password, an untrusted one does not', async () => {
  const f = await signIn(finance);
  assert.equal(await f.locator('h1').textContent(), 'Two-step verification needed');

  const s = await signIn(staff);
  assert.equal(await s.locator('#user').textContent(), `Signed in as ${staff.email}`, 'inside the trusted network: password only');

  const v = (await gh.api('GET', `/tenants/default/policies/${ids.everyone}`)).body.version;
  assert.equal((await gh.api('PATCH', `/tenants/default/policies/${ids.everyone}`, { settings: { mfa: { required: 'outside_trusted_networks', trustedNetworks: ['10.0.0.0/8'] } }, version: v })).status, 200);
  // The existing SSO session (password only) no longer suffices from outside the network.
  await s.goto(`${rp.base}/login`);
  assert.equal(await s.locator('h1').textContent(), 'Two-step verification needed');
});

test('single sign-on turned off by policy: the sign-in is refused with a page that says so', async () => {
  const off = await gh.api('POST', '/tenants/default/policies', { name: 'Sam off', priority: 1, targets: [{ type: 'user', ref: staff.email }], settings: { ssoEnabled: false } });
  assert.equal(off.status, 201);
  const page = await signIn(staff);
  assert.equal(await page.locator('h1').textContent(), 'Single sign-on is turned off for your account');
  const log = await gh.api('GET', '/tenants/default/audit?type=signin.failed&text=sso_disabled');
  assert.ok(log.body.items.length >= 1);
  assert.equal((await gh.api('DELETE', `/tenants/default/policies/${off.body.id}`)).status, 204);
  assert.equal((await gh.api('GET', `/tenants/default/users/${staff.email}/policy`)).body.policy.name, 'Everyone');
});
}
