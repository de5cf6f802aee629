// Users, groups, OUs and domains of a tenant.
import Router from '@koa/router';
import { z } from 'zod';
import type { Context } from '../../context.ts';
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../directory/passwords.ts';
import { publicUser, type User } from '../../storage/directory.ts';
import { conflict, invalid, notFound } from '../../shared/errors.ts';
import { audited, expectedVersion, guard, listQuery, parse } from '../common.ts';
import { unlockAccount } from '../../interaction/signin.ts';

const password = z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`).max(MAX_PASSWORD_LENGTH);
const name = z.string().trim().min(1).max(100).nullable();
const roles = z.array(z.enum(['superadmin', 'admin', 'helpdesk', 'auditor'])).max(4);
const createUser = z.object({
  email: z.email().max(254), password: password.optional(), givenName: name.optional(), familyName: name.optional(),
  status: z.enum(['active', 'disabled']).optional(), ou: z.string().max(500).optional(), groups: z.array(z.string().max(200)).max(100).optional(),
  roles: roles.optional(),
});
const patchUser = z.object({
  givenName: name.optional(), familyName: name.optional(), status: z.enum(['active', 'disabled']).optional(),
  ou: z.string().max(500).nullable().optional(), password: password.optional(), roles: roles.optional(), version: z.number().int().optional(),
});

export function directoryRoutes(app: Context, r: Router) {
  const view = async (u: User) => ({
    ...u,
    ou: u.ouId ? (await app.directory.ouById(u.tenantId, u.ouId))?.path ?? null : null,
    groups: (await app.directory.groupsOfUser(u.tenantId, u.id)).map((g) => g.name),
  });
  const findUser = async (tenantId: string, ref: string) => {
    const u = ref.includes('@') ? await app.directory.userByEmail(tenantId, ref) : await app.directory.userById(tenantId, ref);
    if (!u) throw notFound(`User ${ref}`);
    return u;
  };

  r.get('/tenants/:slug/users', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'helpdesk']);
    const q = parse(listQuery, ctx.query);
    const page = await app.directory.listUsers(tenant.id, q);
    ctx.body = { items: page.items, nextCursor: page.nextCursor };
  });

  r.post('/tenants/:slug/users', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin']);
    const input = parse(createUser, ctx.request.body);
    if (input.roles?.includes('superadmin') && !admin.roles.includes('superadmin')) throw invalid('Only a superadministrator may grant the superadmin role.');
    const ou = input.ou ? await app.directory.ensureOu(tenant.id, input.ou) : undefined;
    const groups = [];
    for (const g of input.groups ?? []) groups.push(await app.directory.groupByName(tenant.id, g) ?? await app.directory.createGroup(tenant.id, g));
    const user = await app.directory.createUser({
      tenantId: tenant.id, email: input.email, passwordHash: input.password ? await hashPassword(input.password) : null,
      givenName: input.givenName, familyName: input.familyName, status: input.status, ouId: ou?.id, roles: input.roles,
    });
    for (const g of groups) await app.directory.addMember(tenant.id, g.id, user.id);
    await audited(app, admin, tenant.id, 'admin.user.created', user.id, { email: user.email }, ctx.ip);
    ctx.status = 201;
    ctx.body = await view(user);
  });

  r.get('/tenants/:slug/users/:user', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'helpdesk']);
    ctx.body = await view(publicUser(await findUser(tenant.id, ctx.params.user!)));
  });

  r.patch('/tenants/:slug/users/:user', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin']);
    const input = parse(patchUser, ctx.request.body);
    const u = await findUser(tenant.id, ctx.params.user!);
    if (input.roles && !admin.roles.includes('superadmin')) throw invalid('Only a superadministrator may change administrator roles.');
    if (u.upstreamId && (input.givenName !== undefined || input.familyName !== undefined)) {
      const up = await app.upstreams.byId(tenant.id, u.upstreamId);
      throw conflict(`${u.email}'s names come from the upstream directory ${up?.name ?? u.upstreamId} and are updated at each sign-in there. Change them in that directory.`);
    }
    const ouId = input.ou === undefined ? undefined : input.ou === null ? null : (await app.directory.ensureOu(tenant.id, input.ou)).id;
    const updated = await app.directory.updateUser(tenant.id, u.id, expectedVersion(ctx, input), {
      givenName: input.givenName, familyName: input.familyName, status: input.status, ouId, roles: input.roles,
      passwordHash: input.password ? await hashPassword(input.password) : undefined,
    });
    await audited(app, admin, tenant.id, 'admin.user.updated', u.id, { email: u.email, changes: Object.keys(input).filter((k) => k !== 'version') }, ctx.ip);
    // A disabled account is signed out everywhere at once (its apps hear of it by back-channel logout).
    if (input.status === 'disabled' && u.status !== 'disabled') await app.sessions.endAllForUser(tenant, u.id, { by: admin.email, why: 'account disabled' });
    ctx.body = await view(updated);
  });

  // Helpdesk: a user locked out by failed sign-ins (passwords or codes) may try again at once.
  r.post('/tenants/:slug/users/:user/unlock', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin', 'helpdesk']);
    const u = await findUser(tenant.id, ctx.params.user!);
    await unlockAccount(app, tenant, u);
    await audited(app, admin, tenant.id, 'admin.user.unlocked', u.id, { email: u.email }, ctx.ip);
    ctx.status = 204;
  });

  // Helpdesk: a user who lost their phone and recovery codes gets two-step verification reset.
  r.delete('/tenants/:slug/users/:user/mfa', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin', 'helpdesk']);
    const u = await findUser(tenant.id, ctx.params.user!);
    const removed = await app.mfa.reset(tenant.id, u.id);
    await app.push.deviceRemoved(tenant.id, u.id); // open Gatehouse Authenticators learn it at once
    await audited(app, admin, tenant.id, 'admin.user.mfa_reset', u.id, { email: u.email, factorsRemoved: removed }, ctx.ip);
    ctx.status = 204;
  });

  r.delete('/tenants/:slug/users/:user', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin']);
    const u = await findUser(tenant.id, ctx.params.user!);
    await app.sessions.endAllForUser(tenant, u.id, { by: admin.email, why: 'account deleted' });
    await app.directory.deleteUser(tenant.id, u.id);
    await audited(app, admin, tenant.id, 'admin.user.deleted', u.id, { email: u.email }, ctx.ip);
    ctx.status = 204;
  });

  r.get('/tenants/:slug/groups', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'helpdesk']);
    ctx.body = { items: await app.directory.listGroups(tenant.id), nextCursor: null };
  });
  r.post('/tenants/:slug/groups', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin']);
    const input = parse(z.object({ name: z.string().trim().min(1).max(200), description: z.string().max(1000).nullable().optional() }), ctx.request.body);
    const g = await app.directory.createGroup(tenant.id, input.name, input.description);
    await audited(app, admin, tenant.id, 'admin.group.created', g.id, { name: g.name }, ctx.ip);
    ctx.status = 201;
    ctx.body = g;
  });
  const member = async (ctx: Parameters<Parameters<Router['put']>[1]>[0], add: boolean) => {
    const { admin, tenant } = await guard(app, ctx, ['admin']);
    const g = await app.directory.groupByName(tenant.id, ctx.params.group!) ?? await app.directory.groupById(tenant.id, ctx.params.group!);
    if (!g) throw notFound(`Group ${ctx.params.group}`);
    const u = await findUser(tenant.id, ctx.params.user!);
    if (add) await app.directory.addMember(tenant.id, g.id, u.id);
    else await app.directory.removeMember(tenant.id, g.id, u.id);
    await audited(app, admin, tenant.id, add ? 'admin.group.member_added' : 'admin.group.member_removed', u.id, { group: g.name, email: u.email }, ctx.ip);
    ctx.status = 204;
  };
  r.put('/tenants/:slug/groups/:group/members/:user', (ctx) => member(ctx, true));
  r.delete('/tenants/:slug/groups/:group/members/:user', (ctx) => member(ctx, false));

  r.get('/tenants/:slug/ous', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'helpdesk']);
    ctx.body = { items: await app.directory.listOus(tenant.id), nextCursor: null };
  });
  r.post('/tenants/:slug/ous', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin']);
    const input = parse(z.object({ path: z.string().min(2).max(500) }), ctx.request.body);
    const ou = await app.directory.ensureOu(tenant.id, input.path);
    await audited(app, admin, tenant.id, 'admin.ou.created', ou.id, { path: ou.path }, ctx.ip);
    ctx.status = 201;
    ctx.body = ou;
  });
  r.get('/tenants/:slug/domains', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'helpdesk']);
    ctx.body = { items: (await app.directory.listDomains(tenant.id)).map((name) => ({ name })), nextCursor: null };
  });
  r.post('/tenants/:slug/domains', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin']);
    const input = parse(z.object({ name: z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be a domain name like example.com') }), ctx.request.body);
    await app.directory.ensureDomain(tenant.id, input.name);
    await audited(app, admin, tenant.id, 'admin.domain.created', input.name, { name: input.name }, ctx.ip);
    ctx.status = 201;
    ctx.body = { name: input.name.toLowerCase() };
  });
}
