// Passkeys (WebAuthn) as a second factor and, where a policy allows, on their own
// (passwordless: a discoverable credential with user verification), through @simplewebauthn/server. The relying party
// is the Gatehouse host (GATEHOUSE_PUBLIC_URL's host name: WebAuthn needs a domain name, so an
// address like 127.0.0.1 cannot be used). A passkey is stored as a factor of type 'webauthn':
// its credential ID, public key and signature counter.
// The library is loaded on first use (it is large; most processes never need it).
import type { AuthenticationResponseJSON, RegistrationResponseJSON, AuthenticatorTransport } from '@simplewebauthn/server';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { User } from '../storage/users.ts';
import type { MfaFactor } from '../storage/mfa.ts';

export interface StoredPasskey {
  credentialId: string;
  publicKey: string;
  counter: number;
  transports?: AuthenticatorTransport[];
}

const lib = () => import('@simplewebauthn/server');
const rp = (services: Pick<Services, 'config'>) => {
  const u = new URL(services.config.publicUrl);
  return { rpID: u.hostname, origin: u.origin };
};
const stored = (services: Pick<Services, 'sealer'>, f: MfaFactor) => JSON.parse(services.sealer.open(f.secretSealed)) as StoredPasskey;
export const passkeysOf = (factors: MfaFactor[]) => factors.filter((f) => f.type === 'webauthn');

export async function registrationOptions(
  services: Pick<Services, 'config' | 'sealer'>,
  tenant: Tenant,
  user: Pick<User, 'id' | 'email'>,
  existing: MfaFactor[],
) {
  return (await lib()).generateRegistrationOptions({
    rpName: tenant.name,
    rpID: rp(services).rpID,
    userName: user.email,
    userID: new TextEncoder().encode(user.id),
    attestationType: 'none',
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    excludeCredentials: passkeysOf(existing).map((f) => ({ id: stored(services, f).credentialId })),
  });
}

/** Check a new passkey against the challenge issued; returns what to store, sealed. */
export async function verifyRegistration(
  services: Pick<Services, 'config' | 'sealer'>,
  response: RegistrationResponseJSON,
  expectedChallenge: string,
): Promise<string | undefined> {
  const r = await (await lib())
    .verifyRegistrationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp(services).origin,
      expectedRPID: rp(services).rpID,
      requireUserVerification: false,
    })
    .catch(() => undefined);
  if (!r?.verified || !r.registrationInfo) return undefined;
  const c = r.registrationInfo.credential;
  const value: StoredPasskey = {
    credentialId: c.id,
    publicKey: Buffer.from(c.publicKey).toString('base64url'),
    counter: c.counter,
    transports: response.response.transports as AuthenticatorTransport[] | undefined,
  };
  return services.sealer.seal(JSON.stringify(value));
}

export async function authenticationOptions(services: Pick<Services, 'config' | 'sealer'>, factors: MfaFactor[]) {
  return (await lib()).generateAuthenticationOptions({
    rpID: rp(services).rpID,
    userVerification: 'preferred',
    allowCredentials: passkeysOf(factors).map((f) => {
      const s = stored(services, f);
      return { id: s.credentialId, transports: s.transports };
    }),
  });
}

/** Passwordless: any passkey of this site (the browser offers the discoverable ones), verified by the device's PIN or biometrics. */
export async function passwordlessOptions(services: Pick<Services, 'config'>) {
  return (await lib()).generateAuthenticationOptions({ rpID: rp(services).rpID, userVerification: 'required' });
}

/** The user a discoverable passkey belongs to (its user handle is the user id given at registration). */
export function passkeyUserId(response: AuthenticationResponseJSON): string | undefined {
  const handle = response.response?.userHandle;
  if (typeof handle !== 'string' || handle.length > 200) return undefined;
  const id = Buffer.from(handle, 'base64url').toString('utf8');
  return /^[\w-]{1,64}$/.test(id) ? id : undefined;
}

/** Check an assertion from one of the user's passkeys; updates its counter. */
export async function verifyAuthentication(
  services: Pick<Services, 'config' | 'mfaStore' | 'sealer'>,
  factors: MfaFactor[],
  response: AuthenticationResponseJSON,
  expectedChallenge: string,
  requireUserVerification = false,
): Promise<MfaFactor | undefined> {
  const factor = passkeysOf(factors).find((f) => stored(services, f).credentialId === response.id);
  if (!factor) return undefined;
  const s = stored(services, factor);
  const r = await (await lib())
    .verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp(services).origin,
      expectedRPID: rp(services).rpID,
      requireUserVerification,
      credential: { id: s.credentialId, publicKey: Buffer.from(s.publicKey, 'base64url'), counter: s.counter, transports: s.transports },
    })
    .catch(() => undefined);
  if (!r?.verified) return undefined;
  await services.mfaStore.updateSecret(factor.id, services.sealer.seal(JSON.stringify({ ...s, counter: r.authenticationInfo.newCounter })));
  return factor;
}
