// The on-premises connector, run as real `gatehouse connector` processes: a provisioning
// code expires (its expiry moved in the store) and works once, the pinned key lets a
// connector reconnect, sync and sign-in go through connectors, a connector killed
// mid-request leaves the request to the other one, a revoked one cannot come back, and with
// every connector down sign-in says so clearly.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as oidc from 'openid-client';
import { startTestServer, freePort, type Backend, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { Agent, text } from '../helpers/agent.ts';
import { rpConfig } from '../helpers/rp.ts';
import { OPENLDAP, haveSlapd, startSlapd, type Slapd } from '../helpers/slapd.ts';
import { startConnector } from '../helpers/connector.ts';

export function connectorSuite(backend: Backend) {
  const skip = backend.skip || (!haveSlapd() ? 'slapd is not installed (apt-get install -y slapd ldap-utils)' : false);
  const test = (name: string, fn: () => Promise<void>) => nodeTest(`${backend.name}: ${name}`, { skip }, fn);

  let gh: TestServer;
  let ldap: Slapd;
  let config: oidc.Configuration;
  let redirectUri: string;
  const T = '/tenants/default';
  const procs: ChildProcess[] = [];
  const alice = { email: 'alice@example.test', password: 'alice-directory-pw' };

  before(async () => {
    if (skip) return;
    [ldap, gh] = await Promise.all([startSlapd(), startTestServer({}, { backend })]);
    redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
    const a = await gh.api('POST', `${T}/apps`, { name: 'wiki', displayName: 'Team Wiki', type: 'web', redirectUris: [redirectUri] });
    await gh.api('PUT', `${T}/apps/${a.body.clientId}/deployment`, { all: true });
    config = await rpConfig(`${gh.base}/t/default`, a.body.clientId, a.body.clientSecret);
  });
  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await gh?.close();
    ldap?.stop();
  });

  function connector(name: string, args: string[], env: Record<string, string> = {}, stdin?: string) {
    const c = startConnector(gh.base, name, path.join(gh.dataDir, `${name}.json`), args, env, stdin);
    procs.push(c.p);
    return c;
  }

  async function statusOf(name: string, want: string) {
    let c: any;
    await waitFor(
      async () => {
        c = (await gh.api('GET', `${T}/connectors`)).body.items.find((x: { name: string }) => x.name === name);
        return c?.status === want;
      },
      { what: `connector ${name} to become ${want}`, interval: 50 },
    );
    return c;
  }

  async function signIn(who: { email: string; password: string }) {
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
      return { ok: true, status: 200, message: '' };
    } catch {
      return { ok: false, status: agent.lastStatus, message: text(agent.lastBody) };
    }
  }

  const newCode = async () => (await gh.api('POST', `${T}/connectors/codes`)).body as { enterpriseId: string; code: string; expiresAt: number };

  test('a provisioning code expires after 5 minutes and works once; the pinned key lets the connector reconnect', async () => {
    const stale = await newCode();
    assert.equal(stale.enterpriseId, 'default');
    assert.ok(stale.expiresAt - Date.now() > 299_000 && stale.expiresAt - Date.now() <= 300_000, 'valid 5 minutes');
    // The clock moves past the expiry: in the store, the code's expiry is now in the past.
    await gh.services.database.db
      .updateTable('connector_codes')
      .set({ expires_at: Date.now() - 1 })
      .execute();
    const late = connector('late', ['--enterprise-id', 'default', '--code', stale.code]);
    assert.equal(await late.exited, 2);
    assert.match(late.stderr(), /expired \(codes are valid 5 minutes\)/);

    const fresh = await newCode();
    const site1 = connector('site-1', ['--enterprise-id', 'default', '--code', fresh.code]);
    const first = await statusOf('site-1', 'connected');
    const again = connector('copycat', ['--enterprise-id', 'default', '--code', fresh.code]);
    assert.equal(await again.exited, 2);
    assert.match(again.stderr(), /already used/);
    // Restarted without a code: its own key, pinned by Gatehouse, gets it back in as the same connector.
    site1.p.kill('SIGTERM');
    await site1.exited;
    await statusOf('site-1', 'disconnected');
    connector('site-1', []);
    const back = await statusOf('site-1', 'connected');
    assert.equal(back.id, first.id);
    assert.equal(typeof back.version, 'string');
    assert.equal(typeof back.latencyMs, 'number');
  });

  test('sync and sign-in through connectors; one killed mid-request, the request succeeds through the other; revoked cannot reconnect; all down is a clear error', async () => {
    const d = await gh.api('POST', `${T}/directories`, {
      name: 'Site LDAP',
      bindPassword: OPENLDAP.bindPassword,
      settings: { kind: 'openldap', via: 'connector', urls: [ldap.url], startTls: false, allowPlain: true, bindDn: OPENLDAP.bindDn, baseDns: [OPENLDAP.base] },
    });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    const site1 = (await gh.api('GET', `${T}/connectors`)).body.items.find((x: { name: string }) => x.name === 'site-1');
    const t = await gh.api('POST', `${T}/directories/${d.body.id}/test`);
    assert.equal(t.body.ok, true, JSON.stringify(t.body));
    assert.equal(t.body.via, site1.id);
    assert.match(t.body.message, /through a connector/);
    const run = await gh.api('POST', `${T}/directories/${d.body.id}/sync`, { mode: 'full', wait: true });
    assert.equal(run.body.status, 'succeeded', run.body.message);
    assert.equal(run.body.users.created, 6);

    // Revoked: disconnected at once, and its key no longer gets it in.
    assert.equal((await gh.api('DELETE', `${T}/connectors/${site1.id}`)).status, 204);
    const revoked = await statusOf('site-1', 'revoked');
    assert.match(revoked.recommendedFix, /cannot connect again/);
    const retry = connector('site-1', []);
    assert.equal(await retry.exited, 2);
    assert.match(retry.stderr(), /revoked/);

    // Two connectors: A (connected first, so picked first) reaches a "directory" that never answers.
    let heldA: () => void = () => {};
    const reachedA = new Promise<void>((r) => {
      heldA = r;
    });
    const hole = net.createServer((s) => {
      s.on('error', () => {});
      heldA();
    });
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', () => r()));
    const holeUrl = `ldap://127.0.0.1:${(hole.address() as net.AddressInfo).port}`;
    const a = connector('site-a', ['--enterprise-id', 'default', '--code', (await newCode()).code, '--ldap-url', holeUrl]);
    await statusOf('site-a', 'connected');
    const b = connector('site-b', ['--enterprise-id', 'default', '--code', (await newCode()).code]);
    await statusOf('site-b', 'connected');
    const pending = signIn(alice);
    await reachedA; // A holds the bind request ...
    a.p.kill('SIGKILL'); // ... and dies with it
    const r = await pending;
    assert.equal(r.ok, true, `the sign-in went on through site-b: ${r.message}`);
    hole.close();
    const list = (await gh.api('GET', `${T}/connectors`)).body.items;
    assert.equal(list.find((x: { name: string }) => x.name === 'site-a').status, 'disconnected');
    assert.match(list.find((x: { name: string }) => x.name === 'site-a').recommendedFix, /Check that `gatehouse connector` is running on site-a/);
    assert.equal(list.find((x: { name: string }) => x.name === 'site-b').status, 'connected');

    // Every connector down: sign-in says the directory cannot be reached, not "wrong password".
    b.p.kill('SIGKILL');
    await b.exited;
    await statusOf('site-b', 'disconnected');
    const down = await signIn(alice);
    assert.equal(down.status, 503);
    assert.match(down.message, /cannot reach your organization's directory/);
    const audit = await gh.api('GET', `${T}/audit?type=directory.unavailable`);
    assert.match(JSON.stringify(audit.body.items[0]), /No connector of this organization is connected/);
  });
  test('the provisioning code from GATEHOUSE_CONNECTOR_CODE or standard input (--code -) provisions a connector, and the code is never in its command line', async () => {
    const fromEnv = await newCode();
    const a = connector('env-site', ['--enterprise-id', 'default'], { GATEHOUSE_CONNECTOR_CODE: fromEnv.code });
    await statusOf('env-site', 'connected');
    const cmdline = fs.readFileSync(`/proc/${a.p.pid}/cmdline`, 'utf8');
    assert.match(cmdline, /connector/, 'the connector process itself');
    assert.ok(!cmdline.includes(fromEnv.code), `the code is not in the process's arguments: ${cmdline.replaceAll('\0', ' ')}`);

    const fromStdin = await newCode();
    const b = connector('stdin-site', ['--enterprise-id', 'default', '--code', '-'], {}, `${fromStdin.code}\n`);
    await statusOf('stdin-site', 'connected');
    assert.ok(!fs.readFileSync(`/proc/${b.p.pid}/cmdline`, 'utf8').includes(fromStdin.code));

    // Nothing on standard input: said plainly, exit 2, and no code spent.
    const empty = connector('empty-stdin', ['--enterprise-id', 'default', '--code', '-'], {}, '');
    assert.equal(await empty.exited, 2);
    assert.match(empty.stderr(), /standard input, which was empty/);
    for (const c of [a, b]) {
      c.p.kill('SIGTERM');
      await c.exited;
    }
  });
}
