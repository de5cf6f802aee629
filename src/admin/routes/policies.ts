// User policies (admins): listed in precedence order; the effective policy of a user.
import Router from '@koa/router';
import { z } from 'zod';
import type { Context } from '../../context.ts';
import type { Tenant } from '../../storage/tenants.ts';
import { policySettings, type UserPolicy } from '../../policy/policies.ts';
import { audited, expectedVersion, guard, parse } from '../common.ts';

const target = z.object({ type: z.enum(['all', 'user', 'group', 'ou', 'domain']), ref: z.string().min(1).max(500).optional() });
const fields = {
  name: z.string().trim().min(1).max(100),
  priority: z.number().int().min(1).max(10_000),
  targets: z.array(target).max(1000),
};
const createBody = z.object({ ...fields, targets: fields.targets.default([]), settings: policySettings.default(policySettings.parse({})) });
const patchBody = z.object({
  name: fields.name.optional(), priority: fields.priority.optional(), targets: fields.targets.optional(), version: z.number().int().optional(),
  // Only the settings sent; merged into the current ones and checked as a whole.
  settings: z.record(z.string(), z.unknown()).optional(),
});

export function policyRoutes(app: Context, r: Router) {
  const view = async (tenant: Tenant, p: UserPolicy) => ({
    id: p.id, name: p.name, priority: p.priority, settings: p.settings, version: p.version, createdAt: p.createdAt, updatedAt: p.updatedAt,
    targets: await Promise.all(p.targets.map(async (t) => ({ ...t, label: t.type === 'all' ? 'all users' : await app.appService.targetLabel(tenant.id, t as { type: 'user' | 'group' | 'ou' | 'domain'; id: string }) }))),
  });

  r.get('/tenants/:slug/policies', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'helpdesk', 'auditor']);
    const items = [];
    for (const p of await app.policies.list(tenant.id)) items.push(await view(tenant, p));
    ctx.body = { items, nextCursor: null, precedence: 'The first policy, by priority (1 first), with a target that matches a user applies to them; users no policy matches get the defaults.' };
  });

  r.post('/tenants/:slug/policies', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin']);
    const input = parse(createBody, ctx.request.body);
    const created = await app.policies.create(tenant.id, { ...input, targets: await app.policies.resolveTargets(tenant.id, input.targets) });
    await audited(app, admin, tenant.id, 'admin.policy.created', created.id, { name: created.name, priority: created.priority }, ctx.ip);
    ctx.status = 201;
    ctx.body = await view(tenant, created);
  });

  r.get('/tenants/:slug/policies/:id', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'helpdesk', 'auditor']);
    ctx.body = await view(tenant, await app.policies.get(tenant.id, ctx.params.id!));
  });

  r.patch('/tenants/:slug/policies/:id', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin']);
    const input = parse(patchBody, ctx.request.body);
    const current = await app.policies.get(tenant.id, ctx.params.id!);
    const settings = input.settings ? parse(policySettings, { ...current.settings, ...input.settings }) : undefined;
    const targets = input.targets ? await app.policies.resolveTargets(tenant.id, input.targets) : undefined;
    const updated = await app.policies.update(tenant.id, current.id, expectedVersion(ctx, input), { name: input.name, priority: input.priority, targets, settings });
    await audited(app, admin, tenant.id, 'admin.policy.updated', current.id, { name: updated.name, changes: Object.keys(input).filter((k) => k !== 'version') }, ctx.ip);
    ctx.body = await view(tenant, updated);
  });

  r.delete('/tenants/:slug/policies/:id', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin']);
    const p = await app.policies.get(tenant.id, ctx.params.id!);
    await app.policies.delete(tenant.id, p.id);
    await audited(app, admin, tenant.id, 'admin.policy.deleted', p.id, { name: p.name }, ctx.ip);
    ctx.status = 204;
  });

  // Which policy applies to a user, and why (its place in the order).
  r.get('/tenants/:slug/users/:user/policy', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'helpdesk']);
    const ref = ctx.params.user!;
    const user = (await app.directory.userByEmail(tenant.id, ref)) ?? (await app.directory.userById(tenant.id, ref));
    if (!user) { ctx.status = 404; ctx.body = { error: { code: 'not_found', message: 'User was not found. Check the email or id and try again.' } }; return; }
    const p = await app.policies.effective(user);
    ctx.body = p ? { policy: await view(tenant, p), settings: p.settings } : { policy: null, settings: (await app.policies.settingsFor(user)) };
  });
}
