// Start and stop a Gatehouse server: context, bootstrap, background jobs, HTTP listener.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/index.ts';
import { createServices, type Services } from './services.ts';
import { createHttpHandler } from './http.ts';
import { bootstrap, type BootstrapResult } from './tenants/bootstrap.ts';
import { startJobs } from './ops/jobs.ts';

export interface RunningServer {
  services: Services;
  server: http.Server;
  url: string;
  boot: BootstrapResult;
  stop(): Promise<void>;
}

export async function startServer(config: Config, opts: { beforeListen?: (services: Services) => Promise<void> } = {}): Promise<RunningServer> {
  const services = await createServices(config);
  let jobs: { stop(): void } | undefined;
  try {
    const boot = await bootstrap(services);
    await opts.beforeListen?.(services);
    const server = http.createServer(createHttpHandler(services));
    server.keepAliveTimeout = 65_000; // longer than common load balancer idle timeouts
    // On-premises connectors open a WebSocket to /connector/v1; nothing else upgrades.
    server.on('upgrade', (req, socket, head) => { if (!services.connectorHub.handleUpgrade(req, socket, head)) socket.destroy(); });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    jobs = startJobs(services);
    const port = (server.address() as AddressInfo).port;
    let stopping: Promise<void> | undefined;
    return {
      services, server, boot,
      url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
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
            server.close(() => { clearInterval(idle); clearTimeout(force); resolve(); });
            server.closeIdleConnections();
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
