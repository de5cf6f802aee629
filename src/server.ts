// Start and stop a Gatehouse server: context, bootstrap, background jobs, HTTP listener.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/index.ts';
import { createServices, type Services } from './services.ts';
import { createHttpHandler } from './http.ts';
import { bootstrap, type BootstrapResult } from './tenants/bootstrap.ts';
import { startJobs } from './ops/jobs.ts';
import { metricsText } from './ops/metrics.ts';
import { StartupRefusal } from './shared/errors.ts';
import { readTls } from './ops/tls.ts';

export interface RunningServer {
  services: Services;
  server: http.Server;
  /** The separate /metrics listener (GATEHOUSE_METRICS_PORT), when configured. */
  metricsServer?: http.Server;
  url: string;
  boot: BootstrapResult;
  /** With GATEHOUSE_TLS_CERT/_KEY: read the files again and use them for new connections (SIGHUP). False when they could not be used (logged; the old certificate stays). */
  reloadTls(): boolean;
  stop(): Promise<void>;
}

export async function startServer(config: Config, opts: { beforeListen?: (services: Services) => Promise<void> } = {}): Promise<RunningServer> {
  const services = await createServices(config);
  let jobs: { stop(): void } | undefined;
  try {
    const boot = await bootstrap(services);
    await opts.beforeListen?.(services);
    const handler = createHttpHandler(services);
    let tls = config.tls ? readTls(config.tls) : undefined;
    const server: http.Server = tls ? https.createServer({ cert: tls.cert, key: tls.key }, handler) : http.createServer(handler);
    if (tls) services.logger.info({ certificate: tls.summary }, 'serving HTTPS');
    server.keepAliveTimeout = 65_000; // longer than common load balancer idle timeouts
    // On-premises connectors open a WebSocket to /connector/v1; nothing else upgrades.
    server.on('upgrade', (req, socket, head) => {
      if (!services.connectorHub.handleUpgrade(req, socket, head)) socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const metricsServer = config.metricsListener
      ? await listenMetrics(services, config.metricsListener).catch((e: unknown) => {
          server.close();
          throw e;
        })
      : undefined;
    jobs = startJobs(services);
    const port = (server.address() as AddressInfo).port;
    let stopping: Promise<void> | undefined;
    return {
      services,
      server,
      metricsServer,
      boot,
      reloadTls() {
        if (!config.tls) return false;
        try {
          tls = readTls(config.tls);
        } catch (e) {
          services.logger.error({ reason: (e as Error).message }, 'TLS certificate not reloaded: still serving the previous one');
          return false;
        }
        (server as https.Server).setSecureContext({ cert: tls.cert, key: tls.key });
        services.logger.info({ certificate: tls.summary }, 'TLS certificate reloaded: new connections use it');
        return true;
      },
      url: `${tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
      stop() {
        // Graceful: stop accepting, let in-flight requests finish, then close the stores.
        stopping ??= (async () => {
          jobs?.stop();
          services.pushService.streams.closeAll(); // authenticators' event streams never go idle on their own
          await services.connectorHub.drain(); // and connectors' WebSockets: they reconnect to a node that stays
          await new Promise<void>((resolve) => {
            // Keep-alive connections go idle as their last response is sent; close them as they do.
            const idle = setInterval(() => server.closeIdleConnections(), 50);
            const force = setTimeout(() => server.closeAllConnections(), 10_000);
            server.close(() => {
              clearInterval(idle);
              clearTimeout(force);
              resolve();
            });
            server.closeIdleConnections();
          });
          await new Promise<void>((resolve) => {
            if (!metricsServer) return resolve();
            metricsServer.close(() => resolve());
            metricsServer.closeAllConnections();
          });
          await services.close();
        })();
        return stopping;
      },
    };
  } catch (e) {
    jobs?.stop();
    await services.close();
    throw e;
  }
}

/**
 * GATEHOUSE_METRICS_PORT: a listener that serves only /metrics, to anyone who reaches it. It is
 * bound to GATEHOUSE_METRICS_HOST (default 127.0.0.1), so by default only this machine (a local
 * Prometheus or agent) reaches it; bind it to an interface of a monitoring network to scrape
 * from elsewhere. In `--workers N`, the workers share it as they share the main port.
 */
async function listenMetrics(services: Services, at: { host: string; port: number }): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('This listener serves only GET /metrics.\n');
      return;
    }
    metricsText(services.metrics).then(
      (text) => {
        res.writeHead(200, { 'content-type': services.metrics.registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        services.logger.error({ err }, 'metrics could not be collected');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Metrics could not be collected; see the server log.\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new StartupRefusal(`GATEHOUSE_METRICS_PORT ${at.port} is already in use on ${at.host}. Stop what uses it or choose another port.`)
          : e,
      ),
    );
    server.listen(at.port, at.host, () => resolve());
  });
  return server;
}
