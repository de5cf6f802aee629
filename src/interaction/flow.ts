// What every sign-in step shares (the steps themselves are in steps/, one file each, as
// node-oidc-provider's lib/actions/authorization/): loading the engine's interaction, the
// CSRF check, finishing the interaction, the data every page carries, the expired page, and
// the helpers more than one step ends with (signed in; the second factor asked). The
// short-lived cookies of the flow (gh_mfa, gh_passkey) are declared here so that each is
// defined once, whichever step saves it and whichever reads it.
import crypto from 'node:crypto';
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { Upstream } from '../storage/upstreams.ts';
import type { PushChallenge } from '../storage/push.ts';
import type { UserWithSecret } from '../storage/users.ts';
import { safeEqual } from '../shared/crypto.ts';
import { sealedCookie } from '../shared/sealed-cookie.ts';
import { identifierPage, messagePage, totpPage } from './pages.ts';
import { noteTenantLocale, pageBranding } from './branding.ts';
import { formatWait, noteLocale, t } from '../i18n/index.ts';
import type { EngineEntry } from '../tenants/engines.ts';
import { issuerFor, MFA_ACR } from '../oidc/engine.ts';
import { identifierWords } from '../selfservice/identifiers.ts';
import { selfServiceOf } from '../selfservice/settings.ts';
import type { AbortReason } from './abort.ts';
import { authenticationOptions, passkeysOf, passwordlessOptions } from '../mfa/webauthn.ts';
import { mfaWait, passwordAccepted, secondFactorsOf, signInSucceeded, type Origin, type SecondFactors } from './signin.ts';
import { familiarMarks, markFamiliar } from './familiar.ts';
import { isRemembered, rememberBrowser } from '../mfa/remember.ts';
import { passwordlessAllowed } from '../policy/policies.ts';

/**
 * The request as every step and helper sees it: a router context with the path's parameters
 * (`slug`, `uid`, a step's own). Declared once here so no step casts its context.
 */
export type StepContext = Koa.ParameterizedContext<Koa.DefaultState, Koa.DefaultContext & { params: Record<string, string> }>;

/** An interaction of the engine, loaded for this request: its tenant and engine, its details, the app profile, and the pages' base path. */
export interface Interaction extends EngineEntry {
  details: Awaited<ReturnType<Provider['interactionDetails']>>;
  profile: Awaited<ReturnType<Services['appStore']['byTenantClientId']>>;
  /** `/t/<slug>/interaction/<uid>`: where the step forms post. */
  base: string;
}

/** What every sign-in page carries: the form's CSRF token, the app's name, the tenant's look. */
export interface CommonPageData {
  csrf: string;
  appName: string | undefined;
  branding: ReturnType<typeof pageBranding>;
}

/** An email address as typed on the sign-in pages (or given as login_hint). */
export const emailField = z.email().max(254);

/** The request's form fields (the body parser leaves an object; none on a GET). */
export const formOf = (ctx: StepContext): Record<string, unknown> => (ctx.request.body ?? {}) as Record<string, unknown>;

export type Flow = ReturnType<typeof createFlow>;

export function createFlow(services: Services) {
  const csrfFor = (uid: string) => services.sealer.mac(`csrf:${uid}`);
  /**
   * "Return to the application" on a refusal page: the reason travels with the form, signed
   * for this sign-in, so the answer to the app says what really happened (interaction/abort.ts).
   */
  const abortSig = (uid: string, reason: string) => services.sealer.mac(`abort:${uid}:${reason}`);
  const abortAction = (it: { base: string; details: { uid: string } }, reason: AbortReason) =>
    `${it.base}/abort?${new URLSearchParams({ reason, sig: abortSig(it.details.uid, reason) })}`;
  /** 256 random bits, base64url: a state, nonce or PKCE verifier (RFC 7636: 43 characters). */
  const random = () => crypto.randomBytes(32).toString('base64url');
  /** The password was right; the second factor is awaited (bound to the interaction; a passkey's challenge, a push request). */
  const mfaPending = sealedCookie<{ uid: string; accountId: string; challenge?: string; pushId?: string }>(services, 'gh_mfa', 10 * 60_000);
  /** A passwordless passkey sign-in offered on the email page: its challenge. */
  const passkeyPending = sealedCookie<{ uid: string; challenge: string }>(services, 'gh_passkey', 10 * 60_000);
  /** The password was right but an administrator requires a new one first (steps/change-password.ts). */
  const changePending = sealedCookie<{ uid: string; accountId: string }>(services, 'gh_pwchange', 10 * 60_000);
  /** Where "Forgot your password?" leads: this tenant's reset request page, with the way back here. */
  const forgotUrl = (it: Interaction) => `${issuerFor(services.config.publicUrl, it.tenant.slug)}/selfservice/forgot?back=${encodeURIComponent(it.base)}`;
  /** The identifier field's label and hint, following the tenant's setting (email, username or either). */
  const identifierWordsOf = (tenant: Tenant) => ({ ...identifierWords(tenant), emailOnly: selfServiceOf(tenant).signInWith === 'email' });

  const branding = pageBranding;
  const common = (it: Interaction): CommonPageData => ({ csrf: csrfFor(it.details.uid), appName: it.profile?.displayName, branding: branding(it.tenant) });

  /** Where this request comes from, for the smart lockout: its address and the browser's familiar-device marks. */
  const originOf = (ctx: StepContext, it: Interaction): Origin => ({ ip: ctx.ip, devices: familiarMarks(services, ctx, it.tenant) });
  const clientIdOf = (it: Interaction) => (typeof it.details.params.client_id === 'string' ? it.details.params.client_id : null);

  const buttons = async (tenant: Tenant, base: string) =>
    (await services.federationService.buttons(tenant.id)).map((u) => ({ name: u.name, url: `${base}/upstream/${u.id}` }));
  const upstreamStart = (base: string, up: Upstream, email?: string) => `${base}/upstream/${up.id}${email ? `?email=${encodeURIComponent(email)}` : ''}`;

  /** The interaction this page belongs to, or (answered already with a page saying why) undefined. */
  async function load(ctx: StepContext): Promise<Interaction | undefined> {
    const slug = ctx.params.slug!;
    const entry = await services.engineCache.get(slug);
    if (!entry) {
      ctx.status = 404;
      ctx.body = messagePage({ title: t('error.unknownOrg.title'), message: t('error.unknownOrg.message', { slug }), detail: t('error.unknownOrg.detail') });
      return undefined;
    }
    noteTenantLocale(entry.tenant);
    let details;
    try {
      details = await entry.provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      ctx.status = 400;
      noteLocale({ back: undefined });
      ctx.body = messagePage({ title: t('error.expired.title'), message: t('error.expired.message'), detail: t('error.expired.detail') });
      return undefined;
    }
    // The application's ui_locales; and with an SSO session (step-up, a refusal), the signed-in
    // user's saved language. Not the language of an account merely typed on the email page:
    // that would tell whoever typed it that the account exists.
    noteLocale({ uiLocales: details.params.ui_locales });
    if (details.uid !== ctx.params.uid) {
      ctx.status = 400;
      noteLocale({ back: undefined });
      ctx.body = messagePage({ title: t('error.expired.title'), message: t('error.expired.otherRequest'), detail: t('error.expired.detail') });
      return undefined;
    }
    if (details.session?.accountId) noteLocale({ user: (await services.userStore.userById(entry.tenant.id, details.session.accountId))?.locale });
    const clientId = String(details.params.client_id ?? '');
    const profile = await services.appStore.byTenantClientId(entry.tenant.id, clientId);
    return { ...entry, details, profile, base: `/t/${slug}/interaction/${details.uid}` };
  }

  /** A form of this sign-in (its CSRF token matches), or (answered already) false. */
  function checkCsrf(ctx: StepContext): boolean {
    const sent = formOf(ctx).csrf;
    if (typeof sent === 'string' && safeEqual(sent, csrfFor(ctx.params.uid!))) return true;
    ctx.status = 403;
    noteLocale({ back: undefined });
    ctx.body = messagePage({ title: t('error.formExpired.title'), message: t('error.formExpired.message'), detail: t('error.expired.detail') });
    return false;
  }

  /** The state a step left in the browser is gone or belongs to another sign-in: start again. */
  function expired(ctx: StepContext, it: Interaction) {
    ctx.status = 400;
    noteLocale({ back: undefined });
    ctx.body = messagePage({
      title: t('error.expired.title'),
      message: t('error.expired.tooLong'),
      detail: t('error.expired.detail'),
      branding: branding(it.tenant),
    });
  }

  /** The engine's interaction ends with `result` (a login, a consent, an error): back to it. */
  async function finish(ctx: StepContext, provider: Provider, result: Record<string, unknown>) {
    await withdrawPush(ctx);
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
    ctx.status = 303;
    ctx.redirect(to);
  }

  /** This sign-in ended or starts over: its push requests still waiting disappear from the phones. */
  async function withdrawPush(ctx: StepContext) {
    const tenant = (await services.engineCache.get(ctx.params.slug!))?.tenant; // cached per node
    if (tenant)
      await services.pushService
        .withdraw(tenant.id, ctx.params.uid!)
        .catch((err: unknown) => services.logger.warn({ err }, 'could not withdraw the push requests of a sign-in'));
  }

  /**
   * Every factor is done: the sign-in succeeded (audited here, once, with the application),
   * this browser becomes familiar to the account, and the engine finishes the interaction.
   */
  async function signedIn(ctx: StepContext, it: Interaction, user: UserWithSecret, login: { amr: string[]; acr: string; via?: string }) {
    await signInSucceeded(services, it.tenant, user, originOf(ctx, it), { clientId: clientIdOf(it), amr: login.amr, via: login.via });
    markFamiliar(services, ctx, it.tenant, user.id);
    await finish(ctx, it.provider, { login: { accountId: user.id, amr: login.amr, acr: login.acr, remember: true } });
  }

  /**
   * The second factor, after the password or for step-up: skipped on a remembered browser,
   * otherwise asked. False when the user has no factor their policy allows (the caller decides).
   */
  async function secondFactorStep(ctx: StepContext, it: Interaction, user: UserWithSecret, o: { afterPassword?: boolean } = {}): Promise<boolean> {
    const sf = await secondFactorsOf(services, it.tenant, user);
    if (!sf.factors.length) return false;
    if (await isRemembered(services, ctx, it.tenant, user, sf.settings.rememberDeviceDays)) {
      await services.auditStore.record({ tenantId: it.tenant.id, type: 'mfa.remembered', subject: user.id, ip: ctx.ip, data: { email: user.email } });
      // RFC 8176 "mfa": the second factor was proven on this browser within the policy's days.
      await signedIn(ctx, it, user, { amr: ['pwd', 'mfa'], acr: MFA_ACR });
      return true;
    }
    if (o.afterPassword) await passwordAccepted(services, it.tenant, user, originOf(ctx, it), clientIdOf(it));
    await askSecondFactor(ctx, it, user, sf, { newPush: true });
    return true;
  }

  /**
   * The second-factor page: a push request to the user's Gatehouse Authenticators (sent with
   * `newPush`, or the one still waiting), a passkey button, and the code field.
   */
  async function askSecondFactor(
    ctx: StepContext,
    it: Interaction,
    user: UserWithSecret,
    sf: SecondFactors,
    o: { error?: string; pushId?: string; newPush?: boolean },
  ) {
    const passkeyOptions = passkeysOf(sf.factors).length ? await authenticationOptions(services, sf.factors) : undefined;
    const devices = sf.factors.filter((f) => f.type === 'push');
    let push: PushChallenge | undefined;
    let error = o.error;
    if (devices.length && o.pushId) {
      const c = await services.pushService.challenge(it.tenant, o.pushId);
      if (c && c.userId === user.id && services.pushService.outcome(c) === 'pending') push = c;
    }
    if (devices.length && !push && o.newPush) {
      const wait = await mfaWait(services, it.tenant, user, sf.settings);
      const sendWait = wait > 0 ? 0 : await services.pushService.sendWait(it.tenant, user);
      if (wait > 0) error ??= t('mfa.tooManyWait', { wait: formatWait(wait) });
      else if (sendWait > 0) error ??= t('mfa.pushThrottled', { wait: formatWait(sendWait) });
      else
        push = await services.pushService.send(it.tenant, user, {
          uid: it.details.uid,
          clientId: it.profile?.clientId,
          appName: it.profile?.displayName,
          ip: ctx.ip,
          numberMatching: sf.settings.numberMatching,
        });
    }
    mfaPending.save(ctx, it.tenant.slug, { uid: it.details.uid, accountId: user.id, challenge: passkeyOptions?.challenge, pushId: push?.id });
    // The password was right: this is the user, so their saved language applies; the picker
    // brings them back to this page (GET /mfa), not to a new push request.
    noteLocale({ user: user.locale, back: `${it.base}/mfa` });
    ctx.body = totpPage({
      csrf: csrfFor(it.details.uid),
      appName: it.profile?.displayName,
      branding: branding(it.tenant),
      action: `${it.base}/mfa`,
      email: user.email,
      restartAction: it.base,
      passkeyOptions,
      error,
      kinds: [...new Set(sf.factors.map((f) => f.type))],
      push: push && {
        number: push.number,
        statusUrl: `${it.base}/push`,
        secondsLeft: Math.max(1, Math.ceil((push.expiresAt - Date.now()) / 1000)),
        devices: devices.map((d) => d.label),
      },
      rememberDays: sf.settings.rememberDeviceDays || undefined,
    });
  }

  /** The second factor was proven: remember the browser if asked (and allowed), then finish. */
  async function secondFactorDone(ctx: StepContext, it: Interaction, user: UserWithSecret, sf: SecondFactors, amr: string[]) {
    mfaPending.clear(ctx, it.tenant.slug);
    if (formOf(ctx).remember === '1') await rememberBrowser(services, ctx, it.tenant, user, sf.settings.rememberDeviceDays);
    await signedIn(ctx, it, user, { amr, acr: MFA_ACR });
  }

  /** The email page, with "Sign in with a passkey" when a policy of the tenant allows passkeys alone. */
  async function emailPage(ctx: StepContext, it: Interaction, o: { email?: string; error?: string }) {
    noteLocale({ back: it.base });
    let passkey: { options: unknown; action: string } | undefined;
    if ((await services.policyService.list(it.tenant.id)).some((p) => passwordlessAllowed(p.settings))) {
      const options = await passwordlessOptions(services);
      passkeyPending.save(ctx, it.tenant.slug, { uid: it.details.uid, challenge: options.challenge });
      passkey = { options, action: `${it.base}/passkey` };
    }
    ctx.body = identifierPage({
      csrf: csrfFor(it.details.uid),
      appName: it.profile?.displayName,
      branding: branding(it.tenant),
      action: `${it.base}/identify`,
      email: o.email,
      error: o.error,
      buttons: await buttons(it.tenant, it.base),
      passkey,
      words: identifierWordsOf(it.tenant),
    });
  }

  return {
    services,
    csrfFor,
    abortSig,
    abortAction,
    random,
    mfaPending,
    passkeyPending,
    changePending,
    forgotUrl,
    identifierWordsOf,
    branding,
    common,
    originOf,
    clientIdOf,
    buttons,
    upstreamStart,
    load,
    checkCsrf,
    expired,
    finish,
    withdrawPush,
    signedIn,
    secondFactorStep,
    askSecondFactor,
    secondFactorDone,
    emailPage,
  };
}
