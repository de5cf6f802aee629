// On-premises connectors: one-time provisioning codes (stored as a keyed hash), the
// connectors' pinned public keys, and the status each connection reports.
import type { Kysely, Selectable } from 'kysely';
import type { ConnectorsTable, DB } from './schema.ts';
import { newId } from '../shared/crypto.ts';
import { notFound } from '../shared/errors.ts';

export interface Connector {
  id: string;
  tenantId: string;
  name: string;
  publicKey: string;
  status: 'active' | 'revoked';
  softwareVersion: string | null;
  address: string | null;
  nodeId: string | null;
  connected: boolean;
  connectedAt: number | null;
  lastSeenAt: number | null;
  latencyMs: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  createdAt: number;
  revokedAt: number | null;
}

const toConnector = (r: Selectable<ConnectorsTable>): Connector => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  publicKey: r.public_key,
  status: r.status,
  softwareVersion: r.software_version,
  address: r.address,
  nodeId: r.node_id,
  connected: !!r.connected,
  connectedAt: r.connected_at,
  lastSeenAt: r.last_seen_at,
  latencyMs: r.latency_ms,
  lastError: r.last_error,
  lastErrorAt: r.last_error_at,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

export type CodeProblem = 'unknown' | 'expired' | 'used';

/**
 * A one-time code (a connector's provisioning code, a workstation agent's enrollment code),
 * stored as its keyed hash. Spent and expired codes are kept a day for the audit trail, then dropped.
 */
export async function addOneTimeCode(
  db: Kysely<DB>,
  table: 'connector_codes' | 'workstation_codes',
  c: { tenantId: string; codeHash: string; expiresAt: number; createdBy: string | null },
): Promise<void> {
  const now = Date.now();
  await db
    .insertInto(table)
    .values({ code_hash: c.codeHash, tenant_id: c.tenantId, created_by: c.createdBy, created_at: now, expires_at: c.expiresAt, used_at: null })
    .execute();
  await db
    .deleteFrom(table)
    .where('expires_at', '<', now - 86_400_000)
    .execute();
}

export class ConnectorStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async addCode(tenantId: string, codeHash: string, expiresAt: number, createdBy: string | null): Promise<void> {
    await addOneTimeCode(this.db, 'connector_codes', { tenantId, codeHash, expiresAt, createdBy });
  }

  /**
   * Spend a code and register the connector it provisions, in one transaction: of two
   * connectors presenting the same code at once, exactly one gets it.
   */
  async provision(tenantId: string, codeHash: string, c: { name: string; publicKey: string }, now = Date.now()): Promise<Connector | CodeProblem> {
    return this.db.transaction().execute(async (trx) => {
      const id = newId('con_');
      const r = await trx
        .updateTable('connector_codes')
        .set({ used_at: now, connector_id: id })
        .where('code_hash', '=', codeHash)
        .where('tenant_id', '=', tenantId)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) {
        const row = await trx
          .selectFrom('connector_codes')
          .select(['used_at', 'expires_at'])
          .where('code_hash', '=', codeHash)
          .where('tenant_id', '=', tenantId)
          .executeTakeFirst();
        return !row ? 'unknown' : row.used_at !== null ? 'used' : 'expired';
      }
      const row = {
        id,
        tenant_id: tenantId,
        name: c.name,
        public_key: c.publicKey,
        status: 'active' as const,
        software_version: null,
        address: null,
        node_id: null,
        connected: 0,
        connected_at: null,
        last_seen_at: null,
        latency_ms: null,
        last_error: null,
        last_error_at: null,
        created_at: now,
        revoked_at: null,
      };
      await trx.insertInto('connectors').values(row).execute();
      return toConnector(row);
    });
  }

  async byId(id: string): Promise<Connector | undefined> {
    const r = await this.db.selectFrom('connectors').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toConnector(r);
  }

  async list(tenantId: string): Promise<Connector[]> {
    return (await this.db.selectFrom('connectors').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').execute()).map(toConnector);
  }

  async get(tenantId: string, id: string): Promise<Connector> {
    const c = await this.byId(id);
    if (!c || c.tenantId !== tenantId) throw notFound(`Connector ${id}`);
    return c;
  }

  async connected(id: string, s: { nodeId: string; name: string; softwareVersion: string; address: string | null }): Promise<void> {
    const now = Date.now();
    await this.db
      .updateTable('connectors')
      .set({ connected: 1, node_id: s.nodeId, name: s.name, software_version: s.softwareVersion, address: s.address, connected_at: now, last_seen_at: now })
      .where('id', '=', id)
      .execute();
  }

  async seen(id: string, latencyMs: number): Promise<void> {
    await this.db
      .updateTable('connectors')
      .set({ last_seen_at: Date.now(), latency_ms: Math.round(latencyMs) })
      .where('id', '=', id)
      .execute();
  }

  async disconnected(id: string, nodeId: string): Promise<void> {
    await this.db.updateTable('connectors').set({ connected: 0, last_seen_at: Date.now() }).where('id', '=', id).where('node_id', '=', nodeId).execute();
  }

  async failed(id: string, message: string | null): Promise<void> {
    await this.db
      .updateTable('connectors')
      .set({ last_error: message, last_error_at: message ? Date.now() : null })
      .where('id', '=', id)
      .execute();
  }

  async revoke(tenantId: string, id: string): Promise<Connector> {
    const r = await this.db
      .updateTable('connectors')
      .set({ status: 'revoked', revoked_at: Date.now(), connected: 0 })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw notFound(`Connector ${id}`);
    return this.get(tenantId, id);
  }

  /** This node stopped (or started): none of its connections are live any more. */
  async releaseNode(nodeId: string): Promise<void> {
    await this.db.updateTable('connectors').set({ connected: 0 }).where('node_id', '=', nodeId).execute();
    await this.db.deleteFrom('connector_nodes').where('id', '=', nodeId).execute();
  }

  // ---- several nodes (directory/connector/relay.ts)
  /** A node holding connector connections is alive; nodes silent for a day are forgotten. */
  async beat(node: { id: string; host: string; pid: number; startedAt: number }, now = Date.now()): Promise<void> {
    await this.db
      .insertInto('connector_nodes')
      .values({ id: node.id, host: node.host, pid: node.pid, started_at: node.startedAt, heartbeat_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: now }))
      .execute();
    await this.db
      .deleteFrom('connector_nodes')
      .where('heartbeat_at', '<', now - 86_400_000)
      .execute();
  }

  /** Each node's last heartbeat. */
  async heartbeats(nodeIds: string[]): Promise<Map<string, number>> {
    if (!nodeIds.length) return new Map();
    const rows = await this.db.selectFrom('connector_nodes').select(['id', 'heartbeat_at']).where('id', 'in', nodeIds).execute();
    return new Map(rows.map((r) => [r.id, r.heartbeat_at]));
  }

  /** The tenant's connectors connected to other nodes whose heartbeat is newer than `since`, with that heartbeat. */
  async connectedElsewhere(
    tenantId: string,
    selfNodeId: string,
    since: number,
    id?: string,
  ): Promise<Array<Connector & { nodeId: string; heartbeatAt: number }>> {
    let q = this.db
      .selectFrom('connectors')
      .innerJoin('connector_nodes', 'connector_nodes.id', 'connectors.node_id')
      .selectAll('connectors')
      .select('connector_nodes.heartbeat_at as node_heartbeat_at')
      .where('connectors.tenant_id', '=', tenantId)
      .where('connectors.status', '=', 'active')
      .where('connectors.connected', '=', 1)
      .where('connectors.node_id', '!=', selfNodeId)
      .where('connector_nodes.heartbeat_at', '>', since);
    if (id) q = q.where('connectors.id', '=', id);
    return (await q.orderBy('connectors.connected_at').execute()).map((r) => ({ ...toConnector(r), nodeId: r.node_id!, heartbeatAt: r.node_heartbeat_at }));
  }

  /** A relayed message too large for a change notice, kept (sealed) until its node takes it. */
  async putRelayed(id: string, body: string, expiresAt: number): Promise<void> {
    await this.db.insertInto('connector_relay').values({ id, body, expires_at: expiresAt }).execute();
  }

  async takeRelayed(id: string): Promise<string | undefined> {
    const r = await this.db.deleteFrom('connector_relay').where('id', '=', id).returning('body').executeTakeFirst();
    return r?.body;
  }

  /** Messages whose node never took them (it died, or the request timed out). */
  async pruneRelayed(now = Date.now()): Promise<void> {
    await this.db.deleteFrom('connector_relay').where('expires_at', '<', now).execute();
  }
}
