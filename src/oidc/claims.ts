// Claims for ID tokens and userinfo: standard claims by scope, plus an app's custom claims.
import type { Services } from '../services.ts';
import type { UserWithSecret } from '../storage/users.ts';
import type { CustomClaim } from '../storage/apps.ts';

export async function accountClaims(services: Pick<Services, 'userStore'>, user: UserWithSecret, scope: string, custom: CustomClaim[]) {
  const scopes = new Set(scope.split(' '));
  const name = [user.givenName, user.familyName].filter(Boolean).join(' ') || undefined;
  const needGroups = scopes.has('groups') || custom.some((c) => c.attribute === 'groups');
  const groups = needGroups ? (await services.userStore.groupsOfUser(user.tenantId, user.id)).map((g) => g.name) : [];
  const needOu = custom.some((c) => c.attribute === 'ou');
  const ou = needOu && user.ouId ? (await services.userStore.ouById(user.tenantId, user.ouId))?.path : undefined;
  const attributes: Record<string, unknown> = {
    email: user.email, given_name: user.givenName ?? undefined, family_name: user.familyName ?? undefined, name,
    domain: user.domain, ou, groups, user_id: user.id,
  };
  const claims: Record<string, unknown> = {
    sub: user.id,
    email: user.email,
    // Local accounts: true once the user followed a verification link or an administrator
    // marked the address (users.email_verified). Directory users' addresses come from the
    // organisation's directory (set verified at sync), upstream users' from the upstream the
    // tenant federates with: both are trusted for it.
    email_verified: user.emailVerified || !!user.upstreamId || !!user.directoryId,
    name,
    given_name: user.givenName ?? undefined,
    family_name: user.familyName ?? undefined,
    preferred_username: user.username ?? user.email,
    ...(scopes.has('groups') && { groups }),
  };
  for (const c of custom) claims[c.name] = c.attribute ? attributes[c.attribute] : c.value;
  return claims;
}
