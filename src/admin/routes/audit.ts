// Audit log: filter by type, level, text and time; newest first.
import Router from '@koa/router';
import { z } from 'zod';
import type { Context } from '../../context.ts';
import { guard, parse } from '../common.ts';

const query = z.object({
  type: z.string().max(100).optional(), level: z.enum(['info', 'warn', 'error']).optional(), text: z.string().max(200).optional(),
  since: z.coerce.number().int().optional(), until: z.coerce.number().int().optional(),
  cursor: z.string().max(100).optional(), limit: z.coerce.number().int().min(1).max(500).optional(),
});

export function auditRoutes(app: Context, r: Router) {
  r.get('/tenants/:slug/audit', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['auditor', 'admin']);
    ctx.body = await app.audit.query({ tenantId: tenant.id, ...parse(query, ctx.query) });
  });
}
