// HTTP for the Gatehouse Authenticator: the installable web app itself (/authenticator/: the
// page, its script and style, the service worker, the manifest and icons; read from disk on
// first request) and the API its devices call under /t/<slug>/authenticator/api (JSON). Every
// call but enrollment is signed by the device's key; the rules are in ../push.ts.
import Router from '@koa/router';
import type Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Services } from '../../services.ts';
import type { Tenant } from '../../storage/tenants.ts';
import { GatehouseError } from '../../shared/errors.ts';
import { enrollBody, signedBody } from '../push.ts';
import { CATALOGS, currentLocale } from '../../i18n/index.ts';
import { esc, jsonScript } from '../../interaction/html.ts';

type Ctx = Koa.ParameterizedContext<Koa.DefaultState, Koa.DefaultContext & { params: Record<string, string> }>;

/** The app's page may register its service worker and read its manifest; nothing else is loosened. */
const APP_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const FILES: Record<string, { file: string; type: string; cache: string }> = {
  '': { file: 'index.html', type: 'text/html; charset=utf-8', cache: 'no-cache' },
  'app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8', cache: 'no-cache' },
  'app.css': { file: 'app.css', type: 'text/css; charset=utf-8', cache: 'no-cache' },
  // The browser checks the service worker for updates itself; it must not be cached long.
  'sw.js': { file: 'sw.js', type: 'text/javascript; charset=utf-8', cache: 'no-cache' },
  'manifest.webmanifest': { file: 'manifest.webmanifest', type: 'application/manifest+json', cache: 'public, max-age=3600' },
  'icon.svg': { file: 'icon.svg', type: 'image/svg+xml', cache: 'public, max-age=86400' },
};

const loaded = new Map<string, Buffer>();
const appFile = (name: string) => {
  let b = loaded.get(name);
  if (!b) loaded.set(name, (b = fs.readFileSync(path.join(import.meta.dirname, 'app', name))));
  return b;
};

/**
 * The app's page in the request's language: index.html's {{key}} marks filled with the
 * catalog's texts (escaped), and every auth.* text in a JSON block for app.js (which cannot
 * ask the server once it runs offline from the service worker's copy).
 */
function appPage(): string {
  const lang = currentLocale();
  const texts = Object.fromEntries(Object.entries(CATALOGS[lang]).filter(([k]) => k.startsWith('auth.')));
  return appFile('index.html')
    .toString('utf8')
    .replace(/\{\{([\w.]+)\}\}/g, (m, key: string) =>
      key === 'lang' ? lang : key === 'strings' ? jsonScript('strings', texts).render() : key in texts ? esc(texts[key]) : m,
    );
}

/** The home-screen icon as PNG (installing needs 192 and 512 pixel icons): a ring on the accent colour. */
function iconPng(size: number): Buffer {
  const key = `icon-${size}.png`;
  const hit = loaded.get(key);
  if (hit) return hit;
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8;
  ihdr[9] = 2; // 8-bit RGB
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3);
    for (let x = 0; x < size; x++) {
      const r = Math.hypot(x - size / 2, y - size / 2) / size;
      const white = r < 0.3 && r > 0.18;
      row.set(white ? [255, 255, 255] : [0x1f, 0x5e, 0xff], 1 + x * 3);
    }
    rows.push(row);
  }
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  loaded.set(key, png);
  return png;
}

export function authenticatorRouter(services: Services): Router {
  // strict: the app lives at /authenticator/ (with the slash: its scope and relative URLs).
  const router = new Router({ strict: true });
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '16kb' });

  router.get('/authenticator', (ctx) => {
    ctx.status = 301;
    ctx.redirect('/authenticator/');
  });
  const serve = (ctx: Ctx, next: Koa.Next) => {
    const name = ctx.params.file ?? '';
    if (name === 'icon-192.png' || name === 'icon-512.png') {
      ctx.type = 'image/png';
      ctx.set('Cache-Control', 'public, max-age=86400');
      ctx.body = iconPng(name === 'icon-192.png' ? 192 : 512);
      return;
    }
    const f = FILES[name];
    if (!f) return next();
    ctx.set('Content-Type', f.type);
    ctx.set('Cache-Control', f.cache);
    if (name === '') {
      ctx.set('Content-Security-Policy', APP_CSP);
      ctx.set('X-Frame-Options', 'DENY');
      ctx.set('Vary', 'Accept-Language, Cookie');
      ctx.body = appPage();
      return;
    }
    ctx.body = appFile(f.file);
  };
  router.get('/authenticator/', serve);
  router.get('/authenticator/:file', serve);

  // --- the devices' API: JSON answers, errors included ---
  const api = new Router({ prefix: '/t/:slug/authenticator/api' });
  api.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      await next();
    } catch (e) {
      const err = e as Error & { status?: number };
      const status = e instanceof GatehouseError ? e.status : err.status && err.status < 500 ? err.status : 0;
      if (!status) throw e; // a bug or an outage: the app's error handling answers (and logs it)
      ctx.status = status;
      ctx.body = {
        error: {
          code: e instanceof GatehouseError ? e.code : 'invalid_request',
          message: e instanceof GatehouseError ? e.message : 'The request could not be read. Send JSON.',
        },
      };
    }
  });
  const tenantOf = async (ctx: Ctx): Promise<Tenant> => {
    const tenant = (await services.engineCache.get(ctx.params.slug!))?.tenant; // cached per node
    if (!tenant) throw new GatehouseError(404, 'not_found', `There is no organization "${ctx.params.slug}" on this Gatehouse.`);
    return tenant;
  };
  const parse = <T>(
    schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } },
    body: unknown,
  ): T => {
    const r = schema.safeParse(body);
    if (!r.success)
      throw new GatehouseError(
        400,
        'invalid_request',
        `The request is not valid: ${r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}.`,
      );
    return r.data;
  };

  api.post('/enroll', json, async (ctx) => {
    const tenant = await tenantOf(ctx);
    ctx.body = await services.pushService.completeEnrollment(tenant, parse(enrollBody, ctx.request.body), ctx.ip);
  });

  api.post('/ticket', json, async (ctx) => {
    const tenant = await tenantOf(ctx);
    ctx.body = { ticket: await services.pushService.streamTicket(tenant, parse(signedBody, ctx.request.body).jws) };
  });

  api.post('/decide', json, async (ctx) => {
    const tenant = await tenantOf(ctx);
    ctx.body = { outcome: await services.pushService.decide(tenant, parse(signedBody, ctx.request.body).jws, ctx.ip) };
  });

  // Server-sent events: the requests waiting for this device's user, now and whenever they change.
  api.get('/events', async (ctx) => {
    const tenant = await tenantOf(ctx);
    const device = typeof ctx.query.ticket === 'string' ? services.pushService.openTicket(tenant, ctx.query.ticket) : undefined;
    if (!device) throw new GatehouseError(401, 'ticket_expired', 'The stream ticket is missing or expired. Ask for a new one.');
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.req.socket.setKeepAlive(true);
    // Written straight to the response (not a Koa stream body): a phone going away is the
    // normal end of a stream, not an error.
    ctx.status = 200;
    ctx.respond = false;
    const res = ctx.res;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'X-Accel-Buffering': 'no', // nginx: deliver each event at once
    });
    res.on('error', () => {
      /* the phone went away mid-write */
    });
    res.write('retry: 3000\n\n');
    const detach = services.pushService.streams.attach(tenant.id, device.userId, device.deviceId, { write: (chunk) => res.write(chunk), end: () => res.end() });
    res.once('close', detach);
  });

  router.use(api.routes());
  return router;
}
