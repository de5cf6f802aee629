// SPNEGO on the sign-in step (RFC 4559). Registered before the sign-in pages, for the
// interaction's first page when a sign-in is wanted:
//  - no Authorization header: the normal sign-in page, answered `401` with
//    `WWW-Authenticate: Negotiate`, so a browser with a ticket for Gatehouse sends it and
//    one without simply shows the page (no dialog);
//  - `Authorization: Negotiate <token>`: a valid ticket of a known, active user finishes the
//    sign-in with no page (amr `wia`, RFC 8176); the engine then asks for a second factor when
//    the user's policy or the app wants one, as after a password. Otherwise the normal page
//    (200, no new challenge: a browser would otherwise send the same ticket again) and an
//    audit event saying why (`kerberos.fallback`).
import Router from '@koa/router';
import type { Services } from '../services.ts';
import { MFA_REQUIRED, SSO_DISABLED } from '../oidc/engine.ts';
import { signInSucceeded } from '../interaction/signin.ts';

export function negotiateRouter(services: Services): Router {
  const router = new Router({ prefix: '/t/:slug' });
  router.get('/interaction/:uid', async (ctx, next) => {
    const entry = await services.engineCache.get(ctx.params.slug!);
    if (!entry) return next();
    const s = await services.kerberosService.offeredTo(entry.tenant.id, ctx.ip);
    if (!s) return next();
    const details = await entry.provider.interactionDetails(ctx.req, ctx.res).catch(() => undefined);
    if (!details || details.uid !== ctx.params.uid || details.prompt.name !== 'login'
      || details.prompt.reasons.includes(MFA_REQUIRED) || details.prompt.reasons.includes(SSO_DISABLED)) return next();
    const header = ctx.get('authorization');
    const m = /^Negotiate\s+([A-Za-z0-9+/=]{1,65536})$/.exec(header);
    if (!m) {
      await next();
      if (ctx.status === 200 && ctx.response.is('html')) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Negotiate');
      }
      return;
    }
    const tenant = entry.tenant;
    const clientId = typeof details.params.client_id === 'string' ? details.params.client_id : null;
    const r = await services.kerberosService.accept(tenant, s, m[1]!);
    if (!r.ok) {
      await services.auditStore.record({ tenantId: tenant.id, type: 'kerberos.fallback', level: 'warn', subject: r.principal ?? null, ip: ctx.ip, data: { reason: r.reason, principal: r.principal, clientId, detail: r.detail } });
      return next();
    }
    await signInSucceeded(services, tenant, r.user, { ip: ctx.ip }, { clientId, amr: ['wia'], via: 'kerberos' });
    const to = await entry.provider.interactionResult(ctx.req, ctx.res, { login: { accountId: r.user.id, amr: ['wia'], acr: 'urn:gatehouse:loa:pwd', remember: true } }, { mergeWithLastSubmission: true });
    ctx.status = 303;
    ctx.redirect(to);
  });
  return router;
}
