// The tenant's on-premises connectors: one-time provisioning codes, status, revocation.
import { z } from 'zod';
import { CODE_TTL_MS } from '../../directory/connector/protocol.ts';
import { pageInMemory } from '../../storage/paging.ts';
import { listQuery, page } from '../schemas.ts';
import { route } from '../route.ts';
import { connector as connectorSchema, provisioningCode } from '../shapes.ts';

export const connectorRoutes = [
  route({
    id: 'createConnectorCode',
    method: 'post',
    path: '/tenants/:slug/connectors/codes',
    tag: 'connectors',
    access: [],
    status: 201,
    summary: `A one-time connector provisioning code (works once, within ${CODE_TTL_MS / 60_000} minutes)`,
    response: provisioningCode,
    async handler({ services, tenant, admin, audit }) {
      const { code, expiresAt } = await services.connectorHub.newCode(tenant.id, admin.email);
      await audit('admin.connector.code_created', null, { expiresAt: new Date(expiresAt).toISOString() });
      return { enterpriseId: tenant.slug, code, expiresAt, validSeconds: CODE_TTL_MS / 1000, url: services.config.publicUrl };
    },
  }),
  route({
    id: 'listConnectors',
    method: 'get',
    path: '/tenants/:slug/connectors',
    tag: 'connectors',
    access: ['admin', 'auditor'],
    summary: 'Connectors with their status and what to do about a problem; search matches the name or address',
    query: listQuery,
    response: page(connectorSchema),
    async handler({ services, tenant, query }) {
      const all = (await services.connectorHub.status(tenant.id)).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
      return pageInMemory(
        all,
        query,
        (c) => `${String(c.createdAt).padStart(16, '0')}|${c.id}`,
        (c) => [c.name, c.address],
      );
    },
  }),
  route({
    id: 'revokeConnector',
    method: 'delete',
    path: '/tenants/:slug/connectors/:connector',
    tag: 'connectors',
    access: [],
    summary: 'Revoke a connector: disconnected now, and it can never reconnect',
    response: z.void(),
    async handler({ services, tenant, params, audit }) {
      const c = await services.connectorHub.revoke(tenant.id, params.connector);
      await audit('admin.connector.revoked', c.id, { name: c.name });
    },
  }),
];
