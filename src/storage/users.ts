// The local directory: users (email, and an optional username unique per tenant), groups, an OU tree and domains of each
// tenant. (LDAP and Active Directory sync, which fills it from outside, lives in src/directory/.)
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, GroupsTable, OusTable, UsersTable } from './schema.ts';
import { newId } from '../shared/crypto.ts';
import { conflict, invalid, isUniqueViolation, notFound, assertUpdated } from '../shared/errors.ts';
import { containsPattern, cut, decodeCursor, pageSize, type Page, type PageOptions } from './paging.ts';

export type AdminRole = 'superadmin' | 'admin' | 'helpdesk' | 'auditor';

export interface User {
  id: string;
  tenantId: string;
  email: string;
  /** Sign-in name, unique per tenant, kept lowercased (directories: sAMAccountName, uid). */
  username: string | null;
  /** The user proved the address (a verification link), an administrator marked it, or a trusted directory or upstream gave it. */
  emailVerified: boolean;
  /** An administrator requires a new password at the next sign-in. */
  mustChangePassword: boolean;
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
  /** The language the user chose for Gatehouse's pages (en, es, fr, de), or null. */
  locale: string | null;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface UserWithSecret extends User {
  passwordHash: string | null /** directory users: their DN (normalised) */;
  dn: string | null;
}

export interface Group {
  id: string;
  tenantId: string;
  name: string;
  description: string | null;
  createdAt: number;
  updatedAt: number;
  version: number;
}
export interface Ou {
  id: string;
  tenantId: string;
  name: string;
  parentId: string | null;
  path: string;
  createdAt: number;
  updatedAt: number;
  version: number;
}
export interface Domain {
  name: string;
  createdAt: number;
}
export type { Page } from './paging.ts';

const toUser = (r: Selectable<UsersTable>): UserWithSecret => ({
  id: r.id,
  tenantId: r.tenant_id,
  email: r.email,
  username: r.username ?? null,
  emailVerified: !!r.email_verified,
  mustChangePassword: !!r.must_change_password,
  domain: r.domain,
  givenName: r.given_name,
  familyName: r.family_name,
  status: r.status,
  ouId: r.ou_id,
  roles: JSON.parse(r.roles),
  hasPassword: !!r.password_hash,
  upstreamId: r.upstream_id ?? null,
  directoryId: r.directory_id ?? null,
  locale: r.locale ?? null,
  passwordHash: r.password_hash,
  dn: r.dn ?? null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  version: r.version,
});

const toGroup = (r: Selectable<GroupsTable>): Group => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  description: r.description,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  version: r.version,
});
const toOu = (r: Selectable<OusTable>): Ou => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  parentId: r.parent_id,
  path: r.path,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  version: r.version,
});

export const publicUser = ({ passwordHash: _omit, dn: _dn, ...u }: UserWithSecret): User => u;

export const normalizeEmail = (email: string) => email.trim().toLowerCase();
/** Usernames compare case-insensitively (as in Active Directory): kept lowercased. */
export const normalizeUsername = (username: string) => username.trim().toLowerCase();
/** What a username may hold: no @ (that would read as an email), no backslash (DOMAIN\\name), no spaces or controls. */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._$-]{0,63}$/;
export const domainOf = (email: string) => email.slice(email.lastIndexOf('@') + 1);

/** Normalise an OU path to "/A/B" form; refuses empty segments. */
export function normalizeOuPath(path: string): string {
  const parts = path
    .split('/')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw invalid(`"${path}" is not an OU path. Write it like /Sales/EMEA.`);
  return '/' + parts.join('/');
}

export class UserStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  // ---- users
  async createUser(input: {
    tenantId: string;
    email: string;
    passwordHash?: string | null;
    givenName?: string | null;
    familyName?: string | null;
    status?: 'active' | 'disabled';
    ouId?: string | null;
    roles?: AdminRole[];
    username?: string | null;
    emailVerified?: boolean;
    mustChangePassword?: boolean;
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
      directory_id: null,
      external_id: null,
      dn: null,
      directory_seen_at: null,
      locale: null,
      username: input.username ? normalizeUsername(input.username) : null,
      email_verified: input.emailVerified ? 1 : 0,
      must_change_password: input.mustChangePassword ? 1 : 0,
      created_at: now,
      updated_at: now,
      version: 1,
    } as const;
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values(row).execute();
        await trx
          .insertInto('domains')
          .values({ id: newId('dom_'), tenant_id: input.tenantId, name: row.domain, created_at: now })
          .onConflict((oc) => oc.columns(['tenant_id', 'name']).doNothing())
          .execute();
      });
    } catch (e) {
      if (isUniqueViolation(e)) {
        if (row.username && (await this.userByUsername(input.tenantId, row.username)))
          throw conflict(`The username ${row.username} is taken by another user of this tenant. Choose another one.`);
        throw conflict(`A user with email ${email} already exists in this tenant.`);
      }
      throw e;
    }
    return publicUser(toUser(row));
  }

  async userById(tenantId: string, id: string): Promise<UserWithSecret | undefined> {
    const r = await this.db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return r && toUser(r);
  }

  async userByEmail(tenantId: string, email: string): Promise<UserWithSecret | undefined> {
    const r = await this.db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('email', '=', normalizeEmail(email)).executeTakeFirst();
    return r && toUser(r);
  }

  async userByUsername(tenantId: string, username: string): Promise<UserWithSecret | undefined> {
    const r = await this.db
      .selectFrom('users')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('username', '=', normalizeUsername(username))
      .executeTakeFirst();
    return r && toUser(r);
  }

  /** A directory's user by their username there (DOMAIN\\name, name@upn-suffix). */
  async userByDirectoryUsername(tenantId: string, directoryId: string, username: string): Promise<UserWithSecret | undefined> {
    const r = await this.db
      .selectFrom('users')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('directory_id', '=', directoryId)
      .where('username', '=', normalizeUsername(username))
      .executeTakeFirst();
    return r && toUser(r);
  }

  async getUser(tenantId: string, id: string): Promise<UserWithSecret> {
    const u = await this.userById(tenantId, id);
    if (!u) throw notFound('User');
    return u;
  }

  /**
   * Email-ordered keyset pagination. `search` matches a substring of the email or of the full
   * name ("ann lee"), case-insensitively. The (tenant_id, email) index gives the order, so a
   * page reads only as many rows as it needs to find its matches (see docs/admin-api.md).
   */
  async listUsers(tenantId: string, opts: PageOptions = {}): Promise<Page<User>> {
    const limit = pageSize(opts.limit);
    let q = this.db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId);
    if (opts.search?.trim()) {
      const s = containsPattern(opts.search.trim());
      // Explicit ESCAPE: SQLite has no default escape character for LIKE.
      q = q.where(
        sql<boolean>`(lower(email) like ${s} escape '\\' or coalesce(username, '') like ${s} escape '\\' or lower(coalesce(given_name, '') || ' ' || coalesce(family_name, '')) like ${s} escape '\\')`,
      );
    }
    if (opts.cursor) q = q.where('email', '>', decodeCursor(opts.cursor));
    const rows = await q
      .orderBy('email')
      .limit(limit + 1)
      .execute();
    return cut(
      rows.map((r) => publicUser(toUser(r))),
      limit,
      (u) => u.email,
    );
  }

  async updateUser(
    tenantId: string,
    id: string,
    version: number | undefined,
    patch: {
      givenName?: string | null;
      familyName?: string | null;
      status?: 'active' | 'disabled';
      ouId?: string | null;
      roles?: AdminRole[];
      passwordHash?: string | null;
      username?: string | null;
      emailVerified?: boolean;
      mustChangePassword?: boolean;
      locale?: string | null;
    },
  ): Promise<User> {
    let q = this.db
      .updateTable('users')
      .set((eb) => ({
        ...(patch.givenName !== undefined && { given_name: patch.givenName }),
        ...(patch.familyName !== undefined && { family_name: patch.familyName }),
        ...(patch.status !== undefined && { status: patch.status }),
        ...(patch.ouId !== undefined && { ou_id: patch.ouId }),
        ...(patch.roles !== undefined && { roles: JSON.stringify(patch.roles) }),
        ...(patch.passwordHash !== undefined && { password_hash: patch.passwordHash }),
        ...(patch.username !== undefined && { username: patch.username === null ? null : normalizeUsername(patch.username) }),
        ...(patch.emailVerified !== undefined && { email_verified: patch.emailVerified ? 1 : 0 }),
        ...(patch.mustChangePassword !== undefined && { must_change_password: patch.mustChangePassword ? 1 : 0 }),
        ...(patch.locale !== undefined && { locale: patch.locale }),
        updated_at: Date.now(),
        version: eb('version', '+', 1),
      }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id);
    if (version !== undefined) q = q.where('version', '=', version);
    try {
      await assertUpdated(await q.executeTakeFirst(), () => this.userById(tenantId, id), 'The user', 'User');
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`The username ${patch.username} is taken by another user of this tenant. Choose another one.`);
      throw e;
    }
    return publicUser(await this.getUser(tenantId, id));
  }

  async deleteUser(tenantId: string, id: string): Promise<void> {
    const res = await this.db.deleteFrom('users').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound('User');
  }

  async countUsers(tenantId: string): Promise<number> {
    const r = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Does any user of the tenant hold this administrator role? */
  async hasUserWithRole(tenantId: string, role: AdminRole): Promise<boolean> {
    // Roles are a JSON array of names; a quoted name matches exactly one element.
    const r = await this.db
      .selectFrom('users')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('roles', 'like', `%"${role}"%`)
      .limit(1)
      .executeTakeFirst();
    return !!r;
  }

  // ---- groups
  async createGroup(tenantId: string, name: string, description?: string | null): Promise<Group> {
    const now = Date.now();
    const row = {
      id: newId('grp_'),
      tenant_id: tenantId,
      name: name.trim(),
      description: description ?? null,
      directory_id: null,
      external_id: null,
      dn: null,
      created_at: now,
      updated_at: now,
      version: 1,
    };
    try {
      await this.db.insertInto('groups').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`A group named "${name}" already exists in this tenant.`);
      throw e;
    }
    return toGroup(row);
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

  /** Name-ordered pages of groups, each with its member count; `search` matches the name or description. */
  async pageGroups(tenantId: string, opts: PageOptions = {}): Promise<Page<Group & { memberCount: number }>> {
    const limit = pageSize(opts.limit);
    let q = this.db
      .selectFrom('groups')
      .selectAll('groups')
      .select((eb) =>
        eb
          .selectFrom('group_members')
          .select((e) => e.fn.countAll<number>().as('n'))
          .whereRef('group_members.group_id', '=', 'groups.id')
          .as('member_count'),
      )
      .where('tenant_id', '=', tenantId);
    if (opts.search?.trim()) {
      const s = containsPattern(opts.search.trim());
      q = q.where(sql<boolean>`(lower(name) like ${s} escape '\\' or lower(coalesce(description, '')) like ${s} escape '\\')`);
    }
    if (opts.cursor) q = q.where('name', '>', decodeCursor(opts.cursor));
    const rows = await q
      .orderBy('name')
      .limit(limit + 1)
      .execute();
    return cut(
      rows.map((r) => ({ ...toGroup(r), memberCount: Number(r.member_count ?? 0) })),
      limit,
      (g) => g.name,
    );
  }

  async countMembers(tenantId: string, groupId: string): Promise<number> {
    const r = await this.db
      .selectFrom('group_members')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('group_id', '=', groupId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async updateGroup(tenantId: string, id: string, version: number | undefined, patch: { name?: string; description?: string | null }): Promise<Group> {
    let q = this.db
      .updateTable('groups')
      .set((eb) => ({
        ...(patch.name !== undefined && { name: patch.name.trim() }),
        ...(patch.description !== undefined && { description: patch.description }),
        updated_at: Date.now(),
        version: eb('version', '+', 1),
      }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id);
    if (version !== undefined) q = q.where('version', '=', version);
    try {
      await assertUpdated(await q.executeTakeFirst(), () => this.groupById(tenantId, id), 'The group', 'Group');
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`A group named "${patch.name}" already exists in this tenant.`);
      throw e;
    }
    return (await this.groupById(tenantId, id))!;
  }

  /** Delete a group: its memberships and the app deployments to it go with it. */
  async deleteGroup(tenantId: string, id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const res = await trx.deleteFrom('groups').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) throw notFound('Group');
      await trx.deleteFrom('app_deployments').where('tenant_id', '=', tenantId).where('target_type', '=', 'group').where('target_id', '=', id).execute();
    });
  }

  /** A group's members, email-ordered; `search` as in listUsers. */
  async listMembers(tenantId: string, groupId: string, opts: PageOptions = {}): Promise<Page<User>> {
    const limit = pageSize(opts.limit);
    let q = this.db
      .selectFrom('group_members')
      .innerJoin('users', 'users.id', 'group_members.user_id')
      .selectAll('users')
      .where('group_members.tenant_id', '=', tenantId)
      .where('group_members.group_id', '=', groupId);
    if (opts.search?.trim()) {
      const s = containsPattern(opts.search.trim());
      q = q.where(
        sql<boolean>`(lower(users.email) like ${s} escape '\\' or lower(coalesce(users.given_name, '') || ' ' || coalesce(users.family_name, '')) like ${s} escape '\\')`,
      );
    }
    if (opts.cursor) q = q.where('users.email', '>', decodeCursor(opts.cursor));
    const rows = await q
      .orderBy('users.email')
      .limit(limit + 1)
      .execute();
    return cut(
      rows.map((r) => publicUser(toUser(r))),
      limit,
      (u) => u.email,
    );
  }

  async addMember(tenantId: string, groupId: string, userId: string): Promise<void> {
    await this.db
      .insertInto('group_members')
      .values({ tenant_id: tenantId, group_id: groupId, user_id: userId })
      .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
      .execute();
  }

  async removeMember(tenantId: string, groupId: string, userId: string): Promise<void> {
    await this.db.deleteFrom('group_members').where('tenant_id', '=', tenantId).where('group_id', '=', groupId).where('user_id', '=', userId).execute();
  }

  async groupsOfUser(tenantId: string, userId: string): Promise<Group[]> {
    const rows = await this.db
      .selectFrom('group_members')
      .innerJoin('groups', 'groups.id', 'group_members.group_id')
      .selectAll('groups')
      .where('group_members.tenant_id', '=', tenantId)
      .where('group_members.user_id', '=', userId)
      .orderBy('groups.name')
      .execute();
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
        const row = {
          id: newId('ou_'),
          tenant_id: tenantId,
          name: parts[i]!,
          parent_id: parent?.id ?? null,
          path: p,
          created_at: now,
          updated_at: now,
          version: 1,
        };
        await this.db
          .insertInto('ous')
          .values(row)
          .onConflict((oc) => oc.columns(['tenant_id', 'path']).doNothing())
          .execute();
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

  /** Path-ordered pages of OUs (a parent comes before its children); `search` matches the path. */
  async pageOus(tenantId: string, opts: PageOptions = {}): Promise<Page<Ou>> {
    const limit = pageSize(opts.limit);
    let q = this.db.selectFrom('ous').selectAll().where('tenant_id', '=', tenantId);
    if (opts.search?.trim()) q = q.where(sql<boolean>`lower(path) like ${containsPattern(opts.search.trim())} escape '\\'`);
    if (opts.cursor) q = q.where('path', '>', decodeCursor(opts.cursor));
    const rows = await q
      .orderBy('path')
      .limit(limit + 1)
      .execute();
    return cut(rows.map(toOu), limit, (o) => o.path);
  }

  /**
   * Delete an OU that is empty: one with users or sub-OUs is refused (409), since deleting it
   * would silently move people or delete a subtree. App deployments to it go with it.
   */
  async deleteOu(tenantId: string, id: string): Promise<Ou> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.selectFrom('ous').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
      if (!r) throw notFound('OU');
      const users = await trx
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', tenantId)
        .where('ou_id', '=', id)
        .executeTakeFirstOrThrow();
      const children = await trx
        .selectFrom('ous')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', tenantId)
        .where('parent_id', '=', id)
        .executeTakeFirstOrThrow();
      if (Number(users.n) || Number(children.n)) {
        throw conflict(`The OU ${r.path} still holds ${Number(users.n)} user(s) and ${Number(children.n)} sub-OU(s). Move or delete them first.`);
      }
      await trx.deleteFrom('ous').where('id', '=', id).execute();
      await trx.deleteFrom('app_deployments').where('tenant_id', '=', tenantId).where('target_type', '=', 'ou').where('target_id', '=', id).execute();
      return toOu(r);
    });
  }

  // ---- domains
  async ensureDomain(tenantId: string, name: string): Promise<Domain> {
    await this.db
      .insertInto('domains')
      .values({ id: newId('dom_'), tenant_id: tenantId, name: name.toLowerCase(), created_at: Date.now() })
      .onConflict((oc) => oc.columns(['tenant_id', 'name']).doNothing())
      .execute();
    const r = await this.db
      .selectFrom('domains')
      .select(['name', 'created_at'])
      .where('tenant_id', '=', tenantId)
      .where('name', '=', name.toLowerCase())
      .executeTakeFirstOrThrow();
    return { name: r.name, createdAt: Number(r.created_at) };
  }

  async listDomains(tenantId: string): Promise<string[]> {
    return (await this.db.selectFrom('domains').select('name').where('tenant_id', '=', tenantId).orderBy('name').execute()).map((r) => r.name);
  }

  async pageDomains(tenantId: string, opts: PageOptions = {}): Promise<Page<Domain>> {
    const limit = pageSize(opts.limit);
    let q = this.db.selectFrom('domains').select(['name', 'created_at']).where('tenant_id', '=', tenantId);
    if (opts.search?.trim()) q = q.where(sql<boolean>`name like ${containsPattern(opts.search.trim())} escape '\\'`);
    if (opts.cursor) q = q.where('name', '>', decodeCursor(opts.cursor));
    const rows = await q
      .orderBy('name')
      .limit(limit + 1)
      .execute();
    return cut(
      rows.map((r) => ({ name: r.name, createdAt: Number(r.created_at) })),
      limit,
      (d) => d.name,
    );
  }

  // ---- counts (the console's overview)
  async countGroups(tenantId: string): Promise<number> {
    const r = await this.db
      .selectFrom('groups')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
