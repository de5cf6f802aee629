// SAML request IDs already accepted (AuthnRequest, LogoutRequest), kept until the request
// would be refused as too old anyway: a replayed request is refused on every node.
import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';
import { isUniqueViolation } from '../shared/errors.ts';

export class SamlRequestStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  /** Remember a request ID; false when this SP's request with this ID was seen before (a replay). */
  async firstUse(tenantId: string, sp: string, requestId: string, expiresAt: number): Promise<boolean> {
    try {
      await this.db.insertInto('saml_seen_requests').values({ tenant_id: tenantId, sp, request_id: requestId, expires_at: expiresAt }).execute();
      return true;
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      // An entry past its time no longer proves anything (the request is refused as too old
      // before it gets here): take it over.
      const r = await this.db
        .updateTable('saml_seen_requests')
        .set({ expires_at: expiresAt })
        .where('tenant_id', '=', tenantId)
        .where('sp', '=', sp)
        .where('request_id', '=', requestId)
        .where('expires_at', '<', Date.now())
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    }
  }

  async purgeExpired(now = Date.now()): Promise<number> {
    const r = await this.db.deleteFrom('saml_seen_requests').where('expires_at', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
