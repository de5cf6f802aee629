// TOTP (RFC 6238) second factor: 6 digits, 30-second steps, one step of clock drift either
// way, each step's code accepted once; plus 10 one-time recovery codes, stored hashed.
//
// The TOTP and QR libraries are loaded on first use: most processes never need them, and
// the idle footprint is a target (bench/).
import crypto from 'node:crypto';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { User } from '../storage/users.ts';
import type { MfaFactor } from '../storage/mfa.ts';

const PERIOD = 30;
const DIGITS = 6;
const WINDOW = 1;
export const RECOVERY_CODES = 10;

const otpauth = () => import('otpauth');
const totp = async (secret: string, tenant: Tenant, email: string) => {
  const OTPAuth = await otpauth();
  return new OTPAuth.TOTP({ issuer: tenant.name, label: email, algorithm: 'SHA1', digits: DIGITS, period: PERIOD, secret: OTPAuth.Secret.fromBase32(secret) });
};

export const newTotpSecret = async () => new (await otpauth()).Secret({ size: 20 }).base32;

/** The otpauth:// URI authenticator apps read from the QR code. */
export const otpauthUri = async (tenant: Tenant, user: Pick<User, 'email'>, secret: string) => (await totp(secret, tenant, user.email)).toString();

/** The QR code as inline SVG (no script, no external image: the pages' CSP allows it). */
export async function qrSvg(text: string): Promise<string> {
  const qrcode = (await import('qrcode-generator')).default;
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  return qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true, alt: { text: 'QR code for your authenticator app' } } as Parameters<
    typeof qr.createSvgTag
  >[0]);
}

/** The time step a code matches (within the drift window), or undefined. */
export async function matchStep(tenant: Tenant, email: string, secret: string, code: string, now = Date.now()): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = (await totp(secret, tenant, email)).validate({ token: code, timestamp: now, window: WINDOW });
  return delta === null ? undefined : Math.floor(now / 1000 / PERIOD) + delta;
}

/** Recovery codes: 10 random codes like 7KQ2-M9XD-4TPA, shown once. */
export function newRecoveryCodes(): string[] {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return Array.from({ length: RECOVERY_CODES }, () => {
    const bytes = crypto.randomBytes(12);
    const s = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
    return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8, 12)}`;
  });
}

/** Recovery codes carry 60 random bits, so a keyed hash (not a slow one) is enough. */
const normalizeRecovery = (code: string) => code.toUpperCase().replace(/[^A-Z0-9]/g, '');
/** How a recovery code is kept: a keyed hash under the token-hashing key (it survives a secret rotation). */
export const recoveryHash = (services: Pick<Services, 'tokenHasher'>, code: string) => services.tokenHasher.hash(normalizeRecovery(code), 'recovery');
/**
 * How codes made before version 14.2 were kept: a MAC under the instance secret. Still
 * accepted so nobody loses their codes at the upgrade; a rotation of the instance secret ends
 * them (the user then makes new ones on the account page).
 */
const legacyRecoveryHash = (services: Pick<Services, 'sealer'>, code: string) => services.sealer.mac(`recovery:${normalizeRecovery(code)}`);

export type SecondFactorResult = { ok: true; method: 'otp' | 'recovery' } | { ok: false; reason: 'wrong' | 'replayed' };

/** The TOTP key of a factor that has one: an authenticator app, or a Gatehouse Authenticator's token code. */
export function totpSecretOf(services: Pick<Services, 'sealer'>, f: MfaFactor): string | undefined {
  if (f.type === 'totp') return services.sealer.open(f.secretSealed);
  if (f.type === 'push') return (JSON.parse(services.sealer.open(f.secretSealed)) as { totp: string }).totp;
  return undefined;
}

/**
 * Check a code typed at sign-in against the user's authenticators (those their policy allows:
 * `factors`), then their recovery codes.
 */
export async function checkSecondFactor(
  services: Pick<Services, 'mfaStore' | 'sealer' | 'tokenHasher'>,
  tenant: Tenant,
  user: Pick<User, 'id' | 'email'>,
  input: string,
  factors: MfaFactor[],
): Promise<SecondFactorResult> {
  const code = input.replace(/\s+/g, '');
  if (/^\d{6}$/.test(code)) {
    let replayed = false;
    for (const f of factors) {
      const secret = totpSecretOf(services, f);
      if (!secret) continue;
      const step = await matchStep(tenant, user.email, secret, code);
      if (step === undefined) continue;
      if (step <= f.lastStep || !(await services.mfaStore.useStep(f.id, step))) {
        replayed = true;
        continue;
      }
      return { ok: true, method: 'otp' };
    }
    return { ok: false, reason: replayed ? 'replayed' : 'wrong' };
  }
  if (
    factors.length &&
    code.length >= 12 &&
    (await services.mfaStore.useRecoveryCode(tenant.id, user.id, [recoveryHash(services, code), legacyRecoveryHash(services, code)]))
  )
    return { ok: true, method: 'recovery' };
  return { ok: false, reason: 'wrong' };
}
