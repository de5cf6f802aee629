// Read your own writes: every node keeps copies of what sign-ins read (a tenant's engine with
// its branding, app profiles, upstream directories, user policies), dropped when they change.
// The node that saved a change must serve it to the very next request, whatever the change
// notices do (they are asynchronous on PostgreSQL + Redis, and slow on a busy machine).
//
// To show that nothing relies on notices arriving fast, this suite holds every notice back
// (holdNotices, a test-only hook in src/ops/bus.ts): a node that only forgot its copy when its
// own notice came back would serve the old value here every time, not once in a while. Each
// check writes through the admin API and reads straight after on the same node, several
// times in a row (bounded), so that a race would show.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, LOOPBACK_OUTBOUND, type Backend, type TestServer } from '../helpers/server.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { Agent } from '../helpers/agent.ts';
import { holdNotices } from '../../src/ops/bus.ts';

const ROUNDS = 5;

export function readOwnWritesSuite(backend: Backend) {
  const test = (name: string, fn: () => Promise<void>) => nodeTest(`${backend.name}: ${name}`, { skip: backend.skip }, fn);

  let gh: TestServer;
  let upstream: TestUpstream;
  let app: { clientId: string; clientSecret: string };
  const callback = (i: number) => `https://app.example.test/callback/${i}`;
  const issuer = () => `${gh.base}/t/default`;
  const authUrl = (redirectUri: string) =>
    `${issuer()}/auth?client_id=${app.clientId}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(redirectUri)}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256&state=s`;

  /** A fresh sign-in's email page (the identifier page) for the app, as a visitor sees it. */
  async function emailPage(redirectUri = callback(0)): Promise<{ status: number; html: string }> {
    const agent = new Agent();
    const left = await agent.follow(authUrl(redirectUri), 'https://app.example.test/');
    assert.equal(left, null, 'the sign-in stays at Gatehouse');
    return { status: agent.lastStatus, html: agent.lastBody };
  }

  before(async () => {
    if (backend.skip) return;
    gh = await startTestServer(LOOPBACK_OUTBOUND, { backend });
    const created = await gh.api('POST', '/tenants/default/apps', { name: 'crm', displayName: 'Customer CRM', type: 'web', redirectUris: [callback(0)] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    app = created.body;
    assert.equal((await gh.api('PUT', `/tenants/default/apps/${app.clientId}/deployment`, { all: true })).status, 200);
    upstream = await startUpstream({ name: 'Contoso ID', redirectUri: `${issuer()}/federation/callback`, accounts: [] });
    // Every read below has warmed the caches before the write it checks: held notices from here on.
    holdNotices.ms = 1500;
  });
  after(async () => {
    holdNotices.ms = 0;
    await upstream?.stop();
    await gh?.close();
  });

  test("branding (the tenant's engine): the sign-in page shows a saved colour at once", async () => {
    let version = (await gh.api('GET', '/tenants/default/branding')).body.version as number;
    for (let i = 0; i < ROUNDS; i++) {
      assert.match((await emailPage()).html, /<h1>/, 'the page is cached with the current branding');
      const colour = `#1234${(50 + i).toString(16).padStart(2, '0')}`;
      const saved = await gh.api('PATCH', '/tenants/default/branding', { backgroundColor: colour, version });
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
      version = saved.body.version;
      const page = await emailPage();
      const href = /<link rel="stylesheet" href="([^"]*branding\.css[^"]*)">/
        .exec(page.html)?.[1]
        ?.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));
      assert.equal(href, `/t/default/branding.css?v=${version}`, `round ${i}: the sign-in page links the saved branding`);
      assert.equal(await (await fetch(gh.base + href)).text(), `body { background: ${colour}; }\n`);
    }
  });

  test('app profiles: a redirect URI saved is accepted at once, and the one removed refused at once', async () => {
    let version = (await gh.api('GET', `/tenants/default/apps/${app.clientId}`)).body.version as number;
    for (let i = 1; i <= ROUNDS; i++) {
      assert.equal((await emailPage(callback(i - 1))).status, 200, 'the profile is cached with the current redirect URI');
      const saved = await gh.api('PATCH', `/tenants/default/apps/${app.clientId}`, { redirectUris: [callback(i)], version });
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
      version = saved.body.version;
      assert.equal((await emailPage(callback(i))).status, 200, `round ${i}: the new redirect URI is accepted`);
      const old = await emailPage(callback(i - 1));
      assert.equal(old.status, 400, `round ${i}: the removed redirect URI is refused`);
      assert.match(old.html, /not registered/);
    }
    const reset = await gh.api('PATCH', `/tenants/default/apps/${app.clientId}`, { redirectUris: [callback(0)], version });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
  });

  test("upstream directories: a renamed upstream's button shows the new name at once", async () => {
    const created = await gh.api('POST', '/tenants/default/upstreams', {
      name: 'Contoso 0',
      type: 'oidc',
      authorityUrl: upstream.issuer,
      clientId: upstream.clientId,
      clientSecret: upstream.clientSecret,
      mode: 'enabled',
      showButton: true,
      domains: ['contoso.test'],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    let version = created.body.version as number;
    for (let i = 1; i <= ROUNDS; i++) {
      assert.match((await emailPage()).html, new RegExp(`Sign in with Contoso ${i - 1}<`), 'the upstreams are cached');
      const saved = await gh.api('PATCH', `/tenants/default/upstreams/${created.body.id}`, { name: `Contoso ${i}`, version });
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
      version = saved.body.version;
      const html = (await emailPage()).html;
      assert.match(html, new RegExp(`Sign in with Contoso ${i}<`), `round ${i}: the button shows the new name`);
      assert.doesNotMatch(html, new RegExp(`Contoso ${i - 1}<`));
    }
    assert.equal((await gh.api('DELETE', `/tenants/default/upstreams/${created.body.id}`)).status, 204);
    assert.doesNotMatch((await emailPage()).html, /Sign in with Contoso/, "a deleted upstream's button is gone at once");
  });

  test('user policies: a setting saved is read back at once, and the next change keeps it', async () => {
    const created = await gh.api('POST', '/tenants/default/policies', { name: 'Everyone', priority: 1, targets: [{ type: 'all' }], settings: {} });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    let version = created.body.version as number;
    for (let i = 1; i <= ROUNDS; i++) {
      assert.equal((await gh.api('GET', `/tenants/default/policies/${created.body.id}`)).status, 200, 'the policies are cached');
      const threshold = 5 + i;
      const first = await gh.api('PATCH', `/tenants/default/policies/${created.body.id}`, {
        settings: { lockout: { threshold, durationMinutes: 15 } },
        version,
      });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const read = await gh.api('GET', `/tenants/default/policies/${created.body.id}`);
      assert.equal(read.body.settings.lockout.threshold, threshold, `round ${i}: the saved threshold is read back`);
      // A second change merges into the settings as saved, not into a stale copy (which would undo the first).
      const second = await gh.api('PATCH', `/tenants/default/policies/${created.body.id}`, {
        settings: { sessionLifetimeMinutes: 60 + i },
        version: first.body.version,
      });
      assert.equal(second.status, 200, JSON.stringify(second.body));
      version = second.body.version;
      const both = (await gh.api('GET', `/tenants/default/policies/${created.body.id}`)).body.settings;
      assert.deepEqual([both.lockout.threshold, both.sessionLifetimeMinutes], [threshold, 60 + i], `round ${i}: both changes kept`);
    }
  });
}
