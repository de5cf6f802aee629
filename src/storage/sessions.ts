// The SSO session registry: one row per signed-in browser session (keyed by the engine
// session's stable uid), so sessions can be listed per user and ended by an administrator,
// by the user, or when a directory disables the account. The engine keeps the session itself
// (SQL or Redis); this table only describes it and never holds the session cookie value.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, SsoSessionsTable } from './schema.ts';
import type { Page } from './users.ts';
import { invalid } from '../shared/errors.ts';
import { containsPattern } from './paging.ts';

export interface SsoSessionRecord {
  id: string; // the engine session's uid
  tenantId: string;
  userId: string;
  startedAt: number;
  lastSeenAt: number;
  expiresAt: number;
  ip: string | null;
  userAgent: string | null;
  /** Client IDs of the applications signed in to through this session. */
  apps: string[];
  amr: string[];
  acr: string | null;
}

const toRecord = (r: Selectable<SsoSessionsTable>): SsoSessionRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  userId: r.user_id,
  startedAt: Number(r.started_at),
  lastSeenAt: Number(r.last_seen_at),
  expiresAt: Number(r.expires_at),
  ip: r.ip,
  userAgent: r.user_agent,
  apps: JSON.parse(r.apps),
  amr: JSON.parse(r.amr),
  acr: r.acr,
});

export class SessionStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async upsert(s: SsoSessionRecord): Promise<void> {
    const row = {
      id: s.id,
      tenant_id: s.tenantId,
      user_id: s.userId,
      started_at: s.startedAt,
      last_seen_at: s.lastSeenAt,
      expires_at: s.expiresAt,
      ip: s.ip,
      user_agent: s.userAgent,
      apps: JSON.stringify(s.apps),
      amr: JSON.stringify(s.amr),
      acr: s.acr,
    };
    // The first sighting keeps where the session started (IP, browser); later saves move
    // last seen, expiry, apps and the sign-in strength (step-up changes amr/acr).
    await this.db
      .insertInto('sso_sessions')
      .values(row)
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet({
            user_id: row.user_id,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
            apps: row.apps,
            amr: row.amr,
            acr: row.acr,
          })
          .where('sso_sessions.tenant_id', '=', s.tenantId),
      )
      .execute();
  }

  async get(tenantId: string, id: string, now = Date.now()): Promise<SsoSessionRecord | undefined> {
    const r = await this.db
      .selectFrom('sso_sessions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return r && toRecord(r);
  }

  /** Live sessions, most recently active first; optionally one user's; `search` matches the user's email, the IP or the browser. */
  async list(
    tenantId: string,
    opts: { userId?: string; search?: string; cursor?: string; limit?: number } = {},
    now = Date.now(),
  ): Promise<Page<SsoSessionRecord>> {
    const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
    let q = this.db.selectFrom('sso_sessions').selectAll().where('tenant_id', '=', tenantId).where('expires_at', '>', now);
    if (opts.userId) q = q.where('user_id', '=', opts.userId);
    if (opts.search?.trim()) {
      const s = containsPattern(opts.search.trim());
      q = q.where((eb) =>
        eb.or([
          eb('user_id', 'in', eb.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where(sql<boolean>`lower(email) like ${s} escape '\\'`)),
          sql<boolean>`lower(coalesce(ip, '')) like ${s} escape '\\'`,
          sql<boolean>`lower(coalesce(user_agent, '')) like ${s} escape '\\'`,
        ]),
      );
    }
    const cursor = opts.cursor ? decodeCursor(opts.cursor) : undefined;
    if (cursor) q = q.where((eb) => eb.or([eb('last_seen_at', '<', cursor.at), eb.and([eb('last_seen_at', '=', cursor.at), eb('id', '<', cursor.id)])]));
    const rows = await q
      .orderBy('last_seen_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    const items = rows.slice(0, limit).map(toRecord);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? Buffer.from(`${last.lastSeenAt}:${last.id}`).toString('base64url') : null };
  }

  async count(tenantId: string, now = Date.now()): Promise<number> {
    const r = await this.db
      .selectFrom('sso_sessions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('expires_at', '>', now)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async remove(tenantId: string, id: string): Promise<void> {
    await this.db.deleteFrom('sso_sessions').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }

  async purgeExpired(now = Date.now()): Promise<number> {
    const r = await this.db.deleteFrom('sso_sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

function decodeCursor(c: string): { at: number; id: string } {
  const m = /^(\d{1,16}):(.{1,200})$/.exec(Buffer.from(c, 'base64url').toString('utf8'));
  if (!m) throw invalid('The cursor is not one this list gave out. Start again without it.');
  return { at: Number(m[1]), id: m[2]! };
}
