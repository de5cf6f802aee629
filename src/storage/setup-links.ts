// One-time setup links (tenants/bootstrap.ts): kept as keyed hashes, redeemed once.
import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';

export class SetupLinkStore {
  readonly #db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Keep only this link: any older link stops working. */
  async replaceAll(link: { tokenHash: string; tenantId: string; expiresAt: number }): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx.deleteFrom('setup_links').execute();
      await trx.insertInto('setup_links').values({ token_hash: link.tokenHash, tenant_id: link.tenantId, expires_at: link.expiresAt, used_at: null }).execute();
    });
  }

  /** Mark the link used if it is unused and unexpired at `now`; false otherwise (only one caller wins). */
  async redeem(tokenHash: string, now: number): Promise<boolean> {
    const res = await this.#db
      .updateTable('setup_links')
      .set({ used_at: now })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Is the link unused and unexpired at `now`? */
  async valid(tokenHash: string, now: number): Promise<boolean> {
    const r = await this.#db
      .selectFrom('setup_links')
      .select('token_hash')
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return !!r;
  }
}
