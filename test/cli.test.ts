// The gatehouse CLI, run as a separate process through bin/gatehouse.js, against a real
// Gatehouse started in this process (so the CLI runs with execFile, never execFileSync).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { freePort } from './helpers/server.ts';
import { GENEROUS_MS } from './helpers/wait.ts';
import os from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../src/server.ts';
import { loadConfig } from '../src/config/index.ts';
import { png } from './helpers/png.ts';
import { jwkWithCertificate } from './helpers/certs.ts';
import { Agent } from './helpers/agent.ts';
import { codeFlow, rpConfig } from './helpers/rp.ts';

const bin = path.resolve(import.meta.dirname, '..', 'bin', 'gatehouse.js');
const ADMIN = { email: 'admin@example.test', password: 'correct horse battery staple' };
// Settings the surrounding environment might carry that would change what the CLI does.
const CLEAN = { GATEHOUSE_ADMIN_TOKEN: '', GATEHOUSE_ADMIN_TENANT: '', DATABASE_URL: '', REDIS_URL: '', GATEHOUSE_PUBLIC_URL: '', GATEHOUSE_SECRET: '', GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: '', GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: '' };

let running: RunningServer | undefined;
let base: string;
const dirs: string[] = [];

const tempDir = () => { const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cli-')); dirs.push(d); return d; };

interface Result { code: number; stdout: string; stderr: string }
function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], {
      env: { ...process.env, ...CLEAN, GATEHOUSE_URL: base, GATEHOUSE_ADMIN_EMAIL: ADMIN.email, GATEHOUSE_ADMIN_PASSWORD: ADMIN.password, ...env },
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}
/** Run and expect success; return the parsed --json output (or stdout without --json). */
async function ok(args: string[], env?: Record<string, string>): Promise<any> {
  const r = await cli(args, env);
  assert.equal(r.code, 0, `gatehouse ${args.join(' ')} failed:\n${r.stderr}`);
  return args.includes('--json') ? JSON.parse(r.stdout) : r.stdout;
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  running = await startServer(loadConfig({
    PORT: String(port), HOST: '127.0.0.1', GATEHOUSE_DATA_DIR: tempDir(), GATEHOUSE_PUBLIC_URL: base,
    GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password, LOG_LEVEL: 'silent', GATEHOUSE_STRICT_API_RESPONSES: 'true',
  }));
});
after(async () => {
  await running?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test('help, version and per-command help', async () => {
  const h = await ok(['--help']);
  for (const c of ['start', 'tenant create', 'user create', 'app deploy', 'keys rotate', 'audit']) assert.match(h, new RegExp(`^  ${c} `, 'm'));
  assert.equal((await ok(['--version'])).trim(), JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  assert.match(await ok(['help', 'app', 'create']), /^Usage: gatehouse app create --tenant SLUG/);
  assert.match(await ok(['app', 'deploy', '--help']), /--all \| --user EMAIL/);
  assert.match(await ok(['help', 'keys']), /gatehouse keys list[\s\S]*gatehouse keys rotate/);
});

test('tenant create and show --json include the issuer', async () => {
  const created = await ok(['tenant', 'create', 'acme', '--name', 'Acme Corp', '--session-lifetime', '60', '--json']);
  assert.equal(created.issuer, `${base}/t/acme`);
  const t = await ok(['tenant', 'show', 'acme', '--json']);
  assert.equal(t.issuer, `${base}/t/acme`);
  assert.equal(t.name, 'Acme Corp');
  assert.equal(t.sessionLifetimeMinutes, 60);
  assert.match(await ok(['tenant', 'show', 'acme']), new RegExp(`issuer\\s+${base}/t/acme`));
  const list = await ok(['tenant', 'list', '--json']);
  assert.deepEqual(list.map((x: any) => x.slug).sort(), ['acme', 'default']);
});

test('users, groups and OUs', async () => {
  const u = await ok(['user', 'create', '--tenant', 'acme', '--email', 'ann@acme.test', '--password', 'ann-password-1', '--given-name', 'Ann', '--family-name', 'Lee', '--ou', '/Sales/EMEA', '--group', 'staff', '--group', 'crm-users', '--json']);
  assert.equal(u.email, 'ann@acme.test');
  assert.equal(u.ou, '/Sales/EMEA');
  assert.deepEqual([...u.groups].sort(), ['crm-users', 'staff']);
  await ok(['user', 'create', '--tenant', 'acme', '--email', 'bob@acme.test', '--password', 'bob-password-1']);
  assert.match(await ok(['group', 'create', '--tenant', 'acme', 'engineering']), /Created group engineering/);
  assert.match(await ok(['group', 'add-member', '--tenant', 'acme', 'engineering', 'bob@acme.test']), /Added bob@acme\.test to engineering/);
  assert.match(await ok(['ou', 'create', '--tenant', 'acme', '/Engineering/Platform']), /Created OU \/Engineering\/Platform/);
  assert.match(await ok(['user', 'disable', '--tenant', 'acme', 'bob@acme.test']), /bob@acme\.test is disabled/);
  const found = await ok(['user', 'list', '--tenant', 'acme', '--search', 'bob', '--json']);
  assert.deepEqual(found.map((x: any) => [x.email, x.status]), [['bob@acme.test', 'disabled']]);
  await ok(['user', 'enable', '--tenant', 'acme', 'bob@acme.test']);
  assert.match(await ok(['user', 'list', '--tenant', 'acme']), /bob@acme\.test\s+active/);
});

test('apps: create (secret shown once), deploy, show, secret, undeploy', async () => {
  const app = await ok(['app', 'create', '--tenant', 'acme', '--name', 'crm', '--display-name', 'CRM', '--type', 'web', '--redirect-uri', 'https://crm.acme.test/cb', '--redirect-uri', 'https://crm.acme.test/cb2', '--json']);
  assert.ok(app.client_id && app.client_secret, 'client_id and client_secret in --json output');
  assert.equal(app.client_id, app.clientId);
  assert.deepEqual(app.redirectUris, ['https://crm.acme.test/cb', 'https://crm.acme.test/cb2']);
  assert.equal(app.metadata.issuer, `${base}/t/acme`);

  const human = await ok(['app', 'create', '--tenant', 'acme', '--name', 'svc', '--display-name', 'Svc', '--type', 'service', '--client-id', 'svc-client-1']);
  assert.match(human, /client_id:\s+svc-client-1/);
  assert.match(human, /client_secret: \S{32,}/);
  assert.match(human, /shown only once/);
  const handoff = await ok(['app', 'create', '--tenant', 'acme', '--name', 'portal', '--display-name', 'Portal', '--type', 'handoff', '--login-redirect-url', 'https://portal.acme.test/gatehouse/login', '--refresh-token-minutes', '60', '--outlive-session', '--password-grant', '--json']);
  assert.equal(handoff.refreshTokenMinutes, 60);
  assert.equal(handoff.outliveSession, true, '--outlive-session');
  assert.equal(handoff.passwordGrant, true);
  assert.match(await ok(['app', 'show', '--tenant', 'acme', handoff.client_id]), /Portal/);
  assert.match(handoff.launchUrl, new RegExp(`/t/acme/launch/${handoff.client_id}$`));
  // A service that signs its token requests with its own key (private_key_jwt) registers that key.
  const jwksFile = path.join(tempDir(), 'jwks.json');
  fs.writeFileSync(jwksFile, JSON.stringify({ keys: [(await jwkWithCertificate(new Date(Date.now() + 365 * 86400_000))).publicJwk] }));
  const signer = await ok(['app', 'create', '--tenant', 'acme', '--name', 'signer', '--display-name', 'Signer', '--type', 'service', '--jwks', jwksFile, '--client-auth', 'private_key_jwt', '--json']);
  assert.equal(signer.clientAuthMethod, 'private_key_jwt');
  assert.equal(signer.jwks.keys[0].kid, 'rp-key-1');
  assert.match(await ok(['app', 'show', '--tenant', 'acme', signer.client_id]), /client authentication\s+private_key_jwt/);
  const keyless = await cli(['app', 'create', '--tenant', 'acme', '--name', 'signer2', '--display-name', 'Signer', '--type', 'service', '--client-auth', 'private_key_jwt']);
  assert.equal(keyless.code, 1);
  assert.match(keyless.stderr, /register them in jwks/);

  assert.match(await ok(['app', 'deploy', '--tenant', 'acme', app.client_id, '--user', 'ann@acme.test']), /deployed to user ann@acme\.test/);
  const deployed = await ok(['app', 'deploy', '--tenant', 'acme', app.client_id, '--group', 'engineering', '--json']);
  assert.deepEqual(deployed.deployment.targets.map((t: any) => `${t.type} ${t.label}`).sort(), ['group engineering', 'user ann@acme.test']);
  assert.match(await ok(['app', 'list', '--tenant', 'acme']), new RegExp(`${app.client_id}\\s+crm\\s+CRM\\s+web\\s+Deployed`));
  assert.match(await ok(['app', 'show', '--tenant', 'acme', app.client_id]), /deployed to\s+user ann@acme\.test, group engineering/);

  const secret = await ok(['app', 'secret', '--tenant', 'acme', app.client_id, '--json']);
  assert.equal(secret.client_id, app.client_id);
  assert.ok(secret.client_secret && secret.client_secret !== app.client_secret);

  await ok(['app', 'undeploy', '--tenant', 'acme', app.client_id]);
  assert.equal((await ok(['app', 'show', '--tenant', 'acme', app.client_id, '--json'])).deployed, false);
});

test('keys: rotate and list', async () => {
  const r = await ok(['keys', 'rotate', '--tenant', 'acme', '--json']);
  assert.equal(r.activated.length, 2);
  const keys = await ok(['keys', 'list', '--tenant', 'acme', '--json']);
  assert.ok(keys.some((k: any) => k.status === 'retired'));
  assert.ok(keys.every((k: any) => typeof k.expiresSoon === 'boolean'));
  const one = await ok(['keys', 'rotate', '--tenant', 'acme', '--alg', 'ES256', '--json']);
  assert.equal(one.activated.length, 1);
  assert.match(await ok(['keys', 'list', '--tenant', 'acme']), /ES256\s+active\s+certificate expires \d{4}-\d\d-\d\d/);
});

test('audit shows what the commands did', async () => {
  const events = await ok(['audit', '--tenant', 'acme', '--type', 'admin.app.created', '--json']);
  assert.equal(events.length, 4, 'crm, svc, portal and signer');
  assert.ok(events.every((e: any) => e.actor === ADMIN.email));
  assert.equal((await ok(['audit', '--tenant', 'acme', '--limit', '1', '--json'])).length, 1);
  assert.match(await ok(['audit', '--tenant', 'acme', '--text', 'bob@acme.test']), /admin\.user\.\w+/);
});

test('bad arguments print the usage to stderr and exit 2', async () => {
  const cases = [
    ['app', 'create', '--tenant', 'acme', '--name', 'x', '--display-name', 'X', '--type', 'desktop'],
    ['app', 'create', '--tenant', 'acme', '--name', 'x', '--type', 'web'],
    ['app', 'create', '--tenant', 'acme', '--name', 'x', '--display-name', 'X', '--type', 'service', '--client-auth', 'mtls'],
    ['app', 'create', '--tenant', 'acme', '--name', 'x', '--display-name', 'X', '--type', 'service', '--jwks', '/nonexistent/jwks.json'],
    ['app', 'deploy', '--tenant', 'acme', 'some-client'],
    ['app', 'deploy', '--tenant', 'acme', 'some-client', '--all', '--user', 'ann@acme.test'],
    ['user', 'create', '--tenant', 'acme', '--email', 'a@b.test'],
    ['user', 'create', '--tenant', 'acme', '--email', 'a@b.test', '--password', 'long-enough-1', '--bogus'],
    ['user', 'list'],
    ['tenant', 'show'],
    ['tenant', 'show', 'a', 'b'],
    ['tenant', 'create', 'x', '--session-lifetime', 'soon'],
    ['keys', 'rotate', '--tenant', 'acme', '--alg', 'HS256'],
    ['audit', '--tenant', 'acme', '--limit', '0'],
  ];
  for (const args of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`Usage: gatehouse ${args[0]}`), args.join(' '));
    assert.equal(r.stdout, '');
  }
  // A connector that could not save its key would have spent its one-time code for nothing: it stops before connecting.
  // (sysfs refuses new directories even to root, who may write anywhere else.)
  const unwritable = await cli(['connector', '--enterprise-id', 'acme', '--code', 'ABCD-EFGH', '--state', '/sys/gatehouse/connector.json']);
  assert.equal(unwritable.code, 2, unwritable.stderr);
  assert.match(unwritable.stderr, /Cannot write the connector's state file \/sys\/gatehouse\/connector\.json .*the provisioning code was not used/);
  for (const args of [['frobnicate'], ['app'], ['app', 'frobnicate'], ['help', 'frobnicate']]) {
    const r = await cli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /Unknown command|needs a subcommand/);
    assert.match(r.stderr, /Usage/);
  }
});

test('API errors print the server\'s message and exit 1', async () => {
  const r = await cli(['app', 'create', '--tenant', 'acme', '--name', 'w', '--display-name', 'W', '--type', 'web', '--redirect-uri', 'http://evil.example/cb']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /https/);
  const missing = await cli(['tenant', 'show', 'nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Tenant "nope" was not found/);
  const dup = await cli(['tenant', 'create', 'acme']);
  assert.equal(dup.code, 1);
  assert.notEqual(dup.stderr.trim(), '');
});

test('credentials: wrong password, none at all, a token from `gatehouse token`', async () => {
  const wrong = await cli(['tenant', 'list'], { GATEHOUSE_ADMIN_PASSWORD: 'not-the-password' });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /email or password is incorrect/);
  const none = await cli(['tenant', 'list'], { GATEHOUSE_ADMIN_EMAIL: '', GATEHOUSE_ADMIN_PASSWORD: '' });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /GATEHOUSE_ADMIN_EMAIL and GATEHOUSE_ADMIN_PASSWORD/);
  assert.match(none.stderr, /GATEHOUSE_ADMIN_TOKEN/);
  const { access_token } = await ok(['token', '--json']);
  const viaToken = await ok(['tenant', 'list', '--json'], { GATEHOUSE_ADMIN_EMAIL: '', GATEHOUSE_ADMIN_PASSWORD: '', GATEHOUSE_ADMIN_TOKEN: access_token });
  assert.ok(viaToken.some((x: any) => x.slug === 'acme'));
  const bad = await cli(['tenant', 'list'], { GATEHOUSE_ADMIN_TOKEN: 'not.a.token' });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /gatehouse token/);
});

test('a tenant-scoped administrator signs in with GATEHOUSE_ADMIN_TENANT', async () => {
  await ok(['user', 'create', '--tenant', 'acme', '--email', 'it@acme.test', '--password', 'it-password-12', '--role', 'admin']);
  const env = { GATEHOUSE_ADMIN_EMAIL: 'it@acme.test', GATEHOUSE_ADMIN_PASSWORD: 'it-password-12', GATEHOUSE_ADMIN_TENANT: 'acme' };
  assert.ok((await ok(['user', 'list', '--tenant', 'acme', '--json'], env)).length >= 3);
  const other = await cli(['user', 'list', '--tenant', 'default'], env);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /does not allow this/);
});

test('the role hierarchy reaches the person: an admin cannot disable or sign out a superadmin, and is told who can', async () => {
  await ok(['user', 'create', '--tenant', 'acme', '--email', 'owner@acme.test', '--password', 'owner-password-12', '--role', 'superadmin']);
  await ok(['user', 'create', '--tenant', 'acme', '--email', 'ops@acme.test', '--password', 'ops-password-123', '--role', 'admin']);
  const env = { GATEHOUSE_ADMIN_EMAIL: 'ops@acme.test', GATEHOUSE_ADMIN_PASSWORD: 'ops-password-123', GATEHOUSE_ADMIN_TENANT: 'acme' };
  for (const args of [['user', 'disable', '--tenant', 'acme', 'owner@acme.test'], ['session', 'end-all', '--tenant', 'acme', 'owner@acme.test']]) {
    const r = await cli(args, env);
    assert.equal(r.code, 1, `gatehouse ${args.join(' ')} must be refused`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^owner@acme\.test holds the superadmin role, which you do not hold: .* It needs: superadmin\.\n$/);
  }
  const owner = (await ok(['user', 'list', '--tenant', 'acme', '--search', 'owner@', '--json'])).find((u: any) => u.email === 'owner@acme.test');
  assert.equal(owner.status, 'active');
  // Granting a role one does not hold is refused the same way.
  const grant = await cli(['user', 'create', '--tenant', 'acme', '--email', 'x@acme.test', '--password', 'x-password-1234', '--role', 'superadmin'], env);
  assert.equal(grant.code, 1);
  assert.match(grant.stderr, /You may grant only roles you hold .* It needs: superadmin\./);
});

test('start: one process with a notice for --workers, graceful stop on Ctrl-C', async () => {
  const port = await freePort();
  // Its own process group, signalled as a whole like a terminal's Ctrl-C: the server gets
  // SIGINT directly and forwarded by the launcher, and must still shut down cleanly.
  const child = spawn(process.execPath, [bin, 'start', '--workers', '4'], {
    detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...CLEAN, PORT: String(port), HOST: '127.0.0.1', GATEHOUSE_DATA_DIR: tempDir(), LOG_LEVEL: 'silent' },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stdout}\n${stderr}`)), GENEROUS_MS);
    child.stdout.on('data', (d) => { stdout += d; if (stdout.includes('Admin API:')) { clearTimeout(timer); resolve(); } });
    child.on('exit', () => { clearTimeout(timer); reject(new Error(`server exited:\n${stdout}\n${stderr}`)); });
  });
  assert.match(stderr, /Gatehouse runs one process on the embedded SQLite store: a SQLite data directory belongs to one process. To use several workers \(or nodes\), set DATABASE_URL \(and REDIS_URL\)/);
  assert.equal((await fetch(`http://127.0.0.1:${port}/t/default/.well-known/openid-configuration`)).status, 200);
  process.kill(-child.pid!, 'SIGINT');
  assert.equal(await exited, 0, stderr);
});

test('branding, sessions, groups and audit exports from the command line', async () => {
  // Branding: a logo file (checked by the server), a colour, the session lifetime.
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'logo.png'), png(120, 60));
  fs.writeFileSync(path.join(dir, 'huge.png'), png(400, 300));
  assert.match(await ok(['branding', 'set', '--tenant', 'acme', '--background-color', '#123456', '--logo', path.join(dir, 'logo.png'), '--session-lifetime', '90']), /Saved/);
  const b = await ok(['branding', 'show', '--tenant', 'acme', '--json']);
  assert.equal(b.backgroundColor, '#123456');
  assert.equal(b.logo, `data:image/png;base64,${png(120, 60).toString('base64')}`);
  assert.match(await ok(['branding', 'show', '--tenant', 'acme']), /background colour\s+#123456[\s\S]*logo\s+image\/png[\s\S]*session lifetime\s+90 minutes/);
  const huge = await cli(['branding', 'set', '--tenant', 'acme', '--logo', path.join(dir, 'huge.png')]);
  assert.equal(huge.code, 1);
  assert.match(huge.stderr, /400 x 300 pixels; it may be at most 200 x 150/);
  assert.equal((await cli(['branding', 'set', '--tenant', 'acme'])).code, 2);
  await ok(['branding', 'set', '--tenant', 'acme', '--background-color', 'none', '--logo', 'none', '--session-lifetime', '120']);
  assert.match(await ok(['branding', 'show', '--tenant', 'acme']), /background colour\s+none/);

  // Sessions: ann signs in to an app (set up through the API: these commands are tested above).
  const tok = (await (await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })).json() as any).access_token;
  const api = async (method: string, p: string, body?: unknown) => (await fetch(`${base}/api/v1${p}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` }, body: JSON.stringify(body) })).json() as Promise<any>;
  const app = await api('POST', '/tenants/acme/apps', { name: 'sso-cli', displayName: 'SSO CLI', type: 'web', redirectUris: ['https://cli.acme.test/cb'] });
  await api('POST', `/tenants/acme/apps/${app.clientId}/deployment/targets`, { type: 'user', ref: 'ann@acme.test' });
  const config = await rpConfig(`${base}/t/acme`, app.clientId, app.clientSecret);
  await codeFlow(config, new Agent(), { redirectUri: 'https://cli.acme.test/cb', email: 'ann@acme.test', password: 'ann-password-1' });
  await codeFlow(config, new Agent(), { redirectUri: 'https://cli.acme.test/cb', email: 'ann@acme.test', password: 'ann-password-1' });
  const sessions = await ok(['session', 'list', '--tenant', 'acme', '--user', 'ann@acme.test', '--json']);
  assert.equal(sessions.length, 2);
  assert.match(await ok(['session', 'list', '--tenant', 'acme']), /ann@acme\.test\s+.*127\.0\.0\.1\s+started \d{4}-\d\d-\d\d \d\d:\d\d\s+last seen .*SSO CLI/);
  assert.match(await ok(['session', 'end', '--tenant', 'acme', '--', sessions[0].id]), /Ended session/);
  const again = await cli(['session', 'end', '--tenant', 'acme', '--', sessions[0].id]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /was not found/);
  // Session IDs may start with "-": without "--" the CLI says how to pass one.
  const dash = await cli(['session', 'end', '--tenant', 'acme', '-Sx1']);
  assert.equal(dash.code, 2);
  assert.match(dash.stderr, /place it at the end of the command after '--'[\s\S]*Usage: gatehouse session end --tenant SLUG \[--json\] \[--\] SESSION_ID/);
  assert.deepEqual(await ok(['session', 'end-all', '--tenant', 'acme', 'ann@acme.test', '--json']), { ended: 1 });

  assert.match(await ok(['group', 'list', '--tenant', 'acme']), /engineering\s+1 member/);

  // Audit: filters by user and app; exports to a file or stdout.
  const ann = await ok(['audit', '--tenant', 'acme', '--user', 'ann@acme.test', '--type', 'session.ended', '--json']);
  assert.equal(ann.length, 2);
  const tokens = await ok(['audit', '--tenant', 'acme', '--app', 'sso-cli', '--type', 'token.issued', '--json']);
  assert.deepEqual(tokens.map((e: any) => e.clientId), [app.clientId, app.clientId]);
  const file = path.join(dir, 'audit.csv');
  const r = await cli(['audit', 'export', '--tenant', 'acme', '--user', 'ann@acme.test', '--since', '2000-01-01', '--output', file]);
  assert.equal(r.code, 0, r.stderr);
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\r\n');
  assert.equal(lines[0], 'id,time,level,type,actor,subject,userId,clientId,ip,message,data');
  assert.ok(lines.length > 3);
  const json = JSON.parse((await cli(['audit', 'export', '--tenant', 'acme', '--format', 'json', '--type', 'session.ended'])).stdout);
  assert.deepEqual(json.map((e: any) => e.type), ['session.ended', 'session.ended']);
  assert.equal((await cli(['audit', 'export', '--tenant', 'acme', '--since', 'yesterday'])).code, 2);
});

test('a stopped server gives the connection message', async () => {
  await running!.stop();
  running = undefined;
  const r = await cli(['tenant', 'list']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `Cannot reach Gatehouse at ${base}: is it running? Set GATEHOUSE_URL.`);
});
