// SSO sessions: every signed-in browser of the tenant's users (device, IP, started, last
// seen, apps); ending one signs the browser out and sends back-channel logout to its apps.
import { z } from 'zod';
import type { Services } from '../../services.ts';
import type { SsoSession } from '../../sessions/sessions.ts';
import { notFound } from '../../shared/errors.ts';
import type { User } from '../../storage/users.ts';
import type { Tenant } from '../../storage/tenants.ts';
import type { Admin } from '../auth.ts';
import { findUser } from '../lookup.ts';
import { assertMayActOn, mayManage, userToActOn } from '../roles.ts';
import { listQuery, page } from '../schemas.ts';
import { route } from '../route.ts';
import { sessionView as sessionSchema } from '../shapes.ts';

async function views(
  { services, admin, tenant }: { services: Services; admin: Admin; tenant: Tenant },
  sessions: SsoSession[],
): Promise<Array<z.input<typeof sessionSchema>>> {
  const users = new Map<string, User | undefined>();
  for (const id of new Set(sessions.map((s) => s.userId))) users.set(id, await services.userStore.userById(tenant.id, id));
  return sessions.map((s) => {
    const u = users.get(s.userId);
    return {
      id: s.id,
      userId: s.userId,
      email: u?.email ?? null,
      device: s.device,
      ip: s.ip,
      userAgent: s.userAgent,
      startedAt: s.startedAt,
      lastSeenAt: s.lastSeenAt,
      expiresAt: s.expiresAt,
      apps: s.appNames,
      amr: s.amr,
      acr: s.acr,
      mayEnd: !u || mayManage(admin, u, tenant),
    };
  });
}

const roles = ['admin', 'helpdesk'] as const;

export const sessionRoutes = [
  route({
    id: 'listSessions',
    method: 'get',
    path: '/tenants/:slug/sessions',
    tag: 'sessions',
    access: roles,
    summary: "Live SSO sessions, most recently active first; search matches the user's email, the IP or the browser",
    query: listQuery.extend({ user: z.string().max(254).optional().describe("only this user's (id or email)") }),
    response: page(sessionSchema),
    async handler(call) {
      const { services, tenant, query } = call;
      const { user, ...opts } = query;
      const userId = user ? (await findUser(services, tenant.id, user)).id : undefined;
      const p = await services.sessionService.list(tenant.id, { ...opts, userId });
      return { items: await views(call, p.items), nextCursor: p.nextCursor };
    },
  }),
  route({
    id: 'listUserSessions',
    method: 'get',
    path: '/tenants/:slug/users/:user/sessions',
    tag: 'sessions',
    access: roles,
    summary: "A user's live SSO sessions, most recently active first; search matches the IP or the browser",
    query: listQuery,
    response: page(sessionSchema),
    async handler(call) {
      const { services, tenant, params, query } = call;
      const u = await findUser(services, tenant.id, params.user);
      const p = await services.sessionService.list(tenant.id, { ...query, userId: u.id });
      return { items: await views(call, p.items), nextCursor: p.nextCursor };
    },
  }),
  route({
    id: 'endSession',
    method: 'delete',
    path: '/tenants/:slug/sessions/:session',
    tag: 'sessions',
    access: roles,
    summary: 'Terminate a session: the browser must sign in again; its apps get back-channel logout; its tokens are revoked',
    response: z.void(),
    async handler(call) {
      const { services, tenant, admin, params } = call;
      const session = await services.sessionService.get(tenant.id, params.session);
      if (!session) throw notFound(`Session ${params.session}`);
      const u = await services.userStore.userById(tenant.id, session.userId);
      if (u) await assertMayActOn(call, u, 'endSession');
      // The session service records the audit event (session.ended) with the administrator.
      if (!(await services.sessionService.end(tenant, params.session, { by: admin.email, why: 'ended by an administrator' })))
        throw notFound(`Session ${params.session}`);
    },
  }),
  route({
    id: 'endUserSessions',
    method: 'delete',
    path: '/tenants/:slug/users/:user/sessions',
    tag: 'sessions',
    access: roles,
    summary: 'Terminate every session of a user',
    response: z.object({ ended: z.number().int() }),
    async handler(call) {
      const { services, tenant, admin, params } = call;
      const u = await userToActOn(call, params.user, 'endUserSessions');
      return { ended: await services.sessionService.endAllForUser(tenant, u.id, { by: admin.email, why: 'ended by an administrator' }) };
    },
  }),
];
