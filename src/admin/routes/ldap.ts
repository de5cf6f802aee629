// LDAP / Active Directory directories (superadmin to change, admins and auditors read),
// their sync (admins start one, everyone with read access follows it), and the tenant's
// on-premises connectors (provisioning codes, status, revocation).
import type Router from '@koa/router';
import { z } from 'zod';
import type { Context } from '../../context.ts';
import type { LdapDirectory, SyncRun } from '../../storage/ldap.ts';
import { prepareSettings } from '../../directory/ldap/settings.ts';
import { LdapError } from '../../directory/ldap/client.ts';
import { CODE_TTL_MS } from '../../directory/connector/protocol.ts';
import { GatehouseError } from '../../shared/errors.ts';
import { audited, expectedVersion, guard, parse } from '../common.ts';

const name = z.string().trim().min(1).max(100);
const password = z.string().min(1).max(1000);
const createBody = z.object({ name, enabled: z.boolean().default(true), bindPassword: password.optional(), settings: z.record(z.string(), z.unknown()) });
const patchBody = z.object({ name: name.optional(), enabled: z.boolean().optional(), bindPassword: password.nullable().optional(), settings: z.record(z.string(), z.unknown()).optional(), version: z.number().int().optional() });
const testBody = z.object({ settings: z.record(z.string(), z.unknown()), bindPassword: password.optional() });
const syncBody = z.object({ mode: z.enum(['full', 'incremental']).default('incremental'), wait: z.boolean().default(false) });

/** An LDAP problem answered as 502 (the directory, not the request, is at fault) with what to do. */
const asHttp = (e: unknown) => e instanceof LdapError ? new GatehouseError(502, `directory_${e.problem}`, `${e.message} ${e.fix}`.trim(), { problem: e.problem, fix: e.fix }) : e;

export function ldapRoutes(app: Context, r: Router) {
  const runView = (run: SyncRun | undefined | null) => run && {
    id: run.id, mode: run.mode, trigger: run.trigger, status: run.status, phase: run.progress.phase, users: run.progress.users, groups: run.progress.groups,
    memberships: run.progress.memberships, errorCount: run.progress.errorCount, errors: run.errors, message: run.message, startedAt: run.startedAt, finishedAt: run.finishedAt,
  };
  const view = async (d: LdapDirectory) => {
    const [last] = await app.ldapStore.runs(d.id, 1);
    return {
      id: d.id, name: d.name, enabled: d.enabled, settings: d.settings, hasBindPassword: !!d.bindPasswordSealed, lastSyncAt: d.lastSyncAt, lastFullSyncAt: d.lastFullSyncAt,
      lastRun: runView(last) ?? null, createdAt: d.createdAt, updatedAt: d.updatedAt, version: d.version,
    };
  };

  r.get('/tenants/:slug/directories', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'auditor']);
    ctx.body = { items: await Promise.all((await app.ldapStore.list(tenant.id)).map(view)), nextCursor: null };
  });

  r.post('/tenants/:slug/directories', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, []);
    const input = parse(createBody, ctx.request.body);
    const settings = prepareSettings(input.settings);
    const d = await app.ldapStore.create(tenant.id, { name: input.name, enabled: input.enabled, settings, bindPasswordSealed: input.bindPassword ? app.sealer.seal(input.bindPassword) : null });
    await audited(app, admin, tenant.id, 'admin.directory.created', d.id, { name: d.name, kind: settings.kind, via: settings.via, urls: settings.urls }, ctx.ip);
    ctx.status = 201;
    ctx.body = await view(d);
  });

  // "Test connection" for settings not saved yet (the password as typed, or the saved one's).
  r.post('/tenants/:slug/directories/test', async (ctx) => {
    const { tenant } = await guard(app, ctx, []);
    const input = parse(testBody, ctx.request.body);
    const settings = prepareSettings(input.settings);
    try { ctx.body = await app.ldap.test(tenant.id, settings, input.bindPassword ? app.sealer.seal(input.bindPassword) : null); } catch (e) { throw asHttp(e); }
  });

  r.get('/tenants/:slug/directories/:id', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'auditor']);
    ctx.body = await view(await app.ldapStore.get(tenant.id, ctx.params.id!));
  });

  r.patch('/tenants/:slug/directories/:id', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, []);
    const input = parse(patchBody, ctx.request.body);
    const d = await app.ldapStore.get(tenant.id, ctx.params.id!);
    // Settings are checked as a whole: the fields sent over the current ones (attributes merged too).
    const settings = input.settings ? prepareSettings({ ...d.settings, ...input.settings, attributes: { ...d.settings.attributes, ...(input.settings.attributes as object | undefined) } }) : undefined;
    const updated = await app.ldapStore.update(tenant.id, d.id, expectedVersion(ctx, input), {
      name: input.name, enabled: input.enabled, settings,
      ...(input.bindPassword !== undefined && { bindPasswordSealed: input.bindPassword === null ? null : app.sealer.seal(input.bindPassword) }),
    });
    await audited(app, admin, tenant.id, 'admin.directory.updated', d.id, { name: updated.name, changes: [...Object.keys(input).filter((k) => k !== 'version' && k !== 'settings'), ...Object.keys(input.settings ?? {})] }, ctx.ip);
    ctx.body = await view(updated);
  });

  r.delete('/tenants/:slug/directories/:id', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, []);
    const d = await app.ldapStore.get(tenant.id, ctx.params.id!);
    await app.ldapStore.delete(tenant.id, d.id);
    await audited(app, admin, tenant.id, 'admin.directory.deleted', d.id, { name: d.name }, ctx.ip);
    ctx.status = 204;
  });

  r.post('/tenants/:slug/directories/:id/test', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin']);
    const d = await app.ldapStore.get(tenant.id, ctx.params.id!);
    try { ctx.body = await app.ldap.test(tenant.id, d.settings, d.bindPasswordSealed); } catch (e) { throw asHttp(e); }
  });

  // Start a sync now; with "wait": true the answer comes when it is done.
  r.post('/tenants/:slug/directories/:id/sync', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin']);
    const input = parse(syncBody, ctx.request.body);
    const d = await app.ldapStore.get(tenant.id, ctx.params.id!);
    const run = input.wait ? await app.ldap.syncNow(d, input.mode, 'admin') : await app.ldap.startSync(d, input.mode, 'admin');
    await audited(app, admin, tenant.id, 'admin.directory.sync_started', d.id, { name: d.name, mode: run.mode }, ctx.ip);
    ctx.status = input.wait ? 200 : 202;
    ctx.body = runView(run);
  });

  // Progress: the running sync (if any) and the last ones, with counts and errors.
  r.get('/tenants/:slug/directories/:id/sync', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'auditor']);
    const d = await app.ldapStore.get(tenant.id, ctx.params.id!);
    const runs = await app.ldapStore.runs(d.id, 10);
    ctx.body = { running: runView(runs.find((x) => x.status === 'running')) ?? null, runs: runs.map(runView), lastSyncAt: d.lastSyncAt, lastFullSyncAt: d.lastFullSyncAt };
  });

  // ---- connectors
  r.post('/tenants/:slug/connectors/codes', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, []);
    const { code, expiresAt } = await app.connectors.newCode(tenant.id, admin.email);
    await audited(app, admin, tenant.id, 'admin.connector.code_created', null, { expiresAt: new Date(expiresAt).toISOString() }, ctx.ip);
    ctx.status = 201;
    ctx.body = { enterpriseId: tenant.slug, code, expiresAt, validSeconds: CODE_TTL_MS / 1000, url: app.config.publicUrl };
  });

  r.get('/tenants/:slug/connectors', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'auditor']);
    ctx.body = { items: await app.connectors.status(tenant.id), nextCursor: null };
  });

  r.delete('/tenants/:slug/connectors/:id', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, []);
    const c = await app.connectors.revoke(tenant.id, ctx.params.id!);
    await audited(app, admin, tenant.id, 'admin.connector.revoked', c.id, { name: c.name }, ctx.ip);
    ctx.status = 204;
  });
}
