// Engine assumptions (oidc-provider 9.x), checked by test/engine-internals.test.ts: calls past
// the public API. Each use says why it is needed and what it relies on.
import type Provider from 'oidc-provider';

type Client = NonNullable<Awaited<ReturnType<Provider['Client']['find']>>>;

/**
 * Send an OpenID Connect Back-Channel Logout token to a client, as the engine does at
 * end_session. Needed when a session ends outside a browser sign-out (an administrator
 * terminates it, the directory disables the account). Relies on Client#backchannelLogout(sub,
 * sid) (oidc-provider v9 lib/models/client.js), which signs the logout token with the
 * tenant's keys and the client's ID-token algorithm and POSTs it, failing on a non-2xx answer.
 */
export function backchannelLogout(client: Client, sub: string, sid: string | undefined): Promise<void> {
  const c = client as Client & { backchannelLogout?: (sub: string, sid?: string) => Promise<void> };
  if (typeof c.backchannelLogout !== 'function')
    throw new Error('this oidc-provider version has no Client#backchannelLogout; see src/oidc/internals/README.md');
  return c.backchannelLogout(sub, sid);
}

/**
 * Put `acr` in the tokens this authorization request issues (ID token, code, refresh token),
 * in place of the session's own class: when the app listed acceptable classes, the tokens carry
 * the best listed one the sign-in satisfies (OpenID Connect Core 5.5.1.1), which the session's
 * class need not be (an MFA sign-in satisfies a request for the password class). The engine has
 * no hook for it: it reads the acr of tokens from OIDCContext#acr, a getter on the prototype
 * that returns session.acr (oidc-provider v9 lib/helpers/oidc_context.js, read by
 * process_response_types.js and the login prompt's checks); an own property shadows it for this
 * request only, leaving the stored session unchanged.
 */
export function issueAcr(ctx: { oidc: object }, acr: string): void {
  Object.defineProperty(ctx.oidc, 'acr', { value: acr, configurable: true, enumerable: false, writable: true });
}
