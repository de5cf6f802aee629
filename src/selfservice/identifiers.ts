// Who an identifier typed at sign-in names (issue 17): an email, a username (`jsmith`), a
// Windows down-level name (`CORP\jsmith`, the NetBIOS domain mapped to a directory in the
// tenant's settings) or a userPrincipalName (`jsmith@corp.example.org`, the suffix mapped the
// same way). Used by the sign-in page, the password grant and the admin API token endpoint.
// Unknown identifiers resolve to no user and take the same steps as known ones (the same
// queries in the same order), so neither answers nor timing tell them apart.
import type { UserStore, UserWithSecret } from '../storage/users.ts';
import { normalizeEmail } from '../storage/users.ts';
import type { Tenant } from '../storage/tenants.ts';
import { domainKey, selfServiceOf, type SignInWith } from './settings.ts';
import { textProblem } from '../shared/input.ts';
import { t } from '../i18n/index.ts';

export interface Resolved {
  user?: UserWithSecret;
  /** What failures are counted under and audit events show: the user's email when found, else the identifier as typed (normalised). */
  name: string;
  /** The identifier is an email address (upstream routing and directory look-ups by email apply). */
  isEmail: boolean;
}

const DOWN_LEVEL = /^([^\\/@\s]{1,15})\\([^\\/@\s]{1,64})$/;

export function identifierKind(identifier: string): 'down-level' | 'email' | 'username' {
  if (DOWN_LEVEL.test(identifier)) return 'down-level';
  return identifier.includes('@') ? 'email' : 'username';
}

export async function resolveIdentifier(
  deps: { userStore: Pick<UserStore, 'userByEmail' | 'userByUsername' | 'userByDirectoryUsername'> },
  tenant: Tenant,
  raw: string,
): Promise<Resolved> {
  const id = raw.trim();
  const settings = selfServiceOf(tenant);
  const mode: SignInWith = settings.signInWith;
  const usernames = mode !== 'email';
  const kind = identifierKind(id);
  if (kind === 'down-level') {
    const [, domain, name] = DOWN_LEVEL.exec(id)!;
    const dir = settings.domains[domainKey(domain!)];
    const user = usernames && dir ? await deps.userStore.userByDirectoryUsername(tenant.id, dir, name!) : undefined;
    return { user, name: user?.email ?? id.toLowerCase(), isEmail: false };
  }
  if (kind === 'email') {
    const email = normalizeEmail(id);
    let user = mode !== 'username' ? await deps.userStore.userByEmail(tenant.id, email) : undefined;
    if (!user && usernames) {
      // A userPrincipalName: the suffix names a directory, the local part is the username there.
      const at = email.lastIndexOf('@');
      const dir = settings.domains[domainKey(email.slice(at + 1))];
      if (dir) user = await deps.userStore.userByDirectoryUsername(tenant.id, dir, email.slice(0, at));
    }
    return { user, name: user?.email ?? email, isEmail: true };
  }
  const user = usernames && id ? await deps.userStore.userByUsername(tenant.id, id) : undefined;
  return { user, name: user?.email ?? id.toLowerCase(), isEmail: false };
}

/** The words for the identifier, following the tenant's setting (the page's label and hints). */
export function identifierWords(tenant: Tenant): { label: string; hint: string; example: string } {
  // In the request's language (English outside a request: the password grant, the API).
  switch (selfServiceOf(tenant).signInWith) {
    case 'email':
      return { label: t('signin.email'), hint: t('signin.hint.email'), example: 'name@example.com' };
    case 'username':
      return { label: t('signin.username'), hint: t('signin.hint.username'), example: 'jsmith' };
    default:
      return { label: t('signin.emailOrUsername'), hint: t('signin.hint.either'), example: 'name@example.com' };
  }
}

/** The identifier as typed on the sign-in page (or as login_hint): checked for the tenant's setting; a message that says what to type otherwise. */
export function checkIdentifier(tenant: Tenant, typed: string): { ok: true; value: string } | { ok: false; message: string } {
  const id = typed.trim();
  const words = identifierWords(tenant);
  if (!id || id.length > 254 || /\s/.test(id) || textProblem(id) !== undefined) return { ok: false, message: `${words.hint}.` };
  const mode = selfServiceOf(tenant).signInWith;
  const looksLikeEmail = /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(id);
  if (mode === 'email' && !looksLikeEmail) return { ok: false, message: `${words.hint}.` };
  if (id.includes('@') && !looksLikeEmail) return { ok: false, message: `${words.hint}.` };
  return { ok: true, value: looksLikeEmail ? id.toLowerCase() : id };
}
