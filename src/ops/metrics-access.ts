// Who may read /metrics. Metrics name routes, tenants and volumes, and are scraped by
// monitoring, not people: on the main port they answer only
// - a request from this machine that did not come through a proxy (a reverse proxy on the
//   same host makes every request look local; the X-Forwarded-For / Forwarded / X-Real-IP it
//   adds is what tells them apart, so such a request is never "local"), and only when no
//   separate metrics listener is configured (GATEHOUSE_METRICS_PORT: then that is the place);
// - or a request with `Authorization: Bearer <GATEHOUSE_METRICS_TOKEN>`.
// Anything else is answered exactly as an unknown address (404), so /metrics is not advertised.
import crypto from 'node:crypto';
import type http from 'node:http';
import type { Config } from '../config/index.ts';

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

const proxied = (req: http.IncomingMessage) => !!(req.headers['x-forwarded-for'] || req.headers.forwarded || req.headers['x-real-ip']);

/** Constant-time comparison (of digests, so the lengths do not show either). */
function sameSecret(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

export function metricsAllowedOnMainPort(req: http.IncomingMessage, config: Pick<Config, 'metricsToken' | 'metricsListener'>): boolean {
  const auth = req.headers.authorization;
  if (config.metricsToken && typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return !!m && sameSecret(m[1]!, config.metricsToken);
  }
  if (config.metricsListener) return false;
  return LOOPBACK.test(req.socket.remoteAddress ?? '') && !proxied(req);
}
