// User policies (policy/policies.ts owns the rules: settings, precedence, targets).
import type { Kysely, Selectable } from 'kysely';
import type { DB, UserPoliciesTable } from './schema.ts';
import { newId } from '../shared/crypto.ts';
import { conflict, isUniqueViolation, notFound, assertUpdated } from '../shared/errors.ts';

/** A stored policy; `settings` is the JSON as saved (the service adds defaults of newer fields). */
export interface StoredPolicy<S = unknown, T = unknown> {
  id: string;
  tenantId: string;
  name: string;
  priority: number;
  targets: T[];
  settings: S;
  version: number;
  createdAt: number;
  updatedAt: number;
}

const toPolicy = (r: Selectable<UserPoliciesTable>): StoredPolicy => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  priority: r.priority,
  targets: JSON.parse(r.targets),
  settings: JSON.parse(r.settings),
  version: r.version,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

const nameTaken = (name: string | undefined) => conflict(`A policy named "${name}" already exists in this tenant. Choose another name.`);

export class PolicyStore {
  readonly #db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** A tenant's policies in precedence order (priority, then name). */
  async list(tenantId: string): Promise<StoredPolicy[]> {
    const rows = await this.#db.selectFrom('user_policies').selectAll().where('tenant_id', '=', tenantId).orderBy('priority').orderBy('name').execute();
    return rows.map(toPolicy);
  }

  /** The policies that have this priority (at most one unless written concurrently). */
  async withPriority(tenantId: string, priority: number): Promise<Array<{ id: string; name: string }>> {
    const rows = await this.#db.selectFrom('user_policies').select(['id', 'name']).where('tenant_id', '=', tenantId).where('priority', '=', priority).execute();
    return rows.map((r) => ({ id: r.id, name: r.name }));
  }

  /** Create; 409 when the name is taken in the tenant. */
  async create(tenantId: string, input: { name: string; priority: number; targets: unknown[]; settings: unknown }): Promise<StoredPolicy> {
    const now = Date.now();
    const row = {
      id: newId('pol_'),
      tenant_id: tenantId,
      name: input.name,
      priority: input.priority,
      targets: JSON.stringify(input.targets),
      settings: JSON.stringify(input.settings),
      created_at: now,
      updated_at: now,
      version: 1,
    };
    try {
      await this.#db.insertInto('user_policies').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw nameTaken(input.name);
      throw e;
    }
    return toPolicy(row);
  }

  /** Update; 404 when missing, 409 on a stale version or a taken name. */
  async update(
    tenantId: string,
    id: string,
    version: number | undefined,
    patch: { name?: string; priority?: number; targets?: unknown[]; settings?: unknown },
  ): Promise<void> {
    let q = this.#db
      .updateTable('user_policies')
      .set((eb) => ({
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.priority !== undefined && { priority: patch.priority }),
        ...(patch.targets !== undefined && { targets: JSON.stringify(patch.targets) }),
        ...(patch.settings !== undefined && { settings: JSON.stringify(patch.settings) }),
        updated_at: Date.now(),
        version: eb('version', '+', 1),
      }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id);
    if (version !== undefined) q = q.where('version', '=', version);
    try {
      const exists = () => this.#db.selectFrom('user_policies').select('id').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
      await assertUpdated(await q.executeTakeFirst(), exists, 'The policy', `Policy ${id}`);
    } catch (e) {
      if (isUniqueViolation(e)) throw nameTaken(patch.name);
      throw e;
    }
  }

  /** Delete; 404 when missing. */
  async delete(tenantId: string, id: string): Promise<void> {
    const r = await this.#db.deleteFrom('user_policies').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw notFound(`Policy ${id}`);
  }
}
