// oidc-provider artifacts in Redis, scoped to one tenant: for the short-lived models, whose
// expiry Redis enforces by itself (the TTL is the artifact's expiresIn).
//
// Keys (T = the tenant id, URI-encoded so it cannot contain ':'):
//   <prefix>T:m:<Model>:<id>          hash { p: payload JSON, i: id, consumed?: epoch s,
//                                            g/u/c: names of the index keys below }
//   <prefix>T:grant:<grantId>         set of artifact keys of that grant (TTL = the longest member's)
//   <prefix>T:uid:<Model>:<uid>       string -> id
//   <prefix>T:userCode:<Model>:<code> string -> id
// Every write is one Lua script, so an artifact and its indexes change together, and
// consumption keeps the artifact's remaining TTL.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { NOT_STORED_MODELS, refusingAdapter, type ModelAdapterFactory } from './sql.ts';

// KEYS[1] artifact, KEYS[2..] index keys named by the letters of ARGV[5] (g grant set, u uid, c userCode).
// ARGV: payload, ttl ms ('' = none), consumed ('' = none), id, roles.
const UPSERT = `
local key, id = KEYS[1], ARGV[4]
local ttl = tonumber(ARGV[2])
local roles = ARGV[5]
local new = {}
for i = 1, #roles do new[string.sub(roles, i, i)] = KEYS[i + 1] end
local old = redis.call('HMGET', key, 'g', 'u', 'c')
if old[1] and old[1] ~= new.g then redis.call('SREM', old[1], key) end
if old[2] and old[2] ~= new.u and redis.call('GET', old[2]) == id then redis.call('DEL', old[2]) end
if old[3] and old[3] ~= new.c and redis.call('GET', old[3]) == id then redis.call('DEL', old[3]) end
redis.call('HDEL', key, 'g', 'u', 'c')
redis.call('HSET', key, 'p', ARGV[1], 'i', id)
if ARGV[3] ~= '' then redis.call('HSETNX', key, 'consumed', ARGV[3]) end
if ttl then redis.call('PEXPIRE', key, ttl) else redis.call('PERSIST', key) end
for role, k in pairs(new) do
  redis.call('HSET', key, role, k)
  if role == 'g' then
    local current = redis.call('PTTL', k)
    redis.call('SADD', k, key)
    if not ttl then redis.call('PERSIST', k)
    elseif current == -2 or (current >= 0 and current < ttl) then redis.call('PEXPIRE', k, ttl) end
  elseif ttl then
    redis.call('SET', k, id, 'PX', ttl)
  else
    redis.call('SET', k, id)
  end
end
return 1
`;

// KEYS[1] artifact; ARGV[1] epoch seconds. HSETNX on an existing hash keeps its TTL.
const CONSUME = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1])
  return 1
end
return 0
`;

// KEYS[1] artifact; ARGV[1] id.
const DESTROY = `
local f = redis.call('HMGET', KEYS[1], 'g', 'u', 'c')
if f[1] then redis.call('SREM', f[1], KEYS[1]) end
if f[2] and redis.call('GET', f[2]) == ARGV[1] then redis.call('DEL', f[2]) end
if f[3] and redis.call('GET', f[3]) == ARGV[1] then redis.call('DEL', f[3]) end
return redis.call('DEL', KEYS[1])
`;

// KEYS[1] grant set. Members that were re-saved under another grant since are left alone.
const REVOKE = `
local n = 0
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local f = redis.call('HMGET', key, 'g', 'u', 'c', 'i')
  if f[1] == KEYS[1] then
    if f[2] and redis.call('GET', f[2]) == f[4] then redis.call('DEL', f[2]) end
    if f[3] and redis.call('GET', f[3]) == f[4] then redis.call('DEL', f[3]) end
    n = n + redis.call('DEL', key)
  end
end
redis.call('DEL', KEYS[1])
return n
`;

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const SHAS = new Map([UPSERT, CONSUME, DESTROY, REVOKE].map((s) => [s, sha1(s)]));

/** EVALSHA, loading the script on first use (or after a SCRIPT FLUSH / failover). */
async function runScript(redis: Redis, script: string, keys: string[], args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(SHAS.get(script)!, keys.length, ...keys, ...args);
  } catch (e) {
    if (!String((e as Error)?.message).includes('NOSCRIPT')) throw e;
    return redis.eval(script, keys.length, ...keys, ...args);
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

class RedisAdapter implements Adapter {
  readonly #redis: Redis;
  readonly #ns: string;
  readonly #model: string;

  constructor(redis: Redis, ns: string, model: string) {
    this.#redis = redis;
    this.#ns = ns;
    this.#model = model;
  }

  #key(id: string) {
    return `${this.#ns}m:${this.#model}:${id}`;
  }
  #grantKey(grantId: string) {
    return `${this.#ns}grant:${grantId}`;
  }
  #uidKey(uid: string) {
    return `${this.#ns}uid:${this.#model}:${uid}`;
  }
  #userCodeKey(userCode: string) {
    return `${this.#ns}userCode:${this.#model}:${userCode}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const hasTtl = typeof expiresIn === 'number' && Number.isFinite(expiresIn);
    const ttlMs = hasTtl ? Math.round(expiresIn * 1000) : undefined;
    if (ttlMs !== undefined && ttlMs <= 0) {
      await this.destroy(id); // already expired: nothing to keep
      return;
    }
    const keys = [this.#key(id)];
    let roles = '';
    const grantId = str(payload.grantId);
    const uid = str(payload.uid);
    const userCode = str(payload.userCode);
    if (grantId) {
      roles += 'g';
      keys.push(this.#grantKey(grantId));
    }
    if (uid) {
      roles += 'u';
      keys.push(this.#uidKey(uid));
    }
    if (userCode) {
      roles += 'c';
      keys.push(this.#userCodeKey(userCode));
    }
    const consumed = typeof payload.consumed === 'number' ? String(payload.consumed) : '';
    await runScript(this.#redis, UPSERT, keys, [JSON.stringify(payload), ttlMs ?? '', consumed, id, roles]);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (typeof id !== 'string' || id === '') return undefined;
    const [p, consumed] = await this.#redis.hmget(this.#key(id), 'p', 'consumed');
    if (!p) return undefined;
    const payload = JSON.parse(p) as AdapterPayload;
    if (consumed) payload.consumed = Number(consumed);
    return payload;
  }

  async #findByIndex(indexKey: string, field: 'uid' | 'userCode', value: string): Promise<AdapterPayload | undefined> {
    const id = await this.#redis.get(indexKey);
    if (!id) return undefined;
    const payload = await this.find(id);
    return payload && payload[field] === value ? payload : undefined;
  }

  async findByUid(uid: string) {
    if (typeof uid !== 'string' || uid === '') return undefined;
    return this.#findByIndex(this.#uidKey(uid), 'uid', uid);
  }

  async findByUserCode(userCode: string) {
    if (typeof userCode !== 'string' || userCode === '') return undefined;
    return this.#findByIndex(this.#userCodeKey(userCode), 'userCode', userCode);
  }

  async consume(id: string): Promise<void> {
    await runScript(this.#redis, CONSUME, [this.#key(id)], [Math.floor(Date.now() / 1000)]);
  }

  async destroy(id: string): Promise<void> {
    await runScript(this.#redis, DESTROY, [this.#key(id)], [id]);
  }

  /** Deletes every artifact of the grant in this tenant's Redis keys, whatever its model. */
  async revokeByGrantId(grantId: string): Promise<void> {
    if (typeof grantId !== 'string' || grantId === '') return;
    await runScript(this.#redis, REVOKE, [this.#grantKey(grantId)], []);
  }
}

/**
 * The engine's `adapter` option for one tenant on Redis: a plain (non-constructable) factory.
 * `prefix` namespaces the deployment (e.g. `gh:`); the tenant id is part of every key.
 */
export function redisAdapterFactory(redis: Redis, prefix: string, tenantId: string): ModelAdapterFactory {
  if (!tenantId) throw new Error('redisAdapterFactory: tenantId is required');
  const ns = `${prefix}${encodeURIComponent(tenantId)}:`;
  return (model: string): Adapter => {
    if (NOT_STORED_MODELS.has(model)) return refusingAdapter(model);
    return new RedisAdapter(redis, ns, model);
  };
}
