// The admin REST API, /api/v1: one route file per resource, each a list of route
// declarations (route.ts), registered here and described by GET /api/v1/openapi.json.
import Router from '@koa/router';
import { z } from 'zod';
import type { Services } from '../services.ts';
import { registerRoutes, route, type AnyRoute } from './route.ts';
import { openApiDocument } from './openapi.ts';
import { authRoutes } from './routes/auth.ts';
import { meRoutes } from './routes/me.ts';
import { tenantRoutes } from './routes/tenants.ts';
import { brandingRoutes } from './routes/branding.ts';
import { overviewRoutes } from './routes/overview.ts';
import { userRoutes } from './routes/users.ts';
import { userMfaRoutes } from './routes/user-mfa.ts';
import { groupRoutes } from './routes/groups.ts';
import { ouRoutes } from './routes/ous.ts';
import { domainRoutes } from './routes/domains.ts';
import { appRoutes } from './routes/apps.ts';
import { deploymentRoutes } from './routes/deployments.ts';
import { metadataRoutes } from './routes/metadata.ts';
import { keyRoutes } from './routes/keys.ts';
import { auditRoutes } from './routes/audit.ts';
import { upstreamRoutes } from './routes/upstreams.ts';
import { policyRoutes } from './routes/policies.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { deviceRoutes } from './routes/devices.ts';
import { directoryRoutes } from './routes/directories.ts';
import { connectorRoutes } from './routes/connectors.ts';
import { workstationRoutes } from './routes/workstations.ts';
import { kerberosRoutes } from './routes/kerberos.ts';
import { instanceRoutes } from './routes/instance.ts';
import { selfServiceRoutes } from './routes/self-service.ts';

/** Route files in the earlier style (a function that adds routes to the router), until converted. */
type LegacyRoutes = (services: Services, r: Router) => void;
const legacy: LegacyRoutes[] = [];

const resources: AnyRoute[] = [
  ...authRoutes,
  ...meRoutes,
  ...tenantRoutes,
  ...brandingRoutes,
  ...overviewRoutes,
  ...userRoutes,
  ...userMfaRoutes,
  ...sessionRoutes,
  ...deviceRoutes,
  ...groupRoutes,
  ...ouRoutes,
  ...domainRoutes,
  ...appRoutes,
  ...deploymentRoutes,
  ...metadataRoutes,
  ...keyRoutes,
  ...auditRoutes,
  ...upstreamRoutes,
  ...policyRoutes,
  ...directoryRoutes,
  ...connectorRoutes,
  ...workstationRoutes,
  ...kerberosRoutes,
  ...instanceRoutes,
  ...selfServiceRoutes,
];

let document: Record<string, unknown> | undefined;
const openApiRoute = route({
  id: 'getOpenApi',
  method: 'get',
  path: '/openapi.json',
  tag: 'meta',
  access: 'public',
  summary: 'This document: OpenAPI 3.1, generated from the schemas that check every request and answer',
  response: z.looseObject({ openapi: z.literal('3.1.0'), paths: z.record(z.string(), z.unknown()) }),
  async handler({ services }) {
    return (document ??= openApiDocument(services, adminRoutes)) as { openapi: '3.1.0'; paths: Record<string, unknown> };
  },
});

/** Every declared route of the admin API. */
export const adminRoutes: AnyRoute[] = [openApiRoute, ...resources];

export function adminRouter(services: Services): Router {
  const r = new Router({ prefix: '/api/v1' });
  registerRoutes(services, r, adminRoutes);
  for (const add of legacy) add(services, r);
  return r;
}
