// HTTP for workstations (issue 19): the agent's signed API under /agent/v1 (JSON), and the
// browser side of a one-time link:
//   /t/<slug>/workstation/open/<token>   the link is spent; a sign-in through the engine starts
//                                        (the launcher's client, prompt=login, its own callback)
//   /t/<slug>/interaction/<uid>          that sign-in's interaction is finished with the
//                                        workstation's user (no page), then the engine continues
//   /t/<slug>/workstation/callback       the code is redeemed here; the session it names is
//                                        bound to the workstation; the browser goes on to the target
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import type { Services } from '../services.ts';
import { sealedCookie } from '../shared/sealed-cookie.ts';
import { GatehouseError } from '../shared/errors.ts';
import { startSignIn, finishSignIn } from '../interaction/whoami.ts';
import { passwordSignIn } from '../interaction/signin.ts';
import { messagePage } from '../interaction/pages.ts';
import { noteTenantLocale } from '../interaction/branding.ts';
import { t as msg } from '../i18n/index.ts';
import { issuerFor, workstationRedirectUri } from '../oidc/engine.ts';
import { LAUNCHER_CLIENT_ID } from '../oidc/clients.ts';
import type { WorkstationLink } from '../storage/workstations.ts';
import { AGENT_PREFIX, HEADERS } from './protocol.ts';
import { desktopAccount } from './service.ts';

const MAX_BODY = 64 * 1024;

const enrollBody = z.object({
  code: z.string().min(1).max(64),
  name: z.string().trim().min(1).max(200),
  publicKey: z.string().min(1).max(2000),
  signature: z.string().min(1).max(200),
  version: z.string().max(50).default('unknown'),
});
const signinBody = z.object({ user: z.string().trim().min(1).max(254), password: z.string().min(1).max(1024) });
const linkBody = z.object({
  target: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .optional(),
});

async function rawBody(ctx: Koa.Context): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of ctx.req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new GatehouseError(413, 'payload_too_large', 'The request body is too large.');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parse<T>(schema: z.ZodType<T>, body: string): T {
  let json: unknown;
  try {
    json = body ? JSON.parse(body) : {};
  } catch {
    throw new GatehouseError(400, 'bad_request', 'The request body is not JSON.');
  }
  const r = schema.safeParse(json);
  if (!r.success)
    throw new GatehouseError(
      400,
      'bad_request',
      `The request is not valid: ${r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}.`,
    );
  return r.data;
}

/** The agent's API: JSON in, JSON out (errors too: `{ error: { code, message } }`). */
export function agentRouter(services: Services): Router {
  const router = new Router({ prefix: AGENT_PREFIX });
  const ws = services.workstationService;
  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (e) {
      if (!(e instanceof GatehouseError)) throw e;
      ctx.status = e.status;
      ctx.body = { error: { code: e.code, message: e.message } };
    }
  });
  /** The call's signature, timestamp and workstation checked (workstations/protocol.ts); its body. */
  const signed = async (ctx: Koa.Context) => {
    const body = await rawBody(ctx);
    const h = (n: string) => {
      const v = ctx.get(n);
      return v || undefined;
    };
    const w = await ws.verifyCall(
      { id: h(HEADERS.id), ts: h(HEADERS.ts), sig: h(HEADERS.sig) },
      { method: ctx.method, path: ctx.path, body, ip: ctx.ip, version: h('x-gatehouse-agent-version')?.slice(0, 50) ?? null },
    );
    return { w, body };
  };

  router.post('/enroll', async (ctx) => {
    const b = parse(enrollBody, await rawBody(ctx));
    const { workstation, tenant } = await ws.enroll(b, ctx.ip);
    ctx.status = 201;
    ctx.body = { workstationId: workstation.id, tenant: tenant.slug, name: workstation.name };
  });

  router.post('/signin', async (ctx) => {
    const { w, body } = await signed(ctx);
    const b = parse(signinBody, body);
    const tenant = (await services.tenantStore.byId(w.tenantId))!;
    const account = await desktopAccount(services.userStore, tenant.id, b.user);
    const r = account ? await passwordSignIn(services, tenant, account.email, b.password, { ip: ctx.ip }) : undefined;
    if (!r?.ok) {
      if (!account)
        await services.auditStore.record({
          tenantId: tenant.id,
          type: 'workstation.signin_failed',
          level: 'warn',
          subject: b.user,
          ip: ctx.ip,
          data: { workstationId: w.id, reason: 'unknown_user' },
        });
      if (r?.retryAfter) ctx.set('Retry-After', String(r.retryAfter));
      throw new GatehouseError(
        r?.reason === 'throttled' ? 429 : r?.reason === 'unavailable' ? 503 : 401,
        'signin_failed',
        r?.message ?? 'The user name or password is incorrect. Check them and try again.',
      );
    }
    const s = await ws.signedIn(w, r.user, ctx.ip);
    ctx.body = { user: { id: r.user.id, email: r.user.email }, previousUser: s.previous, sessionsEnded: s.sessionsEnded };
  });

  router.post('/signout', async (ctx) => {
    const { w } = await signed(ctx);
    ctx.body = { sessionsEnded: await ws.signedOut(w, ctx.ip) };
  });

  router.post('/link', async (ctx) => {
    const { w, body } = await signed(ctx);
    const b = parse(linkBody, body);
    const tenant = (await services.tenantStore.byId(w.tenantId))!;
    ctx.body = await ws.newLink(w, b.target ?? `${issuerFor(services.config.publicUrl, tenant.slug)}/launcher`, services.config.publicUrl);
  });
  return router;
}

/** The browser side of a link (see the top of this file). Registered before the sign-in pages. */
export function workstationRouter(services: Services): Router {
  const router = new Router({ prefix: '/t/:slug' });
  /** The link being opened, and the state of the sign-in it started (so it finishes only that one). */
  const opening = sealedCookie<{ link: WorkstationLink; state: string; finished?: boolean }>(services, 'gh_ws', 2 * 60_000);
  const page = (ctx: Koa.Context, status: number, title: string, message: string, detail: string) => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = messagePage({ title, message, detail });
  };
  const unknownTenant = (ctx: Koa.Context) =>
    page(ctx, 404, msg('error.unknownOrg.title'), msg('error.unknownOrg.message', { slug: ctx.params.slug! }), msg('error.unknownOrg.detail'));

  router.get('/workstation/open/:token', async (ctx) => {
    const tenant = await services.tenantStore.bySlug(ctx.params.slug!);
    if (!tenant) return unknownTenant(ctx);
    noteTenantLocale(tenant);
    let link: WorkstationLink;
    try {
      link = await services.workstationService.useLink(tenant, ctx.params.token!, ctx.ip);
    } catch (e) {
      if (!(e instanceof GatehouseError)) throw e;
      return page(ctx, e.status, msg('ws.linkInvalid.title'), e.message, msg('ws.linkInvalid.detail'));
    }
    const state = startSignIn(services, ctx, tenant, null, { prompt: 'login', redirectUri: workstationRedirectUri(services, tenant) });
    opening.save(ctx, tenant.slug, { link, state });
  });

  // The engine asks for the sign-in the link started: finished with the workstation's user.
  router.get('/interaction/:uid', async (ctx, next) => {
    const o = opening.read(ctx);
    if (!o || o.finished) return next();
    const entry = await services.engineCache.get(ctx.params.slug!);
    if (!entry || entry.tenant.id !== o.link.tenantId) return next();
    const details = await entry.provider.interactionDetails(ctx.req, ctx.res).catch(() => undefined);
    if (
      !details ||
      details.uid !== ctx.params.uid ||
      details.params.client_id !== LAUNCHER_CLIENT_ID ||
      details.params.state !== o.state ||
      details.params.redirect_uri !== workstationRedirectUri(services, entry.tenant) ||
      details.prompt.name !== 'login'
    )
      return next();
    const user = await services.userStore.userById(entry.tenant.id, o.link.userId);
    if (user?.status !== 'active') {
      opening.clear(ctx, entry.tenant.slug);
      return page(ctx, 403, msg('disabled.title'), msg('password.disabled'), msg('roundtrip.disabled.detail'));
    }
    // Once: a second factor the policy asks for afterwards is the sign-in pages' to ask.
    opening.save(ctx, entry.tenant.slug, { ...o, finished: true });
    // The desktop user proved their password to the agent's Gatehouse call (amr pwd).
    const to = await entry.provider.interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId: user.id, amr: ['pwd'], acr: 'urn:gatehouse:loa:pwd', remember: true } },
      { mergeWithLastSubmission: true },
    );
    ctx.status = 303;
    ctx.redirect(to);
  });

  router.get('/workstation/callback', async (ctx) => {
    const tenant = await services.tenantStore.bySlug(ctx.params.slug!);
    if (!tenant) return unknownTenant(ctx);
    noteTenantLocale(tenant);
    const o = opening.read(ctx);
    opening.clear(ctx, tenant.slug);
    const r = await finishSignIn(services, ctx, tenant, workstationRedirectUri(services, tenant));
    if (!r.ok) return page(ctx, r.status, r.title, r.message, r.detail);
    if (!o || o.link.tenantId !== tenant.id || r.who.user.id !== o.link.userId || !r.who.sessionUid) {
      return page(ctx, 400, msg('roundtrip.expired.title'), msg('ws.incomplete.message'), msg('ws.incomplete.detail'));
    }
    await services.workstationService.bind(o.link, r.who.sessionUid);
    ctx.status = 303;
    ctx.redirect(o.link.target);
  });
  return router;
}
