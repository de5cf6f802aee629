// Tenants: create, list, show (with issuer), update session lifetime.
import Router from '@koa/router';
import { z } from 'zod';
import type Koa from 'koa';
import type { Context } from '../../context.ts';
import { GatehouseError } from '../../shared/errors.ts';
import { MAX_SESSION_MINUTES, MIN_SESSION_MINUTES, SLUG_RE, type Tenant } from '../../storage/tenants.ts';
import { issuerFor } from '../../oidc/engine.ts';
import { DEFAULT_TENANT } from '../../tenants/bootstrap.ts';
import { authenticate } from '../auth.ts';
import { audited, expectedVersion, guard, parse } from '../common.ts';

export const sessionLifetime = z.number().int().refine((v) => v === 0 || (v >= MIN_SESSION_MINUTES && v <= MAX_SESSION_MINUTES), {
  message: `must be 0 (off) or between ${MIN_SESSION_MINUTES} minutes and ${MAX_SESSION_MINUTES} minutes (4 days)`,
});
const createBody = z.object({
  slug: z.string().regex(SLUG_RE, 'use 1-40 lowercase letters, digits and hyphens, starting and ending with a letter or digit'),
  name: z.string().min(1).max(200).optional(),
  sessionLifetimeMinutes: sessionLifetime.optional(),
});
const patchBody = z.object({ name: z.string().min(1).max(200).optional(), sessionLifetimeMinutes: sessionLifetime.optional(), version: z.number().int().optional() });

export function tenantView(app: Context, t: Tenant) {
  const issuer = issuerFor(app.config.publicUrl, t.slug);
  return {
    slug: t.slug, name: t.name, issuer, discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    sessionLifetimeMinutes: t.sessionLifetimeMinutes, createdAt: t.createdAt, updatedAt: t.updatedAt, version: t.version,
  };
}

export function tenantRoutes(app: Context, r: Router) {
  const instanceAdmin = async (ctx: Koa.Context) => {
    const admin = await authenticate(app, ctx);
    if (!(admin.tenantSlug === DEFAULT_TENANT && admin.roles.includes('superadmin'))) {
      throw new GatehouseError(403, 'forbidden', 'Only a superadministrator of the default tenant may manage tenants.');
    }
    return admin;
  };
  r.get('/tenants', async (ctx) => {
    await instanceAdmin(ctx as unknown as Koa.Context);
    ctx.body = { items: (await app.tenants.list()).map((t) => tenantView(app, t)), nextCursor: null };
  });
  r.post('/tenants', async (ctx) => {
    const admin = await instanceAdmin(ctx as unknown as Koa.Context);
    const input = parse(createBody, ctx.request.body);
    const t = await app.tenants.create(input);
    await app.keys.ensureKeys(t.id);
    await audited(app, admin, t.id, 'admin.tenant.created', t.slug, { slug: t.slug }, ctx.ip);
    ctx.status = 201;
    ctx.body = tenantView(app, t);
  });
  r.get('/tenants/:slug', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'helpdesk', 'auditor']);
    ctx.body = tenantView(app, tenant);
  });
  r.patch('/tenants/:slug', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, []);
    const input = parse(patchBody, ctx.request.body);
    const t = await app.tenants.update(tenant.id, expectedVersion(ctx, input), input);
    app.engines.invalidate(t.slug);
    await audited(app, admin, t.id, 'admin.tenant.updated', t.slug, { changes: Object.keys(input).filter((k) => k !== 'version') }, ctx.ip);
    ctx.body = tenantView(app, t);
  });
}
