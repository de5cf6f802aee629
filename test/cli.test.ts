// The gatehouse CLI, run as a separate process through bin/gatehouse.js, against a real
// Gatehouse started in this process (so the CLI runs with execFile, never execFileSync).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { freePort, LOOPBACK_OUTBOUND } from './helpers/server.ts';
import { GENEROUS_MS } from './helpers/wait.ts';
import os from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../src/server.ts';
import { loadConfig } from '../src/config/index.ts';
import { png } from './helpers/png.ts';
import { jwkWithCertificate } from './helpers/certs.ts';
import { Agent } from './helpers/agent.ts';
import { codeFlow, rpConfig } from './helpers/rp.ts';
import { startUpstream } from './helpers/upstream.ts';

const bin = path.resolve(import.meta.dirname, '..', 'bin', 'gatehouse.js');
const ADMIN = { email: 'admin@example.test', password: 'correct horse battery staple' };
// Settings the surrounding environment might carry that would change what the CLI does.
const CLEAN = {
  GATEHOUSE_ADMIN_TOKEN: '',
  GATEHOUSE_ADMIN_TENANT: '',
  DATABASE_URL: '',
  REDIS_URL: '',
  GATEHOUSE_PUBLIC_URL: '',
  GATEHOUSE_SECRET: '',
  GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: '',
  GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: '',
};

let running: RunningServer | undefined;
let base: string;
const dirs: string[] = [];

const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cli-'));
  dirs.push(d);
  return d;
};

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
function cli(args: string[], env: Record<string, string> = {}, input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      {
        env: { ...process.env, ...CLEAN, GATEHOUSE_URL: base, GATEHOUSE_ADMIN_EMAIL: ADMIN.email, GATEHOUSE_ADMIN_PASSWORD: ADMIN.password, ...env },
      },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}
/** Run and expect success; return the parsed --json output (or stdout without --json). */
async function ok(args: string[], env?: Record<string, string>, input?: string): Promise<any> {
  const r = await cli(args, env, input);
  assert.equal(r.code, 0, `gatehouse ${args.join(' ')} failed:\n${r.stderr}`);
  return args.includes('--json') ? JSON.parse(r.stdout) : r.stdout;
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  running = await startServer(
    loadConfig({
      PORT: String(port),
      HOST: '127.0.0.1',
      GATEHOUSE_DATA_DIR: tempDir(),
      GATEHOUSE_PUBLIC_URL: base,
      GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
      GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'silent',
      GATEHOUSE_STRICT_API_RESPONSES: 'true',
      ...LOOPBACK_OUTBOUND, // the upstream commands are tried against an OpenID provider on this machine
    }),
  );
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
  const u = await ok([
    'user',
    'create',
    '--tenant',
    'acme',
    '--email',
    'ann@acme.test',
    '--password',
    'ann-password-1',
    '--given-name',
    'Ann',
    '--family-name',
    'Lee',
    '--ou',
    '/Sales/EMEA',
    '--group',
    'staff',
    '--group',
    'crm-users',
    '--json',
  ]);
  assert.equal(u.email, 'ann@acme.test');
  assert.equal(u.ou, '/Sales/EMEA');
  assert.deepEqual([...u.groups].sort(), ['crm-users', 'staff']);
  await ok(['user', 'create', '--tenant', 'acme', '--email', 'bob@acme.test', '--password', 'bob-password-1']);
  assert.match(await ok(['group', 'create', '--tenant', 'acme', 'engineering']), /Created group engineering/);
  assert.match(await ok(['group', 'add-member', '--tenant', 'acme', 'engineering', 'bob@acme.test']), /Added bob@acme\.test to engineering/);
  assert.match(await ok(['ou', 'create', '--tenant', 'acme', '/Engineering/Platform']), /Created OU \/Engineering\/Platform/);
  assert.match(await ok(['user', 'disable', '--tenant', 'acme', 'bob@acme.test']), /bob@acme\.test is disabled/);
  const found = await ok(['user', 'list', '--tenant', 'acme', '--search', 'bob', '--json']);
  assert.deepEqual(
    found.map((x: any) => [x.email, x.status]),
    [['bob@acme.test', 'disabled']],
  );
  await ok(['user', 'enable', '--tenant', 'acme', 'bob@acme.test']);
  assert.match(await ok(['user', 'list', '--tenant', 'acme']), /bob@acme\.test\s+active/);
});

test('apps: create (secret shown once), deploy, show, secret, undeploy', async () => {
  const app = await ok([
    'app',
    'create',
    '--tenant',
    'acme',
    '--name',
    'crm',
    '--display-name',
    'CRM',
    '--type',
    'web',
    '--redirect-uri',
    'https://crm.acme.test/cb',
    '--redirect-uri',
    'https://crm.acme.test/cb2',
    '--json',
  ]);
  assert.ok(app.client_id && app.client_secret, 'client_id and client_secret in --json output');
  assert.equal(app.client_id, app.clientId);
  assert.deepEqual(app.redirectUris, ['https://crm.acme.test/cb', 'https://crm.acme.test/cb2']);
  assert.equal(app.metadata.issuer, `${base}/t/acme`);

  const human = await ok(['app', 'create', '--tenant', 'acme', '--name', 'svc', '--display-name', 'Svc', '--type', 'service', '--client-id', 'svc-client-1']);
  assert.match(human, /client_id:\s+svc-client-1/);
  assert.match(human, /client_secret: \S{32,}/);
  assert.match(human, /shown only once/);
  const handoff = await ok([
    'app',
    'create',
    '--tenant',
    'acme',
    '--name',
    'portal',
    '--display-name',
    'Portal',
    '--type',
    'handoff',
    '--login-redirect-url',
    'https://portal.acme.test/gatehouse/login',
    '--refresh-token-minutes',
    '60',
    '--outlive-session',
    '--password-grant',
    '--json',
  ]);
  assert.equal(handoff.refreshTokenMinutes, 60);
  assert.equal(handoff.outliveSession, true, '--outlive-session');
  assert.equal(handoff.passwordGrant, true);
  assert.match(await ok(['app', 'show', '--tenant', 'acme', handoff.client_id]), /Portal/);
  assert.match(handoff.launchUrl, new RegExp(`/t/acme/launch/${handoff.client_id}$`));
  // A service that signs its token requests with its own key (private_key_jwt) registers that key.
  const jwksFile = path.join(tempDir(), 'jwks.json');
  fs.writeFileSync(jwksFile, JSON.stringify({ keys: [(await jwkWithCertificate(new Date(Date.now() + 365 * 86400_000))).publicJwk] }));
  const signer = await ok([
    'app',
    'create',
    '--tenant',
    'acme',
    '--name',
    'signer',
    '--display-name',
    'Signer',
    '--type',
    'service',
    '--jwks',
    jwksFile,
    '--client-auth',
    'private_key_jwt',
    '--json',
  ]);
  assert.equal(signer.clientAuthMethod, 'private_key_jwt');
  assert.equal(signer.jwks.keys[0].kid, 'rp-key-1');
  assert.match(await ok(['app', 'show', '--tenant', 'acme', signer.client_id]), /client authentication\s+private_key_jwt/);
  const keyless = await cli([
    'app',
    'create',
    '--tenant',
    'acme',
    '--name',
    'signer2',
    '--display-name',
    'Signer',
    '--type',
    'service',
    '--client-auth',
    'private_key_jwt',
  ]);
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
  // The tenant's next keys were published seconds ago: rotate schedules them, --now refuses.
  const safe = await ok(['keys', 'rotate', '--tenant', 'acme', '--json']);
  assert.deepEqual(safe.activated, []);
  assert.equal(safe.scheduled.length, 2);
  const refused = await cli(['keys', 'rotate', '--tenant', 'acme', '--now']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /published only 0 hours ago.*--force/s);
  const r = await ok(['keys', 'rotate', '--tenant', 'acme', '--now', '--force', '--json']);
  assert.equal(r.activated.length, 2);
  const keys = await ok(['keys', 'list', '--tenant', 'acme', '--json']);
  assert.ok(keys.some((k: any) => k.status === 'retired'));
  assert.ok(keys.every((k: any) => Object.keys(k).join() === 'kid,alg,status,publishedAt,activatesAt,notAfter'));
  const one = await ok(['keys', 'rotate', '--tenant', 'acme', '--alg', 'ES256', '--now', '--force', '--json']);
  assert.equal(one.activated.length, 1);
  assert.match(
    await ok(['keys', 'list', '--tenant', 'acme']),
    /ES256\s+active\s+published \d{4}-\d\d-\d\d\s+signed from \d{4}-\d\d-\d\d\s+certificate expires \d{4}-\d\d-\d\d/,
  );
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

test("API errors print the server's message and exit 1", async () => {
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
  for (const args of [
    ['user', 'disable', '--tenant', 'acme', 'owner@acme.test'],
    ['session', 'end-all', '--tenant', 'acme', 'owner@acme.test'],
  ]) {
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
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...CLEAN, PORT: String(port), HOST: '127.0.0.1', GATEHOUSE_DATA_DIR: tempDir(), LOG_LEVEL: 'silent' },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stdout}\n${stderr}`)), GENEROUS_MS);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('Admin API:')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`server exited:\n${stdout}\n${stderr}`));
    });
  });
  assert.match(
    stderr,
    /Gatehouse runs one process on the embedded SQLite store: a SQLite data directory belongs to one process. To use several workers \(or nodes\), set DATABASE_URL \(and REDIS_URL\)/,
  );
  assert.equal((await fetch(`http://127.0.0.1:${port}/t/default/.well-known/openid-configuration`)).status, 200);
  process.kill(-child.pid!, 'SIGINT');
  assert.equal(await exited, 0, stderr);
});

test('branding, sessions, groups and audit exports from the command line', async () => {
  // Branding: a logo file (checked by the server), a colour, the session lifetime.
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'logo.png'), png(120, 60));
  fs.writeFileSync(path.join(dir, 'huge.png'), png(400, 300));
  assert.match(
    await ok(['branding', 'set', '--tenant', 'acme', '--background-color', '#123456', '--logo', path.join(dir, 'logo.png'), '--session-lifetime', '90']),
    /Saved/,
  );
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
  const tok = (
    (await (
      await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
    ).json()) as any
  ).access_token;
  const api = async (method: string, p: string, body?: unknown) =>
    (
      await fetch(`${base}/api/v1${p}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` }, body: JSON.stringify(body) })
    ).json() as Promise<any>;
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
  assert.deepEqual(
    tokens.map((e: any) => e.clientId),
    [app.clientId, app.clientId],
  );
  const file = path.join(dir, 'audit.csv');
  const r = await cli(['audit', 'export', '--tenant', 'acme', '--user', 'ann@acme.test', '--since', '2000-01-01', '--output', file]);
  assert.equal(r.code, 0, r.stderr);
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\r\n');
  assert.equal(lines[0], 'id,time,level,type,actor,subject,userId,clientId,ip,message,data');
  assert.ok(lines.length > 3);
  const json = JSON.parse((await cli(['audit', 'export', '--tenant', 'acme', '--format', 'json', '--type', 'session.ended'])).stdout);
  assert.deepEqual(
    json.map((e: any) => e.type),
    ['session.ended', 'session.ended'],
  );
  assert.equal((await cli(['audit', 'export', '--tenant', 'acme', '--since', 'yesterday'])).code, 2);
});

// ---- the CLI covers what the API does (issue 21.7)

const adminToken = async (creds: { email: string; password: string; tenant?: string } = ADMIN) =>
  (
    (await (
      await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(creds) })
    ).json()) as { access_token: string }
  ).access_token;
const OPS = { GATEHOUSE_ADMIN_EMAIL: 'ops@acme.test', GATEHOUSE_ADMIN_PASSWORD: 'ops-password-123', GATEHOUSE_ADMIN_TENANT: 'acme' };
/** A refusal: exit 1, nothing on stdout, one line on stderr matching `message`. */
async function refused(args: string[], env: Record<string, string>, message: RegExp, input?: string) {
  const r = await cli(args, env, input);
  assert.equal(r.code, 1, `gatehouse ${args.join(' ')} must be refused: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, message, args.join(' '));
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
}

test('help lists every noun and verb the API has for an administrator', async () => {
  const h = await ok(['--help']);
  for (const c of [
    'group members',
    'group remove-member',
    'group delete',
    'ou list',
    'ou delete',
    'domain add',
    'domain list',
    'app delete',
    'app update',
    'user update',
    'tenant update',
    'user show',
    'user delete',
    'user unlock',
    'user reset-mfa',
    'user set-password',
    'user sessions',
    'user policy',
    'session end',
    'policy list',
    'policy show',
    'policy create',
    'policy update',
    'policy delete',
    'upstream list',
    'upstream show',
    'upstream create',
    'upstream update',
    'upstream test',
    'upstream delete',
    'overview',
    'whoami',
    'group show',
    'group update',
    'directory create',
    'directory update',
    'directory show',
    'user mfa',
    'directory delete',
    'directory test',
    'directory sync',
  ])
    assert.match(h, new RegExp(`^  ${c} `, 'm'), c);
  assert.match(
    await ok(['help', 'user']),
    /gatehouse user delete[\s\S]*gatehouse user unlock[\s\S]*gatehouse user reset-mfa[\s\S]*gatehouse user set-password[\s\S]*gatehouse user sessions/,
  );
  assert.match(await ok(['help', 'policy']), /gatehouse policy create --tenant SLUG --name NAME --priority N/);
  assert.match(await ok(['upstream', 'create', '--help']), /--client-secret SECRET\|-/);
  assert.match(await ok(['help', 'directory']), /gatehouse directory create[\s\S]*gatehouse directory show/);
  assert.match(await ok(['user', 'list', '--help']), /--limit N\] \[--cursor CURSOR\]/);
});

test('lists page through everything, or give one page with --limit/--cursor and say there is more', async () => {
  await ok(['tenant', 'create', 'big']);
  const tok = await adminToken();
  const emails = Array.from({ length: 205 }, (_, i) => `u${String(i).padStart(3, '0')}@big.test`);
  for (let i = 0; i < emails.length; i += 15) {
    await Promise.all(
      emails.slice(i, i + 15).map(async (email) => {
        const r = await fetch(`${base}/api/v1/tenants/big/users`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` },
          body: JSON.stringify({ email }),
        });
        assert.equal(r.status, 201, await r.text());
      }),
    );
  }
  // More than one API page (200): every user, as a table and as JSON.
  const all = await ok(['user', 'list', '--tenant', 'big', '--json']);
  assert.deepEqual(
    all.map((u: any) => u.email),
    emails,
  );
  const lines = (await ok(['user', 'list', '--tenant', 'big'])).trimEnd().split('\n');
  assert.equal(lines.length, 205);

  // One page: JSON carries nextCursor; the next run with it gets the rest, nothing twice.
  const first = await ok(['user', 'list', '--tenant', 'big', '--limit', '150', '--json']);
  assert.equal(first.items.length, 150);
  assert.equal(typeof first.nextCursor, 'string');
  const rest = await ok(['user', 'list', '--tenant', 'big', '--limit', '150', '--cursor', first.nextCursor, '--json']);
  assert.equal(rest.nextCursor, null);
  assert.deepEqual(
    [...first.items, ...rest.items].map((u: any) => u.email),
    emails,
  );
  // --limit above the API's page size still gives exactly that many, and where to go on.
  const wide = await ok(['user', 'list', '--tenant', 'big', '--limit', '201', '--json']);
  assert.equal(wide.items.length, 201);
  assert.deepEqual(
    (await ok(['user', 'list', '--tenant', 'big', '--cursor', wide.nextCursor, '--json'])).items.map((u: any) => u.email),
    emails.slice(201),
  );

  // As a table, the page goes to stdout and how to get the next one to stderr; that command works.
  const page = await cli(['user', 'list', '--tenant', 'big', '--limit', '3']);
  assert.equal(page.code, 0, page.stderr);
  assert.equal(page.stdout.trimEnd().split('\n').length, 3);
  const next = /There is more: run `gatehouse (user list --tenant big --limit 3 --cursor \S+)` for the next page\./.exec(page.stderr);
  assert.ok(next, page.stderr);
  assert.match(await ok(next[1]!.split(' ')), /^u003@big\.test/);
  const last = await cli(['user', 'list', '--tenant', 'big', '--limit', '5', '--cursor', wide.nextCursor]);
  assert.equal(last.stderr, '', 'no "more" on the last page');

  assert.equal((await cli(['user', 'list', '--tenant', 'big', '--limit', '0'])).code, 2);
  await refused(['user', 'list', '--tenant', 'big', '--cursor', 'not-a-cursor'], {}, /The cursor is not one this list gave out/);

  // The audit page says there is more, and --cursor gets it.
  const audit = await cli(['audit', '--tenant', 'big', '--limit', '1', '--json']);
  const cursor = /--cursor (\S+)/.exec(audit.stderr)?.[1];
  assert.ok(cursor, audit.stderr);
  const [newest] = JSON.parse(audit.stdout);
  const [older] = await ok(['audit', '--tenant', 'big', '--limit', '1', '--cursor', cursor, '--json']);
  assert.ok(older.at <= newest.at && older.id !== newest.id);
});

test('users: show, set-password (from stdin), unlock, reset-mfa, sessions, delete; refused on a superadmin', async () => {
  await ok([
    'user',
    'create',
    '--tenant',
    'acme',
    '--email',
    'carl@acme.test',
    '--password',
    'carl-old-password',
    '--role',
    'helpdesk',
    '--group',
    'engineering',
  ]);
  assert.match(await ok(['user', 'show', '--tenant', 'acme', 'carl@acme.test']), /status\s+active[\s\S]*groups\s+engineering[\s\S]*roles\s+helpdesk/);

  // A password from standard input (never on the command line): the old one stops working.
  assert.match(
    await ok(['user', 'set-password', '--tenant', 'acme', 'carl@acme.test', '--password', '-'], {}, 'carl-new-password\n'),
    /Set a new password for carl@acme\.test/,
  );
  const carl = { GATEHOUSE_ADMIN_EMAIL: 'carl@acme.test', GATEHOUSE_ADMIN_TENANT: 'acme' };
  assert.ok((await ok(['token', '--json'], { ...carl, GATEHOUSE_ADMIN_PASSWORD: 'carl-new-password' })).access_token);
  await refused(['token'], { ...carl, GATEHOUSE_ADMIN_PASSWORD: 'carl-old-password' }, /email or password is incorrect/);
  assert.equal((await cli(['user', 'set-password', '--tenant', 'acme', 'carl@acme.test', '--password', '-'], {}, '')).code, 2, 'empty stdin');
  await refused(['user', 'set-password', '--tenant', 'acme', 'carl@acme.test', '--password', 'short'], {}, /password: must be at least 8 characters/);

  assert.match(await ok(['user', 'unlock', '--tenant', 'acme', 'carl@acme.test']), /carl@acme\.test may sign in again/);
  assert.match(await ok(['user', 'reset-mfa', '--tenant', 'acme', 'carl@acme.test']), /Reset two-step verification of carl@acme\.test/);
  assert.match(await ok(['user', 'mfa', '--tenant', 'acme', 'carl@acme.test']), /carl@acme\.test has no second factor\.\nRecovery codes left: 0/);
  assert.deepEqual(await ok(['user', 'mfa', '--tenant', 'acme', 'carl@acme.test', '--json']), { items: [], recoveryCodesLeft: 0 });
  const events = await ok(['audit', '--tenant', 'acme', '--user', 'carl@acme.test', '--json']);
  for (const type of ['admin.user.unlocked', 'admin.user.mfa_reset', 'admin.user.updated'])
    assert.ok(
      events.some((e: any) => e.type === type),
      type,
    );

  // Sessions: carl signs in to an app twice; `user sessions` lists them; `session end` ends one.
  const tok = await adminToken();
  const api = async (method: string, p: string, body?: unknown) =>
    (
      await fetch(`${base}/api/v1${p}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` }, body: JSON.stringify(body) })
    ).json() as Promise<any>;
  const app = await api('POST', '/tenants/acme/apps', { name: 'carl-app', displayName: 'Carl App', type: 'web', redirectUris: ['https://carl.acme.test/cb'] });
  await api('POST', `/tenants/acme/apps/${app.clientId}/deployment/targets`, { type: 'user', ref: 'carl@acme.test' });
  const config = await rpConfig(`${base}/t/acme`, app.clientId, app.clientSecret);
  for (let i = 0; i < 2; i++)
    await codeFlow(config, new Agent(), { redirectUri: 'https://carl.acme.test/cb', email: 'carl@acme.test', password: 'carl-new-password' });
  const sessions = await ok(['user', 'sessions', '--tenant', 'acme', 'carl@acme.test', '--json']);
  assert.equal(sessions.length, 2);
  assert.ok(sessions.every((s: any) => s.email === 'carl@acme.test'));
  assert.match(await ok(['user', 'sessions', '--tenant', 'acme', 'carl@acme.test']), /carl@acme\.test\s+.*Carl App/);
  assert.match(await ok(['session', 'end', '--tenant', 'acme', '--', sessions[0].id]), /Ended session/);
  assert.equal((await ok(['user', 'sessions', '--tenant', 'acme', 'carl@acme.test', '--json'])).length, 1);

  // The role hierarchy reaches the person for every new verb: an admin may not touch a superadmin.
  for (const verb of ['delete', 'unlock', 'reset-mfa']) {
    await refused(
      ['user', verb, '--tenant', 'acme', 'owner@acme.test'],
      OPS,
      /^owner@acme\.test holds the superadmin role, which you do not hold: .* It needs: superadmin\.\n$/,
    );
  }
  await refused(
    ['user', 'set-password', '--tenant', 'acme', 'owner@acme.test', '--password', '-'],
    OPS,
    /holds the superadmin role, which you do not hold/,
    'taken-over-1234\n',
  );
  assert.match(await ok(['user', 'show', '--tenant', 'acme', 'owner@acme.test']), /status\s+active/);

  // Delete: the account and its sessions go.
  assert.match(await ok(['user', 'delete', '--tenant', 'acme', 'carl@acme.test']), /Deleted carl@acme\.test/);
  await refused(['user', 'show', '--tenant', 'acme', 'carl@acme.test'], {}, /User carl@acme\.test was not found/);
  assert.equal((await ok(['session', 'list', '--tenant', 'acme', '--search', 'carl@', '--json'])).length, 0);
});

test('policies: create, list, show, update (settings merged), which applies to a user, delete', async () => {
  const p = await ok([
    'policy',
    'create',
    '--tenant',
    'acme',
    '--name',
    'Engineers',
    '--priority',
    '10',
    '--target',
    'group:engineering',
    '--mfa',
    'always',
    '--lockout-threshold',
    '8',
    '--json',
  ]);
  assert.equal(p.settings.mfa.required, 'always');
  assert.equal(p.settings.lockout.threshold, 8);
  assert.deepEqual(
    p.targets.map((t: any) => `${t.type} ${t.label}`),
    ['group engineering'],
  );
  await ok(['policy', 'create', '--tenant', 'acme', '--name', 'Everyone', '--priority', '100', '--target', 'all']);
  assert.deepEqual(
    (await ok(['policy', 'list', '--tenant', 'acme', '--json'])).map((x: any) => x.name),
    ['Engineers', 'Everyone'],
  );
  assert.match(await ok(['policy', 'list', '--tenant', 'acme']), /^10\s+Engineers\s+group engineering\s+MFA always\n100\s+Everyone\s+all users/);
  assert.match(await ok(['policy', 'show', '--tenant', 'acme', 'Engineers']), /two-step verification\s+always[\s\S]*lockout\s+after 8 failures/);

  // Changing one MFA setting keeps the others (the API merges only the top level).
  const u = await ok([
    'policy',
    'update',
    '--tenant',
    'acme',
    'Engineers',
    '--mfa',
    'outside_trusted_networks',
    '--trusted-network',
    '10.0.0.0/8',
    '--session-lifetime',
    '60',
    '--json',
  ]);
  assert.deepEqual(u.settings.mfa, { required: 'outside_trusted_networks', trustedNetworks: ['10.0.0.0/8'], apps: [] });
  assert.equal(u.settings.lockout.threshold, 8);
  assert.equal(u.settings.sessionLifetimeMinutes, 60);
  const bob = await ok(['user', 'policy', '--tenant', 'acme', 'bob@acme.test', '--json']);
  assert.equal(bob.policy.name, 'Engineers');
  assert.match(await ok(['user', 'policy', '--tenant', 'acme', 'ann@acme.test']), /ann@acme\.test: policy Everyone \(priority 100\)/);

  await refused(['policy', 'update', '--tenant', 'acme', 'Engineers', '--trusted-network', 'not-a-network'], {}, /trustedNetworks/);
  for (const args of [
    ['policy', 'create', '--tenant', 'acme', '--name', 'X', '--priority', '5', '--target', 'team:red'],
    ['policy', 'create', '--tenant', 'acme', '--name', 'X'],
    ['policy', 'update', '--tenant', 'acme', 'Engineers'],
    ['policy', 'create', '--tenant', 'acme', '--name', 'X', '--priority', '5', '--settings', '{not json'],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /Usage: gatehouse policy/);
  }
  // A helpdesk account may read policies but not change them.
  await ok(['user', 'create', '--tenant', 'acme', '--email', 'desk@acme.test', '--password', 'desk-password-12', '--role', 'helpdesk']);
  await refused(
    ['policy', 'delete', '--tenant', 'acme', 'Everyone'],
    { GATEHOUSE_ADMIN_EMAIL: 'desk@acme.test', GATEHOUSE_ADMIN_PASSWORD: 'desk-password-12', GATEHOUSE_ADMIN_TENANT: 'acme' },
    /admin/,
  );

  await ok(['policy', 'delete', '--tenant', 'acme', 'Engineers']);
  await ok(['policy', 'delete', '--tenant', 'acme', 'Everyone']);
  assert.match(await ok(['policy', 'list', '--tenant', 'acme']), /No policies/);
  await refused(['policy', 'show', '--tenant', 'acme', 'Engineers'], {}, /not found/);
});

test('upstream directories: create (secret from stdin), list, show, update, test, delete', async () => {
  const up = await startUpstream({ name: 'Contoso ID', redirectUri: `${base}/t/acme/federation/callback`, accounts: [] });
  try {
    const create = [
      'upstream',
      'create',
      '--tenant',
      'acme',
      '--name',
      'Contoso',
      '--type',
      'oidc',
      '--client-id',
      up.clientId,
      '--client-secret',
      '-',
      '--authority-url',
      up.issuer,
      '--domain',
      'contoso.test',
      '--mode',
      'test',
      '--test-user',
      'pilot@contoso.test',
    ];
    // Only a superadministrator adds one: the admin is told so.
    await refused(create, OPS, /superadmin/, `${up.clientSecret}\n`);
    const u = await ok([...create, '--json'], {}, `${up.clientSecret}\n`);
    assert.equal(u.issuer, up.issuer);
    assert.equal(u.hasClientSecret, true);
    assert.equal(u.mode, 'test');
    assert.deepEqual(u.testUsers, ['pilot@contoso.test']);
    assert.match(await ok(['upstream', 'list', '--tenant', 'acme']), /^Contoso\s+test\s+oidc\s+contoso\.test/m);
    const shown = await ok(['upstream', 'show', '--tenant', 'acme', 'Contoso']);
    assert.match(shown, /redirect URL\s+http:\/\/127\.0\.0\.1:\d+\/t\/acme\/federation\/callback \(register it at the upstream\)/);
    assert.ok(!shown.includes(up.clientSecret), 'the secret is never shown');
    assert.match(await ok(['upstream', 'test', '--tenant', 'acme', 'Contoso']), /Contoso: discovery is reachable and valid/);

    const changed = await ok(['upstream', 'update', '--tenant', 'acme', 'Contoso', '--mode', 'enabled', '--show-button', 'on', '--json']);
    assert.equal(changed.mode, 'enabled');
    assert.equal(changed.showButton, true);
    assert.deepEqual(changed.domains, ['contoso.test'], 'settings not given are kept');

    // An address that answers nothing is refused when saved, with what to do.
    const port = await freePort();
    await refused(
      ['upstream', 'create', '--tenant', 'acme', '--name', 'Nowhere', '--type', 'oidc', '--client-id', 'x', '--authority-url', `http://127.0.0.1:${port}`],
      {},
      /127\.0\.0\.1/,
    );
    // Down after saving: the test says so and exits 1.
    await up.stop();
    const down = await cli(['upstream', 'test', '--tenant', 'acme', 'Contoso']);
    assert.equal(down.code, 1, down.stdout);
    assert.match(down.stdout, /^Contoso: .+/);
  } finally {
    await up.stop().catch(() => {});
  }
  assert.match(await ok(['upstream', 'delete', '--tenant', 'acme', 'Contoso']), /Deleted upstream Contoso/);
  assert.match(await ok(['upstream', 'list', '--tenant', 'acme']), /No upstream directories/);
});

test('LDAP directories: create (bind password from stdin), show, test, list, delete', async () => {
  const port = await freePort(); // nothing listens there
  const create = [
    'directory',
    'create',
    '--tenant',
    'acme',
    '--name',
    'Corp LDAP',
    '--kind',
    'openldap',
    '--url',
    `ldap://127.0.0.1:${port}`,
    '--allow-plain',
    '--bind-dn',
    'cn=gatehouse,dc=acme,dc=test',
    '--base-dn',
    'ou=people,dc=acme,dc=test',
    '--bind-password',
    '-',
  ];
  await refused(create, OPS, /superadmin/, 'bind-secret-1\n');
  const d = await ok([...create, '--json'], {}, 'bind-secret-1\n');
  assert.equal(d.hasBindPassword, true);
  assert.deepEqual(d.settings.urls, [`ldap://127.0.0.1:${port}`]);
  assert.equal(d.settings.allowPlain, true);
  const shown = await ok(['directory', 'show', '--tenant', 'acme', 'Corp LDAP']);
  assert.match(shown, /kind\s+openldap[\s\S]*bind password\s+set[\s\S]*base DNs\s+ou=people,dc=acme,dc=test[\s\S]*last sync\s+never synced/);
  assert.ok(!shown.includes('bind-secret-1'));
  assert.match(await ok(['directory', 'list', '--tenant', 'acme']), /^Corp LDAP\s+openldap\s+direct\s+enabled\s+never synced/m);
  // The directory is not there: one line saying so, exit 1.
  await refused(['directory', 'test', '--tenant', 'acme', 'Corp LDAP'], {}, /\S/);
  const noKind = await cli(['directory', 'create', '--tenant', 'acme', '--name', 'X', '--url', 'ldaps://dc.acme.test']);
  assert.equal(noKind.code, 2);
  assert.match(noKind.stderr, /--kind is required[\s\S]*Usage: gatehouse directory create/);
  // Only what is given changes; settings are merged over the saved ones.
  const changed = await ok(['directory', 'update', '--tenant', 'acme', 'Corp LDAP', '--disable', '--sync-interval', '30', '--bind-password', 'none', '--json']);
  assert.equal(changed.enabled, false);
  assert.equal(changed.hasBindPassword, false);
  assert.equal(changed.settings.syncIntervalMinutes, 30);
  assert.deepEqual(changed.settings.urls, [`ldap://127.0.0.1:${port}`]);
  await refused(['directory', 'update', '--tenant', 'acme', 'Corp LDAP', '--enable'], OPS, /superadmin/);
  assert.equal((await cli(['directory', 'update', '--tenant', 'acme', 'Corp LDAP', '--enable', '--disable'])).code, 2);
  assert.match(await ok(['directory', 'delete', '--tenant', 'acme', 'Corp LDAP']), /Deleted directory Corp LDAP/);
  assert.deepEqual(await ok(['directory', 'list', '--tenant', 'acme', '--json']), []);
});

test('groups, OUs, domains and apps: members, remove-member, delete', async () => {
  await ok(['group', 'create', '--tenant', 'acme', 'temps']);
  await ok(['group', 'add-member', '--tenant', 'acme', 'temps', 'ann@acme.test']);
  assert.deepEqual(
    (await ok(['group', 'members', '--tenant', 'acme', 'temps', '--json'])).map((u: any) => u.email),
    ['ann@acme.test'],
  );
  assert.match(await ok(['group', 'remove-member', '--tenant', 'acme', 'temps', 'ann@acme.test']), /Removed ann@acme\.test from temps/);
  assert.match(await ok(['group', 'members', '--tenant', 'acme', 'temps']), /temps has no members/);
  assert.match(
    await ok(['group', 'update', '--tenant', 'acme', 'temps', '--name', 'contractors', '--description', 'Short-term staff']),
    /Saved group contractors/,
  );
  assert.match(await ok(['group', 'show', '--tenant', 'acme', 'contractors']), /description\s+Short-term staff\nmembers\s+0/);
  assert.equal((await ok(['group', 'update', '--tenant', 'acme', 'contractors', '--description', 'none', '--json'])).description, null);
  assert.match(await ok(['group', 'delete', '--tenant', 'acme', 'contractors']), /Deleted group contractors/);
  assert.ok(!(await ok(['group', 'list', '--tenant', 'acme', '--json'])).some((g: any) => g.name === 'contractors'));

  await ok(['ou', 'create', '--tenant', 'acme', '/Temp/Sub']);
  assert.match(await ok(['ou', 'list', '--tenant', 'acme']), /^\/Temp\n\/Temp\/Sub$/m);
  const notEmpty = await cli(['ou', 'delete', '--tenant', 'acme', '/Temp']);
  assert.equal(notEmpty.code, 1, notEmpty.stderr);
  assert.match(notEmpty.stderr, /\S/);
  await ok(['ou', 'delete', '--tenant', 'acme', '/Temp/Sub']);
  await ok(['ou', 'delete', '--tenant', 'acme', '/Temp']);
  assert.ok(!(await ok(['ou', 'list', '--tenant', 'acme', '--json'])).some((x: any) => x.path.startsWith('/Temp')));

  assert.match(await ok(['domain', 'add', '--tenant', 'acme', 'acme-partners.test']), /Added domain acme-partners\.test/);
  assert.ok((await ok(['domain', 'list', '--tenant', 'acme', '--json'])).some((d: any) => d.name === 'acme-partners.test'));
  assert.equal((await cli(['domain', 'add', '--tenant', 'acme', 'not a domain'])).code, 1);

  const a = await ok(['app', 'create', '--tenant', 'acme', '--name', 'short-lived', '--display-name', 'Short', '--type', 'service', '--json']);
  assert.match(await ok(['app', 'delete', '--tenant', 'acme', a.client_id]), /Deleted application/);
  await refused(['app', 'show', '--tenant', 'acme', a.client_id], {}, /not found/);
});

test('overview and whoami', async () => {
  assert.match(await ok(['whoami']), /^admin@example\.test \(tenant default; roles superadmin; administers every tenant\)$/m);
  assert.deepEqual(await ok(['whoami', '--json'], OPS), {
    userId: (await ok(['user', 'show', '--tenant', 'acme', 'ops@acme.test', '--json'])).id,
    email: 'ops@acme.test',
    tenant: 'acme',
    roles: ['admin'],
    instanceAdmin: false,
  });
  const o = await ok(['overview', '--tenant', 'acme', '--json']);
  assert.ok(o.counts.users >= 4 && Array.isArray(o.alerts));
  assert.match(
    await ok(['overview', '--tenant', 'acme']),
    new RegExp(`^${o.counts.users} users, ${o.counts.groups} groups, ${o.counts.apps} apps \\(${o.counts.deployedApps} deployed\\), \\d+ live sessions\\.`),
  );
});

test("updates: tenant name, user names/OU/roles, an app's profile", async () => {
  assert.equal((await ok(['tenant', 'update', 'acme', '--name', 'Acme Inc', '--json'])).name, 'Acme Inc');
  assert.match(await ok(['tenant', 'show', 'acme']), /name\s+Acme Inc/);
  assert.equal((await cli(['tenant', 'update', 'acme'])).code, 2);

  const bob = await ok(['user', 'update', '--tenant', 'acme', 'bob@acme.test', '--given-name', 'Robert', '--ou', '/Engineering/Platform', '--json']);
  assert.equal(bob.givenName, 'Robert');
  assert.equal(bob.ou, '/Engineering/Platform');
  await refused(['user', 'update', '--tenant', 'acme', 'bob@acme.test', '--role', 'admin'], OPS, /Only a superadministrator may change administrator roles/);
  assert.deepEqual((await ok(['user', 'update', '--tenant', 'acme', 'bob@acme.test', '--role', 'helpdesk', '--json'])).roles, ['helpdesk']);
  assert.match(
    await ok(['user', 'update', '--tenant', 'acme', 'bob@acme.test', '--no-roles', '--ou', 'none']),
    /Saved bob@acme\.test: Robert, OU none, roles none/,
  );

  const a = await ok([
    'app',
    'create',
    '--tenant',
    'acme',
    '--name',
    'wiki',
    '--display-name',
    'Wiki',
    '--type',
    'web',
    '--redirect-uri',
    'https://wiki.acme.test/cb',
    '--json',
  ]);
  const changed = await ok([
    'app',
    'update',
    '--tenant',
    'acme',
    a.client_id,
    '--display-name',
    'Team Wiki',
    '--redirect-uri',
    'https://wiki.acme.test/oidc',
    '--require-mfa',
    'on',
    '--json',
  ]);
  assert.equal(changed.displayName, 'Team Wiki');
  assert.deepEqual(changed.redirectUris, ['https://wiki.acme.test/oidc']);
  assert.equal(changed.requireMfa, true);
  assert.equal(changed.name, 'wiki', 'what is not given is kept');
  await refused(['app', 'update', '--tenant', 'acme', a.client_id, '--redirect-uri', 'http://evil.example/cb'], {}, /https/);
  assert.equal((await cli(['app', 'update', '--tenant', 'acme', a.client_id, '--require-mfa', 'yes'])).code, 2);
});

test('a stopped server gives the connection message', async () => {
  await running!.stop();
  running = undefined;
  const r = await cli(['tenant', 'list']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `Cannot reach Gatehouse at ${base}: is it running? Set GATEHOUSE_URL.`);
});
