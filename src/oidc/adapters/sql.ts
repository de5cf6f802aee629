// oidc-provider artifacts in the SQL store (SQLite or PostgreSQL), scoped to one tenant.
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema.ts';

type Payload = Record<string, unknown> & { grantId?: string; userCode?: string; uid?: string; consumed?: number };

export class SqlAdapter {
  readonly db: Kysely<DB>;
  readonly model: string;
  readonly tenantId: string;
  constructor(db: Kysely<DB>, tenantId: string, model: string) {
    this.db = db;
    this.tenantId = tenantId;
    this.model = model;
  }

  async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    const row = {
      model: this.model, id, tenant_id: this.tenantId, payload: JSON.stringify(payload),
      grant_id: payload.grantId ?? null, user_code: payload.userCode ?? null, uid: payload.uid ?? null,
      expires_at: expiresIn ? Date.now() + expiresIn * 1000 : null, consumed_at: null,
    };
    await this.db.insertInto('oidc_artifacts').values(row)
      .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet({
        payload: row.payload, grant_id: row.grant_id, user_code: row.user_code, uid: row.uid, expires_at: row.expires_at, tenant_id: row.tenant_id,
      })).execute();
  }

  async #findBy(column: 'id' | 'uid' | 'user_code', value: string): Promise<Payload | undefined> {
    if (typeof value !== 'string') return undefined;
    const r = await this.db.selectFrom('oidc_artifacts').select(['payload', 'expires_at', 'consumed_at'])
      .where('model', '=', this.model).where('tenant_id', '=', this.tenantId).where(column, '=', value).executeTakeFirst();
    if (!r || (r.expires_at !== null && r.expires_at <= Date.now())) return undefined;
    const payload = JSON.parse(r.payload) as Payload;
    if (r.consumed_at !== null) payload.consumed = Math.floor(r.consumed_at / 1000);
    return payload;
  }

  find(id: string) { return this.#findBy('id', id); }
  findByUid(uid: string) { return this.#findBy('uid', uid); }
  findByUserCode(userCode: string) { return this.#findBy('user_code', userCode); }

  async consume(id: string): Promise<void> {
    await this.db.updateTable('oidc_artifacts').set({ consumed_at: Date.now() })
      .where('model', '=', this.model).where('tenant_id', '=', this.tenantId).where('id', '=', id).execute();
  }

  async destroy(id: string): Promise<void> {
    await this.db.deleteFrom('oidc_artifacts').where('model', '=', this.model).where('tenant_id', '=', this.tenantId).where('id', '=', id).execute();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.db.deleteFrom('oidc_artifacts').where('model', '=', this.model).where('tenant_id', '=', this.tenantId).where('grant_id', '=', grantId).execute();
  }
}

export async function purgeExpired(db: Kysely<DB>, now = Date.now()): Promise<number> {
  const r = await db.deleteFrom('oidc_artifacts').where('expires_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}
