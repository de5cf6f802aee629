// The token-hashing key (shared/crypto.ts TokenHasher) and the one-time rewrite of engine
// artifacts kept in clear before it (oidc/adapters/sql.ts rehashLegacyArtifacts): on SQLite,
// and on PostgreSQL when DATABASE_URL is set.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openTestStore } from './helpers/databases.ts';
import { InstanceStore } from '../src/storage/instance.ts';
import { Sealer, TokenHasher } from '../src/shared/crypto.ts';
import { rehashLegacyArtifacts, sqlAdapterFactory } from '../src/oidc/adapters/sql.ts';
import { adapterFactory } from '../src/oidc/adapters/index.ts';

const DATABASE_URL = process.env.DATABASE_URL;
const nowS = () => Math.floor(Date.now() / 1000);

for (const [name, url, skip] of [
  ['sqlite', undefined, false],
  ['postgres', DATABASE_URL, DATABASE_URL ? false : 'DATABASE_URL not set'],
] as const) {
  describe(`token hashing (${name})`, { skip }, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    before(async () => {
      store = await openTestStore(url);
    });
    after(async () => {
      await store?.dispose();
    });

    it('every node gets the same key; another instance secret is refused with what to do', async () => {
      const settings = new InstanceStore(store.db);
      const sealer = new Sealer('secret-one-'.padEnd(48, 'x'));
      const [a, b] = await Promise.all([TokenHasher.load(settings, sealer), TokenHasher.load(settings, sealer)]);
      assert.equal(a.hash('refresh-token-value'), b.hash('refresh-token-value'), 'two nodes starting at once agree');
      const sealed = await settings.get(TokenHasher.SETTING);
      assert.ok(sealed && !sealed.includes(a.hash('x')), 'the key is kept sealed');
      assert.equal((await TokenHasher.load(settings, sealer)).hash('v'), a.hash('v'), 'a restart keeps the key');
      assert.notEqual(a.hash('v', 'recovery'), a.hash('v', 'setup-link'), 'purposes are kept apart');
      await assert.rejects(TokenHasher.load(settings, new Sealer('secret-two-'.padEnd(48, 'x'))), /does not open with this instance secret.*original secret/);
      // A rotation re-seals the key under the new secret: hashes made before still match.
      const rotated = new Sealer('secret-three-'.padEnd(48, 'x'));
      await settings.set(TokenHasher.SETTING, rotated.seal(sealer.open(sealed)));
      assert.equal((await TokenHasher.load(settings, rotated)).hash('refresh-token-value'), a.hash('refresh-token-value'));
    });

    it('artifacts kept in clear by an earlier version are rewritten as hashes and stay usable', async () => {
      const tokens = new TokenHasher(Buffer.alloc(32, 7));
      const tenantId = `tenant-${randomUUID()}`;
      const legacy = sqlAdapterFactory(store.db, tenantId); // the store as it was: no hashing layer
      const rt = `rt-${randomUUID()}`,
        sid = `sid-${randomUUID()}`,
        uid = `uid-${randomUUID()}`,
        code = `code-${randomUUID()}`,
        grantId = `grant-${randomUUID()}`;
      await legacy('RefreshToken').upsert(rt, { jti: rt, kind: 'RefreshToken', grantId, accountId: 'alice', iat: nowS(), exp: nowS() + 3600 }, 3600);
      await legacy('Session').upsert(sid, { jti: sid, kind: 'Session', uid, accountId: 'alice', iat: nowS(), exp: nowS() + 3600 }, 3600);
      await legacy('AuthorizationCode').upsert(code, { jti: code, kind: 'AuthorizationCode', grantId, iat: nowS(), exp: nowS() + 60 }, 60);
      await legacy('AuthorizationCode').consume(code);
      const hashed = adapterFactory({ db: store.db, tenantId, tokens });
      assert.equal(await hashed('RefreshToken').find(rt), undefined, 'before the rewrite, the hashed store does not see them');

      const n = await rehashLegacyArtifacts(store.db, tokens, 2); // small batches: the loop is exercised
      assert.ok(n >= 3, `rewrote ${n}`);
      assert.equal(await rehashLegacyArtifacts(store.db, tokens), 0, 'a second run finds nothing to do');

      assert.equal((await hashed('RefreshToken').find(rt))?.accountId, 'alice', 'the refresh token still works');
      assert.equal((await hashed('Session').findByUid(uid))?.jti, sid, 'the session is found by its uid, with its id');
      assert.equal((await hashed('Session').find(sid))?.uid, uid);
      assert.equal(typeof (await hashed('AuthorizationCode').find(code))?.consumed, 'number', 'consumption is kept');
      const rows = await store.db.selectFrom('oidc_artifacts').selectAll().where('tenant_id', '=', tenantId).execute();
      assert.equal(rows.length, 3);
      const text = JSON.stringify(rows);
      for (const v of [rt, sid, uid, code, grantId]) assert.ok(!text.includes(v), `${v.split('-')[0]} is no longer kept in clear`);
      await hashed('AccessToken').revokeByGrantId(grantId);
      assert.equal(await hashed('RefreshToken').find(rt), undefined, 'revoking the grant reaches the rewritten rows');
    });
  });
}
