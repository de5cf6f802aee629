// Email domains of a tenant (users' domains are added as they are created).
import { z } from 'zod';
import { epochMs, listQuery, page } from '../schemas.ts';
import { route } from '../route.ts';

export const domainSchema = z.object({ name: z.string(), createdAt: epochMs });

export const domainRoutes = [
  route({
    id: 'listDomains',
    method: 'get',
    path: '/tenants/:slug/domains',
    tag: 'domains',
    access: ['admin', 'helpdesk'],
    summary: "Page through the tenant's email domains; search matches the name",
    query: listQuery,
    response: page(domainSchema),
    async handler({ services, tenant, query }) {
      return services.userStore.pageDomains(tenant.id, query);
    },
  }),
  route({
    id: 'createDomain',
    method: 'post',
    path: '/tenants/:slug/domains',
    tag: 'domains',
    access: ['admin'],
    status: 201,
    summary: 'Add an email domain (idempotent)',
    body: z.object({
      name: z
        .string()
        .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be a domain name like example.com')
        .max(253),
    }),
    example: { name: 'example.com' },
    response: domainSchema,
    async handler({ services, tenant, body, audit }) {
      const d = await services.userStore.ensureDomain(tenant.id, body.name);
      await audit('admin.domain.created', d.name, { name: d.name });
      return d;
    },
  }),
];
