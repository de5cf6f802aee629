// Connectors of any Gatehouse process, used from every process. A connector holds one
// WebSocket to one process; with several (worker processes, nodes), a request handled by
// another process is relayed to the one holding the connection over the change-notice bus
// (Redis pub/sub, or PostgreSQL LISTEN/NOTIFY; see ops/bus.ts), and the answer comes back the
// same way:
//   requester -> holder   req { id, from, body | spill }  sealed body: { id, from, to, exp, connectorId, op, params, timeoutMs }
//   holder -> requester   ack { id }                      at once: the holder is alive and has the request
//   holder -> requester   res { id, body | spill }        sealed body: { id, to, ok, result | error | lost }
// Bodies are sealed with the instance secret (AES-256-GCM; every node has the same
// GATEHOUSE_SECRET): they carry the service account's password and people's passwords, and
// the seal also proves that a message comes from a Gatehouse node. A body too large for a
// notice (NOTIFY carries 8,000 bytes; Redis delivers every notice to every node) waits in the
// store, still sealed, and the notice names it.
// Nodes that hold connections beat every 5 s: connections of a node silent for 15 s are not
// trusted, and a node that does not acknowledge a request within 3 s is passed over until it
// beats again (a node killed without a word still has its connections marked in the store).
import os from 'node:os';
import type { Logger } from 'pino';
import type { Sealer } from '../../shared/crypto.ts';
import type { Bus } from '../../ops/bus.ts';
import type { ConnectorStore } from '../../storage/connectors.ts';
import { newId } from '../../shared/crypto.ts';
import { LdapError } from '../ldap/client.ts';
import type { Op } from './protocol.ts';

export const NODE_BEAT_MS = 5000;
export const NODE_STALE_MS = 15_000;
export const ACK_MS = 3000;
const OPS: Op[] = ['ldap.test', 'ldap.search.open', 'ldap.search.next', 'ldap.search.close', 'ldap.authenticate'];

/** The connection to a connector broke while it had the request (or it did not answer): another connector may take it. */
export interface ConnectorRelayDeps {
  logger: Logger;
  sealer: Sealer;
  bus: Bus;
  connectorStore: ConnectorStore;
}

export class ConnectionLost extends Error {}
/** The node holding the connector did not acknowledge: it is gone, and so are its connections. */
export class NodeGone extends ConnectionLost {}

/** A connector connected to another node, as the store says. */
export interface RemoteTarget {
  connectorId: string;
  name: string;
  nodeId: string;
  heartbeatAt: number;
  lastError: string | null;
}

/** Runs a relayed request on a connector connected to this node; throws ConnectionLost or LdapError. */
export type Serve = (connectorId: string, op: Op, params: unknown, timeoutMs: number) => Promise<unknown>;

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  acked: boolean;
  ack?: NodeJS.Timeout;
  done?: NodeJS.Timeout;
}
type Envelope = { k: 'req' | 'res' | 'ack'; id: string; from?: string; body?: string; spill?: string; bad?: 'seal' };
type Reply = { ok: true; result: unknown } | { ok: false; error: { problem: string; message: string; fix: string } } | { ok: false; lost: string };

export class ConnectorRelay {
  readonly #deps: ConnectorRelayDeps;
  readonly #nodeId: string;
  readonly #serve: Serve;
  readonly #pending = new Map<string, Pending>();
  /** Requests served, until they expire: a notice replayed on the bus is not served twice. */
  readonly #served = new Map<string, number>();
  /** Nodes that did not acknowledge, with the heartbeat they had then. */
  readonly #passedOver = new Map<string, number>();
  /** Largest message sent inline on the bus; larger bodies wait in the store. */
  readonly #inline: number;
  readonly #startedAt = Date.now();
  #beat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(deps: ConnectorRelayDeps, nodeId: string, serve: Serve) {
    this.#deps = deps;
    this.#nodeId = nodeId;
    this.#serve = serve;
    this.#inline = deps.bus.kind === 'postgres' ? 7000 : 256_000;
    deps.bus.subscribe(this.#topic(nodeId), (m) => {
      void this.#receive(m).catch((err: Error) => deps.logger.warn({ err: err.message }, 'a relayed connector message could not be handled'));
    });
  }

  #topic(nodeId: string) {
    return `connector-relay:${nodeId}`;
  }

  // ---- heartbeat
  /** This node holds connections (true) or none any more (false): beat while it holds any. */
  async holding(yes: boolean): Promise<void> {
    if (!yes || this.#closed) {
      clearInterval(this.#beat);
      this.#beat = undefined;
      return;
    }
    if (this.#beat) return;
    const beat = () =>
      this.#deps.connectorStore
        .beat({ id: this.#nodeId, host: os.hostname(), pid: process.pid, startedAt: this.#startedAt })
        .then(() => this.#deps.connectorStore.pruneRelayed());
    this.#beat = setInterval(
      () => void beat().catch((err: Error) => this.#deps.logger.warn({ err: err.message }, 'connector heartbeat not written')),
      NODE_BEAT_MS,
    );
    this.#beat.unref();
    await beat();
  }

  /** The tenant's connectors on other nodes that are alive (the store's heartbeat, and not passed over since it). */
  async elsewhere(tenantId: string, id?: string): Promise<RemoteTarget[]> {
    const rows = await this.#deps.connectorStore.connectedElsewhere(tenantId, this.#nodeId, Date.now() - NODE_STALE_MS, id);
    return rows
      .filter((r) => {
        const seen = this.#passedOver.get(r.nodeId);
        if (seen === undefined) return true;
        if (r.heartbeatAt <= seen) return false;
        this.#passedOver.delete(r.nodeId); // it beat since: alive after all
        return true;
      })
      .map((r) => ({ connectorId: r.id, name: r.name, nodeId: r.nodeId, heartbeatAt: r.heartbeatAt, lastError: r.lastError }));
  }

  /** The nodes that are alive (beat within the last 15 s, and answered since they last did not). For the status list. */
  async liveNodes(nodeIds: string[]): Promise<Set<string>> {
    const beats = await this.#deps.connectorStore.heartbeats(nodeIds);
    const since = Date.now() - NODE_STALE_MS;
    return new Set([...beats].filter(([id, at]) => at > since && !(at <= (this.#passedOver.get(id) ?? -1))).map(([id]) => id));
  }

  // ---- the requesting side
  /** Run `op` on a connector connected to another node. Rejects with NodeGone, ConnectionLost or LdapError. */
  async call(target: RemoteTarget, op: Op, params: unknown, timeoutMs: number): Promise<unknown> {
    if (this.#closed) throw new ConnectionLost('this node is shutting down');
    const id = newId('rly_');
    const exp = Date.now() + timeoutMs + ACK_MS;
    const body = this.#deps.sealer.seal(
      JSON.stringify({ id, from: this.#nodeId, to: target.nodeId, exp, connectorId: target.connectorId, op, params, timeoutMs }),
    );
    return new Promise<unknown>((resolve, reject) => {
      const p: Pending = { resolve, reject, acked: false };
      this.#pending.set(id, p);
      const fail = (e: Error) => {
        if (this.#settle(id)) reject(e);
      };
      this.#post(target.nodeId, { k: 'req', id, from: this.#nodeId }, body, exp).then(
        () => {
          if (!this.#pending.has(id)) return;
          if (!p.acked)
            p.ack = setTimeout(() => {
              this.#passedOver.set(target.nodeId, target.heartbeatAt);
              fail(new NodeGone(`the Gatehouse node holding connector ${target.name} did not answer`));
            }, ACK_MS);
          // The holder waits timeoutMs for the connector; the answer then needs to come back.
          p.done = setTimeout(
            () => fail(new ConnectionLost(`connector ${target.name} (on another Gatehouse node) did not answer within ${Math.round(timeoutMs / 1000)} s`)),
            timeoutMs + ACK_MS + 1000,
          );
        },
        (e: Error) => fail(new ConnectionLost(`the request could not be relayed to the node holding connector ${target.name} (${e.message})`)),
      );
    });
  }

  #settle(id: string): Pending | undefined {
    const p = this.#pending.get(id);
    if (!p) return undefined;
    this.#pending.delete(id);
    clearTimeout(p.ack);
    clearTimeout(p.done);
    return p;
  }

  async #post(to: string, envelope: Envelope, body: string, expiresAt: number): Promise<void> {
    const topic = this.#topic(to);
    const inline = JSON.stringify({ ...envelope, body });
    if (inline.length + topic.length < this.#inline) return this.#deps.bus.publish(topic, inline);
    const spill = newId('rly_');
    await this.#deps.connectorStore.putRelayed(spill, body, expiresAt);
    await this.#deps.bus.publish(topic, JSON.stringify({ ...envelope, spill }));
  }

  // biome-ignore lint/suspicious/noExplicitAny: a relayed payload of any op; its reader checks the fields it uses
  #open(sealed: string | undefined): Record<string, any> | undefined {
    if (!sealed) return undefined;
    try {
      return JSON.parse(this.#deps.sealer.openUncached(sealed));
    } catch {
      return undefined;
    }
  }

  async #receive(message: string): Promise<void> {
    let m: Envelope;
    try {
      m = JSON.parse(message);
    } catch {
      return;
    }
    if (typeof m?.id !== 'string') return;
    if (m.k === 'ack') {
      const p = this.#pending.get(m.id);
      if (p) {
        p.acked = true;
        clearTimeout(p.ack);
      }
      return;
    }
    if (m.k === 'res') return this.#answered(m);
    if (m.k !== 'req' || typeof m.from !== 'string') return;
    // Acknowledge before anything else: the requester learns at once that this node is alive.
    await this.#deps.bus.publish(this.#topic(m.from), JSON.stringify({ k: 'ack', id: m.id } satisfies Envelope));
    const sealed = m.spill ? await this.#deps.connectorStore.takeRelayed(m.spill) : m.body;
    if (sealed === undefined) return; // taken already (a notice seen twice) or expired
    const b = this.#open(sealed);
    if (!b) {
      this.#deps.logger.error({ from: m.from }, 'a relayed connector request could not be opened: do all nodes have the same GATEHOUSE_SECRET?');
      await this.#deps.bus.publish(this.#topic(m.from), JSON.stringify({ k: 'res', id: m.id, bad: 'seal' } satisfies Envelope));
      return;
    }
    const now = Date.now();
    if (b.id !== m.id || b.to !== this.#nodeId || typeof b.exp !== 'number' || b.exp < now || this.#served.has(b.id) || !OPS.includes(b.op)) return;
    for (const [id, exp] of this.#served) if (exp < now) this.#served.delete(id);
    this.#served.set(b.id, b.exp);
    let reply: Reply;
    try {
      reply = { ok: true, result: await this.#serve(String(b.connectorId), b.op, b.params, Math.min(Number(b.timeoutMs) || 0, 10 * 60_000)) };
    } catch (e) {
      reply = e instanceof LdapError ? { ok: false, error: { problem: e.problem, message: e.message, fix: e.fix } } : { ok: false, lost: (e as Error).message };
    }
    await this.#post(b.from, { k: 'res', id: b.id }, this.#deps.sealer.seal(JSON.stringify({ id: b.id, to: b.from, ...reply })), b.exp);
  }

  async #answered(m: Envelope): Promise<void> {
    if (!this.#pending.has(m.id)) {
      if (m.spill) await this.#deps.connectorStore.takeRelayed(m.spill);
      return;
    }
    if (m.bad === 'seal') {
      this.#settle(m.id)?.reject(
        new LdapError(
          'connector',
          'Another Gatehouse node could not open a relayed connector request: the nodes do not share the same secret.',
          'Give every Gatehouse node the same GATEHOUSE_SECRET.',
        ),
      );
      return;
    }
    const b = this.#open(m.spill ? await this.#deps.connectorStore.takeRelayed(m.spill) : m.body);
    if (!b || b.id !== m.id || b.to !== this.#nodeId) return; // not from a node of this instance: ignored (the request times out)
    const p = this.#settle(m.id);
    if (!p) return;
    const r = b as Reply;
    if (r.ok) p.resolve(r.result);
    else if ('error' in r)
      p.reject(new LdapError((r.error.problem ?? 'connector') as LdapError['problem'], String(r.error.message), String(r.error.fix ?? '')));
    else p.reject(new ConnectionLost(String(r.lost)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#beat);
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(new ConnectionLost('this node is shutting down'));
  }
}
