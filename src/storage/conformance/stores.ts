// Conformance suites: one contract per store (aggregate). Every backend runs the same suite
// (test/stores.test.ts): SQLite and PostgreSQL. A new store gets its suite here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GatehouseError } from '../../shared/errors.ts';
import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import { TenantStore } from '../tenants.ts';
import { UserStore } from '../users.ts';
import { AppStore } from '../apps.ts';
import { AuditStore } from '../audit.ts';
import { InstanceStore } from '../instance.ts';
import { UpstreamStore, type UpstreamSettings } from '../upstreams.ts';
import { MfaStore } from '../mfa.ts';
import { PushStore } from '../push.ts';
import { SessionStore, type SsoSessionRecord } from '../sessions.ts';
import { SigninAddressStore } from '../signin-addresses.ts';
import { DeviceSessionStore, CHECKOUT_NOTE_MS, type NewDeviceSession } from '../device-sessions.ts';
import { SealedStore, SEALED_COLUMNS } from '../sealed.ts';
import { LdapStore } from '../ldap.ts';
import { ConnectorStore } from '../connectors.ts';
import { WorkstationStore } from '../workstations.ts';
import { PolicyStore } from '../policies.ts';
import { SigningKeyStore, type SigningKeyRow } from '../signing-keys.ts';
import { SetupLinkStore } from '../setup-links.ts';
import { SqlThrottle, purgeThrottleCounters } from '../throttle-counters.ts';
import { SamlRequestStore } from '../saml-requests.ts';
import { DEFAULT_SAML } from '../../saml/settings.ts';
import type { DirectorySettings } from '../../directory/ldap/settings.ts';
import { MailStore } from '../mail.ts';
import { UserLinkStore } from '../user-links.ts';

const conflictOrStale = (e: GatehouseError) => e.status === 409;

export function storeConformance(name: string, open: () => Promise<{ db: Kysely<DB>; close(): Promise<void> }>, skip: string | false = false) {
  const suite = (title: string, fn: (db: Kysely<DB>) => Promise<void>) =>
    test(`${name}: ${title}`, { skip }, async () => {
      const h = await open();
      try {
        await fn(h.db);
      } finally {
        await h.close();
      }
    });

  suite('instance settings: set, replace, first writer wins', async (db) => {
    const s = new InstanceStore(db);
    assert.equal(await s.get('check'), undefined);
    assert.equal(await s.setIfAbsent('check', 'one'), 'one');
    assert.equal(await s.setIfAbsent('check', 'two'), 'one', 'a second writer keeps the first value');
    await s.set('check', 'three');
    assert.equal(await s.get('check'), 'three');
  });

  suite('tenants: create, unique slug, optimistic concurrency', async (db) => {
    const s = new TenantStore(db);
    const t = await s.create({ slug: 'acme' });
    assert.equal(t.sessionLifetimeMinutes, 120);
    await assert.rejects(s.create({ slug: 'acme' }), (e: GatehouseError) => e.status === 409);
    const u = await s.update(t.id, t.version, { sessionLifetimeMinutes: 30 });
    assert.equal(u.version, t.version + 1);
    await assert.rejects(s.update(t.id, t.version, { name: 'stale' }), (e: GatehouseError) => e.code === 'version_conflict');
    assert.equal((await s.bySlug('acme'))!.sessionLifetimeMinutes, 30);
  });

  suite('directory: users, email uniqueness per tenant, paging and search', async (db) => {
    const tenants = new TenantStore(db);
    const [a, b] = [await tenants.create({ slug: 'a' }), await tenants.create({ slug: 'b' })];
    const d = new UserStore(db);
    const u = await d.createUser({ tenantId: a.id, email: 'Alice@Example.TEST', givenName: 'Alice' });
    assert.equal(u.email, 'alice@example.test');
    assert.equal(u.domain, 'example.test');
    await assert.rejects(d.createUser({ tenantId: a.id, email: 'alice@example.test' }), (e: GatehouseError) => e.status === 409);
    await d.createUser({ tenantId: b.id, email: 'alice@example.test' }); // same email, other tenant
    assert.equal((await d.userByEmail(b.id, 'ALICE@example.test'))!.tenantId, b.id);
    for (let i = 0; i < 25; i++) await d.createUser({ tenantId: a.id, email: `user${String(i).padStart(2, '0')}@example.test` });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await d.listUsers(a.id, { limit: 10, cursor });
      seen.push(...page.items.map((x) => x.email));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    assert.equal(seen.length, 26);
    assert.deepEqual(seen, [...seen].sort());
    assert.equal((await d.listUsers(a.id, { search: 'user1' })).items.length, 10);
    assert.equal((await d.listUsers(a.id, { search: '100%_' })).items.length, 0, 'LIKE wildcards are literal');
    await d.createUser({ tenantId: a.id, email: 'under_score@example.test' });
    assert.deepEqual(
      (await d.listUsers(a.id, { search: 'r_s' })).items.map((x) => x.email),
      ['under_score@example.test'],
    );
    const updated = await d.updateUser(a.id, u.id, u.version, { status: 'disabled' });
    assert.equal(updated.status, 'disabled');
    assert.equal(updated.locale, null, 'no language saved until the user picks one');
    assert.equal((await d.updateUser(a.id, u.id, undefined, { locale: 'de' })).locale, 'de');
    assert.equal((await d.userById(a.id, u.id))?.locale, 'de');
    await assert.rejects(d.updateUser(a.id, u.id, u.version, { status: 'active' }), (e: GatehouseError) => e.code === 'version_conflict');
    await assert.rejects(d.updateUser(b.id, u.id, undefined, { status: 'active' }), (e: GatehouseError) => e.status === 404, 'another tenant cannot touch it');
    assert.deepEqual(await d.listDomains(a.id), ['example.test']);
  });

  suite('directory: groups, membership and the OU tree', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'g' });
    const d = new UserStore(db);
    const u = await d.createUser({ tenantId: t.id, email: 'x@example.test' });
    const g = await d.createGroup(t.id, 'Staff');
    await assert.rejects(d.createGroup(t.id, 'Staff'), (e: GatehouseError) => e.status === 409);
    await d.addMember(t.id, g.id, u.id);
    await d.addMember(t.id, g.id, u.id); // idempotent
    assert.deepEqual(
      (await d.groupsOfUser(t.id, u.id)).map((x) => x.name),
      ['Staff'],
    );
    await d.removeMember(t.id, g.id, u.id);
    assert.equal((await d.groupsOfUser(t.id, u.id)).length, 0);
    const leaf = await d.ensureOu(t.id, 'Sales / EMEA/');
    assert.equal(leaf.path, '/Sales/EMEA');
    const parent = await d.ouByPath(t.id, '/Sales');
    assert.equal(leaf.parentId, parent!.id);
    assert.equal((await d.ensureOu(t.id, '/Sales/EMEA')).id, leaf.id, 'idempotent');
    assert.deepEqual(
      (await d.listOus(t.id)).map((o) => o.path),
      ['/Sales', '/Sales/EMEA'],
    );
  });

  suite('apps: profiles, unique names and client IDs, deployment targets', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'p' });
    const s = new AppStore(db);
    const input = {
      name: 'crm',
      displayName: 'CRM',
      type: 'web' as const,
      redirectUris: ['https://x.test/cb'],
      postLogoutRedirectUris: [],
      backchannelLogoutUri: null,
      homeUrl: null,
      claims: [{ name: 'dept', value: 'Sales' }],
      tokenTtls: { accessToken: 600 },
    };
    const app = await s.create(t.id, 'client-0001', 'sealed', input);
    assert.deepEqual((await s.byClientId('client-0001'))!.claims, [{ name: 'dept', value: 'Sales' }]);
    await assert.rejects(s.create(t.id, 'client-0002', null, input), (e: GatehouseError) => e.status === 409);
    await assert.rejects(s.create(t.id, 'client-0001', null, { ...input, name: 'other' }), (e: GatehouseError) => e.status === 409);
    await s.addTarget(t.id, app.id, { type: 'group', id: 'grp1' });
    await s.addTarget(t.id, app.id, { type: 'group', id: 'grp1' });
    assert.equal((await s.targets(app.id)).length, 1);
    assert.equal(await s.matchesAnyTarget(app.id, { userId: 'u', groupIds: ['grp1'], ouIds: [], domain: 'x' }), true);
    assert.equal(await s.matchesAnyTarget(app.id, { userId: 'u', groupIds: ['grp2'], ouIds: [], domain: 'x' }), false);
    const updated = await s.update(t.id, 'client-0001', app.version, { deployAll: true });
    assert.equal(updated.deployAll, true);
    await assert.rejects(s.update(t.id, 'client-0001', app.version, { displayName: 'stale' }), (e: GatehouseError) => e.code === 'version_conflict');
    await s.delete(t.id, 'client-0001');
    assert.equal(await s.byClientId('client-0001'), undefined);
    assert.equal((await s.targets(app.id)).length, 0, 'targets go with the app');
  });

  suite('apps: SAML profiles by SP entity ID, unique per tenant; replayed request IDs', async (db) => {
    const tenants = new TenantStore(db);
    const t = await tenants.create({ slug: 'sp' });
    const other = await tenants.create({ slug: 'sp2' });
    const s = new AppStore(db);
    const saml = { ...DEFAULT_SAML, entityId: 'https://sp.test/metadata', acs: [{ url: 'https://sp.test/acs', index: 0 }] };
    const input = {
      name: 'portal',
      displayName: 'Portal',
      type: 'saml' as const,
      redirectUris: [],
      postLogoutRedirectUris: [],
      backchannelLogoutUri: null,
      homeUrl: null,
      claims: [],
      tokenTtls: {},
      saml,
    };
    await s.create(t.id, 'saml-0001', null, input);
    assert.deepEqual((await s.bySamlEntityId(t.id, saml.entityId))!.saml, saml);
    assert.equal(await s.bySamlEntityId(other.id, saml.entityId), undefined, 'another tenant does not see it');
    await assert.rejects(
      s.create(t.id, 'saml-0002', null, { ...input, name: 'portal2' }),
      (e: GatehouseError) => e.status === 409 && /entity ID/.test(e.message),
    );
    await s.create(other.id, 'saml-0003', null, input); // the same SP may be registered in another tenant
    const moved = await s.update(t.id, 'saml-0001', undefined, { saml: { ...saml, entityId: 'https://sp.test/new' } });
    assert.equal(moved.saml!.entityId, 'https://sp.test/new');
    assert.equal(await s.bySamlEntityId(t.id, saml.entityId), undefined);
    assert.equal((await s.bySamlEntityId(t.id, 'https://sp.test/new'))!.clientId, 'saml-0001');
    const seen = new SamlRequestStore(db);
    const later = Date.now() + 60_000;
    assert.equal(await seen.firstUse(t.id, 'https://sp.test/new', '_abc', later), true);
    assert.equal(await seen.firstUse(t.id, 'https://sp.test/new', '_abc', later), false, 'a replay');
    assert.equal(await seen.firstUse(other.id, 'https://sp.test/new', '_abc', later), true, 'tenants are separate');
    assert.equal(await seen.firstUse(t.id, 'https://sp.test/x', '_old', Date.now() - 1), true);
    assert.equal(await seen.purgeExpired(), 1);
  });

  suite('audit: record, filter, page newest first', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'au' });
    const s = new AuditStore(db);
    for (let i = 0; i < 7; i++)
      await s.record({
        tenantId: t.id,
        type: i % 2 ? 'signin.failed' : 'signin.succeeded',
        level: i % 2 ? 'warn' : 'info',
        data: { email: `u${i}@example.test` },
      });
    const warn = await s.query({ tenantId: t.id, level: 'warn' });
    assert.equal(warn.items.length, 3);
    assert.equal((await s.query({ tenantId: t.id, text: 'U6@EXAMPLE' })).items.length, 1);
    const first = await s.query({ tenantId: t.id, limit: 4 });
    const second = await s.query({ tenantId: t.id, limit: 4, cursor: first.nextCursor! });
    assert.equal(first.items.length + second.items.length, 7);
    assert.equal(second.nextCursor, null);
    assert.ok(first.items[0]!.at >= first.items[3]!.at);
  });

  suite('directory: administrator roles are found by exact name', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'ro' });
    const d = new UserStore(db);
    // biome-ignore lint/suspicious/noExplicitAny: the contract checks a role stored as given
    await d.createUser({ tenantId: t.id, email: 'helpdesk@example.test', roles: ['helpdesk'] as any });
    assert.equal(await d.hasUserWithRole(t.id, 'superadmin'), false);
    await d.createUser({ tenantId: t.id, email: 'root@example.test', roles: ['superadmin'] });
    assert.equal(await d.hasUserWithRole(t.id, 'superadmin'), true);
    const other = await new TenantStore(db).create({ slug: 'ro2' });
    assert.equal(await d.hasUserWithRole(other.id, 'superadmin'), false, 'per tenant');
  });

  suite('policies: unique names, precedence order, versions, delete', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'po' });
    const s = new PolicyStore(db);
    const b = await s.create(t.id, { name: 'b', priority: 2, targets: [{ type: 'all', id: '*' }], settings: { ssoEnabled: false } });
    const a = await s.create(t.id, { name: 'a', priority: 1, targets: [], settings: {} });
    await assert.rejects(s.create(t.id, { name: 'b', priority: 3, targets: [], settings: {} }), conflictOrStale);
    assert.deepEqual(
      (await s.list(t.id)).map((p) => p.name),
      ['a', 'b'],
      'priority 1 first',
    );
    assert.deepEqual((await s.list(t.id))[1]!.settings, { ssoEnabled: false });
    assert.deepEqual(await s.withPriority(t.id, 2), [{ id: b.id, name: 'b' }]);
    await s.update(t.id, a.id, a.version, { priority: 5 });
    await assert.rejects(s.update(t.id, a.id, a.version, { priority: 6 }), (e: GatehouseError) => e.code === 'version_conflict');
    await assert.rejects(s.update(t.id, a.id, undefined, { name: 'b' }), conflictOrStale, 'name taken');
    await assert.rejects(s.update(t.id, 'pol_missing', undefined, { priority: 7 }), (e: GatehouseError) => e.status === 404);
    assert.deepEqual(
      (await s.list(t.id)).map((p) => [p.name, p.version]),
      [
        ['b', 1],
        ['a', 2],
      ],
    );
    await s.delete(t.id, b.id);
    await assert.rejects(s.delete(t.id, b.id), (e: GatehouseError) => e.status === 404);
    const other = await new TenantStore(db).create({ slug: 'po2' });
    assert.deepEqual(await s.list(other.id), [], 'per tenant');
  });

  suite('signing keys: changes under the tenant lock, rotation states, expiry, purge', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'sk' });
    const s = new SigningKeyStore(db);
    const row = (kid: string, status: SigningKeyRow['status'], at: number, notAfter = at + 1000): SigningKeyRow => ({
      kid,
      tenant_id: t.id,
      alg: 'ES256',
      status,
      private_sealed: 'v1.x',
      public_jwk: '{}',
      cert_pem: '',
      not_after: notAfter,
      created_at: at,
      activated_at: null,
      retired_at: null,
      published_at: at,
      activates_at: null,
    });
    await s.changeUnderLock(t.id, async (c) => {
      await c.insert(row('k1', 'active', 1));
      await c.insert(row('k2', 'next', 2));
    });
    await assert.rejects(
      s.changeUnderLock(t.id, async (c) => {
        await c.insert(row('k3', 'next', 3));
        throw new Error('generation failed');
      }),
    );
    assert.deepEqual(
      (await s.rows(t.id, ['active', 'next', 'retired'])).map((r) => r.kid),
      ['k2', 'k1'],
      'a failed change leaves nothing; newest first',
    );
    await s.changeUnderLock(t.id, async (c) => {
      assert.equal((await c.rows(t.id, ['next'])).length, 1);
      await c.retire(['k1'], 100);
      await c.activate('k2', 100);
      await c.insert(row('k4', 'next', 100, 5000));
    });
    const byKid = new Map((await s.rows(t.id, ['active', 'next', 'retired'])).map((r) => [r.kid, r]));
    assert.equal(byKid.get('k1')!.status, 'retired');
    assert.equal(byKid.get('k1')!.retired_at, 100);
    assert.equal(byKid.get('k2')!.status, 'active');
    assert.equal(byKid.get('k2')!.activated_at, 100);
    assert.deepEqual(
      (await s.expiringBy(1002, t.id)).map((r) => r.kid),
      ['k2'],
      'retired keys are not reported',
    );
    assert.deepEqual(
      (await s.expiringBy(6000, t.id)).map((r) => r.kid),
      ['k2'],
      'nor next keys: only the key that signs',
    );
    assert.equal(byKid.get('k4')!.published_at, 100);
    await s.changeUnderLock(t.id, async (c) => {
      await c.schedule('k4', 4000);
      await c.schedule('k2', 4000);
    });
    let now = new Map((await s.rows(t.id, ['active', 'next', 'retired'])).map((r) => [r.kid, r]));
    assert.equal(now.get('k4')!.activates_at, 4000);
    assert.equal(now.get('k2')!.activates_at, null, 'only a next key is scheduled');
    assert.deepEqual(await s.tenantIds().then((ids) => ids.includes(t.id)), true);
    assert.deepEqual(
      (await s.active()).filter((r) => r.tenant_id === t.id).map((r) => r.kid),
      ['k2'],
    );
    await s.changeUnderLock(t.id, async (c) => {
      await c.remove('k2');
      await c.remove('k4');
    });
    now = new Map((await s.rows(t.id, ['active', 'next', 'retired'])).map((r) => [r.kid, r]));
    assert.ok(now.has('k2') && !now.has('k4'), 'only a next key is removed');
    await s.changeUnderLock(t.id, async (c) => {
      await c.insert(row('k4', 'next', 100, 5000));
    });
    assert.equal(await s.purgeRetiredBefore(100, t.id), 0, 'not before its time');
    assert.equal(await s.purgeRetiredBefore(101), 1);
    assert.deepEqual(await s.rows(t.id, ['retired']), []);
  });

  suite('setup links: one at a time, redeemed once, expire', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'su' });
    const s = new SetupLinkStore(db);
    await s.replaceAll({ tokenHash: 'h1', tenantId: t.id, expiresAt: 1000 });
    assert.equal(await s.valid('h1', 999), true);
    assert.equal(await s.valid('h1', 1000), false, 'expired');
    await s.replaceAll({ tokenHash: 'h2', tenantId: t.id, expiresAt: 1000 });
    assert.equal(await s.valid('h1', 1), false, 'a new link ends the older one');
    assert.deepEqual(await Promise.all([s.redeem('h2', 10), s.redeem('h2', 10)]).then((r) => r.sort()), [false, true], 'only one redeemer wins');
    assert.equal(await s.valid('h2', 11), false);
    assert.equal(await s.redeem('unknown', 10), false);
  });

  suite('upstreams: unique names, versions, checks, links and just-in-time users', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'up' });
    const s = new UpstreamStore(db);
    const settings: UpstreamSettings = {
      type: 'oidc',
      clientId: 'c',
      discoveryUrl: 'https://idp.test',
      issuer: 'https://idp.test',
      scopes: ['openid'],
      domains: ['corp.test'],
      audience: 'staff',
      loginHint: true,
      showButton: false,
      testUsers: [],
      claimGate: null,
      externalIdClaim: 'oid',
      claims: { givenName: 'given_name', familyName: 'family_name', email: 'email' },
    };
    const up = await s.create(t.id, { name: 'Corp', mode: 'enabled', settings, clientSecretSealed: 'v1.s' });
    await assert.rejects(s.create(t.id, { name: 'Corp', mode: 'test', settings, clientSecretSealed: null }), conflictOrStale);
    const off = await s.create(t.id, { name: 'Off', mode: 'disabled', settings, clientSecretSealed: null });
    assert.deepEqual((await s.get(t.id, up.id)).settings, settings);
    assert.deepEqual(
      (await s.allLive()).filter((u) => u.tenantId === t.id).map((u) => u.name),
      ['Corp'],
    );
    const u2 = await s.update(t.id, up.id, up.version, { mode: 'test' });
    assert.equal(u2.version, up.version + 1);
    await assert.rejects(s.update(t.id, up.id, up.version, { mode: 'enabled' }), (e: GatehouseError) => e.code === 'version_conflict');
    await assert.rejects(s.update(t.id, up.id, undefined, { name: 'Off' }), conflictOrStale);
    await s.saveCheck(t.id, up.id, { ok: false, message: 'unreachable', checkedAt: 5 });
    await s.saveCheck(t.id, up.id, { ok: true, message: null, checkedAt: 6 });
    assert.deepEqual((await s.checks(t.id)).get(up.id), { ok: true, message: null, checkedAt: 6 }, 'the last check only');

    const id = await s.link(u2, { subject: 'sub1', externalId: 'ext1' }, { email: 'Ann@Corp.test', givenName: 'Ann', familyName: null });
    const d = new UserStore(db);
    assert.equal((await d.userById(t.id, id))!.email, 'ann@corp.test');
    assert.equal(await s.linkedUser(up.id, 'sub1', null), id);
    assert.equal(await s.linkedUser(up.id, 'sub-changed', 'ext1'), id, 'found by external ID');
    assert.equal(await s.linkedUser(up.id, 'nobody', null), undefined);
    assert.equal(await s.syncProfile(t.id, id, { email: 'ann@corp.test', givenName: 'Ann', familyName: 'Lee' }), true);
    assert.equal(await s.syncProfile(t.id, id, { email: 'ann@corp.test', givenName: 'Ann', familyName: 'Lee' }), false, 'nothing changed');
    await d.createUser({ tenantId: t.id, email: 'bob@corp.test', passwordHash: 'x' });
    await d.createUser({ tenantId: t.id, email: 'eve@else.test', passwordHash: 'x' });
    await assert.rejects(
      s.link(u2, { subject: 'sub2', externalId: null }, { email: 'bob@corp.test', givenName: null, familyName: null }),
      conflictOrStale,
      'email taken',
    );
    assert.equal(await s.passwordUsersOutside(t.id, ['corp.test']), 1);
    await s.delete(t.id, up.id);
    await assert.rejects(s.delete(t.id, up.id), (e: GatehouseError) => e.status === 404);
    assert.equal(await s.linkedUser(up.id, 'sub1', null), undefined, 'links go with the upstream');
    assert.equal((await d.userById(t.id, id))!.status, 'active', 'its users stay, as local accounts');
    await s.delete(t.id, off.id);
  });

  suite('mfa: factors, replayed steps, recovery codes once, remembered browsers, reset', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'mf' });
    const u = await new UserStore(db).createUser({ tenantId: t.id, email: 'm@example.test' });
    const s = new MfaStore(db);
    const f = await s.addFactor(t.id, u.id, { type: 'totp', label: 'Phone', secretSealed: 'v1.a', step: 10 }, ['r1', 'r2']);
    assert.equal(await s.useStep(f.id, 10), false, 'the same step twice is a replay');
    assert.equal(await s.useStep(f.id, 11), true);
    assert.equal(await s.useStep(f.id, 11), false);
    assert.equal(await s.useRecoveryCode(t.id, u.id, ['r1']), true);
    assert.equal(await s.useRecoveryCode(t.id, u.id, ['r1']), false, 'a recovery code works once');
    assert.equal(await s.unusedRecoveryCodes(t.id, u.id), 1);
    await s.updateSecret(f.id, 'v1.b');
    assert.equal((await s.factor(t.id, f.id))!.secretSealed, 'v1.b');
    assert.equal(await s.factor('other', f.id), undefined, 'per tenant');
    await assert.rejects(s.removeFactor(t.id, u.id, 'mfa_missing'), (e: GatehouseError) => e.status === 404);
    await s.removeFactor(t.id, u.id, f.id);
    assert.equal(await s.unusedRecoveryCodes(t.id, u.id), 0, 'recovery codes go with the last factor');
    const rd = await s.remember(t.id, u.id, 'Firefox', 2000);
    assert.ok(await s.remembered(t.id, u.id, rd));
    assert.deepEqual(
      (await s.rememberedDevices(t.id, u.id, 1000)).map((x) => x.label),
      ['Firefox'],
    );
    assert.deepEqual(await s.rememberedDevices(t.id, u.id, 2000), [], 'expired browsers are not listed');
    await s.forget(t.id, u.id, rd);
    assert.equal(await s.remembered(t.id, u.id, rd), undefined);
    await s.remember(t.id, u.id, 'old', 5);
    assert.equal(await s.purgeRemembered(6), 1);
    await s.addFactor(t.id, u.id, { type: 'webauthn', label: 'Key', secretSealed: 'v1.c' }, ['r3']);
    await s.remember(t.id, u.id, 'Chrome', Date.now() + 60_000);
    assert.equal(await s.reset(t.id, u.id), 1);
    assert.deepEqual(await s.factors(t.id, u.id), []);
    assert.equal(await s.unusedRecoveryCodes(t.id, u.id), 0);
    assert.deepEqual(await s.rememberedDevices(t.id, u.id), []);
  });

  suite('push: enrollment completes once, answers and approvals count once', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'pu' });
    const u = await new UserStore(db).createUser({ tenantId: t.id, email: 'p@example.test' });
    const s = new PushStore(db);
    await s.addEnrollment({ codeHash: 'c1', tenantId: t.id, userId: u.id, recoveryHashes: ['r1'], expiresAt: 1000 });
    assert.equal((await s.enrollment(t.id, 'c1'))!.userId, u.id);
    assert.equal(await s.completeEnrollment(t.id, 'c1', 1000, { id: 'mfa_p0', label: 'late', secretSealed: 'v1.x' }), undefined, 'expired');
    const [one, two] = await Promise.all([
      s.completeEnrollment(t.id, 'c1', 10, { id: 'mfa_p1', label: 'Phone 1', secretSealed: 'v1.x' }),
      s.completeEnrollment(t.id, 'c1', 10, { id: 'mfa_p2', label: 'Phone 2', secretSealed: 'v1.y' }),
    ]);
    assert.equal([one, two].filter(Boolean).length, 1, 'a second phone with the same code finds it used');
    assert.equal((one ?? two)!.recoveryIssued, true, 'the first factor brings recovery codes');
    assert.equal((await new MfaStore(db).factors(t.id, u.id)).length, 1);
    const base = { tenantId: t.id, userId: u.id, number: 42, clientId: null, appName: null, ip: null, createdAt: 10, expiresAt: 100 };
    await s.addChallenge({ ...base, id: 'ch1', uid: 'i1' });
    await s.addChallenge({ ...base, id: 'ch2', uid: 'i2' });
    assert.deepEqual(
      (await s.pending(t.id, u.id, 50)).map((c) => c.id),
      ['ch1', 'ch2'],
    );
    assert.equal(await s.consume(t.id, 'ch1', 'i1', u.id, 50), false, 'not approved yet');
    assert.deepEqual(
      await Promise.all([s.decide(t.id, 'ch1', 'approved', 'dev', 50), s.decide(t.id, 'ch1', 'denied', 'dev', 50)]).then((r) => r.sort()),
      [false, true],
      'one answer wins',
    );
    assert.equal(await s.decide(t.id, 'ch2', 'approved', 'dev', 100), false, 'expired');
    const approved = (await s.challenge(t.id, 'ch1'))!.status === 'approved';
    assert.equal(await s.consume(t.id, 'ch1', 'i1', u.id, 60), approved);
    assert.equal(await s.consume(t.id, 'ch1', 'i1', u.id, 60), false, 'an approval is taken once');
    assert.deepEqual(await s.withdraw(t.id, 'i2', 70), [u.id]);
    assert.equal((await s.challenge(t.id, 'ch2'))!.status, 'withdrawn');
    assert.deepEqual(await s.pending(t.id, u.id, 50), []);
    assert.equal(await s.purge(1000 + 3600_001), 3, 'both requests and the enrollment past an hour');
  });

  suite('sessions: upsert keeps where it started, live list pages and searches', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'se' });
    const u = await new UserStore(db).createUser({ tenantId: t.id, email: 'sess@example.test' });
    const s = new SessionStore(db);
    const rec = (id: string, lastSeenAt: number, more: Partial<SsoSessionRecord> = {}): SsoSessionRecord => ({
      id,
      tenantId: t.id,
      userId: u.id,
      startedAt: 1,
      lastSeenAt,
      expiresAt: 10_000,
      ip: '192.0.2.1',
      userAgent: 'Firefox',
      apps: [],
      amr: ['pwd'],
      acr: null,
      ...more,
    });
    await s.upsert(rec('s1', 5));
    await s.upsert(rec('s1', 6, { ip: '198.51.100.9', apps: ['crm'], amr: ['pwd', 'otp'] }));
    const got = (await s.get(t.id, 's1', 7))!;
    assert.equal(got.ip, '192.0.2.1', 'the first sighting keeps its address');
    assert.deepEqual([got.lastSeenAt, got.apps, got.amr], [6, ['crm'], ['pwd', 'otp']]);
    assert.equal(await s.get(t.id, 's1', 10_000), undefined, 'expired sessions are not live');
    for (let i = 0; i < 5; i++) await s.upsert(rec(`p${i}`, 100 + i, { userAgent: `Agent ${i}` }));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await s.list(t.id, { limit: 2, cursor }, 7);
      seen.push(...page.items.map((x) => x.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    assert.deepEqual(seen, ['p4', 'p3', 'p2', 'p1', 'p0', 's1'], 'most recently active first');
    assert.deepEqual(
      (await s.list(t.id, { search: 'agent 3' }, 7)).items.map((x) => x.id),
      ['p3'],
    );
    assert.equal((await s.list(t.id, { search: 'SESS@' }, 7)).items.length, 6, "by the user's email");
    await assert.rejects(s.list(t.id, { cursor: 'not-a-cursor' }, 7), (e: GatehouseError) => e.status === 400);
    assert.equal(await s.count(t.id, 7), 6);
    await s.remove(t.id, 'p0');
    assert.equal(await s.count(t.id, 7), 5);
    assert.equal(await s.purgeExpired(10_000), 5);
  });

  suite('device sessions: found by secret hash and grant, apps, end once, live list, check-out notes, purge', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'dv' });
    const other = await new TenantStore(db).create({ slug: 'dv2' });
    const u = await new UserStore(db).createUser({ tenantId: t.id, email: 'shift@example.test' });
    const s = new DeviceSessionStore(db);
    const base = (more: Partial<NewDeviceSession> = {}): NewDeviceSession => ({
      tenantId: t.id,
      userId: u.id,
      group: 'ward',
      deviceName: 'iPhone 7',
      deviceId: 'dev-1',
      secretHash: 'h1',
      dsHash: 'ds1',
      sid: 'sid1',
      sessionUid: 'su1',
      checkoutClientId: 'rover',
      amr: ['pwd', 'otp'],
      acr: 'mfa',
      authTime: 1000,
      startedAt: 1000,
      expiresAt: 50_000,
      ...more,
    });
    const a = await s.create(base());
    assert.deepEqual([a.group, a.amr, a.authTime, a.endedAt, a.apps], ['ward', ['pwd', 'otp'], 1000, null, []]);
    assert.equal((await s.bySecretHash(t.id, 'h1'))?.id, a.id);
    assert.equal(await s.bySecretHash(other.id, 'h1'), undefined, "another tenant's secret is not found");
    await s.addApp(t.id, a.id, 'rover', 'g1', 1001);
    await s.addApp(t.id, a.id, 'haiku', 'g2', 1002);
    await s.addApp(t.id, a.id, 'haiku', 'g3', 1003);
    assert.deepEqual(
      (await s.get(t.id, a.id))!.apps.map((x) => [x.clientId, x.grantId]),
      [
        ['rover', 'g1'],
        ['haiku', 'g3'],
      ],
      'one grant per app, the latest',
    );
    assert.equal((await s.byGrant(t.id, 'g3'))?.id, a.id);
    assert.equal(await s.byGrant(t.id, 'g2'), undefined);
    const b = await s.create(base({ secretHash: 'h2', deviceId: 'dev-2', startedAt: 2000 }));
    await assert.rejects(s.create(base({ secretHash: 'h2' })), 'a secret hash is unique');
    assert.deepEqual(
      (await s.listLive(t.id, {}, 3000)).map((x) => x.id),
      [b.id, a.id],
      'newest first',
    );
    assert.deepEqual(
      (await s.listLive(t.id, { deviceId: 'dev-1' }, 3000)).map((x) => x.id),
      [a.id],
    );
    assert.equal(await s.end(t.id, a.id, 'checkin', 4000), true);
    assert.equal(await s.end(t.id, a.id, 'checkin', 4001), false, 'ended once');
    assert.deepEqual([(await s.get(t.id, a.id))!.endedAt, (await s.get(t.id, a.id))!.endReason], [4000, 'checkin']);
    assert.deepEqual(
      (await s.listLive(t.id, {}, 3000)).map((x) => x.id),
      [b.id],
    );
    assert.deepEqual(await s.listLive(t.id, {}, 50_000), [], 'past the shift nothing is live');
    assert.deepEqual(
      (await s.expiredUnended(50_000)).map((x) => x.id),
      [b.id],
    );
    const p1 = await s.page(t.id, { limit: 1 });
    assert.deepEqual([p1.items.map((x) => x.id), !!p1.nextCursor], [[b.id], true]);
    assert.deepEqual(
      (await s.page(t.id, { limit: 1, cursor: p1.nextCursor! })).items.map((x) => x.id),
      [a.id],
    );
    await assert.rejects(s.page(t.id, { cursor: 'junk' }), (e: GatehouseError) => e.status === 400);
    await s.noteCheckout(t.id, 'su1', 'rover', { name: 'Ward 3 phone', id: 'dev-9' }, 10);
    await s.noteCheckout(t.id, 'su1', 'rover', { name: 'Ward 4 phone', id: 'dev-9' }, 20);
    assert.deepEqual(await s.takeCheckout(t.id, 'su1', 'rover', 30), { name: 'Ward 4 phone', id: 'dev-9' });
    assert.equal(await s.takeCheckout(t.id, 'su1', 'rover', 31), undefined, 'taken once');
    await s.noteCheckout(t.id, 'su2', 'rover', { name: null, id: null }, 10);
    assert.equal(await s.takeCheckout(t.id, 'su2', 'rover', 10 + CHECKOUT_NOTE_MS + 1), undefined, 'a stale note is not used');
    assert.equal(await s.purge(1000, 4000 + 50_000), 1, 'the ended session, long past its shift');
    assert.equal(await s.get(t.id, a.id), undefined);
  });

  suite('sign-in addresses: remembered with their last time, forgotten when old', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'sa' });
    const u = await new UserStore(db).createUser({ tenantId: t.id, email: 'a@example.test' });
    const s = new SigninAddressStore(db);
    await s.seen(t.id, u.id, '192.0.2.1', 100);
    assert.equal(await s.known(t.id, u.id, '192.0.2.1', 50), true);
    assert.equal(await s.known(t.id, u.id, '192.0.2.1', 100), false, 'not since');
    assert.equal(await s.known(t.id, u.id, '192.0.2.2', 0), false);
    await s.seen(t.id, u.id, '192.0.2.1', 200);
    assert.equal(await s.known(t.id, u.id, '192.0.2.1', 150), true, 'the time moves on');
    assert.equal(await s.purge(200), 0);
    assert.equal(await s.purge(201), 1);
  });

  suite('sealed values: found, read in batches, replaced only if unchanged', async (db) => {
    const instance = new InstanceStore(db);
    const col = SEALED_COLUMNS.find((c) => c.table === 'instance_settings')!;
    await instance.set('conformance_a', 'v1.aaa');
    await instance.set('conformance_b', 'plain');
    const s = new SealedStore(db);
    assert.match((await s.any())!, /^v1\./);
    const batch = await s.batch(col, null);
    assert.ok(batch.some((x) => x.key === 'conformance_a' && x.value === 'v1.aaa'));
    assert.ok(!batch.some((x) => x.key === 'conformance_b'), 'only sealed values');
    assert.deepEqual(
      await s.batch(col, 'conformance_a'),
      batch.filter((x) => x.key > 'conformance_a'),
      'after the key given',
    );
    assert.equal(await s.replace(col, 'conformance_a', 'v1.other', 'v1.new'), false, 'changed since read');
    assert.equal(await s.replace(col, 'conformance_a', 'v1.aaa', 'v1.new'), true);
    assert.equal(await instance.get('conformance_a'), 'v1.new');
  });

  suite('ldap: directories, one sync run at a time, synced users and groups', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'ld' });
    const s = new LdapStore(db);
    const settings = { kind: 'openldap', urls: ['ldaps://ldap.test'] } as Partial<DirectorySettings> as DirectorySettings;
    const dir = await s.create(t.id, { name: 'Corp', enabled: true, settings, bindPasswordSealed: 'v1.p' });
    await assert.rejects(s.create(t.id, { name: 'Corp', enabled: false, settings, bindPasswordSealed: null }), conflictOrStale);
    assert.equal((await s.byId(t.id, 'Corp'))!.id, dir.id, 'by name too');
    assert.ok((await s.listEnabled()).some((d) => d.id === dir.id));
    await s.update(t.id, dir.id, dir.version, { enabled: false });
    await assert.rejects(s.update(t.id, dir.id, dir.version, { enabled: true }), (e: GatehouseError) => e.code === 'version_conflict');
    assert.ok(!(await s.listEnabled()).some((d) => d.id === dir.id));
    await s.saveMarks(dir.id, { users: 'u1' }, true, 50);
    assert.deepEqual([(await s.get(t.id, dir.id)).syncMarks, (await s.get(t.id, dir.id)).lastFullSyncAt], [{ users: 'u1' }, 50]);

    const run = await s.startRun(dir, 'full', 'admin');
    assert.ok('id' in run);
    const again = await s.startRun(dir, 'incremental', 'schedule');
    assert.ok('running' in again && again.running.id === run.id, 'one run at a time');
    await s.reportRun(run.id, { progress: { ...run.progress, phase: 'done' }, errors: [], status: 'succeeded' });
    assert.equal((await s.run(dir.id, run.id))!.status, 'succeeded');
    assert.ok((await s.run(dir.id, run.id))!.finishedAt);

    const d = new UserStore(db);
    await d.createUser({ tenantId: t.id, email: 'admin@corp.test', roles: ['superadmin'] });
    const local = await d.createUser({ tenantId: t.id, email: 'carol@corp.test', passwordHash: 'x' });
    const user = (externalId: string, email: string, status: 'active' | 'disabled' = 'active') => ({
      externalId,
      dn: `uid=${externalId},dc=corp`,
      email,
      domain: 'corp.test',
      givenName: null,
      familyName: null,
      status,
      ouId: null,
    });
    const first = await s.upsertUsers(t.id, dir.id, [user('u1', 'dave@corp.test'), user('u2', 'carol@corp.test'), user('u3', 'admin@corp.test')], 100);
    assert.deepEqual(
      [first.created, first.updated, first.unchanged, first.problems.length],
      [1, 1, 0, 1],
      'an administrator stays local; a local account is taken over',
    );
    assert.equal((await d.userById(t.id, local.id))!.passwordHash, null, 'the taken-over account has no local password');
    const second = await s.upsertUsers(t.id, dir.id, [user('u1', 'dave@corp.test'), user('u2', 'carol@corp.test', 'disabled')], 200);
    assert.deepEqual([second.created, second.updated, second.unchanged, second.disabledIds], [0, 1, 1, [local.id]]);
    const byDn = await s.userIdsByDn(dir.id);
    assert.equal(byDn.size, 2);
    assert.deepEqual(await s.disableUnseen(dir.id, 300), [byDn.get('uid=u1,dc=corp')], 'unseen active users are disabled');
    const g = await s.upsertGroups(t.id, dir.id, [{ externalId: 'g1', dn: 'cn=staff,dc=corp', name: 'Staff' }]);
    assert.deepEqual([g.created, g.updated], [1, 0]);
    const gid = (await s.groupIdsByDn(dir.id)).get('cn=staff,dc=corp')!;
    assert.deepEqual(await s.setGroupMembers(t.id, gid, new Set(byDn.values())), { added: 2, removed: 0 });
    assert.deepEqual(await s.setGroupMembers(t.id, gid, new Set([local.id])), { added: 0, removed: 1 });
    await s.delete(t.id, dir.id);
    assert.equal((await d.userById(t.id, local.id))!.status, 'disabled', 'its users stay, as local accounts');
    assert.equal((await d.groupById(t.id, gid))!.name, 'Staff');
    await assert.rejects(s.delete(t.id, dir.id), (e: GatehouseError) => e.status === 404);
  });

  suite('connectors: a code provisions once, status, revocation, relayed messages', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'co' });
    const s = new ConnectorStore(db);
    const now = Date.now();
    await s.addCode(t.id, 'code1', now + 60_000, null);
    await s.addCode(t.id, 'old', now - 1, null);
    const results = await Promise.all([s.provision(t.id, 'code1', { name: 'a', publicKey: 'k' }), s.provision(t.id, 'code1', { name: 'b', publicKey: 'k' })]);
    const made = results.filter((r) => typeof r !== 'string');
    assert.equal(made.length, 1, 'two connectors with one code: one gets it');
    assert.ok(results.includes('used'));
    assert.equal(await s.provision(t.id, 'nope', { name: 'c', publicKey: 'k' }), 'unknown');
    assert.equal(await s.provision(t.id, 'old', { name: 'c', publicKey: 'k' }), 'expired');
    const other = await new TenantStore(db).create({ slug: 'co2' });
    assert.equal(await s.provision(other.id, 'code1', { name: 'c', publicKey: 'k' }), 'unknown', 'per tenant');
    const c = made[0] as Exclude<(typeof results)[number], string>;
    await s.connected(c.id, { nodeId: 'n1', name: 'a', softwareVersion: '1.0', address: '192.0.2.5' });
    assert.equal((await s.get(t.id, c.id)).connected, true);
    await assert.rejects(s.get(other.id, c.id), (e: GatehouseError) => e.status === 404);
    await s.disconnected(c.id, 'n2');
    assert.equal((await s.get(t.id, c.id)).connected, true, 'only the node holding it disconnects it');
    await s.beat({ id: 'n1', host: 'h', pid: 1, startedAt: now }, now);
    assert.deepEqual([...(await s.heartbeats(['n1', 'n9']))], [['n1', now]]);
    assert.deepEqual(
      (await s.connectedElsewhere(t.id, 'n0', now - 1)).map((x) => x.id),
      [c.id],
    );
    assert.deepEqual(await s.connectedElsewhere(t.id, 'n1', now - 1), [], 'not elsewhere from its own node');
    await s.failed(c.id, 'bind refused');
    assert.equal((await s.get(t.id, c.id)).lastError, 'bind refused');
    const revoked = await s.revoke(t.id, c.id);
    assert.deepEqual([revoked.status, revoked.connected], ['revoked', false]);
    await assert.rejects(s.revoke(other.id, c.id), (e: GatehouseError) => e.status === 404);
    await s.putRelayed('m1', 'v1.body', now + 1000);
    assert.equal(await s.takeRelayed('m1'), 'v1.body');
    assert.equal(await s.takeRelayed('m1'), undefined, 'taken once');
  });

  suite('workstations: a code enrolls once, replay guard, single-use links, bound sessions', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'ws' });
    const other = await new TenantStore(db).create({ slug: 'ws2' });
    const s = new WorkstationStore(db);
    const now = Date.now();
    await s.addCode(t.id, 'code1', now + 60_000, null);
    await s.addCode(t.id, 'old', now - 1, null);
    const w0 = { name: 'pc', publicKey: 'k', softwareVersion: '1', address: null };
    const results = await Promise.all([s.enroll('code1', w0), s.enroll('code1', w0)]);
    const made = results.filter((r) => typeof r !== 'string');
    assert.equal(made.length, 1, 'two agents with one code: one gets it');
    assert.ok(results.includes('used'));
    assert.equal(await s.enroll('nope', w0), 'unknown');
    assert.equal(await s.enroll('old', w0), 'expired');
    const w = made[0] as Exclude<(typeof results)[number], string>;
    assert.equal(w.tenantId, t.id, 'the code names the tenant');
    assert.equal(await s.accept(w.id, 100, { address: '192.0.2.9', softwareVersion: '1' }), true);
    assert.equal(await s.accept(w.id, 100, { address: '192.0.2.9', softwareVersion: '1' }), false, 'the same timestamp twice: a replay');
    assert.equal(await s.accept(w.id, 99, { address: '192.0.2.9', softwareVersion: '1' }), false, 'an older one too');
    assert.equal((await s.get(t.id, w.id)).address, '192.0.2.9');
    await assert.rejects(s.get(other.id, w.id), (e: GatehouseError) => e.status === 404);
    await s.setCurrentUser(w.id, 'u1', now);
    assert.deepEqual([(await s.get(t.id, w.id)).currentUserId, (await s.get(t.id, w.id)).currentSince], ['u1', now]);
    await s.addLink('l1', { workstationId: w.id, tenantId: t.id, userId: 'u1', target: 'https://app.example/' }, now + 30_000);
    await s.addLink('l2', { workstationId: w.id, tenantId: t.id, userId: 'u1', target: 'https://app.example/' }, now - 1);
    assert.equal(await s.useLink(other.id, 'l1'), 'unknown', 'per tenant');
    const used = await Promise.all([s.useLink(t.id, 'l1'), s.useLink(t.id, 'l1')]);
    assert.equal(used.filter((r) => typeof r !== 'string').length, 1, 'a link works once');
    assert.equal(await s.useLink(t.id, 'l2'), 'expired');
    await s.bind(t.id, w.id, 'u1', 'sess1');
    await s.bind(t.id, w.id, 'u2', 'sess2');
    assert.deepEqual(
      (await s.boundSessions(w.id, { exceptUserId: 'u2' })).map((b) => b.sessionId),
      ['sess1'],
    );
    await s.unbind(['sess1']);
    assert.deepEqual(
      (await s.boundSessions(w.id)).map((b) => b.sessionId),
      ['sess2'],
    );
    const revoked = await s.revoke(t.id, w.id);
    assert.deepEqual([revoked.status, revoked.currentUserId], ['revoked', null]);
    assert.equal(await s.accept(w.id, 200, { address: null, softwareVersion: null }), false, 'a revoked agent is not accepted');
  });

  suite('throttle counters: shared failure windows, reset, purge', async (db) => {
    let clock = 1_000_000;
    const a = new SqlThrottle(db, 'account', { limit: 3, windowSeconds: 60 }, () => clock);
    const b = new SqlThrottle(db, 'account', { limit: 3, windowSeconds: 60 }, () => clock);
    assert.equal(await a.fail('k'), 0);
    assert.equal(await b.fail('k'), 0);
    assert.equal(await a.fail('k'), 60, 'the third failure, from either, locks for the window');
    assert.equal(await b.blockedFor('k'), 60);
    await a.reset('k');
    assert.equal(await b.blockedFor('k'), 0);
    assert.equal(await a.hit('h', 10), 1);
    assert.equal(await b.hit('h', 10), 2);
    clock += 10_000;
    assert.equal(await a.count('h'), 0, 'the window ended');
    assert.equal(await purgeThrottleCounters(db, clock), 1);
  });

  suite('usernames: unique per tenant whatever the case, found by name and by directory', async (db) => {
    const tenants = new TenantStore(db);
    const [a, b] = [await tenants.create({ slug: 'a' }), await tenants.create({ slug: 'b' })];
    const d = new UserStore(db);
    const u = await d.createUser({ tenantId: a.id, email: 'jane@a.test', username: 'JSmith' });
    assert.equal(u.username, 'jsmith');
    assert.equal(u.emailVerified, false);
    await assert.rejects(
      d.createUser({ tenantId: a.id, email: 'john@a.test', username: 'jsmith' }),
      (e: GatehouseError) => e.status === 409 && /username jsmith/.test(e.message),
    );
    await d.createUser({ tenantId: b.id, email: 'jane@b.test', username: 'jsmith' });
    await d.createUser({ tenantId: a.id, email: 'nameless1@a.test' });
    await d.createUser({ tenantId: a.id, email: 'nameless2@a.test' });
    assert.equal((await d.userByUsername(a.id, 'JSMITH'))?.id, u.id);
    const other = await d.createUser({ tenantId: a.id, email: 'other@a.test' });
    await assert.rejects(d.updateUser(a.id, other.id, undefined, { username: 'JSmith' }), (e: GatehouseError) => e.status === 409);
    const marked = await d.updateUser(a.id, u.id, undefined, { emailVerified: true, mustChangePassword: true });
    assert.equal(marked.emailVerified, true);
    assert.equal(marked.mustChangePassword, true);
    assert.equal(await d.userByDirectoryUsername(a.id, 'dir_x', 'jsmith'), undefined, "a local user is no directory's");
  });

  suite('mail outbox: claimed once, retried later, given up, purged', async (db) => {
    const s = new MailStore(db);
    const other = new MailStore(db);
    const m = await s.enqueue({ tenantId: null, to: 'a@b.test', fromName: 'X', subject: 'S', text: 't', html: '<p>h</p>', kind: 'test' });
    const now = Date.now();
    const [first, second] = await Promise.all([s.claimDue(now, 10, 60_000), other.claimDue(now, 10, 60_000)]);
    assert.equal(first.length + second.length, 1, 'one sender claims it');
    assert.equal((await s.claimDue(now, 10, 60_000)).length, 0, 'held while claimed');
    await s.markFailed(m.id, 'connection refused', now + 1000);
    assert.equal((await s.claimDue(now, 10, 60_000)).length, 0, 'not before its retry time');
    const again = await s.claimDue(now + 1000, 10, 60_000);
    assert.equal(again[0]?.attempts, 1);
    await s.markSent(m.id);
    assert.equal((await s.claimDue(now + 5000, 10, 60_000)).length, 0, 'sent once');
    const g = await s.enqueue({ tenantId: null, to: 'c@d.test', fromName: null, subject: 'S', text: 't', html: 'h', kind: 'test' });
    await s.markFailed(g.id, 'refused', null);
    assert.ok((await s.byId(g.id))?.failedAt);
    assert.equal(await s.purge(Date.now() + 1), 2);
  });

  suite('user links: single use, a newer one voids older ones, expiry, void all', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'links' });
    const u = await new UserStore(db).createUser({ tenantId: t.id, email: 'l@links.test' });
    const s = new UserLinkStore(db);
    await s.issue({ idHash: 'h1', tenantId: t.id, userId: u.id, purpose: 'reset', email: u.email, expiresAt: Date.now() + 60_000 });
    await s.issue({ idHash: 'h2', tenantId: t.id, userId: u.id, purpose: 'reset', email: u.email, expiresAt: Date.now() + 60_000 });
    await s.issue({ idHash: 'v1', tenantId: t.id, userId: u.id, purpose: 'verify', email: u.email, expiresAt: Date.now() + 60_000 });
    assert.equal(await s.consume('h1'), false, 'superseded');
    const [x, y] = await Promise.all([s.consume('h2'), s.consume('h2')]);
    assert.equal(Number(x) + Number(y), 1, 'used once');
    assert.equal((await s.find('v1'))?.usedAt, null, 'another purpose is untouched');
    await s.issue({ idHash: 'h3', tenantId: t.id, userId: u.id, purpose: 'reset', email: u.email, expiresAt: Date.now() - 1 });
    assert.equal(await s.consume('h3'), false, 'expired');
    await s.voidAll(u.id, 'verify');
    assert.equal(await s.consume('v1'), false);
  });

  suite('ldap: usernames come from the directory, verified emails; a username another account holds is skipped and reported', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'ldu' });
    const s = new LdapStore(db);
    const settings = { kind: 'ad', urls: ['ldaps://dc.test'] } as Partial<DirectorySettings> as DirectorySettings;
    const dir = await s.create(t.id, { name: 'AD', enabled: false, settings, bindPasswordSealed: null });
    const d = new UserStore(db);
    await d.createUser({ tenantId: t.id, email: 'local@corp.test', username: 'taken' });
    const user = (externalId: string, email: string, username: string) => ({
      externalId,
      dn: `cn=${externalId},dc=corp`,
      email,
      domain: 'corp.test',
      givenName: null,
      familyName: null,
      status: 'active' as const,
      ouId: null,
      username,
    });
    const r = await s.upsertUsers(
      t.id,
      dir.id,
      [user('g1', 'jsmith@corp.test', 'JSmith'), user('g2', 'other@corp.test', 'taken'), user('g3', 'dup@corp.test', 'jsmith')],
      100,
    );
    assert.equal(r.created, 3);
    assert.deepEqual(
      r.problems.map((p) => p.dn),
      ['cn=g2,dc=corp', 'cn=g3,dc=corp'],
    );
    const js = (await d.userByUsername(t.id, 'jsmith'))!;
    assert.equal(js.email, 'jsmith@corp.test');
    assert.equal(js.emailVerified, true, "the directory is trusted for its people's addresses");
    assert.equal((await d.userByDirectoryUsername(t.id, dir.id, 'JSMITH'))?.id, js.id);
    assert.equal((await d.userByEmail(t.id, 'other@corp.test'))!.username, null);
    const again = await s.upsertUsers(t.id, dir.id, [user('g1', 'jsmith@corp.test', 'jsmith2')], 200);
    assert.equal(again.updated, 1, 'a renamed account follows the directory');
    assert.equal((await d.userById(t.id, js.id))!.username, 'jsmith2');
  });
}
