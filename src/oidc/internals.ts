// Quarantine: the only place Gatehouse reaches past oidc-provider's public API. Each use says
// why it is needed and what it relies on, so an engine upgrade has one file to check.
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
  if (typeof c.backchannelLogout !== 'function') throw new Error('this oidc-provider version has no Client#backchannelLogout; see src/oidc/internals.ts');
  return c.backchannelLogout(sub, sid);
}
