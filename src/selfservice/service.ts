// Password self-service and email verification for local accounts (issue 17): reset by an
// emailed single-use link (15 minutes; a newer link or a sign-in voids it), change with the
// current password, confirm the email address. Answers never tell whether an account exists;
// requests are throttled per account and per address; everything is audited.
import crypto from 'node:crypto';
import type pino from 'pino';
import type { Config } from '../config/index.ts';
import type { TokenHasher } from '../shared/crypto.ts';
import type { UserStore, UserWithSecret } from '../storage/users.ts';
import type { UserLinkStore, LinkPurpose } from '../storage/user-links.ts';
import type { AuditStore } from '../storage/audit.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { Throttle } from '../ops/ratelimit.ts';
import type { SessionService } from '../sessions/sessions.ts';
import { hashPassword, verifyPassword, MAX_PASSWORD_LENGTH } from '../directory/passwords.ts';
import { issuerFor } from '../oidc/engine.ts';
import { resolveIdentifier } from './identifiers.ts';
import { passwordProblem } from './passwords.ts';
import { messages } from './messages.ts';
import { formatDateTime, inLocale, negotiate, t, type Locale, type MessageKey } from '../i18n/index.ts';
import { brandingOf } from '../interaction/branding.ts';
import type { MailService } from './mail.ts';

export const RESET_MINUTES = 15;
export const VERIFY_HOURS = 24;
/** Reset requests per account (and per address) in 15 minutes before further ones are dropped silently. */
export const RESET_THROTTLE = { perAccount: 5, perAddress: 20, windowSeconds: 15 * 60 };

export interface SelfServiceDeps {
  config: Pick<Config, 'publicUrl'>;
  logger: pino.Logger;
  tokenHasher: TokenHasher;
  userStore: UserStore;
  userLinkStore: UserLinkStore;
  auditStore: AuditStore;
  mailService: Pick<MailService, 'queue'>;
  sessionService: Pick<SessionService, 'endAllForUser' | 'end' | 'store'>;
  throttles: { account: Throttle; ip: Throttle };
}

export type LinkProblem = 'unknown' | 'used' | 'expired' | 'other_tenant';

/** Why a link does not work, in words for the person holding it (in the request's language). */
const LINK_PROBLEM_KEYS = { unknown: 'link.unknown', used: 'link.used', expired: 'link.expired', other_tenant: 'link.otherTenant' } as const satisfies Record<
  LinkProblem,
  MessageKey
>;
export const linkProblem = (p: LinkProblem): string => t(LINK_PROBLEM_KEYS[p]);

/** The language of mail to `user`: their saved choice, else the tenant's default (never the browser that caused it). */
export const mailLocale = (tenant: Tenant, user: { locale: string | null }): Locale =>
  negotiate({ user: user.locale, tenantDefault: brandingOf(tenant).defaultLocale });

/** Can Gatehouse set this user's password? Directory users have theirs in the directory, upstream users at their upstream. */
export const isLocal = (u: { directoryId: string | null; upstreamId: string | null }) => !u.directoryId && !u.upstreamId;

export class SelfServiceService {
  readonly #d: SelfServiceDeps;
  constructor(deps: SelfServiceDeps) {
    this.#d = deps;
  }

  #hash(secret: string) {
    return this.#d.tokenHasher.hash(secret, 'user-link');
  }

  async #issue(tenant: Tenant, user: UserWithSecret, purpose: LinkPurpose, ttlMs: number): Promise<string> {
    const secret = crypto.randomBytes(32).toString('base64url');
    await this.#d.userLinkStore.issue({
      idHash: this.#hash(secret),
      tenantId: tenant.id,
      userId: user.id,
      purpose,
      email: user.email,
      expiresAt: Date.now() + ttlMs,
    });
    return secret;
  }

  /**
   * "Forgot your password?": a reset link by email when the identifier names an active local
   * account. The caller shows the same answer whatever happened (no enumeration); the same
   * work is queued either way except the mail itself.
   */
  async requestReset(tenant: Tenant, identifier: string, origin: { ip: string }): Promise<void> {
    const id = identifier.trim().slice(0, 320);
    if (!id) return;
    const resolved = await resolveIdentifier(this.#d, tenant, id);
    const user = resolved.user;
    const acct = `reset:${tenant.id}:${resolved.name}`;
    const addr = `reset-ip:${origin.ip}`;
    const [a, i] = await Promise.all([
      this.#d.throttles.account.hit(acct, RESET_THROTTLE.windowSeconds),
      this.#d.throttles.ip.hit(addr, RESET_THROTTLE.windowSeconds),
    ]);
    if (a > RESET_THROTTLE.perAccount || i > RESET_THROTTLE.perAddress) {
      await this.#d.auditStore.record({
        tenantId: tenant.id,
        type: 'selfservice.reset_throttled',
        level: 'warn',
        subject: user?.id ?? resolved.name,
        ip: origin.ip,
        data: { identifier: resolved.name, scope: i > RESET_THROTTLE.perAddress ? 'address' : 'account' },
      });
      return;
    }
    const why = !user ? 'unknown' : user.status !== 'active' ? 'disabled' : !isLocal(user) ? 'not_local' : null;
    await this.#d.auditStore.record({
      tenantId: tenant.id,
      type: 'selfservice.reset_requested',
      level: why ? 'warn' : 'info',
      subject: user?.id ?? resolved.name,
      ip: origin.ip,
      data: { identifier: resolved.name, sent: !why, ...(why && { reason: why }) },
    });
    if (why || !user) return;
    const secret = await this.#issue(tenant, user, 'reset', RESET_MINUTES * 60_000);
    const url = `${issuerFor(this.#d.config.publicUrl, tenant.slug)}/selfservice/reset?token=${secret}`;
    await inLocale(mailLocale(tenant, user), () => {
      const m = messages.mail.reset;
      return this.#d.mailService.queue(tenant, user.email, {
        kind: 'password_reset',
        subject: m.subject(tenant.name),
        paragraphs: [m.intro],
        action: { label: m.action, url },
        after: [m.ignore],
      });
    });
  }

  /** The link's user, if it can be used now (not consumed). */
  async checkLink(tenant: Tenant, secret: string, purpose: LinkPurpose): Promise<{ ok: true; user: UserWithSecret } | { ok: false; problem: LinkProblem }> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(secret)) return { ok: false, problem: 'unknown' };
    const link = await this.#d.userLinkStore.find(this.#hash(secret));
    if (!link || link.purpose !== purpose) return { ok: false, problem: 'unknown' };
    if (link.tenantId !== tenant.id) return { ok: false, problem: 'other_tenant' };
    if (link.usedAt !== null) return { ok: false, problem: 'used' };
    if (link.expiresAt <= Date.now()) return { ok: false, problem: 'expired' };
    const user = await this.#d.userStore.userById(tenant.id, link.userId);
    // A changed email or a user no longer local: the link was for something else.
    if (!user || user.email !== link.email || user.status !== 'active' || (purpose === 'reset' && !isLocal(user))) return { ok: false, problem: 'used' };
    return { ok: true, user };
  }

  /** Set a new password from a reset link. Other sessions end; the user is told by email. */
  async resetPassword(
    tenant: Tenant,
    secret: string,
    password: string,
    origin: { ip: string },
  ): Promise<{ ok: true; user: UserWithSecret } | { ok: false; problem?: LinkProblem; message: string }> {
    const c = await this.checkLink(tenant, secret, 'reset');
    if (!c.ok) {
      await this.#d.auditStore.record({ tenantId: tenant.id, type: 'selfservice.reset_refused', level: 'warn', ip: origin.ip, data: { reason: c.problem } });
      return { ok: false, problem: c.problem, message: linkProblem(c.problem) };
    }
    const problem = passwordProblem(password, c.user);
    if (problem) return { ok: false, message: problem };
    // Used once: of two requests with the same link, one wins here.
    if (!(await this.#d.userLinkStore.consume(this.#hash(secret)))) return { ok: false, problem: 'used', message: linkProblem('used') };
    await this.#setPassword(tenant, c.user, password, origin, 'reset');
    return { ok: true, user: c.user };
  }

  /** The account page's change: the current password is required; sessions other than the caller's end. */
  async changePassword(
    tenant: Tenant,
    user: UserWithSecret,
    current: string,
    next: string,
    origin: { ip: string },
    keepSession?: string,
  ): Promise<{ ok: true } | { ok: false; message: string }> {
    if (!isLocal(user)) return { ok: false, message: t('account.password.notLocal') };
    const key = `pwchange:${tenant.id}:${user.id}`;
    if (await this.#d.throttles.account.blockedFor(key)) return { ok: false, message: t('account.password.throttled') };
    if (current.length > MAX_PASSWORD_LENGTH || !(await verifyPassword(user.passwordHash, current))) {
      await this.#d.throttles.account.fail(key);
      await this.#d.auditStore.record({
        tenantId: tenant.id,
        type: 'selfservice.password_change_refused',
        level: 'warn',
        subject: user.id,
        ip: origin.ip,
        data: { email: user.email, reason: 'bad_current_password' },
      });
      return { ok: false, message: t('account.password.currentWrong') };
    }
    if (current === next) return { ok: false, message: messages.password.sameAsOld };
    const problem = passwordProblem(next, user);
    if (problem) return { ok: false, message: problem };
    await this.#setPassword(tenant, user, next, origin, 'change', keepSession);
    return { ok: true };
  }

  /** `keep`: the SSO session of the browser that changed it (the account page), which stays signed in. */
  async #setPassword(
    tenant: Tenant,
    user: UserWithSecret,
    password: string,
    origin: { ip: string },
    how: 'reset' | 'change' | 'required_change',
    keep?: string,
  ) {
    await this.#d.userStore.updateUser(tenant.id, user.id, undefined, { passwordHash: await hashPassword(password), mustChangePassword: false });
    await this.#d.userLinkStore.voidAll(user.id, 'reset');
    await this.#d.auditStore.record({
      tenantId: tenant.id,
      type: 'selfservice.password_changed',
      subject: user.id,
      ip: origin.ip,
      data: { email: user.email, how },
    });
    // Whoever knew the old password is signed out everywhere (apps hear of it by back-channel logout).
    const reason = { by: user.email, why: `password ${how === 'reset' ? 'reset' : 'changed'}` };
    const endAll = async () => {
      if (!keep) return this.#d.sessionService.endAllForUser(tenant, user.id, reason);
      let n = 0;
      for (const x of (await this.#d.sessionService.store.list(tenant.id, { userId: user.id, limit: 500 })).items) {
        if (x.id !== keep && (await this.#d.sessionService.end(tenant, x.id, reason))) n++;
      }
      return n;
    };
    const ended = await endAll().catch((err: unknown) => {
      this.#d.logger.warn({ err, userId: user.id }, 'could not end every session after a password change');
      return 0;
    });
    await inLocale(mailLocale(tenant, user), () => {
      const m = messages.mail.changed;
      return this.#d.mailService.queue(tenant, user.email, {
        kind: 'password_changed',
        subject: m.subject(tenant.name),
        paragraphs: [m.body(formatDateTime(Date.now()))],
        after: [m.notYou],
      });
    });
    return ended;
  }

  /** A required change (an administrator asked for it) made at sign-in. */
  async requiredChange(tenant: Tenant, user: UserWithSecret, next: string, origin: { ip: string }): Promise<{ ok: true } | { ok: false; message: string }> {
    const problem = passwordProblem(next, user);
    if (problem) return { ok: false, message: problem };
    if (await verifyPassword(user.passwordHash, next)) return { ok: false, message: messages.password.sameAsOld };
    await this.#setPassword(tenant, user, next, origin, 'required_change');
    return { ok: true };
  }

  /** "Send verification email" (account page). */
  async sendVerification(tenant: Tenant, user: UserWithSecret, origin: { ip: string }): Promise<{ ok: true } | { ok: false; message: string }> {
    if (user.emailVerified) return { ok: false, message: t('verify.already') };
    if (!isLocal(user)) return { ok: false, message: t('verify.directory') };
    const n = await this.#d.throttles.account.hit(`verify:${tenant.id}:${user.id}`, 15 * 60);
    if (n > 3) return { ok: false, message: t('verify.throttled') };
    const secret = await this.#issue(tenant, user, 'verify', VERIFY_HOURS * 3600_000);
    const url = `${issuerFor(this.#d.config.publicUrl, tenant.slug)}/selfservice/verify?token=${secret}`;
    await inLocale(mailLocale(tenant, user), () => {
      const m = messages.mail.verify;
      return this.#d.mailService.queue(tenant, user.email, {
        kind: 'verify_email',
        subject: m.subject(tenant.name),
        paragraphs: [m.intro],
        action: { label: m.action, url },
        after: [m.ignore],
      });
    });
    await this.#d.auditStore.record({
      tenantId: tenant.id,
      type: 'selfservice.verification_sent',
      subject: user.id,
      ip: origin.ip,
      data: { email: user.email },
    });
    return { ok: true };
  }

  /** Follow a verification link: the address is confirmed. */
  async verifyEmail(tenant: Tenant, secret: string, origin: { ip: string }): Promise<{ ok: true; user: UserWithSecret } | { ok: false; message: string }> {
    const c = await this.checkLink(tenant, secret, 'verify');
    if (!c.ok) return { ok: false, message: linkProblem(c.problem) };
    if (!(await this.#d.userLinkStore.consume(this.#hash(secret)))) return { ok: false, message: linkProblem('used') };
    await this.#d.userStore.updateUser(tenant.id, c.user.id, undefined, { emailVerified: true });
    await this.#d.auditStore.record({
      tenantId: tenant.id,
      type: 'selfservice.email_verified',
      subject: c.user.id,
      ip: origin.ip,
      data: { email: c.user.email },
    });
    return { ok: true, user: c.user };
  }

  /** A sign-in voids the user's pending reset links (they remembered their password). */
  async signedIn(userId: string): Promise<void> {
    await this.#d.userLinkStore.voidAll(userId, 'reset');
  }
}
