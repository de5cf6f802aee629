// Routes each engine model to its store: short-lived artifacts to Redis when configured,
// everything durable (grants, refresh tokens, anything not listed) to SQL so nothing
// acknowledged is lost, and clients to application profiles (through overrides).
import type { Kysely } from 'kysely';
import type { Redis } from 'ioredis';
import type { Adapter } from 'oidc-provider';
import type { DB } from '../../storage/schema.ts';
import { NOT_STORED_MODELS, refusingAdapter, sqlAdapterFactory, type AdapterOverrides, type Clock, type ModelAdapterFactory } from './sql.ts';
import { redisAdapterFactory } from './redis.ts';
import { forEngine, outageAware } from '../../shared/outage.ts';
import type { TokenHasher } from '../../shared/crypto.ts';
import { hashedAdapter } from './hashed.ts';

export { purgeExpired, sqlAdapterFactory, type AdapterOverrides, type ModelAdapterFactory } from './sql.ts';
export { redisAdapterFactory } from './redis.ts';

/** Models that live minutes to hours: kept in Redis when one is configured. */
export const SHORT_LIVED_MODELS: ReadonlySet<string> = new Set([
  'Session',
  'Interaction',
  'AuthorizationCode',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PushedAuthorizationRequest',
  'ReplayDetection',
  'AccessToken',
  'ClientCredentials',
]);

export const DEFAULT_REDIS_PREFIX = 'gh:';

export interface AdapterFactoryOptions {
  db: Kysely<DB>;
  tenantId: string;
  redis?: Redis;
  redisPrefix?: string;
  overrides?: AdapterOverrides;
  /** Hashes the stored keys and seals the payloads of every stored model (see hashed.ts). */
  tokens: TokenHasher;
  /** Clock for the SQL store (Redis expires keys by its own clock). */
  now?: Clock;
}

/**
 * The engine's `adapter` option for one tenant. With a Redis client, SHORT_LIVED_MODELS go
 * to Redis and the rest to SQL; without one, everything goes to SQL. Either way the stores
 * keep only hashes of tokens, codes and session ids, and sealed payloads (hashed.ts);
 * overrides (clients) are not artifacts and are passed through as they are.
 *
 * A grant's artifacts may then sit in both stores (access tokens and codes in Redis, refresh
 * tokens in SQL), and the engine revokes a grant by calling revokeByGrantId on some models
 * only (which ones depends on the client's grant types). So revokeByGrantId on any model
 * revokes the grant's artifacts in both stores.
 */
export function adapterFactory(opts: AdapterFactoryOptions): ModelAdapterFactory {
  const { tenantId, overrides, tokens } = opts;
  const sql = sqlAdapterFactory(opts.db, tenantId, undefined, opts.now);
  const redis = opts.redis ? redisAdapterFactory(opts.redis, opts.redisPrefix ?? DEFAULT_REDIS_PREFIX, tenantId) : undefined;
  return (model: string): Adapter => outageGuard(route(model));
  function route(model: string): Adapter {
    const override = overrides && Object.hasOwn(overrides, model) ? overrides[model] : undefined;
    if (override) return override(tenantId);
    if (NOT_STORED_MODELS.has(model)) return refusingAdapter(model);
    if (!redis) return hashedAdapter(sql(model), tokens);
    const shortLived = SHORT_LIVED_MODELS.has(model);
    const primary = shortLived ? redis(model) : sql(model);
    const secondary = shortLived ? sql(model) : redis(model);
    return hashedAdapter(
      {
        upsert: (id, payload, expiresIn) => primary.upsert(id, payload, expiresIn),
        find: (id) => primary.find(id),
        findByUid: (uid) => primary.findByUid(uid),
        findByUserCode: (userCode) => primary.findByUserCode(userCode),
        consume: (id) => primary.consume(id),
        destroy: (id) => primary.destroy(id),
        revokeByGrantId: async (grantId) => {
          await Promise.all([primary.revokeByGrantId(grantId), secondary.revokeByGrantId(grantId)]);
        },
      },
      tokens,
    );
  }
}

/** A store that does not answer makes the engine answer 503 temporarily_unavailable, not 500. */
function outageGuard(a: Adapter): Adapter {
  return {
    upsert: (id, payload, expiresIn) => outageAware(a.upsert(id, payload, expiresIn), forEngine),
    find: (id) => outageAware(a.find(id), forEngine),
    findByUid: (uid) => outageAware(a.findByUid(uid), forEngine),
    findByUserCode: (userCode) => outageAware(a.findByUserCode(userCode), forEngine),
    consume: (id) => outageAware(a.consume(id), forEngine),
    destroy: (id) => outageAware(a.destroy(id), forEngine),
    revokeByGrantId: (grantId) => outageAware(a.revokeByGrantId(grantId), forEngine),
  };
}
