// Signing keys and certificates of a tenant; rotation.
import Router from '@koa/router';
import { z } from 'zod';
import type { Context } from '../../context.ts';
import { audited, guard, parse } from '../common.ts';

export function keyRoutes(app: Context, r: Router) {
  r.get('/tenants/:slug/keys', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'auditor']);
    ctx.body = { items: await app.keys.list(tenant.id), nextCursor: null };
  });
  r.post('/tenants/:slug/keys/rotate', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, []);
    const input = parse(z.object({ alg: z.enum(['RS256', 'ES256']).optional() }), ctx.request.body);
    const result = await app.keys.rotate(tenant.id, input.alg);
    app.engines.invalidate(tenant.slug);
    await audited(app, admin, tenant.id, 'admin.keys.rotated', null, { ...result }, ctx.ip);
    ctx.body = result;
  });
}
