// Claims for ID tokens and userinfo: standard claims by scope, plus an app's custom claims
// (a static value, or a user attribute by name). claimsOf is the rule, pure; accountClaims
// looks up what it needs (groups, the OU path) and applies it.
import type { Services } from '../services.ts';
import type { UserWithSecret } from '../storage/users.ts';
import type { CustomClaim } from '../storage/apps.ts';

/** What of a user the claims read. */
export type ClaimUser = Pick<UserWithSecret, 'id' | 'email' | 'givenName' | 'familyName' | 'domain'> &
  Partial<Pick<UserWithSecret, 'username' | 'emailVerified' | 'upstreamId' | 'directoryId'>>;

const scopesOf = (scope: string) => new Set(scope.split(' '));

/** The lookups these claims need (each a query): the user's groups, their OU's path. */
export function claimLookups(scope: string, custom: readonly CustomClaim[]): { groups: boolean; ou: boolean } {
  return { groups: scopesOf(scope).has('groups') || custom.some((c) => c.attribute === 'groups'), ou: custom.some((c) => c.attribute === 'ou') };
}

/** The claims of a user for this scope and these custom claims, given the groups (names) and OU path looked up. */
export function claimsOf(user: ClaimUser, scope: string, custom: readonly CustomClaim[], looked: { groups: string[]; ou?: string }): Record<string, unknown> {
  const scopes = scopesOf(scope);
  const name = [user.givenName, user.familyName].filter(Boolean).join(' ') || undefined;
  // The attributes a custom claim may name (the admin API lists them); a Map, so that a name
  // such as __proto__ or constructor finds nothing rather than an object's inherited member.
  const attributes = new Map<string, unknown>([
    ['email', user.email],
    ['given_name', user.givenName ?? undefined],
    ['family_name', user.familyName ?? undefined],
    ['name', name],
    ['domain', user.domain],
    ['ou', looked.ou],
    ['groups', looked.groups],
    ['user_id', user.id],
  ]);
  const claims: Record<string, unknown> = {
    sub: user.id,
    email: user.email,
    // Local accounts: true once the user followed a verification link or an administrator
    // marked the address (users.email_verified). Directory users' addresses come from the
    // organisation's directory (set verified at sync), upstream users' from the upstream the
    // tenant federates with: both are trusted for it.
    email_verified: !!user.emailVerified || !!user.upstreamId || !!user.directoryId,
    name,
    given_name: user.givenName ?? undefined,
    family_name: user.familyName ?? undefined,
    preferred_username: user.username ?? user.email,
    ...(scopes.has('groups') && { groups: looked.groups }),
  };
  for (const c of custom) claims[c.name] = c.attribute ? attributes.get(c.attribute) : c.value;
  return claims;
}

export async function accountClaims(services: Pick<Services, 'userStore'>, user: UserWithSecret, scope: string, custom: CustomClaim[]) {
  const need = claimLookups(scope, custom);
  const groups = need.groups ? (await services.userStore.groupsOfUser(user.tenantId, user.id)).map((g) => g.name) : [];
  const ou = need.ou && user.ouId ? (await services.userStore.ouById(user.tenantId, user.ouId))?.path : undefined;
  return claimsOf(user, scope, custom, { groups, ou });
}
