// Serves the admin console (console/, built into console/dist by scripts/build-console.ts):
// index.html per tenant at /t/<slug>/console/... (every path under it: the console routes in
// the browser), its content-hashed assets once for all tenants at /console/assets/, and
// /console and /console/<page>, which lead to that page of the default tenant's console. The
// console is a public OIDC client of its tenant's engine (oidc/clients.ts CONSOLE_CLIENT_ID)
// and talks only to the admin API.
import type Koa from 'koa';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Services } from '../services.ts';
import { esc } from '../interaction/html.ts';
import { messagePage } from '../interaction/pages.ts';
import { adminApiResource, CONSOLE_CLIENT_ID, CONSOLE_SCOPE } from '../oidc/clients.ts';
import { issuerFor } from '../oidc/engine.ts';
import { DEFAULT_TENANT } from '../tenants/bootstrap.ts';

export const CONSOLE_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console/dist');

/** What the console's page may load: its own scripts and styles, images it shows (logos are data: URLs), calls to this origin. */
export const consoleCsp = (publicUrl: string) =>
  `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ${new URL(publicUrl).origin}; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** The console's settings for one tenant, as the page's <meta name="gatehouse-console"> (no inline script). */
export function consoleSettings(services: Services, tenant: { slug: string; name: string }) {
  const issuer = issuerFor(services.config.publicUrl, tenant.slug);
  return {
    tenant: tenant.slug,
    tenantName: tenant.name,
    issuer,
    clientId: CONSOLE_CLIENT_ID,
    scope: `openid email profile ${CONSOLE_SCOPE}`,
    resource: adminApiResource(services.config.publicUrl),
    api: `${services.config.publicUrl}/api/v1`,
    base: `/t/${tenant.slug}/console`,
  };
}

/** Koa middleware for the console's addresses; everything else passes through untouched. */
export function consoleMiddleware(services: Services): Koa.Middleware {
  // Read once: the build happens before the server starts (npm install / npm start).
  let index: string | null | undefined;
  const indexHtml = () => {
    if (index === undefined) {
      try {
        index = fs.readFileSync(path.join(CONSOLE_DIST, 'index.html'), 'utf8');
      } catch {
        index = null;
      }
    }
    return index;
  };
  const assets = new Map<string, Buffer | null>();

  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === '/console' || ctx.path === '/console/') {
      ctx.redirect(`/t/${DEFAULT_TENANT}/console/${ctx.search}`);
      return;
    }
    // A deep link without a tenant (/console/apps, a bookmark, a link in a message): the same
    // page of the default tenant's console, query kept. Assets are not pages: a missing one is 404.
    const deep = /^\/console(\/(?!assets\/).+)$/.exec(ctx.path);
    if (deep) {
      ctx.redirect(`/t/${DEFAULT_TENANT}/console${deep[1]!}${ctx.search}`);
      return;
    }

    const asset = /^\/console\/assets\/([A-Za-z0-9._-]{1,200})$/.exec(ctx.path);
    if (asset) {
      const file = asset[1]!;
      const type = TYPES[path.extname(file)];
      let body = type ? assets.get(file) : null;
      if (body === undefined) {
        try {
          body = fs.readFileSync(path.join(CONSOLE_DIST, 'assets', file));
        } catch {
          body = null;
        }
        if (assets.size < 500) assets.set(file, body);
      }
      if (!body || !type) return next();
      ctx.type = type;
      // Names carry a content hash: a new build has new names.
      ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
      ctx.body = body;
      return;
    }

    const page = /^\/t\/([a-z0-9-]{1,40})\/console(\/.*)?$/.exec(ctx.path);
    if (!page) return next();
    const tenant = await services.tenantStore.bySlug(page[1]!);
    if (!tenant) return next(); // the unknown-organization page further on
    if (!page[2]) {
      ctx.redirect(`/t/${tenant.slug}/console/`);
      return;
    }
    const html = indexHtml();
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    if (!html) {
      ctx.status = 503;
      ctx.body = messagePage({
        title: 'Admin console not built',
        message: 'This Gatehouse was installed without building its admin console.',
        detail: 'Run npm ci (or npm start), which builds it, then reload this page. The admin API works without it.',
      });
      return;
    }
    ctx.set('Content-Security-Policy', consoleCsp(services.config.publicUrl));
    ctx.set('X-Frame-Options', 'DENY');
    ctx.body = html.replace('<!--gatehouse-settings-->', `<meta name="gatehouse-console" content="${esc(JSON.stringify(consoleSettings(services, tenant)))}">`);
  };
}
