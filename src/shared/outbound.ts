// The one HTTP client for every request Gatehouse makes to an address an administrator typed:
// upstream discovery, JWKS, token and userinfo endpoints (openid-client's customFetch),
// back-channel logout (the engine's fetch hook), and whatever comes next (webhooks).
//
// Why its own client: a URL an administrator can type is a way to make the server reach
// places the administrator cannot (cloud metadata at 169.254.169.254, services bound to
// loopback, the private network). So:
// - link-local and cloud metadata addresses are never reached, whatever is configured;
// - loopback, private and unique-local ranges only when the operator lists them in
//   GATEHOUSE_OUTBOUND_ALLOW (an internal ADFS at 10.0.0.0/8, say);
// - the check is made on the address the socket connects to (a `lookup` hook on node:http(s)
//   that checks every resolved address), so a name that resolves differently the second time
//   (DNS rebinding) gains nothing; IP literals are checked before connecting;
// - redirects are followed by hand (at most 3), each target checked again;
// - one deadline for the whole exchange, and a cap on the size of the answer.
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export const OUTBOUND_SETTING = 'GATEHOUSE_OUTBOUND_ALLOW';
export const MAX_REDIRECTS = 3;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BYTES = 1024 * 1024;

type Family = 'ipv4' | 'ipv6';
interface Range {
  address: string;
  prefix: number;
  family: Family;
  kind: string;
}

/** Never reached: link-local (where cloud metadata services live) and the metadata addresses of AWS (IPv6) and Alibaba. */
const NEVER: Range[] = [
  { address: '169.254.0.0', prefix: 16, family: 'ipv4', kind: 'link-local (cloud metadata)' },
  { address: 'fe80::', prefix: 10, family: 'ipv6', kind: 'link-local' },
  { address: 'fd00:ec2::254', prefix: 128, family: 'ipv6', kind: 'cloud metadata' },
  { address: '100.100.100.200', prefix: 32, family: 'ipv4', kind: 'cloud metadata' },
];
/** Reached only when GATEHOUSE_OUTBOUND_ALLOW lists them. */
const PRIVATE: Range[] = [
  { address: '127.0.0.0', prefix: 8, family: 'ipv4', kind: 'loopback' },
  { address: '0.0.0.0', prefix: 8, family: 'ipv4', kind: '"this host"' },
  { address: '10.0.0.0', prefix: 8, family: 'ipv4', kind: 'private' },
  { address: '172.16.0.0', prefix: 12, family: 'ipv4', kind: 'private' },
  { address: '192.168.0.0', prefix: 16, family: 'ipv4', kind: 'private' },
  { address: '::1', prefix: 128, family: 'ipv6', kind: 'loopback' },
  { address: '::', prefix: 128, family: 'ipv6', kind: 'unspecified ("this host")' },
  { address: 'fc00::', prefix: 7, family: 'ipv6', kind: 'unique-local (private)' },
];

const blockList = (ranges: Range[]) => {
  const b = new net.BlockList();
  for (const r of ranges) b.addSubnet(r.address, r.prefix, r.family);
  return b;
};
const never = blockList(NEVER);

/** An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is the IPv4 address it maps. */
function normalize(address: string): { address: string; family: Family } | undefined {
  const a = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) return { address: mapped[1]!, family: 'ipv4' };
  const v = net.isIP(a);
  return v === 4 ? { address: a, family: 'ipv4' } : v === 6 ? { address: a, family: 'ipv6' } : undefined;
}

/** Parse a comma-separated list of CIDRs (a bare address is one host); a problem names the bad entry. */
export function parseCidrs(value: string): { ranges: Range[]; problem?: string } {
  const ranges: Range[] = [];
  for (const raw of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [addr, bits, extra] = raw.split('/');
    const n = normalize(addr ?? '');
    const max = n?.family === 'ipv4' ? 32 : 128;
    const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
    if (!n || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
      return { ranges, problem: `"${raw}" is not a CIDR range; write ranges like 10.0.0.0/8, 192.168.1.20/32 or fd12:3456::/48, separated by commas` };
    }
    ranges.push({ address: n.address, prefix, family: n.family, kind: 'allowed' });
  }
  return { ranges };
}

/** A request Gatehouse refused to make. `code` lets callers tell it from a network failure. */
export class OutboundRefused extends Error {
  readonly code = 'OUTBOUND_REFUSED';
  /** True when no setting can allow it (link-local, metadata). */
  readonly always: boolean;
  constructor(message: string, always: boolean) {
    super(message);
    this.always = always;
  }
}

/** The OutboundRefused in an error or its causes (openid-client and fetch wrap errors). */
export function refusalIn(e: unknown): OutboundRefused | undefined {
  for (let x = e, i = 0; x && i < 5; x = (x as { cause?: unknown }).cause, i++) if (x instanceof OutboundRefused) return x;
  return undefined;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;
const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

export interface OutboundOptions {
  /** Ranges the operator allows (GATEHOUSE_OUTBOUND_ALLOW); they never unlock the NEVER ranges. */
  allow?: string;
  /** Name resolution (tests pass their own to show the check is on the connected address). */
  resolver?: Resolver;
  timeoutMs?: number;
  maxBytes?: number;
}

export class Outbound {
  readonly #allowed: net.BlockList;
  readonly #resolver: Resolver;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;

  constructor(opts: OutboundOptions = {}) {
    const { ranges, problem } = parseCidrs(opts.allow ?? '');
    if (problem) throw new Error(`${OUTBOUND_SETTING}: ${problem}`);
    this.#allowed = blockList(ranges);
    this.#resolver = opts.resolver ?? systemResolver;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  /**
   * Why Gatehouse does not connect to this IP address, or undefined when it may. `hostname`:
   * the name that resolved to it, for the message.
   */
  refusal(ip: string, hostname?: string): OutboundRefused | undefined {
    const n = normalize(ip);
    if (!n) return new OutboundRefused(`${ip} is not an IP address.`, true);
    const subject = hostname ? `${hostname} resolves to ${ip}, which is` : `${ip} is`;
    const hit = (ranges: Range[]) => ranges.find((r) => r.family === n.family && blockList([r]).check(n.address, n.family));
    if (never.check(n.address, n.family)) {
      return new OutboundRefused(
        `${subject} a ${hit(NEVER)?.kind ?? 'link-local'} address; Gatehouse never sends requests there (not even with ${OUTBOUND_SETTING}).`,
        true,
      );
    }
    const priv = hit(PRIVATE);
    if (priv && !this.#allowed.check(n.address, n.family)) {
      return new OutboundRefused(
        `${subject} a ${priv.kind} address; Gatehouse sends requests to loopback and private networks only in ranges the operator lists in ${OUTBOUND_SETTING} (for example 10.0.0.0/8 for an internal ADFS).`,
        false,
      );
    }
    return undefined;
  }

  /**
   * Check a URL before it is saved: its scheme, and every address its host name resolves to now.
   * A name that does not resolve (yet) is not refused here: every fetch checks again.
   */
  async check(url: URL): Promise<OutboundRefused | undefined> {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return new OutboundRefused(`${url.protocol} addresses are not fetched; use https.`, true);
    const literal = normalize(url.hostname);
    if (literal) return this.refusal(literal.address);
    let addresses: ResolvedAddress[];
    try {
      addresses = await this.#resolver(url.hostname);
    } catch {
      return undefined;
    }
    for (const a of addresses) {
      const r = this.refusal(a.address, url.hostname);
      if (r) return r;
    }
    return undefined;
  }

  /** The `lookup` of node:http(s): resolves, and refuses when any resolved address is refused. */
  readonly #lookup = (
    hostname: string,
    options: dns.LookupOptions,
    callback: (err: Error | null, address: string | dns.LookupAddress[], family?: number) => void,
  ): void => {
    this.#resolver(hostname).then(
      (all) => {
        const wanted = all.filter((a) => !options.family || a.family === options.family);
        for (const a of wanted) {
          const r = this.refusal(a.address, hostname);
          if (r) return callback(r, '');
        }
        if (!wanted.length) return callback(Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' }), '');
        if (options.all)
          return callback(
            null,
            wanted.map((a) => ({ address: a.address, family: a.family })),
          );
        callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (e: Error) => callback(e, ''),
    );
  };

  /**
   * fetch() with the rules above, returning a WHATWG Response (for openid-client's customFetch
   * and the engine's fetch hook). redirect 'manual' hands 3xx answers back unfollowed.
   */
  fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    const deadline = AbortSignal.any([req.signal, AbortSignal.timeout(this.#timeoutMs)]);
    let url = new URL(req.url);
    let method = req.method;
    const headers = new Headers(req.headers);
    let body: Buffer | undefined = req.body ? Buffer.from(await req.arrayBuffer()) : undefined;
    for (let hop = 0; ; hop++) {
      const res = await this.#once(url, method, headers, body, deadline);
      const location = res.headers.get('location');
      if (![301, 302, 303, 307, 308].includes(res.status) || !location || req.redirect === 'manual') return res;
      if (req.redirect === 'error') throw new TypeError(`${url.href} redirected, and redirects were not allowed.`);
      if (hop >= MAX_REDIRECTS) throw new OutboundRefused(`${req.url} redirected more than ${MAX_REDIRECTS} times; Gatehouse stops there.`, false);
      const next = new URL(location, url);
      if (next.origin !== url.origin) {
        headers.delete('authorization');
        headers.delete('cookie');
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers.delete('content-type');
        headers.delete('content-length');
      }
      url = next;
    }
  };

  async #once(url: URL, method: string, headers: Headers, body: Buffer | undefined, signal: AbortSignal): Promise<Response> {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new OutboundRefused(`${url.protocol} addresses are not fetched.`, true);
    // Literal addresses never reach `lookup`: check them here.
    const literal = normalize(url.hostname);
    if (literal) {
      const r = this.refusal(literal.address);
      if (r) throw r;
    }
    signal.throwIfAborted();
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise<Response>((resolve, reject) => {
      const fail = (e: unknown) => {
        reject(signal.aborted && !(e instanceof OutboundRefused) ? timeoutError(url, signal) : e);
      };
      const request = lib.request(
        url,
        {
          method,
          headers: Object.fromEntries(headers),
          agent: false,
          lookup: this.#lookup as never,
          signal,
        },
        (res) => {
          const declared = Number(res.headers['content-length']);
          if (declared > this.#maxBytes) {
            res.destroy();
            return reject(tooLarge(url, this.#maxBytes));
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > this.#maxBytes) {
              res.destroy();
              reject(tooLarge(url, this.#maxBytes));
              return;
            }
            chunks.push(c);
          });
          res.on('error', fail);
          // Cut off mid-answer (deadline, server gone): refused, never a truncated body.
          res.on('close', () => {
            if (!res.complete) fail(new Error(`${url.href} closed the connection before its answer was complete.`));
          });
          res.on('end', () => {
            const h = new Headers();
            for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
            const status = res.statusCode ?? 502;
            const empty = method === 'HEAD' || status === 204 || status === 205 || status === 304;
            const response = new Response(empty ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage, headers: h });
            Object.defineProperty(response, 'url', { value: url.href });
            resolve(response);
          });
        },
      );
      request.on('error', fail);
      request.end(body);
    });
  }
}

const tooLarge = (url: URL, max: number) =>
  Object.assign(new Error(`${url.href} answered with more than ${max} bytes; Gatehouse stops reading there.`), { code: 'OUTBOUND_TOO_LARGE' });
const timeoutError = (url: URL, signal: AbortSignal) => {
  const reason = signal.reason as Error | undefined;
  return reason?.name === 'TimeoutError'
    ? Object.assign(new Error(`${url.href} did not answer in time.`), { code: 'ETIMEDOUT', name: 'TimeoutError' })
    : (reason ?? new Error('aborted'));
};
