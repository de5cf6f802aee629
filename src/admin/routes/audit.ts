// The audit log (the reference's Logs tab): filters by level, message text, time, user,
// application and type; newest first, a page at a time; exports as CSV or JSON.
import { z } from 'zod';
import type { Services } from '../../services.ts';
import type { AuditQuery } from '../../storage/audit.ts';
import type { Tenant } from '../../storage/tenants.ts';
import { csvLines, jsonArray } from '../../audit/export.ts';
import { auditEvent, page } from '../schemas.ts';
import { Download, route } from '../route.ts';

const filters = {
  level: z.enum(['info', 'warn', 'error']).optional(),
  text: z.string().max(200).optional().describe('message contains: text in the type, subject, actor or data (case-insensitive)'),
  since: z.coerce.number().int().min(0).optional().describe('occurred at or after (epoch ms)'),
  until: z.coerce.number().int().min(0).optional().describe('occurred at or before (epoch ms)'),
  user: z.string().max(254).optional().describe('a user (id or email): events about them, or changes they made'),
  app: z.string().max(128).optional().describe('an application (client ID or profile name): events about it'),
  type: z.string().max(100).optional().describe('an event type, like signin.failed'),
};
const listFilters = z.object({
  ...filters,
  cursor: z.string().max(100).optional().describe('nextCursor of the page before'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const exportFilters = z.object({ ...filters, format: z.enum(['csv', 'json']).default('csv') });

export const MAX_EXPORT_EVENTS = 100_000;

/** The store query for the filters: a user and an app are looked up by what a person types. */
async function storeQuery(services: Services, tenant: Tenant, f: z.infer<z.ZodObject<typeof filters>>): Promise<AuditQuery> {
  const { user, app: appRef, ...rest } = f;
  const q: AuditQuery = { tenantId: tenant.id, ...rest };
  if (user) {
    const u = user.includes('@') ? await services.userStore.userByEmail(tenant.id, user) : await services.userStore.userById(tenant.id, user);
    q.user = u ? { id: u.id, email: u.email } : user.includes('@') ? { email: user.toLowerCase() } : { id: user };
  }
  if (appRef)
    q.clientId = ((await services.appStore.byTenantClientId(tenant.id, appRef)) ?? (await services.appStore.byName(tenant.id, appRef)))?.clientId ?? appRef;
  return q;
}

export const auditRoutes = [
  route({
    id: 'listAudit',
    method: 'get',
    path: '/tenants/:slug/audit',
    tag: 'audit',
    access: ['auditor', 'admin'],
    summary: 'Audit events, newest first (default 50 a page, at most 500)',
    query: listFilters,
    response: page(auditEvent),
    async handler({ services, tenant, query }) {
      const { cursor, limit, ...f } = query;
      return services.auditStore.query({ ...(await storeQuery(services, tenant, f)), cursor, limit });
    },
  }),
  route({
    id: 'exportAudit',
    method: 'get',
    path: '/tenants/:slug/audit/export',
    tag: 'audit',
    access: ['auditor', 'admin'],
    download: ['csv', 'json'],
    summary: `Download the events matching the filters (newest first, at most ${MAX_EXPORT_EVENTS.toLocaleString('en')}) as CSV or JSON`,
    description:
      'CSV columns: id, time (ISO 8601), level, type, actor, subject, userId, clientId, ip, message, data (the rest of the event, JSON). Cells a spreadsheet would run as a formula start with an apostrophe.',
    query: exportFilters,
    response: auditEvent,
    async handler({ services, tenant, query, audit }) {
      const { format, ...f } = query;
      const q = await storeQuery(services, tenant, f);
      // The export is itself audited (who took a copy of the log), before it is read.
      await audit('admin.audit.exported', null, { format, filters: f });
      async function* events() {
        for await (const e of services.auditStore.all(q, MAX_EXPORT_EVENTS)) yield auditEvent.parse(e);
      }
      const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
      return format === 'csv'
        ? new Download(`audit-${tenant.slug}-${stamp}.csv`, 'text/csv; charset=utf-8', csvLines(events()))
        : new Download(`audit-${tenant.slug}-${stamp}.json`, 'application/json; charset=utf-8', jsonArray(events()));
    },
  }),
];
