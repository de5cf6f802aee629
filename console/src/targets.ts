// Type-ahead search of who an application or a policy applies to: users, groups, OUs and
// domains, each searched by the server (?search=), so that a tenant with thousands of
// groups or synced OUs finds them all, not only those of a first page.
import { api, qs, type Page } from './api.ts';
import type { Group, Ou, User } from './types.ts';

export interface Found {
  users: User[];
  groups: Group[];
  ous: Ou[];
  domains: Array<{ name: string }>;
}
type Kind = keyof Found;

/** At most `limit` of each kind asked for, matching `q`; an empty `q` finds the first ones (users: none). */
export async function searchTargets(tp: (p: string) => string, q: string, signal: AbortSignal, kinds: Kind[], limit = 8): Promise<Found> {
  const list = async <T>(kind: Kind, path: string): Promise<T[]> => {
    if (!kinds.includes(kind) || (kind === 'users' && !q)) return [];
    // A list the role may not read (403) just adds nothing to the results.
    return (
      await api<Page<T>>('GET', tp(`${path}${qs({ search: q, limit })}`), undefined, { signal }).catch((e: Error) => {
        if (e.name === 'AbortError') throw e;
        return { items: [], nextCursor: null };
      })
    ).items;
  };
  const [users, groups, ous, domains] = await Promise.all([
    list<User>('users', '/users'),
    list<Group>('groups', '/groups'),
    list<Ou>('ous', '/ous'),
    list<{ name: string }>('domains', '/domains'),
  ]);
  return { users, groups, ous, domains };
}

export const personName = (u: Pick<User, 'givenName' | 'familyName'>) => [u.givenName, u.familyName].filter(Boolean).join(' ');
