// LDAP / Active Directory directories (superadmin to change, admins and auditors read) and
// their sync (admins start one; everyone with read access follows it). Rules in
// directory/ldap/; SQL in storage/ldap.ts.
import { text } from '../../shared/input.ts';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import type { LdapDirectory, SyncRun } from '../../storage/ldap.ts';
import { DEFAULTS, prepareSettings, type DirectorySettings } from '../../directory/ldap/settings.ts';
import { LdapError } from '../../directory/ldap/client.ts';
import { directoryProblem } from '../../directory/health.ts';
import { GatehouseError } from '../../shared/errors.ts';
import { pageInMemory } from '../../storage/paging.ts';
import { listQuery, page, version } from '../schemas.ts';
import { route } from '../route.ts';
import { directory as directorySchema, directoryTest as testSchema, syncRun as runSchema, syncStatus } from '../shapes.ts';

const name = text().trim().min(1).max(100);
const password = z.string().min(1).max(1000);
const settingsBody = z
  .record(z.string(), z.unknown())
  .describe(
    'kind: ad|openldap, via?: direct|connector, urls, startTls?, allowPlain?, caCertificate?, bindDn, baseDns, userFilter?, groupFilter?, attributes?, syncIntervalMinutes?, fullSyncHours?, pageSize?, timeoutSeconds? (see docs/directory-sync.md)',
  );

/** An LDAP problem answered as 502 (the directory, not the request, is at fault) with what to do. */
const asHttp = (e: unknown) =>
  e instanceof LdapError ? new GatehouseError(502, `directory_${e.problem}`, `${e.message} ${e.fix}`.trim(), { problem: e.problem, fix: e.fix }) : e;

const runView = (run: SyncRun): z.input<typeof runSchema> => ({
  id: run.id,
  mode: run.mode,
  trigger: run.trigger,
  status: run.status,
  phase: run.progress.phase,
  users: run.progress.users,
  groups: run.progress.groups,
  memberships: run.progress.memberships,
  errorCount: run.progress.errorCount,
  errors: run.errors,
  message: run.message,
  startedAt: run.startedAt,
  finishedAt: run.finishedAt,
});
/** How many of the tenant's connectors are connected: asked once per answer, only when a directory is reached through them. */
const connectedCount = (services: Services, tenantId: string) => {
  let n: Promise<number> | undefined;
  return () => (n ??= services.connectorHub.status(tenantId).then((all) => all.filter((c) => c.status === 'connected').length));
};
async function view(services: Services, d: LdapDirectory, connected = connectedCount(services, d.tenantId)): Promise<z.input<typeof directorySchema>> {
  const [last] = await services.ldapStore.runs(d.id, 1);
  return {
    id: d.id,
    name: d.name,
    enabled: d.enabled,
    settings: d.settings,
    hasBindPassword: !!d.bindPasswordSealed,
    lastSyncAt: d.lastSyncAt,
    lastFullSyncAt: d.lastFullSyncAt,
    lastRun: last ? runView(last) : null,
    problem: directoryProblem(d, last, d.settings.via === 'connector' ? await connected() : 0),
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    version: d.version,
  };
}

const attributesSchema = directorySchema.shape.settings.shape.attributes;
const defaultsSchema = z.object({ userFilter: z.string(), groupFilter: z.string(), attributes: attributesSchema });

/** Settings sent over the saved ones (attributes merged too), checked as a whole. */
const merged = (d: LdapDirectory, changes: Record<string, unknown>): DirectorySettings =>
  prepareSettings({ ...d.settings, ...changes, attributes: { ...d.settings.attributes, ...(changes.attributes as object | undefined) } });

const EXAMPLE_SETTINGS = {
  kind: 'ad',
  urls: ['ldaps://dc1.example.com'],
  bindDn: 'CN=Gatehouse,OU=Service,DC=example,DC=com',
  baseDns: ['OU=Staff,DC=example,DC=com'],
};

export const directoryRoutes = [
  route({
    id: 'listDirectories',
    method: 'get',
    path: '/tenants/:slug/directories',
    tag: 'directories',
    access: ['admin', 'auditor'],
    summary: 'LDAP / Active Directory directories by name; search matches the name',
    description: '`defaults` gives the filters and attribute mapping each kind of directory gets unless its settings say otherwise.',
    query: listQuery,
    response: page(directorySchema).extend({ defaults: z.object({ ad: defaultsSchema, openldap: defaultsSchema }) }),
    async handler({ services, tenant, query }) {
      const all = [...(await services.ldapStore.list(tenant.id))].sort((a, b) => (a.name < b.name ? -1 : 1));
      const p = pageInMemory(
        all,
        query,
        (d) => d.name,
        (d) => [d.name],
      );
      const connected = connectedCount(services, tenant.id);
      return { items: await Promise.all(p.items.map((d) => view(services, d, connected))), nextCursor: p.nextCursor, defaults: DEFAULTS };
    },
  }),
  route({
    id: 'createDirectory',
    method: 'post',
    path: '/tenants/:slug/directories',
    tag: 'directories',
    access: [],
    status: 201,
    summary: 'Add an LDAP / Active Directory directory; the bind password is sealed and never shown',
    body: z.object({ name, enabled: z.boolean().default(true), bindPassword: password.optional(), settings: settingsBody }),
    example: { name: 'Corp AD', bindPassword: 'from the service account', settings: EXAMPLE_SETTINGS },
    response: directorySchema,
    async handler({ services, tenant, body, audit }) {
      const settings = prepareSettings(body.settings);
      const d = await services.ldapStore.create(tenant.id, {
        name: body.name,
        enabled: body.enabled,
        settings,
        bindPasswordSealed: body.bindPassword ? services.sealer.seal(body.bindPassword) : null,
      });
      await audit('admin.directory.created', d.id, { name: d.name, kind: settings.kind, via: settings.via, urls: settings.urls });
      return view(services, d);
    },
  }),
  route({
    id: 'testDirectorySettings',
    method: 'post',
    path: '/tenants/:slug/directories/test',
    tag: 'directories',
    access: [],
    summary: '"Test connection" for settings not saved yet; a directory that cannot be reached or refuses the bind is 502 directory_<problem>',
    body: z.object({ settings: settingsBody, bindPassword: password.optional() }),
    example: { settings: EXAMPLE_SETTINGS, bindPassword: 'from the service account' },
    response: testSchema,
    async handler({ services, tenant, body }) {
      const settings = prepareSettings(body.settings);
      try {
        return await services.ldapService.test(tenant.id, settings, body.bindPassword ? services.sealer.seal(body.bindPassword) : null);
      } catch (e) {
        throw asHttp(e);
      }
    },
  }),
  route({
    id: 'getDirectory',
    method: 'get',
    path: '/tenants/:slug/directories/:directory',
    tag: 'directories',
    access: ['admin', 'auditor'],
    summary: 'Show a directory, with its last sync',
    response: directorySchema,
    async handler({ services, tenant, params }) {
      return view(services, await services.ldapStore.get(tenant.id, params.directory));
    },
  }),
  route({
    id: 'updateDirectory',
    method: 'patch',
    path: '/tenants/:slug/directories/:directory',
    tag: 'directories',
    access: [],
    versioned: true,
    summary: 'Change a directory: name, enabled, bind password (null removes it), settings (merged, checked as a whole)',
    body: z.object({
      name: name.optional(),
      enabled: z.boolean().optional(),
      bindPassword: password.nullable().optional(),
      settings: settingsBody.optional(),
      version,
    }),
    example: { enabled: false },
    response: directorySchema,
    async handler({ services, tenant, params, body, version: v, audit }) {
      const d = await services.ldapStore.get(tenant.id, params.directory);
      const settings = body.settings ? merged(d, body.settings) : undefined;
      const updated = await services.ldapStore.update(tenant.id, d.id, v, {
        name: body.name,
        enabled: body.enabled,
        settings,
        ...(body.bindPassword !== undefined && { bindPasswordSealed: body.bindPassword === null ? null : services.sealer.seal(body.bindPassword) }),
      });
      await audit('admin.directory.updated', d.id, {
        name: updated.name,
        changes: [...Object.keys(body).filter((k) => k !== 'version' && k !== 'settings'), ...Object.keys(body.settings ?? {})],
      });
      return view(services, updated);
    },
  }),
  route({
    id: 'deleteDirectory',
    method: 'delete',
    path: '/tenants/:slug/directories/:directory',
    tag: 'directories',
    access: [],
    summary: 'Delete a directory (its users and groups become local)',
    response: z.void(),
    async handler({ services, tenant, params, audit }) {
      const d = await services.ldapStore.get(tenant.id, params.directory);
      await services.ldapStore.delete(tenant.id, d.id);
      await audit('admin.directory.deleted', d.id, { name: d.name });
    },
  }),
  route({
    id: 'testDirectory',
    method: 'post',
    path: '/tenants/:slug/directories/:directory/test',
    tag: 'directories',
    access: ['admin'],
    summary: '"Test connection" with the saved settings, or (superadmin) with changes not saved yet',
    description:
      'With a body, `settings` are merged over the saved ones as PATCH does and `bindPassword` replaces the saved one, without saving anything (the console tests an edit before it is saved). Only a superadmin may send changes: the saved password must not be sent to a directory an administrator names.',
    body: z.object({ settings: settingsBody.optional(), bindPassword: password.optional() }),
    example: {},
    response: testSchema,
    async handler({ services, tenant, params, body, admin }) {
      const d = await services.ldapStore.get(tenant.id, params.directory);
      const changed = !!body.settings || body.bindPassword !== undefined;
      if (changed && !admin.roles.includes('superadmin'))
        throw new GatehouseError(403, 'forbidden', 'Only a superadministrator may test changed settings; test the saved ones without a body.');
      const settings = body.settings ? merged(d, body.settings) : d.settings;
      const sealed = body.bindPassword !== undefined ? services.sealer.seal(body.bindPassword) : d.bindPasswordSealed;
      try {
        return await services.ldapService.test(tenant.id, settings, sealed);
      } catch (e) {
        throw asHttp(e);
      }
    },
  }),
  route({
    id: 'startDirectorySync',
    method: 'post',
    path: '/tenants/:slug/directories/:directory/sync',
    tag: 'directories',
    access: ['admin'],
    summary: 'Start a sync: 202 with the run, or with "wait": true 200 when it is done; 409 while one runs',
    body: z.object({ mode: z.enum(['full', 'incremental']).default('incremental'), wait: z.boolean().default(false) }),
    example: { mode: 'full', wait: true },
    response: runSchema,
    accepted: true,
    async handler({ services, tenant, params, body, audit, accepted }) {
      const d = await services.ldapStore.get(tenant.id, params.directory);
      const run = body.wait ? await services.ldapService.syncNow(d, body.mode, 'admin') : await services.ldapService.startSync(d, body.mode, 'admin');
      await audit('admin.directory.sync_started', d.id, { name: d.name, mode: run.mode });
      if (!body.wait) accepted(); // it runs on: 202 with the run as it started
      return runView(run);
    },
  }),
  route({
    id: 'getDirectorySync',
    method: 'get',
    path: '/tenants/:slug/directories/:directory/sync',
    tag: 'directories',
    access: ['admin', 'auditor'],
    summary: 'Sync progress: the running sync (if any) and the last ten, with counts and errors',
    response: syncStatus,
    async handler({ services, tenant, params }) {
      const d = await services.ldapStore.get(tenant.id, params.directory);
      const runs = await services.ldapStore.runs(d.id, 10);
      const running = runs.find((x) => x.status === 'running');
      return { running: running ? runView(running) : null, runs: runs.map(runView), lastSyncAt: d.lastSyncAt, lastFullSyncAt: d.lastFullSyncAt };
    },
  }),
];
