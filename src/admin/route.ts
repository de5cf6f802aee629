// Admin API routes are declared once: method, path, who may call it, the zod schemas of the
// input (path, query, body) and of the answer, and a handler. registerRoutes() turns the
// declarations into @koa/router routes that enforce all of it; openapi.ts turns the same
// declarations into the OpenAPI document; test/admin-routes.test.ts walks that document.
// Handlers hold HTTP only: rules live in the domains, SQL in src/storage.
import type Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import type { Services } from '../services.ts';
import type { AdminRole } from '../storage/users.ts';
import type { Tenant } from '../storage/tenants.ts';
import { SLUG_RE } from '../storage/tenants.ts';
import { GatehouseError, invalid } from '../shared/errors.ts';
import { textProblems } from '../shared/input.ts';
import { authenticate, authorize, type Admin } from './auth.ts';
import { isInstanceAdmin } from './roles.ts';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Who may call a route. A list of roles: administrators of the tenant in the path (`:slug`)
 * holding one of them, and superadmins (who may do everything). 'instance': superadmins of the
 * default tenant (they administer every tenant). 'signed-in': any administrator. 'public': anyone.
 */
export type Access = 'public' | 'signed-in' | 'instance' | readonly AdminRole[];

/** The `:name` parameters of a path. */
type PathParams<S extends string> = S extends `${string}:${infer P}/${infer Rest}` ? P | PathParams<`/${Rest}`> : S extends `${string}:${infer P}` ? P : never;

type AnyObject = z.ZodObject<z.ZodRawShape>;
type NoBody = z.ZodUndefined;
type NoContent = z.ZodVoid;

interface Input<Path extends string, P extends AnyObject, Q extends AnyObject, B extends z.ZodType> {
  services: Services;
  koa: Koa.Context;
  params: Record<PathParams<Path>, string> & z.output<P>;
  query: z.output<Q>;
  body: z.output<B>;
}

export interface AdminCall<Path extends string, P extends AnyObject, Q extends AnyObject, B extends z.ZodType> extends Input<Path, P, Q, B> {
  admin: Admin;
  /** The tenant acted on: the one in the path, else the administrator's own. */
  tenant: Tenant;
  /** Versioned routes: the version the caller last saw (If-Match, else the body's "version"); undefined means unchecked. */
  version: number | undefined;
  /** Routes declared `accepted`: answer 202 Accepted (work goes on) instead of the declared status. */
  accepted(): void;
  /** Record the change as an audit event naming the administrator. */
  audit(type: string, subject: string | null, data?: Record<string, unknown>, about?: { userId?: string | null; clientId?: string | null }): Promise<void>;
}

/** A file to download (exports) instead of a JSON answer. */
export class Download {
  readonly filename: string;
  readonly contentType: string;
  readonly body: string | AsyncIterable<string>;
  constructor(filename: string, contentType: string, body: string | AsyncIterable<string>) {
    this.filename = filename;
    this.contentType = contentType;
    this.body = body;
  }
}

type Answer<R extends z.ZodType> = R extends NoContent ? void : z.input<R>;

export interface RouteDef<A extends Access, Path extends string, P extends AnyObject, Q extends AnyObject, B extends z.ZodType, R extends z.ZodType> {
  /** operationId in the OpenAPI document, such as listUsers. */
  id: string;
  method: Method;
  path: Path;
  /** OpenAPI tag: the resource. */
  tag: string;
  summary: string;
  description?: string;
  access: A;
  /** Path parameters that need more than "a non-empty string" (`:slug` is always checked). */
  params?: P;
  query?: Q;
  body?: B;
  /** A valid body, shown in the document and used by the API tests. */
  example?: z.input<B>;
  /** The answer's schema; z.void() for 204 No Content. */
  response: R;
  status?: 200 | 201;
  /** The route may also answer 202 Accepted, with the same schema (call.accepted()). */
  accepted?: true;
  /**
   * The route edits a versioned record: it takes If-Match or "version", and answers 409
   * version_conflict when that version is stale. Its body must have a "version" field.
   */
  versioned?: true;
  /** The route answers with a file in these formats (a Download); `response` is then one item of it. */
  download?: ReadonlyArray<'csv' | 'json'>;
  handler(call: A extends 'public' ? Input<Path, P, Q, B> : AdminCall<Path, P, Q, B>): Promise<Answer<R> | Download>;
}

// The registry erases the generics: each route was type-checked where it was declared.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
// biome-ignore lint/suspicious/noExplicitAny: a list of routes with different input types; each is checked where declared
export type AnyRoute = RouteDef<Access, string, AnyObject, AnyObject, z.ZodType, z.ZodType> & { handler(call: any): Promise<unknown> };

export const noBody = z.undefined();

/** Declare a route (an identity function that gives the handler its types). */
export function route<
  const A extends Access,
  const Path extends string,
  P extends AnyObject = z.ZodObject<{}>,
  Q extends AnyObject = z.ZodObject<{}>,
  B extends z.ZodType = NoBody,
  R extends z.ZodType = NoContent,
>(def: RouteDef<A, Path, P, Q, B, R>): AnyRoute {
  return def as unknown as AnyRoute;
}

const noQuery = z.object({});
const slugParam = z.string().regex(SLUG_RE, 'must be a tenant slug: lowercase letters, digits and hyphens');
const pathParam = z.string().min(1).max(500);

export const pathParamNames = (path: string) => [...path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);

/** The full path-parameter schema of a route: every `:name` of the path, checked. */
export function paramsSchema(r: AnyRoute): AnyObject {
  const shape = Object.fromEntries(pathParamNames(r.path).map((name) => [name, name === 'slug' ? slugParam : pathParam]));
  return z.object({ ...shape, ...(r.params?.shape ?? {}) });
}

/** Parse input; a refusal names each field and what is wrong with it. */
export function parseInput<T extends z.ZodType>(schema: T, data: unknown, where: string): z.output<T> {
  // Control characters and invalid UTF-8 are refused in every string, whatever the field.
  const bad = textProblems(data).map((p) => ({ field: p.field || `(${where})`, in: where, message: p.message }));
  if (bad.length) throw invalid(`Invalid input: ${bad.map((p) => `${p.field}: ${p.message}`).join('; ')}.`, { problems: bad });
  const r = schema.safeParse(data);
  if (!r.success) {
    const problems = r.error.issues.map((i) => ({ field: i.path.join('.') || `(${where})`, in: where, message: i.message }));
    throw invalid(`Invalid input: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}.`, { problems });
  }
  return r.data;
}

function checkDeclarations(routes: AnyRoute[]): void {
  const ids = new Set<string>();
  for (const r of routes) {
    const where = `${r.method.toUpperCase()} ${r.path}`;
    if (ids.has(r.id)) throw new Error(`Admin route ${where}: operation id ${r.id} is used twice.`);
    ids.add(r.id);
    if (Array.isArray(r.access) && !pathParamNames(r.path).includes('slug'))
      throw new Error(`Admin route ${where}: role-based access needs the tenant in the path (:slug).`);
    if (r.versioned && !(r.body instanceof z.ZodObject && 'version' in r.body.shape))
      throw new Error(`Admin route ${where}: a versioned route's body needs a "version" field.`);
    for (const name of Object.keys(r.params?.shape ?? {}))
      if (!pathParamNames(r.path).includes(name)) throw new Error(`Admin route ${where}: parameter ${name} is not in the path.`);
  }
}

/** If-Match: "3" (or 3, or W/"3"), else the body's version. */
function expectedVersion(koa: Koa.Context, body: unknown): number | undefined {
  const h = koa.get('if-match').trim();
  if (h) {
    const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(h);
    if (!m) throw invalid('If-Match must be the record\'s version, like "3" (from its "version" field or ETag).');
    return Number(m[1]);
  }
  const v = (body as { version?: unknown } | undefined)?.version;
  return typeof v === 'number' ? v : undefined;
}

async function access(services: Services, r: AnyRoute, admin: Admin, slug: string | undefined, ip: string): Promise<Tenant> {
  try {
    if (r.access === 'instance' && !isInstanceAdmin(admin)) {
      throw new GatehouseError(403, 'forbidden', 'Only a superadministrator of the default tenant may do this. It needs: superadmin of the default tenant.', {
        needs: 'superadmin of the default tenant',
      });
    }
    if (Array.isArray(r.access)) return await authorize(services, admin, slug!, [...r.access]);
  } catch (e) {
    // A refused call is recorded (warn) in the caller's own tenant, where their administrators look.
    if (e instanceof GatehouseError && e.status === 403) {
      await services.auditStore.record({
        tenantId: admin.tenantId,
        type: 'admin.denied',
        level: 'warn',
        actor: admin.email,
        ip,
        data: {
          action: r.id,
          ...(slug !== undefined && { tenant: slug }),
          needs: (e.details as { needs?: string } | undefined)?.needs ?? null,
          actorRoles: admin.roles,
        },
      });
    }
    throw e;
  }
  const own = await services.tenantStore.bySlug(admin.tenantSlug);
  if (!own) throw new GatehouseError(401, 'unauthorized', 'The access token names an unknown tenant.');
  return own;
}

async function handle(services: Services, r: AnyRoute, pathSchema: AnyObject, koa: Koa.Context & { params: Record<string, string> }): Promise<void> {
  const admin = r.access === 'public' ? undefined : await authenticate(services, koa);
  const params = parseInput(pathSchema, koa.params, 'path');
  const tenant = admin ? await access(services, r, admin, params.slug as string | undefined, koa.ip) : undefined;
  const query = parseInput(r.query ?? noQuery, koa.query, 'query');
  const body = r.body ? parseInput(r.body, koa.request.body ?? {}, 'body') : undefined;
  let accepted = false;
  const call = {
    services,
    koa,
    params,
    query,
    body,
    admin,
    tenant,
    accepted: () => {
      if (!r.accepted) throw new Error(`${r.method.toUpperCase()} ${r.path} is not declared "accepted"`);
      accepted = true;
    },
    version: r.versioned ? expectedVersion(koa, body) : undefined,
    audit: (type: string, subject: string | null, data: Record<string, unknown> = {}, about: { userId?: string | null; clientId?: string | null } = {}) =>
      services.auditStore.record({
        tenantId: tenant?.id ?? null,
        type,
        actor: admin?.email ?? null,
        subject,
        data,
        ip: koa.ip,
        userId: about.userId,
        clientId: about.clientId,
      }),
  };
  const result = await r.handler(call);

  if (result instanceof Download) {
    koa.type = result.contentType;
    koa.attachment(result.filename);
    koa.set('Cache-Control', 'no-store');
    koa.body = typeof result.body === 'string' ? result.body : (await import('node:stream')).Readable.from(result.body);
    return;
  }
  if (r.response instanceof z.ZodVoid) {
    koa.status = 204;
    return;
  }
  const checked = r.response.safeParse(result);
  if (!checked.success) {
    // The answer is not what the document promises: a bug. Logged always; refused (500) where
    // answers are checked strictly (tests), so that it is caught before it ships.
    services.logger.error(
      { route: `${r.method.toUpperCase()} ${r.path}`, problems: checked.error.issues.slice(0, 10) },
      'admin API answer does not match its schema',
    );
    if (services.config.strictApiResponses)
      throw new Error(`The answer of ${r.method.toUpperCase()} ${r.path} does not match its schema: ${checked.error.message}`);
    koa.body = result;
  } else {
    // Fields the schema does not list are dropped: the document is exactly what is sent.
    koa.body = checked.data;
  }
  koa.status = accepted ? 202 : (r.status ?? 200);
  const version = (koa.body as { version?: unknown })?.version;
  if (typeof version === 'number' && r.method !== 'delete') koa.set('ETag', `"${version}"`);
}

export function registerRoutes(services: Services, router: Router, routes: AnyRoute[]): void {
  checkDeclarations(routes);
  for (const r of routes) {
    const pathSchema = paramsSchema(r);
    router[r.method](r.path, (koa) => handle(services, r, pathSchema, koa as unknown as Koa.Context & { params: Record<string, string> }));
  }
}
