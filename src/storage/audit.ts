// Audit events: stored, queryable, newest first.
import type { Kysely } from 'kysely';
import crypto from 'node:crypto';
import type { DB } from './schema.ts';

export type AuditLevel = 'info' | 'warn' | 'error';

export interface AuditEvent {
  id: string;
  tenantId: string | null;
  at: number;
  type: string;
  level: AuditLevel;
  actor: string | null;
  subject: string | null;
  ip: string | null;
  data: Record<string, unknown>;
}

export type AuditInput = Omit<AuditEvent, 'id' | 'at' | 'level' | 'actor' | 'subject' | 'ip' | 'data'> &
  Partial<Pick<AuditEvent, 'level' | 'actor' | 'subject' | 'ip' | 'data'>>;

// Time-ordered ids (ms timestamp then randomness) so the primary key sorts by time.
const eventId = (at: number) => at.toString(36).padStart(10, '0') + crypto.randomBytes(6).toString('base64url');

type Row = Parameters<ReturnType<Kysely<DB>['insertInto']>['values']>[0] & object;

/**
 * Events are written in groups: every event recorded within a few milliseconds goes into one
 * multi-row insert, and each caller's promise settles when its group is stored. Token issuing
 * records an event per token, so this keeps the audit trail off the hot path's write budget.
 */
export class AuditStore {
  readonly db: Kysely<DB>;
  #batch: { rows: Row[]; done: Promise<void> } | undefined;
  constructor(db: Kysely<DB>) { this.db = db; }

  record(e: AuditInput): Promise<void> {
    const at = Date.now();
    const row = {
      id: eventId(at), tenant_id: e.tenantId, at, type: e.type, level: e.level ?? 'info',
      actor: e.actor ?? null, subject: e.subject ?? null, ip: e.ip ?? null, data: JSON.stringify(e.data ?? {}),
    };
    if (!this.#batch) {
      const rows: Row[] = [];
      const done = new Promise<void>((resolve) => setTimeout(resolve, 5)).then(async () => {
        this.#batch = undefined;
        // 100 rows per statement keeps within every dialect's bound-parameter limit.
        for (let i = 0; i < rows.length; i += 100) await this.db.insertInto('audit_events').values(rows.slice(i, i + 100) as never).execute();
      });
      this.#batch = { rows, done };
    }
    this.#batch.rows.push(row as Row);
    return this.#batch.done;
  }

  /** Wait for events recorded so far to be stored. */
  async flush(): Promise<void> { await this.#batch?.done; }

  async query(opts: { tenantId?: string; type?: string; level?: AuditLevel; text?: string; since?: number; until?: number; cursor?: string; limit?: number }) {
    await this.flush();
    const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
    let q = this.db.selectFrom('audit_events').selectAll();
    if (opts.tenantId) q = q.where('tenant_id', '=', opts.tenantId);
    if (opts.type) q = q.where('type', '=', opts.type);
    if (opts.level) q = q.where('level', '=', opts.level);
    if (opts.since) q = q.where('at', '>=', opts.since);
    if (opts.until) q = q.where('at', '<=', opts.until);
    if (opts.text) {
      const s = `%${opts.text.toLowerCase()}%`;
      q = q.where((eb) => eb.or([eb(eb.fn('lower', ['data']), 'like', s), eb(eb.fn('lower', ['type']), 'like', s), eb(eb.fn('lower', ['subject']), 'like', s)]));
    }
    if (opts.cursor) q = q.where('id', '<', opts.cursor);
    const rows = await q.orderBy('id', 'desc').limit(limit + 1).execute();
    const items: AuditEvent[] = rows.slice(0, limit).map((r) => ({
      id: r.id, tenantId: r.tenant_id, at: r.at, type: r.type, level: r.level, actor: r.actor, subject: r.subject, ip: r.ip, data: JSON.parse(r.data),
    }));
    return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
  }
}
