// The tenant's workstation agents: one-time enrollment codes, status (who is signed in to
// each desktop, sessions bound to it), revocation.
import { z } from 'zod';
import { CODE_TTL_MS } from '../../directory/connector/protocol.ts';
import { pageInMemory } from '../../storage/paging.ts';
import { listQuery, page } from '../schemas.ts';
import { route } from '../route.ts';
import { workstation, workstationCode } from '../shapes.ts';

export const workstationRoutes = [
  route({
    id: 'createWorkstationCode',
    method: 'post',
    path: '/tenants/:slug/workstations/codes',
    tag: 'workstations',
    access: ['admin'],
    status: 201,
    summary: `A one-time workstation enrollment code (works once, within ${CODE_TTL_MS / 60_000} minutes)`,
    response: workstationCode,
    async handler({ services, tenant, admin, audit }) {
      const { code, expiresAt } = await services.workstationService.newCode(tenant.id, admin.email);
      await audit('admin.workstation.code_created', null, { expiresAt: new Date(expiresAt).toISOString() });
      return { code, expiresAt, validSeconds: CODE_TTL_MS / 1000, url: services.config.publicUrl };
    },
  }),
  route({
    id: 'listWorkstations',
    method: 'get',
    path: '/tenants/:slug/workstations',
    tag: 'workstations',
    access: ['admin', 'auditor', 'helpdesk'],
    summary: 'Enrolled workstations: who is signed in, since when, last seen, sessions bound; search matches the name, address or user',
    query: listQuery,
    response: page(workstation),
    async handler({ services, tenant, query }) {
      const all = await services.workstationService.list(tenant.id);
      return pageInMemory(
        all,
        query,
        (w) => `${String(w.createdAt).padStart(16, '0')}|${w.id}`,
        (w) => [w.name, w.address, w.currentUser?.email ?? null],
      );
    },
  }),
  route({
    id: 'revokeWorkstation',
    method: 'delete',
    path: '/tenants/:slug/workstations/:workstation',
    tag: 'workstations',
    access: ['admin', 'helpdesk'],
    summary: 'Revoke a workstation: its agent is refused from now on, and the sessions started on it end (back-channel logout)',
    response: z.void(),
    async handler({ services, tenant, params, audit }) {
      const r = await services.workstationService.revoke(tenant.id, params.workstation);
      await audit('admin.workstation.revoked', r.workstation.id, { name: r.workstation.name, sessionsEnded: r.sessionsEnded });
    },
  }),
];
