// Audit events: stored, queryable, newest first.
import type { Kysely } from 'kysely';
import crypto from 'node:crypto';
import type { DB } from './schema.ts';
import { isStoreOutage } from '../shared/outage.ts';

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

/** How long a group of lazy events gathers before it is written. */
const LAZY_MS = 5;

/** Events kept in memory while the database is away; beyond this the oldest are dropped. */
const MAX_PENDING = 100_000;

type Row = Parameters<ReturnType<Kysely<DB>['insertInto']>['values']>[0] & object;

/**
 * Events are written in groups: events recorded close together go into one multi-row insert,
 * and each caller's promise settles when its group is stored. An event nobody waits for
 * (`lazy`: token issuing records one per token) lets its group gather for a few milliseconds,
 * which keeps the audit trail off the hot path's write budget; any other event (a person is
 * waiting for the page that records it) has its group written at the end of this turn.
 */
export class AuditStore {
  readonly db: Kysely<DB>;
  #batch: { rows: Row[]; done: Promise<void>; now: () => void } | undefined;
  /** Events whose write failed because the database was away: written again when it is back. */
  #pending: Row[] = [];
  #retry: NodeJS.Timeout | undefined;
  readonly #onOutage: (count: number) => void;
  constructor(db: Kysely<DB>, onOutage: (count: number) => void = () => {}) { this.db = db; this.#onOutage = onOutage; }

  record(e: AuditInput, opts: { lazy?: boolean } = {}): Promise<void> {
    const at = Date.now();
    const row = {
      id: eventId(at), tenant_id: e.tenantId, at, type: e.type, level: e.level ?? 'info',
      actor: e.actor ?? null, subject: e.subject ?? null, ip: e.ip ?? null, data: JSON.stringify(e.data ?? {}),
    };
    if (!this.#batch) {
      const rows: Row[] = [];
      let go!: () => void;
      const timer = setTimeout(() => go(), LAZY_MS);
      const done = new Promise<void>((resolve) => { go = resolve; }).then(async () => {
        clearTimeout(timer);
        this.#batch = undefined;
        try {
          await this.#insert(rows);
        } catch (e) {
          // The events happened; keep them until the database answers again (bounded).
          if (isStoreOutage(e)) this.#keep(rows);
          throw e;
        }
      });
      this.#batch = { rows, done, now: () => setImmediate(go) };
    }
    this.#batch.rows.push(row as Row);
    if (!opts.lazy) this.#batch.now();
    return this.#batch.done;
  }

  async #insert(rows: Row[]): Promise<void> {
    // 100 rows per statement keeps within every dialect's bound-parameter limit.
    for (let i = 0; i < rows.length; i += 100) await this.db.insertInto('audit_events').values(rows.slice(i, i + 100) as never).execute();
  }

  #keep(rows: Row[]): void {
    const first = this.#pending.length === 0;
    this.#pending.push(...rows);
    if (this.#pending.length > MAX_PENDING) this.#pending.splice(0, this.#pending.length - MAX_PENDING);
    if (first) this.#onOutage(this.#pending.length);
    this.#retry ??= setInterval(() => {
      const rows = this.#pending;
      this.#pending = [];
      // Ids are unique, so a retry after an unclear failure cannot store an event twice.
      this.#insert(rows).then(() => { if (!this.#pending.length) { clearInterval(this.#retry); this.#retry = undefined; } },
        () => { this.#pending.unshift(...rows); });
    }, 1000);
    this.#retry.unref();
  }

  /** Wait for events recorded so far to be stored. */
  async flush(): Promise<void> {
    await this.#batch?.done;
    if (this.#pending.length) {
      const rows = this.#pending;
      this.#pending = [];
      await this.#insert(rows).catch((e) => { this.#pending.unshift(...rows); throw e; });
      clearInterval(this.#retry);
      this.#retry = undefined;
    }
  }

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
