// Sign-in rules: password check with smart lockout per account and per address
// (lockout.ts), and no user enumeration (an unknown email takes the same steps, time and
// wording as a wrong password). An email not known here is looked up in the tenant's LDAP
// directories first (a new hire can sign in before the next sync).
// Audit: `signin.succeeded` only when the whole sign-in (every factor) is done
// (signInSucceeded, called by whoever finishes it), `signin.password_ok` when the password was
// right and a second factor follows, `signin.locked` when a lockout starts.
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { UserWithSecret } from '../storage/users.ts';
import { verifyPassword, MAX_PASSWORD_LENGTH } from '../directory/passwords.ts';
import { waitWords } from '../ops/ratelimit.ts';
import { formatWait, t } from '../i18n/index.ts';
import { checkSecondFactor } from '../mfa/totp.ts';
import { passkeysOf, passkeyUserId, verifyAuthentication } from '../mfa/webauthn.ts';
import { DEFAULT_SETTINGS, passwordlessAllowed, policyRequiresMfa, type PolicySettings } from '../policy/policies.ts';
import { wantsMfa } from '../oidc/engine.ts';
import { LAUNCHER_CLIENT_ID } from '../oidc/clients.ts';
import type { MfaFactor } from '../storage/mfa.ts';
import {
  addressBucket,
  addressState,
  countAddressFailure,
  countFailure,
  FAMILIAR_ADDRESS_DAYS,
  forgetFailures,
  liftLockout,
  lockedFor,
  lockoutPolicy,
  slowDown,
  type AccountCounts,
  type Familiarity,
  type LockoutPolicy,
} from './lockout.ts';
import { deviceMark } from './familiar.ts';
import { resolveIdentifier } from '../selfservice/identifiers.ts';
import { selfServiceOf } from '../selfservice/settings.ts';

/** Where a sign-in attempt comes from: its address, and the familiar-device marks its browser holds (none for API clients). */
export interface Origin {
  ip: string;
  devices?: string[];
}

export type SignInResult =
  | { ok: true; user: UserWithSecret; familiar: Familiarity }
  | {
      ok: false;
      reason: 'throttled' | 'bad_credentials' | 'disabled' | 'refused' | 'unavailable';
      message: string;
      user?: UserWithSecret /** seconds, for Retry-After */;
      retryAfter?: number;
    };

/** The answer to a wrong email or password (the same for an unknown email: no enumeration), in the page's language. */
export const badCredentials = (): string => t('password.bad');

/** Why the directory refused an account whose password it checked (directory/ldap/client.ts), in the page's language. */
export const DIRECTORY_REFUSALS = {
  locked: () => t('directory.locked'),
  expired: () => t('directory.expired'),
  must_change: () => t('directory.mustChange'),
  account_expired: () => t('directory.accountExpired'),
  restricted: () => t('directory.restricted'),
} as const;

const DAY = 86_400_000;
const accountKey = (tenantId: string, email: string) => `acct:${tenantId}:${email.toLowerCase()}`;
const mfaKey = (tenantId: string, userId: string) => `mfa:${tenantId}:${userId}`;

/** An administrator's unlock: failed passwords, wrong codes and lockouts (both kinds of origin) are forgotten at once. */
export async function unlockAccount(services: Pick<Services, 'throttles'>, tenant: Tenant, user: { id: string; email: string }): Promise<void> {
  await liftLockout(services, accountKey(tenant.id, user.email));
  await liftLockout(services, mfaKey(tenant.id, user.id));
}

/** The lockout of the user's policy; unknown emails get the default. */
const policyOf = async (services: Pick<Services, 'policyService'>, user: UserWithSecret | undefined): Promise<LockoutPolicy> =>
  lockoutPolicy(user ? await services.policyService.settingsFor(user) : DEFAULT_SETTINGS);

/** How familiar the origin is to the account: its browser holds the account's mark, or the account signed in from the address within 30 days. */
export async function familiarity(
  services: Pick<Services, 'sealer' | 'signinAddressStore'>,
  tenant: Tenant,
  user: { id: string } | undefined,
  origin: Origin,
): Promise<Familiarity> {
  if (!user) return 'unfamiliar';
  if (origin.devices?.includes(deviceMark(services, tenant.id, user.id))) return 'device';
  return (await services.signinAddressStore.known(tenant.id, user.id, addressBucket(origin.ip), Date.now() - FAMILIAR_ADDRESS_DAYS * DAY))
    ? 'address'
    : 'unfamiliar';
}

/** The origin as audit events show it: the address, and whether (and by what) it was familiar. */
const originData = (origin: Origin, kind: Familiarity) => ({ ip: origin.ip, familiar: kind !== 'unfamiliar', by: kind === 'unfamiliar' ? null : kind });

/**
 * Check a password for an identifier: an email, or (issue 17) a username in any form the
 * tenant accepts (selfservice/identifiers.ts). Failures count under the account's email
 * whatever form it was named by, so `jsmith` and `CORP\\jsmith` share one lockout.
 */
export async function passwordSignIn(
  services: Pick<Services, 'auditStore' | 'config' | 'ldapService' | 'metrics' | 'policyService' | 'sealer' | 'signinAddressStore' | 'throttles' | 'userStore'>,
  tenant: Tenant,
  identifier: string,
  password: string,
  origin: Origin,
): Promise<SignInResult> {
  const resolved = await resolveIdentifier(services, tenant, identifier);
  let user = resolved.user;
  const email = resolved.name;
  const acctKey = accountKey(tenant.id, email);
  const ip = origin.ip;
  let policy = await policyOf(services, user);
  let kind = await familiarity(services, tenant, user, origin);
  const [locked, address] = await Promise.all([lockedFor(services, acctKey, kind), addressState(services, ip, acctKey)]);
  if (locked > 0 || address.refusedFor > 0) {
    // Refused without checking the password (no oracle, no extension of the lockout); the
    // attempt still counts against the address.
    await countAddressFailure(services, ip, acctKey);
    const wait = Math.max(locked, address.refusedFor);
    services.metrics.signIns.inc({ result: 'throttled' });
    await services.auditStore.record({
      tenantId: tenant.id,
      type: 'signin.throttled',
      level: 'warn',
      subject: user?.id ?? email,
      ip,
      data: { email, scope: locked > 0 ? 'account' : 'address', origin: originData(origin, kind), retryAfter: wait },
    });
    const message = locked > 0 ? t('password.locked', { wait: formatWait(wait) }) : t('password.lockedNetwork', { wait: formatWait(wait) });
    return { ok: false, reason: 'throttled', message, retryAfter: wait };
  }
  await slowDown(address.delayMs);
  // Not known here: maybe someone the tenant's directory has and the next sync would bring (a new hire).
  const found =
    !user && resolved.isEmail && password && password.length <= MAX_PASSWORD_LENGTH ? await services.ldapService.findAtSignIn(tenant, email) : undefined;
  if (found && !('unavailable' in found)) {
    user = found;
    policy = await policyOf(services, user);
    kind = await familiarity(services, tenant, user, origin);
  }
  // A directory user's password is checked by the directory (an LDAP bind), never stored here.
  const bind =
    found && 'unavailable' in found
      ? found
      : user?.directoryId && password.length <= MAX_PASSWORD_LENGTH
        ? await services.ldapService.checkPassword(tenant, user, password)
        : undefined;
  if (bind && typeof bind === 'object') {
    services.metrics.signIns.inc({ result: 'failed' });
    await services.auditStore.record({
      tenantId: tenant.id,
      type: 'signin.failed',
      level: 'error',
      subject: user?.id ?? email,
      ip,
      data: { email, reason: 'directory_unavailable', message: bind.unavailable },
    });
    return { ok: false, reason: 'unavailable', message: t('password.unavailable') };
  }
  if (bind && bind !== 'ok' && bind !== 'bad_credentials') {
    // The password may be right, but the directory will not let this account in: say why.
    await failed(services, tenant, email, user, origin, kind, policy);
    services.metrics.signIns.inc({ result: bind === 'disabled' ? 'disabled' : 'failed' });
    await services.auditStore.record({
      tenantId: tenant.id,
      type: 'signin.failed',
      level: 'warn',
      subject: user!.id,
      ip,
      data: { email, reason: `directory_${bind}`, origin: originData(origin, kind) },
    });
    if (bind === 'disabled') return { ok: false, reason: 'disabled', message: t('password.disabled'), user };
    return { ok: false, reason: 'refused', message: DIRECTORY_REFUSALS[bind](), user };
  }
  const ok = bind ? bind === 'ok' : password.length <= MAX_PASSWORD_LENGTH && (await verifyPassword(user?.passwordHash, password));
  if (!user || !ok) {
    services.metrics.signIns.inc({ result: 'failed' });
    await services.auditStore.record({
      tenantId: tenant.id,
      type: 'signin.failed',
      level: 'warn',
      subject: user?.id ?? email,
      ip,
      data: { email, reason: 'bad_credentials', origin: originData(origin, kind) },
    });
    const blocked = await failed(services, tenant, email, user, origin, kind, policy);
    // The words follow what the tenant signs in with (the same for known and unknown names).
    const byUsername = selfServiceOf(tenant).signInWith === 'username';
    const message =
      blocked > 0
        ? t(byUsername ? 'password.badUsernameWait' : 'password.badWait', { wait: formatWait(blocked) })
        : byUsername
          ? t('password.badUsername')
          : badCredentials();
    return { ok: false, reason: 'bad_credentials', message };
  }
  if (user.status !== 'active') {
    services.metrics.signIns.inc({ result: 'disabled' });
    await services.auditStore.record({ tenantId: tenant.id, type: 'signin.failed', level: 'warn', subject: user.id, ip, data: { email, reason: 'disabled' } });
    return { ok: false, reason: 'disabled', message: t('password.disabled'), user };
  }
  return { ok: true, user, familiar: kind };
}

/** Who a lockout started from an origin of each kind keeps out. */
const LOCKED_SCOPE: Record<Familiarity, string> = {
  device: 'every browser and address',
  address: 'every browser and address except the browsers the account signed in with before',
  unfamiliar: 'unfamiliar browsers and addresses',
};

/** A failed password: counted for the account (this kind of origin) and the address; a lockout that starts is audited. Returns seconds locked. */
async function failed(
  services: Pick<Services, 'auditStore' | 'throttles'>,
  tenant: Tenant,
  email: string,
  user: UserWithSecret | undefined,
  origin: Origin,
  kind: Familiarity,
  policy: LockoutPolicy,
): Promise<number> {
  const subject = accountKey(tenant.id, email);
  const [r] = await Promise.all([countFailure(services, subject, kind, policy), countAddressFailure(services, origin.ip, subject)]);
  if (r.locked > 0) {
    await services.auditStore.record({
      tenantId: tenant.id,
      type: 'signin.locked',
      level: 'warn',
      subject: user?.id ?? email,
      ip: origin.ip,
      data: {
        email,
        origin: originData(origin, kind),
        scope: LOCKED_SCOPE[kind],
        lockout: r.lockout,
        seconds: r.locked,
        message: `${email} is locked for ${waitWords(r.locked)} for ${LOCKED_SCOPE[kind]} after ${policy.threshold} wrong passwords from ${origin.ip} (lockout ${r.lockout} in a row).`,
      },
    });
  }
  return r.locked;
}

/**
 * The password was right and a second factor follows (info): not yet a sign-in. `next` says
 * which: the factor is asked, or (the user has none) the engine leads to the set-up page.
 */
export async function passwordAccepted(
  services: Pick<Services, 'auditStore'>,
  tenant: Tenant,
  user: { id: string; email: string },
  origin: Origin,
  clientId: string | null,
  next: 'second_factor' | 'second_factor_setup' = 'second_factor',
): Promise<void> {
  await services.auditStore.record({
    tenantId: tenant.id,
    type: 'signin.password_ok',
    subject: user.id,
    ip: origin.ip,
    clientId,
    data: { email: user.email, clientId, next },
  });
}

/**
 * For a user with no second factor: will the engine still want one (the app asks for it, or
 * the user's policy requires it here)? The same rules as the engine's step-up check
 * (oidc/engine.ts MFA_REQUIRED), including its exception for the launcher, where a user with
 * no factor may still go to add one.
 */
export function secondFactorStillWanted(
  settings: PolicySettings,
  at: { params: Record<string, unknown>; client: { gatehouse_require_mfa?: boolean } | undefined; clientId: string | null; ip: string },
): boolean {
  if (wantsMfa(at.params, at.client)) return true;
  return at.clientId !== LAUNCHER_CLIENT_ID && policyRequiresMfa(settings, { ip: at.ip, clientId: at.clientId ?? undefined });
}

/**
 * The whole sign-in succeeded (every factor): written once, at the end, with the application;
 * the origin's failures and lockout growth are forgotten and the address becomes familiar.
 * (The browser's familiar-device mark is given by the page that finishes: familiar.ts.)
 */
export async function signInSucceeded(
  services: Pick<Services, 'auditStore' | 'metrics' | 'sealer' | 'signinAddressStore' | 'throttles' | 'userLinkStore'>,
  tenant: Tenant,
  user: { id: string; email: string },
  origin: Origin,
  at: { clientId: string | null; amr: string[]; via?: string },
): Promise<void> {
  const kind = await familiarity(services, tenant, user, origin);
  // A sign-in voids pending password-reset links: the user remembered their password.
  await Promise.all([
    forgetFailures(services, accountKey(tenant.id, user.email), kind),
    services.signinAddressStore.seen(tenant.id, user.id, addressBucket(origin.ip)),
    services.userLinkStore.voidAll(user.id, 'reset'),
  ]);
  services.metrics.signIns.inc({ result: 'succeeded' });
  await services.auditStore.record({
    tenantId: tenant.id,
    type: 'signin.succeeded',
    subject: user.id,
    ip: origin.ip,
    clientId: at.clientId,
    data: { email: user.email, method: at.amr.join('+'), amr: at.amr, clientId: at.clientId, origin: originData(origin, kind), ...(at.via && { via: at.via }) },
  });
}

/** The second factors a user has that their policy allows, and the policy's settings. */
export interface SecondFactors {
  settings: PolicySettings;
  factors: MfaFactor[];
}

export async function secondFactorsOf(services: Pick<Services, 'mfaStore' | 'policyService'>, tenant: Tenant, user: UserWithSecret): Promise<SecondFactors> {
  const settings = await services.policyService.settingsFor(user);
  const factors = (await services.mfaStore.factors(tenant.id, user.id)).filter((f) => settings.allowedFactors.includes(f.type));
  return { settings, factors };
}

/**
 * Seconds the user must wait before another second-factor attempt (too many wrong ones). The
 * password was proven already, so every origin counts alike; lockouts grow as for passwords.
 */
export const mfaWait = (services: AccountCounts, tenant: Tenant, user: { id: string }, _settings: PolicySettings) =>
  lockedFor(services, mfaKey(tenant.id, user.id), 'device');

/** A wrong code, a denied push or a wrong number: counted; returns seconds now blocked. */
export async function mfaFailed(
  services: AccountCounts & Pick<Services, 'auditStore'>,
  tenant: Tenant,
  user: { id: string; email: string },
  settings: PolicySettings,
  reason: string,
  ip: string | null,
): Promise<number> {
  const r = await countFailure(services, mfaKey(tenant.id, user.id), 'device', lockoutPolicy(settings));
  await services.auditStore.record({ tenantId: tenant.id, type: 'mfa.failed', level: 'warn', subject: user.id, ip, data: { email: user.email, reason } });
  if (r.locked > 0) {
    await services.auditStore.record({
      tenantId: tenant.id,
      type: 'signin.locked',
      level: 'warn',
      subject: user.id,
      ip,
      data: {
        email: user.email,
        factor: 'second',
        origin: { ip },
        lockout: r.lockout,
        seconds: r.locked,
        message: `${user.email}'s second factor is locked for ${waitWords(r.locked)} after ${settings.lockout.threshold} failed attempts (lockout ${r.lockout} in a row).`,
      },
    });
  }
  return r.locked;
}

export async function mfaSucceeded(
  services: Pick<Services, 'auditStore' | 'throttles'>,
  tenant: Tenant,
  user: { id: string; email: string },
  method: string,
  ip: string,
): Promise<void> {
  await forgetFailures(services, mfaKey(tenant.id, user.id), 'device');
  await services.auditStore.record({ tenantId: tenant.id, type: 'mfa.succeeded', subject: user.id, ip, data: { email: user.email, method } });
}

/**
 * A code or passkey as the second factor at sign-in. Wrong ones count against the account
 * (the same throttle as passwords, its own key, the policy's lockout threshold and duration),
 * so guessing stops whatever the browser sends back.
 */
export async function checkMfaCode(
  services: Pick<Services, 'auditStore' | 'config' | 'mfaStore' | 'sealer' | 'throttles' | 'tokenHasher'>,
  tenant: Tenant,
  user: UserWithSecret,
  sf: SecondFactors,
  input: { code: string; passkey?: string; challenge?: string },
  ip: string,
): Promise<{ ok: true; amr: string[] } | { ok: false; status: number; message: string; retryAfter?: number }> {
  const code = input.code;
  const wait = await mfaWait(services, tenant, user, sf.settings);
  if (wait > 0) {
    await services.auditStore.record({ tenantId: tenant.id, type: 'mfa.throttled', level: 'warn', subject: user.id, ip, data: { email: user.email } });
    return { ok: false, status: 429, message: t('mfa.code.tooMany', { wait: formatWait(wait) }), retryAfter: wait };
  }
  if (!code.trim() && !input.passkey) return { ok: false, status: 400, message: t('mfa.code.missing') };
  const r = input.passkey
    ? await checkPasskey(services, sf.factors, input.passkey, input.challenge)
    : await checkSecondFactor(services, tenant, user, code, sf.factors);
  if (!r.ok) {
    const blocked = await mfaFailed(services, tenant, user, sf.settings, r.reason, ip);
    const message = input.passkey ? t('mfa.code.passkeyFailed') : r.reason === 'replayed' ? t('mfa.code.replayed') : t('mfa.code.wrong');
    return {
      ok: false,
      status: blocked > 0 ? 429 : 401,
      message: blocked > 0 ? t('mfa.code.blocked', { message, wait: formatWait(blocked) }) : message,
      ...(blocked > 0 && { retryAfter: blocked }),
    };
  }
  await mfaSucceeded(services, tenant, user, r.method, ip);
  // RFC 8176: a passkey is proof of possession of a (hardware-bound) key; codes are otp.
  return { ok: true, amr: ['pwd', r.method === 'passkey' ? 'hwk' : 'otp'] };
}

async function checkPasskey(
  services: Pick<Services, 'config' | 'mfaStore' | 'sealer'>,
  factors: MfaFactor[],
  credential: string,
  challenge: string | undefined,
): Promise<{ ok: true; method: 'passkey' } | { ok: false; reason: 'wrong' }> {
  let response: unknown;
  try {
    response = JSON.parse(credential);
  } catch {
    return { ok: false, reason: 'wrong' };
  }
  if (!challenge || !response || typeof response !== 'object') return { ok: false, reason: 'wrong' };
  const factor = await verifyAuthentication(services, factors, response as Parameters<typeof verifyAuthentication>[2], challenge);
  return factor ? { ok: true, method: 'passkey' } : { ok: false, reason: 'wrong' };
}

export type PasskeySignInResult = { ok: true; user: UserWithSecret } | { ok: false; reason: 'refused' | 'sso_disabled'; status: number; message: string };

/**
 * Passwordless sign-in with a discoverable passkey: the passkey names its user; their policy
 * must allow it, and their lockout applies as for passwords.
 */
export async function passkeySignIn(
  services: Pick<Services, 'auditStore' | 'config' | 'mfaStore' | 'policyService' | 'sealer' | 'signinAddressStore' | 'throttles' | 'userStore'>,
  tenant: Tenant,
  credential: string,
  challenge: string | undefined,
  origin: Origin,
): Promise<PasskeySignInResult> {
  const ip = origin.ip;
  const refused = (status: number, message: string): PasskeySignInResult => ({ ok: false, reason: 'refused', status, message });
  let response: Parameters<typeof verifyAuthentication>[2] | undefined;
  try {
    response = JSON.parse(credential);
  } catch {
    response = undefined;
  }
  if (!challenge) return refused(400, t('passkey.expired'));
  const userId = response && typeof response === 'object' ? passkeyUserId(response) : undefined;
  const user = userId ? await services.userStore.userById(tenant.id, userId) : undefined;
  if (!user) {
    await services.auditStore.record({ tenantId: tenant.id, type: 'signin.failed', level: 'warn', ip, data: { reason: 'passkey_unknown' } });
    return refused(401, t('passkey.unknown'));
  }
  const settings = await services.policyService.settingsFor(user);
  const wait = await lockedFor(services, accountKey(tenant.id, user.email), await familiarity(services, tenant, user, origin));
  if (wait > 0) return refused(429, t('password.locked', { wait: formatWait(wait) }));
  if (!passwordlessAllowed(settings)) return refused(403, t('passkey.notAllowed'));
  const factor = await verifyAuthentication(services, passkeysOf(await services.mfaStore.factors(tenant.id, user.id)), response!, challenge, true);
  if (!factor) {
    await services.auditStore.record({
      tenantId: tenant.id,
      type: 'signin.failed',
      level: 'warn',
      subject: user.id,
      ip,
      data: { email: user.email, reason: 'passkey_not_verified' },
    });
    return refused(401, t('passkey.failed'));
  }
  if (user.status !== 'active') return refused(403, t('passkey.disabled'));
  if (!settings.ssoEnabled) {
    await services.auditStore.record({
      tenantId: tenant.id,
      type: 'signin.failed',
      level: 'warn',
      subject: user.id,
      ip,
      data: { email: user.email, reason: 'sso_disabled' },
    });
    return { ok: false, reason: 'sso_disabled', status: 403, message: t('sso.short') };
  }
  return { ok: true, user };
}
