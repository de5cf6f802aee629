// Signing keys and their certificates; rotation (superadmins).
import { z } from 'zod';
import { changedKeys, EXPIRY_WARNING_DAYS, type KeyInfo } from '../../keys/keys.ts';
import { pageInMemory } from '../../storage/paging.ts';
import { listQuery, page } from '../schemas.ts';
import { route } from '../route.ts';
import { epochMs, signingKey } from '../shapes.ts';

// The warning period is the keys' rule (keys/keys.ts): said here, where the schema is published.
export const keySchema = signingKey.extend({
  expiresSoon: signingKey.shape.expiresSoon.describe(`the certificate expires within ${EXPIRY_WARNING_DAYS} days: rotate`),
});

const STATUS_ORDER = { active: 0, next: 1, retired: 2 } as const;
// Grows along the list's order (status, algorithm, newest first): the page cursor.
const orderKey = (k: KeyInfo) => `${STATUS_ORDER[k.status]}|${k.alg}|${String(Number.MAX_SAFE_INTEGER - k.createdAt).padStart(16, '0')}|${k.kid}`;

export const keyRoutes = [
  route({
    id: 'listKeys',
    method: 'get',
    path: '/tenants/:slug/keys',
    tag: 'keys',
    access: ['admin', 'auditor'],
    summary: 'Signing keys (signing order first) with algorithm, status and certificate expiry; search matches the key ID, algorithm or status',
    query: listQuery,
    response: page(keySchema),
    async handler({ services, tenant, query }) {
      return pageInMemory(await services.keyService.list(tenant.id), query, orderKey, (k) => [k.kid, k.alg, k.status]);
    },
  }),
  route({
    id: 'rotateKeys',
    method: 'post',
    path: '/tenants/:slug/keys/rotate',
    tag: 'keys',
    access: [],
    summary:
      'Rotate: the published next key starts signing as soon as it has been published long enough (GATEHOUSE_KEY_PUBLISH_DAYS), the active one retires, a new next key is published; a next key too old to be worth activating is first replaced by a fresh one. With now: at once, 409 if the key was published too recently, unless force',
    body: z
      .object({
        alg: z.enum(['RS256', 'ES256']).optional().describe('default: both'),
        now: z
          .boolean()
          .optional()
          .describe(
            'rotate at once instead of when it is safe; refused (409) if the key that would sign was published less than GATEHOUSE_KEY_PUBLISH_DAYS ago',
          ),
        force: z
          .boolean()
          .optional()
          .describe('with now: rotate at once even so (relying parties with an older cached JWKS reject the new tokens until they refetch it)'),
      })
      .refine((b) => !b.force || b.now, { message: 'force only goes with now: true', path: ['force'] }),
    example: { alg: 'ES256' },
    response: z.object({
      activated: z.array(z.string()).describe('keys that started signing'),
      retired: z.array(z.string()),
      created: z.array(z.string()).describe('new next keys published'),
      removed: z.array(z.string()).describe('next keys deleted unused: too old to be worth activating'),
      scheduled: z
        .array(z.object({ kid: z.string(), alg: z.enum(['RS256', 'ES256']), activatesAt: epochMs }))
        .describe('next keys that start signing later, by themselves'),
    }),
    async handler({ services, tenant, body, audit }) {
      const result = await services.keyService.rotate(tenant.id, body.alg, body.force ? 'force' : body.now ? 'now' : 'safe');
      if (changedKeys(result)) services.engineCache.invalidate(tenant.slug);
      await audit('admin.keys.rotated', null, {
        ...result,
        scheduled: result.scheduled.map((s) => ({ ...s, activatesAt: new Date(s.activatesAt).toISOString() })),
        mode: body.force ? 'force' : body.now ? 'now' : 'safe',
      });
      return result;
    },
  }),
];
