// The admin REST API, /api/v1: one route file per resource.
import Router from '@koa/router';
import type { Context } from '../context.ts';
import { authRoutes } from './routes/auth.ts';
import { tenantRoutes } from './routes/tenants.ts';
import { directoryRoutes } from './routes/directory.ts';
import { appRoutes } from './routes/apps.ts';
import { keyRoutes } from './routes/keys.ts';
import { auditRoutes } from './routes/audit.ts';
import { upstreamRoutes } from './routes/upstreams.ts';
import { policyRoutes } from './routes/policies.ts';
import { ldapRoutes } from './routes/ldap.ts';

export function adminRouter(app: Context): Router {
  const r = new Router({ prefix: '/api/v1' });
  authRoutes(app, r);
  tenantRoutes(app, r);
  directoryRoutes(app, r);
  appRoutes(app, r);
  keyRoutes(app, r);
  auditRoutes(app, r);
  upstreamRoutes(app, r);
  policyRoutes(app, r);
  ldapRoutes(app, r);
  return r;
}
