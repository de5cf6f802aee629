// Gatehouse's side of the connectors: the WebSocket endpoint they connect to, the handshake
// (a one-time provisioning code, then the pinned key on every reconnect), heartbeats with
// latency, and requests routed to a tenant's connected connectors: those connected to this
// process first (the least busy first), then those of other processes (relayed, relay.ts),
// and on to the next when one drops mid-request or cannot reach the directory.
// `ws` is loaded with the first connector connection.
import crypto from 'node:crypto';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.ts';
import type { Sealer, TokenHasher } from '../../shared/crypto.ts';
import type { Bus } from '../../ops/bus.ts';
import type { Throttle } from '../../ops/ratelimit.ts';
import type { TenantStore } from '../../storage/tenants.ts';
import type { ConnectorStore } from '../../storage/connectors.ts';
import type { AuditStore } from '../../storage/audit.ts';
import type { Connector } from '../../storage/connectors.ts';
import { newId } from '../../shared/crypto.ts';
import { ago } from '../../shared/time.ts';
import { LdapError } from '../ldap/client.ts';
import {
  CLOSE_REFUSED,
  CODE_TTL_MS,
  CONNECTOR_PATH,
  newCode,
  normalizeCode,
  softwareVersion,
  verify,
  type FromConnector,
  type Op,
  type RefusalCode,
  type ToConnector,
} from './protocol.ts';
import { ConnectionLost, ConnectorRelay, NodeGone, type RemoteTarget } from './relay.ts';

export const HEARTBEAT_SECONDS = 15;
const HELLO_TIMEOUT_MS = 10_000;

interface Live {
  connector: Connector;
  ws: WebSocket;
  inFlight: number;
  order: number;
  pending: Map<string, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>;
  pingAt?: number;
}

/** Where a request goes: a connection of this process, or a connector connected to another one. */
type Target =
  | { id: string; name: string; lastError: string | null; live: Live; remote?: undefined }
  | { id: string; name: string; lastError: string | null; live?: undefined; remote: RemoteTarget };

export interface ConnectorStatus {
  id: string;
  name: string;
  status: 'connected' | 'disconnected' | 'revoked';
  lastSeenAt: number | null;
  connectedAt: number | null;
  version: string | null;
  latencyMs: number | null;
  address: string | null;
  lastError: string | null;
  lastErrorAt: number | null;
  recommendedFix: string | null;
  createdAt: number;
}

export interface ConnectorHubDeps {
  config: Pick<Config, 'publicUrl'>;
  logger: Logger;
  sealer: Sealer;
  tokenHasher: TokenHasher;
  bus: Bus;
  tenantStore: TenantStore;
  connectorStore: ConnectorStore;
  auditStore: AuditStore;
  throttles: { ip: Throttle };
  /** Several processes share the store (PostgreSQL): requests are relayed to the node holding a connector. */
  sharedStore: boolean;
}

export class ConnectorHub {
  readonly nodeId = newId('node_');
  readonly #deps: ConnectorHubDeps;
  readonly #live = new Map<string, Live>();
  #wss: Promise<WebSocketServer> | undefined;
  #order = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #closing = false;
  /** With a shared store (PostgreSQL), other processes may hold the tenant's connectors. */
  readonly #relay: ConnectorRelay | undefined;
  /** Requests this process has relayed to each remote connector and not had answered. */
  readonly #relayed = new Map<string, number>();

  constructor(deps: ConnectorHubDeps) {
    this.#deps = deps;
    this.#relay = deps.sharedStore
      ? new ConnectorRelay(deps, this.nodeId, (id, op, params, timeoutMs) => this.#serveRelayed(id, op, params, timeoutMs))
      : undefined;
  }

  // ---- provisioning codes
  /** A one-time code for the tenant (shown once; stored as a keyed hash), valid 5 minutes. */
  async newCode(tenantId: string, createdBy: string | null, now = Date.now()): Promise<{ code: string; expiresAt: number }> {
    const code = newCode();
    const expiresAt = now + CODE_TTL_MS;
    await this.#deps.connectorStore.addCode(tenantId, this.#hash(code), expiresAt, createdBy);
    return { code, expiresAt };
  }
  // A keyed hash under the token-hashing key: kept at rest in place of the code (docs/security.md).
  #hash(code: string) {
    return this.#deps.tokenHasher.hash(normalizeCode(code), 'connector-code');
  }

  // ---- the WebSocket endpoint
  /** For the HTTP server's 'upgrade' event: true when the request was for the connector endpoint. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if ((req.url ?? '').split('?')[0] !== CONNECTOR_PATH) return false;
    if (this.#closing) {
      socket.destroy();
      return true;
    } // shutting down: the connector tries another node
    this.#wss ??= import('ws').then(({ WebSocketServer }) => new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 }));
    void this.#wss.then(
      (wss) => wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, req)),
      () => socket.destroy(),
    );
    return true;
  }

  #accept(ws: WebSocket, req: http.IncomingMessage) {
    const ip = req.socket.remoteAddress ?? 'unknown';
    const nonce = crypto.randomBytes(32).toString('base64url');
    const send = (m: ToConnector) => ws.send(JSON.stringify(m));
    const refuse = async (code: RefusalCode, message: string, tenantId: string | null, subject?: string) => {
      await this.#deps.throttles.ip.fail(`connector:${ip}`).catch(() => 0);
      await this.#deps.auditStore.record({ tenantId, type: 'connector.refused', level: 'warn', subject: subject ?? null, ip, data: { code, message } });
      send({ type: 'refused', code, message });
      ws.close(CLOSE_REFUSED, code);
    };
    const timer = setTimeout(() => ws.terminate(), HELLO_TIMEOUT_MS);
    send({ type: 'challenge', nonce, serverVersion: softwareVersion() });
    ws.on('error', () => {});
    ws.once('message', async (data) => {
      clearTimeout(timer);
      try {
        if ((await this.#deps.throttles.ip.blockedFor(`connector:${ip}`)) > 0)
          return await refuse(
            'throttled',
            'Too many refused connection attempts from this address. Wait 15 minutes, then check the Enterprise ID and code.',
            null,
          );
        let hello: Extract<FromConnector, { type: 'hello' }>;
        try {
          hello = JSON.parse(String(data));
        } catch {
          return await refuse('bad_hello', 'The first message was not a hello.', null);
        }
        if (hello?.type !== 'hello' || typeof hello.enterpriseId !== 'string' || typeof hello.signature !== 'string')
          return await refuse('bad_hello', 'The first message was not a valid hello. Update the connector.', null);
        const tenant = await this.#deps.tenantStore.bySlug(hello.enterpriseId);
        const name = String(hello.name ?? 'connector').slice(0, 200);
        const version = String(hello.version ?? 'unknown').slice(0, 50);
        if (!tenant) return await refuse('code_unknown', `There is no enterprise "${hello.enterpriseId}" here. Check the Enterprise ID.`, null);
        let connector: Connector | undefined;
        if (hello.code !== undefined) {
          if (typeof hello.publicKey !== 'string' || !verify(hello.publicKey, nonce, hello.enterpriseId, hello.signature))
            return await refuse('bad_signature', "The connector's key did not verify. Update the connector.", tenant.id);
          const r = await this.#deps.connectorStore.provision(tenant.id, this.#hash(String(hello.code)), { name, publicKey: hello.publicKey });
          if (typeof r === 'string') {
            const msg = {
              unknown: 'This provisioning code is not valid for this enterprise. Check the Enterprise ID and code, or generate a new code.',
              expired: 'This provisioning code has expired (codes are valid 5 minutes). Generate a new code and start the connector again within 5 minutes.',
              used: 'This provisioning code was already used. Each code works once: generate a new one.',
            }[r];
            return await refuse(`code_${r}`, msg, tenant.id);
          }
          connector = r;
          await this.#deps.auditStore.record({ tenantId: tenant.id, type: 'connector.provisioned', subject: r.id, ip, data: { name, version } });
        } else {
          const c = typeof hello.connectorId === 'string' ? await this.#deps.connectorStore.byId(hello.connectorId) : undefined;
          if (!c || c.tenantId !== tenant.id)
            return await refuse(
              'unknown_connector',
              'This connector is not registered with this enterprise. Provision it again with a new code.',
              tenant.id,
              hello.connectorId,
            );
          if (c.status === 'revoked')
            return await refuse(
              'revoked',
              'This connector was revoked by an administrator and may not connect. Provision a new one with a new code if it should.',
              tenant.id,
              c.id,
            );
          if (!verify(c.publicKey, nonce, hello.enterpriseId, hello.signature))
            return await refuse(
              'bad_signature',
              'The connector did not prove it holds the key pinned for it. If its key file was replaced, provision it again with a new code.',
              tenant.id,
              c.id,
            );
          connector = c;
        }
        if (this.#closing) return ws.terminate();
        await this.#relay?.holding(true); // this node's heartbeat first: other nodes trust its connections by it
        await this.#deps.connectorStore.connected(connector.id, { nodeId: this.nodeId, name, softwareVersion: version, address: ip });
        connector = (await this.#deps.connectorStore.byId(connector.id))!;
        this.#register(ws, connector);
        send({ type: 'welcome', connectorId: connector.id, tenant: tenant.slug, heartbeatSeconds: HEARTBEAT_SECONDS });
        await this.#deps.auditStore.record({ tenantId: tenant.id, type: 'connector.connected', subject: connector.id, ip, data: { name, version } });
      } catch (err) {
        this.#deps.logger.error({ err }, 'connector handshake failed');
        ws.terminate();
      }
    });
  }

  #register(ws: WebSocket, connector: Connector) {
    this.#live.get(connector.id)?.ws.terminate(); // the same connector again: the new connection wins
    const live: Live = { connector, ws, inFlight: 0, order: this.#order++, pending: new Map() };
    this.#live.set(connector.id, live);
    ws.on('message', (data) => {
      let m: FromConnector;
      try {
        m = JSON.parse(String(data));
      } catch {
        return;
      }
      if (m?.type !== 'response') return;
      const p = live.pending.get(m.id);
      if (!p) return;
      live.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.result);
      else
        p.reject(
          new LdapError(
            (m.error?.problem ?? 'connector') as LdapError['problem'],
            String(m.error?.message ?? 'The connector failed.'),
            String(m.error?.fix ?? ''),
          ),
        );
    });
    ws.on('pong', () => {
      if (live.pingAt === undefined) return;
      const ms = Date.now() - live.pingAt;
      live.pingAt = undefined;
      void this.#deps.connectorStore.seen(connector.id, ms).catch(() => {});
    });
    ws.on('close', () => {
      if (this.#live.get(connector.id) === live) this.#live.delete(connector.id);
      if (this.#live.size === 0) void this.#relay?.holding(false);
      for (const [id, p] of live.pending) {
        clearTimeout(p.timer);
        p.reject(new ConnectionLost(`connector ${connector.name} disconnected`));
        live.pending.delete(id);
      }
      if (this.#closing) return; // shutting down: releaseNode() marks them all
      void this.#deps.connectorStore.disconnected(connector.id, this.nodeId).catch(() => {});
      void this.#deps.auditStore
        .record({ tenantId: connector.tenantId, type: 'connector.disconnected', level: 'warn', subject: connector.id, data: { name: connector.name } })
        .catch(() => {});
    });
    this.#startHeartbeat();
    // A first latency figure right away.
    live.pingAt = Date.now();
    ws.ping();
  }

  #startHeartbeat() {
    if (this.#heartbeat) return;
    this.#heartbeat = setInterval(() => {
      for (const live of this.#live.values()) {
        // No pong since the last ping: the connection is dead (a half-open TCP connection).
        if (live.pingAt !== undefined && Date.now() - live.pingAt > 2 * HEARTBEAT_SECONDS * 1000) {
          live.ws.terminate();
          continue;
        }
        live.pingAt ??= Date.now();
        live.ws.ping();
      }
    }, HEARTBEAT_SECONDS * 1000);
    this.#heartbeat.unref();
  }

  // ---- requests
  /** The tenant's connected connectors, least busy first (then the longest connected). */
  #candidates(tenantId: string, exclude: Set<string>): Live[] {
    return [...this.#live.values()]
      .filter((l) => l.connector.tenantId === tenantId && !exclude.has(l.connector.id) && l.ws.readyState === 1)
      .sort((a, b) => a.inFlight - b.inFlight || a.order - b.order);
  }

  /** Is any connector of the tenant connected, to this process or (alive) to another? */
  async available(tenantId: string): Promise<boolean> {
    return this.#candidates(tenantId, new Set()).length > 0 || (!!this.#relay && (await this.#relay.elsewhere(tenantId)).length > 0);
  }

  #send(live: Live, op: Op, params: unknown, timeoutMs: number): Promise<unknown> {
    const id = newId();
    live.inFlight++;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        live.pending.delete(id);
        reject(new ConnectionLost(`connector ${live.connector.name} did not answer within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      live.pending.set(id, { resolve, reject, timer });
      live.ws.send(JSON.stringify({ type: 'request', id, op, params } satisfies ToConnector), (err) => {
        if (err) {
          clearTimeout(timer);
          live.pending.delete(id);
          reject(new ConnectionLost(err.message));
        }
      });
    }).finally(() => {
      live.inFlight--;
    });
  }

  /** A request relayed by another process for a connector connected here. */
  #serveRelayed(connectorId: string, op: Op, params: unknown, timeoutMs: number): Promise<unknown> {
    const live = this.#live.get(connectorId);
    if (live?.ws.readyState !== 1)
      return Promise.reject(new ConnectionLost(`connector ${live?.connector.name ?? connectorId} is no longer connected to the node it was connected to`));
    return this.#send(live, op, params, timeoutMs);
  }

  async #relay1(target: RemoteTarget, op: Op, params: unknown, timeoutMs: number): Promise<unknown> {
    this.#relayed.set(target.connectorId, (this.#relayed.get(target.connectorId) ?? 0) + 1);
    try {
      return await this.#relay!.call(target, op, params, timeoutMs);
    } finally {
      const n = (this.#relayed.get(target.connectorId) ?? 1) - 1;
      if (n > 0) this.#relayed.set(target.connectorId, n);
      else this.#relayed.delete(target.connectorId);
    }
  }

  /** The next connector to try: this process's (least busy first), then other processes' (least busy from here first). */
  async #next(tenantId: string, tried: Set<string>, pin: string | undefined, elsewhere: () => Promise<RemoteTarget[]>): Promise<Target | undefined> {
    const local = (l: Live): Target => ({ id: l.connector.id, name: l.connector.name, lastError: l.connector.lastError, live: l });
    const remote = (r: RemoteTarget): Target => ({ id: r.connectorId, name: r.name, lastError: r.lastError, remote: r });
    if (pin) {
      if (tried.has(pin)) return undefined;
      const l = this.#live.get(pin);
      if (l) return local(l);
      const r = this.#relay && (await this.#relay.elsewhere(tenantId, pin))[0];
      return r ? remote(r) : undefined;
    }
    const l = this.#candidates(tenantId, tried)[0];
    if (l) return local(l);
    if (!this.#relay) return undefined;
    const r = (await elsewhere())
      .filter((x) => !tried.has(x.connectorId))
      .sort((a, b) => (this.#relayed.get(a.connectorId) ?? 0) - (this.#relayed.get(b.connectorId) ?? 0))[0];
    return r ? remote(r) : undefined;
  }

  /**
   * Run an operation on one of the tenant's connectors, wherever it is connected. When a
   * connector drops mid-request, does not answer, or cannot reach the directory, or the node
   * holding it is gone, the next one is tried. `pin` sends it to one connector only (a paged
   * search continues where it started).
   */
  async call<T>(tenantId: string, op: Op, params: unknown, timeoutMs: number, pin?: string): Promise<{ result: T; via: string }> {
    const tried = new Set<string>();
    let remotes: Promise<RemoteTarget[]> | undefined;
    const elsewhere = () => (remotes ??= this.#relay!.elsewhere(tenantId)); // read from the store once per request
    let last: Error | undefined; // the last failure that was not a vanished node
    let gone: string | undefined;
    for (;;) {
      const next = await this.#next(tenantId, tried, pin, elsewhere);
      if (!next) break;
      tried.add(next.id);
      try {
        const result = (next.live ? await this.#send(next.live, op, params, timeoutMs) : await this.#relay1(next.remote!, op, params, timeoutMs)) as T;
        if (next.lastError) {
          if (next.live) next.live.connector.lastError = null;
          void this.#deps.connectorStore.failed(next.id, null).catch(() => {});
        }
        return { result, via: next.id };
      } catch (e) {
        if (e instanceof NodeGone) {
          // Not the connector's fault: its node died (its connections will be marked when its heartbeat is stale).
          gone = next.name;
          this.#deps.logger.warn({ connector: next.id, op }, 'the node holding a connector did not answer; trying the next connector');
          if (pin) break;
          continue;
        }
        last = e as Error;
        const message = e instanceof LdapError ? `${e.message} ${e.fix}`.trim() : (e as Error).message;
        if (next.live) next.live.connector.lastError = message;
        void this.#deps.connectorStore.failed(next.id, message.slice(0, 1000)).catch(() => {});
        const retry = e instanceof ConnectionLost || (e instanceof LdapError && (e.problem === 'unreachable' || e.problem === 'timeout'));
        if (!retry || pin) break;
        this.#deps.logger.warn({ connector: next.id, op, err: (e as Error).message }, 'connector request failed; trying the next connector');
      }
    }
    if (last instanceof LdapError) throw last;
    if (last)
      throw new LdapError(
        'connector',
        `The connector could not complete the request (${last.message}), and no other connector of this organization could.`,
        "Check the connectors' status (GET /api/v1/tenants/SLUG/connectors) and their logs.",
      );
    throw new LdapError(
      'no_connector',
      `No connector of this organization is connected to Gatehouse${gone ? ` (connector ${gone} was connected to a Gatehouse node that stopped answering)` : ''}, so the directory cannot be reached.`,
      `Start \`gatehouse connector\` on a host next to the directory (or check why it stopped); it needs outbound access to ${this.#deps.config.publicUrl}.`,
    );
  }

  // ---- status
  async status(tenantId: string): Promise<ConnectorStatus[]> {
    const now = Date.now();
    const version = softwareVersion();
    const list = await this.#deps.connectorStore.list(tenantId);
    // "connected" needs the connection to be alive where it is: here, or on another node that
    // still beats (a node that died cannot have cleared its flags); and a recent ping.
    const others = [...new Set(list.filter((c) => c.connected && c.nodeId && c.nodeId !== this.nodeId).map((c) => c.nodeId!))];
    const alive = this.#relay && others.length ? await this.#relay.liveNodes(others) : new Set<string>();
    return list.map((c) => {
      const held = c.nodeId === this.nodeId ? this.#live.has(c.id) : alive.has(c.nodeId ?? '');
      const connected = c.status === 'active' && c.connected && held && (c.lastSeenAt ?? 0) > now - 3 * HEARTBEAT_SECONDS * 1000;
      let fix: string | null = null;
      if (c.status === 'revoked') fix = 'Revoked: it cannot connect again. To use this host again, generate a provisioning code and provision it anew.';
      else if (!connected)
        fix = c.lastSeenAt
          ? `Not connected since it was last seen ${ago(c.lastSeenAt, now)}. Check that \`gatehouse connector\` is running on ${c.name} and can reach ${this.#deps.config.publicUrl} (outbound HTTPS through the firewall or proxy).`
          : `It has not connected since it was provisioned. Start \`gatehouse connector\` on ${c.name}.`;
      // A recent lastError already says what went wrong and what to do (the directory's own
      // fix is part of it): not repeated here, where it was shown twice beside itself.
      else if (c.softwareVersion && c.softwareVersion !== version) fix = `Update the connector: it runs ${c.softwareVersion}, Gatehouse runs ${version}.`;
      return {
        id: c.id,
        name: c.name,
        status: c.status === 'revoked' ? 'revoked' : connected ? 'connected' : 'disconnected',
        lastSeenAt: c.lastSeenAt,
        connectedAt: c.connectedAt,
        version: c.softwareVersion,
        latencyMs: c.latencyMs,
        address: c.address,
        lastError: c.lastError,
        lastErrorAt: c.lastErrorAt,
        recommendedFix: fix,
        createdAt: c.createdAt,
      };
    });
  }

  async revoke(tenantId: string, id: string): Promise<Connector> {
    const c = await this.#deps.connectorStore.revoke(tenantId, id);
    const live = this.#live.get(id);
    if (live) {
      live.ws.send(JSON.stringify({ type: 'refused', code: 'revoked', message: 'This connector was revoked by an administrator.' } satisfies ToConnector));
      live.ws.close(CLOSE_REFUSED, 'revoked');
    }
    // Other nodes drop it at its next reconnect, which the pinned key no longer allows.
    await this.#deps.bus.publish('connector-revoked', id).catch(() => {});
    return c;
  }

  /** A revocation on another node: drop our connection to it. */
  dropRevoked(id: string) {
    this.#live.get(id)?.ws.close(CLOSE_REFUSED, 'revoked');
  }

  /**
   * Shutting down: drop the connectors' connections now (they reconnect, through the load
   * balancer, to a node that stays; an open WebSocket would also keep the HTTP server from
   * closing) and tell the other nodes at once. Requests this node relays to others go on.
   */
  async drain(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#heartbeat);
    for (const l of this.#live.values()) l.ws.terminate();
    this.#live.clear();
    await this.#relay?.holding(false);
    // (A node that never held a connection has nothing to clear: no write at shutdown.)
    if (this.#order > 0) await this.#deps.connectorStore.releaseNode(this.nodeId).catch(() => {});
  }

  async close(): Promise<void> {
    await this.drain();
    await this.#relay?.close();
    const wss = await this.#wss?.catch(() => undefined);
    wss?.close();
  }
}
