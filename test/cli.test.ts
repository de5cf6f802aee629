// The gatehouse CLI against a running server, as a separate process (through bin/gatehouse.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startTestServer, freePort, ADMIN, type TestServer } from './helpers/server.ts';

const bin = path.resolve(import.meta.dirname, '..', 'bin', 'gatehouse.js');
let gh: TestServer;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, GATEHOUSE_URL: gh.base, GATEHOUSE_ADMIN_EMAIL: ADMIN.email, GATEHOUSE_ADMIN_PASSWORD: ADMIN.password, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

before(async () => { gh = await startTestServer(); });
after(async () => { await gh?.close(); });

test('tenant create and show --json include the issuer', async () => {
  const c = await cli(['tenant', 'create', 'acme', '--name', 'Acme Corp', '--json']);
  assert.equal(c.code, 0, c.stderr);
  const s = await cli(['tenant', 'show', 'acme', '--json']);
  const t = JSON.parse(s.stdout);
  assert.equal(t.issuer, `${gh.base}/t/acme`);
  assert.equal(t.name, 'Acme Corp');
});

test('user create, app create (secret once), app deploy, keys rotate', async () => {
  const u = await cli(['user', 'create', '--tenant', 'acme', '--email', 'ann@acme.test', '--password', 'ann-password-1', '--given-name', 'Ann', '--json']);
  assert.equal(u.code, 0, u.stderr);
  assert.equal(JSON.parse(u.stdout).email, 'ann@acme.test');
  const a = await cli(['app', 'create', '--tenant', 'acme', '--name', 'crm', '--display-name', 'CRM', '--type', 'web', '--redirect-uri', 'https://crm.acme.test/cb', '--redirect-uri', 'https://crm.acme.test/cb2', '--json']);
  assert.equal(a.code, 0, a.stderr);
  const app = JSON.parse(a.stdout);
  assert.ok(app.client_id && app.client_secret);
  assert.deepEqual(app.redirectUris, ['https://crm.acme.test/cb', 'https://crm.acme.test/cb2']);
  const human = await cli(['app', 'create', '--tenant', 'acme', '--name', 'svc', '--display-name', 'Svc', '--type', 'service']);
  assert.match(human.stdout, /client_secret: \S{32,}/);
  assert.match(human.stdout, /not shown again/);
  const d = await cli(['app', 'deploy', '--tenant', 'acme', app.client_id, '--user', 'ann@acme.test']);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /deployed to user ann@acme\.test/);
  const list = await cli(['app', 'list', '--tenant', 'acme']);
  assert.match(list.stdout, /crm\s+CRM\s+web\s+Deployed/);
  const r = await cli(['keys', 'rotate', '--tenant', 'acme', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).activated.length, 2);
  const keys = await cli(['keys', 'list', '--tenant', 'acme', '--json']);
  assert.ok(JSON.parse(keys.stdout).some((k: any) => k.status === 'retired'));
});

test('bad arguments print usage and exit non-zero', async () => {
  for (const args of [['app', 'create', '--tenant', 'acme', '--name', 'x', '--display-name', 'X', '--type', 'desktop'], ['app', 'deploy', '--tenant', 'acme', 'id'], ['frobnicate'], ['tenant', 'show'], ['user', 'create', '--tenant', 'acme', '--email', 'a@b.test', '--bogus']]) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /Usage|Unknown command/);
  }
  const api = await cli(['app', 'create', '--tenant', 'acme', '--name', 'w', '--display-name', 'W', '--type', 'web', '--redirect-uri', 'http://evil.example/cb']);
  assert.equal(api.code, 1);
  assert.match(api.stderr, /use https/);
});

test('credentials: wrong password, none at all, and a token from `gatehouse token`', async () => {
  const wrong = await cli(['tenant', 'list'], { GATEHOUSE_ADMIN_PASSWORD: 'not-the-password' });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /email or password is incorrect/);
  const none = await cli(['tenant', 'list'], { GATEHOUSE_ADMIN_EMAIL: '', GATEHOUSE_ADMIN_PASSWORD: '' });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Set GATEHOUSE_ADMIN_EMAIL/);
  const t = await cli(['token', '--json']);
  const viaToken = await cli(['tenant', 'list', '--json'], { GATEHOUSE_ADMIN_EMAIL: '', GATEHOUSE_ADMIN_PASSWORD: '', GATEHOUSE_ADMIN_TOKEN: JSON.parse(t.stdout).access_token });
  assert.equal(viaToken.code, 0, viaToken.stderr);
  assert.ok(JSON.parse(viaToken.stdout).some((x: any) => x.slug === 'acme'));
});

test('a server that is not running gives a clear message', async () => {
  const r = await cli(['tenant', 'list'], { GATEHOUSE_URL: `http://127.0.0.1:${await freePort()}` });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Cannot reach Gatehouse at http:\/\/127\.0\.0\.1:\d+: is it running\? Set GATEHOUSE_URL\./);
});
