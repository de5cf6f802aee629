// Upstream directories (superadmin only, as OIDC configuration is in the reference; others
// may read). Saving fetches the upstream's discovery document and checks its issuer.
import Router from '@koa/router';
import { z } from 'zod';
import type { Context } from '../../context.ts';
import type { Tenant } from '../../storage/tenants.ts';
import type { Upstream } from '../../storage/upstreams.ts';
import { settingsInput } from '../../federation/upstreams.ts';
import { audited, expectedVersion, guard, parse } from '../common.ts';

const mode = z.enum(['disabled', 'test', 'enabled']);
const name = z.string().trim().min(1).max(100);
const secret = z.string().min(1).max(1000);
const createBody = settingsInput.extend({ name, mode: mode.default('disabled'), clientSecret: secret.optional() });
const patchBody = z.object({
  name: name.optional(), mode: mode.optional(), clientSecret: secret.nullable().optional(), version: z.number().int().optional(),
  // Only the fields sent (no defaults filled in here): merged into the current settings, and the whole checked below.
  settings: z.record(z.string(), z.unknown()).optional(),
});

export function upstreamRoutes(app: Context, r: Router) {
  const view = (tenant: Tenant, u: Upstream) => {
    const { issuer, discoveryUrl, ...settings } = u.settings;
    return {
      id: u.id, name: u.name, mode: u.mode, ...settings, discoveryUrl, issuer, hasClientSecret: !!u.clientSecretSealed,
      redirectUrl: app.federation.redirectUrl(tenant), createdAt: u.createdAt, updatedAt: u.updatedAt, version: u.version,
    };
  };

  r.get('/tenants/:slug/upstreams', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'auditor']);
    ctx.body = { items: (await app.upstreams.list(tenant.id)).map((u) => view(tenant, u)), nextCursor: null, redirectUrl: app.federation.redirectUrl(tenant) };
  });

  r.post('/tenants/:slug/upstreams', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, []);
    const { name: n, mode: m, clientSecret, ...input } = parse(createBody, ctx.request.body);
    const settings = await app.federation.prepare(input);
    const created = await app.upstreams.create(tenant.id, { name: n, mode: m, settings, clientSecretSealed: clientSecret ? app.sealer.seal(clientSecret) : null });
    await app.federation.changed(tenant.id);
    await audited(app, admin, tenant.id, 'admin.upstream.created', created.id, { name: n, mode: m, type: settings.type, issuer: settings.issuer }, ctx.ip);
    ctx.status = 201;
    ctx.body = view(tenant, created);
  });

  r.get('/tenants/:slug/upstreams/:id', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'auditor']);
    ctx.body = view(tenant, await app.upstreams.get(tenant.id, ctx.params.id!));
  });

  r.patch('/tenants/:slug/upstreams/:id', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, []);
    const input = parse(patchBody, ctx.request.body);
    const current = await app.upstreams.get(tenant.id, ctx.params.id!);
    // Settings are checked as a whole (and discovery fetched again) whenever any of them change.
    const settings = input.settings && Object.keys(input.settings).length
      ? await app.federation.prepare(parse(settingsInput, { ...current.settings, ...input.settings, ...(input.settings.authorityUrl !== undefined && { discoveryUrl: undefined }) }))
      : undefined;
    const updated = await app.upstreams.update(tenant.id, current.id, expectedVersion(ctx, input), {
      name: input.name, mode: input.mode, settings,
      ...(input.clientSecret !== undefined && { clientSecretSealed: input.clientSecret === null ? null : app.sealer.seal(input.clientSecret) }),
    });
    await app.federation.changed(tenant.id);
    await audited(app, admin, tenant.id, 'admin.upstream.updated', current.id, { name: updated.name, changes: [...Object.keys(input).filter((k) => k !== 'version' && k !== 'settings'), ...Object.keys(input.settings ?? {})], mode: updated.mode }, ctx.ip);
    ctx.body = view(tenant, updated);
  });

  r.delete('/tenants/:slug/upstreams/:id', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, []);
    await app.upstreams.delete(tenant.id, ctx.params.id!);
    await app.federation.changed(tenant.id);
    await audited(app, admin, tenant.id, 'admin.upstream.deleted', ctx.params.id!, {}, ctx.ip);
    ctx.status = 204;
  });
}
