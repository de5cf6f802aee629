// Start a real Gatehouse for a test: its own data dir (or PostgreSQL database), a free port
// on 127.0.0.1, a bootstrap administrator, and an admin API client.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createTestDatabase, deleteRedisPrefix, randomName } from './databases.ts';

export const ADMIN = { email: 'admin@example.test', password: 'correct horse battery staple' };

/**
 * For tests whose upstreams or back-channel logout receivers run on 127.0.0.1: Gatehouse
 * refuses outbound requests to loopback unless the operator allows it (src/shared/outbound.ts).
 */
export const LOOPBACK_OUTBOUND = { GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.0/8,::1' };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Where a test server keeps its data: a temp SQLite dir, or a fresh PostgreSQL database (+ Redis prefix). */
export interface Backend {
  name: string;
  skip: string | false;
  env(): Promise<Record<string, string>>;
  cleanup(): Promise<void>;
}

export function sqliteBackend(): Backend {
  return { name: 'sqlite', skip: false, env: async () => ({}), cleanup: async () => {} };
}

/** A fresh database per test file on DATABASE_URL (dropped afterwards), and a unique Redis key prefix. */
export async function postgresBackend(opts: { redis?: boolean } = {}): Promise<Backend> {
  const url = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!url) return { name: 'postgres', skip: 'DATABASE_URL not set: PostgreSQL suite skipped', env: async () => ({}), cleanup: async () => {} };
  if (opts.redis && !redisUrl)
    return { name: 'postgres+redis', skip: 'REDIS_URL not set: PostgreSQL + Redis suite skipped', env: async () => ({}), cleanup: async () => {} };
  const prefix = `ghtest:${randomName()}:`;
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  return {
    name: opts.redis ? 'postgres+redis' : 'postgres',
    skip: false,
    async env() {
      db = await createTestDatabase(url);
      return {
        DATABASE_URL: db.url,
        GATEHOUSE_SECRET: 'test-secret-'.padEnd(48, 'x'),
        ...(opts.redis && redisUrl ? { REDIS_URL: redisUrl, GATEHOUSE_REDIS_PREFIX: prefix } : {}),
      };
    },
    async cleanup() {
      await db?.drop();
      if (opts.redis && redisUrl) {
        const { Redis } = await import('ioredis');
        const r = new Redis(redisUrl);
        await deleteRedisPrefix(r, prefix);
        r.disconnect();
      }
    },
  };
}

export interface TestServer extends RunningServer {
  base: string;
  dataDir: string;
  api<T = any>(method: string, p: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  adminToken(): Promise<string>;
  close(): Promise<void>;
}

export async function startTestServer(
  env: Record<string, string> = {},
  opts: {
    dataDir?: string;
    importFile?: string;
    backend?: Backend /** e.g. localhost: WebAuthn needs a host name */;
    publicHost?: string /** a fixed port (a server restarted where another ran) */;
    port?: number;
  } = {},
): Promise<TestServer> {
  const backend = opts.backend ?? sqliteBackend();
  env = { ...(await backend.env()), ...env };
  const port = opts.port ?? (await freePort());
  const base = `http://${opts.publicHost ?? '127.0.0.1'}:${port}`;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'gh-test-'));
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    GATEHOUSE_PUBLIC_URL: base,
    GATEHOUSE_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    GATEHOUSE_STRICT_API_RESPONSES: 'true',
    GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    ...env,
  });
  const { importFile } = await import('../../src/tenants/import.ts');
  const running = await startServer(config, {
    beforeListen: opts.importFile
      ? async (services) => {
          await importFile(services, opts.importFile!);
        }
      : undefined,
  });
  let token: string | undefined;
  const api = async (method: string, p: string, body?: unknown, tok?: string) => {
    const res = await fetch(base + '/api/v1' + p, {
      method,
      headers: { 'content-type': 'application/json', ...(tok !== '' && { authorization: `Bearer ${tok ?? (await adminToken())}` }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const adminToken = async () => {
    if (token) return token;
    const r = await fetch(base + '/api/v1/auth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    if (!r.ok) throw new Error(`admin token: ${r.status} ${await r.text()}`);
    token = ((await r.json()) as { access_token: string }).access_token;
    return token;
  };
  return {
    ...running,
    base,
    dataDir,
    api,
    adminToken,
    async close() {
      await running.stop();
      await backend.cleanup();
      if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Create an app profile in the default tenant and deploy it to everyone; its credentials. */
export async function deployedApp(gh: TestServer, body: Record<string, unknown>): Promise<{ clientId: string; clientSecret: string }> {
  const r = await gh.api('POST', '/tenants/default/apps', body);
  if (r.status !== 201) throw new Error(`creating app ${String(body.name)} answered ${r.status}: ${JSON.stringify(r.body)}`);
  const d = await gh.api('PUT', `/tenants/default/apps/${r.body.clientId}/deployment`, { all: true });
  if (d.status !== 200) throw new Error(`deploying app ${String(body.name)} answered ${d.status}: ${JSON.stringify(d.body)}`);
  return { clientId: r.body.clientId as string, clientSecret: r.body.clientSecret as string };
}
