// The second factor (after the password, or for step-up; the page itself is asked by
// flow.askSecondFactor): the push request's status for the page's script, and the answer
// posted (an approved push, a code, or a passkey), checked against the gh_mfa cookie.
import type Router from '@koa/router';
import { pushEndedPage } from '../pages.ts';
import { checkMfaCode, mfaSucceeded, secondFactorsOf } from '../signin.ts';
import { formOf, type Flow } from '../flow.ts';
import { noteLocale, t } from '../../i18n/index.ts';

export function registerSecondFactor(router: Router, flow: Flow): void {
  const { services, mfaPending } = flow;

  // The sign-in page's script asks whether the push request was answered (no reload needed).
  router.get('/push', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const pending = mfaPending.read(ctx);
    const tenant = pending?.pushId && pending.uid === ctx.params.uid ? (await services.engineCache.get(ctx.params.slug!))?.tenant : undefined; // the engine cache holds the tenant
    const c = tenant ? await services.pushService.challenge(tenant, pending!.pushId!) : undefined;
    if (!c || c.userId !== pending!.accountId) {
      ctx.status = 404;
      ctx.body = { status: 'expired' };
      return;
    }
    ctx.body = { status: services.pushService.outcome(c), secondsLeft: Math.max(0, Math.ceil((c.expiresAt - Date.now()) / 1000)) };
  });

  // The second-factor page shown again (the language picker's way back): the push request
  // still waiting, if any; no new one is sent.
  router.get('/mfa', async (ctx) => {
    const it = await flow.load(ctx);
    if (!it) return;
    const pending = mfaPending.read(ctx);
    const user = pending?.uid === it.details.uid ? await services.userStore.userById(it.tenant.id, pending.accountId) : undefined;
    if (user?.status !== 'active') return flow.expired(ctx, it);
    await flow.askSecondFactor(ctx, it, user, await secondFactorsOf(services, it.tenant, user), { pushId: pending!.pushId });
  });

  router.post('/mfa', async (ctx) => {
    const it = await flow.load(ctx);
    if (!it || !flow.checkCsrf(ctx)) return;
    const pending = mfaPending.read(ctx);
    const user = pending?.uid === it.details.uid ? await services.userStore.userById(it.tenant.id, pending.accountId) : undefined;
    if (user?.status !== 'active') return flow.expired(ctx, it);
    const body = formOf(ctx);
    const sf = await secondFactorsOf(services, it.tenant, user);
    if (body.push === '1' && pending!.pushId) {
      const c = await services.pushService.challenge(it.tenant, pending!.pushId);
      const outcome = c && c.userId === user.id && services.pushService.isFor(c, it.details.uid) ? services.pushService.outcome(c) : 'expired';
      if (outcome === 'pending') {
        ctx.status = 409;
        await flow.askSecondFactor(ctx, it, user, sf, { pushId: c!.id, error: t('mfa.push.notYet') });
        return;
      }
      if (outcome === 'approved' && (await services.pushService.consume(it.tenant, c!, it.details.uid, user.id))) {
        await mfaSucceeded(services, it.tenant, user, 'push', ctx.ip);
        // RFC 8176 "swk": proof of possession of a software-secured key (the phone's non-extractable key).
        await flow.secondFactorDone(ctx, it, user, sf, ['pwd', 'swk']);
        return;
      }
      // Denied, a wrong number, expired or already used: this sign-in is over; the user begins again.
      if (outcome === 'expired')
        await services.auditStore.record({
          tenantId: it.tenant.id,
          type: 'mfa.push_expired',
          level: 'warn',
          subject: user.id,
          ip: ctx.ip,
          data: { email: user.email },
        });
      mfaPending.clear(ctx, it.tenant.slug);
      ctx.status = 401;
      noteLocale({ user: user.locale, back: undefined });
      ctx.body = pushEndedPage({
        reason: outcome === 'approved' ? 'used' : outcome,
        restartAction: it.base,
        branding: flow.branding(it.tenant),
        appName: it.profile?.displayName,
      });
      return;
    }
    const code = String(body.code ?? '').slice(0, 40);
    const passkey = typeof body.credential === 'string' && body.credential ? body.credential.slice(0, 20_000) : undefined;
    const result = await checkMfaCode(services, it.tenant, user, sf, { code, passkey, challenge: pending!.challenge }, ctx.ip);
    if (!result.ok) {
      ctx.status = result.status;
      if (result.retryAfter) ctx.set('Retry-After', String(result.retryAfter));
      await flow.askSecondFactor(ctx, it, user, sf, { error: result.message, pushId: pending!.pushId });
      return;
    }
    await flow.secondFactorDone(ctx, it, user, sf, result.amr);
  });
}
