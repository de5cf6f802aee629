// Single-use links sent by email: password reset and email verification. Only a keyed hash
// of each link's secret is kept (shared/crypto.ts TokenHasher), so a copy of the database
// opens no account. A new link of a purpose voids the user's earlier ones of that purpose.
import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';

export type LinkPurpose = 'reset' | 'verify';

export interface UserLink {
  tenantId: string;
  userId: string;
  purpose: LinkPurpose;
  email: string;
  expiresAt: number;
  usedAt: number | null;
  createdAt: number;
}

export class UserLinkStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  /** Record a new link; the user's earlier unused links of the same purpose stop working. */
  async issue(l: { idHash: string; tenantId: string; userId: string; purpose: LinkPurpose; email: string; expiresAt: number }): Promise<void> {
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('user_links')
        .set({ used_at: now })
        .where('user_id', '=', l.userId)
        .where('purpose', '=', l.purpose)
        .where('used_at', 'is', null)
        .execute();
      await trx
        .insertInto('user_links')
        .values({
          id_hash: l.idHash,
          tenant_id: l.tenantId,
          user_id: l.userId,
          purpose: l.purpose,
          email: l.email,
          expires_at: l.expiresAt,
          used_at: null,
          created_at: now,
        })
        .execute();
    });
  }

  /** The link, whatever its state (the caller says why it cannot be used). */
  async find(idHash: string): Promise<UserLink | undefined> {
    const r = await this.db.selectFrom('user_links').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    return (
      r && {
        tenantId: r.tenant_id,
        userId: r.user_id,
        purpose: r.purpose,
        email: r.email,
        expiresAt: Number(r.expires_at),
        usedAt: r.used_at === null ? null : Number(r.used_at),
        createdAt: Number(r.created_at),
      }
    );
  }

  /** Use a link once: true only for the one caller that marks it used while it is valid. */
  async consume(idHash: string, now = Date.now()): Promise<boolean> {
    const res = await this.db
      .updateTable('user_links')
      .set({ used_at: now })
      .where('id_hash', '=', idHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Void a user's unused links of a purpose (a sign-in voids reset links). */
  async voidAll(userId: string, purpose: LinkPurpose): Promise<void> {
    await this.db
      .updateTable('user_links')
      .set({ used_at: Date.now() })
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .execute();
  }

  /** Links whose time has passed for a day go. */
  async purge(now = Date.now()): Promise<void> {
    await this.db
      .deleteFrom('user_links')
      .where('expires_at', '<', now - 86_400_000)
      .execute();
  }
}
