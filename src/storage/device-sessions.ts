// Device sessions (OpenID Connect Native SSO on shared mobile devices): one row per device
// secret handed out, i.e. one user's shift on one checked-out device, with the apps that
// exchanged into it (and the engine grant each one's tokens hang from, so a check-in can
// revoke them). The device secret itself is never stored: only its keyed hash (to find the
// session when it is presented) and the ID tokens' ds_hash.
import type { Kysely, Selectable } from 'kysely';
import type { DB, DeviceSessionsTable } from './schema.ts';
import type { Page } from './users.ts';
import { newId } from '../shared/crypto.ts';
import { invalid } from '../shared/errors.ts';

export interface DeviceSessionApp {
  clientId: string;
  grantId: string;
  joinedAt: number;
}

export interface DeviceSession {
  id: string;
  tenantId: string;
  userId: string;
  /** The device SSO group of the app that checked the device out; only its apps may exchange. */
  group: string;
  deviceName: string | null;
  deviceId: string | null;
  secretHash: string;
  dsHash: string;
  sid: string;
  /** The engine (browser) session the check-out signed in with, ended at check-in. */
  sessionUid: string | null;
  checkoutClientId: string;
  amr: string[];
  acr: string | null;
  /** Seconds since the epoch, as in ID tokens. */
  authTime: number | null;
  startedAt: number;
  expiresAt: number;
  endedAt: number | null;
  endReason: string | null;
  apps: DeviceSessionApp[];
}

export type NewDeviceSession = Omit<DeviceSession, 'id' | 'endedAt' | 'endReason' | 'apps'>;

const toSession = (r: Selectable<DeviceSessionsTable>, apps: DeviceSessionApp[]): DeviceSession => ({
  id: r.id,
  tenantId: r.tenant_id,
  userId: r.user_id,
  group: r.group_name,
  deviceName: r.device_name,
  deviceId: r.device_id,
  secretHash: r.secret_hash,
  dsHash: r.ds_hash,
  sid: r.sid,
  sessionUid: r.session_uid,
  checkoutClientId: r.checkout_client_id,
  amr: JSON.parse(r.amr),
  acr: r.acr,
  authTime: r.auth_time === null ? null : Number(r.auth_time),
  startedAt: Number(r.started_at),
  expiresAt: Number(r.expires_at),
  endedAt: r.ended_at === null ? null : Number(r.ended_at),
  endReason: r.end_reason,
  apps,
});

/** How long a check-out's device description waits for its authorization code to be redeemed. */
export const CHECKOUT_NOTE_MS = 10 * 60_000;

export class DeviceSessionStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async #withApps(rows: Selectable<DeviceSessionsTable>[]): Promise<DeviceSession[]> {
    if (!rows.length) return [];
    const apps = await this.db
      .selectFrom('device_session_apps')
      .selectAll()
      .where(
        'device_session_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('joined_at')
      .execute();
    return rows.map((r) =>
      toSession(
        r,
        apps.filter((a) => a.device_session_id === r.id).map((a) => ({ clientId: a.client_id, grantId: a.grant_id, joinedAt: Number(a.joined_at) })),
      ),
    );
  }

  async create(s: NewDeviceSession): Promise<DeviceSession> {
    const id = newId('dvs_');
    await this.db
      .insertInto('device_sessions')
      .values({
        id,
        tenant_id: s.tenantId,
        user_id: s.userId,
        group_name: s.group,
        device_name: s.deviceName,
        device_id: s.deviceId,
        secret_hash: s.secretHash,
        ds_hash: s.dsHash,
        sid: s.sid,
        session_uid: s.sessionUid,
        checkout_client_id: s.checkoutClientId,
        amr: JSON.stringify(s.amr),
        acr: s.acr,
        auth_time: s.authTime,
        started_at: s.startedAt,
        expires_at: s.expiresAt,
        ended_at: null,
        end_reason: null,
      })
      .execute();
    return (await this.get(s.tenantId, id))!;
  }

  /** Any device session of the tenant, ended or not. */
  async get(tenantId: string, id: string): Promise<DeviceSession | undefined> {
    const r = await this.db.selectFrom('device_sessions').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return r && (await this.#withApps([r]))[0];
  }

  /** The device session a presented device secret belongs to (by its keyed hash), ended or not. */
  async bySecretHash(tenantId: string, secretHash: string): Promise<DeviceSession | undefined> {
    const r = await this.db
      .selectFrom('device_sessions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('secret_hash', '=', secretHash)
      .executeTakeFirst();
    return r && (await this.#withApps([r]))[0];
  }

  /** The device session whose apps include this engine grant (refresh tokens hang from grants). */
  async byGrant(tenantId: string, grantId: string): Promise<DeviceSession | undefined> {
    const r = await this.db
      .selectFrom('device_sessions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', (eb) =>
        eb.selectFrom('device_session_apps').select('device_session_id').where('tenant_id', '=', tenantId).where('grant_id', '=', grantId),
      )
      .orderBy('started_at', 'desc')
      .executeTakeFirst();
    return r && (await this.#withApps([r]))[0];
  }

  /** Live device sessions (not ended, not expired), newest first; `deviceId` narrows to one device. */
  async listLive(tenantId: string, opts: { deviceId?: string; userId?: string; limit?: number } = {}, now = Date.now()): Promise<DeviceSession[]> {
    let q = this.db.selectFrom('device_sessions').selectAll().where('tenant_id', '=', tenantId).where('ended_at', 'is', null).where('expires_at', '>', now);
    if (opts.deviceId) q = q.where('device_id', '=', opts.deviceId);
    if (opts.userId) q = q.where('user_id', '=', opts.userId);
    return this.#withApps(
      await q
        .orderBy('started_at', 'desc')
        .orderBy('id', 'desc')
        .limit(Math.min(Math.max(opts.limit ?? 500, 1), 500))
        .execute(),
    );
  }

  /** Device sessions past their shift that were never ended (the expiry job ends them properly). */
  async expiredUnended(now = Date.now(), limit = 100): Promise<DeviceSession[]> {
    return this.#withApps(
      await this.db
        .selectFrom('device_sessions')
        .selectAll()
        .where('ended_at', 'is', null)
        .where('expires_at', '<=', now)
        .orderBy('expires_at')
        .limit(limit)
        .execute(),
    );
  }

  /** A page of a tenant's device sessions, newest first (live and ended). */
  async page(tenantId: string, opts: { cursor?: string; limit?: number; live?: boolean } = {}, now = Date.now()): Promise<Page<DeviceSession>> {
    const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
    let q = this.db.selectFrom('device_sessions').selectAll().where('tenant_id', '=', tenantId);
    if (opts.live) q = q.where('ended_at', 'is', null).where('expires_at', '>', now);
    if (opts.cursor) {
      const m = /^(\d{1,16}):(.{1,200})$/.exec(Buffer.from(opts.cursor, 'base64url').toString('utf8'));
      if (!m) throw invalid('The cursor is not one this list gave out. Start again without it.');
      const at = Number(m[1]),
        id = m[2]!;
      q = q.where((eb) => eb.or([eb('started_at', '<', at), eb.and([eb('started_at', '=', at), eb('id', '<', id)])]));
    }
    const rows = await q
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    const items = await this.#withApps(rows.slice(0, limit));
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? Buffer.from(`${last.startedAt}:${last.id}`).toString('base64url') : null };
  }

  /** Record (or move to a new grant) an app that obtained tokens under the device session. */
  async addApp(tenantId: string, id: string, clientId: string, grantId: string, now = Date.now()): Promise<void> {
    await this.db
      .insertInto('device_session_apps')
      .values({ device_session_id: id, tenant_id: tenantId, client_id: clientId, grant_id: grantId, joined_at: now })
      .onConflict((oc) => oc.columns(['device_session_id', 'client_id']).doUpdateSet({ grant_id: grantId }))
      .execute();
  }

  /** Mark it ended; false when it already was (so only one caller does the ending work). */
  async end(tenantId: string, id: string, reason: string, now = Date.now()): Promise<boolean> {
    const r = await this.db
      .updateTable('device_sessions')
      .set({ ended_at: now, end_reason: reason })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Remember what a check-out app said about the device, until its code is redeemed. */
  async noteCheckout(
    tenantId: string,
    sessionUid: string,
    clientId: string,
    device: { name: string | null; id: string | null },
    now = Date.now(),
  ): Promise<void> {
    await this.db
      .insertInto('device_checkouts')
      .values({ tenant_id: tenantId, session_uid: sessionUid, client_id: clientId, device_name: device.name, device_id: device.id, created_at: now })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'session_uid', 'client_id']).doUpdateSet({ device_name: device.name, device_id: device.id, created_at: now }),
      )
      .execute();
  }

  /** Take (and forget) the device a check-out described, if it is recent. */
  async takeCheckout(
    tenantId: string,
    sessionUid: string,
    clientId: string,
    now = Date.now(),
  ): Promise<{ name: string | null; id: string | null } | undefined> {
    const where = this.db
      .selectFrom('device_checkouts')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('session_uid', '=', sessionUid)
      .where('client_id', '=', clientId);
    const r = await where.executeTakeFirst();
    if (!r) return undefined;
    await this.db
      .deleteFrom('device_checkouts')
      .where('tenant_id', '=', tenantId)
      .where('session_uid', '=', sessionUid)
      .where('client_id', '=', clientId)
      .execute();
    return Number(r.created_at) > now - CHECKOUT_NOTE_MS ? { name: r.device_name, id: r.device_id } : undefined;
  }

  /** Forget stale check-out notes and device sessions that ended (or expired) more than `keepMs` ago. */
  async purge(keepMs: number, now = Date.now()): Promise<number> {
    await this.db
      .deleteFrom('device_checkouts')
      .where('created_at', '<=', now - CHECKOUT_NOTE_MS)
      .execute();
    const old = (
      await this.db
        .selectFrom('device_sessions')
        .select('id')
        .where('expires_at', '<=', now - keepMs)
        .where('ended_at', 'is not', null)
        .execute()
    ).map((r) => r.id);
    if (!old.length) return 0;
    await this.db.deleteFrom('device_session_apps').where('device_session_id', 'in', old).execute();
    const r = await this.db.deleteFrom('device_sessions').where('id', 'in', old).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
