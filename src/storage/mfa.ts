// Second factors of users: TOTP authenticators, passkeys, Gatehouse Authenticators (push),
// one-time recovery codes, and browsers remembered for a while (policy rememberDeviceDays).
import type { Kysely, Selectable } from 'kysely';
import type { DB, MfaFactorsTable } from './schema.ts';
import { newId } from '../shared/crypto.ts';
import { notFound } from '../shared/errors.ts';

export interface MfaFactor {
  id: string;
  userId: string;
  type: 'totp' | 'webauthn' | 'push';
  label: string;
  secretSealed: string;
  lastStep: number;
  createdAt: number;
  lastUsedAt: number | null;
}

const toFactor = (r: Selectable<MfaFactorsTable>): MfaFactor => ({
  id: r.id,
  userId: r.user_id,
  type: r.type,
  label: r.label,
  secretSealed: r.secret_sealed,
  lastStep: Number(r.last_step),
  createdAt: Number(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
});

export class MfaStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async factors(tenantId: string, userId: string): Promise<MfaFactor[]> {
    return (
      await this.db.selectFrom('mfa_factors').selectAll().where('tenant_id', '=', tenantId).where('user_id', '=', userId).orderBy('created_at').execute()
    ).map(toFactor);
  }

  /** Add a factor and, when given, replace the user's recovery codes, in one transaction. */
  async addFactor(
    tenantId: string,
    userId: string,
    f: { type: MfaFactor['type']; label: string; secretSealed: string; step?: number },
    recoveryHashes?: string[],
  ): Promise<MfaFactor> {
    const now = Date.now();
    const row = {
      id: newId('mfa_'),
      tenant_id: tenantId,
      user_id: userId,
      type: f.type,
      label: f.label,
      secret_sealed: f.secretSealed,
      last_step: f.step ?? 0,
      created_at: now,
      last_used_at: now,
    };
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('mfa_factors').values(row).execute();
      if (!recoveryHashes) return;
      await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      for (const h of recoveryHashes)
        await trx
          .insertInto('recovery_codes')
          .values({ id: newId('rc_'), tenant_id: tenantId, user_id: userId, code_hash: h, used_at: null })
          .execute();
    });
    return toFactor(row);
  }

  /** A passkey's new signature counter (kept sealed with the rest of it). */
  async updateSecret(factorId: string, secretSealed: string): Promise<void> {
    await this.db.updateTable('mfa_factors').set({ secret_sealed: secretSealed, last_used_at: Date.now() }).where('id', '=', factorId).execute();
  }

  /**
   * Record that a code of `step` was accepted, unless one of that step or later already was
   * (a replay, or a race between two requests with the same code): then false.
   */
  async useStep(factorId: string, step: number): Promise<boolean> {
    const r = await this.db
      .updateTable('mfa_factors')
      .set({ last_step: step, last_used_at: Date.now() })
      .where('id', '=', factorId)
      .where('last_step', '<', step)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Spend a recovery code (by its hash, under any of the ways codes were hashed); false if unknown or already used. */
  async useRecoveryCode(tenantId: string, userId: string, hashes: string[]): Promise<boolean> {
    if (!hashes.length) return false;
    const r = await this.db
      .updateTable('recovery_codes')
      .set({ used_at: Date.now() })
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('code_hash', 'in', hashes)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) >= 1;
  }

  async unusedRecoveryCodes(tenantId: string, userId: string): Promise<number> {
    const r = await this.db
      .selectFrom('recovery_codes')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async removeFactor(tenantId: string, userId: string, factorId: string): Promise<void> {
    const r = await this.db
      .deleteFrom('mfa_factors')
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('id', '=', factorId)
      .executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw notFound('The authenticator');
    if ((await this.factors(tenantId, userId)).length === 0) await this.db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  }

  /** One factor, e.g. the push device that signed a request. */
  async factor(tenantId: string, factorId: string): Promise<MfaFactor | undefined> {
    const r = await this.db.selectFrom('mfa_factors').selectAll().where('tenant_id', '=', tenantId).where('id', '=', factorId).executeTakeFirst();
    return r && toFactor(r);
  }

  async touch(factorId: string): Promise<void> {
    await this.db.updateTable('mfa_factors').set({ last_used_at: Date.now() }).where('id', '=', factorId).execute();
  }

  /**
   * An administrator's reset: every factor and recovery code of the user goes, and so do the
   * browsers that skipped the second factor and enrollments still waiting for a phone.
   */
  async reset(tenantId: string, userId: string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.deleteFrom('mfa_factors').where('tenant_id', '=', tenantId).where('user_id', '=', userId).executeTakeFirst();
      await trx.deleteFrom('recovery_codes').where('tenant_id', '=', tenantId).where('user_id', '=', userId).execute();
      await trx.deleteFrom('mfa_remembered').where('tenant_id', '=', tenantId).where('user_id', '=', userId).execute();
      await trx.deleteFrom('push_enrollments').where('tenant_id', '=', tenantId).where('user_id', '=', userId).execute();
      return Number(r.numDeletedRows);
    });
  }

  async remember(tenantId: string, userId: string, label: string, expiresAt: number): Promise<string> {
    const id = newId('rd_');
    await this.db
      .insertInto('mfa_remembered')
      .values({ id, tenant_id: tenantId, user_id: userId, label, created_at: Date.now(), expires_at: expiresAt })
      .execute();
    return id;
  }

  async remembered(tenantId: string, userId: string, id: string): Promise<{ createdAt: number; expiresAt: number } | undefined> {
    const r = await this.db
      .selectFrom('mfa_remembered')
      .select(['created_at', 'expires_at'])
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r && { createdAt: Number(r.created_at), expiresAt: Number(r.expires_at) };
  }

  async rememberedDevices(
    tenantId: string,
    userId: string,
    now = Date.now(),
  ): Promise<Array<{ id: string; label: string; createdAt: number; expiresAt: number }>> {
    return (
      await this.db
        .selectFrom('mfa_remembered')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .where('expires_at', '>', now)
        .orderBy('created_at')
        .execute()
    ).map((r) => ({ id: r.id, label: r.label, createdAt: Number(r.created_at), expiresAt: Number(r.expires_at) }));
  }

  async forget(tenantId: string, userId: string, id: string): Promise<void> {
    await this.db.deleteFrom('mfa_remembered').where('tenant_id', '=', tenantId).where('user_id', '=', userId).where('id', '=', id).execute();
  }

  async purgeRemembered(now = Date.now()): Promise<number> {
    return Number((await this.db.deleteFrom('mfa_remembered').where('expires_at', '<=', now).executeTakeFirst()).numDeletedRows ?? 0);
  }
}
