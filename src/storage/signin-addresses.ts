// Addresses each user signed in from successfully, with the last time (smart lockout: an
// address used within 30 days is familiar to the account; interaction/lockout.ts).
import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';

export class SigninAddressStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  /** A successful sign-in from this address: remembered, or its time moved on. */
  async seen(tenantId: string, userId: string, ip: string, at = Date.now()): Promise<void> {
    await this.db
      .insertInto('signin_addresses')
      .values({ tenant_id: tenantId, user_id: userId, ip, last_at: at })
      .onConflict((oc) => oc.columns(['tenant_id', 'user_id', 'ip']).doUpdateSet({ last_at: at }))
      .execute();
  }

  /** Did the user sign in successfully from this address since `since`? */
  async known(tenantId: string, userId: string, ip: string, since: number): Promise<boolean> {
    const row = await this.db
      .selectFrom('signin_addresses')
      .select('last_at')
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('ip', '=', ip)
      .where('last_at', '>', since)
      .executeTakeFirst();
    return !!row;
  }

  /** Forget addresses last used before `before` (the maintenance job). */
  async purge(before: number): Promise<number> {
    const r = await this.db.deleteFrom('signin_addresses').where('last_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows ?? 0);
  }
}
