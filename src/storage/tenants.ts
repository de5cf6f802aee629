// Tenants (enterprises): each is its own issuer with its own keys, users, apps and sessions.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, TenantsTable } from './schema.ts';
import { containsPattern, cut, decodeCursor, pageSize, type Page, type PageOptions } from './paging.ts';
import { newId } from '../shared/crypto.ts';
import { conflict, isUniqueViolation, notFound, assertUpdated } from '../shared/errors.ts';

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  /** 0 = off: no timeout beyond the maximum browser session. */
  sessionLifetimeMinutes: number;
  settings: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
export const DEFAULT_SESSION_MINUTES = 120;
export const MIN_SESSION_MINUTES = 30;
export const MAX_SESSION_MINUTES = 4 * 24 * 60;

const toTenant = (r: Selectable<TenantsTable>): Tenant => ({
  id: r.id,
  slug: r.slug,
  name: r.name,
  sessionLifetimeMinutes: r.session_lifetime_minutes,
  settings: JSON.parse(r.settings),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  version: r.version,
});

export class TenantStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async create(input: { slug: string; name?: string; sessionLifetimeMinutes?: number }): Promise<Tenant> {
    const now = Date.now();
    const row = {
      id: newId('ten_'),
      slug: input.slug,
      name: input.name ?? input.slug,
      session_lifetime_minutes: input.sessionLifetimeMinutes ?? DEFAULT_SESSION_MINUTES,
      settings: '{}',
      created_at: now,
      updated_at: now,
      version: 1,
    };
    try {
      await this.db.insertInto('tenants').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`A tenant with slug "${input.slug}" already exists. Choose another slug.`);
      throw e;
    }
    return toTenant(row);
  }

  async bySlug(slug: string): Promise<Tenant | undefined> {
    const r = await this.db.selectFrom('tenants').selectAll().where('slug', '=', slug).executeTakeFirst();
    return r && toTenant(r);
  }

  async byId(id: string): Promise<Tenant | undefined> {
    const r = await this.db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toTenant(r);
  }

  async getBySlug(slug: string): Promise<Tenant> {
    const t = await this.bySlug(slug);
    if (!t) throw notFound(`Tenant "${slug}"`);
    return t;
  }

  async list(): Promise<Tenant[]> {
    return (await this.db.selectFrom('tenants').selectAll().orderBy('slug').execute()).map(toTenant);
  }

  /** Slug-ordered pages; `search` matches the slug or the name. */
  async page(opts: PageOptions = {}): Promise<Page<Tenant>> {
    const limit = pageSize(opts.limit);
    let q = this.db.selectFrom('tenants').selectAll();
    if (opts.search?.trim()) {
      const s = containsPattern(opts.search.trim());
      q = q.where(sql<boolean>`(slug like ${s} escape '\\' or lower(name) like ${s} escape '\\')`);
    }
    if (opts.cursor) q = q.where('slug', '>', decodeCursor(opts.cursor));
    return cut(
      (
        await q
          .orderBy('slug')
          .limit(limit + 1)
          .execute()
      ).map(toTenant),
      limit,
      (t) => t.slug,
    );
  }

  async update(
    id: string,
    version: number | undefined,
    patch: { name?: string; sessionLifetimeMinutes?: number; settings?: Record<string, unknown> },
  ): Promise<Tenant> {
    let q = this.db
      .updateTable('tenants')
      .set((eb) => ({
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.sessionLifetimeMinutes !== undefined && { session_lifetime_minutes: patch.sessionLifetimeMinutes }),
        ...(patch.settings !== undefined && { settings: JSON.stringify(patch.settings) }),
        updated_at: Date.now(),
        version: eb('version', '+', 1),
      }))
      .where('id', '=', id);
    if (version !== undefined) q = q.where('version', '=', version);
    await assertUpdated(await q.executeTakeFirst(), () => this.byId(id), 'The tenant', 'Tenant');
    return (await this.byId(id))!;
  }
}
