// Groups of a tenant and their members.
import { text } from '../../shared/input.ts';
import { z } from 'zod';
import type { Group } from '../../storage/users.ts';
import { findGroup } from '../lookup.ts';
import { userToActOn, type Attempt } from '../roles.ts';
import type { AdminCall } from '../route.ts';
import { summary } from './users.ts';
import { listQuery, page, userSummary, version } from '../schemas.ts';
import { route } from '../route.ts';
import { group as groupSchema } from '../shapes.ts';

const name = text().trim().min(1).max(200);
const description = z.string().max(1000).nullable();

const view = (g: Group, memberCount: number): z.input<typeof groupSchema> => ({
  id: g.id,
  name: g.name,
  description: g.description,
  memberCount,
  createdAt: g.createdAt,
  updatedAt: g.updatedAt,
  version: g.version,
});

/**
 * Adding and removing a member are one act with two directions: both find the group and the
 * user by id or name, and both need the right to act on that user, because groups decide which
 * apps and policies apply to the account (a laxer MFA policy, say).
 */
async function changeMembership(
  call: Attempt & Pick<AdminCall<'/:group/:user', z.ZodObject<{}>, z.ZodObject<{}>, z.ZodUndefined>, 'params' | 'audit'>,
  change: 'add' | 'remove',
): Promise<void> {
  const { services, tenant, params, audit } = call;
  const g = await findGroup(services, tenant.id, params.group);
  const u = await userToActOn(call, params.user, change === 'add' ? 'addGroupMember' : 'removeGroupMember');
  if (change === 'add') await services.userStore.addMember(tenant.id, g.id, u.id);
  else await services.userStore.removeMember(tenant.id, g.id, u.id);
  await audit(
    change === 'add' ? 'admin.group.member_added' : 'admin.group.member_removed',
    u.id,
    { group: g.name, groupId: g.id, email: u.email },
    { userId: u.id },
  );
}

export const groupRoutes = [
  route({
    id: 'listGroups',
    method: 'get',
    path: '/tenants/:slug/groups',
    tag: 'groups',
    access: ['admin', 'helpdesk'],
    summary: 'Page through groups by name; search matches the name or description',
    query: listQuery,
    response: page(groupSchema),
    async handler({ services, tenant, query }) {
      const p = await services.userStore.pageGroups(tenant.id, query);
      return { items: p.items.map((g) => view(g, g.memberCount)), nextCursor: p.nextCursor };
    },
  }),
  route({
    id: 'createGroup',
    method: 'post',
    path: '/tenants/:slug/groups',
    tag: 'groups',
    access: ['admin'],
    status: 201,
    summary: 'Create a group',
    body: z.object({ name, description: description.optional() }),
    example: { name: 'Nurses', description: 'Ward staff' },
    response: groupSchema,
    async handler({ services, tenant, body, audit }) {
      const g = await services.userStore.createGroup(tenant.id, body.name, body.description);
      await audit('admin.group.created', g.id, { name: g.name });
      return view(g, 0);
    },
  }),
  route({
    id: 'getGroup',
    method: 'get',
    path: '/tenants/:slug/groups/:group',
    tag: 'groups',
    access: ['admin', 'helpdesk'],
    summary: 'Show a group (by id or name)',
    response: groupSchema,
    async handler({ services, tenant, params }) {
      const g = await findGroup(services, tenant.id, params.group);
      return view(g, await services.userStore.countMembers(tenant.id, g.id));
    },
  }),
  route({
    id: 'updateGroup',
    method: 'patch',
    path: '/tenants/:slug/groups/:group',
    tag: 'groups',
    access: ['admin'],
    versioned: true,
    summary: 'Rename a group or change its description',
    body: z.object({ name: name.optional(), description: description.optional(), version }),
    example: { description: 'Ward staff, all shifts' },
    response: groupSchema,
    async handler({ services, tenant, params, body, version: v, audit }) {
      const g = await findGroup(services, tenant.id, params.group);
      const updated = await services.userStore.updateGroup(tenant.id, g.id, v, { name: body.name, description: body.description });
      await audit('admin.group.updated', g.id, {
        name: updated.name,
        changes: Object.keys(body).filter((k) => k !== 'version'),
        ...(body.name !== undefined && { previousName: g.name }),
      });
      return view(updated, await services.userStore.countMembers(tenant.id, g.id));
    },
  }),
  route({
    id: 'deleteGroup',
    method: 'delete',
    path: '/tenants/:slug/groups/:group',
    tag: 'groups',
    access: ['admin'],
    summary: 'Delete a group; its memberships and the app deployments to it go with it',
    response: z.void(),
    async handler({ services, tenant, params, audit }) {
      const g = await findGroup(services, tenant.id, params.group);
      await services.userStore.deleteGroup(tenant.id, g.id);
      await audit('admin.group.deleted', g.id, { name: g.name });
    },
  }),
  route({
    id: 'listGroupMembers',
    method: 'get',
    path: '/tenants/:slug/groups/:group/members',
    tag: 'groups',
    access: ['admin', 'helpdesk'],
    summary: "Page through a group's members by email; search matches the email or the name",
    query: listQuery,
    response: page(userSummary),
    async handler({ services, admin, tenant, params, query }) {
      const g = await findGroup(services, tenant.id, params.group);
      const p = await services.userStore.listMembers(tenant.id, g.id, query);
      return { items: p.items.map((u) => summary(admin, tenant, u)), nextCursor: p.nextCursor };
    },
  }),
  route({
    id: 'addGroupMember',
    method: 'put',
    path: '/tenants/:slug/groups/:group/members/:user',
    tag: 'groups',
    access: ['admin'],
    summary: 'Add a user (by id or email) to a group (idempotent)',
    response: z.void(),
    handler: (call) => changeMembership(call, 'add'),
  }),
  route({
    id: 'removeGroupMember',
    method: 'delete',
    path: '/tenants/:slug/groups/:group/members/:user',
    tag: 'groups',
    access: ['admin'],
    summary: 'Remove a user from a group (idempotent)',
    response: z.void(),
    handler: (call) => changeMembership(call, 'remove'),
  }),
];
