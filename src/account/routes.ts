// The signed-in user's account page (/t/<slug>/account): two-step verification (add the
// Gatehouse Authenticator, an authenticator app or a passkey, as the user's policy allows; see
// recovery codes once; remove an authenticator; forget a remembered browser).
// Who the user is comes from a sign-in round trip (interaction/whoami.ts); it is then kept
// for 15 minutes in a sealed cookie with a CSRF secret for the page's forms.
import Router from '@koa/router';
import type Koa from 'koa';
import crypto from 'node:crypto';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { UserWithSecret } from '../storage/users.ts';
import { sealedCookie } from '../shared/sealed-cookie.ts';
import { safeEqual } from '../shared/crypto.ts';
import { messages } from '../selfservice/messages.ts';
import type { AccountPassword } from '../interaction/pages/account.ts';
import { accountPage, messagePage, passkeyEnrollPage, pushEnrollPage, recoveryCodesPage, totpEnrollPage } from '../interaction/pages.ts';
import type { FactorType } from '../policy/policies.ts';
import { registrationOptions, verifyRegistration } from '../mfa/webauthn.ts';
import { startSignIn } from '../interaction/whoami.ts';
import { issuerFor } from '../oidc/engine.ts';
import { noteTenantLocale, pageBranding } from '../interaction/branding.ts';
import { currentLocale, isLocale, LOCALES, noteLocale, t, type MessageKey } from '../i18n/index.ts';
import { isLocalPath, PICKED_COOKIE } from '../i18n/routes.ts';
import { LAUNCHER_CLIENT_ID } from '../oidc/clients.ts';
import { textProblem } from '../shared/input.ts';
import { matchStep, newRecoveryCodes, newTotpSecret, otpauthUri, qrSvg, recoveryHash } from '../mfa/totp.ts';

type Ctx = Koa.ParameterizedContext<Koa.DefaultState, Koa.DefaultContext & { params: Record<string, string> }>;
interface AccountSession {
  accountId: string;
  csrf: string;
}

/** The round trip's `next` for the account page. */
export const ACCOUNT = '@account';
const SESSION_MS = 15 * 60_000;

const session = (services: Services) => sealedCookie<AccountSession>(services, 'gh_account', SESSION_MS);
/** Enrollment in progress: the new TOTP secret (until the user proves their app has it) or the passkey challenge. */
const enrollment = (services: Services) =>
  sealedCookie<{ accountId: string; secret?: string; challenge?: string; pushCode?: string; recovery?: string[] }>(services, 'gh_enroll', 10 * 60_000);
const FACTOR_NAMES: Record<FactorType, MessageKey> = { totp: 'account.factors.totp', webauthn: 'account.factors.webauthn', push: 'account.factors.push' };

/** Called when the round trip for the account page comes back signed in. */
export function openAccount(services: Services, ctx: Pick<Koa.Context, 'cookies' | 'status' | 'redirect'>, tenant: Tenant, user: UserWithSecret): void {
  session(services).save(ctx, tenant.slug, { accountId: user.id, csrf: crypto.randomBytes(18).toString('base64url') });
  ctx.status = 303;
  ctx.redirect(`${issuerFor(services.config.publicUrl, tenant.slug)}/account`);
}

/** A factor's name with control characters (or invalid UTF-8) is refused, as everywhere else. */
function labelRefused(ctx: { status: number; body: unknown }, tenant: Tenant, body: Record<string, unknown>, again: string): boolean {
  const problem = textProblem(String(body.label ?? ''));
  if (!problem) return false;
  ctx.status = 400;
  ctx.body = messagePage({
    branding: pageBranding(tenant),
    title: t('account.name.title'),
    message: t('account.name.message', { problem }),
    detail: t('account.name.detail', { url: again }),
  });
  return true;
}

export function accountRouter(services: Services): Router {
  const router = new Router({ prefix: '/t/:slug/account' });
  const base = (tenant: Tenant) => `${issuerFor(services.config.publicUrl, tenant.slug)}/account`;

  /** The signed-in user, or (for a GET) a round trip to find out; undefined when answered. */
  async function who(ctx: Ctx): Promise<{ tenant: Tenant; user: UserWithSecret; s: AccountSession } | undefined> {
    const tenant = await services.tenantStore.bySlug(ctx.params.slug!);
    if (!tenant) {
      ctx.status = 404;
      ctx.body = messagePage({
        title: t('error.unknownOrg.title'),
        message: t('error.unknownOrg.message', { slug: ctx.params.slug! }),
        detail: t('error.unknownOrg.detail'),
      });
      return undefined;
    }
    noteTenantLocale(tenant);
    const s = session(services).read(ctx);
    const user = s ? await services.userStore.userById(tenant.id, s.accountId) : undefined;
    if (s && user && user.status === 'active') {
      noteLocale({ user: user.locale, save: { action: `${new URL(base(tenant)).pathname}/language`, csrf: s.csrf } });
      if (ctx.method === 'GET') return { tenant, user, s };
      const sent = (ctx.request.body as Record<string, unknown> | undefined)?.csrf;
      if (typeof sent === 'string' && safeEqual(sent, s.csrf)) return { tenant, user, s };
      ctx.status = 403;
      ctx.body = messagePage({
        branding: pageBranding(tenant),
        title: t('error.formExpired.title'),
        message: t('error.formExpired.message'),
        detail: t('account.tryAgainAt', { url: base(tenant) }),
      });
      return undefined;
    }
    if (ctx.method === 'GET') {
      startSignIn(services, ctx, tenant, ACCOUNT);
      return undefined;
    }
    ctx.status = 403;
    ctx.body = messagePage({
      branding: pageBranding(tenant),
      title: t('account.sessionExpired.title'),
      message: t('account.sessionExpired.message'),
      detail: t('account.tryAgainAt', { url: base(tenant) }),
    });
    return undefined;
  }

  /** How the user's password is kept: here (a change form), by their directory (where to change it), or by their upstream. */
  async function passwordOf(tenant: Tenant, user: UserWithSecret): Promise<AccountPassword> {
    if (user.directoryId) return { kind: 'directory', help: (await services.ldapStore.byId(tenant.id, user.directoryId))?.settings.passwordHelp ?? null };
    if (user.upstreamId) {
      const up = await services.upstreamStore.byId(tenant.id, user.upstreamId);
      return {
        kind: 'upstream',
        name: up?.name ?? "your organization's sign-in service",
        url: up?.settings.issuer && /^https:\/\//.test(up.settings.issuer) ? up.settings.issuer : null,
      };
    }
    return { kind: 'local' };
  }

  async function show(ctx: Ctx, tenant: Tenant, user: UserWithSecret, s: AccountSession, notice?: string, error?: string) {
    const factors = await services.mfaStore.factors(tenant.id, user.id);
    const settings = await services.policyService.settingsFor(user);
    ctx.type = 'html';
    noteLocale({ back: new URL(base(tenant)).pathname }); // also after a form: the page itself is a GET
    ctx.body = accountPage({
      branding: pageBranding(tenant),
      locale: isLocale(user.locale) ? user.locale : null,
      email: user.email,
      name: [user.givenName, user.familyName].filter(Boolean).join(' ') || null,
      csrf: s.csrf,
      base: base(tenant),
      notice,
      factors: factors.map((f) => ({ id: f.id, label: f.label, type: f.type, createdAt: f.createdAt, lastUsedAt: f.lastUsedAt })),
      recoveryLeft: factors.length ? await services.mfaStore.unusedRecoveryCodes(tenant.id, user.id) : 0,
      allowed: settings.allowedFactors,
      remembered: await services.mfaStore.rememberedDevices(tenant.id, user.id),
      sessions: await sessionsOf(ctx, tenant, user),
      password: await passwordOf(tenant, user),
      emailVerified: user.emailVerified || !!user.directoryId || !!user.upstreamId,
      error,
    });
  }

  /** The user's SSO sessions, this browser's marked. */
  async function sessionsOf(ctx: Ctx, tenant: Tenant, user: UserWithSecret) {
    const list = await services.sessionService.listForUser(tenant.id, user.id);
    // The engine's session cookie names this browser's session (only to label it: nothing is decided by it).
    const cookie = ctx.cookies.get('gh_session');
    const mine =
      cookie && /^[\w-]{1,100}$/.test(cookie)
        ? await (await services.engineCache.get(tenant.slug))?.provider.Session.find(cookie).catch(() => undefined)
        : undefined;
    return list.map((x) => ({
      id: x.id,
      device: x.device,
      ip: x.ip,
      startedAt: x.startedAt,
      lastSeenAt: x.lastSeenAt,
      expiresAt: x.expiresAt,
      apps: x.appNames.filter((a) => a.clientId !== LAUNCHER_CLIENT_ID).map((a) => a.name),
      current: !!mine && mine.uid === x.id,
    }));
  }

  /** Only the kinds of factor the user's policy allows may be added (answered with a page when not). */
  async function allowed(ctx: Ctx, w: { tenant: Tenant; user: UserWithSecret }, kind: FactorType): Promise<boolean> {
    const settings = await services.policyService.settingsFor(w.user);
    if (settings.allowedFactors.includes(kind)) return true;
    ctx.status = 403;
    ctx.type = 'html';
    ctx.body = messagePage({
      branding: pageBranding(w.tenant),
      title: t('account.notAllowed.title'),
      message: t('account.notAllowed.message', { factors: t(FACTOR_NAMES[kind]) }),
      detail: t('account.notAllowed.detail', {
        factors: new Intl.ListFormat(currentLocale(), { type: 'disjunction' }).format(settings.allowedFactors.map((k) => t(FACTOR_NAMES[k]))),
        url: base(w.tenant),
      }),
    });
    return false;
  }

  router.get('/', async (ctx) => {
    const w = await who(ctx);
    if (w) await show(ctx, w.tenant, w.user, w.s);
  });

  // Issue 17: change the password (the current one required; the same rules as every new
  // password); this browser stays signed in, every other session ends.
  router.post('/password', async (ctx) => {
    const w = await who(ctx);
    if (!w) return;
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : '');
    if (str('password') !== str('confirm')) {
      ctx.status = 400;
      await show(ctx, w.tenant, w.user, w.s, undefined, messages.pages.reset.mismatch);
      return;
    }
    const current = (await sessionsOf(ctx, w.tenant, w.user)).find((x) => x.current)?.id;
    const r = await services.selfService.changePassword(w.tenant, w.user, str('current'), str('password'), { ip: ctx.ip }, current);
    if (!r.ok) {
      ctx.status = 400;
      await show(ctx, w.tenant, w.user, w.s, undefined, r.message);
      return;
    }
    await show(ctx, w.tenant, (await services.userStore.userById(w.tenant.id, w.user.id))!, w.s, messages.pages.account.changed);
  });

  router.post('/verify-email', async (ctx) => {
    const w = await who(ctx);
    if (!w) return;
    const r = await services.selfService.sendVerification(w.tenant, w.user, { ip: ctx.ip });
    if (!r.ok) ctx.status = 400;
    await show(ctx, w.tenant, w.user, w.s, r.ok ? messages.pages.account.verificationSent(w.user.email) : r.message);
  });

  router.get('/totp', async (ctx) => {
    const w = await who(ctx);
    if (!w || !(await allowed(ctx, w, 'totp'))) return;
    const secret = await newTotpSecret();
    enrollment(services).save(ctx, w.tenant.slug, { accountId: w.user.id, secret });
    ctx.type = 'html';
    ctx.body = totpEnrollPage({
      branding: pageBranding(w.tenant),
      qrSvg: await qrSvg(await otpauthUri(w.tenant, w.user, secret)),
      secret,
      csrf: w.s.csrf,
      action: `${base(w.tenant)}/totp`,
      backUrl: base(w.tenant),
    });
  });

  router.post('/totp', async (ctx) => {
    const w = await who(ctx);
    if (!w || !(await allowed(ctx, w, 'totp'))) return;
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    if (labelRefused(ctx, w.tenant, body, `${base(w.tenant)}/totp`)) return;
    const pending = enrollment(services).read(ctx);
    if (!pending?.secret || pending.accountId !== w.user.id) {
      ctx.status = 400;
      ctx.body = messagePage({
        branding: pageBranding(w.tenant),
        title: t('enroll.push.expired.title'),
        message: t('enroll.totp.expired'),
        detail: t('enroll.totp.again', { url: `${base(w.tenant)}/totp` }),
      });
      return;
    }
    const label =
      String(body.label ?? '')
        .trim()
        .slice(0, 60) || t('enroll.totp.defaultName');
    const step = await matchStep(w.tenant, w.user.email, pending.secret, String(body.code ?? '').replace(/\s+/g, ''));
    if (step === undefined) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = totpEnrollPage({
        branding: pageBranding(w.tenant),
        qrSvg: await qrSvg(await otpauthUri(w.tenant, w.user, pending.secret)),
        secret: pending.secret,
        csrf: w.s.csrf,
        action: `${base(w.tenant)}/totp`,
        backUrl: base(w.tenant),
        error: t('enroll.totp.wrongCode'),
      });
      return;
    }
    const codes = newRecoveryCodes();
    // The code just typed counts as used: it cannot sign anyone in afterwards.
    await services.mfaStore.addFactor(
      w.tenant.id,
      w.user.id,
      { type: 'totp', label, secretSealed: services.sealer.seal(pending.secret), step },
      codes.map((c) => recoveryHash(services, c)),
    );
    enrollment(services).clear(ctx, w.tenant.slug);
    await services.auditStore.record({
      tenantId: w.tenant.id,
      type: 'mfa.enrolled',
      subject: w.user.id,
      ip: ctx.ip,
      data: { email: w.user.email, factor: 'totp', label },
    });
    ctx.type = 'html';
    ctx.body = recoveryCodesPage({ branding: pageBranding(w.tenant), codes, backUrl: base(w.tenant) });
  });

  router.get('/passkey', async (ctx) => {
    const w = await who(ctx);
    if (!w || !(await allowed(ctx, w, 'webauthn'))) return;
    const options = await registrationOptions(services, w.tenant, w.user, await services.mfaStore.factors(w.tenant.id, w.user.id));
    enrollment(services).save(ctx, w.tenant.slug, { accountId: w.user.id, challenge: options.challenge });
    ctx.type = 'html';
    ctx.body = passkeyEnrollPage({ branding: pageBranding(w.tenant), options, csrf: w.s.csrf, action: `${base(w.tenant)}/passkey`, backUrl: base(w.tenant) });
  });

  router.post('/passkey', async (ctx) => {
    const w = await who(ctx);
    if (!w || !(await allowed(ctx, w, 'webauthn'))) return;
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    if (labelRefused(ctx, w.tenant, body, `${base(w.tenant)}/passkey`)) return;
    const pending = enrollment(services).read(ctx);
    enrollment(services).clear(ctx, w.tenant.slug);
    let response: unknown;
    try {
      response = JSON.parse(String(body.credential ?? ''));
    } catch {
      response = undefined;
    }
    const sealed =
      pending?.challenge && pending.accountId === w.user.id && response && typeof response === 'object'
        ? await verifyRegistration(services, response as Parameters<typeof verifyRegistration>[1], pending.challenge)
        : undefined;
    if (!sealed) {
      ctx.status = 400;
      ctx.body = messagePage({
        branding: pageBranding(w.tenant),
        title: t('enroll.passkey.failed.title'),
        message: t('enroll.passkey.failed.message'),
        detail: t('account.tryAgainAt', { url: `${base(w.tenant)}/passkey` }),
      });
      return;
    }
    const label =
      String(body.label ?? '')
        .trim()
        .slice(0, 60) || t('enroll.passkey.defaultName');
    // Recovery codes come with the first second factor.
    const first = (await services.mfaStore.factors(w.tenant.id, w.user.id)).length === 0;
    const codes = first ? newRecoveryCodes() : undefined;
    await services.mfaStore.addFactor(
      w.tenant.id,
      w.user.id,
      { type: 'webauthn', label, secretSealed: sealed },
      codes?.map((c) => recoveryHash(services, c)),
    );
    await services.auditStore.record({
      tenantId: w.tenant.id,
      type: 'mfa.enrolled',
      subject: w.user.id,
      ip: ctx.ip,
      data: { email: w.user.email, factor: 'webauthn', label },
    });
    if (codes) {
      ctx.type = 'html';
      ctx.body = recoveryCodesPage({ branding: pageBranding(w.tenant), codes, backUrl: base(w.tenant) });
      return;
    }
    await show(ctx, w.tenant, w.user, w.s, t('account.notice.passkeyAdded', { label }));
  });

  // The user's language for Gatehouse's pages (i18n negotiate: after an application's
  // ui_locales, before the browser's). This browser's picker choice is updated with it, so the
  // page answers in the language just chosen.
  router.post('/language', async (ctx) => {
    const w = await who(ctx);
    if (!w) return;
    const chosen = (ctx.request.body as Record<string, unknown> | undefined)?.locale;
    if (!isLocale(chosen)) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = messagePage({
        branding: pageBranding(w.tenant),
        title: t('error.language.title'),
        message: t('error.language.message', { languages: LOCALES.join(', ') }),
        detail: t('account.tryAgainAt', { url: base(w.tenant) }),
      });
      return;
    }
    const user = { ...w.user, locale: (await services.userStore.updateUser(w.tenant.id, w.user.id, undefined, { locale: chosen })).locale };
    ctx.cookies.set(PICKED_COOKIE, chosen, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: services.config.publicUrl.startsWith('https:'),
      signed: false,
      overwrite: true,
    });
    noteLocale({ user: chosen, picked: chosen });
    await services.auditStore.record({
      tenantId: w.tenant.id,
      type: 'account.language_changed',
      subject: w.user.id,
      ip: ctx.ip,
      data: { email: w.user.email, locale: chosen },
    });
    // From the picker of another account page: back to that page (a path of this account area).
    const back = (ctx.request.body as Record<string, unknown> | undefined)?.back;
    const area = new URL(base(w.tenant)).pathname;
    if (isLocalPath(back) && back !== area && back.startsWith(`${area}/`)) {
      ctx.status = 303;
      ctx.redirect(back);
      return;
    }
    await show(ctx, w.tenant, user, w.s, t('account.languageSaved'));
  });

  router.post('/factors/:id/remove', async (ctx) => {
    const w = await who(ctx);
    if (!w) return;
    await services.mfaStore.removeFactor(w.tenant.id, w.user.id, ctx.params.id!);
    await services.pushService.deviceRemoved(w.tenant.id, w.user.id); // an open Gatehouse Authenticator learns it at once
    await services.auditStore.record({
      tenantId: w.tenant.id,
      type: 'mfa.removed',
      subject: w.user.id,
      ip: ctx.ip,
      data: { email: w.user.email, factorId: ctx.params.id },
    });
    await show(ctx, w.tenant, w.user, w.s, t('account.notice.removed'));
  });

  router.post('/sessions/:id/end', async (ctx) => {
    const w = await who(ctx);
    if (!w) return;
    const target = await services.sessionService.get(w.tenant.id, ctx.params.id!);
    // Only the user's own sessions; someone else's id answers as if it did not exist.
    const ended =
      target?.userId === w.user.id && (await services.sessionService.end(w.tenant, target.id, { by: w.user.email, why: 'signed out on the account page' }));
    await show(ctx, w.tenant, w.user, w.s, ended ? t('account.notice.signedOut', { device: target!.device }) : t('account.notice.alreadyEnded'));
  });

  router.post('/remembered/:id/forget', async (ctx) => {
    const w = await who(ctx);
    if (!w) return;
    await services.mfaStore.forget(w.tenant.id, w.user.id, ctx.params.id!);
    await services.auditStore.record({ tenantId: w.tenant.id, type: 'mfa.browser_forgotten', subject: w.user.id, ip: ctx.ip, data: { email: w.user.email } });
    await show(ctx, w.tenant, w.user, w.s, t('account.notice.forgotten'));
  });

  // The Gatehouse Authenticator: a QR code of a one-time setup link; the page waits for the phone.
  async function pushPage(ctx: Ctx, w: { tenant: Tenant }, code: string, notice?: string) {
    const link = services.pushService.setupLink(w.tenant, code);
    ctx.type = 'html';
    ctx.body = pushEnrollPage({
      branding: pageBranding(w.tenant),
      qrSvg: await qrSvg(link),
      link,
      code,
      slug: w.tenant.slug,
      notice,
      statusUrl: `${base(w.tenant)}/push/status`,
      doneUrl: `${base(w.tenant)}/push/done`,
      backUrl: base(w.tenant),
    });
  }

  router.get('/push', async (ctx) => {
    const w = await who(ctx);
    if (!w || !(await allowed(ctx, w, 'push'))) return;
    // Recovery codes come with the first second factor: made now, shown here once the phone is done.
    const first = (await services.mfaStore.factors(w.tenant.id, w.user.id)).length === 0;
    const recovery = first ? newRecoveryCodes() : undefined;
    const { code } = await services.pushService.startEnrollment(w.tenant, w.user, recovery?.map((c) => recoveryHash(services, c)) ?? null);
    enrollment(services).save(ctx, w.tenant.slug, { accountId: w.user.id, pushCode: code, recovery });
    await pushPage(ctx, w, code);
  });

  // The page's script asks whether the phone finished.
  router.get('/push/status', async (ctx) => {
    const w = await who(ctx);
    if (!w) return;
    ctx.set('Cache-Control', 'no-store');
    const pending = enrollment(services).read(ctx);
    ctx.body = {
      state:
        pending?.pushCode && pending.accountId === w.user.id
          ? (await services.pushService.enrollmentState(w.tenant, w.user.id, pending.pushCode)).state
          : 'expired',
    };
  });

  router.get('/push/done', async (ctx) => {
    const w = await who(ctx);
    if (!w) return;
    const pending = enrollment(services).read(ctx);
    const state =
      pending?.pushCode && pending.accountId === w.user.id ? await services.pushService.enrollmentState(w.tenant, w.user.id, pending.pushCode) : undefined;
    if (!state || state.state === 'expired') {
      ctx.status = 400;
      ctx.body = messagePage({
        branding: pageBranding(w.tenant),
        title: t('enroll.push.expired.title'),
        message: t('enroll.push.expired.message'),
        detail: t('enroll.push.expired.detail', { url: `${base(w.tenant)}/push` }),
      });
      return;
    }
    if (state.state === 'waiting') return pushPage(ctx, w, pending!.pushCode!, t('enroll.push.notYet'));
    enrollment(services).clear(ctx, w.tenant.slug);
    if (state.recoveryIssued && pending!.recovery) {
      ctx.type = 'html';
      ctx.body = recoveryCodesPage({ branding: pageBranding(w.tenant), codes: pending!.recovery, backUrl: base(w.tenant) });
      return;
    }
    await show(ctx, w.tenant, w.user, w.s, t('account.notice.pushAdded'));
  });

  return router;
}
