// `gatehouse connector`: runs next to the directory, connects outbound to Gatehouse over a
// WebSocket (wss:// in production) and runs the LDAP operations Gatehouse asks for. The
// first connection presents the one-time provisioning code with a new Ed25519 public key;
// every later one proves it holds the private key (kept in the state file, mode 0600).
// Reconnects back off exponentially (1 s to 60 s, with jitter); a refusal that retrying
// cannot fix (revoked, bad code) stops it with the reason.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WebSocket as WsSocket } from 'ws';
import { authenticate, LdapError, searchPages, testConnection, type SearchRequest } from '../ldap/client.ts';
import type { PlainEntry } from '../ldap/mapping.ts';
import type { Connection, DirectoryKind } from '../ldap/settings.ts';
import { CONNECTOR_PATH, FATAL_REFUSALS, newKeyPair, sign, softwareVersion, type FromConnector, type ToConnector } from './protocol.ts';

export interface AgentOptions {
  url: string;
  stateFile: string;
  enterpriseId?: string;
  code?: string;
  name?: string;
  /** Replace the directory URLs Gatehouse sends (a site's own domain controllers). */
  ldapUrls?: string[];
  log?: (line: string) => void;
}

interface State {
  url: string;
  enterpriseId: string;
  connectorId: string;
  privateKey: string;
  publicKey: string;
}

export class FatalConnectorError extends Error {}

export const isLoopback = (u: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);

export function connectorUrl(base: string): string {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new FatalConnectorError(`--url must be Gatehouse's public URL, like https://sso.example.com; got "${base}".`);
  }
  if (u.protocol === 'http:' && !isLoopback(u))
    throw new FatalConnectorError(`${base} is not https://. The connector sends directory passwords: it connects over TLS (wss://) except to this machine.`);
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new FatalConnectorError(`--url must be an https:// URL; got "${base}".`);
  return `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}${CONNECTOR_PATH}`;
}

/** The state file's folder can be written (checked before a one-time code is spent on it). */
export function ensureWritable(file: string, what = 'connector'): void {
  const dir = path.dirname(path.resolve(file));
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    throw new FatalConnectorError(
      `Cannot write the ${what}'s state file ${file} (${(e as Error).message}). Give a writable --state path; the provisioning code was not used.`,
    );
  }
}

export function readState<T = State>(file: string, what = 'connector'): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FatalConnectorError(`Cannot read the ${what}'s state file ${file}: ${(e as Error).message}.`);
  }
}

/** Runs until stopped (the returned stop()) or refused for good (the promise rejects with FatalConnectorError). */
export function runAgent(opts: AgentOptions): { done: Promise<void>; stop(): void } {
  const log = opts.log ?? ((l: string) => console.error(l));
  const wsUrl = connectorUrl(opts.url);
  let state = readState(opts.stateFile);
  if (state && opts.code)
    throw new FatalConnectorError(
      `${opts.stateFile} already holds a provisioned connector (${state.connectorId}). Start without a code (--code or GATEHOUSE_CONNECTOR_CODE), or use another --state file to provision a new one.`,
    );
  if (!state && (!opts.code || !opts.enterpriseId))
    throw new FatalConnectorError(
      'This connector is not provisioned yet: give --enterprise-id and the provisioning code in GATEHOUSE_CONNECTOR_CODE or on standard input with --code - (generate a code with `gatehouse connector code --tenant SLUG`; it is valid 5 minutes).',
    );
  // The key is written once the code is accepted, and the code works once: make sure the
  // state file can be written before spending the code on it.
  if (!state) ensureWritable(opts.stateFile);
  const keys = state ? undefined : newKeyPair();
  const name = opts.name ?? os.hostname();
  let stopped = false;
  let socket: WsSocket | undefined;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;
  let wake: (() => void) | undefined;
  const searches = new Map<string, { it: AsyncGenerator<PlainEntry[]>; at: number }>();

  const done = (async () => {
    const { WebSocket } = await import('ws');
    while (!stopped) {
      const outcome = await new Promise<'retry' | { fatal: string }>((resolve) => {
        const ws = new WebSocket(wsUrl, { maxPayload: 16 * 1024 * 1024, handshakeTimeout: 10_000 });
        socket = ws;
        let welcomed = false;
        let lastPing = Date.now();
        const dead = setInterval(() => {
          if (Date.now() - lastPing > 60_000) ws.terminate();
        }, 10_000);
        ws.on('ping', () => {
          lastPing = Date.now();
        });
        ws.on('error', (e) => {
          if (!welcomed) log(`connector: cannot connect to ${opts.url}: ${(e as Error).message}`);
        });
        ws.on('close', () => {
          clearInterval(dead);
          resolve(fatalReason ? { fatal: fatalReason } : 'retry');
        });
        let fatalReason: string | undefined;
        ws.on('message', async (data) => {
          let m: ToConnector;
          try {
            m = JSON.parse(String(data));
          } catch {
            return;
          }
          if (m.type === 'challenge') {
            const enterpriseId = state?.enterpriseId ?? opts.enterpriseId!;
            const privateKey = state?.privateKey ?? keys!.privateKey;
            const hello: FromConnector = {
              type: 'hello',
              enterpriseId,
              name,
              version: softwareVersion(),
              signature: sign(privateKey, m.nonce, enterpriseId),
              ...(state ? { connectorId: state.connectorId } : { code: opts.code!, publicKey: keys!.publicKey }),
            };
            ws.send(JSON.stringify(hello));
          } else if (m.type === 'welcome') {
            welcomed = true;
            failures = 0;
            if (!state) {
              state = { url: opts.url, enterpriseId: opts.enterpriseId!, connectorId: m.connectorId, privateKey: keys!.privateKey, publicKey: keys!.publicKey };
              try {
                fs.writeFileSync(opts.stateFile, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
              } catch (e) {
                // Without its key the connector cannot reconnect later: say so and stop, rather than run on borrowed time.
                fatalReason = `Could not save the connector's key in ${opts.stateFile} (${(e as Error).message}). Revoke connector ${m.connectorId} in the console, generate a new code, and start again with a writable --state file.`;
                ws.close();
                return;
              }
              log(`connector: provisioned as ${m.connectorId} for ${m.tenant}; its key is in ${opts.stateFile} (keep it; the code cannot be used again).`);
            }
            log(`connector: connected to ${opts.url} as ${m.connectorId}`);
          } else if (m.type === 'refused') {
            log(`connector: refused by Gatehouse: ${m.message}`);
            if (FATAL_REFUSALS.includes(m.code)) fatalReason = m.message;
          } else if (m.type === 'request') {
            const reply = (r: FromConnector) => {
              if (ws.readyState === 1) ws.send(JSON.stringify(r));
            };
            try {
              reply({ type: 'response', id: m.id, ok: true, result: await handle(m.op, m.params) });
            } catch (e) {
              const err = e instanceof LdapError ? e : new LdapError('connector', (e as Error).message, "See the connector's log.");
              reply({ type: 'response', id: m.id, ok: false, error: { problem: err.problem, message: err.message, fix: err.fix } });
            }
          }
        });
      });
      socket = undefined;
      if (typeof outcome === 'object') throw new FatalConnectorError(outcome.fatal);
      if (stopped) break;
      failures++;
      const pause = Math.min(60_000, 1000 * 2 ** Math.min(failures - 1, 6)) * (0.8 + Math.random() * 0.4);
      log(`connector: disconnected; reconnecting in ${(pause / 1000).toFixed(1)} s`);
      await new Promise<void>((r) => {
        wake = r;
        retry = setTimeout(r, pause);
      });
    }
  })();

  const withUrls = (conn: Connection): Connection => (opts.ldapUrls?.length ? { ...conn, urls: opts.ldapUrls } : conn);

  // biome-ignore lint/suspicious/noExplicitAny: params are validated per op by the LDAP calls' own checks
  async function handle(op: string, params: any): Promise<unknown> {
    for (const [id, s] of searches)
      if (Date.now() - s.at > 5 * 60_000) {
        void s.it.return(undefined);
        searches.delete(id);
      }
    switch (op) {
      case 'ldap.test':
        return testConnection(withUrls(params.conn), params.q);
      case 'ldap.authenticate':
        return authenticate(withUrls(params.conn), params.kind as DirectoryKind, String(params.dn), String(params.password));
      case 'ldap.search.open': {
        const it = searchPages(withUrls(params.conn), params.req as SearchRequest);
        const id = crypto.randomBytes(12).toString('base64url');
        searches.set(id, { it, at: Date.now() });
        return next(id);
      }
      case 'ldap.search.next':
        return next(String(params.cursor));
      case 'ldap.search.close': {
        const s = searches.get(String(params.cursor));
        searches.delete(String(params.cursor));
        await s?.it.return(undefined);
        return {};
      }
      default:
        throw new LdapError('connector', `Unknown operation ${op}.`, 'Update the connector to the version of Gatehouse.');
    }
  }

  async function next(cursor: string): Promise<{ cursor: string | null; entries: PlainEntry[] }> {
    const s = searches.get(cursor);
    if (!s) throw new LdapError('connector', 'This search is no longer open on the connector.', 'Start the sync again.');
    s.at = Date.now();
    const r = await s.it.next();
    if (r.done) {
      searches.delete(cursor);
      return { cursor: null, entries: [] };
    }
    return { cursor, entries: r.value };
  }

  return {
    done,
    stop() {
      stopped = true;
      clearTimeout(retry);
      wake?.();
      socket?.close();
    },
  };
}
