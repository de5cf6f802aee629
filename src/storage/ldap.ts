// LDAP directories of a tenant, their sync runs, and the bulk writes a sync makes: users and
// groups upserted by the directory's stable external ID, memberships replaced as a set.
import type { Kysely, Selectable } from 'kysely';
import type { DB, DirectorySyncRunsTable, LdapDirectoriesTable } from './schema.ts';
import type { DirectorySettings } from '../directory/ldap/settings.ts';
import { newId } from '../shared/crypto.ts';
import { conflict, isUniqueViolation, notFound, assertUpdated } from '../shared/errors.ts';

export interface LdapDirectory {
  id: string;
  tenantId: string;
  name: string;
  enabled: boolean;
  settings: DirectorySettings;
  bindPasswordSealed: string | null;
  syncMarks: { users?: string; groups?: string };
  lastFullSyncAt: number | null;
  lastSyncAt: number | null;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface SyncProgress {
  phase: 'users' | 'groups' | 'memberships' | 'cleanup' | 'done';
  users: { seen: number; created: number; updated: number; unchanged: number; disabled: number; skipped: number };
  groups: { seen: number; created: number; updated: number };
  memberships: { added: number; removed: number };
  errorCount: number;
}
/** A run begins with its first phase, reading groups. */
export const emptyProgress = (): SyncProgress => ({
  phase: 'groups',
  users: { seen: 0, created: 0, updated: 0, unchanged: 0, disabled: 0, skipped: 0 },
  groups: { seen: 0, created: 0, updated: 0 },
  memberships: { added: 0, removed: 0 },
  errorCount: 0,
});

export interface SyncRun {
  id: string;
  directoryId: string;
  mode: 'full' | 'incremental';
  trigger: 'schedule' | 'admin';
  status: 'running' | 'succeeded' | 'failed';
  progress: SyncProgress;
  errors: Array<{ dn: string; message: string }>;
  message: string | null;
  startedAt: number;
  heartbeatAt: number;
  finishedAt: number | null;
}

const toDirectory = (r: Selectable<LdapDirectoriesTable>): LdapDirectory => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  enabled: !!r.enabled,
  settings: JSON.parse(r.settings),
  bindPasswordSealed: r.bind_password_sealed,
  syncMarks: JSON.parse(r.sync_marks),
  lastFullSyncAt: r.last_full_sync_at,
  lastSyncAt: r.last_sync_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  version: r.version,
});
const toRun = (r: Selectable<DirectorySyncRunsTable>): SyncRun => ({
  id: r.id,
  directoryId: r.directory_id,
  mode: r.mode,
  trigger: r.trigger,
  status: r.status,
  progress: JSON.parse(r.progress),
  errors: JSON.parse(r.errors),
  message: r.message,
  startedAt: r.started_at,
  heartbeatAt: r.heartbeat_at,
  finishedAt: r.finished_at,
});

/** A user as the directory describes it, ready to store. */
export interface SyncedUser {
  externalId: string;
  dn: string;
  email: string;
  domain: string;
  givenName: string | null;
  familyName: string | null;
  status: 'active' | 'disabled';
  ouId: string | null;
  /** The directory's sign-in name (the directory's username attribute: sAMAccountName, uid); users sign in with it. */
  username?: string | null;
}
export interface SyncedGroup {
  externalId: string;
  dn: string;
  name: string;
}

/** A running sync is taken as dead when it has not reported for this long (its node stopped). */
export const RUN_STALE_MS = 2 * 60_000;

export class LdapStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  // ---- directories
  async create(
    tenantId: string,
    input: { name: string; enabled: boolean; settings: DirectorySettings; bindPasswordSealed: string | null },
  ): Promise<LdapDirectory> {
    const now = Date.now();
    const row = {
      id: newId('dir_'),
      tenant_id: tenantId,
      name: input.name,
      enabled: input.enabled ? 1 : 0,
      settings: JSON.stringify(input.settings),
      bind_password_sealed: input.bindPasswordSealed,
      sync_marks: '{}',
      last_full_sync_at: null,
      last_sync_at: null,
      created_at: now,
      updated_at: now,
      version: 1,
    };
    try {
      await this.db.insertInto('ldap_directories').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`A directory named "${input.name}" already exists in this tenant. Choose another name.`);
      throw e;
    }
    return toDirectory(row);
  }

  async list(tenantId: string): Promise<LdapDirectory[]> {
    return (await this.db.selectFrom('ldap_directories').selectAll().where('tenant_id', '=', tenantId).orderBy('name').execute()).map(toDirectory);
  }

  /** Every enabled directory of every tenant (the scheduler). */
  async listEnabled(): Promise<LdapDirectory[]> {
    return (await this.db.selectFrom('ldap_directories').selectAll().where('enabled', '=', 1).execute()).map(toDirectory);
  }

  async byId(tenantId: string, id: string): Promise<LdapDirectory | undefined> {
    const r = await this.db
      .selectFrom('ldap_directories')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([eb('id', '=', id), eb('name', '=', id)]))
      .executeTakeFirst();
    return r && toDirectory(r);
  }

  async get(tenantId: string, id: string): Promise<LdapDirectory> {
    const d = await this.byId(tenantId, id);
    if (!d) throw notFound(`Directory ${id}`);
    return d;
  }

  async update(
    tenantId: string,
    id: string,
    version: number | undefined,
    patch: { name?: string; enabled?: boolean; settings?: DirectorySettings; bindPasswordSealed?: string | null },
  ): Promise<LdapDirectory> {
    let q = this.db
      .updateTable('ldap_directories')
      .set((eb) => ({
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.enabled !== undefined && { enabled: patch.enabled ? 1 : 0 }),
        ...(patch.settings !== undefined && { settings: JSON.stringify(patch.settings) }),
        ...(patch.bindPasswordSealed !== undefined && { bind_password_sealed: patch.bindPasswordSealed }),
        updated_at: Date.now(),
        version: eb('version', '+', 1),
      }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id);
    if (version !== undefined) q = q.where('version', '=', version);
    try {
      await assertUpdated(await q.executeTakeFirst(), () => this.byId(tenantId, id), 'The directory', `Directory ${id}`);
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`A directory named "${patch.name}" already exists in this tenant. Choose another name.`);
      throw e;
    }
    return this.get(tenantId, id);
  }

  /** Deleting a directory leaves its users and groups as local ones (disabled users stay disabled). */
  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const r = await trx.deleteFrom('ldap_directories').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw notFound(`Directory ${id}`);
      await trx
        .updateTable('users')
        .set({ directory_id: null, external_id: null, dn: null, directory_seen_at: null })
        .where('tenant_id', '=', tenantId)
        .where('directory_id', '=', id)
        .execute();
      await trx
        .updateTable('groups')
        .set({ directory_id: null, external_id: null, dn: null })
        .where('tenant_id', '=', tenantId)
        .where('directory_id', '=', id)
        .execute();
    });
  }

  async saveMarks(id: string, marks: LdapDirectory['syncMarks'], full: boolean, at: number): Promise<void> {
    await this.db
      .updateTable('ldap_directories')
      .set({ sync_marks: JSON.stringify(marks), last_sync_at: at, ...(full && { last_full_sync_at: at }) })
      .where('id', '=', id)
      .execute();
  }

  // ---- runs
  /** Start a run unless one is already going (one at a time per directory, across nodes). */
  async startRun(dir: LdapDirectory, mode: SyncRun['mode'], trigger: SyncRun['trigger']): Promise<SyncRun | { running: SyncRun }> {
    const now = Date.now();
    return this.db.transaction().execute(async (trx) => {
      const live = await trx.selectFrom('directory_sync_runs').selectAll().where('directory_id', '=', dir.id).where('status', '=', 'running').execute();
      for (const r of live) {
        if (r.heartbeat_at > now - RUN_STALE_MS) return { running: toRun(r) };
        await trx
          .updateTable('directory_sync_runs')
          .set({ status: 'failed', message: 'Interrupted: the Gatehouse node running it stopped. The next sync starts over.', finished_at: now })
          .where('id', '=', r.id)
          .execute();
      }
      const row = {
        id: newId('run_'),
        tenant_id: dir.tenantId,
        directory_id: dir.id,
        mode,
        trigger,
        status: 'running' as const,
        progress: JSON.stringify(emptyProgress()),
        errors: '[]',
        message: null,
        started_at: now,
        heartbeat_at: now,
        finished_at: null,
      };
      await trx.insertInto('directory_sync_runs').values(row).execute();
      return toRun(row);
    });
  }

  async reportRun(
    id: string,
    patch: { progress: SyncProgress; errors: SyncRun['errors']; status?: SyncRun['status']; message?: string | null },
  ): Promise<void> {
    const now = Date.now();
    await this.db
      .updateTable('directory_sync_runs')
      .set({
        progress: JSON.stringify(patch.progress),
        errors: JSON.stringify(patch.errors),
        heartbeat_at: now,
        ...(patch.status && { status: patch.status }),
        ...(patch.message !== undefined && { message: patch.message }),
        ...(patch.status && patch.status !== 'running' && { finished_at: now }),
      })
      .where('id', '=', id)
      .execute();
  }

  async runs(directoryId: string, limit = 10): Promise<SyncRun[]> {
    return (
      await this.db.selectFrom('directory_sync_runs').selectAll().where('directory_id', '=', directoryId).orderBy('started_at', 'desc').limit(limit).execute()
    ).map(toRun);
  }

  async run(directoryId: string, runId: string): Promise<SyncRun | undefined> {
    const r = await this.db.selectFrom('directory_sync_runs').selectAll().where('directory_id', '=', directoryId).where('id', '=', runId).executeTakeFirst();
    return r && toRun(r);
  }

  async pruneRuns(directoryId: string, keep = 50): Promise<void> {
    const old = await this.db
      .selectFrom('directory_sync_runs')
      .select('started_at')
      .where('directory_id', '=', directoryId)
      .orderBy('started_at', 'desc')
      .offset(keep)
      .limit(1)
      .executeTakeFirst();
    if (old) await this.db.deleteFrom('directory_sync_runs').where('directory_id', '=', directoryId).where('started_at', '<=', old.started_at).execute();
  }

  // ---- synced users and groups
  /** DN -> user id for the directory's users (memberships are given as DNs). */
  async userIdsByDn(directoryId: string): Promise<Map<string, string>> {
    const rows = await this.db.selectFrom('users').select(['id', 'dn']).where('directory_id', '=', directoryId).execute();
    return new Map(rows.filter((r) => r.dn).map((r) => [r.dn!, r.id]));
  }

  async groupIdsByDn(directoryId: string): Promise<Map<string, string>> {
    const rows = await this.db.selectFrom('groups').select(['id', 'dn']).where('directory_id', '=', directoryId).execute();
    return new Map(rows.filter((r) => r.dn).map((r) => [r.dn!, r.id]));
  }

  /**
   * Upsert one page of users in one transaction. An existing local account with the same
   * email is taken over by the directory, unless it is an administrator (kept local, reported).
   * Returns what changed, and the ids that went from active to disabled (their sessions end).
   */
  async upsertUsers(
    tenantId: string,
    directoryId: string,
    users: SyncedUser[],
    seenAt: number | null,
  ): Promise<{
    created: number;
    updated: number;
    unchanged: number;
    disabledIds: string[];
    problems: Array<{ dn: string; message: string }>;
  }> {
    const out = { created: 0, updated: 0, unchanged: 0, disabledIds: [] as string[], problems: [] as Array<{ dn: string; message: string }> };
    if (!users.length) return out;
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      const existing = new Map(
        (
          await trx
            .selectFrom('users')
            .selectAll()
            .where('directory_id', '=', directoryId)
            .where(
              'external_id',
              'in',
              users.map((u) => u.externalId),
            )
            .execute()
        ).map((r) => [r.external_id!, r]),
      );
      const byEmail = new Map(
        (
          await trx
            .selectFrom('users')
            .selectAll()
            .where('tenant_id', '=', tenantId)
            .where(
              'email',
              'in',
              users.map((u) => u.email),
            )
            .execute()
        ).map((r) => [r.email, r]),
      );
      // Usernames are unique per tenant: one another account holds already is not taken (reported).
      const names = users.map((u) => u.username?.trim().toLowerCase()).filter((n): n is string => !!n);
      const byUsername = new Map(
        names.length
          ? (
              await trx
                .selectFrom('users')
                .select(['id', 'username', 'external_id', 'directory_id'])
                .where('tenant_id', '=', tenantId)
                .where('username', 'in', names)
                .execute()
            ).map((r) => [r.username!, r])
          : [],
      );
      const claimed = new Set<string>();
      const unchangedIds: string[] = [];
      for (const u0 of users) {
        let u = u0;
        const wanted = u.username?.trim().toLowerCase() || null;
        if (wanted) {
          const other = byUsername.get(wanted);
          const mine = other && ((other.directory_id === directoryId && other.external_id === u.externalId) || other.id === byEmail.get(u.email)?.id);
          if ((other && !mine) || claimed.has(wanted)) {
            out.problems.push({
              dn: u.dn,
              message: `The username ${wanted} already belongs to another account of this tenant; this user was synced without a username.`,
            });
            u = { ...u, username: null };
          } else claimed.add(wanted);
        }
        const username = u.username?.trim().toLowerCase() || null;
        let row = existing.get(u.externalId);
        const holder = byEmail.get(u.email);
        if (holder && holder.id !== row?.id) {
          if (holder.directory_id || holder.upstream_id || JSON.parse(holder.roles).length > 0) {
            const why = holder.directory_id
              ? holder.directory_id === directoryId
                ? 'another entry of this directory'
                : 'another directory'
              : holder.upstream_id
                ? "an upstream directory's account"
                : 'a local administrator';
            out.problems.push({ dn: u.dn, message: `The email ${u.email} already belongs to ${why}; this entry was skipped.` });
            continue;
          }
          if (!row) {
            // A local account for the same person: the directory keeps it from now on (its local password is no longer used).
            await trx
              .updateTable('users')
              .set((eb) => ({ directory_id: directoryId, external_id: u.externalId, password_hash: null, version: eb('version', '+', 1) }))
              .where('id', '=', holder.id)
              .execute();
            row = { ...holder, directory_id: directoryId, external_id: u.externalId };
          }
        }
        if (!row) {
          const id = newId('usr_');
          await trx
            .insertInto('users')
            .values({
              id,
              tenant_id: tenantId,
              email: u.email,
              domain: u.domain,
              given_name: u.givenName,
              family_name: u.familyName,
              password_hash: null,
              status: u.status,
              ou_id: u.ouId,
              roles: '[]',
              upstream_id: null,
              directory_id: directoryId,
              external_id: u.externalId,
              dn: u.dn,
              directory_seen_at: seenAt,
              created_at: now,
              updated_at: now,
              version: 1,
              // The organisation's directory is the authority for its people's addresses.
              username,
              email_verified: 1,
            })
            .execute();
          out.created++;
          continue;
        }
        const same =
          row.email === u.email &&
          row.domain === u.domain &&
          row.given_name === u.givenName &&
          row.family_name === u.familyName &&
          row.status === u.status &&
          row.ou_id === u.ouId &&
          row.dn === u.dn &&
          (row.username ?? null) === username &&
          row.email_verified === 1;
        if (same) {
          out.unchanged++;
          unchangedIds.push(row.id);
          continue;
        }
        await trx
          .updateTable('users')
          .set((eb) => ({
            email: u.email,
            domain: u.domain,
            given_name: u.givenName,
            family_name: u.familyName,
            status: u.status,
            ou_id: u.ouId,
            dn: u.dn,
            username,
            email_verified: 1,
            ...(seenAt !== null && { directory_seen_at: seenAt }),
            updated_at: now,
            version: eb('version', '+', 1),
          }))
          .where('id', '=', row.id)
          .execute();
        if (row.status === 'active' && u.status === 'disabled') out.disabledIds.push(row.id);
        out.updated++;
      }
      if (seenAt !== null && unchangedIds.length) await trx.updateTable('users').set({ directory_seen_at: seenAt }).where('id', 'in', unchangedIds).execute();
    });
    return out;
  }

  /** After a full sync: the directory's users it did not see are gone from the directory; disable them. */
  async disableUnseen(directoryId: string, seenAt: number): Promise<string[]> {
    const gone = await this.db
      .selectFrom('users')
      .select('id')
      .where('directory_id', '=', directoryId)
      .where('status', '=', 'active')
      .where((eb) => eb.or([eb('directory_seen_at', '<', seenAt), eb('directory_seen_at', 'is', null)]))
      .execute();
    const ids = gone.map((r) => r.id);
    for (let i = 0; i < ids.length; i += 500) {
      await this.db
        .updateTable('users')
        .set((eb) => ({ status: 'disabled', updated_at: Date.now(), version: eb('version', '+', 1) }))
        .where('id', 'in', ids.slice(i, i + 500))
        .execute();
    }
    return ids;
  }

  async upsertGroups(
    tenantId: string,
    directoryId: string,
    groups: SyncedGroup[],
  ): Promise<{ created: number; updated: number; problems: Array<{ dn: string; message: string }> }> {
    const out = { created: 0, updated: 0, problems: [] as Array<{ dn: string; message: string }> };
    if (!groups.length) return out;
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      const existing = new Map(
        (
          await trx
            .selectFrom('groups')
            .selectAll()
            .where('directory_id', '=', directoryId)
            .where(
              'external_id',
              'in',
              groups.map((g) => g.externalId),
            )
            .execute()
        ).map((r) => [r.external_id!, r]),
      );
      const byName = new Map(
        (
          await trx
            .selectFrom('groups')
            .selectAll()
            .where('tenant_id', '=', tenantId)
            .where(
              'name',
              'in',
              groups.map((g) => g.name),
            )
            .execute()
        ).map((r) => [r.name, r]),
      );
      for (const g of groups) {
        const row = existing.get(g.externalId);
        const holder = byName.get(g.name);
        if (holder && holder.id !== row?.id) {
          if (holder.directory_id || row) {
            out.problems.push({
              dn: g.dn,
              message: `A group named "${g.name}" already exists${holder.directory_id ? ' from another directory entry' : ''}; this group was skipped.`,
            });
            continue;
          }
          // A local group of the same name: the directory keeps it (and its deployments and policies) from now on.
          await trx
            .updateTable('groups')
            .set({ directory_id: directoryId, external_id: g.externalId, dn: g.dn, updated_at: now })
            .where('id', '=', holder.id)
            .execute();
          out.updated++;
          continue;
        }
        if (!row) {
          await trx
            .insertInto('groups')
            .values({
              id: newId('grp_'),
              tenant_id: tenantId,
              name: g.name,
              description: null,
              directory_id: directoryId,
              external_id: g.externalId,
              dn: g.dn,
              created_at: now,
              updated_at: now,
              version: 1,
            })
            .execute();
          out.created++;
        } else if (row.name !== g.name || row.dn !== g.dn) {
          await trx
            .updateTable('groups')
            .set((eb) => ({ name: g.name, dn: g.dn, updated_at: now, version: eb('version', '+', 1) }))
            .where('id', '=', row.id)
            .execute();
          out.updated++;
        }
      }
    });
    return out;
  }

  /** Make a group's members exactly `userIds`. */
  async setGroupMembers(tenantId: string, groupId: string, userIds: Set<string>): Promise<{ added: number; removed: number }> {
    return this.db.transaction().execute(async (trx) => {
      const current = new Set((await trx.selectFrom('group_members').select('user_id').where('group_id', '=', groupId).execute()).map((r) => r.user_id));
      const add = [...userIds].filter((u) => !current.has(u));
      const remove = [...current].filter((u) => !userIds.has(u));
      for (let i = 0; i < add.length; i += 500) {
        await trx
          .insertInto('group_members')
          .values(add.slice(i, i + 500).map((user_id) => ({ tenant_id: tenantId, group_id: groupId, user_id })))
          .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
          .execute();
      }
      for (let i = 0; i < remove.length; i += 500)
        await trx
          .deleteFrom('group_members')
          .where('group_id', '=', groupId)
          .where('user_id', 'in', remove.slice(i, i + 500))
          .execute();
      return { added: add.length, removed: remove.length };
    });
  }

  /** Make a user's memberships among the directory's groups exactly `groupIds` (AD memberOf). */
  async setUserDirectoryGroups(tenantId: string, directoryId: string, userId: string, groupIds: Set<string>): Promise<{ added: number; removed: number }> {
    return this.db.transaction().execute(async (trx) => {
      const current = new Set(
        (
          await trx
            .selectFrom('group_members')
            .innerJoin('groups', 'groups.id', 'group_members.group_id')
            .select('group_members.group_id')
            .where('group_members.user_id', '=', userId)
            .where('groups.directory_id', '=', directoryId)
            .execute()
        ).map((r) => r.group_id),
      );
      const add = [...groupIds].filter((g) => !current.has(g));
      const remove = [...current].filter((g) => !groupIds.has(g));
      if (add.length)
        await trx
          .insertInto('group_members')
          .values(add.map((group_id) => ({ tenant_id: tenantId, group_id, user_id: userId })))
          .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
          .execute();
      if (remove.length) await trx.deleteFrom('group_members').where('user_id', '=', userId).where('group_id', 'in', remove).execute();
      return { added: add.length, removed: remove.length };
    });
  }
}
