// Admin API authorization: access tokens Gatehouse issues to itself (audience = the admin
// API), signed with the tenant's active key: either from POST /auth/token (they name their
// tenant and carry the roles), or issued by the tenant's own engine to the admin console
// (oidc/clients.ts CONSOLE_CLIENT_ID; the issuer names the tenant). Either way the roles
// used are the ones the user holds now.
import { SignJWT, jwtVerify, createLocalJWKSet, decodeJwt, importJWK } from 'jose';
import type Koa from 'koa';
import type { Services } from '../services.ts';
import type { AdminRole, UserWithSecret } from '../storage/users.ts';
import type { Tenant } from '../storage/tenants.ts';
import { GatehouseError } from '../shared/errors.ts';
import { isStoreOutage } from '../shared/outage.ts';
import { DEFAULT_TENANT } from '../tenants/bootstrap.ts';
import { issuerFor } from '../oidc/engine.ts';
import { adminApiResource, CONSOLE_CLIENT_ID, CONSOLE_SCOPE } from '../oidc/clients.ts';
import { SLUG_RE } from '../storage/tenants.ts';

export const ADMIN_TOKEN_TTL_SECONDS = 3600;
export const adminAudience = (services: Pick<Services, 'config'>) => adminApiResource(services.config.publicUrl);

export interface Admin {
  userId: string;
  email: string;
  tenantId: string;
  tenantSlug: string;
  roles: AdminRole[];
}

export async function issueAdminToken(
  services: Pick<Services, 'config' | 'keyService'>,
  tenant: Tenant,
  user: UserWithSecret,
): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number }> {
  const { keys } = await services.keyService.jwksForEngine(tenant.id);
  const jwk = keys.find((k) => k.alg === 'ES256') ?? keys[0]!;
  const key = await importJWK(jwk as Parameters<typeof importJWK>[0], jwk.alg);
  const token = await new SignJWT({ roles: user.roles, email: user.email, tenant: tenant.slug })
    .setProtectedHeader({ alg: jwk.alg as string, kid: jwk.kid as string, typ: 'at+jwt' })
    .setIssuer(issuerFor(services.config.publicUrl, tenant.slug))
    .setAudience(adminAudience(services))
    .setSubject(user.id)
    .setIssuedAt()
    .setExpirationTime(`${ADMIN_TOKEN_TTL_SECONDS}s`)
    .sign(key);
  return { access_token: token, token_type: 'Bearer', expires_in: ADMIN_TOKEN_TTL_SECONDS };
}

const unauthorized = (msg: string) => new GatehouseError(401, 'unauthorized', msg);

/** Resolve the caller from its bearer token; the user must still exist, be active and hold the roles. */
export async function authenticate(
  services: Pick<Services, 'config' | 'keyService' | 'tenantStore' | 'userStore'>,
  ctx: Pick<Koa.Context, 'get'>,
): Promise<Admin> {
  const m = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
  if (!m) throw unauthorized('Send an admin access token: Authorization: Bearer <token>. Get one from POST /api/v1/auth/token.');
  let slug: string;
  try {
    const claims = decodeJwt(m[1]!);
    const tenantsAt = `${services.config.publicUrl}/t/`;
    const fromIssuer = typeof claims.iss === 'string' && claims.iss.startsWith(tenantsAt) ? claims.iss.slice(tenantsAt.length) : undefined;
    slug = typeof claims.tenant === 'string' ? claims.tenant : fromIssuer && SLUG_RE.test(fromIssuer) ? fromIssuer : DEFAULT_TENANT;
  } catch {
    throw unauthorized('The access token is malformed. Get a new one from POST /api/v1/auth/token.');
  }
  const tenant = await services.tenantStore.bySlug(slug);
  if (!tenant) throw unauthorized('The access token names an unknown tenant.');
  try {
    const jwks = createLocalJWKSet((await services.keyService.publicJwks(tenant.id)) as Parameters<typeof createLocalJWKSet>[0]);
    const { payload } = await jwtVerify(m[1]!, jwks, {
      issuer: issuerFor(services.config.publicUrl, tenant.slug),
      audience: adminAudience(services),
      typ: 'at+jwt',
    });
    // An engine-issued token (it names its client) must be the console's, for the admin scope.
    if (
      payload.client_id !== undefined &&
      (payload.client_id !== CONSOLE_CLIENT_ID ||
        !String(payload.scope ?? '')
          .split(' ')
          .includes(CONSOLE_SCOPE))
    ) {
      throw unauthorized('This access token was not issued for the admin API.');
    }
    const user = await services.userStore.userById(tenant.id, String(payload.sub));
    if (user?.status !== 'active' || user.roles.length === 0) throw unauthorized('This account may no longer use the admin API.');
    return { userId: user.id, email: user.email, tenantId: tenant.id, tenantSlug: tenant.slug, roles: user.roles };
  } catch (e) {
    // A database away is not a bad token: it must reach the outage handling (503), not say 401.
    if (e instanceof GatehouseError || isStoreOutage(e)) throw e;
    throw unauthorized('The access token is invalid or expired. Get a new one from POST /api/v1/auth/token.');
  }
}

/**
 * Superadmins of the default tenant administer every tenant; other administrators only
 * their own tenant. Returns the tenant acted on.
 */
export async function authorize(services: Pick<Services, 'tenantStore'>, admin: Admin, slug: string, roles: AdminRole[]): Promise<Tenant> {
  const instanceAdmin = admin.tenantSlug === DEFAULT_TENANT && admin.roles.includes('superadmin');
  const allowed = instanceAdmin || (admin.tenantSlug === slug && admin.roles.some((r) => r === 'superadmin' || roles.includes(r)));
  if (!allowed) {
    const needs = admin.tenantSlug !== slug ? `superadmin of the ${DEFAULT_TENANT} tenant` : ['superadmin', ...roles].join(' or ');
    const where = admin.tenantSlug !== slug ? ` in the tenant "${slug}": you administer "${admin.tenantSlug}"` : '';
    throw new GatehouseError(403, 'forbidden', `Your role (${admin.roles.join(', ') || 'none'}) does not allow this${where}. It needs: ${needs}.`, { needs });
  }
  const tenant = await services.tenantStore.bySlug(slug);
  if (!tenant) throw new GatehouseError(404, 'not_found', `Tenant "${slug}" was not found.`);
  return tenant;
}
