// Every stored value sealed under the instance secret, in one list: the secret's rotation
// (keys/instance-secret.ts) re-seals exactly these, and start-up opens one of them to check a
// secret on an installation from before the check value. A new sealed column must be added
// here; test/instance-secret.test.ts fails when a sealed value turns up in a column not listed.
import { sql, type Kysely } from 'kysely';
import type { DB } from './schema.ts';

export interface SealedColumn {
  table: keyof DB & string;
  /** The row's key (one column). */
  key: string;
  column: string;
}

export const SEALED_COLUMNS: readonly SealedColumn[] = [
  { table: 'signing_keys', key: 'kid', column: 'private_sealed' },
  { table: 'apps', key: 'id', column: 'secret_sealed' },
  { table: 'upstreams', key: 'id', column: 'client_secret_sealed' },
  { table: 'ldap_directories', key: 'id', column: 'bind_password_sealed' },
  { table: 'mfa_factors', key: 'id', column: 'secret_sealed' }, // TOTP keys, passkeys, push devices
  { table: 'connector_relay', key: 'id', column: 'body' },
  { table: 'kerberos_settings', key: 'tenant_id', column: 'keytab' }, // Kerberos service keytabs
  // Instance settings hold both kinds; only values in the sealed format (`v1.`) are read, here as everywhere.
  { table: 'instance_settings', key: 'name', column: 'value' },
];

const BATCH = 500;

export class SealedStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  /** One stored sealed value, if there is any (signing keys first: every tenant has them). */
  async any(): Promise<string | undefined> {
    for (const c of SEALED_COLUMNS) {
      const r = await sql<{ v: string }>`select ${sql.ref(c.column)} as v from ${sql.table(c.table)} where ${sql.ref(c.column)} like 'v1.%' limit 1`.execute(
        this.db,
      );
      if (r.rows[0]) return r.rows[0].v;
    }
    return undefined;
  }

  /** A column's sealed values in key order, a batch at a time, after the key `after`. */
  async batch(c: SealedColumn, after: string | null): Promise<{ key: string; value: string }[]> {
    const r = await sql<{ k: string; v: string }>`select ${sql.ref(c.key)} as k, ${sql.ref(c.column)} as v from ${sql.table(c.table)}
      where ${sql.ref(c.column)} like 'v1.%' ${after === null ? sql`` : sql`and ${sql.ref(c.key)} > ${after}`}
      order by ${sql.ref(c.key)} limit ${BATCH}`.execute(this.db);
    return r.rows.map((x) => ({ key: x.k, value: x.v }));
  }

  /** Replace a sealed value, unless it changed since it was read (then its writer sealed it anew). */
  async replace(c: SealedColumn, key: string, from: string, to: string): Promise<boolean> {
    const r =
      await sql`update ${sql.table(c.table)} set ${sql.ref(c.column)} = ${to} where ${sql.ref(c.key)} = ${key} and ${sql.ref(c.column)} = ${from}`.execute(
        this.db,
      );
    return Number(r.numAffectedRows ?? 0n) > 0;
  }
}
