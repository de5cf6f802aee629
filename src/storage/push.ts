// Push approval: enrollments of a Gatehouse Authenticator (waiting for the phone) and sign-in
// requests waiting for its answer. Every state change is one conditional UPDATE, so two nodes
// (or two taps) answering the same request cannot both win.
import type { Kysely, Selectable } from 'kysely';
import type { DB, PushChallengesTable } from './schema.ts';
import { newId } from '../shared/crypto.ts';

export type ChallengeStatus = PushChallengesTable['status'];

export interface PushChallenge {
  id: string;
  tenantId: string;
  userId: string;
  uid: string;
  number: number | null;
  clientId: string | null;
  appName: string | null;
  ip: string | null;
  status: ChallengeStatus;
  deviceId: string | null;
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
  consumedAt: number | null;
}

const toChallenge = (r: Selectable<PushChallengesTable>): PushChallenge => ({
  id: r.id,
  tenantId: r.tenant_id,
  userId: r.user_id,
  uid: r.uid,
  number: r.number === null ? null : Number(r.number),
  clientId: r.client_id,
  appName: r.app_name,
  ip: r.ip,
  status: r.status,
  deviceId: r.device_id,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  decidedAt: r.decided_at === null ? null : Number(r.decided_at),
  consumedAt: r.consumed_at === null ? null : Number(r.consumed_at),
});

export class PushStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async addEnrollment(e: { codeHash: string; tenantId: string; userId: string; recoveryHashes: string[] | null; expiresAt: number }): Promise<void> {
    await this.db
      .insertInto('push_enrollments')
      .values({
        code_hash: e.codeHash,
        tenant_id: e.tenantId,
        user_id: e.userId,
        recovery_hashes: e.recoveryHashes ? JSON.stringify(e.recoveryHashes) : null,
        factor_id: null,
        created_at: Date.now(),
        expires_at: e.expiresAt,
      })
      .execute();
  }

  async enrollment(tenantId: string, codeHash: string) {
    const r = await this.db.selectFrom('push_enrollments').selectAll().where('tenant_id', '=', tenantId).where('code_hash', '=', codeHash).executeTakeFirst();
    return (
      r && {
        userId: r.user_id,
        factorId: r.factor_id,
        expiresAt: Number(r.expires_at),
        recoveryHashes: r.recovery_hashes ? (JSON.parse(r.recovery_hashes) as string[]) : null,
      }
    );
  }

  /**
   * Finish an enrollment: the device becomes a factor of the user (with the recovery codes if it
   * is their first), once: a second phone with the same code finds it used.
   */
  async completeEnrollment(
    tenantId: string,
    codeHash: string,
    now: number,
    factor: { id: string; label: string; secretSealed: string },
  ): Promise<{ userId: string; recoveryIssued: boolean } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('push_enrollments')
        .set({ factor_id: factor.id })
        .where('tenant_id', '=', tenantId)
        .where('code_hash', '=', codeHash)
        .where('factor_id', 'is', null)
        .where('expires_at', '>', now)
        .returning(['user_id', 'recovery_hashes'])
        .executeTakeFirst();
      if (!r) return undefined;
      const existing = await trx.selectFrom('mfa_factors').select('id').where('tenant_id', '=', tenantId).where('user_id', '=', r.user_id).executeTakeFirst();
      await trx
        .insertInto('mfa_factors')
        .values({
          id: factor.id,
          tenant_id: tenantId,
          user_id: r.user_id,
          type: 'push',
          label: factor.label,
          secret_sealed: factor.secretSealed,
          last_step: 0,
          created_at: now,
          last_used_at: null,
        })
        .execute();
      const recoveryIssued = !existing && !!r.recovery_hashes;
      if (recoveryIssued) {
        await trx.deleteFrom('recovery_codes').where('user_id', '=', r.user_id).execute();
        for (const h of JSON.parse(r.recovery_hashes!) as string[])
          await trx
            .insertInto('recovery_codes')
            .values({ id: newId('rc_'), tenant_id: tenantId, user_id: r.user_id, code_hash: h, used_at: null })
            .execute();
      }
      if (!recoveryIssued) await trx.updateTable('push_enrollments').set({ recovery_hashes: null }).where('code_hash', '=', codeHash).execute();
      return { userId: r.user_id, recoveryIssued };
    });
  }

  async addChallenge(c: Omit<PushChallenge, 'status' | 'deviceId' | 'decidedAt' | 'consumedAt'>): Promise<void> {
    await this.db
      .insertInto('push_challenges')
      .values({
        id: c.id,
        tenant_id: c.tenantId,
        user_id: c.userId,
        uid: c.uid,
        number: c.number,
        client_id: c.clientId,
        app_name: c.appName,
        ip: c.ip,
        status: 'pending',
        device_id: null,
        created_at: c.createdAt,
        expires_at: c.expiresAt,
        decided_at: null,
        consumed_at: null,
      })
      .execute();
  }

  async challenge(tenantId: string, id: string): Promise<PushChallenge | undefined> {
    const r = await this.db.selectFrom('push_challenges').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return r && toChallenge(r);
  }

  /** The user's requests still waiting for an answer. */
  async pending(tenantId: string, userId: string, now: number): Promise<PushChallenge[]> {
    return (
      await this.db
        .selectFrom('push_challenges')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .orderBy('created_at')
        .execute()
    ).map(toChallenge);
  }

  /** Record a device's answer, if the request is still waiting; false if it was answered or expired. */
  async decide(tenantId: string, id: string, status: Exclude<ChallengeStatus, 'pending'>, deviceId: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('push_challenges')
      .set({ status, device_id: deviceId, decided_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * The sign-in of interaction `uid` ended (another factor, abandoned, finished): its requests
   * still waiting are over. Returns the users whose devices must be told.
   */
  async withdraw(tenantId: string, uid: string, now: number): Promise<string[]> {
    const rows = await this.db
      .updateTable('push_challenges')
      .set({ status: 'withdrawn', decided_at: now })
      .where('tenant_id', '=', tenantId)
      .where('uid', '=', uid)
      .where('status', '=', 'pending')
      .returning('user_id')
      .execute();
    return [...new Set(rows.map((r) => r.user_id))];
  }

  /** The sign-in takes an approval, once. */
  async consume(tenantId: string, id: string, uid: string, userId: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('push_challenges')
      .set({ consumed_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('uid', '=', uid)
      .where('user_id', '=', userId)
      .where('status', '=', 'approved')
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Requests and enrollments nobody can use any more (kept an hour for the record). */
  async purge(now: number): Promise<number> {
    const a = await this.db
      .deleteFrom('push_challenges')
      .where('created_at', '<', now - 3600_000)
      .executeTakeFirst();
    const b = await this.db
      .deleteFrom('push_enrollments')
      .where('expires_at', '<', now - 3600_000)
      .executeTakeFirst();
    return Number(a.numDeletedRows ?? 0) + Number(b.numDeletedRows ?? 0);
  }
}
