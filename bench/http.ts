// A small HTTP/1.1 client for the load generator: node:http over keep-alive connections
// (cheaper per request than fetch), a cookie jar, and the sign-in steps both servers share
// (the approach of test/helpers/agent.ts: follow redirects by hand, fill the first form).
import http from 'node:http';

export interface Res {
  status: number;
  location?: string;
  setCookie?: string[];
  body: string;
}

export class Client {
  readonly agent: http.Agent;
  readonly host: string;
  readonly port: number;
  timeoutMs = 10_000;
  constructor(base: string, maxSockets = 256) {
    const u = new URL(base);
    this.host = u.hostname;
    this.port = Number(u.port);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
  }

  request(method: string, path: string, headers: Record<string, string | number>, body?: string, wantBody = false): Promise<Res> {
    return new Promise((resolve, reject) => {
      if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
      const req = http.request({ agent: this.agent, host: this.host, port: this.port, method, path, headers }, (res) => {
        const out: Res = { status: res.statusCode ?? 0, location: res.headers.location, setCookie: res.headers['set-cookie'], body: '' };
        if (!wantBody) {
          res.resume();
          res.on('end', () => resolve(out));
        } else {
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            out.body += c;
          });
          res.on('end', () => resolve(out));
        }
        res.on('error', reject);
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`timeout after ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close() {
    this.agent.destroy();
  }
}

export class Jar {
  readonly cookies = new Map<string, string>();
  header(): string {
    let s = '';
    for (const [k, v] of this.cookies) s += (s ? '; ' : '') + k + '=' + v;
    return s;
  }
  store(setCookie: string[] | undefined) {
    if (!setCookie) return;
    for (const c of setCookie) {
      const semi = c.indexOf(';');
      const pair = semi === -1 ? c : c.slice(0, semi);
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

const decode = (s: string) =>
  s
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCharCode(parseInt(n, 16)))
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"');

/** The first form of a page: its action (a path) and its hidden fields. */
export function firstForm(html: string, pagePath: string): { action: string; fields: Record<string, string> } {
  const m = /<form[^>]*action="([^"]*)"/.exec(html);
  if (!m)
    throw new Error(
      `no form on page: ${html
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .slice(0, 200)}`,
    );
  const fields: Record<string, string> = {};
  for (const inp of html.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(inp[0])?.[1];
    const value = /value="([^"]*)"/.exec(inp[0])?.[1] ?? '';
    if (name) fields[name] = decode(value);
  }
  const action = new URL(decode(m[1]!), `http://x${pagePath}`);
  return { action: action.pathname + action.search, fields };
}

export const pathOf = (location: string) => {
  const u = new URL(location, 'http://x/');
  return u.pathname + u.search;
};
