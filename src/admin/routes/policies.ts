// User policies, listed in precedence order, and the policy that applies to a user.
import { text } from '../../shared/input.ts';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import type { Tenant } from '../../storage/tenants.ts';
import { policySettings, type UserPolicy } from '../../policy/policies.ts';
import { pageInMemory } from '../../storage/paging.ts';
import { findUser } from '../lookup.ts';
import { listQuery, page, version } from '../schemas.ts';
import { parseInput, route } from '../route.ts';
import { policy as policyShape } from '../shapes.ts';

const target = z.object({ type: z.enum(['all', 'user', 'group', 'ou', 'domain']), ref: z.string().min(1).max(500).optional().describe('not for all') });
const fields = {
  name: text().trim().min(1).max(100),
  priority: z.number().int().min(1).max(10_000).describe('1 is considered first'),
  targets: z.array(target).max(1000),
};
const PRECEDENCE = 'The first policy, by priority (1 first), with a target that matches a user applies to them; users no policy matches get the defaults.';

/** A policy as the API answers it (src/admin/shapes.ts, shared with the console and the CLI). */
export const policySchema = policyShape;

async function view(services: Services, tenant: Tenant, p: UserPolicy): Promise<z.input<typeof policySchema>> {
  return {
    id: p.id,
    name: p.name,
    priority: p.priority,
    settings: p.settings,
    version: p.version,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    targets: await Promise.all(
      p.targets.map(async (t) => ({
        ...t,
        label: t.type === 'all' ? 'all users' : await services.appService.targetLabel(tenant.id, t as { type: 'user' | 'group' | 'ou' | 'domain'; id: string }),
      })),
    ),
  };
}

// Precedence order as a growing key (the page cursor).
const orderKey = (p: UserPolicy) => `${String(p.priority).padStart(6, '0')}|${p.name}`;

export const policyRoutes = [
  route({
    id: 'listPolicies',
    method: 'get',
    path: '/tenants/:slug/policies',
    tag: 'policies',
    access: ['admin', 'helpdesk', 'auditor'],
    summary: 'User policies in precedence order; search matches the name',
    query: listQuery,
    response: page(policySchema).extend({ precedence: z.string() }),
    async handler({ services, tenant, query }) {
      const p = pageInMemory(await services.policyService.list(tenant.id), query, orderKey, (x) => [x.name]);
      const items = [];
      for (const x of p.items) items.push(await view(services, tenant, x));
      return { items, nextCursor: p.nextCursor, precedence: PRECEDENCE };
    },
  }),
  route({
    id: 'createPolicy',
    method: 'post',
    path: '/tenants/:slug/policies',
    tag: 'policies',
    access: ['admin'],
    status: 201,
    summary: 'Create a user policy (see docs/mfa.md for the settings)',
    body: z.object({ ...fields, targets: fields.targets.default([]), settings: policySettings.default(policySettings.parse({})) }),
    example: { name: 'Clinicians', priority: 10, targets: [{ type: 'group', ref: 'Nurses' }], settings: { mfa: { required: 'always' } } },
    response: policySchema,
    async handler({ services, tenant, body, audit }) {
      const created = await services.policyService.create(tenant.id, {
        ...body,
        targets: await services.policyService.resolveTargets(tenant.id, body.targets),
      });
      await audit('admin.policy.created', created.id, { name: created.name, priority: created.priority });
      return view(services, tenant, created);
    },
  }),
  route({
    id: 'getPolicy',
    method: 'get',
    path: '/tenants/:slug/policies/:policy',
    tag: 'policies',
    access: ['admin', 'helpdesk', 'auditor'],
    summary: 'Show a user policy (by id or name)',
    response: policySchema,
    async handler({ services, tenant, params }) {
      return view(services, tenant, await services.policyService.get(tenant.id, params.policy));
    },
  }),
  route({
    id: 'updatePolicy',
    method: 'patch',
    path: '/tenants/:slug/policies/:policy',
    tag: 'policies',
    access: ['admin'],
    versioned: true,
    summary: 'Change a user policy; only the settings sent change, checked as a whole',
    body: z.object({
      name: fields.name.optional(),
      priority: fields.priority.optional(),
      targets: fields.targets.optional(),
      version,
      settings: z.record(z.string(), z.unknown()).optional().describe('merged into the current settings'),
    }),
    example: { priority: 5 },
    response: policySchema,
    async handler({ services, tenant, params, body, version: v, audit }) {
      const current = await services.policyService.get(tenant.id, params.policy);
      const settings = body.settings ? parseInput(policySettings, { ...current.settings, ...body.settings }, 'body') : undefined;
      const targets = body.targets ? await services.policyService.resolveTargets(tenant.id, body.targets) : undefined;
      const updated = await services.policyService.update(tenant.id, current.id, v, { name: body.name, priority: body.priority, targets, settings });
      await audit('admin.policy.updated', current.id, { name: updated.name, changes: Object.keys(body).filter((k) => k !== 'version') });
      return view(services, tenant, updated);
    },
  }),
  route({
    id: 'deletePolicy',
    method: 'delete',
    path: '/tenants/:slug/policies/:policy',
    tag: 'policies',
    access: ['admin'],
    summary: 'Delete a user policy',
    response: z.void(),
    async handler({ services, tenant, params, audit }) {
      const p = await services.policyService.get(tenant.id, params.policy);
      await services.policyService.delete(tenant.id, p.id);
      await audit('admin.policy.deleted', p.id, { name: p.name });
    },
  }),
  route({
    id: 'getUserPolicy',
    method: 'get',
    path: '/tenants/:slug/users/:user/policy',
    tag: 'policies',
    access: ['admin', 'helpdesk'],
    summary: 'The policy that applies to a user (null: the defaults), and its settings',
    response: z.object({ policy: policySchema.nullable(), settings: policySettings }),
    async handler({ services, tenant, params }) {
      const user = await findUser(services, tenant.id, params.user);
      const p = await services.policyService.effective(user);
      return p ? { policy: await view(services, tenant, p), settings: p.settings } : { policy: null, settings: await services.policyService.settingsFor(user) };
    },
  }),
];
