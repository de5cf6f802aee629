// Finding the records a path names: users by id or email, groups by name or id, apps by
// client ID. A name that matches nothing is a 404 that says what was looked for.
import type { Services } from '../services.ts';
import type { Group, UserWithSecret } from '../storage/users.ts';
import { notFound } from '../shared/errors.ts';

export async function findUser(app: Services, tenantId: string, ref: string): Promise<UserWithSecret> {
  const u = ref.includes('@') ? await app.userStore.userByEmail(tenantId, ref) : await app.userStore.userById(tenantId, ref);
  if (!u) throw notFound(`User ${ref}`);
  return u;
}

export async function findGroup(app: Services, tenantId: string, ref: string): Promise<Group> {
  const g = await app.userStore.groupById(tenantId, ref) ?? await app.userStore.groupByName(tenantId, ref);
  if (!g) throw notFound(`Group ${ref}`);
  return g;
}
