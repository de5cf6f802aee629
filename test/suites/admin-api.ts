// What the admin API's newer endpoints do for the console, on each backend: branding that the
// sign-in page shows (in Chromium), 10,000 users paged and searched, groups and OUs, audit
// filters and exports, SSO sessions listed and ended (with back-channel logout), the overview
// with its certificate alerts, registered app certificates, /me and a user's factors.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { ADMIN, startTestServer, type Backend, type TestServer, LOOPBACK_OUTBOUND } from '../helpers/server.ts';
import { Agent } from '../helpers/agent.ts';
import { backchannelReceiver, codeFlow, rpConfig } from '../helpers/rp.ts';
import { fillSignIn, haveChromium, launch } from '../helpers/browser.ts';
import { dataUrl, png } from '../helpers/png.ts';
import { jwkWithCertificate } from '../helpers/certs.ts';
import { csvCell } from '../../src/audit/export.ts';
import { newId } from '../../src/shared/crypto.ts';

export function adminApiSuite(backend: Backend) {
  const test = (name: string, fn: () => Promise<void>) => nodeTest(`${backend.name}: ${name}`, { skip: backend.skip }, fn);
  const RP = 'https://app.example.test/cb';
  const DAY = 86400_000;

  let gh: TestServer;
  let bcl: Awaited<ReturnType<typeof backchannelReceiver>>;
  let web: { clientId: string; clientSecret: string };
  let tenantId: string;

  const token = async (email: string, password: string) => {
    const r = await fetch(`${gh.base}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    return ((await r.json()) as { access_token: string }).access_token;
  };
  const raw = async (p: string) => fetch(`${gh.base}/api/v1${p}`, { headers: { authorization: `Bearer ${await gh.adminToken()}` } });

  before(async () => {
    if (backend.skip) return;
    // Its upstreams / back-channel logout receivers run on this machine: allowed explicitly.
    gh = await startTestServer(LOOPBACK_OUTBOUND, { backend });
    bcl = await backchannelReceiver();
    tenantId = (await gh.services.tenantStore.bySlug('default'))!.id;
    const a = await gh.api('POST', '/tenants/default/apps', {
      name: 'crm',
      displayName: 'Customer CRM',
      type: 'web',
      redirectUris: [RP],
      backchannelLogoutUri: bcl.url,
    });
    web = { clientId: a.body.clientId, clientSecret: a.body.clientSecret };
    await gh.api('PUT', `/tenants/default/apps/${web.clientId}/deployment`, { all: true });
  });
  after(async () => {
    await bcl?.close();
    await gh?.close();
  });

  /** The first page of a sign-in to the CRM: where branding shows. */
  async function signInPage(agent = new Agent()): Promise<{ agent: Agent; url: string }> {
    const config = await rpConfig(`${gh.base}/t/default`, web.clientId, web.clientSecret);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid',
      state: 's',
      code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
      code_challenge_method: 'S256',
    });
    assert.equal(await agent.follow(url.href, RP), null);
    return { agent, url: url.href };
  }

  test("branding: colour and logo are checked, saved with the tenant's version, and the sign-in and account pages use them at once", async () => {
    const before = await gh.api('GET', '/tenants/default/branding');
    assert.deepEqual({ ...before.body, version: 0 }, { backgroundColor: null, logo: null, defaultLocale: 'en', sessionLifetimeMinutes: 120, version: 0 });
    const plain = await signInPage();
    assert.doesNotMatch(plain.agent.lastBody, /branding/);

    // Refusals name the field or the limit, and change nothing.
    const badColour = await gh.api('PATCH', '/tenants/default/branding', { backgroundColor: 'blue' });
    assert.equal(badColour.status, 400);
    assert.match(badColour.body.error.message, /backgroundColor: must be a hexadecimal colour/);
    const heavy = await gh.api('PATCH', '/tenants/default/branding', { logo: dataUrl(png(100, 100, 300 * 1024)) });
    assert.equal(heavy.status, 400);
    assert.match(heavy.body.error.message, /The logo is 300 KB; it may be at most 250 KB/);
    const wide = await gh.api('PATCH', '/tenants/default/branding', { logo: dataUrl(png(400, 300)) });
    assert.equal(wide.status, 400);
    assert.match(wide.body.error.message, /400 x 300 pixels; it may be at most 200 x 150/);
    const svg = await gh.api('PATCH', '/tenants/default/branding', {
      logo: `data:image/svg+xml;base64,${Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>').toString('base64')}`,
    });
    assert.match(svg.body.error.message, /PNG, GIF or JPG/);
    for (const minutes of [15, 5761, -1])
      assert.equal((await gh.api('PATCH', '/tenants/default/branding', { sessionLifetimeMinutes: minutes })).status, 400, `${minutes} minutes`);
    assert.equal((await gh.api('GET', '/tenants/default/branding')).body.version, before.body.version, 'refused changes changed nothing');

    const logo = png(120, 60);
    const saved = await gh.api('PATCH', '/tenants/default/branding', {
      backgroundColor: '#0B3D91',
      logo: dataUrl(logo),
      sessionLifetimeMinutes: 240,
      version: before.body.version,
    });
    assert.equal(saved.status, 200);
    assert.equal(saved.body.backgroundColor, '#0b3d91');
    assert.equal(saved.body.sessionLifetimeMinutes, 240);
    assert.equal(saved.body.version, before.body.version + 1);
    assert.equal((await gh.api('GET', '/tenants/default')).body.sessionLifetimeMinutes, 240, "the tenant's session lifetime");
    const audit = await gh.api('GET', '/tenants/default/audit?type=admin.branding.updated');
    assert.equal(audit.body.items[0].actor, 'admin@example.test');

    const { agent } = await signInPage();
    const css = /<link rel="stylesheet" href="([^"]*branding\.css[^"]*)"/.exec(agent.lastBody)?.[1];
    // The logo is named by the organization (its alt text), for screen readers.
    const img = /<img class="logo" alt="Default organization" src="([^"]*)"/.exec(agent.lastBody)?.[1];
    assert.ok(css && img, 'the page links the stylesheet and the logo');
    assert.equal(await (await fetch(gh.base + css.replace(/&#61;/g, '='))).text(), 'body { background: #0b3d91; }\n');
    const served = await fetch(gh.base + img.replace(/&#61;/g, '='));
    assert.equal(served.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), logo);

    if (haveChromium() && backend.name === 'sqlite') {
      // In a real browser, under the pages' strict CSP: the colour applies and the logo loads, without
      // errors. (Once: what the browser does with the page does not depend on the store.)
      const browser = await launch();
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
        });
        page.on('response', (r) => {
          if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`${r.status()} ${r.url()}`);
        });
        await page.goto((await signInPage()).url);
        assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(11, 61, 145)');
        assert.equal(await page.locator('img.logo').evaluate((el) => (el as HTMLImageElement).naturalWidth), 120);
        // The user's own account page is the organization's too.
        await page.goto(`${gh.base}/t/default/account`);
        await fillSignIn(page, ADMIN);
        assert.equal(await page.locator('h1').textContent(), 'Your account');
        assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(11, 61, 145)');
        assert.equal(await page.locator('img.logo').evaluate((el) => (el as HTMLImageElement).naturalWidth), 120);
        assert.deepEqual(errors, []);
      } finally {
        await browser.close();
      }
    }

    // Removing them restores Gatehouse's own look.
    await gh.api('PATCH', '/tenants/default/branding', { backgroundColor: null, logo: null, sessionLifetimeMinutes: 120 });
    assert.doesNotMatch((await signInPage()).agent.lastBody, /branding/);
  });

  test('users: 10,000 are paged through in email order without gaps or repeats, and search finds by email or full name', async () => {
    const now = Date.now();
    const given = ['Ann', 'Bob', 'Carla', 'Dev', 'Emil', 'Fatima', 'Gus', 'Hana'];
    const rows = Array.from({ length: 10_000 }, (_, i) => ({
      id: newId('usr_'),
      tenant_id: tenantId,
      email: `user${String(i).padStart(5, '0')}@bulk.example.test`,
      domain: 'bulk.example.test',
      given_name: i === 4242 ? 'Zelda' : given[i % given.length]!,
      family_name: i === 4242 ? 'Quartermaine' : `Family${i % 100}`,
      password_hash: null,
      status: 'active' as const,
      ou_id: null,
      roles: '[]',
      upstream_id: null,
      created_at: now,
      updated_at: now,
      version: 1,
    }));
    for (let i = 0; i < rows.length; i += 500)
      await gh.services.database.db
        .insertInto('users')
        .values(rows.slice(i, i + 500))
        .execute();

    const seen: string[] = [];
    let cursor: string | null | undefined = null;
    let pages = 0;
    do {
      const r: { status: number; body: any } = await gh.api('GET', `/tenants/default/users?search=bulk.example&limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200);
      seen.push(...r.body.items.map((u: any) => u.email));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 50);
    assert.equal(seen.length, 10_000);
    assert.equal(new Set(seen).size, 10_000, 'no repeats');
    assert.deepEqual(seen, [...seen].sort(), 'email order');

    assert.deepEqual(
      (await gh.api('GET', '/tenants/default/users?search=zelda quarter')).body.items.map((u: any) => u.email),
      ['user04242@bulk.example.test'],
      'full name',
    );
    assert.deepEqual(
      (await gh.api('GET', '/tenants/default/users?search=QUARTERMAINE')).body.items.map((u: any) => u.email),
      ['user04242@bulk.example.test'],
      'family name, any case',
    );
    assert.deepEqual(
      (await gh.api('GET', '/tenants/default/users?search=user09999@')).body.items.map((u: any) => u.email),
      ['user09999@bulk.example.test'],
      'email',
    );
    const fam = await gh.api('GET', '/tenants/default/users?search=family7&limit=5');
    assert.equal(fam.body.items.length, 5);
    assert.ok(fam.body.nextCursor);
    assert.equal((await gh.api('GET', '/tenants/default/users?search=nobody-at-all')).body.items.length, 0);
    const badCursor = await gh.api('GET', '/tenants/default/users?cursor=forged!');
    assert.equal(badCursor.status, 400);
    assert.match(badCursor.body.error.message, /cursor/);
    assert.equal((await gh.api('GET', '/tenants/default/overview')).body.counts.users >= 10_000, true);
  });

  test('groups: show, rename with a version, members paged and searched, delete takes its deployments with it', async () => {
    const g = await gh.api('POST', '/tenants/default/groups', { name: 'Ward 7', description: 'night shift' });
    assert.equal(g.status, 201);
    for (let i = 0; i < 7; i++) await gh.api('POST', '/tenants/default/users', { email: `w7-${i}@example.test`, groups: ['Ward 7'] });
    const shown = await gh.api('GET', '/tenants/default/groups/Ward 7'.replace(' ', '%20'));
    assert.equal(shown.body.memberCount, 7);
    const renamed = await gh.api('PATCH', `/tenants/default/groups/${g.body.id}`, { name: 'Ward Seven', version: g.body.version });
    assert.equal(renamed.body.name, 'Ward Seven');
    assert.equal((await gh.api('PATCH', `/tenants/default/groups/${g.body.id}`, { name: 'Stale', version: g.body.version })).status, 409);
    assert.equal((await gh.api('POST', '/tenants/default/groups', { name: 'Ward Seven' })).status, 409, 'names stay unique');

    const first = await gh.api('GET', `/tenants/default/groups/${g.body.id}/members?limit=4`);
    const second = await gh.api('GET', `/tenants/default/groups/${g.body.id}/members?limit=4&cursor=${first.body.nextCursor}`);
    assert.deepEqual(
      [...first.body.items, ...second.body.items].map((u: any) => u.email),
      Array.from({ length: 7 }, (_, i) => `w7-${i}@example.test`),
    );
    assert.equal(second.body.nextCursor, null);
    assert.deepEqual(
      (await gh.api('GET', `/tenants/default/groups/${g.body.id}/members?search=w7-3`)).body.items.map((u: any) => u.email),
      ['w7-3@example.test'],
    );
    const list = await gh.api('GET', '/tenants/default/groups?search=seven');
    assert.deepEqual(
      list.body.items.map((x: any) => [x.name, x.memberCount]),
      [['Ward Seven', 7]],
    );

    await gh.api('PUT', `/tenants/default/apps/${web.clientId}/deployment`, { all: false, targets: [{ type: 'group', ref: 'Ward Seven' }] });
    assert.equal((await gh.api('DELETE', `/tenants/default/groups/${g.body.id}`)).status, 204);
    assert.equal((await gh.api('GET', `/tenants/default/groups/${g.body.id}`)).status, 404);
    const app = await gh.api('GET', `/tenants/default/apps/${web.clientId}`);
    assert.deepEqual(app.body.deployment.targets, [], 'the deployment to the group went with it');
    assert.equal(app.body.deployed, false);
    assert.deepEqual((await gh.api('GET', '/tenants/default/users/w7-0@example.test')).body.groups, []);
    await gh.api('PUT', `/tenants/default/apps/${web.clientId}/deployment`, { all: true });
  });

  test('OUs: an OU with users or sub-OUs is not deleted (409); an empty one is, by id or path', async () => {
    await gh.api('POST', '/tenants/default/users', { email: 'ou-user@example.test', ou: '/Region/North' });
    const region = (await gh.api('GET', '/tenants/default/ous?search=region')).body.items;
    assert.deepEqual(
      region.map((o: any) => o.path),
      ['/Region', '/Region/North'],
    );
    const parent = await gh.api('DELETE', `/tenants/default/ous/${region[0].id}`);
    assert.equal(parent.status, 409);
    assert.match(parent.body.error.message, /0 user\(s\) and 1 sub-OU\(s\)/);
    assert.equal((await gh.api('DELETE', `/tenants/default/ous/${encodeURIComponent('/Region/North')}`)).status, 409);
    await gh.api('PATCH', '/tenants/default/users/ou-user@example.test', { ou: null });
    assert.equal((await gh.api('DELETE', `/tenants/default/ous/${encodeURIComponent('/Region/North')}`)).status, 204);
    assert.equal((await gh.api('DELETE', `/tenants/default/ous/${region[0].id}`)).status, 204);
    assert.equal((await gh.api('GET', '/tenants/default/ous?search=region')).body.items.length, 0);
    assert.equal((await gh.api('DELETE', `/tenants/default/ous/${region[0].id}`)).status, 404);
  });

  test("SSO sessions: listed with user, device, IP and apps; helpdesk ends one (back-channel logout) or all of a user's", async () => {
    const nina = { email: 'nina@example.test', password: 'nina-password-1' };
    await gh.api('POST', '/tenants/default/users', nina);
    await gh.api('POST', '/tenants/default/users', { email: 'desk@example.test', password: 'desk-password-1', roles: ['helpdesk'] });
    const desk = await token('desk@example.test', 'desk-password-1');
    const config = await rpConfig(`${gh.base}/t/default`, web.clientId, web.clientSecret);
    const laptop = new Agent();
    const { tokens } = await codeFlow(config, laptop, { redirectUri: RP, ...nina });
    await codeFlow(config, new Agent(), { redirectUri: RP, ...nina });
    await codeFlow(config, new Agent(), { redirectUri: RP, ...nina });

    const mine = await gh.api('GET', `/tenants/default/users/${nina.email}/sessions`, undefined, desk);
    assert.equal(mine.status, 200);
    assert.equal(mine.body.items.length, 3);
    const s = mine.body.items[0];
    assert.equal(s.email, nina.email);
    assert.equal(s.ip, '127.0.0.1');
    assert.deepEqual(s.apps, [{ clientId: web.clientId, name: 'Customer CRM' }]);
    assert.equal(typeof s.device, 'string');
    assert.ok(s.startedAt <= s.lastSeenAt && s.expiresAt > Date.now());
    const all = await gh.api('GET', `/tenants/default/sessions?user=${nina.email}&limit=2`, undefined, desk);
    assert.equal(all.body.items.length, 2);
    const rest = await gh.api('GET', `/tenants/default/sessions?user=${nina.email}&limit=2&cursor=${all.body.nextCursor}`, undefined, desk);
    assert.equal(rest.body.items.length, 1);
    assert.deepEqual((await gh.api('GET', '/tenants/default/sessions?search=nina@')).body.items.length, 3, 'search by email');
    assert.equal((await gh.api('GET', '/tenants/default/overview')).body.counts.activeSessions >= 3, true);

    // Ending the laptop's session: the CRM hears of it, the refresh token stops working.
    const laptopSession = mine.body.items.find((x: any) => x.lastSeenAt === Math.min(...mine.body.items.map((y: any) => y.lastSeenAt)))!;
    bcl.received.length = 0;
    assert.equal((await gh.api('DELETE', `/tenants/default/sessions/${laptopSession.id}`, undefined, desk)).status, 204);
    await bcl.next();
    assert.equal(bcl.received.length, 1);
    assert.equal(jose.decodeJwt(bcl.received[0]!).sub, (await gh.api('GET', `/tenants/default/users/${nina.email}`)).body.id);
    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), (e: any) => e.error === 'invalid_grant');
    assert.equal((await gh.api('DELETE', `/tenants/default/sessions/${laptopSession.id}`, undefined, desk)).status, 404, 'already ended');
    const ended = await gh.api('GET', '/tenants/default/audit?type=session.ended&user=nina@example.test');
    assert.equal(ended.body.items[0].actor, 'desk@example.test');

    const rest2 = await gh.api('DELETE', `/tenants/default/users/${nina.email}/sessions`, undefined, desk);
    assert.deepEqual(rest2.body, { ended: 2 });
    assert.deepEqual((await gh.api('GET', `/tenants/default/users/${nina.email}/sessions`)).body.items, []);
  });

  test('audit: filters by user, app, level, text and time; exports the same events as CSV and JSON', async () => {
    await gh.api('POST', '/tenants/default/users', { email: 'olga@example.test', password: 'olga-password-1' });
    const since = Date.now();
    for (let i = 0; i < 3; i++)
      await fetch(`${gh.base}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'olga@example.test', password: 'wrong' }),
      });
    await gh.api('POST', `/tenants/default/users/olga@example.test/unlock`);
    await gh.api('PATCH', `/tenants/default/apps/${web.clientId}`, { displayName: 'Customer CRM' });

    const olga = await gh.api('GET', `/tenants/default/audit?user=olga@example.test&since=${since}`);
    assert.deepEqual(
      olga.body.items.map((e: any) => e.type),
      ['admin.user.unlocked', 'signin.failed', 'signin.failed', 'signin.failed'],
    );
    assert.ok(olga.body.items.every((e: any) => e.userId === olga.body.items[0].userId));
    const byId = await gh.api('GET', `/tenants/default/audit?user=${olga.body.items[0].userId}&since=${since}`);
    assert.equal(byId.body.items.length, 4);
    const crm = await gh.api('GET', `/tenants/default/audit?app=crm&since=${since}`);
    assert.deepEqual(
      crm.body.items.map((e: any) => [e.type, e.clientId]),
      [['admin.app.updated', web.clientId]],
    );
    assert.equal((await gh.api('GET', `/tenants/default/audit?app=${web.clientId}&since=${since}`)).body.items.length, 1);
    assert.equal((await gh.api('GET', `/tenants/default/audit?level=warn&user=olga@example.test&since=${since}`)).body.items.length, 3);
    assert.equal((await gh.api('GET', `/tenants/default/audit?text=bad_credentials&user=olga@example.test`)).body.items.length, 3);
    assert.deepEqual(
      (await gh.api('GET', `/tenants/default/audit?user=olga@example.test&until=${since - 1}`)).body.items.map((e: any) => e.type),
      ['admin.user.created'],
    );
    const admin = await gh.api('GET', `/tenants/default/audit?user=admin@example.test&since=${since}`);
    assert.ok(
      admin.body.items.some((e: any) => e.type === 'admin.user.unlocked'),
      'changes an administrator made',
    );

    const csvRes = await raw(`/tenants/default/audit/export?format=csv&user=olga@example.test&since=${since}`);
    assert.equal(csvRes.status, 200);
    assert.match(csvRes.headers.get('content-type')!, /^text\/csv/);
    assert.match(csvRes.headers.get('content-disposition')!, /^attachment; filename="audit-default-\d{8}-\d{4}\.csv"/);
    const lines = (await csvRes.text()).trimEnd().split('\r\n');
    assert.equal(lines[0], 'id,time,level,type,actor,subject,userId,clientId,ip,message,data');
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(',')[0]),
      olga.body.items.map((e: any) => e.id),
      'the same events, newest first',
    );
    assert.match(lines[2]!, /,warn,signin\.failed,/);
    const jsonRes = await raw(`/tenants/default/audit/export?format=json&user=olga@example.test&since=${since}`);
    assert.match(jsonRes.headers.get('content-disposition')!, /\.json"$/);
    assert.deepEqual(await jsonRes.json(), olga.body.items);
    const empty = await raw(`/tenants/default/audit/export?format=json&user=nobody@example.test`);
    assert.deepEqual(await empty.json(), []);
    assert.equal((await raw('/tenants/default/audit/export?format=xml')).status, 400);
    const exported = await gh.api('GET', '/tenants/default/audit?type=admin.audit.exported');
    assert.equal(exported.body.items[0].actor, 'admin@example.test', 'who took a copy of the log is recorded');
    // A cell a spreadsheet would run as a formula is defused; quotes and commas are quoted.
    assert.equal(csvCell('=HYPERLINK("http://x")'), '"\'=HYPERLINK(""http://x"")"');
    assert.equal(csvCell('+1'), "'+1");
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell(null), '');
  });

  test('overview: counts, recent sign-in failures, and alerts for an IdP certificate within 60 days and an app certificate within 90', async () => {
    const o = await gh.api('GET', '/tenants/default/overview');
    assert.equal(o.status, 200);
    await gh.api('POST', '/tenants/default/apps', { name: 'not-deployed', displayName: 'Nobody', type: 'service' });
    const apps = (await gh.api('GET', '/tenants/default/apps?limit=200')).body.items;
    assert.deepEqual(o.body.counts.groups, (await gh.api('GET', '/tenants/default/groups?limit=200')).body.items.length);
    const now = (await gh.api('GET', '/tenants/default/overview')).body.counts;
    assert.deepEqual([now.apps, now.deployedApps], [apps.length, apps.filter((a: any) => a.deployed).length]);
    assert.ok(now.apps > now.deployedApps);
    assert.ok(o.body.recentFailures.length >= 1 && o.body.recentFailures.every((e: any) => /failed|throttled|refused|error|not_deployed/.test(e.type)));
    assert.deepEqual(o.body.alerts, [], 'fresh keys (2 years) and no app certificates: no alerts');

    // The IdP certificate: move the active ES256 key's expiry into the 60-day window, then past it.
    const db = gh.services.database.db;
    const key = await db
      .selectFrom('signing_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'active')
      .where('alg', '=', 'ES256')
      .executeTakeFirstOrThrow();
    try {
      const soonAt = Date.now() + 59 * DAY;
      await db.updateTable('signing_keys').set({ not_after: soonAt }).where('kid', '=', key.kid).execute();
      const soon = (await gh.api('GET', '/tenants/default/overview')).body.alerts;
      assert.deepEqual(
        soon.map((a: any) => [a.kind, a.level, a.subject]),
        [['idp_certificate_expiring', 'warn', key.kid]],
      );
      assert.match(soon[0].message, /expires in 59 days\. Rotate the keys/);
      assert.equal(soon[0].expiresAt, soonAt, 'the exact expiry, for clients to show in their own format');
      await db
        .updateTable('signing_keys')
        .set({ not_after: Date.now() + 61 * DAY })
        .where('kid', '=', key.kid)
        .execute();
      assert.deepEqual((await gh.api('GET', '/tenants/default/overview')).body.alerts, [], 'not yet within 60 days');
      await db
        .updateTable('signing_keys')
        .set({ not_after: Date.now() - DAY })
        .where('kid', '=', key.kid)
        .execute();
      assert.equal((await gh.api('GET', '/tenants/default/overview')).body.alerts[0].level, 'error');
    } finally {
      await db.updateTable('signing_keys').set({ not_after: key.not_after }).where('kid', '=', key.kid).execute();
    }

    // An app's registered certificate, 80 days before it expires.
    const notAfter = new Date(Math.floor((Date.now() + 80 * DAY) / 1000) * 1000);
    const { publicJwk, privateJwk } = await jwkWithCertificate(notAfter);
    const badPrivate = await gh.api('PATCH', `/tenants/default/apps/${web.clientId}`, { jwks: { keys: [{ ...publicJwk, ...privateJwk }] } });
    assert.equal(badPrivate.status, 400);
    assert.match(badPrivate.body.error.message, /private key material/);
    const other = await jwkWithCertificate(notAfter);
    const mismatch = await gh.api('PATCH', `/tenants/default/apps/${web.clientId}`, { jwks: { keys: [{ ...publicJwk, x5c: other.publicJwk.x5c }] } });
    assert.match(mismatch.body.error.message, /certificate is for another key/);
    const junk = await gh.api('PATCH', `/tenants/default/apps/${web.clientId}`, { jwks: { keys: [{ ...publicJwk, x5c: ['AAAA'] }] } });
    assert.match(junk.body.error.message, /not a DER certificate/);

    const saved = await gh.api('PATCH', `/tenants/default/apps/${web.clientId}`, { jwks: { keys: [publicJwk] } });
    assert.equal(saved.status, 200);
    assert.equal(saved.body.certificateExpiresAt, notAfter.getTime());
    assert.equal(saved.body.certificateExpiresSoon, true);
    assert.equal(saved.body.jwks.keys[0].kid, 'rp-key-1');
    const alerts = (await gh.api('GET', '/tenants/default/overview')).body.alerts;
    assert.deepEqual(
      alerts.map((a: any) => [a.kind, a.level, a.subject, a.expiresAt]),
      [['app_certificate_expiring', 'warn', web.clientId, notAfter.getTime()]],
    );
    assert.match(alerts[0].message, /Customer CRM registered expires in 80 days\./);
    // The app still signs users in with its registered keys on file.
    await codeFlow(await rpConfig(`${gh.base}/t/default`, web.clientId, web.clientSecret), new Agent(), {
      redirectUri: RP,
      email: 'olga@example.test',
      password: 'olga-password-1',
    });
    const cleared = await gh.api('PATCH', `/tenants/default/apps/${web.clientId}`, { jwks: null });
    assert.equal(cleared.body.certificateExpiresAt, null);
    assert.deepEqual((await gh.api('GET', '/tenants/default/overview')).body.alerts, []);
  });

  test("/me names the administrator and their roles; a user's factors are listed without their secrets", async () => {
    await gh.api('POST', '/tenants/default/users', { email: 'aud@example.test', password: 'aud-password-1', roles: ['auditor'] });
    const me = await gh.api('GET', '/me', undefined, await token('aud@example.test', 'aud-password-1'));
    assert.deepEqual(
      { ...me.body, userId: typeof me.body.userId },
      { userId: 'string', email: 'aud@example.test', tenant: 'default', roles: ['auditor'], instanceAdmin: false },
    );
    assert.equal((await gh.api('GET', '/me')).body.instanceAdmin, true);

    const u = await gh.api('POST', '/tenants/default/users', { email: 'pat@example.test', password: 'pat-password-1' });
    await gh.services.mfaStore.addFactor(
      tenantId,
      u.body.id,
      { type: 'totp', label: 'Work phone', secretSealed: gh.services.sealer.seal('JBSWY3DPEHPK3PXP') },
      ['h1', 'h2', 'h3'],
    );
    const f = await gh.api('GET', '/tenants/default/users/pat@example.test/mfa');
    assert.equal(f.status, 200);
    assert.deepEqual(
      f.body.items.map((x: any) => [x.type, x.label]),
      [['totp', 'Work phone']],
    );
    assert.equal(f.body.recoveryCodesLeft, 3);
    assert.doesNotMatch(JSON.stringify(f.body), /JBSWY3DP|secret/i);
    assert.equal((await gh.api('DELETE', '/tenants/default/users/pat@example.test/mfa')).status, 204);
    assert.deepEqual((await gh.api('GET', '/tenants/default/users/pat@example.test/mfa')).body.items, []);
  });
}
