// Kerberos (SPNEGO, RFC 4559) on the start page, before identify (kerberos/service.ts has the
// rules; docs/workstations.md). When the tenant offers Negotiate to this address and a sign-in
// is wanted:
//  - no Authorization header: identify's page, answered `401` with `WWW-Authenticate:
//    Negotiate`, so a browser with a ticket for Gatehouse sends it and one without simply
//    shows the page (no dialog);
//  - `Authorization: Negotiate <token>`: a valid ticket of a known, active user finishes the
//    sign-in with no page (amr `wia`, RFC 8176); the engine then asks for a second factor when
//    the user's policy or the app wants one, as after a password. Otherwise identify's page
//    (200, no new challenge: a browser would send the same ticket again) and an audit event
//    `kerberos.fallback` saying why.
import type Router from '@koa/router';
import { MFA_REQUIRED, SSO_DISABLED } from '../../oidc/engine.ts';
import type { Flow } from '../flow.ts';

const NEGOTIATE = /^Negotiate\s+([A-Za-z0-9+/=]{1,65536})$/;

export function registerNegotiate(router: Router, flow: Flow): void {
  const { services } = flow;
  router.get('/', async (ctx, next) => {
    const entry = await services.engineCache.get(ctx.params.slug!);
    const s = entry && (await services.kerberosService.offeredTo(entry.tenant.id, ctx.ip));
    if (!s) return next();
    const it = await flow.load(ctx);
    if (!it) return;
    const { details, tenant } = it;
    if (details.prompt.name !== 'login' || details.prompt.reasons.includes(MFA_REQUIRED) || details.prompt.reasons.includes(SSO_DISABLED)) return next();
    const m = NEGOTIATE.exec(ctx.get('authorization'));
    if (!m) {
      await next();
      if (ctx.status === 200 && ctx.response.is('html')) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Negotiate');
      }
      return;
    }
    const r = await services.kerberosService.accept(tenant, s, m[1]!);
    if (!r.ok) {
      await services.auditStore.record({
        tenantId: tenant.id,
        type: 'kerberos.fallback',
        level: 'warn',
        subject: r.principal ?? null,
        ip: ctx.ip,
        data: { reason: r.reason, principal: r.principal, clientId: flow.clientIdOf(it), detail: r.detail },
      });
      return next();
    }
    await flow.signedIn(ctx, it, r.user, { amr: ['wia'], acr: 'urn:gatehouse:loa:pwd', via: 'kerberos' });
  });
}
