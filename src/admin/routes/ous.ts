// Organizational units: a tree of paths like /Sales/EMEA.
import { text } from '../../shared/input.ts';
import { z } from 'zod';
import type { Ou } from '../../storage/users.ts';
import { notFound } from '../../shared/errors.ts';
import { listQuery, page } from '../schemas.ts';
import { route } from '../route.ts';
import { ou as ouSchema } from '../shapes.ts';

const view = (o: Ou): z.input<typeof ouSchema> => ({
  id: o.id,
  name: o.name,
  parentId: o.parentId,
  path: o.path,
  createdAt: o.createdAt,
  updatedAt: o.updatedAt,
  version: o.version,
});

export const ouRoutes = [
  route({
    id: 'listOus',
    method: 'get',
    path: '/tenants/:slug/ous',
    tag: 'ous',
    access: ['admin', 'helpdesk'],
    summary: 'Page through OUs by path (parents first); search matches the path',
    query: listQuery,
    response: page(ouSchema),
    async handler({ services, tenant, query }) {
      const p = await services.userStore.pageOus(tenant.id, query);
      return { items: p.items.map(view), nextCursor: p.nextCursor };
    },
  }),
  route({
    id: 'createOu',
    method: 'post',
    path: '/tenants/:slug/ous',
    tag: 'ous',
    access: ['admin'],
    status: 201,
    summary: 'Create an OU by path; missing parents are created (idempotent)',
    body: z.object({ path: text().min(2).max(500).describe('like /Sales/EMEA') }),
    example: { path: '/Clinic/North' },
    response: ouSchema,
    async handler({ services, tenant, body, audit }) {
      const ou = await services.userStore.ensureOu(tenant.id, body.path);
      await audit('admin.ou.created', ou.id, { path: ou.path });
      return view(ou);
    },
  }),
  route({
    id: 'deleteOu',
    method: 'delete',
    path: '/tenants/:slug/ous/:ou',
    tag: 'ous',
    access: ['admin'],
    summary: 'Delete an empty OU (by id or path); one with users or sub-OUs is refused (409)',
    response: z.void(),
    async handler({ services, tenant, params, audit }) {
      const ou = params.ou.startsWith('/') ? await services.userStore.ouByPath(tenant.id, params.ou) : await services.userStore.ouById(tenant.id, params.ou);
      if (!ou) throw notFound(`OU ${params.ou}`);
      await services.userStore.deleteOu(tenant.id, ou.id);
      await audit('admin.ou.deleted', ou.id, { path: ou.path });
    },
  }),
];
