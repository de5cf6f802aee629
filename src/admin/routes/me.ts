// GET /api/v1/me: who the token belongs to (the console shows it and hides what the roles do not allow).
import { z } from 'zod';
import { role } from '../schemas.ts';
import { route } from '../route.ts';
import { DEFAULT_TENANT } from '../../tenants/bootstrap.ts';

export const meRoutes = [
  route({
    id: 'getMe',
    method: 'get',
    path: '/me',
    tag: 'me',
    access: 'signed-in',
    summary: 'The administrator the access token belongs to, their tenant and roles',
    response: z.object({
      userId: z.string(),
      email: z.string(),
      tenant: z.string().describe("the administrator's tenant slug"),
      roles: z.array(role),
      instanceAdmin: z.boolean().describe('a superadmin of the default tenant: administers every tenant'),
    }),
    async handler({ admin }) {
      return {
        userId: admin.userId,
        email: admin.email,
        tenant: admin.tenantSlug,
        roles: admin.roles,
        instanceAdmin: admin.tenantSlug === DEFAULT_TENANT && admin.roles.includes('superadmin'),
      };
    },
  }),
];
