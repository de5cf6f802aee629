// Users of a tenant: list and search, create, show, change, delete; helpdesk unlock.
import { text } from '../../shared/input.ts';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../directory/passwords.ts';
import { publicUser, USERNAME_PATTERN, type User, type UserWithSecret } from '../../storage/users.ts';
import { conflict } from '../../shared/errors.ts';
import { unlockAccount } from '../../interaction/signin.ts';
import type { Tenant } from '../../storage/tenants.ts';
import type { Admin } from '../auth.ts';
import { findUser } from '../lookup.ts';
import { assertMayGrant, mayManage, userToActOn } from '../roles.ts';
import { listQuery, page, role, userSummary, version } from '../schemas.ts';
import { locale } from '../shapes.ts';
import { route } from '../route.ts';

const password = z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`).max(MAX_PASSWORD_LENGTH);
const name = text().trim().min(1).max(100).nullable();
const roles = z.array(role).max(4);
const status = z.enum(['active', 'disabled']);
const username = z
  .string()
  .trim()
  .regex(USERNAME_PATTERN, 'must be 1 to 64 letters, digits, dots, hyphens, underscores or $, starting with a letter or digit (no @ or \\)');

export const userDetail = userSummary.extend({
  ou: z.string().nullable().describe('the OU path'),
  groups: z.array(z.string()).describe('group names'),
});

/** A user as the caller sees it: with whether the role hierarchy lets them act on it. */
export const summary = (admin: Admin, tenant: Tenant, u: User): z.input<typeof userSummary> => ({ ...u, mayManage: mayManage(admin, u, tenant) });

async function detail({ services, admin, tenant }: { services: Services; admin: Admin; tenant: Tenant }, u: User): Promise<z.input<typeof userDetail>> {
  return {
    ...summary(admin, tenant, u),
    ou: u.ouId ? ((await services.userStore.ouById(u.tenantId, u.ouId))?.path ?? null) : null,
    groups: (await services.userStore.groupsOfUser(u.tenantId, u.id)).map((g) => g.name),
  };
}

/**
 * What an LDAP directory keeps cannot be set here: its password is checked by the directory
 * (one set here would never work), and the names and username the next sync would overwrite.
 */
async function refuseDirectoryOwned(
  services: Services,
  tenantId: string,
  u: UserWithSecret,
  body: { password?: string; givenName?: unknown; familyName?: unknown; username?: unknown; mustChangePassword?: boolean },
) {
  if (!u.directoryId) return;
  const dir = await services.ldapStore.byId(tenantId, u.directoryId);
  const where = dir?.name ? `the directory ${dir.name}` : 'their LDAP directory';
  if (body.password !== undefined || body.mustChangePassword) {
    throw conflict(
      `${u.email}'s password is kept by ${where}, which checks it at each sign-in; a password set here would never be used. Reset it in that directory.`,
    );
  }
  const synced = (['givenName', 'familyName', 'username'] as const).filter((k) => body[k] !== undefined);
  if (synced.length)
    throw conflict(
      `${u.email}'s ${synced.join(', ')} come${synced.length === 1 ? 's' : ''} from ${where} and would be overwritten at the next sync. Change them in that directory.`,
    );
}

export const userRoutes = [
  route({
    id: 'listUsers',
    method: 'get',
    path: '/tenants/:slug/users',
    tag: 'users',
    access: ['admin', 'helpdesk'],
    summary: 'Page through users by email; search matches the email or the name',
    query: listQuery,
    response: page(userSummary),
    async handler({ services, admin, tenant, query }) {
      const p = await services.userStore.listUsers(tenant.id, query);
      return { items: p.items.map((u) => summary(admin, tenant, u)), nextCursor: p.nextCursor };
    },
  }),
  route({
    id: 'createUser',
    method: 'post',
    path: '/tenants/:slug/users',
    tag: 'users',
    access: ['admin'],
    status: 201,
    summary: 'Create a local user (signs in with the email, or the username if given); missing groups and OUs are created',
    body: z.object({
      email: z.email().max(254),
      username: username.optional().describe('a sign-in name, unique in the tenant (case-insensitive)'),
      password: password.optional(),
      emailVerified: z.boolean().optional().describe('mark the address verified now (default false: the user confirms it by a link)'),
      mustChangePassword: z.boolean().optional().describe('require a new password at the first sign-in'),
      givenName: name.optional(),
      familyName: name.optional(),
      status: status.optional(),
      ou: z.string().max(500).optional().describe('an OU path like /Sales/EMEA'),
      groups: z.array(z.string().trim().min(1).max(200)).max(100).optional(),
      roles: roles.optional().describe('only a superadmin grants superadmin'),
    }),
    example: { email: 'ann@example.com', password: 'a long passphrase', givenName: 'Ann', familyName: 'Lee', ou: '/Sales', groups: ['staff'] },
    response: userDetail,
    async handler(call) {
      const { services, tenant, body, audit } = call;
      if (body.roles) await assertMayGrant(call, body.roles, { change: false }, 'createUser');
      const ou = body.ou ? await services.userStore.ensureOu(tenant.id, body.ou) : undefined;
      const groups = [];
      for (const g of body.groups ?? [])
        groups.push((await services.userStore.groupByName(tenant.id, g)) ?? (await services.userStore.createGroup(tenant.id, g)));
      const user = await services.userStore.createUser({
        tenantId: tenant.id,
        email: body.email,
        passwordHash: body.password ? await hashPassword(body.password) : null,
        givenName: body.givenName,
        familyName: body.familyName,
        status: body.status,
        ouId: ou?.id,
        roles: body.roles,
        username: body.username,
        emailVerified: body.emailVerified,
        mustChangePassword: body.mustChangePassword,
      });
      for (const g of groups) await services.userStore.addMember(tenant.id, g.id, user.id);
      await audit('admin.user.created', user.id, { email: user.email }, { userId: user.id });
      return detail(call, user);
    },
  }),
  route({
    id: 'getUser',
    method: 'get',
    path: '/tenants/:slug/users/:user',
    tag: 'users',
    access: ['admin', 'helpdesk'],
    summary: 'Show a user (by id or email) with their OU and groups',
    response: userDetail,
    async handler(call) {
      return detail(call, publicUser(await findUser(call.services, call.tenant.id, call.params.user)));
    },
  }),
  route({
    id: 'updateUser',
    method: 'patch',
    path: '/tenants/:slug/users/:user',
    tag: 'users',
    access: ['admin'],
    versioned: true,
    summary: 'Change a user: names, status (disabling ends their sessions), OU, password (reset), roles, language',
    description:
      "Names of a user an upstream or LDAP directory keeps are read-only (409), and so is an LDAP directory user's username; a directory user's password is the directory's (409). Only a superadmin changes roles.",
    body: z.object({
      givenName: name.optional(),
      familyName: name.optional(),
      status: status.optional(),
      username: username.nullable().optional().describe('null removes it'),
      emailVerified: z.boolean().optional().describe('mark the address verified (true) or not (false)'),
      mustChangePassword: z.boolean().optional().describe('require (true) a new password at the next sign-in, or withdraw it'),
      ou: z.string().max(500).nullable().optional(),
      password: password.optional(),
      roles: roles.optional(),
      locale: locale.nullable().optional().describe("the user's language for Gatehouse's pages; null clears the choice"),
      version,
    }),
    example: { givenName: 'Anne', status: 'disabled' },
    response: userDetail,
    async handler(call) {
      const { services, tenant, admin, params, body, version: v, audit } = call;
      const u = await userToActOn(call, params.user, 'updateUser');
      if (body.roles) await assertMayGrant(call, body.roles, { change: true, target: u }, 'updateUser');
      if (u.upstreamId && (body.givenName !== undefined || body.familyName !== undefined)) {
        const up = await services.upstreamStore.byId(tenant.id, u.upstreamId);
        throw conflict(
          `${u.email}'s names come from the upstream directory ${up?.name ?? u.upstreamId} and are updated at each sign-in there. Change them in that directory.`,
        );
      }
      await refuseDirectoryOwned(services, tenant.id, u, body);
      const ouId = body.ou === undefined ? undefined : body.ou === null ? null : (await services.userStore.ensureOu(tenant.id, body.ou)).id;
      const updated = await services.userStore.updateUser(tenant.id, u.id, v, {
        givenName: body.givenName,
        familyName: body.familyName,
        status: body.status,
        ouId,
        roles: body.roles,
        locale: body.locale,
        passwordHash: body.password ? await hashPassword(body.password) : undefined,
        username: body.username,
        emailVerified: body.emailVerified,
        mustChangePassword: body.mustChangePassword,
      });
      await audit('admin.user.updated', u.id, { email: u.email, changes: Object.keys(body).filter((k) => k !== 'version') }, { userId: u.id });
      // A disabled account is signed out everywhere at once (its apps hear of it by back-channel logout).
      if (body.status === 'disabled' && u.status !== 'disabled')
        await services.sessionService.endAllForUser(tenant, u.id, { by: admin.email, why: 'account disabled' });
      return detail(call, updated);
    },
  }),
  route({
    id: 'deleteUser',
    method: 'delete',
    path: '/tenants/:slug/users/:user',
    tag: 'users',
    access: ['admin'],
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
    id: 'unlockUser',
    method: 'post',
    path: '/tenants/:slug/users/:user/unlock',
    tag: 'users',
    access: ['admin', 'helpdesk'],
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
