// HTTP for the sign-in pages' branding: the tenant's stylesheet (its background colour) and
// its logo. The pages link to them with the tenant's version in the URL, so they are cached
// for a day and a change shows at once (a new URL).
import Router from '@koa/router';
import type { Services } from '../services.ts';
import { brandingCss, logoImage } from './branding.ts';

export function brandingRouter(services: Services): Router {
  const r = new Router({ prefix: '/t/:slug' });
  const cache = (ctx: { query: Record<string, unknown>; set(k: string, v: string): void }) =>
    ctx.set('Cache-Control', ctx.query.v ? 'public, max-age=86400' : 'no-cache');
  r.get('/branding.css', async (ctx) => {
    const t = await services.tenantStore.bySlug(ctx.params.slug!);
    if (!t) return;
    ctx.type = 'text/css';
    cache(ctx);
    ctx.body = brandingCss(t);
  });
  r.get('/branding/logo', async (ctx) => {
    const t = await services.tenantStore.bySlug(ctx.params.slug!);
    const logo = t && logoImage(t);
    if (!logo) return;
    ctx.type = logo.type;
    cache(ctx);
    ctx.body = logo.bytes;
  });
  return r;
}
