// The first step: the interaction's start page (what the engine's prompt asks for: the email
// page, a step-up to a second factor, a refusal, or the consent deployment implies), and the
// email address posted from it (routed to an upstream directory that claims it, or on to the
// password page).
import type Router from '@koa/router';
import { identifierPage, mfaSetupNeededPage, notDeployedPage, passwordPage, ssoDisabledPage, upstreamPage } from '../pages.ts';
import { issuerFor, MFA_REQUIRED, SSO_DISABLED } from '../../oidc/engine.ts';
import { acrRequestOf, mfaCauses, type MfaCause } from '../../policy/acr.ts';
import type { AbortReason } from '../abort.ts';
import { impliedGrant } from '../../oidc/grants.ts';
import { CONSOLE_CLIENT_ID } from '../../oidc/clients.ts';
import { policyRequiresMfa } from '../../policy/policies.ts';
import { emailField, formOf, type Flow, type Interaction, type StepContext } from '../flow.ts';
import { noteLocale, t } from '../../i18n/index.ts';
import { checkIdentifier } from '../../selfservice/identifiers.ts';

export function registerIdentify(router: Router, flow: Flow): void {
  const { services } = flow;

  router.get('/', async (ctx) => {
    const it = await flow.load(ctx);
    if (!it) return;
    // The sign-in (re)starts here ("Use another account", a reload): a request sent earlier is over.
    await flow.withdrawPush(ctx);
    const { details, tenant, profile } = it;
    const common = flow.common(it);
    if (details.prompt.name === 'login' && details.prompt.reasons.includes(SSO_DISABLED)) {
      ctx.status = 403;
      ctx.body = ssoDisabledPage({ ...common, action: flow.abortAction(it, 'sso_disabled') });
      return;
    }
    // Step-up: signed in, but this app wants a second factor the session's sign-in lacked.
    if (details.prompt.name === 'login' && details.prompt.reasons.includes(MFA_REQUIRED) && details.session?.accountId) {
      const user = await services.userStore.userById(tenant.id, details.session.accountId);
      if (user && (await flow.secondFactorStep(ctx, it, user))) return;
      if (user) {
        // Name the real cause: the app's setting, the user's policy, or the app's request.
        const causes: MfaCause[] = mfaCauses({
          signedIn: details.session.acr,
          request: acrRequestOf(details.params),
          appRequiresMfa: !!profile?.requireMfa,
          policyRequiresMfa: policyRequiresMfa(await services.policyService.settingsFor(user), { ip: ctx.ip, clientId: profile?.clientId }),
        });
        await services.auditStore.record({
          tenantId: tenant.id,
          type: 'mfa.not_enrolled',
          level: 'warn',
          subject: user.id,
          ip: ctx.ip,
          data: { email: user.email, clientId: profile?.clientId, causes },
        });
        ctx.status = 403;
        ctx.body = mfaSetupNeededPage({
          ...common,
          action: flow.abortAction(it, `mfa:${causes.join(',')}` as AbortReason),
          email: user.email,
          accountUrl: `${issuerFor(services.config.publicUrl, tenant.slug)}/account`,
          causes,
          acrValues: acrRequestOf(details.params)?.values,
        });
        return;
      }
    }
    if (details.prompt.name === 'login') {
      // login_hint: an email, or a username in any form the tenant accepts.
      const checked = typeof details.params.login_hint === 'string' ? checkIdentifier(tenant, details.params.login_hint) : undefined;
      const hint = checked?.ok ? checked.value : undefined;
      await flow.emailPage(ctx, it, { email: hint });
      return;
    }
    // consent: loadExistingGrant declined, which means the app is not deployed to this user.
    const user = details.session?.accountId ? await services.userStore.userById(tenant.id, details.session.accountId) : undefined;
    if (details.params.client_id === CONSOLE_CLIENT_ID) {
      // The admin console says why itself (it shows who is signed in and offers to sign out).
      await services.auditStore.record({
        tenantId: tenant.id,
        type: 'authorization.not_admin',
        level: 'warn',
        subject: user?.id ?? null,
        ip: ctx.ip,
        data: {
          clientId: CONSOLE_CLIENT_ID,
          email: user?.email,
          message: `${user?.email ?? 'A user'} tried to open the admin console without an administrator role.`,
        },
      });
      await flow.finish(ctx, it.provider, {
        error: 'access_denied',
        error_description: `${user?.email ?? 'This account'} is not an administrator of this organization.`,
      });
      return;
    }
    if (user && profile && (await services.appService.isDeployedTo(profile, user))) {
      // Deployed: the engine still wants a consent result (native apps always do), and consent
      // to administrator-registered apps is implied.
      const grant = await impliedGrant(it.provider, {
        grantId: details.grantId,
        clientId: profile.clientId,
        accountId: user.id,
        scope: String(details.params.scope ?? 'openid'),
        claims: [...((details.prompt.details.missingOIDCClaims as string[] | undefined) ?? [])],
      });
      await flow.finish(ctx, it.provider, { consent: { grantId: grant.jti } });
      return;
    }
    await services.auditStore.record({
      tenantId: tenant.id,
      type: 'authorization.not_deployed',
      level: 'warn',
      subject: user?.id ?? null,
      ip: ctx.ip,
      data: { clientId: profile?.clientId, email: user?.email },
    });
    ctx.status = 403;
    ctx.body = notDeployedPage({ ...common, action: flow.abortAction(it, 'not_deployed'), email: user?.email ?? t('notDeployed.yourAccount') });
  });

  /**
   * An email address given (posted from the email page, or the picker's way back to the page
   * that follows it): routed to an upstream directory that claims it, or on to the password page.
   */
  async function identified(ctx: StepContext, it: Interaction, typed: string) {
    const common = flow.common(it);
    const parsed = checkIdentifier(it.tenant, typed);
    if (!parsed.ok) {
      ctx.status = 400;
      noteLocale({ back: it.base });
      ctx.body = identifierPage({
        ...common,
        action: `${it.base}/identify`,
        email: typed.slice(0, 254),
        error: parsed.message,
        words: flow.identifierWordsOf(it.tenant),
      });
      return;
    }
    // The identifier: an email, or a username (jsmith, CORP\jsmith); which one it names is
    // looked up only with the password, so this page says nothing about who exists.
    const email = parsed.value;
    noteLocale({ back: identifyAgain(it, email) });
    if (!emailField.safeParse(email).success) {
      ctx.body = passwordPage({ ...common, action: `${it.base}/password`, email, restartAction: it.base, forgotUrl: flow.forgotUrl(it) });
      return;
    }
    // An upstream directory that claims this email signs it in; administrators (and everyone
    // in Test mode) may still choose their local password.
    const up = await services.federationService.route(it.tenant.id, email);
    if (up) {
      const user = await services.userStore.userByEmail(it.tenant.id, email);
      if (!services.federationService.passwordAllowed(up, user)) {
        ctx.status = 303;
        ctx.redirect(flow.upstreamStart(it.base, up, email));
        return;
      }
      ctx.body = upstreamPage({
        ...common,
        action: `${it.base}/password`,
        email,
        restartAction: it.base,
        upstream: { name: up.name, url: flow.upstreamStart(it.base, up, email) },
        passwordAction: `${it.base}/password`,
      });
      return;
    }
    // Same page whether or not the account exists: no user enumeration.
    ctx.body = passwordPage({ ...common, action: `${it.base}/password`, email, restartAction: it.base, forgotUrl: flow.forgotUrl(it) });
  }

  router.post('/identify', async (ctx) => {
    const it = await flow.load(ctx);
    if (!it || !flow.checkCsrf(ctx)) return;
    await identified(ctx, it, String(formOf(ctx).email ?? ''));
  });

  // The page after the email page, shown again (the language picker's way back): it shows what
  // the POST shows and changes nothing, so it needs no form token.
  router.get('/identify', async (ctx) => {
    const it = await flow.load(ctx);
    if (!it) return;
    await identified(ctx, it, typeof ctx.query.email === 'string' ? ctx.query.email : '');
  });
}

/** Where the page after the email page is shown again for `email` (the picker's way back). */
export const identifyAgain = (it: { base: string }, email: string): string => `${it.base}/identify?${new URLSearchParams({ email })}`;
