// Users of a tenant: list and search, create, show, change, delete; helpdesk unlock.
import { text } from '../../shared/input.ts';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../directory/passwords.ts';
import { publicUser, type User } from '../../storage/users.ts';
import { conflict } from '../../shared/errors.ts';
import { unlockAccount } from '../../interaction/signin.ts';
import type { Tenant } from '../../storage/tenants.ts';
import type { Admin } from '../auth.ts';
import { findUser } from '../lookup.ts';
import { assertMayGrant, mayManage, userToActOn } from '../roles.ts';
import { listQuery, page, role, userSummary, version } from '../schemas.ts';
import { route } from '../route.ts';

const password = z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`).max(MAX_PASSWORD_LENGTH);
const name = text().trim().min(1).max(100).nullable();
const roles = z.array(role).max(4);
const status = z.enum(['active', 'disabled']);

export const userDetail = userSummary.extend({
  ou: z.string().nullable().describe('the OU path'),
  groups: z.array(z.string()).describe('group names'),
});

/** A user as the caller sees it: with whether the role hierarchy lets them act on it. */
export const summary = (admin: Admin, tenant: Tenant, u: User): z.input<typeof userSummary> => ({ ...u, mayManage: mayManage(admin, u, tenant) });

async function detail({ services, admin, tenant }: { services: Services; admin: Admin; tenant: Tenant }, u: User): Promise<z.input<typeof userDetail>> {
  return {
    ...summary(admin, tenant, u),
    ou: u.ouId ? (await services.userStore.ouById(u.tenantId, u.ouId))?.path ?? null : null,
    groups: (await services.userStore.groupsOfUser(u.tenantId, u.id)).map((g) => g.name),
  };
}

export const userRoutes = [
  route({
    id: 'listUsers', method: 'get', path: '/tenants/:slug/users', tag: 'users', access: ['admin', 'helpdesk'],
    summary: 'Page through users by email; search matches the email or the name',
    query: listQuery, response: page(userSummary),
    async handler({ services, admin, tenant, query }) {
      const p = await services.userStore.listUsers(tenant.id, query);
      return { items: p.items.map((u) => summary(admin, tenant, u)), nextCursor: p.nextCursor };
    },
  }),
  route({
    id: 'createUser', method: 'post', path: '/tenants/:slug/users', tag: 'users', access: ['admin'], status: 201,
    summary: 'Create a local user (the email is the username); missing groups and OUs are created',
    body: z.object({
      email: z.email().max(254), password: password.optional(), givenName: name.optional(), familyName: name.optional(),
      status: status.optional(), ou: z.string().max(500).optional().describe('an OU path like /Sales/EMEA'),
      groups: z.array(z.string().trim().min(1).max(200)).max(100).optional(), roles: roles.optional().describe('only a superadmin grants superadmin'),
    }),
    example: { email: 'ann@example.com', password: 'a long passphrase', givenName: 'Ann', familyName: 'Lee', ou: '/Sales', groups: ['staff'] },
    response: userDetail,
    async handler(call) {
      const { services, tenant, body, audit } = call;
      if (body.roles) await assertMayGrant(call, body.roles, { change: false }, 'createUser');
      const ou = body.ou ? await services.userStore.ensureOu(tenant.id, body.ou) : undefined;
      const groups = [];
      for (const g of body.groups ?? []) groups.push(await services.userStore.groupByName(tenant.id, g) ?? await services.userStore.createGroup(tenant.id, g));
      const user = await services.userStore.createUser({
        tenantId: tenant.id, email: body.email, passwordHash: body.password ? await hashPassword(body.password) : null,
        givenName: body.givenName, familyName: body.familyName, status: body.status, ouId: ou?.id, roles: body.roles,
      });
      for (const g of groups) await services.userStore.addMember(tenant.id, g.id, user.id);
      await audit('admin.user.created', user.id, { email: user.email }, { userId: user.id });
      return detail(call, user);
    },
  }),
  route({
    id: 'getUser', method: 'get', path: '/tenants/:slug/users/:user', tag: 'users', access: ['admin', 'helpdesk'],
    summary: 'Show a user (by id or email) with their OU and groups',
    response: userDetail,
    async handler(call) { return detail(call, publicUser(await findUser(call.services, call.tenant.id, call.params.user))); },
  }),
  route({
    id: 'updateUser', method: 'patch', path: '/tenants/:slug/users/:user', tag: 'users', access: ['admin'], versioned: true,
    summary: 'Change a user: names, status (disabling ends their sessions), OU, password (reset), roles',
    description: 'Names of a user an upstream directory keeps are read-only (409). Only a superadmin changes roles.',
    body: z.object({
      givenName: name.optional(), familyName: name.optional(), status: status.optional(),
      ou: z.string().max(500).nullable().optional(), password: password.optional(), roles: roles.optional(), version,
    }),
    example: { givenName: 'Anne', status: 'disabled' },
    response: userDetail,
    async handler(call) {
      const { services, tenant, admin, params, body, version: v, audit } = call;
      const u = await userToActOn(call, params.user, 'updateUser');
      if (body.roles) await assertMayGrant(call, body.roles, { change: true, target: u }, 'updateUser');
      if (u.upstreamId && (body.givenName !== undefined || body.familyName !== undefined)) {
        const up = await services.upstreamStore.byId(tenant.id, u.upstreamId);
        throw conflict(`${u.email}'s names come from the upstream directory ${up?.name ?? u.upstreamId} and are updated at each sign-in there. Change them in that directory.`);
      }
      const ouId = body.ou === undefined ? undefined : body.ou === null ? null : (await services.userStore.ensureOu(tenant.id, body.ou)).id;
      const updated = await services.userStore.updateUser(tenant.id, u.id, v, {
        givenName: body.givenName, familyName: body.familyName, status: body.status, ouId, roles: body.roles,
        passwordHash: body.password ? await hashPassword(body.password) : undefined,
      });
      await audit('admin.user.updated', u.id, { email: u.email, changes: Object.keys(body).filter((k) => k !== 'version') }, { userId: u.id });
      // A disabled account is signed out everywhere at once (its apps hear of it by back-channel logout).
      if (body.status === 'disabled' && u.status !== 'disabled') await services.sessionService.endAllForUser(tenant, u.id, { by: admin.email, why: 'account disabled' });
      return detail(call, updated);
    },
  }),
  route({
    id: 'deleteUser', method: 'delete', path: '/tenants/:slug/users/:user', tag: 'users', access: ['admin'],
    summary: 'Delete a user (their sessions are ended; memberships, factors and links go with them)',
    response: z.void(),
    async handler(call) {
      const { services, tenant, admin, params, audit } = call;
      const u = await userToActOn(call, params.user, 'deleteUser');
      await services.sessionService.endAllForUser(tenant, u.id, { by: admin.email, why: 'account deleted' });
      await services.userStore.deleteUser(tenant.id, u.id);
      await audit('admin.user.deleted', u.id, { email: u.email }, { userId: u.id });
    },
  }),
  route({
    id: 'unlockUser', method: 'post', path: '/tenants/:slug/users/:user/unlock', tag: 'users', access: ['admin', 'helpdesk'],
    summary: 'Lift a lockout after failed sign-ins (passwords, codes, passkeys, denied pushes): the user may try again at once',
    response: z.void(),
    async handler(call) {
      const { services, tenant, params, audit } = call;
      const u = await userToActOn(call, params.user, 'unlockUser');
      await unlockAccount(services, tenant, u);
      await audit('admin.user.unlocked', u.id, { email: u.email }, { userId: u.id });
    },
  }),
];
