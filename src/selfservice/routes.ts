// The self-service pages' HTTP surface (issue 17), under /t/<slug>/selfservice/:
//   forgot   "Forgot your password?": ask for a reset link (the same answer whether or not the
//            account exists; the work is done after the answer, so its timing says nothing)
//   reset    choose a new password from the link (GET shows the form, POST uses the link)
//   verify   confirm an email address (GET shows a button, POST uses the link: mail scanners
//            that open links do not use them up)
// The forms carry no CSRF token: the reset and verify forms are authenticated by the link's
// secret itself, and a forged "forgot" request only sends the owner a link (throttled).
import Router from '@koa/router';
import type Koa from 'koa';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import { messagePage } from '../interaction/pages.ts';
import { forgotPage, forgotSentPage, newPasswordPage, verifyPage } from '../interaction/pages/selfservice.ts';
import { noteTenantLocale, pageBranding } from '../interaction/branding.ts';
import { noteLocale, t as msg } from '../i18n/index.ts';
import { issuerFor } from '../oidc/engine.ts';
import { textProblem } from '../shared/input.ts';
import { linkProblem, type LinkProblem } from './service.ts';
import { messages } from './messages.ts';

type Ctx = Koa.ParameterizedContext<Koa.DefaultState, Koa.DefaultContext & { params: Record<string, string> }>;
const t = messages.pages;

const field = (ctx: Ctx, name: string): string => {
  const v = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
};

/** Where "Back to sign-in" may lead: only this tenant's own sign-in pages. */
export const safeBack = (slug: string, back: unknown): string | undefined =>
  typeof back === 'string' && back.length < 300 && new RegExp(`^/t/${slug}/interaction/[A-Za-z0-9_-]+$`).test(back) ? back : undefined;

const linkStatus = (p: LinkProblem) => (p === 'used' || p === 'expired' ? 410 : 400);

export function selfServiceRouter(services: Services): Router {
  const router = new Router({ prefix: '/t/:slug/selfservice' });
  const base = (tenant: Tenant) => `${issuerFor(services.config.publicUrl, tenant.slug)}/selfservice`;

  async function tenantOf(ctx: Ctx): Promise<Tenant | undefined> {
    const tenant = await services.tenantStore.bySlug(ctx.params.slug!);
    if (!tenant) {
      ctx.status = 404;
      ctx.body = messagePage({ title: msg('error.unknownOrg.title'), message: t.unknownTenant(ctx.params.slug!), detail: msg('error.unknownOrg.detail') });
      return undefined;
    }
    noteTenantLocale(tenant);
    return tenant;
  }

  router.get('/forgot', async (ctx) => {
    const tenant = await tenantOf(ctx);
    if (!tenant) return;
    ctx.body = forgotPage({ branding: pageBranding(tenant), action: `${base(tenant)}/forgot`, back: safeBack(tenant.slug, ctx.query.back) });
  });

  router.post('/forgot', async (ctx) => {
    const tenant = await tenantOf(ctx);
    if (!tenant) return;
    const identifier = field(ctx, 'identifier').trim();
    const problem = !identifier
      ? msg('forgot.empty')
      : identifier.length > 320
        ? msg('forgot.tooLong')
        : textProblem(identifier)
          ? msg('forgot.badText')
          : undefined;
    if (problem) {
      ctx.status = 400;
      ctx.body = forgotPage({ branding: pageBranding(tenant), action: `${base(tenant)}/forgot`, error: problem });
      return;
    }
    // Not awaited: the answer is the same, and as fast, whatever the request finds.
    void services.selfService
      .requestReset(tenant, identifier, { ip: ctx.ip })
      .catch((err: unknown) => services.logger.error({ err, tenant: tenant.slug }, 'a password reset request failed'));
    ctx.body = forgotSentPage({ branding: pageBranding(tenant), again: `${base(tenant)}/forgot` });
  });

  router.get('/reset', async (ctx) => {
    const tenant = await tenantOf(ctx);
    if (!tenant) return;
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    // No language picker here: its way back would copy the link's secret into another address.
    noteLocale({ back: undefined });
    const c = await services.selfService.checkLink(tenant, token, 'reset');
    if (!c.ok) {
      ctx.status = linkStatus(c.problem);
      ctx.body = messagePage({
        branding: pageBranding(tenant),
        title: t.reset.linkTitle,
        message: linkProblem(c.problem),
        detail: msg('link.askNew', { url: `${base(tenant)}/forgot` }),
      });
      return;
    }
    ctx.body = newPasswordPage({ branding: pageBranding(tenant), action: `${base(tenant)}/reset`, token, who: c.user.email });
  });

  router.post('/reset', async (ctx) => {
    const tenant = await tenantOf(ctx);
    if (!tenant) return;
    const token = field(ctx, 'token');
    const password = field(ctx, 'password');
    const again = (error: string, who?: string) => {
      ctx.status = 400;
      ctx.body = newPasswordPage({ branding: pageBranding(tenant), action: `${base(tenant)}/reset`, token, who, error });
    };
    const c = await services.selfService.checkLink(tenant, token, 'reset');
    if (c.ok && password !== field(ctx, 'confirm')) {
      again(t.reset.mismatch, c.user.email);
      return;
    }
    const r = await services.selfService.resetPassword(tenant, token, password, { ip: ctx.ip });
    if (!r.ok && !r.problem) {
      again(r.message, c.ok ? c.user.email : undefined);
      return;
    }
    if (!r.ok) {
      ctx.status = linkStatus(r.problem!);
      ctx.body = messagePage({
        branding: pageBranding(tenant),
        title: t.reset.linkTitle,
        message: r.message,
        detail: msg('link.askNew', { url: `${base(tenant)}/forgot` }),
      });
      return;
    }
    ctx.body = messagePage({ branding: pageBranding(tenant), title: t.reset.doneTitle, message: t.reset.done, detail: t.reset.doneDetail });
  });

  router.get('/verify', async (ctx) => {
    const tenant = await tenantOf(ctx);
    if (!tenant) return;
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    noteLocale({ back: undefined }); // as on the reset page: the secret stays in one address
    const c = await services.selfService.checkLink(tenant, token, 'verify');
    if (!c.ok) {
      ctx.status = linkStatus(c.problem);
      ctx.body = messagePage({
        branding: pageBranding(tenant),
        title: t.verify.linkTitle,
        message: linkProblem(c.problem),
        detail: msg('link.sendNew', { url: `${issuerFor(services.config.publicUrl, tenant.slug)}/account` }),
      });
      return;
    }
    ctx.body = verifyPage({ branding: pageBranding(tenant), action: `${base(tenant)}/verify`, token, email: c.user.email });
  });

  router.post('/verify', async (ctx) => {
    const tenant = await tenantOf(ctx);
    if (!tenant) return;
    const r = await services.selfService.verifyEmail(tenant, field(ctx, 'token'), { ip: ctx.ip });
    if (!r.ok) {
      ctx.status = 410;
      ctx.body = messagePage({
        branding: pageBranding(tenant),
        title: t.verify.linkTitle,
        message: r.message,
        detail: msg('link.sendNew', { url: `${issuerFor(services.config.publicUrl, tenant.slug)}/account` }),
      });
      return;
    }
    ctx.body = messagePage({ branding: pageBranding(tenant), title: t.verify.doneTitle, message: t.verify.done });
  });

  return router;
}
