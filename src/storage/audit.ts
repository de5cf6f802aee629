// Audit events: stored, queryable, newest first.
import { sql, type Kysely, type Selectable } from 'kysely';
import crypto from 'node:crypto';
import type { AuditEventsTable, DB } from './schema.ts';
import { isStoreOutage } from '../shared/outage.ts';
import { containsPattern } from './paging.ts';
import { invalid } from '../shared/errors.ts';

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
  /** The user the event is about (filter by user). */
  userId: string | null;
  /** The application the event is about (filter by app). */
  clientId: string | null;
  data: Record<string, unknown>;
}

/**
 * userId and clientId default to what the event says: a subject that is a user id, and
 * data.clientId.
 */
export type AuditInput = Omit<AuditEvent, 'id' | 'at' | 'level' | 'actor' | 'subject' | 'ip' | 'data' | 'userId' | 'clientId'> &
  Partial<Pick<AuditEvent, 'level' | 'actor' | 'subject' | 'ip' | 'data' | 'userId' | 'clientId'>>;

export interface AuditQuery {
  tenantId?: string;
  type?: string;
  /** Any of these types (the overview's recent failures). */
  types?: string[];
  level?: AuditLevel;
  text?: string;
  since?: number;
  until?: number;
  /** Events about this user, or done by them (their email as the actor). */
  user?: { id?: string; email?: string };
  clientId?: string;
  cursor?: string;
  limit?: number;
}

const toEvent = (r: Selectable<AuditEventsTable>): AuditEvent => ({
  id: r.id,
  tenantId: r.tenant_id,
  at: Number(r.at),
  type: r.type,
  level: r.level,
  actor: r.actor,
  subject: r.subject,
  ip: r.ip,
  userId: r.user_id ?? null,
  clientId: r.client_id ?? null,
  data: JSON.parse(r.data),
});

/** Cursors are event ids (time-ordered): ten base-36 digits of time, then randomness. */
const CURSOR_RE = /^[0-9a-z]{10}[A-Za-z0-9_-]{8}$/;

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
  /**
   * Called with each event as it is recorded, before it is stored, synchronously: the audit
   * stream (ops/audit-stream.ts). It must not wait or throw; an error is ignored.
   */
  onRecord: ((event: AuditEvent) => void) | undefined;
  constructor(db: Kysely<DB>, onOutage: (count: number) => void = () => {}) {
    this.db = db;
    this.#onOutage = onOutage;
  }

  record(e: AuditInput, opts: { lazy?: boolean } = {}): Promise<void> {
    const at = Date.now();
    const clientId = e.clientId ?? (typeof e.data?.clientId === 'string' ? e.data.clientId : null);
    const row = {
      id: eventId(at),
      tenant_id: e.tenantId,
      at,
      type: e.type,
      level: e.level ?? 'info',
      actor: e.actor ?? null,
      subject: e.subject ?? null,
      ip: e.ip ?? null,
      data: JSON.stringify(e.data ?? {}),
      user_id: e.userId ?? (e.subject?.startsWith('usr_') ? e.subject : null),
      client_id: clientId,
    };
    if (this.onRecord) {
      try {
        this.onRecord({
          id: row.id,
          tenantId: row.tenant_id,
          at,
          type: row.type,
          level: row.level,
          actor: row.actor,
          subject: row.subject,
          ip: row.ip,
          userId: row.user_id,
          clientId: row.client_id,
          data: e.data ?? {},
        });
      } catch {
        /* streaming is best effort; the event is stored below */
      }
    }
    if (!this.#batch) {
      const rows: Row[] = [];
      let go!: () => void;
      const timer = setTimeout(() => go(), LAZY_MS);
      const done = new Promise<void>((resolve) => {
        go = resolve;
      }).then(async () => {
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
    for (let i = 0; i < rows.length; i += 100)
      await this.db
        .insertInto('audit_events')
        .values(rows.slice(i, i + 100) as never)
        .execute();
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
      this.#insert(rows).then(
        () => {
          if (!this.#pending.length) {
            clearInterval(this.#retry);
            this.#retry = undefined;
          }
        },
        () => {
          this.#pending.unshift(...rows);
        },
      );
    }, 1000);
    this.#retry.unref();
  }

  /** Wait for events recorded so far to be stored. */
  async flush(): Promise<void> {
    await this.#batch?.done;
    if (this.#pending.length) {
      const rows = this.#pending;
      this.#pending = [];
      await this.#insert(rows).catch((e) => {
        this.#pending.unshift(...rows);
        throw e;
      });
      clearInterval(this.#retry);
      this.#retry = undefined;
    }
  }

  /** Events matching the filters, newest first, a page at a time (default 50, at most 500). */
  async query(opts: AuditQuery): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
    await this.flush();
    const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
    let q = this.db.selectFrom('audit_events').selectAll();
    if (opts.tenantId) q = q.where('tenant_id', '=', opts.tenantId);
    if (opts.type) q = q.where('type', '=', opts.type);
    if (opts.types) q = q.where('type', 'in', opts.types.length ? opts.types : ['']);
    if (opts.level) q = q.where('level', '=', opts.level);
    if (opts.since) q = q.where('at', '>=', opts.since);
    if (opts.until) q = q.where('at', '<=', opts.until);
    const user = opts.user;
    if (user) {
      q = q.where((eb) =>
        eb.or([
          ...(user.id ? [eb('user_id', '=', user.id)] : []),
          ...(user.email ? [eb('actor', '=', user.email), eb.and([eb('user_id', 'is', null), eb('subject', '=', user.email)])] : []),
        ]),
      );
    }
    if (opts.clientId) q = q.where('client_id', '=', opts.clientId);
    if (opts.text) {
      const s = containsPattern(opts.text);
      q = q.where(
        sql<boolean>`(lower(data) like ${s} escape '\\' or lower(type) like ${s} escape '\\' or lower(coalesce(subject, '')) like ${s} escape '\\' or lower(coalesce(actor, '')) like ${s} escape '\\')`,
      );
    }
    if (opts.cursor) {
      if (!CURSOR_RE.test(opts.cursor))
        throw invalid('The cursor is not one this list gave out (they come from "nextCursor"). Start again from the first page.');
      q = q.where('id', '<', opts.cursor);
    }
    const rows = await q
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    const items = rows.slice(0, limit).map(toEvent);
    return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
  }

  /** Every event matching the filters, newest first, read a page at a time (exports). */
  async *all(opts: Omit<AuditQuery, 'cursor' | 'limit'>, max = 100_000): AsyncGenerator<AuditEvent> {
    let cursor: string | undefined;
    let n = 0;
    do {
      const page = await this.query({ ...opts, cursor, limit: 500 });
      for (const e of page.items) {
        if (n++ >= max) return;
        yield e;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
}
