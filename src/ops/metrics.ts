// Prometheus metrics served at /metrics.
import client from 'prom-client';
import cluster from 'node:cluster';
import crypto from 'node:crypto';

export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  // A worker of `gatehouse start --workers N` answers the primary's requests for its metrics.
  // setRegistries only says which registry to answer with; what makes a worker answer at all
  // is the listener prom-client adds when an AggregatorRegistry is constructed in it. Without
  // that, no worker answered, the primary's aggregation never completed, and each worker fell
  // back to its own metrics after two seconds: scrapes alternated between workers' values
  // (gatehouse_scheduler_leader 1, 0, 1, ...).
  if (cluster.isWorker) {
    client.AggregatorRegistry.setRegistries([registry]);
    new client.AggregatorRegistry(); // constructed for the listener it adds (above)
  }
  return {
    registry,
    requests: new client.Counter({
      name: 'gatehouse_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    latency: new client.Histogram({
      name: 'gatehouse_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    tokensIssued: new client.Counter({
      name: 'gatehouse_tokens_issued_total',
      help: 'Token endpoint successes by grant type',
      labelNames: ['grant_type'],
      registers: [registry],
    }),
    schedulerLeader: new client.Gauge({
      name: 'gatehouse_scheduler_leader',
      help: '1 on the node that runs the scheduled work (purge, key retirement, certificate alerts), else 0',
      registers: [registry],
    }),
    signIns: new client.Counter({ name: 'gatehouse_sign_ins_total', help: 'Interactive sign-ins by result', labelNames: ['result'], registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** One certificate whose expiry the gauge shows: an IdP signing key's or an app's registered one. */
export type CertificateExpiry =
  | { tenant: string; kind: 'idp'; kid: string; expiresAt: number }
  | { tenant: string; kind: 'app'; clientId: string; expiresAt: number };

/**
 * gatehouse_certificate_expiry_timestamp_seconds{tenant,kind,kid|client_id}: the expiry of
 * every active IdP certificate and every app-registered certificate, so that alerting catches
 * what the console warns about. Read from the store on each scrape rather than kept up to date
 * by the leader, so every node and worker answers the same, whichever the scrape reaches; in a
 * worker group the primary takes one worker's values ('max') instead of summing them.
 */
export function registerCertificateGauge(metrics: Metrics, read: () => Promise<CertificateExpiry[]>, onError: (err: unknown) => void): void {
  new client.Gauge({
    name: 'gatehouse_certificate_expiry_timestamp_seconds',
    help: 'When a certificate expires (Unix time): kind="idp" for each active signing key (label kid), kind="app" for each certificate an app registered (label client_id)',
    labelNames: ['tenant', 'kind', 'kid', 'client_id'] as const,
    aggregator: 'max',
    registers: [metrics.registry],
    async collect() {
      this.reset();
      let certs: CertificateExpiry[];
      try {
        certs = await read();
      } catch (err) {
        onError(err);
        return;
      } // the rest of /metrics still answers
      for (const c of certs) {
        const labels = c.kind === 'idp' ? { tenant: c.tenant, kind: c.kind, kid: c.kid } : { tenant: c.tenant, kind: c.kind, client_id: c.clientId };
        this.set(labels, Math.floor(c.expiresAt / 1000));
      }
    },
  });
}

/**
 * The text /metrics serves. In a worker, the whole process group's metrics (summed by the
 * primary), so a scrape that lands on any worker sees all of them; this process's own if the
 * primary does not answer within two seconds.
 */
export async function metricsText(metrics: Metrics): Promise<string> {
  if (!cluster.isWorker || !process.send) return metrics.registry.metrics();
  const id = crypto.randomUUID();
  const fromPrimary = new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      resolve(undefined);
    }, 2000);
    const onMessage = (m: { type?: string; id?: string; text?: string }) => {
      if (m?.type !== 'gatehouse:metrics-res' || m.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(m.text);
    };
    process.on('message', onMessage);
  });
  process.send({ type: 'gatehouse:metrics-req', id });
  return (await fromPrimary) ?? metrics.registry.metrics();
}

// The engine's endpoints, longest first: /token/introspection is not /token.
const ENGINE_ROUTES = [
  '/auth',
  '/token',
  '/me',
  '/jwks',
  '/.well-known/openid-configuration',
  '/session/end',
  '/token/introspection',
  '/token/revocation',
  '/request',
  '/backchannel',
  '/reg',
].sort((a, b) => b.length - a.length);

/** Collapse ids out of paths so label cardinality stays bounded. */
export function routeLabel(path: string): string {
  const m = /^\/t\/[^/]+(\/.*)?$/.exec(path);
  if (m) {
    const rest = m[1] ?? '/';
    if (rest.startsWith('/interaction/')) {
      // The step's name (login, mfa, ...), never anything else a client put in the path.
      const step = rest.split('/')[3];
      return '/t/:tenant/interaction/:uid' + (step === undefined ? '' : /^[a-z-]{1,20}$/.test(step) ? `/${step}` : '/:other');
    }
    const hit = ENGINE_ROUTES.find((k) => rest === k || rest.startsWith(k + '/'));
    return '/t/:tenant' + (hit ?? (rest.startsWith('/auth/') ? '/auth/:uid' : '/other'));
  }
  if (path.startsWith('/api/'))
    return path
      .replace(/\/t\/[^/]+/, '/t/:tenant')
      .replace(/\/(usr|grp|ou|app|dep)_[\w-]+/g, '/:id')
      .split('/')
      .slice(0, 6)
      .join('/');
  return ['/healthz', '/readyz', '/metrics', '/', '/setup'].includes(path) ? path : path.startsWith('/assets/') ? '/assets' : '/other';
}
