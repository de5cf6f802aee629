// Application profiles are registered by administrators, so a deployed user's consent is
// implied: grants are created (or widened) without asking.
import type Provider from 'oidc-provider';

// device_sso: OpenID Connect Native SSO (native-sso.ts); it asks for something only for apps in a device SSO group.
export const SCOPES = ['openid', 'offline_access', 'email', 'profile', 'groups', 'device_sso'];

export async function impliedGrant(
  provider: Provider,
  opts: {
    grantId?: string;
    clientId: string;
    accountId: string;
    scope: string;
    claims?: string[] /** resource indicator -> its scope (the admin console) */;
    resources?: Record<string, string>;
  },
) {
  const existing = opts.grantId ? await provider.Grant.find(opts.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ clientId: opts.clientId, accountId: opts.accountId });
  const resources = Object.entries(opts.resources ?? {});
  const state = () => `${grant.getOIDCScope()}|${grant.getOIDCClaims().join(' ')}|${resources.map(([r]) => grant.getResourceScope(r)).join('|')}`;
  const before = existing && state();
  grant.addOIDCScope(
    opts.scope
      .split(' ')
      .filter((s) => SCOPES.includes(s))
      .join(' '),
  );
  if (opts.claims?.length) grant.addOIDCClaims(opts.claims);
  for (const [resource, scope] of resources) grant.addResourceScope(resource, scope);
  // Every authorization passes here (silent SSO included): write only when something changed.
  if (!existing || before !== state()) await grant.save();
  return grant;
}
