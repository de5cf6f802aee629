// Where upstream directories send the browser back: /t/<slug>/federation/callback (the
// redirect URL administrators register at the upstream). HTTP only; the rules are in
// upstreams.ts.
import Router from '@koa/router';
import type { Services } from '../services.ts';
import { messagePage } from '../interaction/pages.ts';
import { noteTenantLocale } from '../interaction/branding.ts';
import { noteLocale, t as msg } from '../i18n/index.ts';
import { federatedUser } from './upstreams.ts';
import { refusalIn } from '../shared/outbound.ts';
import { clearTransaction, readTransaction, saveTransaction } from './transaction.ts';

/** What went wrong with the upstream, in words (never its raw response). */
function upstreamProblem(e: unknown): string {
  const err = e as { code?: string; error?: string; error_description?: string; message?: string; cause?: { code?: string; message?: string } };
  const refused = refusalIn(e);
  if (refused) return `Gatehouse refused to contact it (${refused.message})`;
  if (/signature/i.test(`${err.message} ${err.cause?.message}`)) return 'its ID token signature did not verify';
  if (err.error) return `it answered ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`;
  if (/JWT|claim/i.test(`${err.message} ${err.cause?.message}`)) return `its ID token was not valid (${err.cause?.message ?? err.message})`;
  if (/fetch failed|timed? ?out|ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH/i.test(`${err.message} ${err.cause?.code} ${err.cause?.message}`))
    return `it could not be reached (${err.cause?.code ?? err.message})`;
  return err.message ?? 'its answer could not be used';
}

export function federationRouter(services: Services): Router {
  const router = new Router({ prefix: '/t/:slug/federation' });

  router.get('/callback', async (ctx) => {
    const slug = ctx.params.slug!;
    const tenant = await services.tenantStore.bySlug(slug);
    const page = (status: number, title: string, message: string, detail: string) => {
      ctx.status = status;
      ctx.type = 'html';
      noteLocale({ back: undefined }); // the upstream's answer works once
      ctx.body = messagePage({ title, message, detail });
    };
    if (!tenant) return page(404, msg('error.unknownOrg.title'), msg('error.unknownOrg.message', { slug }), msg('error.unknownOrg.detail'));
    noteTenantLocale(tenant);
    const t = readTransaction(services, ctx);
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    if (!t || t.result || t.state !== state) {
      return page(400, msg('error.expired.title'), msg('federation.expired'), msg('error.expired.detail'));
    }
    const up = await services.upstreamStore.byId(tenant.id, t.upstreamId);
    if (!up || up.mode === 'disabled') {
      clearTransaction(services, ctx, slug);
      return page(400, msg('error.directory.title'), msg('federation.gone'), msg('federation.goneDetail'));
    }
    const audit = (type: string, level: 'info' | 'warn' | 'error', data: Record<string, unknown>) =>
      services.auditStore.record({
        tenantId: tenant.id,
        type,
        level,
        ip: ctx.ip,
        clientId: t.clientId ?? null,
        data: { upstream: up.name, upstreamId: up.id, clientId: t.clientId, ...data },
      });
    if (typeof ctx.query.error === 'string') {
      const why = `${ctx.query.error}${typeof ctx.query.error_description === 'string' ? `: ${ctx.query.error_description.slice(0, 300)}` : ''}`;
      await audit('federation.callback', 'warn', { message: `${up.name} ended the sign-in with an error (${why}).`, error: ctx.query.error });
      clearTransaction(services, ctx, slug);
      return page(
        400,
        'Sign-in not completed',
        `${up.name} did not sign you in (${why}).`,
        'Go back to the application and try again. If this keeps happening, contact your administrator.',
      );
    }
    await audit('federation.callback', 'info', { message: `Back from ${up.name} with an authorization code.` });
    let claims: Record<string, unknown>;
    try {
      const url = new URL(services.federationService.redirectUrl(tenant));
      url.search = ctx.querystring;
      const r = await services.federationService.exchange(up, url, t);
      claims = r.claims;
      await audit('federation.token', 'info', { message: `${up.name} issued tokens for ${String(claims.email ?? claims.sub)}.`, subject: claims.sub });
      if (r.userinfo)
        await audit('federation.userinfo', 'info', {
          message: `Fetched the profile of ${String(claims.email ?? claims.sub)} from ${up.name}'s userinfo endpoint.`,
        });
    } catch (e) {
      const problem = upstreamProblem(e);
      await audit('federation.error', 'error', { message: `Sign-in through ${up.name} failed: ${problem}.` });
      clearTransaction(services, ctx, slug);
      return page(502, msg('federation.failed.title'), msg('federation.failed.message', { upstream: up.name, problem }), msg('federation.failed.detail'));
    }
    let result;
    try {
      result = await federatedUser(services, tenant, up, claims, ctx.ip, t.clientId);
    } catch (e) {
      const err = e as { status?: number; message?: string };
      if (!err.status || err.status >= 500) throw e;
      await audit('federation.error', 'warn', { message: err.message });
      clearTransaction(services, ctx, slug);
      return page(err.status, msg('federation.failed.title'), err.message ?? msg('federation.unusable'), msg('federation.contactAdmin'));
    }
    if (!result.ok) {
      clearTransaction(services, ctx, slug);
      return page(result.status, result.title, result.message, result.detail);
    }
    saveTransaction(services, ctx, slug, { ...t, result: { accountId: result.user.id, amr: result.amr, acr: result.acr } });
    ctx.status = 303;
    ctx.redirect(`${services.config.publicUrl}/t/${slug}/interaction/${t.uid}/federated`);
  });

  return router;
}
