// The nginx configuration in docs/operations.md, tested: Debian's nginx runs it (as a
// foreground process from a temporary prefix: its pid, logs and temp files there) on
// 127.0.0.1 with a throw-away certificate, in front of a Gatehouse with
// GATEHOUSE_PUBLIC_URL=https://... and GATEHOUSE_TRUST_PROXY=true. Through it: a full sign-in
// with openid-client trusting that certificate (issuer https, cookies Secure, HSTS once on every
// answer), the client address Gatehouse records is nginx's view (a forged X-Forwarded-For is
// ignored), plain HTTP redirects, and an authenticator event stream delivers its first event
// while it stays open (no buffering).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import * as oidc from 'openid-client';
import { deployedApp, freePort, startTestServer, type TestServer } from './helpers/server.ts';
import { Agent } from './helpers/agent.ts';
import { makeTestCa } from './helpers/tls.ts';
import { waitFor } from './helpers/wait.ts';

const NGINX = '/usr/sbin/nginx';
const skip = fs.existsSync(NGINX) ? false : 'nginx is not installed (apt-get install nginx)';
const RP = 'https://rp.example.test/callback';
const alice = { email: 'alice@example.test', password: 'alice-password-long-1' };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-nginx-'));
let gh: TestServer;
let nginx: ChildProcess | undefined;
let nginxLog = '';
let httpsPort: number;
let httpPort: number;
let publicUrl: string;

/** The ```nginx block of docs/operations.md, made to run here; every substitution must apply. */
function configFromDocs(ports: { https: number; http: number; gatehouse: number }, cert: { certFile: string; keyFile: string }): string {
  const docs = fs.readFileSync(path.resolve(import.meta.dirname, '../docs/operations.md'), 'utf8');
  const m = /## TLS and reverse proxy[\s\S]*?```nginx\n([\s\S]*?)```/.exec(docs);
  assert.ok(m, 'docs/operations.md has an nginx configuration under "TLS and reverse proxy"');
  let conf = m[1]!;
  const sub = (from: string | RegExp, to: string) => {
    const next = conf.replace(from, to);
    assert.notEqual(next, conf, `the documented configuration has ${String(from)}`);
    conf = next;
  };
  sub('server 127.0.0.1:3000;', `server 127.0.0.1:${ports.gatehouse};`);
  sub('listen 80;', `listen 127.0.0.1:${ports.http};`);
  sub('listen 443 ssl http2;', `listen 127.0.0.1:${ports.https} ssl http2;`);
  sub(/sso\.example\.com/g, 'localhost');
  sub('/etc/ssl/gatehouse/fullchain.pem', cert.certFile);
  sub('/etc/ssl/gatehouse/privkey.pem', cert.keyFile);
  return [
    // As root, nginx's workers would switch to nobody, who cannot reach the temporary prefix.
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'events { worker_connections 64; }',
    'http {',
    `  access_log ${dir}/access.log;`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t}_temp;`),
    conf,
    '}',
  ].join('\n');
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

before(async () => {
  if (skip) return;
  const ca = makeTestCa(path.join(dir, 'ca'), 'proxy', ['DNS:localhost', 'IP:127.0.0.1']);
  // Every TLS client in this process (fetch, openid-client) trusts the throw-away CA.
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), ca.caPem]);
  httpsPort = await freePort();
  httpPort = await freePort();
  publicUrl = `https://localhost:${httpsPort}`;
  gh = await startTestServer({ GATEHOUSE_PUBLIC_URL: publicUrl, GATEHOUSE_TRUST_PROXY: 'true' });
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, configFromDocs({ https: httpsPort, http: httpPort, gatehouse: Number(new URL(gh.base).port) }, ca));
  nginx = spawn(NGINX, ['-p', dir, '-e', `${dir}/error.log`, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  nginx.stdout!.on('data', (d) => {
    nginxLog += d;
  });
  nginx.stderr!.on('data', (d) => {
    nginxLog += d;
  });
  const exited = new Promise((r) => nginx!.once('exit', r));
  await waitFor(
    async () => {
      if (nginx!.exitCode !== null)
        throw new Error(`nginx exited: ${nginxLog}${fs.existsSync(`${dir}/error.log`) ? fs.readFileSync(`${dir}/error.log`, 'utf8') : ''}`);
      return (await portOpen(httpsPort)) && (await portOpen(httpPort));
    },
    { what: 'nginx to listen' },
  );
  void exited;
  assert.equal((await gh.api('POST', '/tenants/default/users', alice)).status, 201);
});
after(async () => {
  if (nginx && nginx.exitCode === null) {
    const gone = new Promise((r) => nginx!.once('exit', r));
    nginx.kill('SIGQUIT'); // graceful stop of the foreground master and its worker
    await gone;
  }
  await gh?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The test agent, recording every answer's Set-Cookie and HSTS headers, optionally sending extra headers. */
class RecordingAgent extends Agent {
  cookies: string[] = [];
  hsts: Array<string | null> = [];
  extra: Record<string, string> = {};
  override async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const res = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...this.extra,
        ...(init.form && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    for (const c of res.headers.getSetCookie()) {
      this.cookies.push(c);
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const value = pair!.slice(i + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(c) || value === '') this.jar.delete(pair!.slice(0, i).trim());
      else this.jar.set(pair!.slice(0, i).trim(), value);
    }
    if (url.startsWith(publicUrl)) this.hsts.push(res.headers.get('strict-transport-security'));
    return res;
  }
}

test('a full sign-in through nginx: issuer https, cookies Secure, HSTS once on every answer', { skip }, async () => {
  const app = await deployedApp(gh, { name: 'crm', displayName: 'CRM', type: 'web', redirectUris: [RP] });
  const issuer = `${publicUrl}/t/default`;
  // No allowInsecureRequests: openid-client talks HTTPS only, and trusts the certificate via the CA.
  const config = await oidc.discovery(new URL(issuer), app.clientId, app.clientSecret, oidc.ClientSecretBasic(app.clientSecret));
  assert.equal(config.serverMetadata().issuer, issuer);
  for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint'] as const) {
    assert.ok(String(config.serverMetadata()[k]).startsWith(`${publicUrl}/`), `${k} is on the public https URL`);
  }
  const agent = new RecordingAgent();
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: RP,
    scope: 'openid email',
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const callback = await agent.signIn(url.href, RP, alice.email, alice.password);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
  assert.equal(tokens.claims()!.iss, issuer);
  assert.equal(tokens.claims()!.email, alice.email);
  assert.ok((await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub)).email);

  assert.ok(agent.cookies.length >= 2, 'the sign-in set cookies');
  for (const c of agent.cookies) assert.match(c, /;\s*secure/i, `cookie is Secure: ${c.split('=')[0]}`);
  assert.ok(agent.hsts.length >= 3);
  for (const h of agent.hsts) assert.equal(h, 'max-age=31536000', "HSTS exactly once (nginx adds it; Gatehouse's own is hidden)");
  // nginx's own answers carry it too (an unknown tenant's 404 comes from Gatehouse; a 413 from nginx).
  const big = await fetch(`${publicUrl}/api/v1/auth/token`, { method: 'POST', body: 'x'.repeat(3 * 1024 * 1024) });
  assert.equal(big.status, 413);
  assert.equal(big.headers.get('strict-transport-security'), 'max-age=31536000');
});

test('a forged Host or X-Forwarded-Host never reaches the discovery document', { skip }, async () => {
  const { default: http } = await import('node:http');
  const meta = await new Promise<Record<string, string>>((resolve, reject) => {
    http
      .get(
        {
          host: '127.0.0.1',
          port: Number(new URL(gh.base).port),
          path: '/t/default/.well-known/openid-configuration',
          headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
        },
        (res) => {
          let body = '';
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () => resolve(JSON.parse(body)));
        },
      )
      .once('error', reject);
  });
  for (const k of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri', 'end_session_endpoint']) {
    assert.ok(meta[k]!.startsWith(publicUrl), `${k}: ${meta[k]}`);
  }
  assert.ok(!JSON.stringify(meta).includes('evil.example'));
});

test('plain HTTP on the proxy redirects to https', { skip }, async () => {
  const r = await fetch(`http://127.0.0.1:${httpPort}/t/default/.well-known/openid-configuration`, { redirect: 'manual' });
  assert.equal(r.status, 301);
  // In production both ports are the defaults (80, 443), so the redirect names no port.
  assert.equal(r.headers.get('location'), 'https://127.0.0.1/t/default/.well-known/openid-configuration');
});

test("the client address is nginx's view: a forged X-Forwarded-For is ignored", { skip }, async () => {
  const app = await deployedApp(gh, { name: 'wiki', displayName: 'Wiki', type: 'web', redirectUris: [RP] });
  const config = await oidc.discovery(new URL(`${publicUrl}/t/default`), app.clientId, app.clientSecret, oidc.ClientSecretBasic(app.clientSecret));
  const agent = new RecordingAgent();
  agent.extra = { 'x-forwarded-for': '203.0.113.77' };
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: RP,
    scope: 'openid',
    state: 's',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  await assert.rejects(agent.signIn(url.href, RP, alice.email, 'a wrong password, surely'), /did not complete/);
  const events = await gh.api('GET', '/tenants/default/audit?type=signin.failed');
  assert.equal(events.status, 200, JSON.stringify(events.body));
  const items = (events.body.items ?? events.body) as Array<{ ip?: string | null }>;
  assert.ok(items.length >= 1);
  assert.equal(items[0]!.ip, '127.0.0.1', 'the address nginx saw, not the one the client claimed');
  assert.ok(!JSON.stringify(events.body).includes('203.0.113.77'));
});

test('an authenticator event stream through nginx delivers its first event while it stays open', { skip }, async () => {
  const tenant = (await gh.services.tenantStore.bySlug('default'))!;
  const user = await gh.api('GET', `/tenants/default/users?q=${encodeURIComponent(alice.email)}`);
  const userId = ((user.body.items ?? user.body) as Array<{ id: string; email: string }>).find((u) => u.email === alice.email)!.id;
  // A push device as enrolment leaves it, and the stream ticket the phone would get for it.
  const device = await gh.services.mfaStore.addFactor(tenant.id, userId, { type: 'push', label: 'Test phone', secretSealed: gh.services.sealer.seal('{}') });
  const ticket = gh.services.sealer.seal(JSON.stringify({ t: tenant.id, d: device.id, u: userId, exp: Date.now() + 60_000 }));
  const ctl = new AbortController();
  const res = await fetch(`${publicUrl}/t/default/authenticator/api/events?ticket=${encodeURIComponent(ticket)}`, { signal: ctl.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const reader = res.body!.getReader();
  let text = '';
  while (!/\ndata:/.test(text)) {
    const { value, done } = await reader.read();
    assert.equal(done, false, `the stream stays open (got ${JSON.stringify(text)})`);
    text += Buffer.from(value!).toString();
  }
  assert.match(text, /^retry: 3000/);
  ctl.abort();
  await reader.cancel().catch(() => {});
});
