// Workstation agents: one-time enrollment codes (kept as keyed hashes), the agents' pinned
// public keys, who is signed in to each desktop, the one-time links that open the browser
// signed in (keyed hashes too) and which SSO sessions were started on which workstation.
import type { Kysely, Selectable } from 'kysely';
import type { DB, WorkstationsTable } from './schema.ts';
import { addOneTimeCode, type CodeProblem } from './connectors.ts';
import { newId } from '../shared/crypto.ts';
import { notFound } from '../shared/errors.ts';

export interface Workstation {
  id: string;
  tenantId: string;
  name: string;
  publicKey: string;
  status: 'active' | 'revoked';
  softwareVersion: string | null;
  address: string | null;
  currentUserId: string | null;
  currentSince: number | null;
  lastSeenAt: number | null;
  createdAt: number;
  revokedAt: number | null;
}

export interface WorkstationLink {
  workstationId: string;
  tenantId: string;
  userId: string;
  target: string;
}

const num = (v: number | string | null) => (v === null ? null : Number(v));
const toWorkstation = (r: Selectable<WorkstationsTable>): Workstation => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  publicKey: r.public_key,
  status: r.status,
  softwareVersion: r.software_version,
  address: r.address,
  currentUserId: r.current_user_id,
  currentSince: num(r.current_since),
  lastSeenAt: num(r.last_seen_at),
  createdAt: Number(r.created_at),
  revokedAt: num(r.revoked_at),
});

export class WorkstationStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async addCode(tenantId: string, codeHash: string, expiresAt: number, createdBy: string | null): Promise<void> {
    await addOneTimeCode(this.db, 'workstation_codes', { tenantId, codeHash, expiresAt, createdBy });
  }

  /**
   * Spend a code and register the workstation, in one transaction (of two agents presenting
   * the same code, exactly one gets it). The code alone names the tenant: an agent is
   * enrolled with the URL and the code only.
   */
  async enroll(
    codeHash: string,
    w: { name: string; publicKey: string; softwareVersion: string; address: string | null },
    now = Date.now(),
  ): Promise<Workstation | CodeProblem> {
    return this.db.transaction().execute(async (trx) => {
      const id = newId('ws_');
      const code = await trx
        .updateTable('workstation_codes')
        .set({ used_at: now, workstation_id: id })
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning('tenant_id')
        .executeTakeFirst();
      if (!code) {
        // Read after the update: a concurrent enrollment that spent it first is seen as "used".
        const row = await trx.selectFrom('workstation_codes').select('used_at').where('code_hash', '=', codeHash).executeTakeFirst();
        return !row ? 'unknown' : row.used_at !== null ? 'used' : 'expired';
      }
      const row = {
        id,
        tenant_id: code.tenant_id,
        name: w.name,
        public_key: w.publicKey,
        status: 'active' as const,
        software_version: w.softwareVersion,
        address: w.address,
        current_user_id: null,
        current_since: null,
        last_seen_at: now,
        last_call_ts: 0,
        created_at: now,
        revoked_at: null,
      };
      await trx.insertInto('workstations').values(row).execute();
      return toWorkstation(row);
    });
  }

  async byId(id: string): Promise<Workstation | undefined> {
    const r = await this.db.selectFrom('workstations').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toWorkstation(r);
  }

  async get(tenantId: string, id: string): Promise<Workstation> {
    const w = await this.byId(id);
    if (!w || w.tenantId !== tenantId) throw notFound(`Workstation ${id}`);
    return w;
  }

  async list(tenantId: string): Promise<Workstation[]> {
    return (await this.db.selectFrom('workstations').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').orderBy('id').execute()).map(
      toWorkstation,
    );
  }

  /**
   * A signed call was verified: accept its timestamp only if it is newer than every one
   * accepted before (false: a replay, or a call overtaken by a newer one), and note the call.
   */
  async accept(id: string, ts: number, seen: { address: string | null; softwareVersion: string | null }): Promise<boolean> {
    const r = await this.db
      .updateTable('workstations')
      .set({ last_call_ts: ts, last_seen_at: Date.now(), address: seen.address, ...(seen.softwareVersion && { software_version: seen.softwareVersion }) })
      .where('id', '=', id)
      .where('status', '=', 'active')
      .where('last_call_ts', '<', ts)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Who is signed in to the desktop now (null: nobody); the previous user, for the caller to end their sessions. */
  async setCurrentUser(id: string, userId: string | null, now = Date.now()): Promise<void> {
    await this.db
      .updateTable('workstations')
      .set({ current_user_id: userId, current_since: userId ? now : null })
      .where('id', '=', id)
      .execute();
  }

  async revoke(tenantId: string, id: string): Promise<Workstation> {
    const r = await this.db
      .updateTable('workstations')
      .set({ status: 'revoked', revoked_at: Date.now(), current_user_id: null, current_since: null })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw notFound(`Workstation ${id}`);
    await this.db.deleteFrom('workstation_links').where('workstation_id', '=', id).execute();
    return this.get(tenantId, id);
  }

  // ---- one-time links
  async addLink(tokenHash: string, link: WorkstationLink, expiresAt: number): Promise<void> {
    const now = Date.now();
    await this.db
      .insertInto('workstation_links')
      .values({
        token_hash: tokenHash,
        tenant_id: link.tenantId,
        workstation_id: link.workstationId,
        user_id: link.userId,
        target: link.target,
        created_at: now,
        expires_at: expiresAt,
        used_at: null,
      })
      .execute();
    await this.db
      .deleteFrom('workstation_links')
      .where('expires_at', '<', now - 3_600_000)
      .execute();
  }

  /** Spend a link (once, before it expires); what it was for, or why it cannot be used. */
  async useLink(tenantId: string, tokenHash: string, now = Date.now()): Promise<WorkstationLink | 'unknown' | 'expired' | 'used'> {
    const row = await this.db
      .updateTable('workstation_links')
      .set({ used_at: now })
      .where('token_hash', '=', tokenHash)
      .where('tenant_id', '=', tenantId)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .returning(['workstation_id', 'tenant_id', 'user_id', 'target'])
      .executeTakeFirst();
    if (row) return { workstationId: row.workstation_id, tenantId: row.tenant_id, userId: row.user_id, target: row.target };
    // Read after the update: of two opening it at once, the one that lost sees it "used".
    const was = await this.db
      .selectFrom('workstation_links')
      .select('used_at')
      .where('token_hash', '=', tokenHash)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    return !was ? 'unknown' : was.used_at !== null ? 'used' : 'expired';
  }

  // ---- sessions bound to a workstation
  async bind(tenantId: string, workstationId: string, userId: string, sessionId: string): Promise<void> {
    await this.db
      .insertInto('workstation_sessions')
      .values({ session_id: sessionId, tenant_id: tenantId, workstation_id: workstationId, user_id: userId, created_at: Date.now() })
      .onConflict((oc) => oc.column('session_id').doUpdateSet({ workstation_id: workstationId, user_id: userId }))
      .execute();
  }

  /** The sessions started on the workstation (for one user, or every user but `exceptUserId`). */
  async boundSessions(workstationId: string, opts: { exceptUserId?: string } = {}): Promise<{ sessionId: string; userId: string }[]> {
    let q = this.db.selectFrom('workstation_sessions').select(['session_id', 'user_id']).where('workstation_id', '=', workstationId);
    if (opts.exceptUserId) q = q.where('user_id', '!=', opts.exceptUserId);
    return (await q.execute()).map((r) => ({ sessionId: r.session_id, userId: r.user_id }));
  }

  async unbind(sessionIds: string[]): Promise<void> {
    if (sessionIds.length) await this.db.deleteFrom('workstation_sessions').where('session_id', 'in', sessionIds).execute();
  }

  /** Live bound sessions per workstation of a tenant (those the session registry still lists). */
  async boundCounts(tenantId: string, now = Date.now()): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('workstation_sessions')
      .innerJoin('sso_sessions', 'sso_sessions.id', 'workstation_sessions.session_id')
      .select(['workstation_sessions.workstation_id as id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('workstation_sessions.tenant_id', '=', tenantId)
      .where('sso_sessions.expires_at', '>', now)
      .groupBy('workstation_sessions.workstation_id')
      .execute();
    return new Map(rows.map((r) => [r.id, Number(r.n)]));
  }
}
