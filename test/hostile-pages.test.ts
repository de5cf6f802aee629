// Hostile values in user-controlled fields reach the sign-in, launcher and account pages only
// escaped: an administrator's app display name, a user's name, a login_hint, an upstream's name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { startTestServer, freePort, LOOPBACK_OUTBOUND, type TestServer } from './helpers/server.ts';
import { startUpstream, type TestUpstream } from './helpers/upstream.ts';
import { Agent } from './helpers/agent.ts';
import { rpConfig } from './helpers/rp.ts';

const hostile = `"><img src=x onerror=alert(1)><script>alert(2)</script>javascript:alert(3)`;
// What must never appear in a page: markup or an attribute break-out from the hostile value.
const raw = /<img src=x|<script>alert|onerror=alert|"><img/;

let gh: TestServer;
let app: { clientId: string; clientSecret: string };
let RP: string;
let upstream: TestUpstream | undefined;
const user = { email: 'mallory@example.test', password: 'mallory-password-1' };

before(async () => {
  // The upstream directory runs on this machine: allowed explicitly.
  gh = await startTestServer(LOOPBACK_OUTBOUND);
  RP = `http://127.0.0.1:${await freePort()}/callback`;
  const r = await gh.api('POST', '/tenants/default/apps', { name: 'hostile', displayName: hostile, type: 'web', redirectUris: [RP] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  app = r.body;
  const u = await gh.api('POST', '/tenants/default/users', { ...user, givenName: hostile, familyName: hostile });
  assert.equal(u.status, 201, JSON.stringify(u.body));
  await gh.api('POST', `/tenants/default/apps/${app.clientId}/deployment/targets`, { type: 'user', ref: user.email });
});
after(async () => {
  await upstream?.stop();
  await gh?.close();
});

test('an app display name and a login_hint reach the sign-in page only escaped', async () => {
  const config = await rpConfig(`${gh.base}/t/default`, app.clientId, app.clientSecret);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: RP,
    scope: 'openid',
    state: 's',
    login_hint: hostile,
    code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
    code_challenge_method: 'S256',
  });
  const agent = new Agent();
  assert.equal(await agent.follow(url.href, RP), null);
  assert.match(agent.lastBody, /to continue to <strong>&#34;&#62;&#60;img src&#61;x onerror&#61;alert\(1\)/);
  assert.doesNotMatch(agent.lastBody, raw);
  // The password page shows the email typed (a hostile one is refused with a message, escaped too).
  const f = agent.form();
  await agent.follow(f.action, RP, { method: 'POST', form: { ...f.fields, email: hostile } });
  assert.doesNotMatch(agent.lastBody, raw);
});

test("a user's own name reaches the launcher and account pages only escaped", async () => {
  const agent = new Agent();
  const config = await rpConfig(`${gh.base}/t/default`, app.clientId, app.clientSecret);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: RP,
    scope: 'openid',
    state: 's',
    code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
    code_challenge_method: 'S256',
  });
  assert.ok(await agent.signIn(url.href, RP, user.email, user.password));
  // Both pages sign in through their own clients: the SSO session makes that silent.
  for (const path of ['/t/default/launcher', '/t/default/account']) {
    assert.equal(await agent.follow(`${gh.base}${path}`, 'no-stop:'), null);
    assert.equal(agent.lastStatus, 200, `${path}: ${agent.lastBody.slice(0, 200)}`);
    assert.doesNotMatch(agent.lastBody, raw, path);
    assert.match(agent.lastBody, /mallory@example\.test/, path);
  }
});

test('an upstream directory name reaches the sign-in pages only escaped', async () => {
  upstream = await startUpstream({ name: 'Upstream', redirectUri: `${gh.base}/t/default/federation/callback`, accounts: [] });
  const up = await gh.api('POST', '/tenants/default/upstreams', {
    name: hostile.slice(0, 100),
    type: 'oidc',
    authorityUrl: upstream.issuer,
    clientId: upstream.clientId,
    clientSecret: upstream.clientSecret,
    mode: 'enabled',
    showButton: true,
    domains: ['upstream.test'],
  });
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const config = await rpConfig(`${gh.base}/t/default`, app.clientId, app.clientSecret);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: RP,
    scope: 'openid',
    state: 's',
    code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
    code_challenge_method: 'S256',
  });
  const agent = new Agent();
  assert.equal(await agent.follow(url.href, RP), null);
  // Its button on the identifier page.
  assert.match(agent.lastBody, /Sign in with &#34;&#62;&#60;img/);
  assert.doesNotMatch(agent.lastBody, raw);
});
