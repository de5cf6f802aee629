// Shared mobile devices (OpenID Connect Native SSO): device sessions, one per checked-out
// device and shift, with the apps that joined it; checking one in ends it (its tokens revoked,
// back-channel logout to its apps), as the device's own check-in does.
import { z } from 'zod';
import type { Services } from '../../services.ts';
import type { DeviceSession } from '../../storage/device-sessions.ts';
import type { Tenant } from '../../storage/tenants.ts';
import type { User } from '../../storage/users.ts';
import type { Admin } from '../auth.ts';
import { notFound } from '../../shared/errors.ts';
import { assertMayActOn, mayManage } from '../roles.ts';
import { page } from '../schemas.ts';
import { route } from '../route.ts';
import { deviceSessionView } from '../shapes.ts';

async function views(
  { services, admin, tenant }: { services: Services; admin: Admin; tenant: Tenant },
  sessions: DeviceSession[],
): Promise<Array<z.input<typeof deviceSessionView>>> {
  const users = new Map<string, User | undefined>();
  for (const id of new Set(sessions.map((s) => s.userId))) users.set(id, await services.userStore.userById(tenant.id, id));
  const names = new Map<string, string>();
  for (const clientId of new Set(sessions.flatMap((s) => s.apps.map((a) => a.clientId)))) {
    names.set(clientId, (await services.clientCache.get(tenant.id, clientId).catch(() => undefined))?.displayName ?? clientId);
  }
  const now = Date.now();
  return sessions.map((s) => {
    const u = users.get(s.userId);
    return {
      id: s.id,
      userId: s.userId,
      email: u?.email ?? null,
      group: s.group,
      deviceName: s.deviceName,
      deviceId: s.deviceId,
      startedAt: s.startedAt,
      expiresAt: s.expiresAt,
      endedAt: s.endedAt,
      endReason: s.endReason,
      status: s.endedAt !== null ? ('ended' as const) : s.expiresAt <= now ? ('expired' as const) : ('live' as const),
      apps: s.apps.map((a) => ({ clientId: a.clientId, name: names.get(a.clientId)!, joinedAt: a.joinedAt })),
      amr: s.amr,
      acr: s.acr,
      mayCheckIn: !u || mayManage(admin, u, tenant),
    };
  });
}

const roles = ['admin', 'helpdesk'] as const;

export const deviceRoutes = [
  route({
    id: 'listDeviceSessions',
    method: 'get',
    path: '/tenants/:slug/devices',
    tag: 'devices',
    access: roles,
    summary: 'Shared-device sessions (OpenID Connect Native SSO), newest first: device, user, shift start and end, the apps that joined',
    query: z.object({
      cursor: z.string().max(500).optional(),
      limit: z.coerce.number().int().min(1).max(500).optional(),
      all: z.enum(['true', 'false']).optional().describe('true: ended and expired ones too (kept a week); default: live ones only'),
    }),
    response: page(deviceSessionView),
    async handler(call) {
      const { services, tenant, query } = call;
      const p = await services.deviceSessionService.store.page(tenant.id, { cursor: query.cursor, limit: query.limit, live: query.all !== 'true' });
      return { items: await views(call, p.items), nextCursor: p.nextCursor };
    },
  }),
  route({
    id: 'checkInDevice',
    method: 'post',
    path: '/tenants/:slug/devices/:session/checkin',
    tag: 'devices',
    access: roles,
    summary: 'Check a device in: its device session ends, every token issued under it is revoked and its apps get back-channel logout',
    response: z.object({ checkedIn: z.boolean().describe('false: it had already ended') }),
    async handler(call) {
      const { services, tenant, admin, params } = call;
      const s = await services.deviceSessionService.store.get(tenant.id, params.session);
      if (!s) throw notFound(`Device session ${params.session}`);
      const u = await services.userStore.userById(tenant.id, s.userId);
      if (u) await assertMayActOn(call, u, 'checkInDevice');
      // The service records the audit event (device.checked_in) with the administrator.
      return { checkedIn: await services.deviceSessionService.end(tenant, s.id, { by: admin.email, why: 'checkin_by_administrator' }) };
    },
  }),
];
