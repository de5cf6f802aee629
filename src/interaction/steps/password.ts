// The password step: checked with the smart lockout (signin.ts), refused for a user an
// upstream directory signs in, then on to the second factor, the set-up page the engine leads
// to, or a finished sign-in.
import type Router from '@koa/router';
import { accountDisabledPage, identifierPage, passwordPage, ssoDisabledPage, upstreamPage } from '../pages.ts';
import { passwordAccepted, passwordSignIn, secondFactorStillWanted } from '../signin.ts';
import { emailField, formOf, type Flow, type Interaction, type StepContext } from '../flow.ts';
import { identifyAgain } from './identify.ts';
import { noteLocale, t } from '../../i18n/index.ts';
import { checkIdentifier } from '../../selfservice/identifiers.ts';
import { isLocal } from '../../selfservice/service.ts';
import { messages } from '../../selfservice/messages.ts';
import { newPasswordPage } from '../pages/selfservice.ts';
import type { UserWithSecret } from '../../storage/users.ts';

export function registerPassword(router: Router, flow: Flow): void {
  const { services } = flow;

  router.post('/password', async (ctx) => {
    const it = await flow.load(ctx);
    if (!it || !flow.checkCsrf(ctx)) return;
    const body = formOf(ctx);
    const common = flow.common(it);
    // The identifier from the previous step: an email or a username (selfservice/identifiers.ts).
    const checked = checkIdentifier(it.tenant, String(body.email ?? ''));
    if (!checked.ok) {
      ctx.status = 400;
      noteLocale({ back: it.base });
      ctx.body = identifierPage({ ...common, action: `${it.base}/identify`, error: checked.message, words: flow.identifierWordsOf(it.tenant) });
      return;
    }
    const email = { data: checked.value };
    const isEmail = emailField.safeParse(email.data).success;
    noteLocale({ back: identifyAgain(it, email.data) });
    const password = typeof body.password === 'string' ? body.password : '';
    const pageAgain = (error: string, status: number) => {
      ctx.status = status;
      ctx.body = passwordPage({ ...common, action: `${it.base}/password`, email: email.data, restartAction: it.base, error, forgotUrl: flow.forgotUrl(it) });
    };
    // A user an upstream directory signs in may not use a password here (unless allowed).
    const up = isEmail ? await services.federationService.route(it.tenant.id, email.data) : undefined;
    if (up && !services.federationService.passwordAllowed(up, await services.userStore.userByEmail(it.tenant.id, email.data))) {
      ctx.status = 403;
      ctx.body = upstreamPage({
        ...common,
        action: `${it.base}/password`,
        email: email.data,
        restartAction: it.base,
        upstream: { name: up.name, url: flow.upstreamStart(it.base, up, email.data) },
        error: t('upstream.noPassword', { upstream: up.name }),
      });
      return;
    }
    if (!password) return pageAgain(t('password.missing'), 400);
    const result = await passwordSignIn(services, it.tenant, email.data, password, flow.originOf(ctx, it));
    if (!result.ok) {
      if (result.retryAfter) ctx.set('Retry-After', String(result.retryAfter));
      if (result.reason === 'disabled') {
        ctx.status = 403;
        ctx.body = accountDisabledPage({ ...common, action: flow.abortAction(it, 'account_disabled'), email: result.user?.email ?? email.data });
        return;
      }
      return pageAgain(result.message, result.reason === 'throttled' ? 429 : result.reason === 'unavailable' ? 503 : result.reason === 'refused' ? 403 : 401);
    }
    if (!(await services.policyService.settingsFor(result.user)).ssoEnabled) {
      await services.auditStore.record({
        tenantId: it.tenant.id,
        type: 'signin.failed',
        level: 'warn',
        subject: result.user.id,
        ip: ctx.ip,
        data: { email: result.user.email, reason: 'sso_disabled' },
      });
      ctx.status = 403;
      ctx.body = ssoDisabledPage({ ...common, action: flow.abortAction(it, 'sso_disabled') });
      return;
    }
    // An administrator requires a new password first (issue 17): the change page, then on.
    if (result.user.mustChangePassword && isLocal(result.user)) {
      flow.changePending.save(ctx, it.tenant.slug, { uid: it.details.uid, accountId: result.user.id });
      ctx.body = newPasswordPage({
        branding: common.branding,
        action: `${it.base}/change-password`,
        csrf: common.csrf,
        who: result.user.email,
        intro: messages.pages.required,
      });
      return;
    }
    await afterPassword(flow, ctx, it, result.user);
  });
}

/**
 * The password is proven (and changed if it had to be): a user with an authenticator their
 * policy allows proves the second factor before the sign-in completes; without one, a policy
 * or app that requires it leads to the set-up page (engine check).
 */
export async function afterPassword(flow: Flow, ctx: StepContext, it: Interaction, user: UserWithSecret): Promise<void> {
  const { services } = flow;
  if (await flow.secondFactorStep(ctx, it, user, { afterPassword: true })) return;
  const login = { amr: ['pwd'], acr: 'urn:gatehouse:loa:pwd' };
  if (
    secondFactorStillWanted(await services.policyService.settingsFor(user), {
      params: it.details.params,
      client: { gatehouse_require_mfa: it.profile?.requireMfa },
      clientId: flow.clientIdOf(it),
      ip: ctx.ip,
    })
  ) {
    // No factor to ask for, yet one is required: the engine leads to the set-up page. Not a
    // completed sign-in, so not audited as one.
    await passwordAccepted(services, it.tenant, user, flow.originOf(ctx, it), flow.clientIdOf(it), 'second_factor_setup');
    await flow.finish(ctx, it.provider, { login: { accountId: user.id, ...login, remember: true } });
    return;
  }
  await flow.signedIn(ctx, it, user, login);
}
