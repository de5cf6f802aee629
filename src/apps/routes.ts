// HTTP for the app launcher (/t/<slug>/launcher), stable launch links
// (/t/<slug>/launch/<clientId>) and the profile endpoint apps call with a bearer token
// (/t/<slug>/api/profile). Rules are in launch.ts.
//
// The launcher learns who is signed in through interaction/whoami.ts: with an SSO session a
// silent round trip; without one the user signs in, and the launch continues afterwards.
// The same round trip serves the account page (account/routes.ts).
import Router from '@koa/router';
import type Koa from 'koa';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import { startSignIn, finishSignIn } from '../interaction/whoami.ts';
import { ACCOUNT, openAccount } from '../account/routes.ts';
import { handoffPage, launcherPage, messagePage } from '../interaction/pages.ts';
import { issuerFor, MFA_ACR, MFA_ACRS } from '../oidc/engine.ts';
import { policyRequiresMfa } from '../policy/policies.ts';
import { launch, launchable, launcherApps } from './launch.ts';
import { noteTenantLocale, pageBranding } from '../interaction/branding.ts';
import { noteLocale, t } from '../i18n/index.ts';

type Ctx = Koa.ParameterizedContext<Koa.DefaultState, Koa.DefaultContext & { params: Record<string, string> }>;

export function launcherRouter(services: Services): Router {
  const router = new Router({ prefix: '/t/:slug' });

  const page = (ctx: Ctx, status: number, title: string, message: string, detail?: string) => {
    ctx.status = status;
    ctx.type = 'html';
    noteLocale({ back: undefined }); // a refusal: showing it again would not help
    ctx.body = messagePage({ title, message, detail });
  };

  async function tenantOf(ctx: Ctx): Promise<Tenant | undefined> {
    const tenant = await services.tenantStore.bySlug(ctx.params.slug!);
    if (!tenant) page(ctx, 404, t('error.unknownOrg.title'), t('error.unknownOrg.message', { slug: ctx.params.slug! }), t('error.unknownOrg.detail'));
    else noteTenantLocale(tenant);
    return tenant;
  }

  const signInFirst = (ctx: Ctx, tenant: Tenant, next: string | null) => startSignIn(services, ctx, tenant, next);

  router.get('/launcher', async (ctx) => {
    const tenant = await tenantOf(ctx);
    if (tenant) signInFirst(ctx, tenant, null);
  });

  // A stable link an organization can put on any page.
  router.get('/launch/:clientId', async (ctx) => {
    const tenant = await tenantOf(ctx);
    if (!tenant) return;
    const a = await services.appStore.byTenantClientId(tenant.id, ctx.params.clientId!);
    if (!a || !launchable(a)) return page(ctx, 404, t('launcher.notFound.title'), t('launcher.notFound.message'), t('launcher.notFound.detail'));
    signInFirst(ctx, tenant, a.clientId);
  });

  router.get('/launcher/callback', async (ctx) => {
    const tenant = await tenantOf(ctx);
    if (!tenant) return;
    const r = await finishSignIn(services, ctx, tenant);
    if (!r.ok) return page(ctx, r.status, r.title, r.message, r.detail);
    const { who, next } = r;
    const user = who.user;
    // Signed in: the user's saved language; the picker returns to the launcher itself (this
    // callback's code works once).
    noteLocale({ user: user.locale, back: new URL(`${issuerFor(services.config.publicUrl, tenant.slug)}/launcher`).pathname });
    if (next === ACCOUNT) return openAccount(services, ctx, tenant, user);
    const entry = await services.engineCache.get(tenant.slug);

    if (!next) {
      const apps = await launcherApps(services, tenant, user);
      ctx.type = 'html';
      ctx.body = launcherPage({
        email: user.email,
        apps: apps.map((a) => ({
          name: a.displayName,
          logo: a.logo,
          url: `${issuerFor(services.config.publicUrl, tenant.slug)}/launch/${a.clientId}`,
          kind: a.type,
        })),
        signOutUrl: `${issuerFor(services.config.publicUrl, tenant.slug)}/session/end`,
        accountUrl: `${issuerFor(services.config.publicUrl, tenant.slug)}/account`,
        branding: pageBranding(tenant),
      });
      return;
    }
    const a = await services.appStore.byTenantClientId(tenant.id, next);
    if (!a || !launchable(a) || !(await services.appService.isDeployedTo(a, user))) {
      await services.auditStore.record({
        tenantId: tenant.id,
        type: 'authorization.not_deployed',
        level: 'warn',
        subject: user.id,
        ip: ctx.ip,
        data: { clientId: next, email: user.email, message: `${user.email} tried to open an application not deployed to them.` },
      });
      return page(
        ctx,
        403,
        t('notDeployed.title'),
        t('notDeployed.message', { app: a?.displayName ?? t('common.thisApp'), email: user.email }),
        t('notDeployed.detail'),
      );
    }
    // A hand-off app gets a token here, without its own sign-in: when it (or the user's
    // policy) needs two-step verification and this session's sign-in lacked it, step up first.
    if (
      a.type === 'handoff' &&
      !MFA_ACRS.includes(String(who.acr)) &&
      (a.requireMfa || policyRequiresMfa(await services.policyService.settingsFor(user), { ip: ctx.ip, clientId: a.clientId }))
    ) {
      return startSignIn(services, ctx, tenant, a.clientId, { acrValues: MFA_ACR });
    }
    const go = await launch(services, tenant, entry!.provider, a, who);
    if (go.kind === 'session_ended')
      return page(
        ctx,
        409,
        t('launcher.signedOut.title'),
        t('launcher.signedOut.message', { app: a.displayName }),
        t('launcher.signedOut.detail', { url: `${issuerFor(services.config.publicUrl, tenant.slug)}/launch/${a.clientId}` }),
      );
    if (go.kind === 'redirect') {
      ctx.status = 303;
      ctx.redirect(go.url);
      return;
    }
    ctx.type = 'html';
    ctx.set('Referrer-Policy', 'no-referrer');
    noteLocale({ back: undefined }); // the hand-off form carries a token: never shown again
    ctx.body = handoffPage({ appName: a.displayName, url: go.url, fields: go.fields });
  });

  // The profile of the user an access token was issued for: what a hand-off app calls.
  router.get('/api/profile', async (ctx) => {
    const tenant = await services.tenantStore.bySlug(ctx.params.slug!);
    const m = /^Bearer ([A-Za-z0-9._~+/-]{1,2048}=*)$/.exec(ctx.get('authorization'));
    const refuse = (error: string, description: string) => {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', `Bearer error="${error}", error_description="${description}"`);
      ctx.body = { error, error_description: description };
    };
    if (!tenant) return refuse('invalid_token', 'unknown organization');
    if (!m) return refuse('invalid_request', 'send the access token as Authorization: Bearer <token>');
    const entry = await services.engineCache.get(tenant.slug);
    const token = await entry!.provider.AccessToken.find(m[1]!);
    if (!token?.accountId) return refuse('invalid_token', 'the access token is unknown, expired or revoked');
    // Sender-constrained tokens need their proof, which this endpoint does not take.
    if (token.jkt || token['x5t#S256']) return refuse('invalid_token', 'this access token is sender-constrained; call userinfo with its proof');
    const user = await services.userStore.userById(tenant.id, token.accountId);
    if (user?.status !== 'active') return refuse('invalid_token', 'the account is no longer active');
    const scopes = new Set(String(token.scope ?? '').split(' '));
    const groups = scopes.has('profile') ? (await services.userStore.groupsOfUser(tenant.id, user.id)).map((g) => g.name) : undefined;
    ctx.body = {
      sub: user.id,
      ...(scopes.has('email') && { email: user.email }),
      ...(scopes.has('profile') && {
        givenName: user.givenName,
        familyName: user.familyName,
        name: [user.givenName, user.familyName].filter(Boolean).join(' ') || user.email,
        groups,
      }),
    };
  });

  return router;
}
