// The audit stream to a SIEM: RFC 5424 syslog over TCP and UDP into a real rsyslog (Debian's,
// started here on 127.0.0.1 from a temporary configuration), and the signed, batched webhook:
// retried with backoff until accepted, verified the way docs/operations.md tells receivers to,
// and never in the way of a sign-in when the receiver is dead. Settings that would send events
// somewhere unsafe are refused at start. SQLite only: storage plays no part in streaming.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { loadConfig, ConfigError } from '../src/config/index.ts';
import { syslogMessage, webhookSignature } from '../src/ops/audit-stream.ts';
import { startTestServer, deployedApp, LOOPBACK_OUTBOUND, type TestServer } from './helpers/server.ts';
import { haveRsyslog, startRsyslog, type Rsyslog } from './helpers/rsyslog.ts';
import { codeFlow, rpConfig } from './helpers/rp.ts';
import { Agent } from './helpers/agent.ts';
import { waitFor } from './helpers/wait.ts';

const RP = 'https://app.example.test/cb';
const carol = { email: 'carol@example.test', password: 'carol has a long password 3' };
const WEBHOOK_SECRET = 'webhook-secret-'.padEnd(48, 'w');
const skipSyslog = haveRsyslog() ? false : 'rsyslog is not installed (apt-get install -y rsyslog): syslog tests skipped';

/** Create Carol and an app, then sign her in (code flow); the server's events for all of it. */
async function signInCarol(gh: TestServer): Promise<void> {
  if ((await gh.api('POST', '/tenants/default/users', carol)).status !== 201) throw new Error('carol');
  const app = await deployedApp(gh, { name: 'web', displayName: 'Web', type: 'web', redirectUris: [RP] });
  await codeFlow(await rpConfig(`${gh.base}/t/default`, app.clientId, app.clientSecret), new Agent(), { redirectUri: RP, ...carol });
}

const storedIds = async (gh: TestServer) => ((await gh.api('GET', '/tenants/default/audit?limit=500')).body.items as Array<{ id: string }>).map((e) => e.id);

let rsyslog: Rsyslog | undefined;
before(async () => {
  if (!skipSyslog) rsyslog = await startRsyslog();
});
after(async () => {
  await rsyslog?.stop();
});

test('settings that would stream somewhere unsafe or unknown are refused at start, saying what to write', () => {
  const base = { GATEHOUSE_DATA_DIR: '/tmp/unused' };
  const refused = (env: Record<string, string>, pattern: RegExp) =>
    assert.throws(
      () => loadConfig({ ...base, ...env }),
      (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
    );
  refused({ GATEHOUSE_AUDIT_STREAM: 'stderr' }, /GATEHOUSE_AUDIT_STREAM: "stderr" is not a stream Gatehouse knows; write stdout, syslog:\/\/HOST:PORT/);
  refused({ GATEHOUSE_AUDIT_STREAM: 'syslog://siem.example.org' }, /give the syslog receiver's host and port/);
  refused({ GATEHOUSE_AUDIT_STREAM: 'syslog+tcp://siem.example.org:514/x?y' }, /no path, query or user/);
  refused({ GATEHOUSE_AUDIT_STREAM: 'http://siem.example.org/hook', GATEHOUSE_AUDIT_WEBHOOK_SECRET: WEBHOOK_SECRET }, /a webhook must use https/);
  refused(
    { GATEHOUSE_AUDIT_STREAM: 'https://user:pw@siem.example.org/hook', GATEHOUSE_AUDIT_WEBHOOK_SECRET: WEBHOOK_SECRET },
    /do not put credentials in the webhook address/,
  );
  refused({ GATEHOUSE_AUDIT_STREAM: 'https://siem.example.org/hook' }, /GATEHOUSE_AUDIT_WEBHOOK_SECRET: required when GATEHOUSE_AUDIT_STREAM is a webhook/);
  refused({ GATEHOUSE_AUDIT_STREAM: 'https://siem.example.org/hook', GATEHOUSE_AUDIT_WEBHOOK_SECRET: 'short' }, /at least 32 characters/);
  refused({ GATEHOUSE_METRICS_TOKEN: 'short' }, /GATEHOUSE_METRICS_TOKEN: must be at least 32 characters/);
  refused({ GATEHOUSE_METRICS_TOKEN: 'a token with spaces in it, long enough' }, /printable characters without spaces/);
  refused({ GATEHOUSE_METRICS_PORT: '70000' }, /GATEHOUSE_METRICS_PORT/);
  refused({ GATEHOUSE_ACCESS_LOG: 'yes' }, /GATEHOUSE_ACCESS_LOG/);
  assert.deepEqual(loadConfig({ ...base, GATEHOUSE_AUDIT_STREAM: 'syslog+tcp://[::1]:6514' }).auditStream, {
    kind: 'syslog',
    transport: 'tcp',
    host: '::1',
    port: 6514,
  });
  assert.deepEqual(loadConfig({ ...base, GATEHOUSE_AUDIT_STREAM: 'http://127.0.0.1:9/hook', GATEHOUSE_AUDIT_WEBHOOK_SECRET: WEBHOOK_SECRET }).auditStream, {
    kind: 'webhook',
    url: 'http://127.0.0.1:9/hook',
  });
  const c = loadConfig(base);
  assert.equal(c.auditStream, undefined);
  assert.equal(c.accessLog, false);
  assert.equal(c.metricsListener, undefined);
});

test('a field named like a secret never leaves, even if an event ever carried one', () => {
  const msg = syslogMessage({
    id: 'x',
    tenantId: null,
    at: 0,
    type: 'test.event',
    level: 'warn',
    actor: null,
    subject: null,
    ip: null,
    userId: null,
    clientId: null,
    data: {
      password: 'hunter2-pw',
      nested: { clientSecret: 'cs-value', refresh_token: 'rt-value', ok: 'kept' },
      authorizationCode: 'auth-code',
      recoveryCode: 'rc-value',
      list: [{ accessToken: 'at-value' }],
      tokenTtls: { accessToken: 3600 },
      code: 'revoked',
    },
  });
  for (const s of ['hunter2-pw', 'cs-value', 'rt-value', 'auth-code', 'rc-value', 'at-value']) assert.ok(!msg.includes(s), s);
  assert.match(msg, /kept/);
  assert.match(msg, /"tokenTtls":\{"accessToken":3600\}/, 'numbers are not secrets');
  assert.match(msg, /data\.code="revoked"/, 'an error code is not a secret');
  assert.match(msg, /^<108>1 1970-01-01T00:00:00.000Z \S+ gatehouse \d+ test\.event \[gatehouse@32473 /, 'facility 13 (log audit), severity 4 (warning)');
});

test("syslog over TCP: RFC 5424 messages rsyslog parses, structured data carrying the event's fields; each stored event once", {
  skip: skipSyslog,
}, async () => {
  const gh = await startTestServer({ GATEHOUSE_AUDIT_STREAM: `syslog+tcp://127.0.0.1:${rsyslog!.tcpPort}` });
  try {
    await signInCarol(gh);
    const ids = await storedIds(gh);
    const fromTcp = () => rsyslog!.parsed().filter((p) => p.input === 'tcp');
    await waitFor(() => ids.every((id) => fromTcp().some((p) => p.sd.includes(`id="${id}"`))), { what: 'every stored event at rsyslog over TCP' });
    const got = fromTcp();
    assert.equal(got.length, new Set(got.map((p) => JSON.parse(p.msg).id)).size, 'each event once');
    const ok = got.find((p) => p.msgid === 'signin.succeeded' && p.sd.includes(carol.email))!;
    assert.ok(ok, got.map((p) => p.msgid).join(' '));
    assert.equal(ok.app, 'gatehouse');
    assert.equal(ok.procid, String(process.pid));
    assert.equal(ok.facility, '13');
    assert.equal(ok.severity, '6');
    assert.match(
      ok.sd,
      /^\[gatehouse@32473 id="[\w-]+" time="\d{4}-[^"]+" at="\d+" type="signin\.succeeded" level="info" tenantId="[^"]+" subject="usr_[^"]+" ip="127\.0\.0\.1" userId="usr_[^"]+" clientId="[^"]+" data\.email="carol@example\.test"/,
    );
    const event = JSON.parse(ok.msg);
    assert.equal(event.data.email, carol.email);
    // A value with quote, bracket and backslash is escaped (RFC 5424 6.3.3), so the element still parses.
    await gh.services.auditStore.record({ tenantId: null, type: 'test.hostile', data: { note: 'Evil "] app \\ name' } });
    await waitFor(() => fromTcp().some((p) => p.msgid === 'test.hostile'), { what: 'the hostile event at rsyslog' });
    const hostile = fromTcp().find((p) => p.msgid === 'test.hostile')!;
    assert.match(hostile.sd, /data\.note="Evil \\"\\] app \\\\ name"\]$/);
    assert.equal(JSON.parse(hostile.msg).data.note, 'Evil "] app \\ name');
    assert.ok(!JSON.stringify(got).includes(carol.password));
  } finally {
    await gh.close();
  }
});

test('syslog over UDP: one datagram per event', { skip: skipSyslog }, async () => {
  const gh = await startTestServer({ GATEHOUSE_AUDIT_STREAM: `syslog://127.0.0.1:${rsyslog!.udpPort}` });
  try {
    assert.equal((await gh.api('POST', '/tenants/default/users', { email: 'dave@example.test', password: 'dave has a long password 4' })).status, 201);
    const ids = await storedIds(gh);
    await waitFor(() => ids.every((id) => rsyslog!.parsed().some((p) => p.input === 'udp' && p.sd.includes(`id="${id}"`))), {
      what: 'the events at rsyslog over UDP',
    });
    const user = rsyslog!.parsed().find((p) => p.input === 'udp' && p.sd.includes('dave@example.test'))!;
    assert.equal(user.app, 'gatehouse');
    assert.match(user.msgid, /^user\.|^admin\./);
  } finally {
    await gh.close();
  }
});

test('syslog over TCP: a receiver that restarts gets the events recorded after it is back, without restarting Gatehouse', { skip: skipSyslog }, async () => {
  let receiver = await startRsyslog();
  const { udpPort, tcpPort } = receiver;
  const gh = await startTestServer({ GATEHOUSE_AUDIT_STREAM: `syslog+tcp://127.0.0.1:${tcpPort}` });
  const mark = (n: number) => gh.services.auditStore.record({ tenantId: null, type: 'test.mark', data: { n } });
  const seen = (r: Rsyslog, n: number) => r.parsed().some((p) => p.msgid === 'test.mark' && p.sd.includes(`data.n="${n}"`));
  try {
    await mark(1);
    await waitFor(() => seen(receiver, 1), { what: 'the first event' });
    await receiver.stop();
    await mark(2); // may be lost: written to a connection the receiver had just closed (syslog over TCP has no acknowledgements)
    receiver = await startRsyslog({ udpPort, tcpPort });
    await mark(3);
    await waitFor(() => seen(receiver, 3), { what: 'an event recorded after the receiver came back' });
    assert.ok(!receiver.parsed().some((p) => p.msgid === 'test.mark' && p.sd.includes('data.n="1"')), 'nothing sent twice');
  } finally {
    await gh.close();
    await receiver.stop();
  }
});

/** A webhook receiver that refuses the first `refuse` requests with 503. */
async function receiver(refuse: number) {
  const requests: Array<{ headers: http.IncomingHttpHeaders; body: string; status: number }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const status = requests.length < refuse ? 503 : 200;
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/audit`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** What docs/operations.md tells a receiver to do with a batch. */
function verify(secret: string, header: string | undefined, rawBody: string): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.split('=') as [string, string]));
  const t = Number(parts.t);
  if (!parts.v1 || !(Math.abs(Date.now() / 1000 - t) < 300)) return false;
  const expected = crypto.createHmac('sha256', secret).update(`${parts.t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

test('webhook: batched JSON, HMAC-signed, retried with backoff under the same delivery id until accepted; events still stored', async () => {
  const hook = await receiver(2);
  const gh = await startTestServer({ GATEHOUSE_AUDIT_STREAM: hook.url, GATEHOUSE_AUDIT_WEBHOOK_SECRET: WEBHOOK_SECRET, ...LOOPBACK_OUTBOUND });
  try {
    await signInCarol(gh);
    const ids = await storedIds(gh);
    const accepted = () =>
      hook.requests.filter((r) => r.status === 200).flatMap((r) => (JSON.parse(r.body) as { events: Array<{ id: string; type: string }> }).events);
    await waitFor(() => ids.every((id) => accepted().some((e) => e.id === id)), { what: 'every stored event accepted by the webhook' });
    assert.equal(accepted().length, new Set(accepted().map((e) => e.id)).size, 'each event accepted once');
    assert.ok(hook.requests.length >= 3);
    assert.ok(hook.requests.length < accepted().length, 'batched: fewer requests than events');
    const [first, second, third] = hook.requests;
    assert.equal(first!.status, 503);
    assert.equal(second!.headers['x-gatehouse-delivery'], first!.headers['x-gatehouse-delivery'], 'a retry is the same delivery');
    assert.equal(third!.headers['x-gatehouse-delivery'], first!.headers['x-gatehouse-delivery']);
    assert.equal(JSON.parse(third!.body).deliveryId, first!.headers['x-gatehouse-delivery']);
    for (const r of hook.requests) {
      assert.equal(r.headers['content-type'], 'application/json');
      assert.ok(verify(WEBHOOK_SECRET, r.headers['x-gatehouse-signature'] as string, r.body), 'the signature verifies');
      assert.ok(!verify('another-secret-'.padEnd(48, 'x'), r.headers['x-gatehouse-signature'] as string, r.body));
      assert.ok(!verify(WEBHOOK_SECRET, r.headers['x-gatehouse-signature'] as string, r.body.replace('carol', 'mallory')), 'a changed body does not verify');
      assert.ok(!r.body.includes(carol.password) && !r.body.includes(WEBHOOK_SECRET));
    }
    // An old signature is refused by a receiver that checks t (replay).
    const stale = webhookSignature(WEBHOOK_SECRET, first!.body, Math.floor(Date.now() / 1000) - 3600);
    assert.ok(!verify(WEBHOOK_SECRET, stale, first!.body));
    const ok = accepted().find((e) => e.type === 'signin.succeeded' && JSON.stringify(e).includes(carol.email)) as unknown as {
      data: { email: string };
      tenantId: string;
    };
    assert.equal(ok.data.email, carol.email);
  } finally {
    await gh.close();
    await hook.close();
  }
});

test('webhook: a dead receiver (accepts, never answers) does not slow a sign-in', async () => {
  const held: net.Socket[] = [];
  const blackHole = net.createServer((s) => {
    held.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', () => r()));
  const port = (blackHole.address() as net.AddressInfo).port;
  const gh = await startTestServer({
    GATEHOUSE_AUDIT_STREAM: `http://127.0.0.1:${port}/audit`,
    GATEHOUSE_AUDIT_WEBHOOK_SECRET: WEBHOOK_SECRET,
    ...LOOPBACK_OUTBOUND,
  });
  try {
    assert.equal((await gh.api('POST', '/tenants/default/users', carol)).status, 201);
    const app = await deployedApp(gh, { name: 'web', displayName: 'Web', type: 'web', redirectUris: [RP] });
    const config = await rpConfig(`${gh.base}/t/default`, app.clientId, app.clientSecret);
    await waitFor(() => held.length > 0, { what: 'a batch to be sent to the dead receiver' });
    // Each sign-in records events a person waits for; were streaming in the way, every one of
    // them would wait for the receiver's five-second deadline. The fastest of three sign-ins
    // (a busy machine slows some) must be well under that.
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = Date.now();
      await codeFlow(config, new Agent(), { redirectUri: RP, ...carol });
      times.push(Date.now() - start);
    }
    assert.ok(Math.min(...times) < 4000, `sign-ins took ${times.join(', ')} ms with a dead receiver`);
    assert.ok((await storedIds(gh)).length > 0, 'events are stored all the same');
  } finally {
    await gh.close();
    for (const s of held) s.destroy();
    await new Promise<void>((r) => blackHole.close(() => r()));
  }
});
