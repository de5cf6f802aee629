// Engine assumption (oidc-provider 9.x, lib/provider.js): `cookies.keys` may be any object the
// `cookies` library takes as its keys, which it uses through sign/verify/index (Keygrip's
// interface). The engine's type says string[], hence the one cast here. Checked by
// test/engine-internals.test.ts ("cookie keys").
import { CookieKeys } from '../../shared/crypto.ts';

/** The engine's `cookies.keys`: our constant-time signer, which the engine passes through. */
export function engineCookieKeys(secret: string): string[] {
  return new CookieKeys([secret]) as unknown as string[];
}
