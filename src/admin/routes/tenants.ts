// Tenants: create and list (superadmins of the default tenant), show, rename, session lifetime.
import { text } from '../../shared/input.ts';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { SLUG_RE, type Tenant } from '../../storage/tenants.ts';
import { issuerFor } from '../../oidc/engine.ts';
import { sessionLifetime } from '../../interaction/branding.ts';
import { MAX_SHIFT_HOURS, MIN_SHIFT_HOURS, shiftHoursOf } from '../../devices/service.ts';
import { listQuery, page, version } from '../schemas.ts';
import { route } from '../route.ts';
import { tenant as tenantSchema } from '../shapes.ts';

export function tenantView(services: Services, t: Tenant): z.input<typeof tenantSchema> {
  const issuer = issuerFor(services.config.publicUrl, t.slug);
  return {
    slug: t.slug,
    name: t.name,
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    sessionLifetimeMinutes: t.sessionLifetimeMinutes,
    sharedDeviceShiftHours: shiftHoursOf(t),
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
    version: t.version,
  };
}

const name = text().trim().min(1).max(200);

export const tenantRoutes = [
  route({
    id: 'listTenants',
    method: 'get',
    path: '/tenants',
    tag: 'tenants',
    access: 'instance',
    summary: 'List tenants by slug; search matches the slug or name',
    query: listQuery,
    response: page(tenantSchema),
    async handler({ services, query }) {
      const p = await services.tenantStore.page(query);
      return { items: p.items.map((t) => tenantView(services, t)), nextCursor: p.nextCursor };
    },
  }),
  route({
    id: 'createTenant',
    method: 'post',
    path: '/tenants',
    tag: 'tenants',
    access: 'instance',
    status: 201,
    summary: 'Create a tenant (its own issuer, signing keys, users and apps)',
    body: z.object({
      slug: z.string().regex(SLUG_RE, 'use 1-40 lowercase letters, digits and hyphens, starting and ending with a letter or digit'),
      name: name.optional(),
      sessionLifetimeMinutes: sessionLifetime.optional().describe('default 120'),
    }),
    example: { slug: 'acme', name: 'Acme Corp' },
    response: tenantSchema,
    async handler({ services, body, audit }) {
      const t = await services.tenantStore.create(body);
      await services.keyService.ensureKeys(t.id);
      await audit('admin.tenant.created', t.slug, { slug: t.slug });
      return tenantView(services, t);
    },
  }),
  route({
    id: 'getTenant',
    method: 'get',
    path: '/tenants/:slug',
    tag: 'tenants',
    access: ['admin', 'helpdesk', 'auditor'],
    summary: 'Show a tenant, its issuer and discovery URL',
    response: tenantSchema,
    async handler({ services, tenant }) {
      return tenantView(services, tenant);
    },
  }),
  route({
    id: 'updateTenant',
    method: 'patch',
    path: '/tenants/:slug',
    tag: 'tenants',
    access: [],
    versioned: true,
    summary: 'Rename a tenant or change its session lifetime or shared-device shift length',
    body: z.object({
      name: name.optional(),
      sessionLifetimeMinutes: sessionLifetime.optional(),
      sharedDeviceShiftHours: z
        .number()
        .int()
        .min(MIN_SHIFT_HOURS)
        .max(MAX_SHIFT_HOURS)
        .optional()
        .describe('how long a shared-device session (Native SSO check-out) lasts: 1-24 hours, default 12'),
      version,
    }),
    example: { name: 'Acme Corporation' },
    response: tenantSchema,
    async handler({ services, tenant, body, version: v, audit }) {
      const { version: _v, sharedDeviceShiftHours, ...rest } = body;
      const patch = { ...rest, ...(sharedDeviceShiftHours !== undefined && { settings: { ...tenant.settings, sharedDeviceShiftHours } }) };
      const t = await services.tenantStore.update(tenant.id, v, patch);
      services.engineCache.invalidate(t.slug);
      await audit('admin.tenant.updated', t.slug, { changes: Object.keys(body).filter((k) => k !== 'version') });
      return tenantView(services, t);
    },
  }),
];
