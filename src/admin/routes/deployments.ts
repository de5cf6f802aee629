// Deployment of an application profile: who may use it ("Deploy this application?"): all
// users and groups, or chosen domains, OUs, groups and users. Administrators deploy.
import { z } from 'zod';
import { version } from '../schemas.ts';
import { appSchema, appView } from './apps.ts';
import { route } from '../route.ts';

const target = z.object({
  type: z.enum(['user', 'group', 'ou', 'domain']),
  ref: z.string().min(1).max(500).describe('an email or user id, a group name or id, an OU path or id, a domain'),
});

export const deploymentRoutes = [
  route({
    id: 'setDeployment',
    method: 'put',
    path: '/tenants/:slug/apps/:clientId/deployment',
    tag: 'deployments',
    access: ['admin'],
    versioned: true,
    summary: 'Replace the deployment: all users and groups, or these targets',
    description: "Takes effect at the next authorization. The version is the application profile's.",
    body: z.object({ all: z.boolean(), targets: z.array(target).max(1000).default([]), version }),
    example: {
      all: false,
      targets: [
        { type: 'group', ref: 'Nurses' },
        { type: 'user', ref: 'pilot@example.com' },
      ],
    },
    response: appSchema,
    async handler({ services, tenant, params, body, version: v, audit }) {
      const a = await services.appStore.get(tenant.id, params.clientId);
      const resolved = [];
      for (const t of body.targets) resolved.push(await services.appService.resolveTarget(tenant.id, t.type, t.ref));
      // The profile's version moves first: a stale edit is refused (409) before anything changed.
      const updated = await services.appStore.update(tenant.id, a.clientId, v, { deployAll: body.all });
      await services.appStore.clearTargets(a.id);
      for (const t of resolved) await services.appStore.addTarget(tenant.id, a.id, t);
      await audit('admin.app.deployment_set', a.clientId, { all: body.all, targets: body.targets }, { clientId: a.clientId });
      return appView(services, tenant, updated);
    },
  }),
  route({
    id: 'addDeploymentTarget',
    method: 'post',
    path: '/tenants/:slug/apps/:clientId/deployment/targets',
    tag: 'deployments',
    access: ['admin'],
    summary: 'Add one target to the deployment, or { all: true }',
    body: z.union([z.object({ all: z.literal(true) }), target]),
    example: { type: 'user', ref: 'pilot@example.com' },
    response: appSchema,
    async handler({ services, tenant, params, body, audit }) {
      const a = await services.appStore.get(tenant.id, params.clientId);
      if ('all' in body) await services.appStore.update(tenant.id, a.clientId, undefined, { deployAll: true });
      else await services.appStore.addTarget(tenant.id, a.id, await services.appService.resolveTarget(tenant.id, body.type, body.ref));
      await audit('admin.app.deployed', a.clientId, body, { clientId: a.clientId });
      return appView(services, tenant, await services.appStore.get(tenant.id, a.clientId));
    },
  }),
  route({
    id: 'undeployApp',
    method: 'delete',
    path: '/tenants/:slug/apps/:clientId/deployment',
    tag: 'deployments',
    access: ['admin'],
    summary: 'Undeploy: nobody may sign in to the application from the next authorization on',
    response: appSchema,
    async handler({ services, tenant, params, audit }) {
      const a = await services.appStore.get(tenant.id, params.clientId);
      await services.appStore.clearTargets(a.id);
      const updated = await services.appStore.update(tenant.id, a.clientId, undefined, { deployAll: false });
      await audit('admin.app.undeployed', a.clientId, {}, { clientId: a.clientId });
      return appView(services, tenant, updated);
    },
  }),
];
