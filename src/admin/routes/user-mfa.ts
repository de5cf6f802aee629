// A user's second factors (authenticator apps, passkeys, and whatever types MFA adds): list
// them, and the helpdesk reset for a user who lost them.
import { z } from 'zod';
import { pageInMemory } from '../../storage/paging.ts';
import { findUser } from '../lookup.ts';
import { userToActOn } from '../roles.ts';
import { listQuery, page } from '../schemas.ts';
import { route } from '../route.ts';
import { mfaFactor as factor } from '../shapes.ts';

export const userMfaRoutes = [
  route({
    id: 'listUserMfa',
    method: 'get',
    path: '/tenants/:slug/users/:user/mfa',
    tag: 'users',
    access: ['admin', 'helpdesk'],
    summary: "A user's enrolled second factors, oldest first (never their secrets), and how many recovery codes are left; search matches the type or label",
    query: listQuery,
    response: page(factor).extend({ recoveryCodesLeft: z.number().int() }),
    async handler({ services, tenant, params, query }) {
      const u = await findUser(services, tenant.id, params.user);
      const all = (await services.mfaStore.factors(tenant.id, u.id)).map((f) => ({
        id: f.id,
        type: f.type,
        label: f.label,
        createdAt: f.createdAt,
        lastUsedAt: f.lastUsedAt,
      }));
      const p = pageInMemory(
        all,
        query,
        (f) => `${String(f.createdAt).padStart(16, '0')}|${f.id}`,
        (f) => [f.type, f.label],
      );
      return { ...p, recoveryCodesLeft: await services.mfaStore.unusedRecoveryCodes(tenant.id, u.id) };
    },
  }),
  route({
    id: 'resetUserMfa',
    method: 'delete',
    path: '/tenants/:slug/users/:user/mfa',
    tag: 'users',
    access: ['admin', 'helpdesk'],
    summary:
      'Reset two-step verification: every factor (authenticator apps, Gatehouse Authenticators, passkeys), recovery code and remembered browser of the user goes',
    response: z.void(),
    async handler(call) {
      const { services, tenant, params, audit } = call;
      const u = await userToActOn(call, params.user, 'resetUserMfa');
      const removed = await services.mfaStore.reset(tenant.id, u.id);
      await services.pushService.deviceRemoved(tenant.id, u.id); // open Gatehouse Authenticators learn it at once
      await audit('admin.user.mfa_reset', u.id, { email: u.email, factorsRemoved: removed }, { userId: u.id });
    },
  }),
];
