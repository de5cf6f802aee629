// The HTTP surface: security headers, errors, operations endpoints, the sign-in pages,
// the admin API and, under /t/<slug>, each tenant's engine (mounted, never body-parsed).
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Services } from './services.ts';
import type { EngineEntry } from './tenants/engines.ts';
import { withSharedContextGetter } from './oidc/internals/index.ts';
import { GatehouseError } from './shared/errors.ts';
import { OUTAGE_RETRY_AFTER_SECONDS, outageError } from './shared/outage.ts';
import { CSP } from './interaction/html.ts';
import { messagePage } from './interaction/pages.ts';
import { interactionRouter } from './interaction/routes.ts';
import { federationRouter } from './federation/routes.ts';
import { launcherRouter } from './apps/routes.ts';
import { deviceRouter } from './devices/routes.ts';
import { samlRouter } from './saml/routes.ts';
import { accountRouter } from './account/routes.ts';
import { selfServiceRouter } from './selfservice/routes.ts';
import { authenticatorRouter } from './mfa/authenticator/routes.ts';
import { setupRouter } from './tenants/setup-routes.ts';
import { consoleMiddleware } from './admin/console.ts';
import { brandingRouter } from './interaction/branding-routes.ts';
import { noteTenantLocale, pageBranding } from './interaction/branding.ts';
import { metricsText, routeLabel } from './ops/metrics.ts';
import { logRequest, noteRoute } from './ops/access-log.ts';
import { metricsAllowedOnMainPort } from './ops/metrics-access.ts';
import { noteLocale, t, withLocaleScope } from './i18n/index.ts';
import { languageRouter, requestLocaleInputs } from './i18n/routes.ts';
import { agentRouter, workstationRouter } from './workstations/routes.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The sign-in pages' stylesheet and scripts (interaction/assets/), read once at start. */
const ASSETS: Record<string, [type: string, body: Buffer]> = Object.fromEntries(
  ['gatehouse.css', 'webauthn.js', 'push.js', 'remember.js', 'autosubmit.js'].map((name) => [
    name,
    [name.endsWith('.css') ? 'text/css' : 'text/javascript', fs.readFileSync(path.join(here, 'interaction/assets', name))],
  ]),
);

// Engine paths: /t/<slug>/<anything but the tenant's own page and Gatehouse's own pages>.
const ENGINE_PATH = /^\/t\/([a-z0-9-]{1,40})(\/[^?#]*)/;
const GATEHOUSE_PATH =
  /^\/(interaction|federation|launcher|launch|api|account|authenticator|branding|console|device\/checkin|saml|selfservice|workstation)(\/|$|\.css$)/;

/**
 * The server's request handler. Protocol endpoints (token, authorize, userinfo, JWKS, ...)
 * go straight to the tenant's engine: they are most of the traffic, and routing them through
 * every router of the Koa app first cost more than a token request itself. Everything else,
 * and any engine path of an unknown tenant, is the Koa app's.
 */
export function createHttpHandler(services: Services): http.RequestListener {
  const koa = createHttpApp(services).callback();
  const accessLog = services.config.accessLog;
  return (req, res) => {
    if (accessLog) logRequest(req, res, { trustProxy: services.config.trustProxy });
    const m = ENGINE_PATH.exec(req.url ?? '/');
    const rest = m?.[2];
    if (!m || !rest || rest === '/' || GATEHOUSE_PATH.test(rest)) {
      void koa(req, res);
      return;
    }
    const start = process.hrtime.bigint();
    const slug = m[1]!;
    services.engineCache
      .get(slug)
      .then(async (entry) => {
        if (!entry) {
          await koa(req, res);
          return;
        }
        try {
          await serveEngine(services, entry, slug, req, res);
        } finally {
          const route = routeLabel(`/t/${slug}${rest}`);
          services.metrics.latency.observe({ route, method: req.method ?? 'GET' }, Number(process.hrtime.bigint() - start) / 1e9);
          services.metrics.requests.inc({ route, method: req.method ?? 'GET', status: String(res.statusCode) });
        }
      })
      .catch((err: unknown) => {
        services.logger.error({ err, path: rest }, 'unhandled error');
        if (!res.headersSent) {
          res.statusCode = 500;
          res.setHeader('Content-Type', 'application/json; charset=utf-8');
          res.end(
            JSON.stringify({
              error: 'server_error',
              error_description: 'Something went wrong on our side. Try again; if it keeps happening, contact your administrator.',
            }),
          );
        } else res.destroy();
      });
  };
}

/** Hands the raw request to a tenant's engine, which runs as its own Koa app. */
async function serveEngine(services: Services, entry: EngineEntry, slug: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  // req.originalUrl tells the engine where it is mounted, so the URLs it builds carry the prefix.
  const r = req as http.IncomingMessage & { originalUrl?: string };
  r.originalUrl = req.url;
  req.url = req.url!.slice(`/t/${slug}`.length) || '/';
  // The engine builds its endpoint URLs (discovery, redirects) from the request's host: it must
  // be the public URL's, not whatever Host (or X-Forwarded-Host) a client or a proxy sent. Behind
  // nginx with `Host $host` on a non-default port the port was lost; a forged Host header would
  // otherwise be echoed into the discovery document.
  req.headers.host = services.config.publicHost;
  delete req.headers['x-forwarded-host'];
  // Headers the engine keeps; it adds a hash to script-src for its one inline script (form_post).
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Frame-Options', 'DENY');
  if (services.config.publicUrl.startsWith('https:')) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
  // The engine's pages (errors, sign-out) in the request's language; a GET shows again as is.
  await withLocaleScope({ ...requestLocaleInputs(req), back: req.method === 'GET' ? r.originalUrl : undefined }, () => {
    noteTenantLocale(entry.tenant);
    return withSharedContextGetter(() => entry.handler(req, res));
  });
}

export function createHttpApp(services: Services): Koa {
  const koa = new Koa({ proxy: services.config.trustProxy });

  // Each request's language scope (i18n/index.ts): the picker's cookie and Accept-Language
  // now, the tenant, ui_locales and the user when a route learns them. A GET page can be shown
  // again at its own address, so the picker links back to it; a page answering a POST says
  // where its step is shown again (or has no picker).
  koa.use((ctx, next) => withLocaleScope({ ...requestLocaleInputs(ctx.req), back: ctx.method === 'GET' ? ctx.url : undefined }, next));

  // Metrics and access log.
  koa.use(async (ctx, next) => {
    const start = process.hrtime.bigint();
    const path = ctx.path; // read first: mounting an engine rewrites the request URL
    try {
      await next();
    } finally {
      const route = routeLabel(path);
      noteRoute(ctx.res, (ctx as { _matchedRoute?: unknown })._matchedRoute); // for the access log
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      services.metrics.latency.observe({ route, method: ctx.method }, seconds);
      services.metrics.requests.inc({ route, method: ctx.method, status: String(ctx.status) });
    }
  });

  // Errors: a GatehouseError answers with its status; anything else is a bug, logged, and
  // answered without internals. JSON for the API, a page for browsers.
  koa.use(async (ctx, next) => {
    try {
      await next();
    } catch (caught) {
      const err = outageError(caught);
      const e = err as Error & { status?: number; expose?: boolean; code?: string; details?: unknown };
      const status = e instanceof GatehouseError ? e.status : e.status && e.status < 500 ? e.status : 500;
      let code =
        e instanceof GatehouseError
          ? e.code
          : status === 413
            ? 'payload_too_large'
            : status === 415
              ? 'unsupported_media_type'
              : status < 500
                ? 'invalid_request'
                : 'server_error';
      let message =
        e instanceof GatehouseError
          ? e.message
          : status < 500 && e.expose
            ? e.message
            : ctx.path.startsWith('/api/')
              ? 'Something went wrong on our side. Try again; if it keeps happening, contact your administrator.'
              : t('error.server');
      if (status === 400 && /JSON|Unexpected|body/i.test(String(e.message)) && !(e instanceof GatehouseError)) {
        code = 'invalid_body';
        message = 'The request body could not be read. Send valid JSON (API) or form data (pages).';
      }
      if (status === 413) message = 'The request body is too large.';
      if (status === 503) services.logger.warn({ path: ctx.path, cause: String(((err as Error).cause as Error)?.message ?? '') }, 'store unavailable');
      else if (status >= 500) services.logger.error({ err, path: ctx.path }, 'unhandled error');
      ctx.status = status;
      if (ctx.path.startsWith('/api/')) {
        ctx.body = { error: { code, message, ...(e instanceof GatehouseError && e.details ? { details: e.details } : {}) } };
      } else {
        ctx.type = 'html';
        noteLocale({ back: undefined }); // the failed page cannot be shown again as it was
        ctx.body = messagePage({ title: status >= 500 ? t('error.generic.title') : t('error.refused.title'), message });
      }
      if (status === 503) ctx.set('Retry-After', String(OUTAGE_RETRY_AFTER_SECONDS));
    }
  });

  // Security headers on everything Gatehouse renders itself.
  koa.use(async (ctx, next) => {
    await next();
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (services.config.publicUrl.startsWith('https:')) ctx.set('Strict-Transport-Security', 'max-age=31536000');
    if (ctx.response.is('html') && !ctx.response.get('Content-Security-Policy')) {
      ctx.set('Content-Security-Policy', CSP);
      ctx.set('X-Frame-Options', 'DENY');
    }
    if (ctx.response.is('html')) ctx.set('Cache-Control', 'no-store');
  });

  const ops = new Router();
  ops.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  ops.get('/readyz', async (ctx) => {
    const checks: Record<string, string> = {};
    // A store that hangs must not hang the probe: each check gets two seconds.
    const probe = async (name: string, fn: () => Promise<unknown>) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          fn(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('no answer within 2 seconds')), 2000);
          }),
        ]);
        checks[name] = 'ok';
      } catch (e) {
        checks[name] = (e as Error).message || String(e);
      } finally {
        clearTimeout(timer);
      }
    };
    await Promise.all([probe('database', () => services.database.ping()), ...(services.redis ? [probe('redis', () => services.redis!.ping())] : [])]);
    const ready = Object.values(checks).every((v) => v === 'ok');
    ctx.status = ready ? 200 : 503;
    if (!ready) ctx.set('Retry-After', String(OUTAGE_RETRY_AFTER_SECONDS));
    ctx.body = { status: ready ? 'ready' : 'unavailable', checks };
  });
  ops.get('/metrics', async (ctx, next) => {
    // Not for everyone (ops/metrics-access.ts); refused exactly as an unknown address is.
    if (!metricsAllowedOnMainPort(ctx.req, services.config)) return next();
    ctx.type = services.metrics.registry.contentType;
    ctx.body = await metricsText(services.metrics);
  });
  // The sign-in pages' stylesheet and scripts (no inline script under the CSP): cached an hour.
  for (const [name, [type, body]] of Object.entries(ASSETS)) {
    ops.get(`/assets/${name}`, (ctx) => {
      ctx.type = type;
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = body;
    });
  }
  // Browsers ask every site for an icon; "none" (not a 404) keeps their consoles free of errors.
  ops.get('/favicon.ico', (ctx) => {
    ctx.status = 204;
    ctx.set('Cache-Control', 'public, max-age=86400');
  });
  ops.get('/', async (ctx) => {
    ctx.type = 'html';
    ctx.body = messagePage({
      title: 'Gatehouse',
      message: 'This is a Gatehouse single sign-on service. Open an application to sign in.',
      detail: `Default organization issuer: ${services.config.publicUrl}/t/default`,
    });
  });
  koa.use(ops.routes());
  koa.use(languageRouter(services).routes());

  const forms = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '1mb' });
  const interaction = interactionRouter(services);
  koa.use(async (ctx, next) => (/^\/t\/[^/]+\/(interaction|account|device|selfservice)\//.test(ctx.path) ? forms(ctx, next) : next()));
  // Before the sign-in pages: a workstation link's sign-in is finished without a page.
  koa.use(workstationRouter(services).routes());
  koa.use(agentRouter(services).routes());
  koa.use(interaction.routes());
  koa.use(interaction.allowedMethods());
  koa.use(federationRouter(services).routes());
  koa.use(launcherRouter(services).routes());
  koa.use(deviceRouter(services).routes());
  koa.use(samlRouter(services).routes());
  koa.use(accountRouter(services).routes());
  koa.use(selfServiceRouter(services).routes());
  koa.use(brandingRouter(services).routes());
  koa.use(authenticatorRouter(services).routes());
  const setup = setupRouter(services);
  koa.use(async (ctx, next) => (ctx.path.startsWith('/setup') ? forms(ctx, next) : next()));
  koa.use(setup.routes());
  koa.use(consoleMiddleware(services));
  // The admin API is loaded with its first request: a serving node that is never administered
  // does not carry its code and schemas (the idle footprint is a target, see bench/).
  let admin: Promise<Router> | undefined;
  koa.use(async (ctx, next) => {
    if (!ctx.path.startsWith('/api/')) return next();
    if (!admin) {
      admin = import('./admin/routes.ts').then((m) => m.adminRouter(services));
      admin.catch(() => {
        admin = undefined;
      }); // answered as an error now, tried again next time
    }
    const r = await admin;
    await json(ctx, () => r.routes()(ctx as never, () => r.allowedMethods()(ctx as never, next)));
  });
  koa.use(async (ctx, next) => {
    if (!ctx.path.startsWith('/api/')) return next();
    ctx.status = 404;
    ctx.body = { error: { code: 'not_found', message: `There is no ${ctx.method} ${ctx.path} in the admin API. See docs/admin-api.md.` } };
  });

  // A tenant's own address: say where the person is and what to do.
  koa.use(async (ctx, next) => {
    const m = /^\/t\/([a-z0-9-]{1,40})\/?$/.exec(ctx.path);
    if (!m || ctx.method !== 'GET') return next();
    const tenant = await services.tenantStore.bySlug(m[1]!);
    if (!tenant) return next();
    ctx.type = 'html';
    noteTenantLocale(tenant);
    ctx.body = messagePage({
      title: tenant.name,
      message: t('tenant.home', { name: tenant.name }),
      detail: `Issuer: ${services.config.publicUrl}/t/${tenant.slug}`,
      branding: pageBranding(tenant),
    });
  });

  // Each tenant's engine under /t/<slug> (reached here only for a tenant the fast path in
  // createHttpHandler did not find: it answers with the unknown-organization page).
  koa.use(async (ctx, next) => {
    const m = /^\/t\/([a-z0-9-]{1,40})(\/.*)?$/.exec(ctx.path);
    if (!m) return next();
    const entry = await services.engineCache.get(m[1]!);
    if (!entry) {
      ctx.status = 404;
      if (ctx.accepts('html', 'json') === 'json') ctx.body = { error: 'not_found', error_description: `There is no tenant "${m[1]}".` };
      else {
        ctx.type = 'html';
        ctx.body = messagePage({
          title: t('error.unknownOrg.title'),
          message: t('error.unknownOrg.message', { slug: m[1]! }),
          detail: t('error.unknownOrg.detail'),
        });
      }
      return;
    }
    ctx.respond = false;
    await serveEngine(services, entry, m[1]!, ctx.req, ctx.res);
    ctx.status = ctx.res.statusCode; // for metrics
  });

  // Nothing above answered: a page for people, JSON for programs.
  koa.use(async (ctx) => {
    ctx.status = 404;
    if (ctx.accepts('html', 'json') === 'html') {
      ctx.type = 'html';
      noteLocale({ back: undefined });
      ctx.body = messagePage({ title: t('error.notFound.title'), message: t('error.notFound.message'), detail: t('error.notFound.detail') });
    } else {
      ctx.body = { error: 'not_found', error_description: `There is nothing at ${ctx.path}.` };
    }
  });

  return koa;
}
