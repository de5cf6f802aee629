// Application profiles are registered by administrators, so a deployed user's consent is
// implied: grants are created (or widened) without asking.
import type Provider from 'oidc-provider';

export const SCOPES = ['openid', 'offline_access', 'email', 'profile', 'groups'];

export async function impliedGrant(provider: Provider, opts: { grantId?: string; clientId: string; accountId: string; scope: string; claims?: string[] }) {
  const existing = opts.grantId ? await provider.Grant.find(opts.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ clientId: opts.clientId, accountId: opts.accountId });
  const before = existing && `${grant.getOIDCScope()}|${grant.getOIDCClaims().join(' ')}`;
  grant.addOIDCScope(opts.scope.split(' ').filter((s) => SCOPES.includes(s)).join(' '));
  if (opts.claims?.length) grant.addOIDCClaims(opts.claims);
  // Every authorization passes here (silent SSO included): write only when something changed.
  if (!existing || before !== `${grant.getOIDCScope()}|${grant.getOIDCClaims().join(' ')}`) await grant.save();
  return grant;
}
