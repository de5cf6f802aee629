// A new password the administrator required (users.must_change_password), chosen at sign-in
// after the old one was proven (steps/password.ts saved who in gh_pwchange). The same rules as
// every new password (selfservice/passwords.ts); other sessions end, the user is told by email.
import type Router from '@koa/router';
import { formOf, type Flow } from '../flow.ts';
import { newPasswordPage } from '../pages/selfservice.ts';
import { messages } from '../../selfservice/messages.ts';
import { afterPassword } from './password.ts';

export function registerChangePassword(router: Router, flow: Flow): void {
  const { services } = flow;

  router.post('/change-password', async (ctx) => {
    const it = await flow.load(ctx);
    if (!it || !flow.checkCsrf(ctx)) return;
    const pending = flow.changePending.read(ctx);
    const user = pending && pending.uid === it.details.uid ? await services.userStore.userById(it.tenant.id, pending.accountId) : undefined;
    if (user?.status !== 'active') {
      // Too late or another sign-in: the password is asked again.
      flow.changePending.clear(ctx, it.tenant.slug);
      ctx.status = 303;
      ctx.redirect(it.base);
      return;
    }
    const body = formOf(ctx);
    const password = typeof body.password === 'string' ? body.password : '';
    const common = flow.common(it);
    const again = (error: string) => {
      ctx.status = 400;
      ctx.body = newPasswordPage({
        branding: common.branding,
        action: `${it.base}/change-password`,
        csrf: common.csrf,
        who: user.email,
        intro: messages.pages.required,
        error,
      });
    };
    if (password !== body.confirm) return again(messages.pages.reset.mismatch);
    const r = await services.selfService.requiredChange(it.tenant, user, password, flow.originOf(ctx, it));
    if (!r.ok) return again(r.message);
    flow.changePending.clear(ctx, it.tenant.slug);
    await afterPassword(flow, ctx, it, (await services.userStore.userById(it.tenant.id, user.id))!);
  });
}
