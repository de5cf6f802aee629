// Workstations and the user switch (issue 19), with the real `gatehouse agent` CLI and
// Chromium: an agent is enrolled with a one-time code; user A signs in on the workstation and
// opens two relying parties through one-time links with no sign-in page; user B signs in on
// the same workstation: both relying parties receive back-channel logout for A within 2 s of
// the agent's report, A's Gatehouse session is gone (prompt=none answers login_required),
// and B's apps open without a prompt. Abuse first: bad signatures, replayed calls and links,
// expired links and codes, a revoked agent, hostile bodies, and no secret in the audit trail.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as jose from 'jose';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, LOOPBACK_OUTBOUND, deployedApp, startTestServer, type Backend, type TestServer } from '../helpers/server.ts';
import { backchannelReceiver } from '../helpers/rp.ts';
import { startTestRp } from '../helpers/test-rp.ts';
import { haveChromium, launch } from '../helpers/browser.ts';
import { signText } from '../../src/directory/connector/protocol.ts';
import { callText, HEADERS } from '../../src/workstations/protocol.ts';
import * as agent from '../../src/workstations/agent.ts';

const MAIN = path.resolve(import.meta.dirname, '../../src/cli/main.ts');

export function workstationSuite(backend: Backend) {
  const skip = backend.skip || (!haveChromium() ? 'chromium is not installed (apt-get install -y chromium)' : false);
  const test = (name: string, fn: () => Promise<void>) => nodeTest(`${backend.name}: ${name}`, { skip }, fn);

  let gh: TestServer;
  let browser: Browser;
  let page: Page;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-ws-'));
  const stateFile = path.join(dir, 'agent.json');
  const alice = { email: 'alice@example.test', password: 'alice-password-1' };
  const bob = { email: 'bob@example.test', username: 'bbaker', password: 'bob-password-1' };
  const ids: Record<string, string> = {};
  let rp1: Awaited<ReturnType<typeof startTestRp>>;
  let rp2: Awaited<ReturnType<typeof startTestRp>>;
  let bcl1: Awaited<ReturnType<typeof backchannelReceiver>>;
  let bcl2: Awaited<ReturnType<typeof backchannelReceiver>>;

  interface Result {
    code: number;
    stdout: string;
    stderr: string;
  }
  function cli(args: string[], input?: string): Promise<Result> {
    return new Promise((resolve) => {
      const child = execFile(
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
      );
      child.stdin?.end(input ?? '');
    });
  }
  async function ok(args: string[], input?: string): Promise<any> {
    const r = await cli(args, input);
    assert.equal(r.code, 0, `gatehouse ${args.join(' ')} failed:\n${r.stderr}`);
    return args.includes('--json') ? JSON.parse(r.stdout) : r.stdout;
  }
  const newCode = async () => (await ok(['agent', 'code', '--tenant', 'default', '--json'])) as { code: string; expiresAt: number };
  const linkTo = async (url: string) => (await ok(['agent', '--state', stateFile, 'open', url, '--print'])).trim() as string;
  const audit = async (type: string) =>
    (await gh.api('GET', `/tenants/default/audit?type=${type}&limit=50`)).body.items as Array<{
      type: string;
      data: Record<string, unknown>;
      subject: string | null;
    }>;

  before(async () => {
    if (skip) return;
    gh = await startTestServer(LOOPBACK_OUTBOUND, { backend });
    for (const u of [alice, bob]) {
      const r = await gh.api('POST', '/tenants/default/users', u);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids[u.email] = r.body.id;
    }
    [bcl1, bcl2] = await Promise.all([backchannelReceiver(), backchannelReceiver()]);
    const issuer = `${gh.base}/t/default`;
    // Each relying party is created with its port known: its redirect URI is registered first.
    const make = async (name: string, bcl: typeof bcl1) => {
      const { freePort } = await import('../helpers/server.ts');
      const port = await freePort();
      const app = await deployedApp(gh, {
        name,
        displayName: name,
        type: 'web',
        redirectUris: [`http://127.0.0.1:${port}/callback`],
        backchannelLogoutUri: bcl.url,
      });
      return startTestRp({ issuer, clientId: app.clientId, clientSecret: app.clientSecret, port });
    };
    [rp1, rp2] = await Promise.all([make('Ward charts', bcl1), make('Lab results', bcl2)]);
    browser = await launch();
    page = await (await browser.newContext()).newPage();
  });
  after(async () => {
    await browser?.close();
    await Promise.all([rp1?.close(), rp2?.close(), bcl1?.close(), bcl2?.close()]);
    await gh?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('enrollment: the code is for administrators, works once, and the key file is private', async () => {
    assert.equal((await gh.api('POST', '/tenants/default/workstations/codes', undefined, '')).status, 401);
    const { code, expiresAt } = await newCode();
    assert.match(code, /^[A-Z2-9]{5}-[A-Z2-9]{5}$/);
    assert.ok(expiresAt > Date.now() && expiresAt <= Date.now() + 5 * 60_000 + 5000);
    const out = await ok(['agent', 'enroll', '--url', gh.base, '--code', code, '--state', stateFile, '--name', 'ward-3-pc']);
    assert.match(out, /Enrolled as workstation ws_/);
    assert.equal(fs.statSync(stateFile).mode & 0o777, 0o600);
    // The same code again: refused, and it says why.
    const again = await cli(['agent', 'enroll', '--url', gh.base, '--code', code, '--state', path.join(dir, 'other.json'), '--name', 'x']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already used/);
    // An expired code (its expiry moved in the store).
    const late = await newCode();
    await gh.services.workstationStore.db
      .updateTable('workstation_codes')
      .set({ expires_at: Date.now() - 1 })
      .where('used_at', 'is', null)
      .execute();
    const expired = await cli(['agent', 'enroll', '--url', gh.base, '--code', late.code, '--state', path.join(dir, 'late.json'), '--name', 'x']);
    assert.equal(expired.code, 1);
    assert.match(expired.stderr, /expired/);
    const list = await ok(['workstation', 'list', '--tenant', 'default', '--json']);
    assert.equal(list.length, 1);
    assert.equal(list[0].name, 'ward-3-pc');
    assert.equal(list[0].currentUser, null);
  });

  test('hostile agent calls get a clear 4xx: no signature, a bad signature, a replay, bad JSON, a huge body', async () => {
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    const url = `${gh.base}/agent/v1/signout`;
    const send = (headers: Record<string, string>, body = '{}') =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    let r = await send({});
    assert.equal(r.status, 401);
    assert.match((await r.json()).error.message, /not signed/);
    // Signed with another key.
    const { newKeyPair } = await import('../../src/directory/connector/protocol.ts');
    const other = newKeyPair();
    const ts = Date.now();
    r = await send({
      [HEADERS.id]: state.workstationId,
      [HEADERS.ts]: String(ts),
      [HEADERS.sig]: signText(other.privateKey, callText('POST', '/agent/v1/signout', ts, '{}')),
    });
    assert.equal(r.status, 401);
    assert.equal((await r.json()).error.code, 'bad_signature');
    // A good call, then the very same call again: the replay is refused.
    const ts2 = Date.now();
    const good = {
      [HEADERS.id]: state.workstationId,
      [HEADERS.ts]: String(ts2),
      [HEADERS.sig]: signText(state.privateKey, callText('POST', '/agent/v1/signout', ts2, '{}')),
    };
    assert.equal((await send(good)).status, 200);
    r = await send(good);
    assert.equal(r.status, 409);
    assert.equal((await r.json()).error.code, 'replayed');
    // A signature over another body does not cover this one.
    const ts3 = Date.now() + 1;
    r = await send(
      {
        [HEADERS.id]: state.workstationId,
        [HEADERS.ts]: String(ts3),
        [HEADERS.sig]: signText(state.privateKey, callText('POST', '/agent/v1/signout', ts3, '{}')),
      },
      '{"x":1}',
    );
    assert.equal(r.status, 401);
    r = await fetch(`${gh.base}/agent/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    assert.equal(r.status, 400);
    r = await fetch(`${gh.base}/agent/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'x'.repeat(100_000) }),
    });
    assert.equal(r.status, 413);
    r = await fetch(`${gh.base}/agent/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'AAAAA-AAAAA', name: 'x', publicKey: state.publicKey, signature: 'AAAA' }),
    });
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error.code, 'bad_signature');
    // A wrong password on the desktop: refused, and nobody is signed in.
    const wrong = await cli(['agent', '--state', stateFile, 'signin', '--user', alice.email], 'wrong-password\n');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /incorrect/);
    const links = await cli(['agent', '--state', stateFile, 'open', rp1.base + '/login', '--print']);
    assert.equal(links.code, 1);
    assert.match(links.stderr, /Nobody is signed in/);
  });

  let aliceSessions: string[] = [];
  test('user A signs in on the workstation and opens two relying parties with no sign-in page', async () => {
    const r = await ok(['agent', '--state', stateFile, 'signin', '--user', alice.email, '--json'], `${alice.password}\n`);
    assert.equal(r.user.email, alice.email);
    for (const rp of [rp1, rp2]) {
      const link = await linkTo(`${rp.base}/login`);
      assert.match(link, new RegExp(`^${gh.base}/t/default/workstation/open/[A-Za-z0-9_-]{43}$`));
      const seen: string[] = [];
      const onNav = (f: { url(): string }) => seen.push(f.url());
      page.on('framenavigated', onNav);
      await page.goto(link);
      await page.locator('#user').waitFor();
      page.off('framenavigated', onNav);
      assert.equal(await page.locator('#user').textContent(), `Signed in as ${alice.email}`);
      // Redirects are not committed navigations: a sign-in page shown would be one.
      assert.deepEqual(
        seen.filter((u) => u.includes('/interaction/')),
        [],
        'no sign-in page was shown',
      );
      // The link worked once: opened again, it is refused and says what to do.
      const again = await (await browser.newContext()).newPage();
      const res = await again.goto(link);
      assert.equal(res!.status(), 410);
      assert.match(await again.content(), /already used/);
      await again.context().close();
    }
    const list = await ok(['workstation', 'list', '--tenant', 'default', '--json']);
    assert.equal(list[0].currentUser.email, alice.email);
    assert.ok(list[0].sessionsBound >= 1);
    aliceSessions = (await gh.services.workstationStore.boundSessions(list[0].id)).map((b) => b.sessionId);
    assert.ok(aliceSessions.length >= 1);
  });

  test('user B signs in on the same workstation: A is logged out of both apps within 2 s, B opens apps with no prompt', async () => {
    bcl1.received.length = 0;
    bcl2.received.length = 0;
    const started = Date.now();
    // The agent's report, timed from the call (the CLI's own start-up is not Gatehouse's time).
    // B names their desktop login (the directory username), not their email.
    const r = await agent.signin(stateFile, bob.username, bob.password);
    await Promise.all([bcl1.next(10_000), bcl2.next(10_000)]);
    const took = Date.now() - started;
    assert.equal(r.previousUser, alice.email);
    assert.ok(bcl1.received.length >= 1 && bcl2.received.length >= 1, 'both relying parties received back-channel logout');
    assert.ok(took < 2000, `back-channel logout reached both apps ${took} ms after the agent's report (the bound is 2 s)`);
    for (const t of [bcl1.received[0]!, bcl2.received[0]!]) assert.equal(jose.decodeJwt(t).sub, ids[alice.email]);
    // A's Gatehouse session is gone: prompt=none answers login_required.
    await page.goto(`${rp1.base}/login?prompt=none`);
    await page.locator('#error').waitFor();
    assert.equal(await page.locator('#error').textContent(), 'login_required');
    const tenantId = (await gh.services.tenantStore.bySlug('default'))!.id;
    for (const id of aliceSessions) assert.equal(await gh.services.sessionService.store.get(tenantId, id), undefined, "A's sessions are no longer listed");
    // B's apps open without a prompt, in the same browser.
    for (const rp of [rp1, rp2]) {
      await page.goto(await linkTo(`${rp.base}/login`));
      await page.locator('#user').waitFor();
      assert.equal(await page.locator('#user').textContent(), `Signed in as ${bob.email}`);
    }
    const switched = await audit('workstation.switched');
    assert.equal(switched[0]?.data.previousEmail, alice.email);
  });

  test('an expired link is refused; a link made before another user signed in is refused', async () => {
    const link = await linkTo(`${rp1.base}/login`);
    await gh.services.workstationStore.db
      .updateTable('workstation_links')
      .set({ expires_at: Date.now() - 1 })
      .where('used_at', 'is', null)
      .execute();
    const p = await (await browser.newContext()).newPage();
    assert.equal((await p.goto(link))!.status(), 410);
    assert.match(await p.content(), /expired/);
    const stale = await linkTo(`${rp1.base}/login`);
    await agent.signin(stateFile, alice.email, alice.password);
    assert.equal((await p.goto(stale))!.status(), 410);
    assert.match(await p.content(), /Another user has signed in/);
    assert.equal((await p.goto(`${gh.base}/t/default/workstation/open/not-a-token`))!.status(), 404);
    await p.context().close();
  });

  test('sign-out ends the sessions; a revoked agent is refused; no secret in the audit trail or the API', async () => {
    await page.goto(await linkTo(`${rp2.base}/login`));
    await page.locator('#user').waitFor();
    bcl2.received.length = 0;
    const out = await ok(['agent', '--state', stateFile, 'signout', '--json']);
    assert.ok(out.sessionsEnded >= 1);
    await bcl2.next();
    assert.equal(bcl2.received.length, 1);
    const [w] = await ok(['workstation', 'list', '--tenant', 'default', '--json']);
    assert.equal(w.currentUser, null);
    await ok(['workstation', 'revoke', '--tenant', 'default', w.id]);
    const refused = await cli(['agent', '--state', stateFile, 'signin', '--user', alice.email], `${alice.password}\n`);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /revoked/);
    const events = JSON.stringify((await gh.api('GET', '/tenants/default/audit?limit=200')).body);
    for (const type of [
      'workstation.enrolled',
      'workstation.signin',
      'workstation.switched',
      'workstation.signout',
      'admin.workstation.revoked',
      'workstation.refused',
    ])
      assert.ok(events.includes(type), `audit has ${type}`);
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    for (const secret of [alice.password, bob.password, 'wrong-password', state.privateKey.split('\n')[1]])
      assert.ok(!events.includes(secret), 'no secret in audit events');
    const api = JSON.stringify((await gh.api('GET', '/tenants/default/workstations')).body);
    assert.ok(!api.includes('PUBLIC KEY') && !api.includes('PRIVATE KEY'));
  });
}
