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
import { pageBranding } from '../interaction/branding.ts';
import { LAUNCHER_CLIENT_ID } from '../oidc/clients.ts';
import { textProblem } from '../shared/input.ts';
import { matchStep, newRecoveryCodes, newTotpSecret, otpauthUri, qrSvg, recoveryHash } from '../mfa/totp.ts';

type Ctx = Koa.ParameterizedContext<Koa.DefaultState, Koa.DefaultContext & { params: Record<string, string> }>;
interface AccountSession { accountId: string; csrf: string }

/** The round trip's `next` for the account page. */
export const ACCOUNT = '@account';
const SESSION_MS = 15 * 60_000;

const session = (services: Services) => sealedCookie<AccountSession>(services, 'gh_account', SESSION_MS);
/** Enrollment in progress: the new TOTP secret (until the user proves their app has it) or the passkey challenge. */
const enrollment = (services: Services) => sealedCookie<{ accountId: string; secret?: string; challenge?: string; pushCode?: string; recovery?: string[] }>(services, 'gh_enroll', 10 * 60_000);
const FACTOR_NAMES: Record<FactorType, string> = { totp: 'authenticator apps', webauthn: 'passkeys', push: 'the Gatehouse Authenticator' };

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
  ctx.body = messagePage({ branding: pageBranding(tenant), title: 'Name not accepted', message: `The name you gave ${problem}.`, detail: `Open ${again} and type the name again.` });
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
      ctx.body = messagePage({ title: 'Unknown organization', message: `There is no organization "${ctx.params.slug}" on this Gatehouse.`, detail: 'Check the address you were given.' });
      return undefined;
    }
    const s = session(services).read(ctx);
    const user = s ? await services.userStore.userById(tenant.id, s.accountId) : undefined;
    if (s && user && user.status === 'active') {
      if (ctx.method === 'GET') return { tenant, user, s };
      const sent = (ctx.request.body as Record<string, unknown> | undefined)?.csrf;
      if (typeof sent === 'string' && safeEqual(sent, s.csrf)) return { tenant, user, s };
      ctx.status = 403;
      ctx.body = messagePage({ branding: pageBranding(tenant), title: 'Form expired', message: 'This form could not be verified (it may be from an old tab).', detail: `Open ${base(tenant)} and try again.` });
      return undefined;
    }
    if (ctx.method === 'GET') { startSignIn(services, ctx, tenant, ACCOUNT); return undefined; }
    ctx.status = 403;
    ctx.body = messagePage({ branding: pageBranding(tenant), title: 'Session expired', message: 'Your account page was open too long.', detail: `Open ${base(tenant)} and try again.` });
    return undefined;
  }

  /** How the user's password is kept: here (a change form), by their directory (where to change it), or by their upstream. */
  async function passwordOf(tenant: Tenant, user: UserWithSecret): Promise<AccountPassword> {
    if (user.directoryId) return { kind: 'directory', help: (await services.ldapStore.byId(tenant.id, user.directoryId))?.settings.passwordHelp ?? null };
    if (user.upstreamId) {
      const up = await services.upstreamStore.byId(tenant.id, user.upstreamId);
      return { kind: 'upstream', name: up?.name ?? 'your organization\'s sign-in service', url: up?.settings.issuer && /^https:\/\//.test(up.settings.issuer) ? up.settings.issuer : null };
    }
    return { kind: 'local' };
  }

  async function show(ctx: Ctx, tenant: Tenant, user: UserWithSecret, s: AccountSession, notice?: string, error?: string) {
    const factors = await services.mfaStore.factors(tenant.id, user.id);
    const settings = await services.policyService.settingsFor(user);
    ctx.type = 'html';
    ctx.body = accountPage({ branding: pageBranding(tenant),
      email: user.email, name: [user.givenName, user.familyName].filter(Boolean).join(' ') || null, csrf: s.csrf, base: base(tenant), notice,
      factors: factors.map((f) => ({ id: f.id, label: f.label, type: f.type, createdAt: f.createdAt, lastUsedAt: f.lastUsedAt })),
      recoveryLeft: factors.length ? await services.mfaStore.unusedRecoveryCodes(tenant.id, user.id) : 0,
      allowed: settings.allowedFactors, remembered: await services.mfaStore.rememberedDevices(tenant.id, user.id),
      sessions: await sessionsOf(ctx, tenant, user),
      password: await passwordOf(tenant, user), emailVerified: user.emailVerified || !!user.directoryId || !!user.upstreamId, error,
    });
  }

  /** The user's SSO sessions, this browser's marked. */
  async function sessionsOf(ctx: Ctx, tenant: Tenant, user: UserWithSecret) {
    const list = await services.sessionService.listForUser(tenant.id, user.id);
    // The engine's session cookie names this browser's session (only to label it: nothing is decided by it).
    const cookie = ctx.cookies.get('gh_session');
    const mine = cookie && /^[\w-]{1,100}$/.test(cookie) ? await (await services.engineCache.get(tenant.slug))?.provider.Session.find(cookie).catch(() => undefined) : undefined;
    return list.map((x) => ({ id: x.id, device: x.device, ip: x.ip, startedAt: x.startedAt, lastSeenAt: x.lastSeenAt, expiresAt: x.expiresAt, apps: x.appNames.filter((a) => a.clientId !== LAUNCHER_CLIENT_ID).map((a) => a.name), current: !!mine && mine.uid === x.id }));
  }

  /** Only the kinds of factor the user's policy allows may be added (answered with a page when not). */
  async function allowed(ctx: Ctx, w: { tenant: Tenant; user: UserWithSecret }, kind: FactorType): Promise<boolean> {
    const settings = await services.policyService.settingsFor(w.user);
    if (settings.allowedFactors.includes(kind)) return true;
    ctx.status = 403;
    ctx.type = 'html';
    ctx.body = messagePage({ branding: pageBranding(w.tenant),
      title: 'Not allowed here', message: `Your organization's policy does not allow ${FACTOR_NAMES[kind]} for your account.`,
      detail: `You can add ${settings.allowedFactors.map((k) => FACTOR_NAMES[k]).join(' or ')}. Go back to ${base(w.tenant)}.`,
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
    const str = (k: string) => (typeof body[k] === 'string' ? body[k] as string : '');
    if (str('password') !== str('confirm')) { ctx.status = 400; await show(ctx, w.tenant, w.user, w.s, undefined, messages.pages.reset.mismatch); return; }
    const current = (await sessionsOf(ctx, w.tenant, w.user)).find((x) => x.current)?.id;
    const r = await services.selfService.changePassword(w.tenant, w.user, str('current'), str('password'), { ip: ctx.ip }, current);
    if (!r.ok) { ctx.status = 400; await show(ctx, w.tenant, w.user, w.s, undefined, r.message); return; }
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
    ctx.body = totpEnrollPage({ branding: pageBranding(w.tenant), qrSvg: await qrSvg(await otpauthUri(w.tenant, w.user, secret)), secret, csrf: w.s.csrf, action: `${base(w.tenant)}/totp`, backUrl: base(w.tenant) });
  });

  router.post('/totp', async (ctx) => {
    const w = await who(ctx);
    if (!w || !(await allowed(ctx, w, 'totp'))) return;
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    if (labelRefused(ctx, w.tenant, body, `${base(w.tenant)}/totp`)) return;
    const pending = enrollment(services).read(ctx);
    if (!pending?.secret || pending.accountId !== w.user.id) {
      ctx.status = 400;
      ctx.body = messagePage({ branding: pageBranding(w.tenant), title: 'Setup expired', message: 'Adding the authenticator took too long.', detail: `Open ${base(w.tenant)}/totp and start again.` });
      return;
    }
    const label = String(body.label ?? '').trim().slice(0, 60) || 'Authenticator app';
    const step = await matchStep(w.tenant, w.user.email, pending.secret, String(body.code ?? '').replace(/\s+/g, ''));
    if (step === undefined) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = totpEnrollPage({ branding: pageBranding(w.tenant), qrSvg: await qrSvg(await otpauthUri(w.tenant, w.user, pending.secret)), secret: pending.secret, csrf: w.s.csrf, action: `${base(w.tenant)}/totp`, backUrl: base(w.tenant), error: 'That code is not right. Check that the app shows this account, and type its current 6-digit code.' });
      return;
    }
    const codes = newRecoveryCodes();
    // The code just typed counts as used: it cannot sign anyone in afterwards.
    await services.mfaStore.addFactor(w.tenant.id, w.user.id, { type: 'totp', label, secretSealed: services.sealer.seal(pending.secret), step }, codes.map((c) => recoveryHash(services, c)));
    enrollment(services).clear(ctx, w.tenant.slug);
    await services.auditStore.record({ tenantId: w.tenant.id, type: 'mfa.enrolled', subject: w.user.id, ip: ctx.ip, data: { email: w.user.email, factor: 'totp', label } });
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
    try { response = JSON.parse(String(body.credential ?? '')); } catch { response = undefined; }
    const sealed = pending?.challenge && pending.accountId === w.user.id && response && typeof response === 'object'
      ? await verifyRegistration(services, response as Parameters<typeof verifyRegistration>[1], pending.challenge) : undefined;
    if (!sealed) {
      ctx.status = 400;
      ctx.body = messagePage({ branding: pageBranding(w.tenant), title: 'Passkey not added', message: 'The passkey could not be verified, or adding it took too long.', detail: `Open ${base(w.tenant)}/passkey and try again.` });
      return;
    }
    const label = String(body.label ?? '').trim().slice(0, 60) || 'Passkey';
    // Recovery codes come with the first second factor.
    const first = (await services.mfaStore.factors(w.tenant.id, w.user.id)).length === 0;
    const codes = first ? newRecoveryCodes() : undefined;
    await services.mfaStore.addFactor(w.tenant.id, w.user.id, { type: 'webauthn', label, secretSealed: sealed }, codes?.map((c) => recoveryHash(services, c)));
    await services.auditStore.record({ tenantId: w.tenant.id, type: 'mfa.enrolled', subject: w.user.id, ip: ctx.ip, data: { email: w.user.email, factor: 'webauthn', label } });
    if (codes) {
      ctx.type = 'html';
      ctx.body = recoveryCodesPage({ branding: pageBranding(w.tenant), codes, backUrl: base(w.tenant) });
      return;
    }
    await show(ctx, w.tenant, w.user, w.s, `The passkey "${label}" was added.`);
  });

  router.post('/factors/:id/remove', async (ctx) => {
    const w = await who(ctx);
    if (!w) return;
    await services.mfaStore.removeFactor(w.tenant.id, w.user.id, ctx.params.id!);
    await services.pushService.deviceRemoved(w.tenant.id, w.user.id); // an open Gatehouse Authenticator learns it at once
    await services.auditStore.record({ tenantId: w.tenant.id, type: 'mfa.removed', subject: w.user.id, ip: ctx.ip, data: { email: w.user.email, factorId: ctx.params.id } });
    await show(ctx, w.tenant, w.user, w.s, 'The authenticator was removed.');
  });

  router.post('/sessions/:id/end', async (ctx) => {
    const w = await who(ctx);
    if (!w) return;
    const target = await services.sessionService.get(w.tenant.id, ctx.params.id!);
    // Only the user's own sessions; someone else's id answers as if it did not exist.
    const ended = target?.userId === w.user.id && (await services.sessionService.end(w.tenant, target.id, { by: w.user.email, why: 'signed out on the account page' }));
    await show(ctx, w.tenant, w.user, w.s, ended ? `Signed out ${target!.device}.` : 'That session had already ended.');
  });

  router.post('/remembered/:id/forget', async (ctx) => {
    const w = await who(ctx);
    if (!w) return;
    await services.mfaStore.forget(w.tenant.id, w.user.id, ctx.params.id!);
    await services.auditStore.record({ tenantId: w.tenant.id, type: 'mfa.browser_forgotten', subject: w.user.id, ip: ctx.ip, data: { email: w.user.email } });
    await show(ctx, w.tenant, w.user, w.s, 'That browser will ask for two-step verification again.');
  });

  // The Gatehouse Authenticator: a QR code of a one-time setup link; the page waits for the phone.
  async function pushPage(ctx: Ctx, w: { tenant: Tenant }, code: string, notice?: string) {
    const link = services.pushService.setupLink(w.tenant, code);
    ctx.type = 'html';
    ctx.body = pushEnrollPage({ branding: pageBranding(w.tenant),
      qrSvg: await qrSvg(link), link, code, slug: w.tenant.slug, notice,
      statusUrl: `${base(w.tenant)}/push/status`, doneUrl: `${base(w.tenant)}/push/done`, backUrl: base(w.tenant),
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
    ctx.body = { state: pending?.pushCode && pending.accountId === w.user.id ? (await services.pushService.enrollmentState(w.tenant, w.user.id, pending.pushCode)).state : 'expired' };
  });

  router.get('/push/done', async (ctx) => {
    const w = await who(ctx);
    if (!w) return;
    const pending = enrollment(services).read(ctx);
    const state = pending?.pushCode && pending.accountId === w.user.id ? await services.pushService.enrollmentState(w.tenant, w.user.id, pending.pushCode) : undefined;
    if (!state || state.state === 'expired') {
      ctx.status = 400;
      ctx.body = messagePage({ branding: pageBranding(w.tenant), title: 'Setup expired', message: 'Adding the Gatehouse Authenticator took too long.', detail: `Open ${base(w.tenant)}/push and scan the new code.` });
      return;
    }
    if (state.state === 'waiting') return pushPage(ctx, w, pending!.pushCode!, 'Your phone has not finished yet. Scan the code (or open the link) on the phone, then wait a moment.');
    enrollment(services).clear(ctx, w.tenant.slug);
    if (state.recoveryIssued && pending!.recovery) {
      ctx.type = 'html';
      ctx.body = recoveryCodesPage({ branding: pageBranding(w.tenant), codes: pending!.recovery, backUrl: base(w.tenant) });
      return;
    }
    await show(ctx, w.tenant, w.user, w.s, 'The Gatehouse Authenticator was added.');
  });

  return router;
}
