// LDAP / Active Directory directories of a tenant: settings, "test connection", full and
// incremental sync (on the scheduler's leader and on demand), and sign-in by binding as the
// user. The directory is reached directly or through the tenant's connectors (connector/).
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Sealer } from '../../shared/crypto.ts';
import type { TenantStore } from '../../storage/tenants.ts';
import type { UserStore } from '../../storage/users.ts';
import type { LdapStore } from '../../storage/ldap.ts';
import type { AuditStore } from '../../storage/audit.ts';
import type { SessionService } from '../../sessions/sessions.ts';
import type { ConnectorHub } from '../connector/hub.ts';
import type { Tenant } from '../../storage/tenants.ts';
import type { UserWithSecret } from '../../storage/users.ts';
import { emptyProgress, type LdapDirectory, type SyncRun, type SyncedUser } from '../../storage/ldap.ts';
import { GatehouseError, conflict } from '../../shared/errors.ts';
import { ago } from '../../shared/time.ts';
import { authenticate, LdapError, searchPages, testConnection, type BindResult, type SearchRequest, type TestReport } from './client.ts';
import {
  changedSince,
  escapeFilterValue,
  firstValue,
  laterMark,
  normalizeDn,
  userAttributes,
  userProfile,
  values,
  type DirectoryProfile,
  type PlainEntry,
} from './mapping.ts';
import type { Connection, DirectorySettings } from './settings.ts';

const MAX_ERRORS = 100;
const email = z.email();

/** How Gatehouse reaches one directory: itself, or through a connector. The same three operations either way. */
export interface DirectoryLink {
  test(q: Parameters<typeof testConnection>[1]): Promise<TestReport & { via: string }>;
  search(req: SearchRequest): AsyncGenerator<PlainEntry[]>;
  authenticate(dn: string, password: string): Promise<BindResult>;
}

export interface LdapServiceDeps {
  logger: Logger;
  sealer: Sealer;
  tenantStore: TenantStore;
  userStore: UserStore;
  ldapStore: LdapStore;
  auditStore: AuditStore;
  /** Users a sync disables are signed out everywhere. */
  sessionService: Pick<SessionService, 'endAllForUser'>;
  /** Directories reached through an on-premises connector. */
  connectorHub: ConnectorHub;
}

export class LdapService {
  readonly #deps: LdapServiceDeps;
  /** Syncs running in this process (waited for at shutdown). */
  readonly #running = new Map<string, Promise<void>>();
  constructor(deps: LdapServiceDeps) {
    this.#deps = deps;
  }

  connection(settings: DirectorySettings, bindPasswordSealed: string | null): Connection {
    return {
      urls: settings.urls,
      startTls: settings.startTls,
      allowPlain: settings.allowPlain,
      caCertificate: settings.caCertificate,
      bindDn: settings.bindDn,
      bindPassword: bindPasswordSealed ? this.#deps.sealer.open(bindPasswordSealed) : '',
      timeoutSeconds: settings.timeoutSeconds,
    };
  }

  link(tenantId: string, settings: DirectorySettings, bindPasswordSealed: string | null): DirectoryLink {
    const conn = this.connection(settings, bindPasswordSealed);
    const kind = settings.kind;
    if (settings.via === 'direct') {
      return {
        test: async (q) => ({ ...(await testConnection(conn, q)), via: 'direct' }),
        search: (req) => searchPages(conn, req),
        authenticate: (dn, password) => authenticate(conn, kind, dn, password),
      };
    }
    const hub = this.#deps.connectorHub;
    const wait = conn.timeoutSeconds * 3000 + 5000;
    return {
      test: async (q) => {
        const r = await hub.call<TestReport>(tenantId, 'ldap.test', { conn, q }, wait);
        return { ...r.result, via: r.via };
      },
      authenticate: async (dn, password) => (await hub.call<BindResult>(tenantId, 'ldap.authenticate', { conn, kind, dn, password }, wait)).result,
      async *search(req) {
        // A page at a time, pinned to the connector that holds the search; if it drops, the
        // search starts over through another (the sync's writes are idempotent).
        for (let attempt = 0; ; attempt++) {
          let via: string | undefined;
          let open: string | null = null;
          try {
            type Page = { cursor: string | null; entries: PlainEntry[] };
            const first = await hub.call<Page>(tenantId, 'ldap.search.open', { conn, req }, wait * 4);
            via = first.via;
            let page = first.result;
            for (;;) {
              open = page.cursor;
              yield page.entries;
              if (!page.cursor) return;
              page = (await hub.call<Page>(tenantId, 'ldap.search.next', { cursor: page.cursor }, wait * 4, via)).result;
            }
          } catch (e) {
            open = null;
            // (no_connector: the connector holding the search left between two pages.)
            if (attempt >= 2 || !(e instanceof LdapError && (e.problem === 'connector' || e.problem === 'no_connector')) || !(await hub.available(tenantId)))
              throw e;
          } finally {
            // Left before its last page (a look-up that needs only the first): the connector can let it go.
            if (open && via) void hub.call(tenantId, 'ldap.search.close', { cursor: open }, 5000, via).catch(() => {});
          }
        }
      },
    };
  }

  linkOf(dir: LdapDirectory): DirectoryLink {
    return this.link(dir.tenantId, dir.settings, dir.bindPasswordSealed);
  }

  /** "Test connection": connect, bind, and count what the filters find under each base DN. */
  async test(
    tenantId: string,
    settings: DirectorySettings,
    bindPasswordSealed: string | null,
  ): Promise<TestReport & { via: string; ok: boolean; message: string }> {
    const a = settings.attributes;
    const r = await this.link(tenantId, settings, bindPasswordSealed).test({
      baseDns: settings.baseDns,
      userFilter: settings.userFilter,
      groupFilter: settings.groupFilter,
      emailAttributes: [a.email, a.emailFallback].filter((x): x is string => !!x),
    });
    const users = r.bases.reduce((n, b) => n + b.users, 0);
    const groups = r.bases.reduce((n, b) => n + b.groups, 0);
    const problems = r.bases.filter((b) => b.problem).map((b) => b.problem);
    const ok = problems.length === 0 && users > 0;
    const message = problems.length
      ? problems.join(' ')
      : users === 0
        ? `Connected to ${r.url} and bound as ${settings.bindDn}, but the user filter ${settings.userFilter} found no users under ${settings.baseDns.join('; ')}. Check the base DNs and the user filter.`
        : `Connected to ${r.url}${r.via === 'direct' ? '' : ' through a connector'} and bound as ${settings.bindDn}: found ${users >= 1000 ? 'at least ' : ''}${users} users and ${groups} groups.`;
    return { ...r, ok, message };
  }

  // ---- sync
  /** Start a sync in the background; refused while one is running. */
  async startSync(dir: LdapDirectory, mode: SyncRun['mode'], trigger: SyncRun['trigger']): Promise<SyncRun> {
    // An incremental sync needs a previous one to start from.
    const effective = mode === 'incremental' && !dir.syncMarks.users ? 'full' : mode;
    const r = await this.#deps.ldapStore.startRun(dir, effective, trigger);
    if ('running' in r)
      throw conflict(
        `A ${r.running.mode} sync of ${dir.name} is already running (started ${ago(r.running.startedAt)}). Follow it with GET .../sync, and start another when it is done.`,
      );
    const p = this.#run(dir, r)
      .catch((err) => this.#deps.logger.error({ err, directory: dir.id }, 'directory sync crashed'))
      .finally(() => this.#running.delete(r.id));
    this.#running.set(r.id, p);
    return r;
  }

  /** Run a sync to its end (CLI-less callers and the scheduler). */
  async syncNow(dir: LdapDirectory, mode: SyncRun['mode'], trigger: SyncRun['trigger']): Promise<SyncRun> {
    const run = await this.startSync(dir, mode, trigger);
    await this.#running.get(run.id);
    return (await this.#deps.ldapStore.run(dir.id, run.id))!;
  }

  async #run(dir: LdapDirectory, run: SyncRun): Promise<void> {
    const deps = this.#deps;
    const store = deps.ldapStore;
    const s = dir.settings;
    const map = s.attributes;
    const full = run.mode === 'full';
    const seenAt = full ? run.startedAt : null;
    const marks = full ? {} : dir.syncMarks;
    const link = this.linkOf(dir);
    const progress = emptyProgress();
    const errors: SyncRun['errors'] = [];
    const problem = (dn: string, message: string) => {
      progress.errorCount++;
      if (errors.length < MAX_ERRORS) errors.push({ dn, message });
    };
    const report = () => store.reportRun(run.id, { progress, errors });
    const newMarks: LdapDirectory['syncMarks'] = { ...dir.syncMarks };
    const disabled = new Set<string>();
    const ous = new Map<string, string>();
    const domains = new Set<string>();
    try {
      // 1. Groups (their members are resolved once the users are in).
      progress.phase = 'groups';
      const groupMembers = new Map<string, string[]>();
      const groupFilter = marks.groups ? `(&${s.groupFilter}${changedSince(map.changeMarker, marks.groups)})` : s.groupFilter;
      let groupMark = marks.groups;
      for (const base of s.baseDns) {
        for await (const page of link.search({
          base,
          filter: groupFilter,
          attributes: [map.externalId, map.groupName, map.member, map.changeMarker],
          pageSize: s.pageSize,
        })) {
          const groups = [];
          for (const e of page) {
            const externalId = firstValue(e, map.externalId);
            const name = firstValue(e, map.groupName);
            if (!externalId || !name) {
              problem(e.dn, `has no ${!externalId ? map.externalId : map.groupName}; skipped.`);
              continue;
            }
            const dn = normalizeDn(e.dn);
            groups.push({ externalId, dn, name: name.slice(0, 200) });
            groupMembers.set(dn, values(e, map.member).map(normalizeDn));
            groupMark = laterMark(map.changeMarker, groupMark, firstValue(e, map.changeMarker));
          }
          const r = await store.upsertGroups(dir.tenantId, dir.id, groups);
          progress.groups.seen += groups.length;
          progress.groups.created += r.created;
          progress.groups.updated += r.updated;
          for (const p of r.problems) problem(p.dn, p.message);
          await report();
        }
      }

      // 2. Users, a page at a time.
      progress.phase = 'users';
      await report(); // the status names the phase at once, not after its first page
      const userFilter = marks.users ? `(&${s.userFilter}${changedSince(map.changeMarker, marks.users)})` : s.userFilter;
      const memberOf = new Map<string, string[]>();
      let userMark = marks.users;
      for (const base of s.baseDns) {
        for await (const page of link.search({ base, filter: userFilter, attributes: userAttributes(s.kind, map), pageSize: s.pageSize })) {
          const batch: SyncedUser[] = [];
          for (const e of page) {
            userMark = laterMark(map.changeMarker, userMark, firstValue(e, map.changeMarker));
            const p = userProfile(s.kind, map, e);
            if ('problem' in p) {
              progress.users.skipped++;
              problem(e.dn, `${p.problem}; skipped.`);
              continue;
            }
            if (!p.email || !email.safeParse(p.email).success) {
              progress.users.skipped++;
              problem(e.dn, `has no usable email (${[map.email, map.emailFallback].filter(Boolean).join(' or ')}), which people sign in with; skipped.`);
              continue;
            }
            batch.push(await this.#synced(dir.tenantId, { ...p, email: p.email }, ous, domains));
            if (map.memberOf) memberOf.set(p.dn, p.memberOf);
          }
          const r = await store.upsertUsers(dir.tenantId, dir.id, batch, seenAt);
          progress.users.seen += page.length;
          progress.users.created += r.created;
          progress.users.updated += r.updated;
          progress.users.unchanged += r.unchanged;
          progress.users.skipped += r.problems.length;
          for (const id of r.disabledIds) disabled.add(id);
          for (const p of r.problems) problem(p.dn, p.message);
          await report();
        }
      }

      // 3. Memberships: each changed user's memberOf, then each changed group's members (a group's own list wins).
      progress.phase = 'memberships';
      await report();
      if (memberOf.size || groupMembers.size) {
        const userIds = await store.userIdsByDn(dir.id);
        const groupIds = await store.groupIdsByDn(dir.id);
        for (const [dn, groups] of memberOf) {
          const uid = userIds.get(dn);
          if (!uid) continue;
          const r = await store.setUserDirectoryGroups(dir.tenantId, dir.id, uid, new Set(groups.map((g) => groupIds.get(g)).filter((g): g is string => !!g)));
          progress.memberships.added += r.added;
          progress.memberships.removed += r.removed;
        }
        for (const [dn, members] of groupMembers) {
          const gid = groupIds.get(dn);
          if (!gid) continue;
          const r = await store.setGroupMembers(dir.tenantId, gid, new Set(members.map((m) => userIds.get(m)).filter((u): u is string => !!u)));
          progress.memberships.added += r.added;
          progress.memberships.removed += r.removed;
        }
      }

      // 4. A full sync also finds who is gone from the directory (or out of its filters).
      if (full) {
        progress.phase = 'cleanup';
        await report();
        for (const id of await store.disableUnseen(dir.id, run.startedAt)) disabled.add(id);
      }
      progress.users.disabled = disabled.size;
      await this.endSessions(dir.tenantId, [...disabled], `disabled in the directory ${dir.name}`);
      newMarks.users = userMark;
      newMarks.groups = groupMark;
      await store.saveMarks(dir.id, newMarks, full, run.startedAt);
      progress.phase = 'done';
      const u = progress.users;
      const message = `${full ? 'Full' : 'Incremental'} sync done: ${u.seen} users read (${u.created} new, ${u.updated} changed, ${u.disabled} disabled, ${u.skipped} skipped), ${progress.groups.seen} groups.`;
      await store.reportRun(run.id, { progress, errors, status: 'succeeded', message });
      await deps.auditStore.record({
        tenantId: dir.tenantId,
        type: 'directory.synced',
        subject: dir.id,
        data: { name: dir.name, mode: run.mode, trigger: run.trigger, ...progress.users, groups: progress.groups.seen, errors: progress.errorCount },
      });
    } catch (e) {
      const message = e instanceof LdapError ? `${e.message} ${e.fix}` : `The sync stopped: ${(e as Error).message}`;
      // What was written stays (each page is whole); the next sync starts from the last saved marks.
      if (disabled.size) await this.endSessions(dir.tenantId, [...disabled], `disabled in the directory ${dir.name}`).catch(() => {});
      await store.reportRun(run.id, { progress, errors, status: 'failed', message }).catch(() => {});
      await deps.auditStore.record({
        tenantId: dir.tenantId,
        type: 'directory.sync_failed',
        level: 'error',
        subject: dir.id,
        data: { name: dir.name, mode: run.mode, message },
      });
    } finally {
      await store.pruneRuns(dir.id).catch(() => {});
    }
  }

  /** A user as the store keeps it: the domain (from the DN, else the email) and the OU created as they are met (`ous`, `domains`: what this run made already). */
  async #synced(tenantId: string, p: DirectoryProfile & { email: string }, ous: Map<string, string>, domains: Set<string>): Promise<SyncedUser> {
    const domain = p.domain ?? p.email.slice(p.email.lastIndexOf('@') + 1);
    if (!domains.has(domain)) {
      await this.#deps.userStore.ensureDomain(tenantId, domain);
      domains.add(domain);
    }
    let ouId: string | null = null;
    if (p.ouPath) {
      ouId = ous.get(p.ouPath) ?? null;
      if (!ouId) {
        ouId = (await this.#deps.userStore.ensureOu(tenantId, p.ouPath)).id;
        ous.set(p.ouPath, ouId);
      }
    }
    return {
      externalId: p.externalId,
      dn: p.dn,
      email: p.email,
      username: p.username,
      domain,
      givenName: p.givenName,
      familyName: p.familyName,
      status: p.disabled ? 'disabled' : 'active',
      ouId,
    };
  }

  /** End the SSO sessions of users the directory disabled or removed (back-channel logout to their apps). */
  async endSessions(tenantId: string, userIds: string[], reason: string): Promise<void> {
    if (!userIds.length) return;
    const tenant = await this.#deps.tenantStore.byId(tenantId);
    for (const id of userIds) {
      if (tenant)
        await this.#deps.sessionService
          .endAllForUser(tenant, id, { by: 'directory sync', why: reason })
          .catch((err: unknown) => this.#deps.logger.warn({ err, userId: id }, 'could not end the sessions of a disabled directory user'));
      await this.#deps.auditStore.record({ tenantId, type: 'directory.user_disabled', level: 'warn', subject: id, data: { reason } });
    }
  }

  /** The scheduler (on the leader): incremental syncs every syncIntervalMinutes, a full one every fullSyncHours. */
  async scheduled(now = Date.now()): Promise<number> {
    let started = 0;
    for (const dir of await this.#deps.ldapStore.listEnabled()) {
      const s = dir.settings;
      const fullDue = !dir.lastFullSyncAt || now - dir.lastFullSyncAt >= s.fullSyncHours * 3600_000;
      const incDue = s.syncIntervalMinutes > 0 && (!dir.lastSyncAt || now - dir.lastSyncAt >= s.syncIntervalMinutes * 60_000);
      if (!fullDue && !incDue) continue;
      try {
        await this.startSync(dir, fullDue ? 'full' : 'incremental', 'schedule');
        started++;
      } catch (e) {
        if (!(e instanceof GatehouseError && e.status === 409)) this.#deps.logger.warn({ err: e, directory: dir.id }, 'scheduled directory sync did not start');
      }
    }
    return started;
  }

  // ---- sign-in
  /** Check a directory user's password against the directory (a bind as them). */
  async checkPassword(tenant: Tenant, user: UserWithSecret, password: string): Promise<BindResult | { unavailable: string }> {
    const dir = user.directoryId ? await this.#deps.ldapStore.byId(tenant.id, user.directoryId) : undefined;
    if (!dir || !user.dn) return 'bad_credentials';
    if (!dir.enabled) return { unavailable: `The directory ${dir.name} is turned off in Gatehouse.` };
    try {
      return await this.linkOf(dir).authenticate(user.dn, password);
    } catch (e) {
      const message = e instanceof LdapError ? `${e.message} ${e.fix}` : (e as Error).message;
      await this.#deps.auditStore.record({
        tenantId: tenant.id,
        type: 'directory.unavailable',
        level: 'error',
        subject: dir.id,
        data: { name: dir.name, message },
      });
      return { unavailable: message };
    }
  }

  /**
   * Someone not synced yet signs in (a new hire before the next sync): look them up by email
   * in the tenant's directories and, when exactly one entry has it, create them as a sync
   * would (domain, OU, groups), so the password can then be checked by a bind as usual.
   */
  async findAtSignIn(tenant: Tenant, address: string): Promise<UserWithSecret | { unavailable: string } | undefined> {
    const wanted = address.trim().toLowerCase();
    if (!email.safeParse(wanted).success) return undefined;
    const dirs = (await this.#deps.ldapStore.list(tenant.id)).filter((d) => d.enabled);
    let unavailable: string | undefined;
    for (const dir of dirs) {
      const s = dir.settings;
      const map = s.attributes;
      const link = this.linkOf(dir);
      const value = escapeFilterValue(wanted);
      const filter = `(&${s.userFilter}(|(${map.email}=${value})${map.emailFallback ? `(${map.emailFallback}=${value})` : ''}))`;
      try {
        const found: PlainEntry[] = [];
        for (const base of s.baseDns) {
          for await (const page of link.search({ base, filter, attributes: userAttributes(s.kind, map), pageSize: 10 })) {
            found.push(...page);
            break;
          }
        }
        // The email people sign in with is the mapped one (mail, else the fallback): it must be this one.
        const matches = found.map((e) => ({ e, p: userProfile(s.kind, map, e) })).filter((m) => !('problem' in m.p) && m.p.email === wanted);
        if (matches.length !== 1) {
          if (matches.length > 1)
            this.#deps.logger.warn(
              { directory: dir.id, entries: matches.length },
              'several directory entries have the email someone signs in with; none is used until that is resolved',
            );
          continue;
        }
        const { e, p } = matches[0]! as { e: PlainEntry; p: DirectoryProfile & { email: string } };
        // Seen now: a full sync running meanwhile (which did not see them) does not disable them.
        const r = await this.#deps.ldapStore.upsertUsers(tenant.id, dir.id, [await this.#synced(tenant.id, p, new Map(), new Set())], Date.now());
        const user = await this.#deps.userStore.userByEmail(tenant.id, wanted);
        if (!user || user.directoryId !== dir.id) {
          for (const x of r.problems) this.#deps.logger.warn({ directory: dir.id, dn: x.dn }, x.message);
          continue;
        }
        // Their groups among those synced: the entry's memberOf, or the groups whose member list has them.
        let groupDns = p.memberOf;
        if (!map.memberOf) {
          groupDns = [];
          for (const base of s.baseDns) {
            for await (const page of link.search({
              base,
              filter: `(&${s.groupFilter}(${map.member}=${escapeFilterValue(e.dn)}))`,
              attributes: [map.groupName],
              pageSize: 500,
            }))
              groupDns.push(...page.map((g) => normalizeDn(g.dn)));
          }
        }
        if (groupDns.length) {
          const ids = await this.#deps.ldapStore.groupIdsByDn(dir.id);
          await this.#deps.ldapStore.setUserDirectoryGroups(
            tenant.id,
            dir.id,
            user.id,
            new Set(groupDns.map((g) => ids.get(g)).filter((g): g is string => !!g)),
          );
        }
        await this.#deps.auditStore.record({
          tenantId: tenant.id,
          type: 'directory.user_found',
          subject: user.id,
          data: { name: dir.name, email: wanted, dn: p.dn },
        });
        return user;
      } catch (err) {
        if (!(err instanceof LdapError)) throw err;
        unavailable = `${err.message} ${err.fix}`;
        await this.#deps.auditStore.record({
          tenantId: tenant.id,
          type: 'directory.unavailable',
          level: 'error',
          subject: dir.id,
          data: { name: dir.name, message: unavailable },
        });
      }
    }
    return unavailable ? { unavailable } : undefined;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#running.values()]);
  }
}
