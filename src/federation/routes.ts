// Where upstream directories send the browser back: /t/<slug>/federation/callback (the
// redirect URL administrators register at the upstream). HTTP only; the rules are in
// upstreams.ts.
import Router from '@koa/router';
import type { Services } from '../services.ts';
import { messagePage } from '../interaction/pages.ts';
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
  if (/fetch failed|timed? ?out|ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH/i.test(`${err.message} ${err.cause?.code} ${err.cause?.message}`)) return `it could not be reached (${err.cause?.code ?? err.message})`;
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
      ctx.body = messagePage({ title, message, detail });
    };
    if (!tenant) return page(404, 'Unknown organization', `There is no organization "${slug}" on this Gatehouse.`, 'Check the address you were given.');
    const t = readTransaction(services, ctx);
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    if (!t || t.result || t.state !== state) {
      return page(400, 'Sign-in expired', 'This sign-in took too long, was already completed, or was started in another browser.', 'Go back to the application and sign in again.');
    }
    const up = await services.upstreamStore.byId(tenant.id, t.upstreamId);
    if (!up || up.mode === 'disabled') {
      clearTransaction(services, ctx, slug);
      return page(400, 'Directory not available', 'The directory you were signing in through is no longer enabled here.', 'Go back to the application and sign in again; ask your administrator if this keeps happening.');
    }
    const audit = (type: string, level: 'info' | 'warn' | 'error', data: Record<string, unknown>) =>
      services.auditStore.record({ tenantId: tenant.id, type, level, ip: ctx.ip, clientId: t.clientId ?? null, data: { upstream: up.name, upstreamId: up.id, clientId: t.clientId, ...data } });
    if (typeof ctx.query.error === 'string') {
      const why = `${ctx.query.error}${typeof ctx.query.error_description === 'string' ? `: ${ctx.query.error_description.slice(0, 300)}` : ''}`;
      await audit('federation.callback', 'warn', { message: `${up.name} ended the sign-in with an error (${why}).`, error: ctx.query.error });
      clearTransaction(services, ctx, slug);
      return page(400, 'Sign-in not completed', `${up.name} did not sign you in (${why}).`, 'Go back to the application and try again. If this keeps happening, contact your administrator.');
    }
    await audit('federation.callback', 'info', { message: `Back from ${up.name} with an authorization code.` });
    let claims: Record<string, unknown>;
    try {
      const url = new URL(services.federationService.redirectUrl(tenant));
      url.search = ctx.querystring;
      const r = await services.federationService.exchange(up, url, t);
      claims = r.claims;
      await audit('federation.token', 'info', { message: `${up.name} issued tokens for ${String(claims.email ?? claims.sub)}.`, subject: claims.sub });
      if (r.userinfo) await audit('federation.userinfo', 'info', { message: `Fetched the profile of ${String(claims.email ?? claims.sub)} from ${up.name}'s userinfo endpoint.` });
    } catch (e) {
      const problem = upstreamProblem(e);
      await audit('federation.error', 'error', { message: `Sign-in through ${up.name} failed: ${problem}.` });
      clearTransaction(services, ctx, slug);
      return page(502, 'Sign-in failed', `Gatehouse could not complete your sign-in through ${up.name}: ${problem}.`, 'Try again in a moment. If this keeps happening, tell your administrator; the details are in the Gatehouse logs.');
    }
    let result;
    try {
      result = await federatedUser(services, tenant, up, claims, ctx.ip, t.clientId);
    } catch (e) {
      const err = e as { status?: number; message?: string };
      if (!err.status || err.status >= 500) throw e;
      await audit('federation.error', 'warn', { message: err.message });
      clearTransaction(services, ctx, slug);
      return page(err.status, 'Sign-in failed', err.message ?? 'Your account could not be used.', 'Contact your administrator.');
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
