// The administrator role hierarchy, and the one rule every action on an account obeys:
// nobody may change, disable, delete, unlock, reset the password or second factors of, end
// the sessions of, or change the groups or roles of an account holding a role they do not
// hold themselves. Without it an admin could set a superadmin's password, take their token
// and administer every tenant (issue 14.1). Routes call assertMayActOn(); answers about
// users carry mayManage from the same function, so the console offers only what is allowed.
//
//   superadmin > admin > helpdesk, auditor   (helpdesk and auditor are peers: neither holds the other)
//   an instance administrator (superadmin of the default tenant) only by another one.
import type Koa from 'koa';
import type { Services } from '../services.ts';
import type { AdminRole, UserWithSecret } from '../storage/users.ts';
import { findUser } from './lookup.ts';
import type { Tenant } from '../storage/tenants.ts';
import { GatehouseError } from '../shared/errors.ts';
import { DEFAULT_TENANT } from '../tenants/bootstrap.ts';
import type { Admin } from './auth.ts';

/** The roles each role holds: itself and every role below it. */
const HOLDS: Record<AdminRole, readonly AdminRole[]> = {
  superadmin: ['superadmin', 'admin', 'helpdesk', 'auditor'],
  admin: ['admin', 'helpdesk', 'auditor'],
  helpdesk: ['helpdesk'],
  auditor: ['auditor'],
};

/** A superadmin of the default tenant: administers every tenant. */
export const isInstanceAdmin = (a: { tenantSlug: string; roles: readonly AdminRole[] }) => a.tenantSlug === DEFAULT_TENANT && a.roles.includes('superadmin');

/** The roles an administrator holds, through the hierarchy. */
export const heldRoles = (roles: readonly AdminRole[]): Set<AdminRole> => new Set(roles.flatMap((r) => HOLDS[r]));

export interface Target {
  email: string;
  roles: readonly AdminRole[];
}

export interface Refusal {
  needs: string;
  message: string;
}

/**
 * Why `actor` may not act on `target` (an account of `tenant`), or null when they may.
 * Authorization for the route itself (the tenant, the route's roles) is checked before this.
 */
export function refusal(actor: Pick<Admin, 'tenantSlug' | 'roles'>, target: Target, tenant: Pick<Tenant, 'slug'>): Refusal | null {
  if (isInstanceAdmin(actor)) return null;
  if (isInstanceAdmin({ tenantSlug: tenant.slug, roles: target.roles })) {
    const needs = `superadmin of the ${DEFAULT_TENANT} tenant`;
    return {
      needs,
      message: `${target.email} is an instance administrator (superadmin of the ${DEFAULT_TENANT} tenant): only another instance administrator may change this account, its password, second factors or sessions. It needs: ${needs}.`,
    };
  }
  const held = heldRoles(actor.roles);
  const missing = target.roles.filter((r) => !held.has(r));
  if (missing.length === 0) return null;
  // The least role that holds everything missing (helpdesk and auditor are held together only by admin).
  const needs = missing.includes('superadmin') ? 'superadmin' : 'admin';
  return {
    needs,
    message: `${target.email} holds the ${missing.join(' and ')} role${missing.length > 1 ? 's' : ''}, which you do not hold: only an administrator holding ${missing.length > 1 ? 'them' : 'it'} may change this account, its password, second factors or sessions. It needs: ${needs}.`,
  };
}

export const mayManage = (actor: Pick<Admin, 'tenantSlug' | 'roles'>, target: Target, tenant: Pick<Tenant, 'slug'>) => refusal(actor, target, tenant) === null;

/** What a refusal needs to record its attempt: the caller, where, and from which address. */
export interface Attempt {
  services: Services;
  admin: Admin;
  tenant: Tenant;
  koa: Pick<Koa.Context, 'ip'>;
}

/** Record a refused attempt (level warn, so that it shows among the warnings) and answer 403. */
export async function deny(call: Attempt, action: string, message: string, needs: string, about: { userId?: string; email?: string } = {}): Promise<never> {
  await call.services.auditStore.record({
    tenantId: call.tenant.id,
    type: 'admin.denied',
    level: 'warn',
    actor: call.admin.email,
    subject: about.userId ?? null,
    ip: call.koa.ip,
    userId: about.userId ?? null,
    data: { action, needs, ...(about.email !== undefined && { email: about.email }), actorRoles: call.admin.roles },
  });
  throw new GatehouseError(403, 'forbidden', message, { needs });
}

/**
 * Refuse (403, recorded) unless the caller may act on this account. `action` names what was
 * tried (the route's operation id) in the audit event.
 */
export async function assertMayActOn(call: Attempt, target: Target & { id: string }, action: string): Promise<void> {
  const r = refusal(call.admin, target, call.tenant);
  if (r) await deny(call, action, r.message, r.needs, { userId: target.id, email: target.email });
}

/**
 * The user a route acts on (by id or email), once the caller is known to be allowed to act on
 * them: 404 when there is no such user, 403 (recorded) when they hold a role the caller lacks.
 */
export async function userToActOn(call: Attempt, ref: string, action: string): Promise<UserWithSecret> {
  const u = await findUser(call.services, call.tenant.id, ref);
  await assertMayActOn(call, u, action);
  return u;
}

/**
 * Refuse (403, recorded) unless the caller may give these roles: changing an account's roles
 * needs superadmin; creating one may grant only roles the caller holds.
 */
export async function assertMayGrant(
  call: Attempt,
  roles: readonly AdminRole[],
  opts: { change: boolean; target?: { id: string; email: string } },
  action: string,
): Promise<void> {
  const held = heldRoles(call.admin.roles);
  if (opts.change ? !call.admin.roles.includes('superadmin') : roles.some((r) => !held.has(r))) {
    const msg = opts.change
      ? 'Only a superadministrator may change administrator roles. It needs: superadmin.'
      : `You may grant only roles you hold (${[...held].join(', ') || 'none'}). It needs: superadmin.`;
    await deny(call, action, msg, 'superadmin', { userId: opts.target?.id, email: opts.target?.email });
  }
}
