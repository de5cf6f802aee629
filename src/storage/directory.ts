// Local directory: users (email is the username), groups, an OU tree and domains.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, GroupsTable, OusTable, UsersTable } from './schema.ts';
import { newId } from '../shared/crypto.ts';
import { conflict, invalid, isUniqueViolation, notFound, staleVersion } from '../shared/errors.ts';

export type AdminRole = 'superadmin' | 'admin' | 'helpdesk' | 'auditor';

export interface User {
  id: string;
  tenantId: string;
  email: string;
  domain: string;
  givenName: string | null;
  familyName: string | null;
  status: 'active' | 'disabled';
  ouId: string | null;
  roles: AdminRole[];
  hasPassword: boolean;
  /** The upstream directory that keeps this user's names and email (read-only here), if any. */
  upstreamId: string | null;
  /** The LDAP directory that keeps this user (signs in with the directory password), if any. */
  directoryId: string | null;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface UserWithSecret extends User { passwordHash: string | null; /** directory users: their DN (normalised) */ dn: string | null }

export interface Group { id: string; tenantId: string; name: string; description: string | null; version: number }
export interface Ou { id: string; tenantId: string; name: string; parentId: string | null; path: string }
export interface Page<T> { items: T[]; nextCursor: string | null }

const toUser = (r: Selectable<UsersTable>): UserWithSecret => ({
  id: r.id,
  tenantId: r.tenant_id,
  email: r.email,
  domain: r.domain,
  givenName: r.given_name,
  familyName: r.family_name,
  status: r.status,
  ouId: r.ou_id,
  roles: JSON.parse(r.roles),
  hasPassword: !!r.password_hash,
  upstreamId: r.upstream_id ?? null,
  directoryId: r.directory_id ?? null,
  passwordHash: r.password_hash,
  dn: r.dn ?? null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  version: r.version,
});

const toGroup = (r: Selectable<GroupsTable>): Group => ({ id: r.id, tenantId: r.tenant_id, name: r.name, description: r.description, version: r.version });
const toOu = (r: Selectable<OusTable>): Ou => ({ id: r.id, tenantId: r.tenant_id, name: r.name, parentId: r.parent_id, path: r.path });

export const publicUser = ({ passwordHash: _omit, dn: _dn, ...u }: UserWithSecret): User => u;

export const normalizeEmail = (email: string) => email.trim().toLowerCase();
export const domainOf = (email: string) => email.slice(email.lastIndexOf('@') + 1);

/** Normalise an OU path to "/A/B" form; refuses empty segments. */
export function normalizeOuPath(path: string): string {
  const parts = path.split('/').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw invalid(`"${path}" is not an OU path. Write it like /Sales/EMEA.`);
  return '/' + parts.join('/');
}

export class DirectoryStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) { this.db = db; }

  // ---- users
  async createUser(input: {
    tenantId: string; email: string; passwordHash?: string | null; givenName?: string | null; familyName?: string | null;
    status?: 'active' | 'disabled'; ouId?: string | null; roles?: AdminRole[];
  }): Promise<User> {
    const now = Date.now();
    const email = normalizeEmail(input.email);
    const row = {
      id: newId('usr_'),
      tenant_id: input.tenantId,
      email,
      domain: domainOf(email),
      given_name: input.givenName ?? null,
      family_name: input.familyName ?? null,
      password_hash: input.passwordHash ?? null,
      status: input.status ?? 'active',
      ou_id: input.ouId ?? null,
      roles: JSON.stringify(input.roles ?? []),
      upstream_id: null,
      directory_id: null, external_id: null, dn: null, directory_seen_at: null,
      created_at: now,
      updated_at: now,
      version: 1,
    } as const;
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values(row).execute();
        await trx.insertInto('domains').values({ id: newId('dom_'), tenant_id: input.tenantId, name: row.domain, created_at: now })
          .onConflict((oc) => oc.columns(['tenant_id', 'name']).doNothing()).execute();
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`A user with email ${email} already exists in this tenant.`);
      throw e;
    }
    return publicUser(toUser(row));
  }

  async userById(tenantId: string, id: string): Promise<UserWithSecret | undefined> {
    const r = await this.db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return r && toUser(r);
  }

  async userByEmail(tenantId: string, email: string): Promise<UserWithSecret | undefined> {
    const r = await this.db.selectFrom('users').selectAll()
      .where('tenant_id', '=', tenantId).where('email', '=', normalizeEmail(email)).executeTakeFirst();
    return r && toUser(r);
  }

  async getUser(tenantId: string, id: string): Promise<UserWithSecret> {
    const u = await this.userById(tenantId, id);
    if (!u) throw notFound('User');
    return u;
  }

  /** Email-ordered keyset pagination; `search` matches email or names by prefix/substring. */
  async listUsers(tenantId: string, opts: { search?: string; cursor?: string; limit?: number } = {}): Promise<Page<User>> {
    const limit = Math.min(Math.max(opts.limit ?? 50, 1), 200);
    let q = this.db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId);
    if (opts.search) {
      const s = `%${opts.search.toLowerCase().replace(/[%_\\]/g, (m) => '\\' + m)}%`;
      // Explicit ESCAPE: SQLite has no default escape character for LIKE.
      q = q.where(sql<boolean>`(lower(email) like ${s} escape '\\' or lower(given_name) like ${s} escape '\\' or lower(family_name) like ${s} escape '\\')`);
    }
    if (opts.cursor) q = q.where('email', '>', Buffer.from(opts.cursor, 'base64url').toString('utf8'));
    const rows = await q.orderBy('email').limit(limit + 1).execute();
    const items = rows.slice(0, limit).map((r) => publicUser(toUser(r)));
    const next = rows.length > limit ? Buffer.from(items[items.length - 1]!.email).toString('base64url') : null;
    return { items, nextCursor: next };
  }

  async updateUser(tenantId: string, id: string, version: number | undefined, patch: {
    givenName?: string | null; familyName?: string | null; status?: 'active' | 'disabled'; ouId?: string | null;
    roles?: AdminRole[]; passwordHash?: string | null;
  }): Promise<User> {
    let q = this.db.updateTable('users').set((eb) => ({
      ...(patch.givenName !== undefined && { given_name: patch.givenName }),
      ...(patch.familyName !== undefined && { family_name: patch.familyName }),
      ...(patch.status !== undefined && { status: patch.status }),
      ...(patch.ouId !== undefined && { ou_id: patch.ouId }),
      ...(patch.roles !== undefined && { roles: JSON.stringify(patch.roles) }),
      ...(patch.passwordHash !== undefined && { password_hash: patch.passwordHash }),
      updated_at: Date.now(),
      version: eb('version', '+', 1),
    })).where('tenant_id', '=', tenantId).where('id', '=', id);
    if (version !== undefined) q = q.where('version', '=', version);
    const res = await q.executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) {
      if (await this.userById(tenantId, id)) throw staleVersion('The user');
      throw notFound('User');
    }
    return publicUser(await this.getUser(tenantId, id));
  }

  async deleteUser(tenantId: string, id: string): Promise<void> {
    const res = await this.db.deleteFrom('users').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound('User');
  }

  async countUsers(tenantId: string): Promise<number> {
    const r = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  // ---- groups
  async createGroup(tenantId: string, name: string, description?: string | null): Promise<Group> {
    const now = Date.now();
    const row = { id: newId('grp_'), tenant_id: tenantId, name: name.trim(), description: description ?? null, directory_id: null, external_id: null, dn: null, created_at: now, updated_at: now, version: 1 };
    try {
      await this.db.insertInto('groups').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`A group named "${name}" already exists in this tenant.`);
      throw e;
    }
    return { id: row.id, tenantId, name: row.name, description: row.description, version: 1 };
  }

  async groupByName(tenantId: string, name: string): Promise<Group | undefined> {
    const r = await this.db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId).where('name', '=', name.trim()).executeTakeFirst();
    return r && toGroup(r);
  }

  async groupById(tenantId: string, id: string): Promise<Group | undefined> {
    const r = await this.db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return r && toGroup(r);
  }

  async listGroups(tenantId: string): Promise<Group[]> {
    const rows = await this.db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId).orderBy('name').execute();
    return rows.map(toGroup);
  }

  async addMember(tenantId: string, groupId: string, userId: string): Promise<void> {
    await this.db.insertInto('group_members').values({ tenant_id: tenantId, group_id: groupId, user_id: userId })
      .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing()).execute();
  }

  async removeMember(tenantId: string, groupId: string, userId: string): Promise<void> {
    await this.db.deleteFrom('group_members').where('tenant_id', '=', tenantId).where('group_id', '=', groupId).where('user_id', '=', userId).execute();
  }

  async groupsOfUser(tenantId: string, userId: string): Promise<Group[]> {
    const rows = await this.db.selectFrom('group_members').innerJoin('groups', 'groups.id', 'group_members.group_id')
      .selectAll('groups').where('group_members.tenant_id', '=', tenantId).where('group_members.user_id', '=', userId)
      .orderBy('groups.name').execute();
    return rows.map(toGroup);
  }

  // ---- OUs
  /** Create an OU path, creating missing parents; returns the leaf. Idempotent. */
  async ensureOu(tenantId: string, path: string): Promise<Ou> {
    const norm = normalizeOuPath(path);
    const parts = norm.slice(1).split('/');
    let parent: Ou | undefined;
    for (let i = 0; i < parts.length; i++) {
      const p = '/' + parts.slice(0, i + 1).join('/');
      let ou = await this.ouByPath(tenantId, p);
      if (!ou) {
        const now = Date.now();
        const row = { id: newId('ou_'), tenant_id: tenantId, name: parts[i]!, parent_id: parent?.id ?? null, path: p, created_at: now, updated_at: now, version: 1 };
        await this.db.insertInto('ous').values(row).onConflict((oc) => oc.columns(['tenant_id', 'path']).doNothing()).execute();
        ou = (await this.ouByPath(tenantId, p))!;
      }
      parent = ou;
    }
    return parent!;
  }

  async ouByPath(tenantId: string, path: string): Promise<Ou | undefined> {
    const r = await this.db.selectFrom('ous').selectAll().where('tenant_id', '=', tenantId).where('path', '=', normalizeOuPath(path)).executeTakeFirst();
    return r && toOu(r);
  }

  async ouById(tenantId: string, id: string): Promise<Ou | undefined> {
    const r = await this.db.selectFrom('ous').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return r && toOu(r);
  }

  async listOus(tenantId: string): Promise<Ou[]> {
    const rows = await this.db.selectFrom('ous').selectAll().where('tenant_id', '=', tenantId).orderBy('path').execute();
    return rows.map(toOu);
  }

  // ---- domains
  async ensureDomain(tenantId: string, name: string): Promise<void> {
    await this.db.insertInto('domains').values({ id: newId('dom_'), tenant_id: tenantId, name: name.toLowerCase(), created_at: Date.now() })
      .onConflict((oc) => oc.columns(['tenant_id', 'name']).doNothing()).execute();
  }

  async listDomains(tenantId: string): Promise<string[]> {
    return (await this.db.selectFrom('domains').select('name').where('tenant_id', '=', tenantId).orderBy('name').execute()).map((r) => r.name);
  }
}
