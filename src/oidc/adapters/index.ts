// Routes each engine model to its store: short-lived artifacts to Redis when configured,
// everything durable (grants, refresh tokens) to SQL, clients to application profiles.
import type { Kysely } from 'kysely';
import type { Redis } from 'ioredis';
import type { DB } from '../../storage/schema.ts';
import { SqlAdapter } from './sql.ts';

export const SHORT_LIVED_MODELS = new Set(['Session', 'Interaction', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PushedAuthorizationRequest', 'ReplayDetection', 'AccessToken', 'ClientCredentials']);

export function adapterFactory(opts: { db: Kysely<DB>; tenantId: string; redis?: Redis; redisPrefix?: string; overrides?: Record<string, () => unknown> }) {
  return (model: string) => {
    const override = opts.overrides?.[model];
    if (override) return override();
    return new SqlAdapter(opts.db, opts.tenantId, model);
  };
}
