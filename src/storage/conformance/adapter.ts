// Conformance suite for oidc-provider storage adapters. Every backend runs the same suite
// (test/adapter.test.ts): SQL on SQLite and PostgreSQL, Redis, and the routed combination.
// A backend hands over one factory per tenant; every test uses fresh tenant ids, so
// backends may share state between tests.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AdapterPayload } from 'oidc-provider';

/** The adapter contract as the suite uses it (oidc-provider's Adapter satisfies it). */
export interface AdapterLike {
  upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<unknown>;
  find(id: string): Promise<AdapterPayload | undefined | void>;
  findByUid(uid: string): Promise<AdapterPayload | undefined | void>;
  findByUserCode(userCode: string): Promise<AdapterPayload | undefined | void>;
  consume(id: string): Promise<unknown>;
  destroy(id: string): Promise<unknown>;
  revokeByGrantId(grantId: string): Promise<unknown>;
}
export type AdapterFactoryLike = (model: string) => AdapterLike;

export interface AdapterConformanceOptions {
  /** A reason to skip the whole suite (printed by the runner), or false. */
  skip?: string | false;
  /** Runs once after the suite: close pools and clients, drop databases, delete keys. */
  cleanup?: () => Promise<void> | void;
  /**
   * When the backend's clock is injectable, the expiry test moves it instead of waiting.
   * Without it, the test waits (polling, bounded) for a 1-second artifact to disappear.
   */
  clock?: { now(): number; advance(ms: number): void };
}

const newId = () => randomUUID().replace(/-/g, '');
const newTenant = () => `tenant-${randomUUID()}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Polls `done` every 25 ms until it is true or `timeoutMs` passes; returns whether it became true. */
async function eventually(done: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

const token = (extra: Partial<AdapterPayload> = {}): AdapterPayload => ({
  jti: newId(),
  kind: 'AccessToken',
  accountId: 'user-1',
  clientId: 'client-1',
  scope: 'openid email',
  iat: nowSeconds(),
  exp: nowSeconds() + 3600,
  ...extra,
});

export function adapterConformance(
  name: string,
  makeFactory: (tenantId: string) => AdapterFactoryLike | Promise<AdapterFactoryLike>,
  cleanupOrOptions?: (() => Promise<void> | void) | AdapterConformanceOptions,
): void {
  const opts: AdapterConformanceOptions = typeof cleanupOrOptions === 'function' ? { cleanup: cleanupOrOptions } : (cleanupOrOptions ?? {});
  const skip = opts.skip ?? false;

  describe(`adapter conformance: ${name}`, { skip }, () => {
    if (skip) return;
    if (opts.cleanup) after(opts.cleanup);
    const tenant = async () => makeFactory(newTenant());

    it('upsert and find roundtrip; upsert replaces', async () => {
      const f = await tenant();
      const at = f('AccessToken');
      const id = newId();
      const payload = token({ jti: id, grantId: newId(), extra: { nested: { list: [1, 'two', null, []], empty: {} } } });
      await at.upsert(id, payload, 3600);
      assert.deepEqual(await at.find(id), payload);
      const replaced = { ...payload, scope: 'openid' };
      await at.upsert(id, replaced, 3600);
      assert.deepEqual(await at.find(id), replaced);
      // Models are separate namespaces.
      assert.equal(await f('AuthorizationCode').find(id), undefined);
      // No expiresIn: kept until destroyed.
      const grant = f('Grant');
      const gid = newId();
      await grant.upsert(gid, { jti: gid, kind: 'Grant', accountId: 'user-1', clientId: 'client-1' });
      assert.equal((await grant.find(gid))?.accountId, 'user-1');
    });

    it('missing ids return undefined and tolerate consume, destroy and revoke', async () => {
      const f = await tenant();
      for (const model of ['AccessToken', 'Session', 'DeviceCode', 'Grant']) {
        const a = f(model);
        assert.equal(await a.find(newId()), undefined);
        assert.equal(await a.findByUid(newId()), undefined);
        assert.equal(await a.findByUserCode(newId()), undefined);
        await a.consume(newId());
        await a.destroy(newId());
        await a.revokeByGrantId(newId());
        assert.equal(await a.find(newId()), undefined);
      }
    });

    it('artifacts expire after expiresIn (consumed ones too, with their indexes)', async () => {
      const f = await tenant();
      const at = f('AccessToken');
      const dc = f('DeviceCode');
      const session = f('Session');
      const [plain, consumed, device, sid, lasting] = [newId(), newId(), newId(), newId(), newId()];
      const userCode = `UC-${newId().slice(0, 8)}`;
      const uid = newId();
      await at.upsert(plain, token({ jti: plain, grantId: newId() }), 1);
      await at.upsert(consumed, token({ jti: consumed }), 1);
      await at.consume(consumed); // consumption keeps the remaining lifetime
      await dc.upsert(device, { jti: device, kind: 'DeviceCode', userCode, clientId: 'client-1' }, 1);
      await session.upsert(sid, { jti: sid, kind: 'Session', uid, accountId: 'user-1' }, 1);
      await at.upsert(lasting, token({ jti: lasting }), 3600);
      assert.ok(await at.find(plain), 'present before expiry');
      assert.ok((await at.find(consumed))?.consumed, 'consumed before expiry');
      assert.ok(await dc.findByUserCode(userCode));
      assert.ok(await session.findByUid(uid));

      const gone = async () =>
        (await at.find(plain)) === undefined &&
        (await at.find(consumed)) === undefined &&
        (await dc.findByUserCode(userCode)) === undefined &&
        (await session.findByUid(uid)) === undefined &&
        (await dc.find(device)) === undefined &&
        (await session.find(sid)) === undefined;
      if (opts.clock) {
        opts.clock.advance(500);
        assert.ok(await at.find(plain), 'still present before expiresIn');
        opts.clock.advance(1000);
        assert.ok(await gone(), 'expired once the clock passes expiresIn');
      } else {
        assert.ok(await eventually(gone, 3000), 'expired within 3 s of a 1 s expiresIn');
      }
      assert.ok(await at.find(lasting), 'a longer-lived artifact is untouched');
    });

    it('findByUid finds sessions by uid; a re-saved uid replaces the old one', async () => {
      const f = await tenant();
      const s = f('Session');
      const id = newId();
      const [uid1, uid2] = [newId(), newId()];
      await s.upsert(id, { jti: id, kind: 'Session', uid: uid1, accountId: 'user-1', authorizations: { 'client-1': { sid: 'x', grantId: 'g' } } }, 3600);
      assert.equal((await s.findByUid(uid1))?.jti, id);
      assert.equal(await f('Interaction').findByUid(uid1), undefined, 'uids are per model');
      await s.upsert(id, { jti: id, kind: 'Session', uid: uid2, accountId: 'user-1' }, 3600);
      assert.equal((await s.findByUid(uid2))?.jti, id);
      assert.equal(await s.findByUid(uid1), undefined, 'the old uid no longer leads to the session');
    });

    it('findByUserCode finds device codes by user code', async () => {
      const f = await tenant();
      const dc = f('DeviceCode');
      const id = newId();
      const userCode = `ABCD-${newId().slice(0, 4).toUpperCase()}`;
      await dc.upsert(id, { jti: id, kind: 'DeviceCode', userCode, clientId: 'client-1', grantId: newId() }, 600);
      assert.equal((await dc.findByUserCode(userCode))?.jti, id);
      assert.equal(await dc.findByUserCode(`${userCode}x`), undefined);
      await dc.consume(id);
      assert.equal(typeof (await dc.findByUserCode(userCode))?.consumed, 'number', 'lookup by user code carries consumption');
    });

    it('consume marks the artifact consumed, once, and a re-save does not undo it', async () => {
      const f = await tenant();
      const code = f('AuthorizationCode');
      const id = newId();
      const payload = token({ jti: id, kind: 'AuthorizationCode', grantId: newId(), redirectUri: 'https://rp.example/cb' });
      await code.upsert(id, payload, 600);
      assert.equal((await code.find(id))?.consumed, undefined);
      const backendSeconds = () => Math.floor((opts.clock?.now() ?? Date.now()) / 1000);
      const before = backendSeconds();
      await code.consume(id);
      const found = await code.find(id);
      assert.equal(typeof found?.consumed, 'number');
      assert.ok(found!.consumed >= before - 1 && found!.consumed <= backendSeconds() + 1, `consumed is epoch seconds (${found!.consumed})`);
      const { consumed, ...rest } = found!;
      assert.deepEqual(rest, payload, 'the rest of the payload is intact');
      await code.consume(id);
      assert.equal((await code.find(id))?.consumed, consumed, 'consuming again keeps the first consumption');
      await code.upsert(id, payload, 600); // a stale copy, saved without `consumed`
      assert.equal((await code.find(id))?.consumed, consumed, 'still consumed after a re-save');
    });

    it('destroy removes the artifact and its indexes, and nothing else', async () => {
      const f = await tenant();
      const dc = f('DeviceCode');
      const s = f('Session');
      const [a, b, sid] = [newId(), newId(), newId()];
      const userCode = `UC-${newId().slice(0, 8)}`;
      const uid = newId();
      const grantId = newId();
      await dc.upsert(a, { jti: a, kind: 'DeviceCode', userCode, grantId }, 600);
      await dc.upsert(b, { jti: b, kind: 'DeviceCode', userCode: `${userCode}-b`, grantId }, 600);
      await s.upsert(sid, { jti: sid, kind: 'Session', uid }, 600);
      await dc.destroy(a);
      await s.destroy(sid);
      assert.equal(await dc.find(a), undefined);
      assert.equal(await dc.findByUserCode(userCode), undefined);
      assert.equal(await s.find(sid), undefined);
      assert.equal(await s.findByUid(uid), undefined);
      assert.equal((await dc.find(b))?.jti, b);
      // The destroyed artifact is no longer part of its grant; the other one still is.
      await dc.revokeByGrantId(grantId);
      assert.equal(await dc.find(b), undefined);
    });

    it("revokeByGrantId removes exactly that grant's artifacts, across models", async () => {
      const f = await tenant();
      const [g1, g2] = [newId(), newId()];
      const models = ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest'];
      const of: Record<string, { model: string; id: string; userCode: string }[]> = { [g1]: [], [g2]: [] };
      for (const grantId of [g1, g2]) {
        for (const model of models) {
          const id = newId();
          const userCode = `UC-${newId().slice(0, 8)}`;
          await f(model).upsert(
            id,
            token({ jti: id, kind: model, grantId, ...(model === 'DeviceCode' && { userCode }) }),
            model === 'RefreshToken' ? 86400 : 600,
          );
          of[grantId]!.push({ model, id, userCode });
        }
      }
      const grantRecord = newId();
      await f('Grant').upsert(grantRecord, { jti: grantRecord, kind: 'Grant', accountId: 'user-1', clientId: 'client-1' }, 86400);
      const sid = newId();
      await f('Session').upsert(sid, { jti: sid, kind: 'Session', uid: newId(), authorizations: { 'client-1': { grantId: g1 } } }, 3600);
      const grantAsId = g1; // a Grant saved under the grant's own id is not one of its artifacts
      await f('Grant').upsert(grantAsId, { jti: grantAsId, kind: 'Grant', accountId: 'user-1', clientId: 'client-1' }, 86400);

      await f('AccessToken').revokeByGrantId(g1);

      for (const { model, id, userCode } of of[g1]!) {
        assert.equal(await f(model).find(id), undefined, `${model} of the revoked grant is gone`);
        if (model === 'DeviceCode') assert.equal(await f(model).findByUserCode(userCode), undefined);
      }
      for (const { model, id, userCode } of of[g2]!) {
        assert.equal((await f(model).find(id))?.jti, id, `${model} of another grant stays`);
        if (model === 'DeviceCode') assert.equal((await f(model).findByUserCode(userCode))?.jti, id);
      }
      assert.ok(await f('Grant').find(grantRecord));
      assert.ok(await f('Grant').find(grantAsId), 'the Grant record itself is destroyed by the engine, not by revokeByGrantId');
      assert.ok(await f('Session').find(sid));

      // The engine calls revokeByGrantId on every grant-bearing model; each call is harmless.
      for (const model of models) await f(model).revokeByGrantId(g2);
      for (const { model, id } of of[g2]!) assert.equal(await f(model).find(id), undefined);
    });

    it('tenants are isolated: find, lookups, consume, destroy and revoke see only their own', async () => {
      const a = await tenant();
      const b = await tenant();
      const grantId = newId();
      const [at, sid, dc] = [newId(), newId(), newId()];
      const uid = newId();
      const userCode = `UC-${newId().slice(0, 8)}`;
      const atPayload = token({ jti: at, grantId });
      await a('AccessToken').upsert(at, atPayload, 600);
      await a('Session').upsert(sid, { jti: sid, kind: 'Session', uid }, 600);
      await a('DeviceCode').upsert(dc, { jti: dc, kind: 'DeviceCode', userCode, grantId }, 600);

      assert.equal(await b('AccessToken').find(at), undefined);
      assert.equal(await b('Session').find(sid), undefined);
      assert.equal(await b('Session').findByUid(uid), undefined);
      assert.equal(await b('DeviceCode').findByUserCode(userCode), undefined);
      assert.equal(await b('DeviceCode').find(dc), undefined);

      await b('AccessToken').consume(at);
      await b('Session').destroy(sid);
      await b('AccessToken').revokeByGrantId(grantId);
      await b('DeviceCode').revokeByGrantId(grantId);
      assert.deepEqual(await a('AccessToken').find(at), atPayload, 'not consumed by the other tenant');
      assert.ok(await a('Session').findByUid(uid), 'not destroyed by the other tenant');
      assert.ok(await a('DeviceCode').findByUserCode(userCode), 'not revoked by the other tenant');

      // The other tenant writing the same id must not change what this tenant sees: a backend
      // either keeps the two apart or refuses the write.
      const bPayload = token({ jti: at, accountId: 'intruder', grantId });
      const written = await b('AccessToken')
        .upsert(at, bPayload, 600)
        .then(
          () => true,
          () => false,
        );
      assert.deepEqual(await a('AccessToken').find(at), atPayload);
      if (written) assert.equal((await b('AccessToken').find(at))?.accountId, 'intruder');
      else assert.equal(await b('AccessToken').find(at), undefined);
      await b('AccessToken').revokeByGrantId(grantId);
      assert.deepEqual(await a('AccessToken').find(at), atPayload);

      // And the other way around: revoking in A leaves B alone.
      const bOnly = newId();
      await b('RefreshToken').upsert(bOnly, token({ jti: bOnly, kind: 'RefreshToken', grantId }), 600);
      await a('RefreshToken').revokeByGrantId(grantId);
      assert.equal(await a('AccessToken').find(at), undefined);
      assert.ok(await b('RefreshToken').find(bOnly));
    });

    it('large payloads (100 KB) roundtrip', async () => {
      const f = await tenant();
      const s = f('Session');
      const id = newId();
      const blob = Array.from({ length: 100 * 1024 }, (_, i) => String.fromCharCode(32 + ((i * 7919) % 95))).join('');
      const payload = { jti: id, kind: 'Session', uid: newId(), extra: { blob, unicode: 'é漢字🙂\u2028"\\' } } as AdapterPayload;
      await s.upsert(id, payload, 3600);
      assert.deepEqual(await s.find(id), payload);
      assert.equal(((await s.find(id))?.extra as { blob: string } | undefined)?.blob.length, 100 * 1024);
    });

    it('concurrent upserts of the same id leave one valid record', async () => {
      const f = await tenant();
      const grantId = newId();
      const id = newId();
      const writes = Array.from({ length: 20 }, (_, n) => ({ ...token({ jti: id, kind: 'DeviceCode', grantId }), userCode: `UC-${n}`, n }) as AdapterPayload);
      await Promise.all(writes.map((p) => f('DeviceCode').upsert(id, p, 600)));
      const found = await f('DeviceCode').find(id);
      assert.ok(found, 'a record remains');
      const winner = writes.find((w) => w.n === found!.n);
      assert.deepEqual(found, winner, 'it is exactly one of the written payloads');
      assert.equal((await f('DeviceCode').findByUserCode(winner!.userCode!))?.n, winner!.n);
      const others = writes.filter((w) => w !== winner);
      for (const o of others) assert.equal(await f('DeviceCode').findByUserCode(o.userCode!), undefined, 'no stale user code leads to it');
      await f('DeviceCode').revokeByGrantId(grantId);
      assert.equal(await f('DeviceCode').find(id), undefined);
    });
  });
}
