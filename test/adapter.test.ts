// Engine storage adapters: the conformance suite on SQLite (a real file), PostgreSQL (a fresh
// database per run, when DATABASE_URL is set), Redis (a fresh key prefix per run, when
// REDIS_URL is set) and the routed combination; then purging, overrides and routing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import Provider from 'oidc-provider';
import type { Adapter } from 'oidc-provider';
import { openTestStore, deleteRedisPrefix } from './helpers/databases.ts';
import { adapterConformance } from '../src/storage/conformance/adapter.ts';
import { purgeExpired, sqlAdapterFactory } from '../src/oidc/adapters/sql.ts';
import { redisAdapterFactory } from '../src/oidc/adapters/redis.ts';
import { adapterFactory, SHORT_LIVED_MODELS } from '../src/oidc/adapters/index.ts';
import { TokenHasher } from '../src/shared/crypto.ts';

const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;
const rand = () => randomUUID().replace(/-/g, '').slice(0, 16);
const tokens = new TokenHasher(randomBytes(32));

/** Opens on first use, so a skipped suite opens nothing; `close` undoes only what was opened. */
function lazy<T>(open: () => Promise<T>, close: (v: T) => Promise<void>) {
  let p: Promise<T> | undefined;
  return {
    get: () => (p ??= open()),
    close: async () => {
      if (p) await close(await p);
    },
  };
}

type TempStore = Awaited<ReturnType<typeof openTestStore>>;
const openSqliteTemp = () => openTestStore();
const closeSqliteTemp = (d: TempStore) => d.dispose();
const openPostgresTemp = () => openTestStore(DATABASE_URL);

async function openRedis(): Promise<{ redis: Redis; prefix: string }> {
  const redis = new Redis(REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  return { redis, prefix: `ghtest:${rand()}:` };
}
async function closeRedis({ redis, prefix }: { redis: Redis; prefix: string }) {
  try {
    await deleteRedisPrefix(redis, prefix);
  } finally {
    await redis.quit();
  }
}

// --- SQLite: a real database file, with an injectable clock so expiry needs no waiting.
{
  let offset = 0;
  const now = () => Date.now() + offset;
  const db = lazy(openSqliteTemp, closeSqliteTemp);
  adapterConformance('sql on sqlite', async (tenantId) => sqlAdapterFactory((await db.get()).db, tenantId, undefined, now), {
    cleanup: db.close,
    clock: {
      now,
      advance: (ms) => {
        offset += ms;
      },
    },
  });
}

// --- As the engine runs it without Redis: SQL behind the hashing layer (hashed.ts).
{
  let offset = 0;
  const now = () => Date.now() + offset;
  const db = lazy(openSqliteTemp, closeSqliteTemp);
  adapterConformance('hashed sql on sqlite', async (tenantId) => adapterFactory({ db: (await db.get()).db, tenantId, tokens, now }), {
    cleanup: db.close,
    clock: {
      now,
      advance: (ms) => {
        offset += ms;
      },
    },
  });
}
{
  const db = lazy(openPostgresTemp, (d) => d.dispose());
  adapterConformance('hashed sql on postgres', async (tenantId) => adapterFactory({ db: (await db.get()).db, tenantId, tokens }), {
    skip: DATABASE_URL ? false : 'DATABASE_URL not set: PostgreSQL suite skipped',
    cleanup: db.close,
  });
}

// --- PostgreSQL: a fresh database, dropped afterwards. Real time (the expiry test polls).
{
  const db = lazy(openPostgresTemp, (d) => d.dispose());
  adapterConformance('sql on postgres', async (tenantId) => sqlAdapterFactory((await db.get()).db, tenantId), {
    skip: DATABASE_URL ? false : 'DATABASE_URL not set: PostgreSQL suite skipped',
    cleanup: db.close,
  });
}

// --- Redis: a random key prefix per run, whose keys are deleted afterwards.
{
  const r = lazy(openRedis, closeRedis);
  adapterConformance(
    'redis',
    async (tenantId) => {
      const { redis, prefix } = await r.get();
      return redisAdapterFactory(redis, prefix, tenantId);
    },
    {
      skip: REDIS_URL ? false : 'REDIS_URL not set: Redis suite skipped',
      cleanup: r.close,
    },
  );
}

// --- Routed: short-lived models in Redis, the rest in SQL (SQLite), as the engine runs it.
{
  const db = lazy(openSqliteTemp, closeSqliteTemp);
  const r = lazy(openRedis, closeRedis);
  adapterConformance(
    'routed sql + redis',
    async (tenantId) => {
      const { redis, prefix } = await r.get();
      return adapterFactory({ db: (await db.get()).db, tenantId, redis, redisPrefix: prefix, tokens });
    },
    {
      skip: REDIS_URL ? false : 'REDIS_URL not set: routed SQL + Redis suite skipped',
      cleanup: async () => {
        try {
          await db.close();
        } finally {
          await r.close();
        }
      },
    },
  );
}

describe('sql adapter extras (sqlite)', () => {
  let d: TempStore;
  before(async () => {
    d = await openSqliteTemp();
  });
  after(async () => {
    await closeSqliteTemp(d);
  });

  it('purgeExpired deletes expired artifacts of every tenant and nothing else', async () => {
    const t0 = Date.now();
    const a = sqlAdapterFactory(d.db, 'tenant-a', undefined, () => t0);
    const b = sqlAdapterFactory(d.db, 'tenant-b', undefined, () => t0);
    await a('AccessToken').upsert('a-short', { jti: 'a-short' }, 60);
    await b('Session').upsert('b-short', { jti: 'b-short', uid: 'u' }, 60);
    await a('RefreshToken').upsert('a-long', { jti: 'a-long' }, 3600);
    await a('Grant').upsert('a-forever', { jti: 'a-forever' });
    assert.equal(await purgeExpired(d.db, t0 + 59_000), 0, 'nothing has expired yet');
    assert.equal(await purgeExpired(d.db, t0 + 60_000), 2);
    const left = await d.db.selectFrom('oidc_artifacts').select('id').orderBy('id').execute();
    assert.deepEqual(
      left.map((r) => r.id),
      ['a-forever', 'a-long'],
    );
    assert.equal(await purgeExpired(d.db, t0 + 60_000), 0, 'idempotent');
    assert.equal(await purgeExpired(d.db, t0 + 10 * 365 * 86400_000), 1, 'the Grant without expiry is never purged');
  });

  it('an upsert never takes over a live artifact of another tenant, but may reuse an expired one', async () => {
    let t = Date.now();
    const a = sqlAdapterFactory(d.db, 'tenant-a', undefined, () => t)('AccessToken');
    const b = sqlAdapterFactory(d.db, 'tenant-b', undefined, () => t)('AccessToken');
    await a.upsert('shared', { jti: 'shared', accountId: 'alice' }, 60);
    await a.consume('shared');
    await assert.rejects(b.upsert('shared', { jti: 'shared', accountId: 'mallory' }, 60), /another tenant/);
    assert.equal((await a.find('shared'))?.accountId, 'alice');
    t += 61_000;
    await b.upsert('shared', { jti: 'shared', accountId: 'bob' }, 60);
    const found = await b.find('shared');
    assert.equal(found?.accountId, 'bob');
    assert.equal(found?.consumed, undefined, "the expired row's consumption is not inherited");
    assert.equal(await a.find('shared'), undefined);
  });

  it('the Client model is not kept in the generic store; overrides route models elsewhere', async () => {
    const plain = sqlAdapterFactory(d.db, 'tenant-a');
    assert.equal(await plain('Client').find('client-1'), undefined);
    await assert.rejects(plain('Client').upsert('client-1', { client_id: 'client-1' }), /not kept in the artifact store/);
    const seen: string[] = [];
    const clients: Adapter = {
      find: async (id) => ({ client_id: id }),
      findByUid: async () => undefined,
      findByUserCode: async () => undefined,
      upsert: async () => undefined,
      consume: async () => undefined,
      destroy: async () => undefined,
      revokeByGrantId: async () => undefined,
    };
    const routed = sqlAdapterFactory(d.db, 'tenant-a', {
      Client: (tenantId) => {
        seen.push(tenantId);
        return clients;
      },
    });
    assert.deepEqual(await routed('Client').find('client-1'), { client_id: 'client-1' });
    assert.deepEqual(seen, ['tenant-a'], 'the override is given the tenant');
    assert.equal(await routed('toString').find('x'), undefined, 'only own keys of the overrides map route');
    const viaIndex = adapterFactory({ db: d.db, tenantId: 'tenant-a', overrides: { Client: () => clients }, tokens });
    assert.deepEqual(await viaIndex('Client').find('client-2'), { client_id: 'client-2' });
    assert.equal(await adapterFactory({ db: d.db, tenantId: 'tenant-a', tokens })('Client').find('client-1'), undefined);
  });

  it('without Redis, every model goes to SQL', async () => {
    const f = adapterFactory({ db: d.db, tenantId: 'tenant-route', tokens });
    for (const model of [...SHORT_LIVED_MODELS, 'Grant', 'RefreshToken', 'RegistrationAccessToken']) {
      await f(model).upsert(`${model}-1`, { jti: `${model}-1` }, 600);
    }
    const rows = await d.db.selectFrom('oidc_artifacts').select('model').where('tenant_id', '=', 'tenant-route').execute();
    assert.equal(rows.length, SHORT_LIVED_MODELS.size + 3);
  });

  it('oidc-provider accepts the factory and stores tokens through it', async () => {
    const factory = adapterFactory({ db: d.db, tenantId: 'tenant-engine', tokens });
    assert.equal((factory as { prototype?: unknown }).prototype, undefined, 'not constructable: the engine calls it as a factory');
    const provider = new Provider('http://localhost:3000', {
      adapter: factory,
      clients: [{ client_id: 'rp', client_secret: 'secret', redirect_uris: ['https://rp.example/cb'] }],
    });
    const client = await provider.Client.find('rp');
    assert.ok(client);
    const grant = new provider.Grant({ clientId: 'rp', accountId: 'user-1' });
    grant.addOIDCScope('openid');
    const grantId = await grant.save();
    const at = new provider.AccessToken({ client, accountId: 'user-1', grantId, gty: 'authorization_code', scope: 'openid' });
    const value = await at.save();
    assert.equal((await provider.AccessToken.find(value))?.accountId, 'user-1');
    await provider.AccessToken.revokeByGrantId(grantId);
    assert.equal(await provider.AccessToken.find(value), undefined);
    assert.ok(await provider.Grant.find(grantId), 'the grant record stays until the engine destroys it');
  });
});

describe('routing between SQL and Redis', { skip: REDIS_URL ? false : 'REDIS_URL not set: routing suite skipped' }, () => {
  let d: TempStore;
  let r: { redis: Redis; prefix: string };
  before(async () => {
    d = await openSqliteTemp();
    r = await openRedis();
  });
  after(async () => {
    try {
      if (d) await closeSqliteTemp(d);
    } finally {
      if (r) await closeRedis(r);
    }
  });

  it('short-lived models go to Redis, durable ones to SQL; revoking a grant clears both', async () => {
    const tenantId = `tenant-${rand()}`;
    const f = adapterFactory({ db: d.db, tenantId, redis: r.redis, redisPrefix: r.prefix, tokens });
    const grantId = 'grant-1';
    await f('AccessToken').upsert('at-1', { jti: 'at-1', grantId }, 600);
    await f('AuthorizationCode').upsert('code-1', { jti: 'code-1', grantId }, 600);
    await f('RefreshToken').upsert('rt-1', { jti: 'rt-1', grantId }, 86400);
    await f('Grant').upsert(grantId, { jti: grantId, accountId: 'user-1' }, 86400);

    const sqlModels = (await d.db.selectFrom('oidc_artifacts').select('model').where('tenant_id', '=', tenantId).orderBy('model').execute()).map(
      (x) => x.model,
    );
    assert.deepEqual(sqlModels, ['Grant', 'RefreshToken']);
    const ns = `${r.prefix}${encodeURIComponent(tenantId)}:`;
    // Keys name the hashes of the token and grant id, never the values (hashed.ts).
    assert.equal(await r.redis.exists(`${ns}m:AccessToken:at-1`), 0);
    assert.equal(await r.redis.exists(`${ns}m:AccessToken:${tokens.hash('at-1')}`), 1);
    const ttl = await r.redis.ttl(`${ns}m:AccessToken:${tokens.hash('at-1')}`);
    assert.ok(ttl > 590 && ttl <= 600, `Redis TTL follows expiresIn (${ttl})`);
    assert.ok((await r.redis.ttl(`${ns}grant:${tokens.hash(grantId)}`)) > 590, 'the grant set lives as long as its longest member');

    // The engine may revoke through a Redis-routed model only (AccessToken is always called).
    await f('AccessToken').revokeByGrantId(grantId);
    assert.equal(await f('AccessToken').find('at-1'), undefined);
    assert.equal(await f('AuthorizationCode').find('code-1'), undefined);
    assert.equal(await f('RefreshToken').find('rt-1'), undefined, 'the SQL-held refresh token is revoked too');
    assert.ok(await f('Grant').find(grantId));
    assert.equal(await r.redis.exists(`${ns}grant:${tokens.hash(grantId)}`), 0);

    // ... or through a SQL-routed one.
    await f('AccessToken').upsert('at-2', { jti: 'at-2', grantId: 'grant-2' }, 600);
    await f('RefreshToken').revokeByGrantId('grant-2');
    assert.equal(await f('AccessToken').find('at-2'), undefined, 'the Redis-held access token is revoked too');
  });

  it('consume keeps the remaining TTL in Redis', async () => {
    const f = redisAdapterFactory(r.redis, r.prefix, `tenant-${rand()}`);
    await f('AuthorizationCode').upsert('c', { jti: 'c' }, 100);
    await f('AuthorizationCode').consume('c');
    const key = `${r.prefix}${(await r.redis.keys(`${r.prefix}*:m:AuthorizationCode:c`))[0]!.slice(r.prefix.length)}`;
    const ttl = await r.redis.pttl(key);
    assert.ok(ttl > 90_000 && ttl <= 100_000, `TTL kept (${ttl} ms)`);
    assert.equal(typeof (await f('AuthorizationCode').find('c'))?.consumed, 'number');
  });
});
