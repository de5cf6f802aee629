// Sign-in rules: password check with throttling per account and per IP, and no user
// enumeration (an unknown email takes the same steps, time and wording as a wrong password).
// An email not known here is looked up in the tenant's LDAP directories first (a new hire
// can sign in before the next sync).
import type { Context } from '../context.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { UserWithSecret } from '../storage/directory.ts';
import { verifyPassword, MAX_PASSWORD_LENGTH } from '../directory/passwords.ts';
import { waitWords } from '../ops/ratelimit.ts';
import { checkSecondFactor } from '../mfa/totp.ts';
import { passkeysOf, passkeyUserId, verifyAuthentication } from '../mfa/webauthn.ts';
import { lockoutRule, passwordlessAllowed, type PolicySettings } from '../policy/policies.ts';
import type { MfaFactor } from '../storage/mfa.ts';

export type SignInResult =
  | { ok: true; user: UserWithSecret }
  | { ok: false; reason: 'throttled' | 'bad_credentials' | 'disabled' | 'refused' | 'unavailable'; message: string; user?: UserWithSecret };

export const BAD_CREDENTIALS = 'The email or password is incorrect. Check them and try again.';

/** Why the directory refused an account whose password it checked (directory/ldap/client.ts). */
export const DIRECTORY_REFUSALS = {
  locked: 'Your account is locked in your organization\'s directory (too many wrong passwords, or locked by an administrator). Wait until it unlocks or ask your IT helpdesk to unlock it, then try again.',
  expired: 'Your password has expired. Change it (on your work computer, or with your organization\'s password tool), then sign in here with the new password.',
  must_change: 'You must change your password before you can sign in. Change it (on your work computer, or with your organization\'s password tool), then sign in here with the new password.',
  account_expired: 'Your account has expired in your organization\'s directory. Ask your IT helpdesk to extend it.',
  restricted: 'Your organization\'s directory does not let your account sign in at this time or from here (sign-in hours or workstation restrictions). Ask your IT helpdesk if you need access now.',
} as const;

const accountKey = (tenantId: string, email: string) => `acct:${tenantId}:${email.toLowerCase()}`;
const mfaKey = (tenantId: string, userId: string) => `mfa:${tenantId}:${userId}`;

/** An administrator's unlock: failed passwords and wrong codes are forgotten at once. */
export async function unlockAccount(app: Context, tenant: Tenant, user: { id: string; email: string }): Promise<void> {
  await app.throttles.account.reset(accountKey(tenant.id, user.email));
  await app.throttles.account.reset(mfaKey(tenant.id, user.id));
}

/** The lockout of the user's policy (threshold, duration); unknown emails get the default. */
const lockout = async (app: Context, user: UserWithSecret | undefined) => (user ? lockoutRule(await app.policies.settingsFor(user)) : undefined);

export async function passwordSignIn(app: Context, tenant: Tenant, email: string, password: string, ip: string): Promise<SignInResult> {
  const acctKey = accountKey(tenant.id, email);
  const ipKey = `ip:${ip}`;
  let user = await app.directory.userByEmail(tenant.id, email);
  let rule = await lockout(app, user);
  const wait = Math.max(await app.throttles.account.blockedFor(acctKey, rule), await app.throttles.ip.blockedFor(ipKey));
  if (wait > 0) {
    app.metrics.signIns.inc({ result: 'throttled' });
    await app.audit.record({ tenantId: tenant.id, type: 'signin.throttled', level: 'warn', subject: email, ip, data: { email } });
    return { ok: false, reason: 'throttled', message: `Too many failed sign-in attempts. Try again in ${waitWords(wait)}.` };
  }
  // Not known here: maybe someone the tenant's directory has and the next sync would bring (a new hire).
  const found = !user && password && password.length <= MAX_PASSWORD_LENGTH ? await app.ldap.findAtSignIn(tenant, email) : undefined;
  if (found && !('unavailable' in found)) { user = found; rule = await lockout(app, user); }
  // A directory user's password is checked by the directory (an LDAP bind), never stored here.
  const bind = found && 'unavailable' in found ? found : user?.directoryId && password.length <= MAX_PASSWORD_LENGTH ? await app.ldap.checkPassword(tenant, user, password) : undefined;
  if (bind && typeof bind === 'object') {
    app.metrics.signIns.inc({ result: 'failed' });
    await app.audit.record({ tenantId: tenant.id, type: 'signin.failed', level: 'error', subject: user?.id ?? email, ip, data: { email, reason: 'directory_unavailable', message: bind.unavailable } });
    return { ok: false, reason: 'unavailable', message: 'Gatehouse cannot reach your organization\'s directory to check your password right now. Try again in a few minutes; if it keeps happening, tell your IT helpdesk.' };
  }
  if (bind && bind !== 'ok' && bind !== 'bad_credentials') {
    // The password may be right, but the directory will not let this account in: say why.
    await app.throttles.account.fail(acctKey, rule);
    app.metrics.signIns.inc({ result: bind === 'disabled' ? 'disabled' : 'failed' });
    await app.audit.record({ tenantId: tenant.id, type: 'signin.failed', level: 'warn', subject: user!.id, ip, data: { email, reason: `directory_${bind}` } });
    if (bind === 'disabled') return { ok: false, reason: 'disabled', message: 'Your account is disabled.', user };
    return { ok: false, reason: 'refused', message: DIRECTORY_REFUSALS[bind], user };
  }
  const ok = bind ? bind === 'ok' : password.length <= MAX_PASSWORD_LENGTH && (await verifyPassword(user?.passwordHash, password));
  if (!user || !ok) {
    const blocked = Math.max(await app.throttles.account.fail(acctKey, rule), await app.throttles.ip.fail(ipKey));
    app.metrics.signIns.inc({ result: 'failed' });
    await app.audit.record({ tenantId: tenant.id, type: 'signin.failed', level: 'warn', subject: user?.id ?? email, ip, data: { email, reason: 'bad_credentials' } });
    const message = blocked > 0 ? `${BAD_CREDENTIALS} Too many failed attempts: try again in ${waitWords(blocked)}.` : BAD_CREDENTIALS;
    return { ok: false, reason: 'bad_credentials', message };
  }
  await app.throttles.account.reset(acctKey);
  if (user.status !== 'active') {
    app.metrics.signIns.inc({ result: 'disabled' });
    await app.audit.record({ tenantId: tenant.id, type: 'signin.failed', level: 'warn', subject: user.id, ip, data: { email, reason: 'disabled' } });
    return { ok: false, reason: 'disabled', message: 'Your account is disabled.', user };
  }
  app.metrics.signIns.inc({ result: 'succeeded' });
  await app.audit.record({ tenantId: tenant.id, type: 'signin.succeeded', subject: user.id, ip, data: { email, method: 'pwd' } });
  return { ok: true, user };
}

/** The second factors a user has that their policy allows, and the policy's settings. */
export interface SecondFactors { settings: PolicySettings; factors: MfaFactor[] }

export async function secondFactorsOf(app: Context, tenant: Tenant, user: UserWithSecret): Promise<SecondFactors> {
  const settings = await app.policies.settingsFor(user);
  const factors = (await app.mfa.factors(tenant.id, user.id)).filter((f) => settings.allowedFactors.includes(f.type));
  return { settings, factors };
}

/** Seconds the user must wait before another second-factor attempt (too many wrong ones). */
export const mfaWait = (app: Context, tenant: Tenant, user: { id: string }, settings: PolicySettings) =>
  app.throttles.account.blockedFor(mfaKey(tenant.id, user.id), lockoutRule(settings));

/** A wrong code, a denied push or a wrong number: counted; returns seconds now blocked. */
export async function mfaFailed(app: Context, tenant: Tenant, user: { id: string; email: string }, settings: PolicySettings, reason: string, ip: string | null): Promise<number> {
  const blocked = await app.throttles.account.fail(mfaKey(tenant.id, user.id), lockoutRule(settings));
  await app.audit.record({ tenantId: tenant.id, type: 'mfa.failed', level: 'warn', subject: user.id, ip, data: { email: user.email, reason } });
  return blocked;
}

export async function mfaSucceeded(app: Context, tenant: Tenant, user: { id: string; email: string }, method: string, ip: string): Promise<void> {
  await app.throttles.account.reset(mfaKey(tenant.id, user.id));
  await app.audit.record({ tenantId: tenant.id, type: 'mfa.succeeded', subject: user.id, ip, data: { email: user.email, method } });
}

/**
 * A code or passkey as the second factor at sign-in. Wrong ones count against the account
 * (the same throttle as passwords, its own key, the policy's lockout threshold and duration),
 * so guessing stops whatever the browser sends back.
 */
export async function checkMfaCode(app: Context, tenant: Tenant, user: UserWithSecret, sf: SecondFactors, input: { code: string; passkey?: string; challenge?: string }, ip: string): Promise<{ ok: true; amr: string[] } | { ok: false; status: number; message: string }> {
  const code = input.code;
  const wait = await mfaWait(app, tenant, user, sf.settings);
  if (wait > 0) {
    await app.audit.record({ tenantId: tenant.id, type: 'mfa.throttled', level: 'warn', subject: user.id, ip, data: { email: user.email } });
    return { ok: false, status: 429, message: `Too many wrong codes. Try again in ${waitWords(wait)}.` };
  }
  if (!code.trim() && !input.passkey) return { ok: false, status: 400, message: 'Enter the 6-digit code from your authenticator.' };
  const r = input.passkey ? await checkPasskey(app, sf.factors, input.passkey, input.challenge) : await checkSecondFactor(app, tenant, user, code, sf.factors);
  if (!r.ok) {
    const blocked = await mfaFailed(app, tenant, user, sf.settings, r.reason, ip);
    const message = input.passkey ? 'The passkey could not be verified. Try again, or type a code.'
      : r.reason === 'replayed' ? 'That code was already used. Wait for the next code in your app and enter it.' : 'That code is not right. Check the code in your authenticator and try again.';
    return { ok: false, status: blocked > 0 ? 429 : 401, message: blocked > 0 ? `${message} Too many wrong codes: try again in ${waitWords(blocked)}.` : message };
  }
  await mfaSucceeded(app, tenant, user, r.method, ip);
  // RFC 8176: a passkey is proof of possession of a (hardware-bound) key; codes are otp.
  return { ok: true, amr: ['pwd', r.method === 'passkey' ? 'hwk' : 'otp'] };
}

async function checkPasskey(app: Context, factors: MfaFactor[], credential: string, challenge: string | undefined): Promise<{ ok: true; method: 'passkey' } | { ok: false; reason: 'wrong' }> {
  let response: unknown;
  try { response = JSON.parse(credential); } catch { return { ok: false, reason: 'wrong' }; }
  if (!challenge || !response || typeof response !== 'object') return { ok: false, reason: 'wrong' };
  const factor = await verifyAuthentication(app, factors, response as Parameters<typeof verifyAuthentication>[2], challenge);
  return factor ? { ok: true, method: 'passkey' } : { ok: false, reason: 'wrong' };
}

export type PasskeySignInResult =
  | { ok: true; user: UserWithSecret }
  | { ok: false; reason: 'refused' | 'sso_disabled'; status: number; message: string };

/**
 * Passwordless sign-in with a discoverable passkey: the passkey names its user; their policy
 * must allow it, and their lockout applies as for passwords.
 */
export async function passkeySignIn(app: Context, tenant: Tenant, credential: string, challenge: string | undefined, ip: string): Promise<PasskeySignInResult> {
  const refused = (status: number, message: string): PasskeySignInResult => ({ ok: false, reason: 'refused', status, message });
  let response: Parameters<typeof verifyAuthentication>[2] | undefined;
  try { response = JSON.parse(credential); } catch { response = undefined; }
  if (!challenge) return refused(400, 'This sign-in page was open too long. Choose "Sign in with a passkey" again.');
  const userId = response && typeof response === 'object' ? passkeyUserId(response) : undefined;
  const user = userId ? await app.directory.userById(tenant.id, userId) : undefined;
  if (!user) {
    await app.audit.record({ tenantId: tenant.id, type: 'signin.failed', level: 'warn', ip, data: { reason: 'passkey_unknown' } });
    return refused(401, 'This passkey is not known here. Sign in with your email address instead.');
  }
  const settings = await app.policies.settingsFor(user);
  const wait = await app.throttles.account.blockedFor(accountKey(tenant.id, user.email), lockoutRule(settings));
  if (wait > 0) return refused(429, `Too many failed sign-in attempts. Try again in ${waitWords(wait)}.`);
  if (!passwordlessAllowed(settings)) return refused(403, 'Your organization does not let your account sign in with a passkey alone. Enter your email address to sign in.');
  const factor = await verifyAuthentication(app, passkeysOf(await app.mfa.factors(tenant.id, user.id)), response!, challenge, true);
  if (!factor) {
    await app.audit.record({ tenantId: tenant.id, type: 'signin.failed', level: 'warn', subject: user.id, ip, data: { email: user.email, reason: 'passkey_not_verified' } });
    return refused(401, 'The passkey could not be verified. Try again, or sign in with your email address.');
  }
  if (user.status !== 'active') return refused(403, 'Your account is disabled. Contact your administrator to have it enabled.');
  if (!settings.ssoEnabled) {
    await app.audit.record({ tenantId: tenant.id, type: 'signin.failed', level: 'warn', subject: user.id, ip, data: { email: user.email, reason: 'sso_disabled' } });
    return { ok: false, reason: 'sso_disabled', status: 403, message: 'Single sign-on is turned off for your account.' };
  }
  app.metrics.signIns.inc({ result: 'succeeded' });
  await app.audit.record({ tenantId: tenant.id, type: 'signin.succeeded', subject: user.id, ip, data: { email: user.email, method: 'passkey' } });
  return { ok: true, user };
}
