// HTTP for the sign-in experience: identifier-first, password, passwordless passkeys, the
// second factor (push approval, passkeys, codes; remembered browsers), upstream directories,
// refusals. Rules live in signin.ts, mfa/ and federation/upstreams.ts.
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import crypto from 'node:crypto';
import { safeEqual } from '../shared/crypto.ts';
import { accountDisabledPage, identifierPage, messagePage, mfaSetupNeededPage, notDeployedPage, passwordPage, pushEndedPage, ssoDisabledPage, totpPage, upstreamPage } from './pages.ts';
import { issuerFor, MFA_ACR, MFA_REQUIRED, SSO_DISABLED } from '../oidc/engine.ts';
import { acrRequestOf, mfaCauses, type MfaCause } from '../policy/acr.ts';
import { abortDescription, type AbortReason } from './abort.ts';
import type { Upstream } from '../storage/upstreams.ts';
import type { PushChallenge } from '../storage/push.ts';
import type { UserWithSecret } from '../storage/users.ts';
import { clearTransaction, readTransaction, saveTransaction } from '../federation/transaction.ts';
import { sealedCookie } from '../shared/sealed-cookie.ts';
import { authenticationOptions, passkeysOf, passwordlessOptions } from '../mfa/webauthn.ts';
import { checkMfaCode, mfaSucceeded, mfaWait, passkeySignIn, passwordAccepted, passwordSignIn, secondFactorStillWanted, secondFactorsOf, signInSucceeded, type Origin, type SecondFactors } from './signin.ts';
import { familiarMarks, markFamiliar } from './familiar.ts';
import { impliedGrant } from '../oidc/grants.ts';
import { CONSOLE_CLIENT_ID } from '../oidc/clients.ts';
import { pageBranding } from './branding.ts';
import { isRemembered, rememberBrowser } from '../mfa/remember.ts';
import { waitWords } from '../ops/ratelimit.ts';
import { passwordlessAllowed, policyRequiresMfa } from '../policy/policies.ts';

type Ctx = Koa.ParameterizedContext<Koa.DefaultState, Koa.DefaultContext & { params: Record<string, string> }>;

const emailField = z.email().max(254);

export function interactionRouter(services: Services): Router {
  const router = new Router({ prefix: '/t/:slug/interaction/:uid' });
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

  type Interaction = NonNullable<Awaited<ReturnType<typeof load>>>;

  /** Where this request comes from, for the smart lockout: its address and the browser's familiar-device marks. */
  const originOf = (ctx: Ctx, it: Interaction): Origin => ({ ip: ctx.ip, devices: familiarMarks(services, ctx, it.tenant) });
  const clientIdOf = (it: Interaction) => (typeof it.details.params.client_id === 'string' ? it.details.params.client_id : null);

  /**
   * Every factor is done: the sign-in succeeded (audited here, once, with the application),
   * this browser becomes familiar to the account, and the engine finishes the interaction.
   */
  async function signedIn(ctx: Ctx, it: Interaction, user: UserWithSecret, login: { amr: string[]; acr: string }) {
    await signInSucceeded(services, it.tenant, user, originOf(ctx, it), { clientId: clientIdOf(it), amr: login.amr });
    markFamiliar(services, ctx, it.tenant, user.id);
    await finish(ctx, it.provider, { login: { accountId: user.id, amr: login.amr, acr: login.acr, remember: true } });
  }

  /**
   * The second factor, after the password or for step-up: skipped on a remembered browser,
   * otherwise asked. False when the user has no factor their policy allows (the caller decides).
   */
  async function secondFactorStep(ctx: Ctx, it: Interaction, user: UserWithSecret, o: { afterPassword?: boolean } = {}): Promise<boolean> {
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
  async function askSecondFactor(ctx: Ctx, it: Interaction, user: UserWithSecret, sf: SecondFactors, o: { error?: string; pushId?: string; newPush?: boolean }) {
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
      if (wait > 0) error ??= `Too many failed attempts. Try again in ${waitWords(wait)}.`;
      else if (sendWait > 0) error ??= `Many approval requests were sent to your phone in a short time, so no new one is sent for ${waitWords(sendWait)}. Enter the 6-digit code shown in the Gatehouse Authenticator instead.`;
      else push = await services.pushService.send(it.tenant, user, { uid: it.details.uid, clientId: it.profile?.clientId, appName: it.profile?.displayName, ip: ctx.ip, numberMatching: sf.settings.numberMatching });
    }
    mfaPending.save(ctx, it.tenant.slug, { uid: it.details.uid, accountId: user.id, challenge: passkeyOptions?.challenge, pushId: push?.id });
    ctx.body = totpPage({
      csrf: csrfFor(it.details.uid), appName: it.profile?.displayName, branding: branding(it.tenant), action: `${it.base}/mfa`, email: user.email, restartAction: it.base, passkeyOptions, error,
      kinds: [...new Set(sf.factors.map((f) => f.type))],
      push: push && { number: push.number, statusUrl: `${it.base}/push`, secondsLeft: Math.max(1, Math.ceil((push.expiresAt - Date.now()) / 1000)), devices: devices.map((d) => d.label) },
      rememberDays: sf.settings.rememberDeviceDays || undefined,
    });
  }

  /** The second factor was proven: remember the browser if asked (and allowed), then finish. */
  async function secondFactorDone(ctx: Ctx, it: Interaction, user: UserWithSecret, sf: SecondFactors, amr: string[]) {
    mfaPending.clear(ctx, it.tenant.slug);
    if ((ctx.request.body as Record<string, unknown>)?.remember === '1') await rememberBrowser(services, ctx, it.tenant, user, sf.settings.rememberDeviceDays);
    await signedIn(ctx, it, user, { amr, acr: MFA_ACR });
  }

  /** The email page, with "Sign in with a passkey" when a policy of the tenant allows passkeys alone. */
  async function emailPage(ctx: Ctx, it: Interaction, o: { email?: string; error?: string }) {
    let passkey: { options: unknown; action: string } | undefined;
    if ((await services.policyService.list(it.tenant.id)).some((p) => passwordlessAllowed(p.settings))) {
      const options = await passwordlessOptions(services);
      passkeyPending.save(ctx, it.tenant.slug, { uid: it.details.uid, challenge: options.challenge });
      passkey = { options, action: `${it.base}/passkey` };
    }
    ctx.body = identifierPage({ csrf: csrfFor(it.details.uid), appName: it.profile?.displayName, branding: branding(it.tenant), action: `${it.base}/identify`, email: o.email, error: o.error, buttons: await buttons(it.tenant, it.base), passkey });
  }

  async function load(ctx: Ctx) {
    const slug = ctx.params.slug!;
    const entry = await services.engineCache.get(slug);
    if (!entry) {
      ctx.status = 404;
      ctx.body = messagePage({ title: 'Unknown organization', message: `There is no organization "${slug}" on this Gatehouse.`, detail: 'Check the address you were given.' });
      return undefined;
    }
    let details;
    try {
      details = await entry.provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      ctx.status = 400;
      ctx.body = messagePage({ title: 'Sign-in expired', message: 'This sign-in request has expired or was already completed.', detail: 'Go back to the application and start signing in again.' });
      return undefined;
    }
    if (details.uid !== ctx.params.uid) {
      ctx.status = 400;
      ctx.body = messagePage({ title: 'Sign-in expired', message: 'This sign-in page belongs to another sign-in request.', detail: 'Go back to the application and start signing in again.' });
      return undefined;
    }
    const clientId = String(details.params.client_id ?? '');
    const profile = await services.appStore.byTenantClientId(entry.tenant.id, clientId);
    return { ...entry, details, profile, base: `/t/${slug}/interaction/${details.uid}` };
  }

  function checkCsrf(ctx: Ctx): boolean {
    const sent = (ctx.request.body as Record<string, unknown> | undefined)?.csrf;
    if (typeof sent === 'string' && safeEqual(sent, csrfFor(ctx.params.uid!))) return true;
    ctx.status = 403;
    ctx.body = messagePage({ title: 'Form expired', message: 'This form could not be verified (it may be from an old tab).', detail: 'Go back to the application and start signing in again.' });
    return false;
  }

  const branding = pageBranding;

  const buttons = async (tenant: Tenant, base: string) =>
    (await services.federationService.buttons(tenant.id)).map((u) => ({ name: u.name, url: `${base}/upstream/${u.id}` }));
  const upstreamStart = (base: string, up: Upstream, email?: string) => `${base}/upstream/${up.id}${email ? `?email=${encodeURIComponent(email)}` : ''}`;

  async function finish(ctx: Ctx, provider: import('oidc-provider').default, result: Record<string, unknown>) {
    await withdrawPush(ctx);
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
    ctx.status = 303;
    ctx.redirect(to);
  }

  /** This sign-in ended or starts over: its push requests still waiting disappear from the phones. */
  async function withdrawPush(ctx: Ctx) {
    const tenant = (await services.engineCache.get(ctx.params.slug!))?.tenant; // cached per node
    if (tenant) await services.pushService.withdraw(tenant.id, ctx.params.uid!).catch((err: unknown) => services.logger.warn({ err }, 'could not withdraw the push requests of a sign-in'));
  }

  router.get('/', async (ctx) => {
    const it = await load(ctx);
    if (!it) return;
    // The sign-in (re)starts here ("Use another account", a reload): a request sent earlier is over.
    await withdrawPush(ctx);
    const { details, tenant, profile } = it;
    const common = { csrf: csrfFor(details.uid), appName: profile?.displayName, branding: branding(tenant) };
    if (details.prompt.name === 'login' && details.prompt.reasons.includes(SSO_DISABLED)) {
      ctx.status = 403;
      ctx.body = ssoDisabledPage({ ...common, action: abortAction(it, 'sso_disabled') });
      return;
    }
    // Step-up: signed in, but this app wants a second factor the session's sign-in lacked.
    if (details.prompt.name === 'login' && details.prompt.reasons.includes(MFA_REQUIRED) && details.session?.accountId) {
      const user = await services.userStore.userById(tenant.id, details.session.accountId);
      if (user && (await secondFactorStep(ctx, it, user))) return;
      if (user) {
        // Name the real cause: the app's setting, the user's policy, or the app's request.
        const causes: MfaCause[] = mfaCauses({
          signedIn: details.session.acr, request: acrRequestOf(details.params), appRequiresMfa: !!profile?.requireMfa,
          policyRequiresMfa: policyRequiresMfa(await services.policyService.settingsFor(user), { ip: ctx.ip, clientId: profile?.clientId }),
        });
        await services.auditStore.record({ tenantId: tenant.id, type: 'mfa.not_enrolled', level: 'warn', subject: user.id, ip: ctx.ip, data: { email: user.email, clientId: profile?.clientId, causes } });
        ctx.status = 403;
        ctx.body = mfaSetupNeededPage({ ...common, action: abortAction(it, `mfa:${causes.join(',')}` as AbortReason), email: user.email, accountUrl: `${issuerFor(services.config.publicUrl, tenant.slug)}/account`, causes, acrValues: acrRequestOf(details.params)?.values });
        return;
      }
    }
    if (details.prompt.name === 'login') {
      const hint = typeof details.params.login_hint === 'string' && emailField.safeParse(details.params.login_hint).success ? details.params.login_hint : undefined;
      await emailPage(ctx, it, { email: hint });
      return;
    }
    // consent: loadExistingGrant declined, which means the app is not deployed to this user.
    const user = details.session?.accountId ? await services.userStore.userById(tenant.id, details.session.accountId) : undefined;
    if (details.params.client_id === CONSOLE_CLIENT_ID) {
      // The admin console says why itself (it shows who is signed in and offers to sign out).
      await services.auditStore.record({ tenantId: tenant.id, type: 'authorization.not_admin', level: 'warn', subject: user?.id ?? null, ip: ctx.ip, data: { clientId: CONSOLE_CLIENT_ID, email: user?.email, message: `${user?.email ?? 'A user'} tried to open the admin console without an administrator role.` } });
      await finish(ctx, it.provider, { error: 'access_denied', error_description: `${user?.email ?? 'This account'} is not an administrator of this organization.` });
      return;
    }
    if (user && profile && (await services.appService.isDeployedTo(profile, user))) {
      // Deployed: the engine still wants a consent result (native apps always do), and consent
      // to administrator-registered apps is implied.
      const grant = await impliedGrant(it.provider, {
        grantId: details.grantId, clientId: profile.clientId, accountId: user.id, scope: String(details.params.scope ?? 'openid'),
        claims: [...((details.prompt.details.missingOIDCClaims as string[] | undefined) ?? [])],
      });
      await finish(ctx, it.provider, { consent: { grantId: grant.jti } });
      return;
    }
    await services.auditStore.record({ tenantId: tenant.id, type: 'authorization.not_deployed', level: 'warn', subject: user?.id ?? null, ip: ctx.ip, data: { clientId: profile?.clientId, email: user?.email } });
    ctx.status = 403;
    ctx.body = notDeployedPage({ ...common, action: abortAction(it, 'not_deployed'), email: user?.email ?? 'your account' });
  });

  router.post('/identify', async (ctx) => {
    const it = await load(ctx);
    if (!it || !checkCsrf(ctx)) return;
    const common = { csrf: csrfFor(it.details.uid), appName: it.profile?.displayName, branding: branding(it.tenant) };
    const parsed = emailField.safeParse(String((ctx.request.body as Record<string, unknown>)?.email ?? '').trim());
    if (!parsed.success) {
      ctx.status = 400;
      ctx.body = identifierPage({ ...common, action: `${it.base}/identify`, email: String((ctx.request.body as Record<string, unknown>)?.email ?? '').slice(0, 254), error: 'Enter your email address, like name@example.com.' });
      return;
    }
    const email = parsed.data.toLowerCase();
    // An upstream directory that claims this email signs it in; administrators (and everyone
    // in Test mode) may still choose their local password.
    const up = await services.federationService.route(it.tenant.id, email);
    if (up) {
      const user = await services.userStore.userByEmail(it.tenant.id, email);
      if (!services.federationService.passwordAllowed(up, user)) {
        ctx.status = 303;
        ctx.redirect(upstreamStart(it.base, up, email));
        return;
      }
      ctx.body = upstreamPage({ ...common, action: `${it.base}/password`, email, restartAction: it.base, upstream: { name: up.name, url: upstreamStart(it.base, up, email) }, passwordAction: `${it.base}/password` });
      return;
    }
    // Same page whether or not the account exists: no user enumeration.
    ctx.body = passwordPage({ ...common, action: `${it.base}/password`, email, restartAction: it.base });
  });

  // Leave for an upstream directory: code + PKCE, state and nonce kept sealed in the browser.
  router.get('/upstream/:upstreamId', async (ctx) => {
    const it = await load(ctx);
    if (!it) return;
    const up = await services.upstreamStore.byId(it.tenant.id, ctx.params.upstreamId!);
    const email = typeof ctx.query.email === 'string' && emailField.safeParse(ctx.query.email).success ? ctx.query.email.toLowerCase() : undefined;
    // Only where routing or a button would send the person: an enabled upstream, or Test mode for its test users.
    if (!up || up.mode === 'disabled' || (up.mode === 'test' && !(email && up.settings.testUsers.includes(email)))) {
      ctx.status = 404;
      ctx.body = messagePage({ title: 'Directory not available', message: 'This sign-in option is not available.', detail: 'Go back and sign in with your email address.', branding: branding(it.tenant) });
      return;
    }
    const t = { uid: it.details.uid, upstreamId: up.id, state: random(), nonce: random(), verifier: random(), email, clientId: clientIdOf(it) ?? undefined };
    let to: URL;
    try {
      to = await services.federationService.authorizationUrl(up, t, services.federationService.redirectUrl(it.tenant));
    } catch (e) {
      await services.auditStore.record({ tenantId: it.tenant.id, type: 'federation.error', level: 'error', ip: ctx.ip, clientId: clientIdOf(it), data: { clientId: clientIdOf(it), upstream: up.name, upstreamId: up.id, message: `Could not reach ${up.name} to start a sign-in: ${(e as Error).message}.` } });
      ctx.status = 502;
      ctx.body = messagePage({ title: 'Sign-in unavailable', message: `Gatehouse could not reach ${up.name} to sign you in.`, detail: 'Try again in a moment. If this keeps happening, tell your administrator.', branding: branding(it.tenant) });
      return;
    }
    saveTransaction(services, ctx, it.tenant.slug, t);
    await services.auditStore.record({ tenantId: it.tenant.id, type: 'federation.redirect', ip: ctx.ip, clientId: t.clientId ?? null, data: { clientId: t.clientId, upstream: up.name, upstreamId: up.id, message: `Sent ${email ?? 'a user'} to ${up.name} to sign in.`, loginHint: !!(email && up.settings.loginHint) } });
    ctx.status = 303;
    ctx.redirect(to.href);
  });

  // Back from the upstream (federation/routes.ts checked everything): finish the sign-in.
  router.get('/federated', async (ctx) => {
    const it = await load(ctx);
    if (!it) return;
    const t = readTransaction(services, ctx);
    clearTransaction(services, ctx, it.tenant.slug);
    if (!t?.result || t.uid !== it.details.uid) {
      ctx.status = 400;
      ctx.body = messagePage({ title: 'Sign-in expired', message: 'This sign-in took too long or was started in another browser.', detail: 'Go back to the application and sign in again.', branding: branding(it.tenant) });
      return;
    }
    await finish(ctx, it.provider, { login: { accountId: t.result.accountId, amr: t.result.amr, acr: t.result.acr, remember: true } });
  });

  router.post('/password', async (ctx) => {
    const it = await load(ctx);
    if (!it || !checkCsrf(ctx)) return;
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const common = { csrf: csrfFor(it.details.uid), appName: it.profile?.displayName, branding: branding(it.tenant) };
    const email = emailField.safeParse(String(body.email ?? '').trim().toLowerCase());
    if (!email.success) {
      ctx.status = 400;
      ctx.body = identifierPage({ ...common, action: `${it.base}/identify`, error: 'Enter your email address, like name@example.com.' });
      return;
    }
    const password = typeof body.password === 'string' ? body.password : '';
    const pageAgain = (error: string, status: number) => {
      ctx.status = status;
      ctx.body = passwordPage({ ...common, action: `${it.base}/password`, email: email.data, restartAction: it.base, error });
    };
    // A user an upstream directory signs in may not use a password here (unless allowed).
    const up = await services.federationService.route(it.tenant.id, email.data);
    if (up && !services.federationService.passwordAllowed(up, await services.userStore.userByEmail(it.tenant.id, email.data))) {
      ctx.status = 403;
      ctx.body = upstreamPage({ ...common, action: `${it.base}/password`, email: email.data, restartAction: it.base, upstream: { name: up.name, url: upstreamStart(it.base, up, email.data) }, error: `Your organization signs you in through ${up.name}; passwords are not used here.` });
      return;
    }
    if (!password) return pageAgain('Enter your password.', 400);
    const result = await passwordSignIn(services, it.tenant, email.data, password, originOf(ctx, it));
    if (!result.ok) {
      if (result.retryAfter) ctx.set('Retry-After', String(result.retryAfter));
      if (result.reason === 'disabled') {
        ctx.status = 403;
        ctx.body = accountDisabledPage({ ...common, action: abortAction(it, 'account_disabled'), email: email.data });
        return;
      }
      return pageAgain(result.message, result.reason === 'throttled' ? 429 : result.reason === 'unavailable' ? 503 : result.reason === 'refused' ? 403 : 401);
    }
    if (!(await services.policyService.settingsFor(result.user)).ssoEnabled) {
      await services.auditStore.record({ tenantId: it.tenant.id, type: 'signin.failed', level: 'warn', subject: result.user.id, ip: ctx.ip, data: { email: result.user.email, reason: 'sso_disabled' } });
      ctx.status = 403;
      ctx.body = ssoDisabledPage({ ...common, action: abortAction(it, 'sso_disabled') });
      return;
    }
    // A user with an authenticator their policy allows proves the second factor before the
    // sign-in completes; without one, a policy or app that requires it leads to the set-up
    // page (engine check).
    if (await secondFactorStep(ctx, it, result.user, { afterPassword: true })) return;
    const login = { amr: ['pwd'], acr: 'urn:gatehouse:loa:pwd' };
    if (secondFactorStillWanted(await services.policyService.settingsFor(result.user), { params: it.details.params, client: { gatehouse_require_mfa: it.profile?.requireMfa }, clientId: clientIdOf(it), ip: ctx.ip })) {
      // No factor to ask for, yet one is required: the engine leads to the set-up page. Not a
      // completed sign-in, so not audited as one.
      await passwordAccepted(services, it.tenant, result.user, originOf(ctx, it), clientIdOf(it), 'second_factor_setup');
      await finish(ctx, it.provider, { login: { accountId: result.user.id, ...login, remember: true } });
      return;
    }
    await signedIn(ctx, it, result.user, login);
  });

  // Passwordless: a discoverable passkey (with user verification) from the email page.
  router.post('/passkey', async (ctx) => {
    const it = await load(ctx);
    if (!it || !checkCsrf(ctx)) return;
    const pending = passkeyPending.read(ctx);
    passkeyPending.clear(ctx, it.tenant.slug);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const credential = typeof body.credential === 'string' ? body.credential.slice(0, 20_000) : '';
    const result = await passkeySignIn(services, it.tenant, credential, pending?.uid === it.details.uid ? pending.challenge : undefined, originOf(ctx, it));
    if (!result.ok) {
      if (result.reason === 'sso_disabled') {
        ctx.status = 403;
        ctx.body = ssoDisabledPage({ csrf: csrfFor(it.details.uid), appName: it.profile?.displayName, branding: branding(it.tenant), action: abortAction(it, 'sso_disabled') });
        return;
      }
      ctx.status = result.status;
      await emailPage(ctx, it, { error: result.message });
      return;
    }
    // User verification on the passkey (its PIN or biometrics) makes it multi-factor on its own.
    await signedIn(ctx, it, result.user, { amr: ['hwk', 'mfa'], acr: MFA_ACR });
  });

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

  router.post('/mfa', async (ctx) => {
    const it = await load(ctx);
    if (!it || !checkCsrf(ctx)) return;
    const pending = mfaPending.read(ctx);
    const user = pending?.uid === it.details.uid ? await services.userStore.userById(it.tenant.id, pending.accountId) : undefined;
    if (!user || user.status !== 'active') {
      ctx.status = 400;
      ctx.body = messagePage({ title: 'Sign-in expired', message: 'This sign-in took too long or was started in another browser.', detail: 'Go back to the application and sign in again.', branding: branding(it.tenant) });
      return;
    }
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const sf = await secondFactorsOf(services, it.tenant, user);
    if (body.push === '1' && pending!.pushId) {
      const c = await services.pushService.challenge(it.tenant, pending!.pushId);
      const outcome = c && c.userId === user.id && services.pushService.isFor(c, it.details.uid) ? services.pushService.outcome(c) : 'expired';
      if (outcome === 'pending') {
        ctx.status = 409;
        await askSecondFactor(ctx, it, user, sf, { pushId: c!.id, error: 'The request has not been approved yet. Approve it in your Gatehouse Authenticator, then continue.' });
        return;
      }
      if (outcome === 'approved' && (await services.pushService.consume(it.tenant, c!, it.details.uid, user.id))) {
        await mfaSucceeded(services, it.tenant, user, 'push', ctx.ip);
        // RFC 8176 "swk": proof of possession of a software-secured key (the phone's non-extractable key).
        await secondFactorDone(ctx, it, user, sf, ['pwd', 'swk']);
        return;
      }
      // Denied, a wrong number, expired or already used: this sign-in is over; the user begins again.
      if (outcome === 'expired') await services.auditStore.record({ tenantId: it.tenant.id, type: 'mfa.push_expired', level: 'warn', subject: user.id, ip: ctx.ip, data: { email: user.email } });
      mfaPending.clear(ctx, it.tenant.slug);
      ctx.status = 401;
      ctx.body = pushEndedPage({ reason: outcome === 'approved' ? 'used' : outcome, restartAction: it.base, branding: branding(it.tenant), appName: it.profile?.displayName });
      return;
    }
    const code = String(body.code ?? '').slice(0, 40);
    const passkey = typeof body.credential === 'string' && body.credential ? body.credential.slice(0, 20_000) : undefined;
    const result = await checkMfaCode(services, it.tenant, user, sf, { code, passkey, challenge: pending!.challenge }, ctx.ip);
    if (!result.ok) {
      ctx.status = result.status;
      if (result.retryAfter) ctx.set('Retry-After', String(result.retryAfter));
      await askSecondFactor(ctx, it, user, sf, { error: result.message, pushId: pending!.pushId });
      return;
    }
    await secondFactorDone(ctx, it, user, sf, result.amr);
  });

  router.post('/abort', async (ctx) => {
    const it = await load(ctx);
    if (!it || !checkCsrf(ctx)) return;
    const reason = typeof ctx.query.reason === 'string' ? ctx.query.reason : '';
    const sig = typeof ctx.query.sig === 'string' ? ctx.query.sig : '';
    const signed = reason !== '' && safeEqual(sig, abortSig(it.details.uid, reason));
    await finish(ctx, it.provider, { error: 'access_denied', error_description: abortDescription(signed ? reason : undefined, acrRequestOf(it.details.params)) });
  });

  return router;
}
