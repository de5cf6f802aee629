// The request log (GATEHOUSE_ACCESS_LOG=true): one JSON line per HTTP request on standard
// output, `"stream":"access"`, written when the answer is finished (or the client went away).
//
// What a line holds is chosen so that the log never becomes a place secrets leak to: the route
// pattern (never the raw path: paths carry interaction ids, setup-link tokens, user ids), never
// the query string (authorization codes, state, id_token_hint), never a header value (cookies,
// Authorization). The client id comes from the engine after it authenticated the client, not
// from the request.
import type http from 'node:http';
import { routeLabel } from './metrics.ts';

interface Noted {
  route?: string;
  clientId?: string;
}
const noted = new WeakMap<http.ServerResponse, Noted>();

/** The matched route pattern (Koa routers know it; the engine's paths are labelled by routeLabel). */
export function noteRoute(res: http.ServerResponse, route: unknown): void {
  if (typeof route !== 'string' || !route) return;
  noted.set(res, { ...noted.get(res), route });
}

/** The application the request was made by or for, once the engine knows it. */
export function noteClientId(res: http.ServerResponse, clientId: unknown): void {
  if (typeof clientId !== 'string' || !clientId) return;
  noted.set(res, { ...noted.get(res), clientId });
}

const SLUG = /^\/(?:t|api\/v1\/tenants)\/([a-z0-9-]{1,40})(?:\/|$)/;

/** Label for a path no router matched: never the raw path beyond fixed, known prefixes. */
function unmatchedRoute(path: string): string {
  if (path.startsWith('/api/')) return '/api/:unmatched';
  return routeLabel(path);
}

export interface AccessLogOptions {
  trustProxy: boolean;
  write?: (line: string) => void;
}

/** Starts timing a request; its line is written when the response closes. */
export function logRequest(req: http.IncomingMessage, res: http.ServerResponse, opts: AccessLogOptions): void {
  const start = process.hrtime.bigint();
  const path = (req.url ?? '/').split(/[?#]/)[0]!; // read first: mounting an engine rewrites the URL
  const write =
    opts.write ??
    ((line: string) => {
      process.stdout.write(line);
    });
  res.once('close', () => {
    const n = noted.get(res);
    const slug = SLUG.exec(path)?.[1];
    const line: Record<string, unknown> = {
      stream: 'access',
      time: new Date().toISOString(),
      method: /^[A-Z]{1,12}$/.test(req.method ?? '') ? req.method : 'OTHER',
      route: n?.route ?? unmatchedRoute(path),
      status: res.statusCode,
      durationMs: Math.round(Number(process.hrtime.bigint() - start) / 1e4) / 100,
      ip: clientIp(req, opts.trustProxy),
      ...(slug && { tenant: slug }),
      ...(n?.clientId && { clientId: n.clientId }),
      ...(!res.writableFinished && { aborted: true }),
    };
    write(JSON.stringify(line) + '\n');
  });
}

/** The client's address: the socket's, or the first X-Forwarded-For entry behind a trusted proxy (as Koa's ctx.ip). */
export function clientIp(req: http.IncomingMessage, trustProxy: boolean): string | undefined {
  const xff = trustProxy
    ? String(req.headers['x-forwarded-for'] ?? '')
        .split(',')[0]!
        .trim()
    : '';
  const ip = xff || req.socket.remoteAddress || undefined;
  return ip?.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1').slice(0, 64);
}
