// The OpenAPI 3.1 document of the admin API, generated from the route declarations: the same
// zod schemas that check every request and answer (route.ts). Built on its first request.
import { z } from 'zod';
import type { Services } from '../services.ts';
import { paramsSchema, pathParamNames, type AnyRoute } from './route.ts';
import { ADMIN_TOKEN_TTL_SECONDS } from './auth.ts';

type Json = Record<string, unknown>;

const jsonSchema = (s: z.ZodType, io: 'input' | 'output'): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any', reused: 'inline' }) as Json;
  return rest;
};

export const errorSchema = z.object({
  error: z.object({
    code: z
      .string()
      .describe(
        'stable, machine-readable: invalid_request, invalid_body, unauthorized, forbidden, not_found, conflict, version_conflict, invalid_credentials, throttled, payload_too_large, unsupported_media_type, temporarily_unavailable (503), server_error',
      ),
    message: z.string().describe('what happened and what to do next, for a person'),
    details: z.unknown().optional().describe('invalid_request: { problems: [{ field, in, message }] }'),
  }),
});

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

/** The roles a route allows (superadmin always), as the document and the tests read them. */
export function allowedRoles(r: AnyRoute): string[] {
  if (r.access === 'public') return [];
  if (r.access === 'instance') return ['superadmin'];
  if (r.access === 'signed-in') return ['superadmin', 'admin', 'helpdesk', 'auditor'];
  return ['superadmin', ...r.access];
}

function accessText(r: AnyRoute): string {
  if (r.access === 'public') return 'No token needed.';
  if (r.access === 'instance') return 'Roles: superadmin of the default tenant.';
  if (r.access === 'signed-in') return 'Roles: any administrator.';
  return `Roles: ${allowedRoles(r).join(', ')}.`;
}

function operation(r: AnyRoute): Json {
  const path = paramsSchema(r);
  const parameters: Json[] = pathParamNames(r.path).map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: jsonSchema(path.shape[name] as z.ZodType, 'input'),
  }));
  for (const [name, s] of Object.entries(r.query?.shape ?? {})) {
    const schema = jsonSchema(s as z.ZodType, 'input');
    parameters.push({
      name,
      in: 'query',
      required: !(s as z.ZodType).safeParse(undefined).success,
      schema,
      ...(schema.description ? { description: schema.description } : {}),
    });
  }
  if (r.versioned)
    parameters.push({
      name: 'If-Match',
      in: 'header',
      required: false,
      schema: { type: 'string' },
      description: 'The version you last saw ("3"); a stale one is refused with 409 version_conflict. Or send "version" in the body.',
    });

  const status = String(r.response instanceof z.ZodVoid ? 204 : (r.status ?? 200));
  const content: Json = {};
  if (r.download) {
    if (r.download.includes('csv')) content['text/csv'] = { schema: { type: 'string' } };
    if (r.download.includes('json')) content['application/json'] = { schema: { type: 'array', items: jsonSchema(r.response, 'output') } };
  } else if (!(r.response instanceof z.ZodVoid)) content['application/json'] = { schema: jsonSchema(r.response, 'output') };

  const responses: Json = {
    [status]: { description: status === '204' ? 'Done; no content.' : r.download ? 'The file.' : 'OK', ...(Object.keys(content).length ? { content } : {}) },
  };
  if (r.accepted) responses['202'] = { description: 'Accepted: the work goes on; the answer says where it stands.', content };
  if (r.body || r.query || r.params || pathParamNames(r.path).length)
    responses['400'] = errorResponse('Invalid input (invalid_request, invalid_body): details.problems names each field.');
  if (r.access !== 'public') {
    responses['401'] = errorResponse('No valid admin access token (unauthorized).');
    responses['403'] = errorResponse("The token's roles do not allow this (forbidden).");
  }
  if (pathParamNames(r.path).length) responses['404'] = errorResponse('Not found (not_found).');
  if (r.method !== 'get')
    responses['409'] = errorResponse(
      r.versioned
        ? 'The record changed since you read it (version_conflict), or the change clashes with another record (conflict).'
        : 'The change clashes with another record (conflict).',
    );

  return {
    operationId: r.id,
    tags: [r.tag],
    summary: r.summary,
    description: [r.description, accessText(r)].filter(Boolean).join('\n\n'),
    ...(r.access === 'public' ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(r.body
      ? {
          requestBody: {
            required: !r.body.safeParse(undefined).success,
            content: { 'application/json': { schema: jsonSchema(r.body, 'input'), ...(r.example !== undefined ? { example: r.example } : {}) } },
          },
        }
      : {}),
    responses,
    'x-gatehouse-access': Array.isArray(r.access) ? 'tenant' : r.access,
    'x-gatehouse-roles': allowedRoles(r),
    ...(r.versioned ? { 'x-gatehouse-versioned': true } : {}),
  };
}

export function openApiDocument(services: Services, routes: AnyRoute[]): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const p = r.path.replace(/:([A-Za-z]+)/g, '{$1}');
    (paths[p] ??= {})[r.method] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse admin API',
      version: '1',
      description:
        'Administer Gatehouse: tenants, users, groups, OUs, application profiles and their deployment, keys, sessions, audit. ' +
        'Every input and answer is checked against the schemas below. See docs/admin-api.md.',
    },
    servers: [{ url: `${services.config.publicUrl}/api/v1` }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: `An admin access token (audience ${services.config.publicUrl}/api): from POST /auth/token (valid ${ADMIN_TOKEN_TTL_SECONDS / 60} minutes), or issued by the tenant to the admin console.`,
        },
      },
      schemas: { Error: jsonSchema(errorSchema, 'output') },
    },
    paths,
  };
}
