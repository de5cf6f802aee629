// Passwordless: a discoverable passkey (with user verification) from the email page, whose
// challenge the email page left in the gh_passkey cookie (flow.ts).
import type Router from '@koa/router';
import { ssoDisabledPage } from '../pages.ts';
import { MFA_ACR } from '../../oidc/engine.ts';
import { passkeySignIn } from '../signin.ts';
import { formOf, type Flow } from '../flow.ts';

export function registerPasskey(router: Router, flow: Flow): void {
  const { services } = flow;

  router.post('/passkey', async (ctx) => {
    const it = await flow.load(ctx);
    if (!it || !flow.checkCsrf(ctx)) return;
    const pending = flow.passkeyPending.read(ctx);
    flow.passkeyPending.clear(ctx, it.tenant.slug);
    const body = formOf(ctx);
    const credential = typeof body.credential === 'string' ? body.credential.slice(0, 20_000) : '';
    const result = await passkeySignIn(
      services,
      it.tenant,
      credential,
      pending?.uid === it.details.uid ? pending.challenge : undefined,
      flow.originOf(ctx, it),
    );
    if (!result.ok) {
      if (result.reason === 'sso_disabled') {
        ctx.status = 403;
        ctx.body = ssoDisabledPage({ ...flow.common(it), action: flow.abortAction(it, 'sso_disabled') });
        return;
      }
      ctx.status = result.status;
      await flow.emailPage(ctx, it, { error: result.message });
      return;
    }
    // User verification on the passkey (its PIN or biometrics) makes it multi-factor on its own.
    await flow.signedIn(ctx, it, result.user, { amr: ['hwk', 'mfa'], acr: MFA_ACR });
  });
}
