// The admin console as found in a real browser (issue 21, point 8), in Chromium: deep links
// without a tenant lead into the default tenant's console; every page of the menu keeps its
// actions on a 390 px phone screen; a directory or connector that is down shows on the
// directory list and as an overview alert; times are shown in one format (the reader's zone,
// named; never a raw ISO or UTC string); a connector's problem is said once. Runs on SQLite
// and on PostgreSQL + Redis.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN, freePort, startTestServer, type Backend, type TestServer, LOOPBACK_OUTBOUND } from '../helpers/server.ts';
import { fillSignIn, haveChromium, launch } from '../helpers/browser.ts';
import { startConnector } from '../helpers/connector.ts';
import { startUpstream } from '../helpers/upstream.ts';

/** A time or day as ISO 8601 (2026-12-07T00:05, 2026-12-07 00:05, 2026-12-07) or any time said in UTC. */
const RAW_TIME = /\d{4}-\d{2}-\d{2}|\bUTC\b|\d{2}:\d{2}(:\d{2})?(\.\d+)?Z\b/;

export function consolePolishSuite(backend: Backend) {
  const noBrowser = haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium): browser tests skipped';
  const skip = backend.skip || noBrowser;
  const test = (name: string, fn: () => Promise<void>, opts: { skip?: string | false } = {}) =>
    nodeTest(`${backend.name}: ${name}`, { skip: backend.skip || opts.skip }, fn);
  let gh: TestServer;
  let browser: Browser | undefined;
  const procs: ChildProcess[] = [];
  const closers: Array<() => unknown> = [];
  const alice = { email: 'alice@example.test', password: 'alice-password-1' };

  before(async () => {
    if (backend.skip) return;
    [gh, browser] = await Promise.all([startTestServer(LOOPBACK_OUTBOUND, { backend }), skip ? undefined : launch()]);
    await gh.api('POST', '/tenants/default/users', { ...alice, givenName: 'Alice', familyName: 'Phone' });
  });
  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    for (const c of closers) await c();
    await browser?.close();
    await gh?.close();
  });

  /** A console signed in as the superadmin, in a context of its own (size, zone). */
  async function signedIn(options: Parameters<Browser['newContext']>[0] = {}): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await browser!.newContext({ locale: 'en-US', ...options });
    closers.push(() => context.close());
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${gh.base}/console`);
    await fillSignIn(page, ADMIN);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    return { context, page, errors };
  }

  const go = async (page: Page, at: string, heading: string | RegExp) => {
    await page.goto(`${gh.base}/t/default/console${at}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await page.waitForLoadState('networkidle');
  };

  /** Wait for a condition on the admin API, with a generous deadline (the machine may be busy). */
  async function until<T>(what: string, read: () => Promise<T | undefined>, deadlineMs = 60_000): Promise<T> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      const v = await read();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`${what}: not within ${deadlineMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A TCP port nothing listens on: connections are refused. */
  async function refusingPort(): Promise<number> {
    return freePort();
  }

  test("deep links: /console/<page> leads to that page of the default tenant's console, query kept; assets are not redirected", async () => {
    for (const [from, to] of [
      ['/console/apps', '/t/default/console/apps'],
      ['/console/directories', '/t/default/console/directories'],
      ['/console/sessions?user=alice%40example.test', '/t/default/console/sessions?user=alice%40example.test'],
      ['/console?x=1', '/t/default/console/?x=1'],
    ]) {
      const r = await fetch(`${gh.base}${from}`, { redirect: 'manual' });
      assert.equal(r.status, 302, from);
      assert.equal(r.headers.get('location'), to, from);
    }
    assert.equal((await fetch(`${gh.base}/console/assets/nothing-here.js`, { redirect: 'manual' })).status, 404, 'a missing asset stays 404');
    if (skip) return;
    const { page } = await signedIn();
    await page.goto(`${gh.base}/console/directories`);
    await page.getByRole('heading', { level: 1, name: 'LDAP and Active Directory' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/t/default/console/directories');
    await page.goto(`${gh.base}/console/apps`);
    await page.getByRole('heading', { level: 1, name: 'Single sign-on application profiles' }).waitFor();
  });

  test(
    '390 px phone: every page of the menu, Sessions and Tenants included, keeps every button on screen',
    async () => {
      // Something to act on: alice's session (Terminate), a second tenant (Administer).
      const other = await browser!.newContext();
      closers.push(() => other.close());
      const user = await other.newPage();
      await user.goto(`${gh.base}/t/default/account`);
      await fillSignIn(user, alice);
      await user.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
      assert.equal((await gh.api('POST', '/tenants', { slug: 'phone-test', name: 'A tenant with a long name to push the table wider' })).status, 201);

      const { page } = await signedIn({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      const pages: Array<[string, string]> = [
        ['Overview', '/'],
        ['Single sign-on application profiles', '/apps'],
        ['Users', '/users'],
        ['Groups', '/groups'],
        ['OUs and domains', '/ous'],
        ['User policies', '/policies'],
        ['Sessions', '/sessions'],
        ['LDAP and Active Directory', '/directories'],
        ['Connectors', '/connectors'],
        ['Upstream directories', '/upstreams'],
        ['Logs', '/logs'],
        ['Web app login configuration', '/branding'],
        ['Keys and certificates', '/keys'],
        ['Tenants', '/tenants'],
      ];
      const off: string[] = [];
      for (const [name, at] of pages) {
        await go(page, at, name);
        const found = await page.evaluate(() => {
          const width = document.documentElement.clientWidth;
          const out: string[] = [];
          if (document.documentElement.scrollWidth > width + 1) out.push(`the page scrolls sideways (${document.documentElement.scrollWidth} px wide)`);
          for (const b of Array.from(document.querySelectorAll('main button, main a.button'))) {
            const r = b.getBoundingClientRect();
            if (r.width === 0 && r.height === 0) continue; // not shown
            if (r.left < -1 || r.right > width + 1)
              out.push(`"${(b.textContent ?? '').trim() || b.getAttribute('aria-label')}" at ${Math.round(r.left)}-${Math.round(r.right)} px`);
          }
          return out;
        });
        for (const f of found) off.push(`${name}: ${f}`);
        if (name === 'Sessions')
          assert.ok(await page.getByRole('button', { name: /Terminate the session of alice@example\.test/ }).isVisible(), "alice's session is listed");
        if (name === 'Tenants') assert.ok(await page.getByRole('button', { name: 'Administer' }).first().isVisible(), 'the other tenant is listed');
      }
      assert.deepEqual(off, [], 'every button within the 390 px screen');
      // The rest of a wide row (IP address, started, last seen) scrolls inside a labelled region
      // the keyboard reaches and scrolls.
      await go(page, '/sessions', 'Sessions');
      const region = page.getByRole('region', { name: 'Active sessions' });
      assert.equal(await region.getAttribute('tabindex'), '0');
      assert.ok(await region.evaluate((e) => e.scrollWidth > e.clientWidth), 'the table is wider than the screen here');
      await region.focus();
      await page.keyboard.press('ArrowRight');
      await until('the region scrolled with the keyboard', async () => ((await region.evaluate((e) => e.scrollLeft)) > 0 ? true : undefined), 10_000);
      // And Terminate works there.
      await go(page, '/sessions', 'Sessions');
      await page.getByRole('button', { name: /Terminate the session of alice@example\.test/ }).click();
      await page.getByRole('dialog', { name: 'Terminate this session?' }).getByRole('button', { name: 'Terminate session' }).click();
      await until('alice has no session', async () =>
        (await gh.api('GET', `/tenants/default/users/${alice.email}/sessions`)).body.items.length === 0 ? true : undefined,
      );
    },
    { skip },
  );

  test('a directory that is down: a badge and the reason on the directory list, an overview alert that opens it', async () => {
    const port = await refusingPort();
    const refused = await gh.api('POST', '/tenants/default/directories', {
      name: 'Refusing DC',
      bindPassword: 'secret',
      settings: {
        kind: 'openldap',
        urls: [`ldap://127.0.0.1:${port}`],
        startTls: false,
        allowPlain: true,
        bindDn: 'cn=svc,dc=example,dc=com',
        baseDns: ['dc=example,dc=com'],
        timeoutSeconds: 5,
      },
    });
    assert.equal(refused.status, 201, JSON.stringify(refused.body));
    const viaConnector = await gh.api('POST', '/tenants/default/directories', {
      name: 'Branch DC',
      bindPassword: 'secret',
      settings: {
        kind: 'openldap',
        via: 'connector',
        urls: ['ldap://dc.branch.example:389'],
        startTls: false,
        allowPlain: true,
        bindDn: 'cn=svc,dc=example,dc=com',
        baseDns: ['dc=example,dc=com'],
      },
    });
    assert.equal(viaConnector.status, 201, JSON.stringify(viaConnector.body));
    try {
      const sync = await gh.api('POST', `/tenants/default/directories/${refused.body.id}/sync`, { mode: 'full', wait: true });
      assert.equal(sync.body.status, 'failed', JSON.stringify(sync.body));

      // The API says it on the list and on the overview.
      const list = (await gh.api('GET', '/tenants/default/directories')).body.items;
      const problemOf = (name: string) => list.find((d: { name: string }) => d.name === name).problem;
      assert.equal(problemOf('Refusing DC').kind, 'sync_failed');
      assert.match(problemOf('Refusing DC').message, /The last sync of Refusing DC failed .* ago: /);
      assert.equal(problemOf('Branch DC').kind, 'no_connector');
      const alerts = (await gh.api('GET', '/tenants/default/overview')).body.alerts.filter((a: { kind: string }) => a.kind === 'directory_down');
      assert.deepEqual(
        alerts.map((a: { subject: string; level: string }) => [a.subject, a.level]).sort(),
        [
          [refused.body.id, 'error'],
          [viaConnector.body.id, 'error'],
        ].sort(),
      );
      if (skip) return;

      const { page, errors } = await signedIn();
      // The overview: an alert per directory, which opens it.
      const alert = page.getByRole('alert').filter({ hasText: 'The last sync of Refusing DC failed' });
      await alert.waitFor();
      assert.equal(await page.getByRole('alert').filter({ hasText: 'so Branch DC (reached through connectors) cannot be reached' }).count(), 1);
      await alert.getByRole('link', { name: 'Open the directory' }).click();
      await page.getByRole('heading', { level: 1, name: 'Refusing DC' }).waitFor();
      // The list: a badge per directory that is down, with the reason, at the top of the page.
      await go(page, '/directories', 'LDAP and Active Directory');
      const row = (name: string) => page.getByRole('row').filter({ has: page.getByRole('rowheader').filter({ hasText: name }) });
      await row('Refusing DC').getByText('down: last sync failed', { exact: true }).waitFor();
      assert.match((await row('Refusing DC').textContent()) ?? '', /The last sync of Refusing DC failed/);
      await row('Branch DC').getByText('down: no connector', { exact: true }).waitFor();
      // The directory's own page says no connector reaches it, above the fold.
      await row('Branch DC').getByRole('link', { name: 'Branch DC' }).click();
      await page.getByRole('heading', { level: 1, name: 'Branch DC' }).waitFor();
      await page.getByRole('alert').filter({ hasText: 'No connector is connected' }).waitFor();
      assert.deepEqual(errors, []);
    } finally {
      await gh.api('DELETE', `/tenants/default/directories/${refused.body.id}`);
      await gh.api('DELETE', `/tenants/default/directories/${viaConnector.body.id}`);
    }
  });

  test('connectors: a problem through a connector is said once (no sentence repeated), and a connector that drops is an overview alert', async () => {
    // A real connector whose directory refuses connections: a sync through it fails.
    const port = await refusingPort();
    const dir = await gh.api('POST', '/tenants/default/directories', {
      name: 'Remote DC',
      bindPassword: 'secret',
      settings: {
        kind: 'openldap',
        via: 'connector',
        urls: [`ldap://127.0.0.1:${port}`],
        startTls: false,
        allowPlain: true,
        bindDn: 'cn=svc,dc=example,dc=com',
        baseDns: ['dc=example,dc=com'],
        timeoutSeconds: 5,
      },
    });
    assert.equal(dir.status, 201, JSON.stringify(dir.body));
    const code = (await gh.api('POST', '/tenants/default/connectors/codes')).body;
    const c = startConnector(gh.base, 'branch-host', path.join(gh.dataDir, 'polish-connector.json'), ['--enterprise-id', 'default'], {
      GATEHOUSE_CONNECTOR_CODE: code.code,
    });
    procs.push(c.p);
    try {
      const statusOf = async () => (await gh.api('GET', '/tenants/default/connectors')).body.items.find((x: { name: string }) => x.name === 'branch-host');
      await until('the connector connects', async () => ((await statusOf())?.status === 'connected' ? true : undefined));
      const sync = await gh.api('POST', `/tenants/default/directories/${dir.body.id}/sync`, { mode: 'full', wait: true });
      assert.equal(sync.body.status, 'failed', JSON.stringify(sync.body));
      const status = await statusOf();
      assert.ok(status.lastError, 'the failure is recorded on the connector');
      assert.notEqual(status.recommendedFix, status.lastError, 'recommendedFix does not repeat lastError');

      if (!skip) {
        const { page, errors } = await signedIn();
        await go(page, '/connectors', 'Connectors');
        const row = page.getByRole('row', { name: /branch-host/ });
        await row.getByText('connected', { exact: true }).waitFor();
        const text = (await row.textContent()) ?? '';
        const sentences = text
          .split(/(?<=[.!?])\s+|\n/)
          .map((s) => s.trim())
          .filter((s) => s.length > 20);
        const repeated = sentences.filter((s, i) => sentences.indexOf(s) !== i);
        assert.deepEqual(repeated, [], `each sentence once in: ${text}`);
        assert.ok(sentences.length > 0 && text.includes(status.lastError.split('. ')[0]), 'the problem is shown');
        assert.deepEqual(errors, []);
      }

      // The connector drops: an overview alert naming it, relative time only.
      c.p.kill('SIGKILL');
      await c.exited;
      const alert = await until('a connector_down alert', async () =>
        (await gh.api('GET', '/tenants/default/overview')).body.alerts.find((a: { kind: string }) => a.kind === 'connector_down'),
      );
      assert.equal(alert.level, 'warn');
      assert.match(
        alert.message,
        /^Connector branch-host: Not connected since it was last seen .* ago\. Check that `gatehouse connector` is running on branch-host/,
      );
      assert.doesNotMatch(alert.message, RAW_TIME);
      assert.equal(typeof alert.at, 'number');
    } finally {
      c.p.kill('SIGKILL');
      await gh.api('DELETE', `/tenants/default/directories/${dir.body.id}`);
    }
  });

  test("times: one format in the reader's zone, named; no page shows an ISO 8601 or UTC time", async () => {
    // Things with times: a failing upstream (its check on the overview and its page), a failed
    // directory sync, sessions, logs, a user.
    const up = await startUpstream({ name: 'Gone', redirectUri: `${gh.base}/t/default/federation/callback`, accounts: [] });
    let stopped = false;
    closers.push(() => (stopped ? undefined : up.stop()));
    const created = await gh.api('POST', '/tenants/default/upstreams', {
      name: 'Gone ID',
      type: 'oidc',
      authorityUrl: up.issuer,
      clientId: up.clientId,
      clientSecret: up.clientSecret,
      mode: 'enabled',
      domains: ['gone.test'],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await up.stop();
    stopped = true;
    const check = await gh.api('POST', `/tenants/default/upstreams/${created.body.id}/test`);
    assert.equal(check.body.ok, false, JSON.stringify(check.body));
    const port = await refusingPort();
    const dir = await gh.api('POST', '/tenants/default/directories', {
      name: 'Timed DC',
      bindPassword: 'secret',
      settings: {
        kind: 'openldap',
        urls: [`ldap://127.0.0.1:${port}`],
        startTls: false,
        allowPlain: true,
        bindDn: 'cn=svc,dc=example,dc=com',
        baseDns: ['dc=example,dc=com'],
        timeoutSeconds: 5,
      },
    });
    // And a signing key's certificate within its 60-day warning (an overview alert with a day).
    const db = gh.services.database.db;
    const key = await db.selectFrom('signing_keys').selectAll().where('status', '=', 'active').where('alg', '=', 'ES256').executeTakeFirstOrThrow();
    await db
      .updateTable('signing_keys')
      .set({ not_after: Date.now() + 30 * 24 * 3600_000 })
      .where('kid', '=', key.kid)
      .execute();
    try {
      await gh.api('POST', `/tenants/default/directories/${dir.body.id}/sync`, { mode: 'full', wait: true });
      // The API's messages say times relative to now.
      const overview = (await gh.api('GET', '/tenants/default/overview')).body;
      assert.ok(
        overview.alerts.some((a: { kind: string }) => a.kind === 'idp_certificate_expiring'),
        JSON.stringify(overview.alerts),
      );
      for (const a of overview.alerts) assert.doesNotMatch(a.message, RAW_TIME, a.message);
      if (skip) return;

      // A zone other than UTC, so a UTC time cannot pass for a local one.
      const { page, errors } = await signedIn({ timezoneId: 'America/New_York' });
      const someUser = (await gh.api('GET', `/tenants/default/users/${alice.email}`)).body;
      const pages: Array<[string, string]> = [
        ['Overview', '/'],
        ['Sessions', '/sessions'],
        ['LDAP and Active Directory', '/directories'],
        ['Timed DC', `/directories/${dir.body.id}`],
        ['Connectors', '/connectors'],
        ['Gone ID', `/upstreams/${created.body.id}`],
        ['Logs', '/logs'],
        ['Keys and certificates', '/keys'],
        ['alice@example.test', `/users/${someUser.id}`],
      ];
      const raw: string[] = [];
      for (const [name, at] of pages) {
        await go(page, at, name);
        const text = await page.locator('main').innerText();
        const m = RAW_TIME.exec(text);
        if (m) raw.push(`${name}: "${text.slice(Math.max(0, m.index - 60), m.index + 40)}"`);
      }
      assert.deepEqual(raw, [], 'no raw ISO or UTC times');
      // Local times carry their zone: the upstream's failed check, the overview alert, a session's start.
      await go(page, `/upstreams/${created.body.id}`, 'Gone ID');
      assert.match(await page.getByTestId('upstream-check').innerText(), /\b(EST|EDT)\b/);
      await go(page, '/', 'Overview');
      assert.match(await page.getByRole('alert').filter({ hasText: 'Gone ID failed its discovery check' }).innerText(), /\b(EST|EDT)\b/);
      await go(page, '/sessions', 'Sessions');
      assert.match(await page.locator('main table tbody tr').first().innerText(), /\b(EST|EDT)\b/);
      assert.deepEqual(errors, []);
    } finally {
      await db.updateTable('signing_keys').set({ not_after: key.not_after }).where('kid', '=', key.kid).execute();
      await gh.api('DELETE', `/tenants/default/directories/${dir.body.id}`);
      await gh.api('DELETE', `/tenants/default/upstreams/${created.body.id}`);
    }
  });
}
