// Shared pieces of admin route files in the earlier style (a function adding routes to the
// router): input parsing, the caller, and audit of changes. New route files declare their
// routes with route.ts instead; this stays until every route file is converted.
import type Koa from 'koa';
import { z } from 'zod';
import type { Services } from '../services.ts';
import type { AdminRole } from '../storage/users.ts';
import { invalid } from '../shared/errors.ts';
import { authenticate, authorize, type Admin } from './auth.ts';

export type Ctx = Koa.ParameterizedContext<Koa.DefaultState, Koa.DefaultContext & { params: Record<string, string> }>;

export function parse<T extends z.ZodType>(schema: T, data: unknown): z.infer<T> {
  const r = schema.safeParse(data ?? {});
  if (!r.success) {
    const problems = r.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
    throw invalid(`Invalid input: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}.`, { problems });
  }
  return r.data;
}

/** Authenticate the caller and authorize them for the tenant in the path. */
export async function guard(services: Pick<Services, 'config' | 'keyService' | 'tenantStore' | 'userStore'>, ctx: Ctx, roles: AdminRole[]) {
  const admin = await authenticate(services, ctx);
  const tenant = await authorize(services, admin, ctx.params.slug!, roles);
  return { admin, tenant };
}

export async function audited(
  services: Pick<Services, 'auditStore'>,
  admin: Admin,
  tenantId: string | null,
  type: string,
  subject: string | null,
  data: Record<string, unknown>,
  ip?: string,
) {
  await services.auditStore.record({ tenantId, type, actor: admin.email, subject, data, ip: ip ?? null });
}

/** Optimistic concurrency: the version from If-Match or the body's "version". */
export function expectedVersion(ctx: Ctx, body: { version?: number }): number | undefined {
  const h = ctx.get('if-match').replace(/"/g, '');
  if (h && /^\d+$/.test(h)) return Number(h);
  return body.version;
}

export const listQuery = z.object({
  search: z.string().max(200).optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});
