// Signing keys (keys/keys.ts owns the rules: which key signs, rotation, grace). The store
// keeps the rows and offers the one transaction shape rotation needs: key changes for a
// tenant run under a lock on the tenant row, so two nodes never both activate a key.
import { PostgresAdapter, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { DB, SigningKeysTable } from './schema.ts';
import { notFound } from '../shared/errors.ts';

export type SigningKeyRow = Selectable<SigningKeysTable>;
export type SigningKeyStatus = SigningKeysTable['status'];

/** What a key change may do inside the tenant's lock. */
export interface SigningKeyChange {
  rows(tenantId: string, statuses: SigningKeyStatus[]): Promise<SigningKeyRow[]>;
  insert(row: SigningKeyRow): Promise<void>;
  retire(kids: string[], at: number): Promise<void>;
  activate(kid: string, at: number): Promise<void>;
  /** Ask a next key to start signing at `at` (null: back to the automatic schedule). */
  schedule(kid: string, at: number | null): Promise<void>;
  /** Delete a key outright: only for a next key that never signed anything. */
  remove(kid: string): Promise<void>;
}

type Executor = Kysely<DB> | Transaction<DB>;

const rowsOf = (db: Executor, tenantId: string, statuses: SigningKeyStatus[]): Promise<SigningKeyRow[]> =>
  db
    .selectFrom('signing_keys')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('status', 'in', statuses)
    .orderBy('alg')
    .orderBy('created_at', 'desc')
    .orderBy('kid')
    .execute();

export class SigningKeyStore {
  readonly #db: Kysely<DB>;
  readonly #postgres: boolean;
  constructor(db: Kysely<DB>) {
    this.#db = db;
    // Row locks only exist on PostgreSQL; SQLite runs one transaction at a time anyway
    // (one connection, and one process per data dir).
    this.#postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  }

  /** A tenant's keys with these statuses: by algorithm, newest first. */
  rows(tenantId: string, statuses: SigningKeyStatus[]): Promise<SigningKeyRow[]> {
    return rowsOf(this.#db, tenantId, statuses);
  }

  /**
   * Run a key change for one tenant in a transaction holding the tenant's row lock
   * (PostgreSQL), so concurrent changes from several nodes are serialised.
   */
  changeUnderLock<T>(tenantId: string, fn: (change: SigningKeyChange) => Promise<T>): Promise<T> {
    return this.#db.transaction().execute(async (trx) => {
      if (this.#postgres) {
        const t = await trx.selectFrom('tenants').select('id').where('id', '=', tenantId).forUpdate().executeTakeFirst();
        if (!t) throw notFound(`Tenant "${tenantId}"`);
      }
      return fn({
        rows: (id, statuses) => rowsOf(trx, id, statuses),
        insert: async (row) => {
          await trx.insertInto('signing_keys').values(row).execute();
        },
        retire: async (kids, at) => {
          if (kids.length) await trx.updateTable('signing_keys').set({ status: 'retired', retired_at: at }).where('kid', 'in', kids).execute();
        },
        activate: async (kid, at) => {
          await trx.updateTable('signing_keys').set({ status: 'active', activated_at: at, activates_at: null }).where('kid', '=', kid).execute();
        },
        schedule: async (kid, at) => {
          await trx.updateTable('signing_keys').set({ activates_at: at }).where('kid', '=', kid).where('status', '=', 'next').execute();
        },
        remove: async (kid) => {
          await trx.deleteFrom('signing_keys').where('kid', '=', kid).where('status', '=', 'next').execute();
        },
      });
    });
  }

  /** The tenants that have keys: what the scheduled key work goes through. */
  async tenantIds(): Promise<string[]> {
    return (await this.#db.selectFrom('signing_keys').select('tenant_id').distinct().execute()).map((r) => r.tenant_id);
  }

  /** Active keys of every tenant (the certificate expiry gauge reads them on each scrape). */
  active(): Promise<SigningKeyRow[]> {
    return this.#db.selectFrom('signing_keys').selectAll().where('status', '=', 'active').orderBy('tenant_id').orderBy('alg').execute();
  }

  /** Delete keys retired before `before` (one tenant, or all). Returns how many. */
  async purgeRetiredBefore(before: number, tenantId?: string): Promise<number> {
    let q = this.#db.deleteFrom('signing_keys').where('status', '=', 'retired').where('retired_at', '<', before);
    if (tenantId) q = q.where('tenant_id', '=', tenantId);
    return Number((await q.executeTakeFirst()).numDeletedRows);
  }

  /**
   * Active keys whose certificate ends at or before `notAfter`, soonest first. Only the key
   * that signs matters: a next key is replaced before it would start signing if it is too old.
   */
  expiringBy(notAfter: number, tenantId?: string): Promise<SigningKeyRow[]> {
    let q = this.#db.selectFrom('signing_keys').selectAll().where('status', '=', 'active').where('not_after', '<=', notAfter);
    if (tenantId) q = q.where('tenant_id', '=', tenantId);
    return q.orderBy('not_after').execute();
  }
}
