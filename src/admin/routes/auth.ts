// POST /api/v1/auth/token: an administrator's email and password for an admin access token.
import { z } from 'zod';
import { GatehouseError } from '../../shared/errors.ts';
import { passwordSignIn, signInSucceeded } from '../../interaction/signin.ts';
import { DEFAULT_TENANT } from '../../tenants/bootstrap.ts';
import { issueAdminToken } from '../auth.ts';
import { route } from '../route.ts';

export const authRoutes = [
  route({
    id: 'createToken',
    method: 'post',
    path: '/auth/token',
    tag: 'auth',
    access: 'public',
    summary: "Exchange an administrator's email (or username) and password for an admin access token",
    description:
      'The same smart lockout as the sign-in page (docs/security.md, "Sign-in abuse"): failures count per account and per address; an address the account signed in from in the last 30 days is familiar, so strangers\' failures elsewhere do not lock it there. Refused attempts are answered 429 with Retry-After. The account must hold an administrator role.',
    body: z
      .object({
        email: z
          .string()
          .trim()
          .min(1)
          .max(254)
          .optional()
          .describe("the administrator's email, or their username in any form the tenant accepts (jsmith, CORP\\jsmith, a userPrincipalName)"),
        username: z.string().trim().min(1).max(254).optional().describe('the same as email: give one of them'),
        password: z.string().min(1).max(256),
        tenant: z.string().max(40).default(DEFAULT_TENANT).describe('the tenant the administrator belongs to'),
      })
      .refine((b) => !!(b.email ?? b.username), { message: 'give email or username', path: ['email'] }),
    example: { email: 'admin@example.com', password: 'a long passphrase', tenant: 'default' },
    response: z.object({ access_token: z.string(), token_type: z.literal('Bearer'), expires_in: z.number().int() }),
    async handler({ services, koa, body }) {
      const tenant = await services.tenantStore.bySlug(body.tenant);
      if (!tenant) throw new GatehouseError(401, 'invalid_credentials', 'The email or password is incorrect.');
      const origin = { ip: koa.ip };
      const res = await passwordSignIn(services, tenant, (body.email ?? body.username)!, body.password, origin);
      if (!res.ok && res.retryAfter) koa.set('Retry-After', String(res.retryAfter));
      if (!res.ok)
        throw new GatehouseError(
          res.reason === 'throttled' ? 429 : 401,
          res.reason === 'throttled' ? 'throttled' : 'invalid_credentials',
          res.reason === 'disabled' ? 'This account is disabled.' : res.message,
        );
      if (res.user.roles.length === 0) throw new GatehouseError(403, 'forbidden', 'This account is not an administrator.');
      const token = await issueAdminToken(services, tenant, res.user);
      await signInSucceeded(services, tenant, res.user, origin, { clientId: null, amr: ['pwd'], via: 'admin_api_token' });
      return token;
    },
  }),
];
