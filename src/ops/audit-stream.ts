// The audit stream (GATEHOUSE_AUDIT_STREAM): every audit event, as it is recorded, also goes
// to the operator's SIEM — one JSON line on standard output, an RFC 5424 syslog message (UDP
// or TCP), or a signed, batched webhook. The database stays the record of truth: a stream that
// is down loses nothing that the console and the export cannot still show.
//
// Why this shape:
// - The stream is fed from AuditStore.record (the one place every event passes), synchronously
//   and without waiting: sending never delays the request that recorded the event, so a dead
//   receiver cannot slow a sign-in.
// - Each process streams the events it records itself, once: in `gatehouse start --workers N`
//   every worker has its own stream, and no event is recorded by two workers.
// - Nothing secret leaves: events carry no secrets by design (tests grep the stream after full
//   flows), and as a second line of defence any field whose name says it holds a secret is
//   replaced before it is sent.
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import type { Logger } from 'pino';
import type { AuditEvent } from '../storage/audit.ts';
import type { Outbound } from '../shared/outbound.ts';

export type AuditStreamTarget =
  | { kind: 'stdout' }
  | { kind: 'syslog'; transport: 'udp' | 'tcp'; host: string; port: number }
  | { kind: 'webhook'; url: string };

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** The setting's value, read; a problem says what to write instead. */
export function parseAuditStream(value: string): AuditStreamTarget | { problem: string } {
  const v = value.trim();
  const usage = 'write stdout, syslog://HOST:PORT (UDP), syslog+tcp://HOST:PORT or an https:// webhook address';
  if (v === 'stdout') return { kind: 'stdout' };
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return { problem: `"${v}" is not a stream Gatehouse knows; ${usage}` };
  }
  if (url.protocol === 'syslog:' || url.protocol === 'syslog+tcp:') {
    const port = Number(url.port);
    if (!url.hostname || !url.port || !(port > 0 && port < 65536))
      return { problem: `"${v}": give the syslog receiver's host and port, like ${url.protocol}//siem.example.org:514` };
    if (url.pathname.replace(/^\/+/, '') || url.search || url.username)
      return { problem: `"${v}": a syslog address is only ${url.protocol}//HOST:PORT (no path, query or user)` };
    return { kind: 'syslog', transport: url.protocol === 'syslog:' ? 'udp' : 'tcp', host: url.hostname.replace(/^\[|\]$/g, ''), port };
  }
  if (url.protocol === 'https:' || url.protocol === 'http:') {
    // Audit events are personal data: in clear only to this machine (a local forwarder).
    if (url.protocol === 'http:' && !LOOPBACK_HOST.test(url.host.replace(/:\d+$/, ''))) {
      return {
        problem: `"${v}": a webhook must use https (http:// is accepted only for a receiver on this machine, at 127.0.0.1, ::1 or localhost, allowed by GATEHOUSE_OUTBOUND_ALLOW)`,
      };
    }
    if (url.username || url.password)
      return { problem: `"${v}": do not put credentials in the webhook address; batches are signed with GATEHOUSE_AUDIT_WEBHOOK_SECRET` };
    return { kind: 'webhook', url: url.href };
  }
  return { problem: `"${v}" is not a stream Gatehouse knows; ${usage}` };
}

export interface AuditStream {
  /** Hand over one event; never throws, never waits. */
  send(event: AuditEvent): void;
  /** Deliver what is queued (bounded wait), then stop. */
  close(): Promise<void>;
}

// ---- what leaves the process

// `code` alone is not here: events use it for error codes (connector.refused).
const SECRET_NAME = /(password|passwd|secret|token|credential|private|otp|assertion|cookie|authorization|[a-z]Code$|^code_?verifier$)/i;

/**
 * A copy of `data` with any text field named like a secret replaced: the second line of
 * defence. Only strings (a secret is text): `tokenTtls: { accessToken: 3600 }` keeps its numbers.
 */
function scrub(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_NAME.test(k) && typeof v === 'string' ? '[redacted]' : scrub(v, depth + 1);
  return out;
}

/** The event as it is streamed: its stored fields, ISO time beside epoch milliseconds. */
export function streamedEvent(e: AuditEvent): Record<string, unknown> {
  return {
    id: e.id,
    time: new Date(e.at).toISOString(),
    at: e.at,
    type: e.type,
    level: e.level,
    tenantId: e.tenantId,
    actor: e.actor,
    subject: e.subject,
    ip: e.ip,
    userId: e.userId,
    clientId: e.clientId,
    data: scrub(e.data),
  };
}

// ---- stdout

/** One JSON line per event; `"stream":"audit"` tells it from the application log on the same output. */
export class StdoutAuditStream implements AuditStream {
  readonly #write: (line: string) => void;
  constructor(
    write: (line: string) => void = (line) => {
      process.stdout.write(line);
    },
  ) {
    this.#write = write;
  }
  send(event: AuditEvent): void {
    this.#write(JSON.stringify({ stream: 'audit', ...streamedEvent(event) }) + '\n');
  }
  async close(): Promise<void> {}
}

// ---- syslog (RFC 5424)

/** Facility 13, "log audit" (RFC 5424 table 1). */
const FACILITY = 13;
const SEVERITY: Record<AuditEvent['level'], number> = { error: 3, warn: 4, info: 6 };
/** The SD-ID: RFC 5612's example enterprise number, as IANA has none registered for Gatehouse. */
export const SYSLOG_SD_ID = 'gatehouse@32473';

const printable = (s: string, max: number) => s.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';
const paramName = (s: string) => s.replace(/[^\x21-\x7e]|[=\]"]/g, '_').slice(0, 32);
const paramValue = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v)).replace(/[\\"\]]/g, (c) => `\\${c}`);

/**
 * One RFC 5424 message: MSGID is the event type, the structured data element carries every
 * field (the event's own, then `data.<name>` for each of its data fields; objects as JSON),
 * and MSG is the whole event as JSON, for receivers that parse only the message.
 */
export function syslogMessage(e: AuditEvent, hostname = os.hostname(), pid = process.pid): string {
  const s = streamedEvent(e);
  const params: string[] = [];
  for (const [k, v] of Object.entries(s)) {
    if (k === 'data' || v === null || v === undefined) continue;
    params.push(`${paramName(k)}="${paramValue(v)}"`);
  }
  for (const [k, v] of Object.entries(s.data as Record<string, unknown>)) {
    if (v === null || v === undefined) continue;
    params.push(`${paramName(`data.${k}`)}="${paramValue(v)}"`);
  }
  const pri = FACILITY * 8 + SEVERITY[e.level];
  return `<${pri}>1 ${s.time as string} ${printable(hostname, 255)} gatehouse ${pid} ${printable(e.type, 32)} [${SYSLOG_SD_ID} ${params.join(' ')}] ${JSON.stringify(s)}`;
}

/** Messages kept while a TCP receiver is away; beyond this the oldest are dropped (they stay in the database). */
const MAX_QUEUED = 10_000;

export class SyslogAuditStream implements AuditStream {
  readonly #target: Extract<AuditStreamTarget, { kind: 'syslog' }>;
  readonly #logger: Logger;
  #udp: dgram.Socket | undefined;
  #tcp: net.Socket | undefined;
  #connected = false;
  #queue: string[] = [];
  #failures = 0;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(target: Extract<AuditStreamTarget, { kind: 'syslog' }>, logger: Logger) {
    this.#target = target;
    this.#logger = logger;
  }

  send(event: AuditEvent): void {
    if (this.#closed) return;
    const msg = syslogMessage(event);
    if (this.#target.transport === 'udp') {
      this.#sendUdp(msg);
      return;
    }
    // RFC 6587 octet counting: the length, a space, the message (messages may hold newlines).
    this.#queue.push(`${Buffer.byteLength(msg)} ${msg}`);
    if (this.#queue.length > MAX_QUEUED) this.#queue.splice(0, this.#queue.length - MAX_QUEUED);
    if (this.#connected) this.#drain();
    else this.#connect();
  }

  #sendUdp(msg: string): void {
    if (!this.#udp) {
      this.#udp = dgram.createSocket(net.isIPv6(this.#target.host) ? 'udp6' : 'udp4');
      this.#udp.on('error', (err) => this.#problem(err));
      this.#udp.unref();
    }
    this.#udp.send(msg, this.#target.port, this.#target.host, (err) => {
      if (err) this.#problem(err);
    });
  }

  #connect(): void {
    if (this.#tcp || this.#retry || this.#closed) return;
    const socket = net.connect({ host: this.#target.host, port: this.#target.port });
    this.#tcp = socket;
    socket.setKeepAlive(true, 60_000);
    socket.unref();
    socket.on('connect', () => {
      if (this.#failures) this.#logger.info({ receiver: `${this.#target.host}:${this.#target.port}` }, 'audit stream: syslog receiver reachable again');
      this.#failures = 0;
      this.#connected = true;
      this.#drain();
    });
    socket.on('error', (err) => this.#problem(err));
    socket.on('close', () => {
      this.#tcp = undefined;
      this.#connected = false;
      if (this.#closed) return;
      // Reconnect with a growing pause (1 s, doubling, at most 30 s) while events wait.
      const pause = Math.min(30_000, 1000 * 2 ** Math.min(this.#failures, 5));
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        if (this.#queue.length) this.#connect();
      }, pause);
      this.#retry.unref();
    });
  }

  #drain(): void {
    const socket = this.#tcp;
    if (!socket || !this.#connected) return;
    const lines = this.#queue;
    this.#queue = [];
    socket.write(lines.join(''));
  }

  #problem(err: Error): void {
    // Said once per outage, not once per event.
    if (this.#failures++ === 0) {
      this.#logger.warn(
        { receiver: `${this.#target.host}:${this.#target.port}`, err: err.message },
        'audit stream: cannot reach the syslog receiver; events are still stored, and sent when it answers again (TCP)',
      );
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#udp?.close();
    const socket = this.#tcp;
    if (socket && this.#connected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          socket.destroy();
          resolve();
        }, 2000);
        socket.end(() => {
          clearTimeout(t);
          resolve();
        });
      });
    } else socket?.destroy();
  }
}

// ---- webhook

/** Events per request. */
export const WEBHOOK_BATCH = 100;
/** How long events gather before a batch is sent (a full batch goes at once). */
const WEBHOOK_GATHER_MS = 1000;
/** Retry pauses: 1 s, doubling, at most this. */
const WEBHOOK_MAX_PAUSE_MS = 60_000;
export const SIGNATURE_HEADER = 'X-Gatehouse-Signature';

/** The signature header's value for a body: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export function webhookSignature(secret: string, body: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${crypto.createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/**
 * Batches events and POSTs them as `{"events":[...]}`, signed, through the outbound client
 * (its SSRF rules: a receiver on loopback or a private network needs GATEHOUSE_OUTBOUND_ALLOW).
 * A batch that fails is sent again with backoff, with the same delivery id, until it is
 * accepted (2xx); events keep queueing meanwhile (bounded).
 */
export class WebhookAuditStream implements AuditStream {
  readonly #url: string;
  readonly #secret: string;
  readonly #outbound: Pick<Outbound, 'fetch'>;
  readonly #logger: Logger;
  #queue: Record<string, unknown>[] = [];
  #inFlight: { id: string; events: Record<string, unknown>[] } | undefined;
  #sending: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #dropped = 0;
  #closed = false;

  constructor(opts: { url: string; secret: string; outbound: Pick<Outbound, 'fetch'>; logger: Logger }) {
    this.#url = opts.url;
    this.#secret = opts.secret;
    this.#outbound = opts.outbound;
    this.#logger = opts.logger;
  }

  send(event: AuditEvent): void {
    if (this.#closed) return;
    this.#queue.push(streamedEvent(event));
    if (this.#queue.length > MAX_QUEUED) {
      const n = this.#queue.length - MAX_QUEUED;
      this.#queue.splice(0, n);
      if (this.#dropped === 0)
        this.#logger.warn(
          { receiver: this.#origin() },
          `audit stream: the webhook is not accepting events; more than ${MAX_QUEUED} are waiting, so the oldest are no longer streamed (they are still stored)`,
        );
      this.#dropped += n;
    }
    if (!this.#failures) this.#schedule(this.#queue.length >= WEBHOOK_BATCH ? 0 : WEBHOOK_GATHER_MS);
  }

  #origin(): string {
    return new URL(this.#url).origin;
  }

  #schedule(ms: number): void {
    if (this.#sending) return;
    if (this.#timer && ms > 0) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#sending = this.#deliver()
        .then(() => {})
        .finally(() => {
          this.#sending = undefined;
          this.#next();
        });
    }, ms);
    this.#timer.unref();
  }

  #next(): void {
    if (this.#closed) return;
    if (this.#failures) {
      const pause = Math.min(WEBHOOK_MAX_PAUSE_MS, 1000 * 2 ** (this.#failures - 1));
      this.#schedule(pause * (0.8 + Math.random() * 0.4));
    } else if (this.#queue.length) this.#schedule(this.#queue.length >= WEBHOOK_BATCH ? 0 : WEBHOOK_GATHER_MS);
  }

  /** Send the batch in flight (or the next one); true when it was accepted. */
  async #deliver(): Promise<boolean> {
    this.#inFlight ??= this.#queue.length ? { id: crypto.randomUUID(), events: this.#queue.splice(0, WEBHOOK_BATCH) } : undefined;
    const batch = this.#inFlight;
    if (!batch) return true;
    const body = JSON.stringify({ deliveryId: batch.id, events: batch.events });
    try {
      const res = await this.#outbound.fetch(this.#url, {
        method: 'POST',
        redirect: 'error',
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Gatehouse audit stream',
          'x-gatehouse-delivery': batch.id,
          [SIGNATURE_HEADER.toLowerCase()]: webhookSignature(this.#secret, body),
        },
      });
      if (res.status < 200 || res.status > 299) throw new Error(`it answered ${res.status}`);
      this.#inFlight = undefined;
      if (this.#failures) this.#logger.info({ receiver: this.#origin(), failures: this.#failures }, 'audit stream: the webhook accepts events again');
      this.#failures = 0;
      this.#dropped = 0;
      return true;
    } catch (e) {
      if (this.#failures++ === 0) {
        this.#logger.warn(
          { receiver: this.#origin(), err: (e as Error).message },
          'audit stream: the webhook did not accept a batch; retrying with backoff (events are still stored)',
        );
      }
      return false;
    }
  }

  /** Try to deliver what is queued, for at most `ms`, then stop. */
  async close(ms = 3000): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const deadline = Date.now() + ms;
    const deliverAll = async () => {
      await this.#sending;
      while ((this.#inFlight || this.#queue.length) && Date.now() < deadline && !this.#closed) {
        if (!(await this.#deliver())) break;
      }
    };
    await Promise.race([deliverAll(), new Promise((r) => setTimeout(r, ms).unref())]);
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}

/** The stream the configuration asks for, or undefined (events only stored). */
export function createAuditStream(
  target: AuditStreamTarget | undefined,
  deps: { logger: Logger; outbound: Pick<Outbound, 'fetch'>; webhookSecret?: string },
): AuditStream | undefined {
  if (!target) return undefined;
  if (target.kind === 'stdout') return new StdoutAuditStream();
  if (target.kind === 'syslog') return new SyslogAuditStream(target, deps.logger);
  return new WebhookAuditStream({ url: target.url, secret: deps.webhookSecret!, outbound: deps.outbound, logger: deps.logger });
}
