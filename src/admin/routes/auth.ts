// POST /api/v1/auth/token: an administrator's email and password for an admin access token.
import Router from '@koa/router';
import { z } from 'zod';
import type { Context } from '../../context.ts';
import { GatehouseError } from '../../shared/errors.ts';
import { passwordSignIn } from '../../interaction/signin.ts';
import { DEFAULT_TENANT } from '../../tenants/bootstrap.ts';
import { issueAdminToken } from '../auth.ts';
import { parse } from '../common.ts';

const body = z.object({ email: z.email().max(254), password: z.string().min(1).max(256), tenant: z.string().max(40).default(DEFAULT_TENANT) });

export function authRoutes(app: Context, r: Router) {
  r.post('/auth/token', async (ctx) => {
    const input = parse(body, ctx.request.body);
    const tenant = await app.tenants.bySlug(input.tenant);
    if (!tenant) throw new GatehouseError(401, 'invalid_credentials', 'The email or password is incorrect.');
    const res = await passwordSignIn(app, tenant, input.email, input.password, ctx.ip);
    if (!res.ok) throw new GatehouseError(res.reason === 'throttled' ? 429 : 401, res.reason === 'throttled' ? 'throttled' : 'invalid_credentials', res.reason === 'disabled' ? 'This account is disabled.' : res.message);
    if (res.user.roles.length === 0) throw new GatehouseError(403, 'forbidden', 'This account is not an administrator.');
    ctx.body = await issueAdminToken(app, tenant, res.user);
  });
}
