// Start a real Gatehouse for a test: its own data dir (or PostgreSQL database), a free port
// on 127.0.0.1, a bootstrap administrator, and an admin API client.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { startServer, type RunningServer } from '../../src/server.ts';

export const ADMIN = { email: 'admin@example.test', password: 'correct horse battery staple' };

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

export interface TestServer extends RunningServer {
  base: string;
  dataDir: string;
  api<T = any>(method: string, p: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  adminToken(): Promise<string>;
  close(): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}, opts: { dataDir?: string; importFile?: string } = {}): Promise<TestServer> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'gh-test-'));
  const config = loadConfig({
    PORT: String(port), HOST: '127.0.0.1', GATEHOUSE_PUBLIC_URL: base, GATEHOUSE_DATA_DIR: dataDir, LOG_LEVEL: 'silent',
    GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password, ...env,
  });
  const { importFile } = await import('../../src/tenants/import.ts');
  const running = await startServer(config, { beforeListen: opts.importFile ? async (app) => { await importFile(app, opts.importFile!); } : undefined });
  let token: string | undefined;
  const api = async (method: string, p: string, body?: unknown, tok?: string) => {
    const res = await fetch(base + '/api/v1' + p, {
      method, headers: { 'content-type': 'application/json', ...(tok !== '' && { authorization: `Bearer ${tok ?? await adminToken()}` }) },
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
    ...running, base, dataDir, api, adminToken,
    async close() {
      await running.stop();
      if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
