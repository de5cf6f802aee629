// The outbound HTTP client (src/shared/outbound.ts) against real local servers: which addresses
// it refuses, that the check is on the address it connects to (a resolver that answers
// differently the second time: DNS rebinding), redirects re-checked and capped, the size cap,
// the deadline. The admin API's save-time refusals are in test/suites/outbound.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Outbound, OutboundRefused, parseCidrs, type Resolver } from '../src/shared/outbound.ts';
import { loadConfig, ConfigError } from '../src/config/index.ts';

const servers: http.Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

/** A server on `host` that counts its requests and answers with `handler`. */
async function serve(handler: http.RequestListener, host = '127.0.0.1') {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return { base: `http://${host}:${port}`, port, hits };
}

const refused = (re: RegExp) => (e: unknown) => e instanceof OutboundRefused && re.test(e.message);

test('link-local and cloud metadata addresses are refused, even when a configured range covers them', () => {
  const o = new Outbound({ allow: '0.0.0.0/0,::/0' });
  for (const ip of ['169.254.169.254', '169.254.0.1', 'fe80::1', 'fd00:ec2::254', '100.100.100.200', '::ffff:169.254.169.254']) {
    const r = o.refusal(ip);
    assert.ok(r, `${ip} refused`);
    assert.equal(r.always, true, `${ip}: no setting unlocks it`);
  }
  assert.equal(o.refusal('127.0.0.1'), undefined, 'an allowed range opens loopback');
});

test('loopback, private and unique-local ranges are refused unless GATEHOUSE_OUTBOUND_ALLOW lists them', () => {
  const closed = new Outbound();
  for (const ip of [
    '127.0.0.1',
    '127.8.9.10',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.254',
    '192.168.1.1',
    '::1',
    'fc00::1',
    'fd12:3456::1',
    '0.0.0.0',
    '::ffff:127.0.0.1',
  ]) {
    const r = closed.refusal(ip);
    assert.ok(r, `${ip} refused`);
    assert.match(r.message, /GATEHOUSE_OUTBOUND_ALLOW/);
  }
  for (const ip of ['93.184.215.14', '172.32.0.1', '2606:4700::1111']) assert.equal(closed.refusal(ip), undefined, `${ip} is public`);
  const adfs = new Outbound({ allow: '10.0.0.0/8, 192.168.10.5' });
  assert.equal(adfs.refusal('10.20.30.40'), undefined);
  assert.equal(adfs.refusal('192.168.10.5'), undefined);
  assert.ok(adfs.refusal('192.168.10.6'), 'a bare address is one host');
  assert.ok(adfs.refusal('127.0.0.1'), 'only the listed ranges');
});

test('a bad GATEHOUSE_OUTBOUND_ALLOW stops start-up naming the setting', () => {
  for (const bad of ['10.0.0.0/33', 'intranet', '10.0.0.0/8,fd00::/200', '10.0.0.0/8/1']) {
    assert.ok(parseCidrs(bad).problem, bad);
    assert.throws(
      () => loadConfig({ GATEHOUSE_OUTBOUND_ALLOW: bad }),
      (e: Error) => e instanceof ConfigError && /GATEHOUSE_OUTBOUND_ALLOW: .* is not a CIDR range/.test(e.message),
      bad,
    );
  }
  assert.equal(loadConfig({ GATEHOUSE_OUTBOUND_ALLOW: '10.0.0.0/8, fd00:1234::/32' }).outboundAllow, '10.0.0.0/8, fd00:1234::/32');
});

test('a loopback URL is refused before any connection unless allowed; allowed, it is fetched', async () => {
  const s = await serve((_req, res) => res.end('{"ok":true}'));
  await assert.rejects(new Outbound().fetch(`${s.base}/x`), refused(/127\.0\.0\.1 is a loopback address/));
  await assert.rejects(
    new Outbound().fetch(`http://localhost:${s.port}/x`),
    refused(/localhost resolves to (127\.0\.0\.1|::1), which is a loopback address/),
    'a name resolving to loopback',
  );
  assert.equal(s.hits.length, 0, 'the server saw nothing');
  const res = await new Outbound({ allow: '127.0.0.0/8,::1' }).fetch(`${s.base}/x`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true });
  assert.equal(s.hits.length, 1);
});

test('the check is on the address connected to: a name that resolves to an allowed address at save time and a refused one later is refused (DNS rebinding)', async () => {
  const s = await serve((_req, res) => res.end('hello'));
  let calls = 0;
  // First answer: the allowed test server. Every later answer: the metadata address.
  const rebinding: Resolver = async () => (calls++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '169.254.169.254', family: 4 }]);
  const o = new Outbound({ allow: '127.0.0.1/32', resolver: rebinding });
  const url = new URL(`http://rebind.example.test:${s.port}/latest/meta-data/`);
  assert.equal(await o.check(url), undefined, 'at save time it looked fine');
  await assert.rejects(o.fetch(url), refused(/rebind\.example\.test resolves to 169\.254\.169\.254, which is a link-local/));
  assert.equal(s.hits.length, 0);
  // And the address the resolver gives is the one connected to: a made-up name reaches the test server.
  const pinned = new Outbound({ allow: '127.0.0.1/32', resolver: async () => [{ address: '127.0.0.1', family: 4 }] });
  assert.equal(await (await pinned.fetch(`http://anything.example.test:${s.port}/`)).text(), 'hello');
  // A name with several addresses is refused when any of them is refused.
  const mixed = new Outbound({
    allow: '127.0.0.1/32',
    resolver: async () => [
      { address: '127.0.0.1', family: 4 },
      { address: '10.0.0.1', family: 4 },
    ],
  });
  await assert.rejects(
    mixed.fetch(`http://mixed.example.test:${s.port}/`),
    refused(/mixed\.example\.test resolves to 10\.0\.0\.1, which is a private address/),
  );
});

test('redirects are followed at most 3 times and each target is checked again', async () => {
  const other = await serve((_req, res) => res.end('internal'), '127.0.0.2');
  const s = await serve((req, res) => {
    const m = /^\/hop\/(\d+)$/.exec(req.url ?? '');
    if (m) {
      res.writeHead(302, { location: `/hop/${Number(m[1]) + 1}` });
      return res.end();
    }
    if (req.url === '/to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      return res.end();
    }
    if (req.url === '/to-other') {
      res.writeHead(307, { location: `${other.base}/secret` });
      return res.end();
    }
    if (req.url === '/three') {
      res.writeHead(301, { location: '/hop/1' });
      return res.end();
    }
    res.end('end');
  });
  const o = new Outbound({ allow: '127.0.0.1/32' });
  await assert.rejects(o.fetch(`${s.base}/to-metadata`), refused(/169\.254\.169\.254 is a link-local/));
  await assert.rejects(o.fetch(`${s.base}/to-other`), refused(/127\.0\.0\.2 is a loopback address/));
  assert.equal(other.hits.length, 0, 'the redirect target that is not allowed saw nothing');
  await assert.rejects(o.fetch(`${s.base}/hop/0`), refused(/redirected more than 3 times/));
  const manual = await o.fetch(`${s.base}/to-metadata`, { redirect: 'manual' });
  assert.equal(manual.status, 302, 'redirect: manual hands the redirect back unfollowed');
  // Within the limit, redirects are followed.
  const fine = http.createServer((req, res) => {
    const n = Number(/^\/r\/(\d)$/.exec(req.url ?? '')?.[1] ?? 9);
    if (n < 3) {
      res.writeHead(302, { location: `/r/${n + 1}` });
      return res.end();
    }
    res.end(`arrived ${req.url}`);
  });
  await new Promise<void>((r) => fine.listen(0, '127.0.0.1', () => r()));
  servers.push(fine);
  const res = await o.fetch(`http://127.0.0.1:${(fine.address() as AddressInfo).port}/r/0`);
  assert.equal(await res.text(), 'arrived /r/3');
});

test('an answer larger than the cap is refused, whether announced or streamed', async () => {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const s = await serve((req, res) => {
    if (req.url === '/declared') {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.write(chunk);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    // Streams without end: only the cap stops it.
    const pump = () => {
      while (res.write(chunk));
    };
    res.on('drain', pump);
    pump();
  });
  const o = new Outbound({ allow: '127.0.0.1/32', maxBytes: 256 * 1024 });
  await assert.rejects(o.fetch(`${s.base}/declared`), (e: Error) => /more than 262144 bytes/.test(e.message));
  await assert.rejects(o.fetch(`${s.base}/stream`), (e: Error) => /more than 262144 bytes/.test(e.message));
});

test('a server that never answers is given up on at the deadline', async () => {
  const s = await serve(() => {
    /* never answers */
  });
  const o = new Outbound({ allow: '127.0.0.1/32', timeoutMs: 300 });
  await assert.rejects(o.fetch(`${s.base}/slow`), (e: Error & { code?: string }) => e.code === 'ETIMEDOUT' && /did not answer in time/.test(e.message));
  // A caller's own signal is honoured too.
  await assert.rejects(new Outbound({ allow: '127.0.0.1/32' }).fetch(`${s.base}/slow`, { signal: AbortSignal.abort() }));
});

test('only http and https are fetched', async () => {
  const o = new Outbound();
  await assert.rejects(o.fetch('file:///etc/passwd'));
  assert.ok(await o.check(new URL('ftp://example.com/')));
});
