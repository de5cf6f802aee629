// Desktop SSO with Kerberos, per tenant: one row of settings. The keytab is stored sealed by
// the caller (kerberos/service.ts) and only ever read back to accept tickets.
import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';

/** How a principal (name@REALM) finds its user, tried in order. */
export type MappingRule = 'username' | 'principal-as-email' | 'name-at-email-domain';
export interface KerberosMapping {
  rules: MappingRule[];
  emailDomain: string | null;
}

export interface KerberosSettings {
  tenantId: string;
  enabled: boolean;
  realm: string;
  principal: string;
  sealedKeytab: string;
  mapping: KerberosMapping;
  negotiateFrom: string[];
  updatedAt: number;
}

export class KerberosStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async get(tenantId: string): Promise<KerberosSettings | undefined> {
    const r = await this.db.selectFrom('kerberos_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
    return (
      r && {
        tenantId: r.tenant_id,
        enabled: !!r.enabled,
        realm: r.realm,
        principal: r.principal,
        sealedKeytab: r.keytab,
        mapping: JSON.parse(r.mapping),
        negotiateFrom: JSON.parse(r.negotiate_from),
        updatedAt: Number(r.updated_at),
      }
    );
  }

  async put(s: Omit<KerberosSettings, 'updatedAt'>): Promise<void> {
    const row = {
      tenant_id: s.tenantId,
      enabled: s.enabled ? 1 : 0,
      realm: s.realm,
      principal: s.principal,
      keytab: s.sealedKeytab,
      mapping: JSON.stringify(s.mapping),
      negotiate_from: JSON.stringify(s.negotiateFrom),
      updated_at: Date.now(),
    };
    await this.db
      .insertInto('kerberos_settings')
      .values(row)
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ ...row }))
      .execute();
  }

  async disable(tenantId: string): Promise<boolean> {
    const r = await this.db.updateTable('kerberos_settings').set({ enabled: 0, updated_at: Date.now() }).where('tenant_id', '=', tenantId).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
