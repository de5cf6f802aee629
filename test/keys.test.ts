// Signing keys: generation, JWKS order, certificates, sealing, rotation, purge and expiry,
// against a real SQLite store and, when DATABASE_URL is set, a fresh PostgreSQL database.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import crypto, { X509Certificate } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';
import Provider from 'oidc-provider';
import type { Database } from '../src/storage/db.ts';
import { openTestStore } from './helpers/databases.ts';
import { Sealer } from '../src/shared/crypto.ts';
import { SigningKeyStore } from '../src/storage/signing-keys.ts';
import { TenantStore } from '../src/storage/tenants.ts';
import { KeyService, type JWK } from '../src/keys/keys.ts';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

interface Store {
  database: Database;
  cleanup: () => Promise<void>;
}

async function storeOn(serverUrl?: string): Promise<Store> {
  const database = await openTestStore(serverUrl);
  return { database, cleanup: database.dispose };
}
const sqliteStore = () => storeOn();
const postgresStore = (url: string) => storeOn(url);

async function addTenant(database: Database, slug: string): Promise<string> {
  const id = `ten_${slug}`;
  const now = Date.now();
  await database.db
    .insertInto('tenants')
    .values({
      id,
      slug,
      name: slug,
      session_lifetime_minutes: 120,
      settings: '{}',
      created_at: now,
      updated_at: now,
      version: 1,
    })
    .execute();
  return id;
}

const kidsOf = (jwks: { keys: JWK[] }) => jwks.keys.map((k) => k.kid);

async function suite(t: TestContext, store: Store): Promise<void> {
  const { database } = store;
  const sealer = new Sealer('test-secret');
  let clock = Date.now();
  const keys = new KeyService({ keyStore: new SigningKeyStore(database.db), tenantStore: new TenantStore(database.db), sealer, now: () => clock });
  const rows = (tenantId: string) => database.db.selectFrom('signing_keys').selectAll().where('tenant_id', '=', tenantId).execute();

  const tenant = await addTenant(database, 'acme');
  await keys.ensureKeys(tenant);

  await t.test('ensureKeys creates an active and a next key per algorithm, and is idempotent', async () => {
    const first = await rows(tenant);
    assert.equal(first.length, 4);
    for (const alg of ['RS256', 'ES256'] as const) {
      assert.equal(first.filter((r) => r.alg === alg && r.status === 'active').length, 1, `one active ${alg}`);
      assert.equal(first.filter((r) => r.alg === alg && r.status === 'next').length, 1, `one next ${alg}`);
    }
    await keys.ensureKeys(tenant);
    const again = await rows(tenant);
    assert.deepEqual(again.map((r) => r.kid).sort(), first.map((r) => r.kid).sort());
  });

  await t.test('concurrent ensureKeys on a new tenant ends with exactly one active and one next key per algorithm', async () => {
    // Several tenants at once, so that an unserialised check-then-insert would show up reliably.
    const others = await Promise.all([1, 2, 3, 4].map((i) => addTenant(database, `race${i}`)));
    const second = new KeyService({ keyStore: new SigningKeyStore(database.db), tenantStore: new TenantStore(database.db), sealer, now: () => clock });
    await Promise.all(others.flatMap((id) => [keys.ensureKeys(id), second.ensureKeys(id), keys.ensureKeys(id)]));
    for (const id of others) {
      const r = await rows(id);
      assert.deepEqual(r.map((x) => `${x.alg}:${x.status}`).sort(), ['ES256:active', 'ES256:next', 'RS256:active', 'RS256:next']);
    }
  });

  await t.test('JWKS lists active keys first, then next keys; engine keys are private, public keys are not', async () => {
    const list = await keys.list(tenant);
    const active = list.filter((k) => k.status === 'active').map((k) => k.kid);
    const next = list.filter((k) => k.status === 'next').map((k) => k.kid);
    const engine = await keys.jwksForEngine(tenant);
    const pub = await keys.publicJwks(tenant);
    assert.deepEqual(new Set(kidsOf(engine).slice(0, 2)), new Set(active));
    assert.deepEqual(new Set(kidsOf(engine).slice(2)), new Set(next));
    assert.deepEqual(kidsOf(pub), kidsOf(engine));
    for (const k of engine.keys) {
      assert.equal(typeof k.d, 'string', 'engine key carries its private part');
      assert.equal(k.use, 'sig');
      assert.ok(Array.isArray(k.x5c) && k.x5c.length === 1);
      assert.equal(k.key_ops, undefined);
    }
    for (const k of pub.keys) {
      for (const p of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(k[p], undefined, `public key has no ${p}`);
      assert.ok(k.kid && k.alg && k.use === 'sig');
    }
  });

  await t.test('each key has a valid self-signed X.509 certificate for two years matching its JWK', async () => {
    const byKid = new Map((await rows(tenant)).map((r) => [r.kid, r]));
    const engine = await keys.jwksForEngine(tenant);
    for (const jwk of (await keys.publicJwks(tenant)).keys) {
      const der = Buffer.from(jwk.x5c[0]!, 'base64');
      const cert = new X509Certificate(der);
      const row = byKid.get(jwk.kid)!;
      assert.equal(new X509Certificate(row.cert_pem).fingerprint256, cert.fingerprint256, 'cert_pem is the same certificate');
      assert.ok(cert.verify(cert.publicKey), 'self-signed');
      assert.match(cert.subject, new RegExp(`CN=Gatehouse signing key ${jwk.kid}`));
      assert.match(cert.subject, /O=acme/);
      const validDays = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY;
      assert.ok(validDays >= 729 && validDays <= 732, `valid ~2 years, got ${validDays} days`);
      assert.equal(row.not_after, Date.parse(cert.validTo));
      assert.equal(jwk['x5t#S256'], crypto.createHash('sha256').update(der).digest('base64url'));

      const certJwk = cert.publicKey.export({ format: 'jwk' });
      if (jwk.alg === 'RS256') {
        assert.equal(jwk.kty, 'RSA');
        assert.equal(certJwk.n, jwk.n);
        assert.equal(certJwk.e, jwk.e);
        assert.equal(Buffer.from(jwk.n as string, 'base64url').length, 256, 'RSA 2048');
      } else {
        assert.equal(jwk.kty, 'EC');
        assert.equal(jwk.crv, 'P-256');
        assert.equal(certJwk.x, jwk.x);
        assert.equal(certJwk.y, jwk.y);
      }
      const priv = engine.keys.find((k) => k.kid === jwk.kid)!;
      assert.ok(cert.checkPrivateKey(crypto.createPrivateKey({ key: priv as crypto.JsonWebKey, format: 'jwk' })));
    }
  });

  await t.test('private keys are sealed at rest', async () => {
    for (const r of await rows(tenant)) {
      assert.ok(!r.private_sealed.includes('"d":'), 'no clear private key');
      assert.ok(!r.public_jwk.includes('"d":'), 'public JWK has no private part');
      assert.equal(typeof JSON.parse(sealer.open(r.private_sealed)).d, 'string');
    }
  });

  await t.test('a JWT signed with the active key verifies against the public JWKS', async () => {
    const engine = await keys.jwksForEngine(tenant);
    const jwks = jose.createLocalJWKSet((await keys.publicJwks(tenant)) as jose.JSONWebKeySet);
    for (const alg of ['RS256', 'ES256'] as const) {
      const active = engine.keys.find((k) => k.alg === alg)!; // first of its alg = the one that signs
      const token = await new jose.SignJWT({ sub: 'u1' })
        .setProtectedHeader({ alg, kid: active.kid })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(await jose.importJWK(active as jose.JWK, alg));
      const { payload, protectedHeader } = await jose.jwtVerify(token, jwks);
      assert.equal(payload.sub, 'u1');
      assert.equal(protectedHeader.kid, active.kid);
    }
  });

  await t.test('oidc-provider accepts the engine JWKS and publishes it in the same order, without private parts', async () => {
    const engine = await keys.jwksForEngine(tenant);
    const provider = new Provider('http://localhost', { jwks: engine as never, features: { devInteractions: { enabled: false } } });
    const server = http.createServer(provider.callback()).listen(0, '127.0.0.1');
    try {
      await new Promise((resolve) => server.once('listening', resolve));
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/jwks`);
      const body = (await res.json()) as { keys: JWK[] };
      assert.deepEqual(kidsOf(body), kidsOf(engine));
      assert.ok(!JSON.stringify(body).includes('"d":'));
    } finally {
      server.close();
    }
  });

  await t.test('rotate promotes next to active and active to retired, and adds a new next key', async () => {
    const before = await keys.list(tenant);
    const publishedBefore = kidsOf(await keys.publicJwks(tenant));
    const oldActive = before
      .filter((k) => k.status === 'active')
      .map((k) => k.kid)
      .sort();
    const oldNext = before
      .filter((k) => k.status === 'next')
      .map((k) => k.kid)
      .sort();

    clock += 8 * DAY; // the next keys have been published for more than the 7 days, so rotate acts at once
    const result = await keys.rotate(tenant);
    assert.deepEqual([...result.activated].sort(), oldNext);
    assert.deepEqual([...result.retired].sort(), oldActive);
    assert.equal(result.created.length, 2);
    for (const kid of result.activated) assert.ok(publishedBefore.includes(kid), 'the key that starts signing was already published');

    const after = await keys.list(tenant);
    const status = new Map(after.map((k) => [k.kid, k]));
    for (const kid of oldNext) {
      assert.equal(status.get(kid)!.status, 'active');
      assert.equal(status.get(kid)!.activatedAt, clock);
    }
    for (const kid of oldActive) {
      assert.equal(status.get(kid)!.status, 'retired');
      assert.equal(status.get(kid)!.retiredAt, clock);
    }
    for (const kid of result.created) assert.equal(status.get(kid)!.status, 'next');

    const engine = kidsOf(await keys.jwksForEngine(tenant));
    assert.deepEqual(new Set(engine.slice(0, 2)), new Set(oldNext), 'new active keys sign first');
    assert.deepEqual(new Set(engine.slice(2, 4)), new Set(result.created));
    assert.deepEqual(new Set(engine.slice(4)), new Set(oldActive), 'retired keys stay published during the grace period');

    // One algorithm only.
    clock += HOUR;
    await assert.rejects(
      keys.rotate(tenant, 'ES256', 'now'),
      (e: Error) => /published only 1 hours ago.*--force/s.test(e.message),
      'a key published an hour ago does not sign without --force',
    );
    const es = await keys.rotate(tenant, 'ES256', 'force');
    assert.equal(es.activated.length, 1);
    assert.equal(status.get(es.activated[0]!)!.alg, 'ES256');
    const afterEs = await keys.list(tenant);
    assert.equal(afterEs.filter((k) => k.alg === 'RS256' && k.status === 'retired').length, 1);
    assert.equal(afterEs.filter((k) => k.alg === 'ES256' && k.status === 'retired').length, 2);
    assert.equal(afterEs.filter((k) => k.status === 'active').length, 2);
  });

  await t.test('purgeRetired removes only retired keys past the grace period', async () => {
    const retired = (await keys.list(tenant)).filter((k) => k.status === 'retired');
    assert.equal(retired.length, 3); // RS256 + ES256 from the first rotation (t0+8d), ES256 from the second (t0+8d+1h)
    const firstRotation = Math.min(...retired.map((k) => k.retiredAt!));

    assert.equal(await keys.purgeRetired(tenant), 0, 'nothing is past the grace period yet');

    clock = firstRotation + DAY + 1; // the first rotation's keys are past 24 h, the second's are not
    assert.equal(kidsOf(await keys.publicJwks(tenant)).length, 5, 'expired-grace keys are no longer published');
    assert.equal(await keys.purgeRetired(tenant), 2);
    const left = await keys.list(tenant);
    assert.equal(left.length, 5);
    assert.equal(left.filter((k) => k.status === 'retired').length, 1);
    assert.equal(left.filter((k) => k.status === 'active').length, 2);
    assert.equal(left.filter((k) => k.status === 'next').length, 2);

    clock += 2 * HOUR;
    assert.equal(await keys.purgeRetired(undefined), 1, 'all tenants');
  });

  await t.test('expiringSoon flags the active key whose certificate expires within 60 days', async () => {
    assert.deepEqual(await keys.expiringSoon(tenant), []);
    assert.ok((await keys.list(tenant)).every((k) => !k.expiresSoon));

    const active = (await keys.list(tenant)).find((k) => k.alg === 'RS256' && k.status === 'active')!;
    await database.db
      .updateTable('signing_keys')
      .set({ not_after: clock + 30 * DAY })
      .where('kid', '=', active.kid)
      .execute();
    const soon = await keys.expiringSoon(tenant);
    assert.deepEqual(
      soon.map((k) => k.kid),
      [active.kid],
    );
    assert.equal(soon[0]!.tenantId, tenant);
    assert.deepEqual(await keys.expiringSoon(tenant, 10), [], 'not within 10 days');
    assert.deepEqual(
      (await keys.expiringSoon()).map((k) => k.kid),
      [active.kid],
      'all tenants',
    );
    assert.equal((await keys.list(tenant)).find((k) => k.kid === active.kid)!.expiresSoon, true);

    // Once rotated out, it no longer needs attention.
    await keys.rotate(tenant, 'RS256', 'force');
    assert.deepEqual(await keys.expiringSoon(tenant), []);
  });

  await lifecycle(t, database, sealer);

  await t.test('unknown tenant is rejected', async () => {
    await assert.rejects(keys.ensureKeys('ten_nope'), /not found/);
  });
}

/** The automatic lifecycle (issue 16 point 1), with the clock moved. */
async function lifecycle(t: TestContext, database: Database, sealer: Sealer): Promise<void> {
  const real = Date.now();
  let clock = real;
  const service = (policy?: { publishDays?: number; rotateBeforeDays?: number }) =>
    new KeyService({
      keyStore: new SigningKeyStore(database.db),
      tenantStore: new TenantStore(database.db),
      sealer,
      now: () => clock,
      ...(policy && { policy }),
    });
  const keys = service();
  const byStatus = async (id: string, alg = 'RS256') => {
    const l = (await keys.list(id)).filter((k) => k.alg === alg);
    return { active: l.find((k) => k.status === 'active')!, next: l.find((k) => k.status === 'next')!, retired: l.filter((k) => k.status === 'retired') };
  };

  await t.test('a data dir whose keys are 23 months old: a fresh next key at once, signing 7 days later; the alert then clears', async () => {
    const id = await addTenant(database, 'old');
    clock = real - 700 * DAY;
    await keys.ensureKeys(id);
    const before = await byStatus(id);
    const jwksBefore = await keys.publicJwks(id);
    clock = real;
    assert.deepEqual(
      (await keys.expiringSoon(id)).map((k) => k.kid).sort(),
      (await keys.list(id))
        .filter((k) => k.status === 'active')
        .map((k) => k.kid)
        .sort(),
      'the 60-day alert is on',
    );

    const r = await keys.maintain(id);
    // The old next key expires with the active one: activating it would not help, so a fresh one replaces it.
    assert.equal(r.activated.length, 0, 'nothing signs with a key published seconds ago');
    assert.ok(r.removed.includes(before.next.kid));
    const mid = await byStatus(id);
    assert.equal(mid.active.kid, before.active.kid, 'the old key signs meanwhile');
    assert.ok(r.created.includes(mid.next.kid));
    assert.equal(mid.next.publishedAt, clock);
    assert.equal(mid.next.activatesAt, clock + 7 * DAY);
    assert.ok(mid.next.notAfter > clock + 729 * DAY, 'its certificate runs two years from its own creation');
    const published = kidsOf(await keys.publicJwks(id));
    assert.ok(published.includes(mid.next.kid) && !published.includes(before.next.kid) && published.includes(before.active.kid));
    assert.deepEqual(changedKeysOf(await keys.maintain(id)), [], 'idempotent');

    // A token signed before the rotation, by the old active key.
    const engine = await keys.jwksForEngine(id);
    const oldActive = engine.keys.find((k) => k.kid === before.active.kid)!;
    const token = await new jose.SignJWT({ sub: 'u1' })
      .setProtectedHeader({ alg: 'RS256', kid: oldActive.kid })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(await jose.importJWK(oldActive as jose.JWK, 'RS256'));

    clock += 7 * DAY - HOUR;
    assert.deepEqual((await keys.maintain(id)).activated, [], 'not before its 7 days');
    assert.ok(
      (await keys.expiringSoon(id)).some((k) => k.kid === before.active.kid),
      'the alert stays while the old key signs',
    );
    clock += HOUR;
    const rot = await keys.maintain(id);
    assert.ok(rot.activated.includes(mid.next.kid));
    assert.ok(rot.retired.includes(before.active.kid));
    const after = await byStatus(id);
    assert.equal(after.active.kid, mid.next.kid);
    assert.equal(after.active.activatesAt, clock);
    assert.ok(!(await keys.expiringSoon(id)).some((k) => k.alg === 'RS256'), 'the alert clears once the fresh key signs');
    assert.equal(after.next.activatesAt, after.active.notAfter - 90 * DAY, 'the next rotation is 90 days before the new certificate expires');
    const jwksAfter = await keys.publicJwks(id);
    assert.ok(kidsOf(jwksAfter).includes(before.active.kid), 'the retired key stays published');
    await jose.jwtVerify(token, jose.createLocalJWKSet(jwksAfter as jose.JSONWebKeySet), { currentDate: new Date(real + 10 * 60_000) });
    assert.ok(kidsOf(jwksBefore).every((k) => k !== after.next.kid));
    clock += DAY + 1;
    assert.ok(!kidsOf(await keys.publicJwks(id)).includes(before.active.kid), 'removed once every token it signed has expired');
    assert.ok((await keys.purgeRetired(id)) >= 1);
  });

  await t.test(
    'over four years on the schedule: every rotation 90 days before expiry, with a key published 7 days or more; the 60-day alert never fires',
    async () => {
      const id = await addTenant(database, 'years');
      clock = real;
      await keys.ensureKeys(id);
      const activations: Array<{ kid: string; at: number; publishedAt: number; notAfterOfRetired: number }> = [];
      let current = (await byStatus(id)).active;
      for (let day = 0; day < 4 * 365; day += 5) {
        clock = real + day * DAY;
        await keys.maintain(id);
        assert.deepEqual(await keys.expiringSoon(id), [], `no alert on day ${day}`);
        const s = await byStatus(id);
        if (s.active.kid !== current.kid) {
          activations.push({ kid: s.active.kid, at: s.active.activatesAt!, publishedAt: s.active.publishedAt, notAfterOfRetired: current.notAfter });
          current = s.active;
        }
      }
      // 2 years less 90 days, less the publication period of the replacement next key.
      assert.equal(activations.length, 2, `rotated ${activations.length} times`);
      for (const a of activations) {
        assert.ok(a.at - a.publishedAt >= 7 * DAY, 'published 7 days or more before signing');
        const left = (a.notAfterOfRetired - a.at) / DAY;
        assert.ok(left <= 90 && left > 80, `rotated ${left} days before the old certificate expired`);
      }
    },
  );

  await t.test('keys rotate: at once with a long-published key; with a fresh one, scheduled; --now refuses a fresh key unless forced', async () => {
    const id = await addTenant(database, 'manual');
    clock = real;
    await keys.ensureKeys(id);
    const first = await byStatus(id, 'ES256');
    const now = await keys.rotate(id, 'ES256', 'now').catch((e: Error) => e);
    assert.ok(now instanceof Error && (now as { status?: number }).status === 409);
    assert.match(now.message, /published only 0 hours ago, less than the 7 days.*without --now.*--force/s);
    assert.equal((await byStatus(id, 'ES256')).active.kid, first.active.kid, 'a refusal changes nothing');

    clock += DAY;
    const safe = await keys.rotate(id, 'ES256');
    assert.deepEqual(safe.activated, []);
    assert.deepEqual(safe.scheduled, [{ kid: first.next.kid, alg: 'ES256', activatesAt: real + 7 * DAY }]);
    assert.equal((await byStatus(id, 'ES256')).next.activatesAt, real + 7 * DAY, 'asked for: as soon as it is safe, not 90 days before expiry');
    assert.equal((await byStatus(id, 'RS256')).next.activatesAt, first.active.notAfter - 90 * DAY, 'the other algorithm keeps its schedule');
    clock = real + 7 * DAY;
    const done = await keys.maintain(id);
    assert.deepEqual(done.activated, [first.next.kid], 'the scheduled work carries it out');

    const forced = await keys.rotate(id, 'ES256', 'force');
    assert.equal(forced.activated.length, 1, 'force signs with the key published seconds ago');
  });

  await t.test('two nodes running the scheduled work at once make one change', async () => {
    const id = await addTenant(database, 'race-maintain');
    clock = real - 700 * DAY;
    await keys.ensureKeys(id);
    clock = real;
    const other = service();
    await Promise.all([keys.maintain(id), other.maintain(id), keys.maintain(id)]);
    let rows = await keys.list(id);
    assert.deepEqual(
      rows.map((k) => `${k.alg}:${k.status}`).sort(),
      ['ES256:active', 'ES256:next', 'RS256:active', 'RS256:next'],
      'one fresh next key per algorithm',
    );
    clock = real + 7 * DAY;
    const results = await Promise.all([keys.maintain(id), other.maintain(id)]);
    assert.equal(results.flatMap((r) => r.activated).length, 2, 'one rotation per algorithm');
    rows = await keys.list(id);
    assert.deepEqual(rows.map((k) => `${k.alg}:${k.status}`).sort(), [
      'ES256:active',
      'ES256:next',
      'ES256:retired',
      'RS256:active',
      'RS256:next',
      'RS256:retired',
    ]);
  });

  await t.test('settings: rotation N days before expiry, publication period', async () => {
    const id = await addTenant(database, 'policy');
    clock = real;
    await keys.ensureKeys(id);
    const custom = service({ publishDays: 14, rotateBeforeDays: 120 });
    const s = (await custom.list(id)).find((k) => k.alg === 'RS256' && k.status === 'next')!;
    const active = (await custom.list(id)).find((k) => k.alg === 'RS256' && k.status === 'active')!;
    assert.equal(s.activatesAt, active.notAfter - 120 * DAY);
    const r = await custom.rotate(id, 'RS256');
    assert.deepEqual(
      r.scheduled.map((x) => x.activatesAt),
      [real + 14 * DAY],
    );
  });
}

const changedKeysOf = (r: { activated: string[]; created: string[]; removed: string[] }) => [...r.activated, ...r.created, ...r.removed];

test('signing keys on SQLite', async (t) => {
  const store = await sqliteStore();
  try {
    await suite(t, store);
  } finally {
    await store.cleanup();
  }
});

test('signing keys on PostgreSQL', async (t) => {
  const url = process.env.DATABASE_URL;
  if (!url) {
    t.skip('DATABASE_URL not set: PostgreSQL suite skipped');
    return;
  }
  const store = await postgresStore(url);
  try {
    await suite(t, store);
  } finally {
    await store.cleanup();
  }
});
