// Upstream directories: leaving for one (code + PKCE, state and nonce kept sealed in the
// browser: federation/transaction.ts), and coming back once federation/routes.ts has checked
// its answer, to finish the sign-in.
import type Router from '@koa/router';
import { messagePage } from '../pages.ts';
import { clearTransaction, readTransaction, saveTransaction } from '../../federation/transaction.ts';
import { emailField, type Flow } from '../flow.ts';
import { t as msg } from '../../i18n/index.ts';

export function registerUpstream(router: Router, flow: Flow): void {
  const { services } = flow;

  // Leave for an upstream directory: code + PKCE, state and nonce kept sealed in the browser.
  router.get('/upstream/:upstreamId', async (ctx) => {
    const it = await flow.load(ctx);
    if (!it) return;
    const up = await services.upstreamStore.byId(it.tenant.id, ctx.params.upstreamId!);
    const email = typeof ctx.query.email === 'string' && emailField.safeParse(ctx.query.email).success ? ctx.query.email.toLowerCase() : undefined;
    // Only where routing or a button would send the person: an enabled upstream, or Test mode for its test users.
    if (!up || up.mode === 'disabled' || (up.mode === 'test' && !(email && up.settings.testUsers.includes(email)))) {
      ctx.status = 404;
      ctx.body = messagePage({
        title: msg('error.directory.title'),
        message: msg('error.directory.message'),
        detail: msg('error.directory.detail'),
        branding: flow.branding(it.tenant),
      });
      return;
    }
    const clientId = flow.clientIdOf(it);
    const t = {
      uid: it.details.uid,
      upstreamId: up.id,
      state: flow.random(),
      nonce: flow.random(),
      verifier: flow.random(),
      email,
      clientId: clientId ?? undefined,
    };
    let to: URL;
    try {
      to = await services.federationService.authorizationUrl(up, t, services.federationService.redirectUrl(it.tenant));
    } catch (e) {
      await services.auditStore.record({
        tenantId: it.tenant.id,
        type: 'federation.error',
        level: 'error',
        ip: ctx.ip,
        clientId,
        data: { clientId, upstream: up.name, upstreamId: up.id, message: `Could not reach ${up.name} to start a sign-in: ${(e as Error).message}.` },
      });
      ctx.status = 502;
      ctx.body = messagePage({
        title: msg('error.upstreamDown.title'),
        message: msg('error.upstreamDown.message', { upstream: up.name }),
        detail: msg('error.upstreamDown.detail'),
        branding: flow.branding(it.tenant),
      });
      return;
    }
    saveTransaction(services, ctx, it.tenant.slug, t);
    await services.auditStore.record({
      tenantId: it.tenant.id,
      type: 'federation.redirect',
      ip: ctx.ip,
      clientId: t.clientId ?? null,
      data: {
        clientId: t.clientId,
        upstream: up.name,
        upstreamId: up.id,
        message: `Sent ${email ?? 'a user'} to ${up.name} to sign in.`,
        loginHint: !!(email && up.settings.loginHint),
      },
    });
    ctx.status = 303;
    ctx.redirect(to.href);
  });

  // Back from the upstream (federation/routes.ts checked everything): finish the sign-in.
  router.get('/federated', async (ctx) => {
    const it = await flow.load(ctx);
    if (!it) return;
    const t = readTransaction(services, ctx);
    clearTransaction(services, ctx, it.tenant.slug);
    if (!t?.result || t.uid !== it.details.uid) return flow.expired(ctx, it);
    await flow.finish(ctx, it.provider, { login: { accountId: t.result.accountId, amr: t.result.amr, acr: t.result.acr, remember: true } });
  });
}
