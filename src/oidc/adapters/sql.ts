// oidc-provider artifacts in the SQL store (SQLite or PostgreSQL), scoped to one tenant.
//
// The table's primary key is (model, id), so the tenant is enforced in every statement:
// reads, consumption, deletion and revocation filter on tenant_id, and an upsert never takes
// over a live row of another tenant (it fails instead). Engine ids are random, so such a
// collision means a bug or an attack, never ordinary traffic.
import { sql, type Kysely } from 'kysely';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { DB } from '../../storage/schema.ts';
import { prepare } from '../../storage/prepared.ts';
import type { TokenHasher } from '../../shared/crypto.ts';
import { isSealedPayload, sealPayload, SEALED_PREFIX } from './hashed.ts';

export type ModelAdapterFactory = (model: string) => Adapter;
/** Routes a model name to another adapter (the engine's Client model comes from application profiles). */
export type AdapterOverrides = Record<string, (tenantId: string) => Adapter>;
/** Epoch milliseconds; injectable so tests can move time instead of waiting for it. */
export type Clock = () => number;

/** Models the generic artifact stores never hold. */
export const NOT_STORED_MODELS: ReadonlySet<string> = new Set(['Client']);

/** Stand-in for a model that must come from elsewhere: finds nothing and refuses writes. */
export function refusingAdapter(model: string): Adapter {
  const refuse = async () => {
    throw new Error(`the ${model} model is not kept in the artifact store; route it through adapter overrides`);
  };
  return {
    find: async () => undefined,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
    upsert: refuse,
    consume: refuse,
    destroy: refuse,
    revokeByGrantId: async () => undefined,
  };
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

// The statements every token request runs, built once per database.
const ROW = ['model', 'id', 'tenant_id', 'payload', 'grant_id', 'user_code', 'uid', 'expires_at', 'consumed_at'] as const;
function buildStatements(db: Kysely<DB>) {
  const upsert = prepare(db, [...ROW, 'tenantId', 'now'], (p) => {
    // The existing row is ours to replace when it is this tenant's, or when it has expired
    // (it is then invisible to everyone). Consumption of a live row of ours is kept: a stale
    // copy saved again must not make a used code usable again.
    const existingIsLiveOurs = sql<boolean>`oidc_artifacts.tenant_id = ${p.tenantId} and (oidc_artifacts.expires_at is null or oidc_artifacts.expires_at > ${p.now})`;
    return db
      .insertInto('oidc_artifacts')
      .values({
        model: p.model,
        id: p.id,
        tenant_id: p.tenant_id,
        payload: p.payload,
        grant_id: p.grant_id,
        user_code: p.user_code,
        uid: p.uid,
        expires_at: p.expires_at,
        consumed_at: p.consumed_at,
      })
      .onConflict((oc) =>
        oc
          .columns(['model', 'id'])
          .doUpdateSet((eb) => ({
            tenant_id: eb.ref('excluded.tenant_id'),
            payload: eb.ref('excluded.payload'),
            grant_id: eb.ref('excluded.grant_id'),
            user_code: eb.ref('excluded.user_code'),
            uid: eb.ref('excluded.uid'),
            expires_at: eb.ref('excluded.expires_at'),
            consumed_at: sql<
              number | null
            >`case when ${existingIsLiveOurs} then coalesce(oidc_artifacts.consumed_at, excluded.consumed_at) else excluded.consumed_at end`,
          }))
          .where((eb) =>
            eb.or([
              eb('oidc_artifacts.tenant_id', '=', p.tenantId),
              eb.and([eb('oidc_artifacts.expires_at', 'is not', null), eb('oidc_artifacts.expires_at', '<=', p.now)]),
            ]),
          ),
      );
  });
  const findBy = (column: 'id' | 'uid' | 'user_code') =>
    prepare(db, ['model', 'tenantId', 'value', 'now'], (p) =>
      db
        .selectFrom('oidc_artifacts')
        .select(['payload', 'consumed_at'])
        .where('model', '=', p.model)
        .where('tenant_id', '=', p.tenantId)
        .where(column, '=', p.value)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', p.now)])),
    );
  return { upsert, find: { id: findBy('id'), uid: findBy('uid'), user_code: findBy('user_code') } };
}
type Statements = ReturnType<typeof buildStatements>;
const built = new WeakMap<Kysely<DB>, Statements>();
const statements = (db: Kysely<DB>): Statements => {
  let s = built.get(db);
  if (!s) {
    s = buildStatements(db);
    built.set(db, s);
  }
  return s;
};

class SqlAdapter implements Adapter {
  readonly #db: Kysely<DB>;
  readonly #tenantId: string;
  readonly #model: string;
  readonly #now: Clock;

  readonly #q: Statements;

  constructor(db: Kysely<DB>, tenantId: string, model: string, now: Clock) {
    this.#db = db;
    this.#tenantId = tenantId;
    this.#model = model;
    this.#now = now;
    this.#q = statements(db);
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const now = this.#now();
    const consumedAt = typeof payload.consumed === 'number' ? payload.consumed * 1000 : null;
    const row = {
      model: this.#model,
      id,
      tenant_id: this.#tenantId,
      payload: JSON.stringify(payload),
      grant_id: str(payload.grantId),
      user_code: str(payload.userCode),
      uid: str(payload.uid),
      expires_at: typeof expiresIn === 'number' && Number.isFinite(expiresIn) ? now + Math.round(expiresIn * 1000) : null,
      consumed_at: consumedAt,
    };
    const result = await this.#q.upsert({ ...row, tenantId: this.#tenantId, now });
    if (Number(result.numAffectedRows ?? 0n) === 0) {
      throw new Error(`${this.#model} ${id} already exists for another tenant`);
    }
  }

  async #findBy(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
    if (typeof value !== 'string' || value === '') return undefined;
    const now = this.#now();
    const r = (await this.#q.find[column]<{ payload: string; consumed_at: number | null }>({ model: this.#model, tenantId: this.#tenantId, value, now }))
      .rows[0];
    if (!r) return undefined;
    const payload = JSON.parse(r.payload) as AdapterPayload;
    if (r.consumed_at !== null) payload.consumed = Math.floor(Number(r.consumed_at) / 1000);
    return payload;
  }

  find(id: string) {
    return this.#findBy('id', id);
  }
  findByUid(uid: string) {
    return this.#findBy('uid', uid);
  }
  findByUserCode(userCode: string) {
    return this.#findBy('user_code', userCode);
  }

  async consume(id: string): Promise<void> {
    const now = this.#now();
    await this.#db
      .updateTable('oidc_artifacts')
      .set({ consumed_at: sql<number>`coalesce(consumed_at, ${now})` })
      .where('model', '=', this.#model)
      .where('tenant_id', '=', this.#tenantId)
      .where('id', '=', id)
      .execute();
  }

  async destroy(id: string): Promise<void> {
    await this.#db.deleteFrom('oidc_artifacts').where('model', '=', this.#model).where('tenant_id', '=', this.#tenantId).where('id', '=', id).execute();
  }

  /** Deletes every artifact of the grant in this tenant, whatever its model (as the engine's own adapters do). */
  async revokeByGrantId(grantId: string): Promise<void> {
    if (typeof grantId !== 'string' || grantId === '') return;
    await this.#db.deleteFrom('oidc_artifacts').where('tenant_id', '=', this.#tenantId).where('grant_id', '=', grantId).execute();
  }
}

/**
 * The engine's `adapter` option for one tenant: a plain (non-constructable) factory, which
 * oidc-provider calls once per model name. `overrides` routes model names elsewhere; the
 * Client model is never kept here (without an override it finds nothing and refuses writes).
 */
export function sqlAdapterFactory(db: Kysely<DB>, tenantId: string, overrides?: AdapterOverrides, now: Clock = Date.now): ModelAdapterFactory {
  if (!tenantId) throw new Error('sqlAdapterFactory: tenantId is required');
  return (model: string): Adapter => {
    const override = overrides && Object.hasOwn(overrides, model) ? overrides[model] : undefined;
    if (override) return override(tenantId);
    if (NOT_STORED_MODELS.has(model)) return refusingAdapter(model);
    return new SqlAdapter(db, tenantId, model, now);
  };
}

/** Deletes expired artifacts of every tenant; returns how many. */
export async function purgeExpired(db: Kysely<DB>, now = Date.now()): Promise<number> {
  // Two statements, each able to use an index: sessions by the primary key's model prefix,
  // everything else by the (partial) expiry index (see migration 0003).
  const sessions = await db
    .deleteFrom('oidc_artifacts')
    .where('model', '=', 'Session')
    .where('expires_at', 'is not', null)
    .where('expires_at', '<=', now)
    .executeTakeFirst();
  const others = await db
    .deleteFrom('oidc_artifacts')
    .where('model', '<>', 'Session')
    .where('expires_at', 'is not', null)
    .where('expires_at', '<=', now)
    .executeTakeFirst();
  return Number(sessions.numDeletedRows) + Number(others.numDeletedRows);
}

/**
 * One-time data step at the upgrade to hashed artifacts (hashed.ts): rows written before it
 * kept the engine's token, code or session id as their key and their payload in clear. Each
 * is rewritten under the hash of its key, with hashed look-up values and a sealed payload,
 * so refresh tokens, grants and (without Redis) sessions keep working. Rows in the new form
 * are recognised by their payload and left alone, so running this again (or on two nodes at
 * once) changes nothing. Returns how many rows were rewritten.
 */
export async function rehashLegacyArtifacts(db: Kysely<DB>, tokens: TokenHasher, batch = 500): Promise<number> {
  let done = 0;
  for (;;) {
    const rows = await db.selectFrom('oidc_artifacts').selectAll().where('payload', 'not like', `${SEALED_PREFIX}%`).limit(batch).execute();
    if (!rows.length) return done;
    await db.transaction().execute(async (trx) => {
      for (const r of rows) {
        let payload: AdapterPayload | undefined;
        try {
          payload = JSON.parse(r.payload) as AdapterPayload;
        } catch {
          payload = undefined;
        }
        if (payload && typeof payload === 'object' && !isSealedPayload(payload)) {
          const stored = sealPayload(tokens, payload);
          await trx
            .insertInto('oidc_artifacts')
            .values({
              model: r.model,
              id: tokens.hash(r.id),
              tenant_id: r.tenant_id,
              payload: JSON.stringify(stored),
              grant_id: str(stored.grantId),
              user_code: str(stored.userCode),
              uid: str(stored.uid),
              expires_at: r.expires_at,
              consumed_at: r.consumed_at,
            })
            .onConflict((oc) => oc.columns(['model', 'id']).doNothing())
            .execute();
        }
        // A row that is not JSON could never be read: it goes too.
        await trx.deleteFrom('oidc_artifacts').where('model', '=', r.model).where('id', '=', r.id).execute();
        done++;
      }
    });
  }
}
