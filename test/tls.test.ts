// Gatehouse serving HTTPS itself (GATEHOUSE_TLS_CERT / GATEHOUSE_TLS_KEY): bad files are
// refused at start with what to fix; the issuer is https and HSTS is sent; on SIGHUP the files
// are read again and new connections get the new certificate while the listener and the
// connections already open stay; a reload of broken files keeps the old certificate. The same
// in `--workers N` mode (PostgreSQL), where every worker reloads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { loadConfig, ConfigError } from '../src/config/index.ts';
import { readTls } from '../src/ops/tls.ts';
import { StartupRefusal } from '../src/shared/errors.ts';
import { makeTestCa } from './helpers/tls.ts';
import { freePort } from './helpers/server.ts';
import { spawnServer } from './helpers/spawn.ts';
import { createTestDatabase } from './helpers/databases.ts';
import { waitFor } from './helpers/wait.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-tls-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const first = makeTestCa(path.join(dir, 'ca'), 'first', ['IP:127.0.0.1', 'DNS:localhost']);
const second = makeTestCa(path.join(dir, 'ca'), 'second', ['IP:127.0.0.1', 'DNS:localhost']);
const fingerprint = (certFile: string) => new crypto.X509Certificate(fs.readFileSync(certFile)).fingerprint256;

/** The certificate a new TLS connection to the port is shown. */
function presented(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: [first.caPem, second.caPem], servername: 'localhost' }, () => {
      const fp = s.getPeerX509Certificate()!.fingerprint256;
      s.end();
      resolve(fp);
    });
    s.once('error', reject);
  });
}

function get(port: number, p: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: p, ca: [first.caPem, second.caPem], servername: 'localhost', agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      })
      .once('error', reject);
  });
}

/** The live files the server is configured with, initially the first pair. */
function liveFiles(name: string) {
  const certFile = path.join(dir, `${name}-cert.pem`);
  const keyFile = path.join(dir, `${name}-key.pem`);
  fs.copyFileSync(first.certFile, certFile);
  fs.copyFileSync(first.keyFile, keyFile);
  return { certFile, keyFile };
}
const replaceWith = (live: { certFile: string; keyFile: string }, pair: { certFile: string; keyFile: string }) => {
  fs.copyFileSync(pair.keyFile, live.keyFile);
  fs.copyFileSync(pair.certFile, live.certFile);
};

test('bad TLS settings are refused with what to fix', () => {
  assert.throws(
    () => loadConfig({ GATEHOUSE_TLS_CERT: first.certFile }),
    (e: unknown) => e instanceof ConfigError && /GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY must be set together/.test(e.message),
  );
  const refused = (files: { certFile: string; keyFile: string }, m: RegExp) =>
    assert.throws(
      () => readTls(files),
      (e: unknown) => e instanceof StartupRefusal && m.test(e.message),
    );
  refused({ certFile: path.join(dir, 'missing.pem'), keyFile: first.keyFile }, /GATEHOUSE_TLS_CERT .*missing\.pem cannot be read \(ENOENT\)/);
  refused({ certFile: first.keyFile, keyFile: first.keyFile }, /is not a PEM certificate/);
  refused({ certFile: first.certFile, keyFile: first.certFile }, /is not an unencrypted PEM private key/);
  refused({ certFile: first.certFile, keyFile: second.keyFile }, /is not the private key of the certificate/);
  // The message never carries key material.
  try {
    readTls({ certFile: first.certFile, keyFile: second.keyFile });
  } catch (e) {
    assert.doesNotMatch((e as Error).message, /BEGIN|PRIVATE/);
  }
  // With TLS and no public URL, the default public URL is https.
  const c = loadConfig({ GATEHOUSE_TLS_CERT: first.certFile, GATEHOUSE_TLS_KEY: first.keyFile, PORT: '8443' });
  assert.equal(c.publicUrl, 'https://localhost:8443');
  assert.equal(c.secureCookies, true);
});

test('HTTPS from Gatehouse itself; SIGHUP reloads the certificate for new connections, keeping the listener', async () => {
  const live = liveFiles('single');
  const port = await freePort();
  const dataDir = path.join(dir, 'data');
  const server = await spawnServer(dataDir, port, {
    GATEHOUSE_TLS_CERT: live.certFile,
    GATEHOUSE_TLS_KEY: live.keyFile,
    GATEHOUSE_PUBLIC_URL: `https://localhost:${port}`,
  });
  try {
    assert.ok(server.ready, server.errors());
    assert.match(server.output(), /listening on https:\/\/127\.0\.0\.1:/);
    assert.equal(await presented(port), fingerprint(first.certFile));
    const disco = await get(port, '/t/default/.well-known/openid-configuration');
    assert.equal(disco.status, 200);
    assert.equal(JSON.parse(disco.body).issuer, `https://localhost:${port}/t/default`);
    assert.match(String(disco.headers['strict-transport-security']), /max-age=\d+/);

    // A connection opened before the reload, kept open across it.
    const before = tls.connect({ host: '127.0.0.1', port, ca: [first.caPem], servername: 'localhost' });
    await new Promise((r) => before.once('secureConnect', r));

    replaceWith(live, second);
    server.signal('SIGHUP');
    await waitFor(async () => (await presented(port)) === fingerprint(second.certFile), { what: 'a new connection to see the new certificate' });
    assert.match(server.output(), /TLS certificate reloaded/);
    // The old connection still works; the server never stopped.
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      before.on('data', (d) => {
        text += d;
        if (text.includes('\r\n\r\n')) resolve(text);
      });
      before.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    assert.match(answer, /^HTTP\/1\.1 200/);
    before.destroy();

    // Broken files (a renewal half-copied): the reload is refused and the certificate in use stays.
    fs.writeFileSync(live.certFile, 'not a certificate');
    server.signal('SIGHUP');
    await waitFor(() => server.output().includes('TLS certificate not reloaded'), { what: 'the refused reload to be logged' });
    assert.match(server.output(), /is not a PEM certificate/);
    assert.equal(await presented(port), fingerprint(second.certFile));
    assert.equal((await get(port, '/healthz')).status, 200);
  } finally {
    await server.stop();
  }
  assert.doesNotMatch(server.output() + server.errors(), /BEGIN (EC )?PRIVATE KEY/, 'key material is never logged');
});

test('--workers N: SIGHUP to the primary reloads every worker', {
  skip: process.env.DATABASE_URL ? false : 'DATABASE_URL not set: worker mode needs PostgreSQL',
}, async () => {
  const db = await createTestDatabase(process.env.DATABASE_URL!);
  const live = liveFiles('workers');
  const port = await freePort();
  const server = await spawnServer(
    path.join(dir, 'unused'),
    port,
    {
      DATABASE_URL: db.url,
      GATEHOUSE_SECRET: 'tls-test-secret-'.padEnd(48, 'w'),
      GATEHOUSE_TLS_CERT: live.certFile,
      GATEHOUSE_TLS_KEY: live.keyFile,
      GATEHOUSE_PUBLIC_URL: `https://localhost:${port}`,
    },
    { args: ['--workers', '2'] },
  );
  try {
    assert.ok(server.ready, server.errors());
    await waitFor(() => /worker ready/.test(server.output()), { what: 'the second worker' });
    assert.equal(await presented(port), fingerprint(first.certFile));
    replaceWith(live, second);
    server.signal('SIGHUP');
    await waitFor(() => (server.output().match(/TLS certificate reloaded/g) ?? []).length >= 2, { what: 'both workers to reload' });
    // Connections go to the workers in turn: every one of several new ones sees the new certificate.
    for (let i = 0; i < 6; i++) assert.equal(await presented(port), fingerprint(second.certFile), `connection ${i}`);
  } finally {
    await server.stop();
    await db.drop();
  }
});
