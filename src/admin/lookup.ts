// Finding the records a path names: users by id or email, groups by name or id, apps by
// client ID. A name that matches nothing is a 404 that says what was looked for.
import type { Services } from '../services.ts';
import type { Group, UserWithSecret } from '../storage/users.ts';
import { notFound } from '../shared/errors.ts';

export async function findUser(services: Pick<Services, 'userStore'>, tenantId: string, ref: string): Promise<UserWithSecret> {
  const u = ref.includes('@') ? await services.userStore.userByEmail(tenantId, ref) : await services.userStore.userById(tenantId, ref);
  if (!u) throw notFound(`User ${ref}`);
  return u;
}

export async function findGroup(services: Pick<Services, 'userStore'>, tenantId: string, ref: string): Promise<Group> {
  const g = (await services.userStore.groupById(tenantId, ref)) ?? (await services.userStore.groupByName(tenantId, ref));
  if (!g) throw notFound(`Group ${ref}`);
  return g;
}
