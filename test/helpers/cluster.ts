// Several Gatehouse processes on one PostgreSQL database and one Redis, behind a small
// round-robin proxy on 127.0.0.1 that plays the load balancer: each request goes to the next
// node in turn; a node that refuses the connection (it is down) is skipped, as a load
// balancer's health check would; a request a node drops mid-way is answered 502.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ADMIN, freePort } from './server.ts';
import { waitFor } from './wait.ts';

const root = path.resolve(import.meta.dirname, '..', '..');

export interface Node {
  name: string;
  port: number;
  base: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Start one Gatehouse process (`npm start`'s command) and wait until /readyz answers 200. */
export async function startNode(name: string, env: Record<string, string>, port?: number): Promise<Node> {
  port ??= await freePort();
  const child = spawn(process.execPath, ['--import', './src/boot/ts-cache.js', 'src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      GATEHOUSE_DATA_DIR: path.join(root, 'tmp', 'unused-data-dir'),
      GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
      GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      GATEHOUSE_WORKERS: '1',
      GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  // Generous: a node's start (loading sources, migrations, the first engine) takes many times
  // longer on a busy machine; only a node that exits or never answers fails the test.
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error('exited');
        return (await fetch(`${base}/readyz`)).status === 200;
      },
      { what: `node ${name} to answer /readyz`, interval: 50 },
    );
  } catch (e) {
    if (child.exitCode !== null) throw new Error(`node ${name} exited before it was ready:\n${out}`);
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}:\n${out}`);
  }
  return {
    name,
    port,
    base,
    child,
    exited,
    output: () => out,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export interface Proxy {
  base: string;
  /** Requests each node answered, by node name. */
  served: Map<string, number>;
  close(): Promise<void>;
}

export async function roundRobinProxy(nodes: () => Node[], port?: number): Promise<Proxy> {
  const served = new Map<string, number>();
  let turn = 0;
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const all = nodes();
      const start = turn++;
      // This request's order: the next node in turn, then the others.
      const candidates = all.map((_, i) => all[(start + i) % all.length]!);
      const attempt = (tries: number) => {
        if (tries >= candidates.length) {
          res.writeHead(502).end('no node answered');
          return;
        }
        const node = candidates[tries]!;
        const up = http.request({ host: '127.0.0.1', port: node.port, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
          served.set(node.name, (served.get(node.name) ?? 0) + 1);
          res.writeHead(r.statusCode!, r.headers);
          r.pipe(res);
        });
        up.on('error', (err: NodeJS.ErrnoException) => {
          // Refused: the node is down and never saw the request, so another may take it.
          if (err.code === 'ECONNREFUSED') return attempt(tries + 1);
          if (!res.headersSent) res.writeHead(502).end(`node ${node.name} dropped the request (${err.code ?? err.message})`);
          else res.destroy();
        });
        up.end(body);
      };
      attempt(0);
    });
  });
  await new Promise<void>((r) => server.listen(port ?? 0, '127.0.0.1', () => r()));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served,
    close: () =>
      new Promise<void>((r) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Admin API calls as the bootstrap administrator, through `base`. */
export function adminClient(base: string) {
  let token: string | undefined;
  const adminToken = async () => {
    if (token) return token;
    const r = await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    if (!r.ok) throw new Error(`admin token: ${r.status} ${await r.text()}`);
    token = ((await r.json()) as { access_token: string }).access_token;
    return token;
  };
  return async <T = any>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T; headers: Headers }> => {
    const res = await fetch(`${base}/api/v1${p}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await adminToken()}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };
}

/** Prometheus value of a metric without labels. */
export async function metric(base: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}
