// Conformance suites for the tenant, directory, app and audit stores. Every backend runs
// the same suite (test/stores.test.ts): SQLite and PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import { TenantStore } from '../tenants.ts';
import { DirectoryStore } from '../directory.ts';
import { AppStore } from '../apps.ts';
import { AuditStore } from '../audit.ts';
import { InstanceStore } from '../instance.ts';

export function storeConformance(name: string, open: () => Promise<{ db: Kysely<DB>; close(): Promise<void> }>, skip: string | false = false) {
  const suite = (title: string, fn: (db: Kysely<DB>) => Promise<void>) =>
    test(`${name}: ${title}`, { skip }, async () => {
      const h = await open();
      try { await fn(h.db); } finally { await h.close(); }
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
    await assert.rejects(s.create({ slug: 'acme' }), (e: any) => e.status === 409);
    const u = await s.update(t.id, t.version, { sessionLifetimeMinutes: 30 });
    assert.equal(u.version, t.version + 1);
    await assert.rejects(s.update(t.id, t.version, { name: 'stale' }), (e: any) => e.code === 'version_conflict');
    assert.equal((await s.bySlug('acme'))!.sessionLifetimeMinutes, 30);
  });

  suite('directory: users, email uniqueness per tenant, paging and search', async (db) => {
    const tenants = new TenantStore(db);
    const [a, b] = [await tenants.create({ slug: 'a' }), await tenants.create({ slug: 'b' })];
    const d = new DirectoryStore(db);
    const u = await d.createUser({ tenantId: a.id, email: 'Alice@Example.TEST', givenName: 'Alice' });
    assert.equal(u.email, 'alice@example.test');
    assert.equal(u.domain, 'example.test');
    await assert.rejects(d.createUser({ tenantId: a.id, email: 'alice@example.test' }), (e: any) => e.status === 409);
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
    assert.deepEqual((await d.listUsers(a.id, { search: 'r_s' })).items.map((x) => x.email), ['under_score@example.test']);
    const updated = await d.updateUser(a.id, u.id, u.version, { status: 'disabled' });
    assert.equal(updated.status, 'disabled');
    await assert.rejects(d.updateUser(a.id, u.id, u.version, { status: 'active' }), (e: any) => e.code === 'version_conflict');
    await assert.rejects(d.updateUser(b.id, u.id, undefined, { status: 'active' }), (e: any) => e.status === 404, 'another tenant cannot touch it');
    assert.deepEqual(await d.listDomains(a.id), ['example.test']);
  });

  suite('directory: groups, membership and the OU tree', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'g' });
    const d = new DirectoryStore(db);
    const u = await d.createUser({ tenantId: t.id, email: 'x@example.test' });
    const g = await d.createGroup(t.id, 'Staff');
    await assert.rejects(d.createGroup(t.id, 'Staff'), (e: any) => e.status === 409);
    await d.addMember(t.id, g.id, u.id);
    await d.addMember(t.id, g.id, u.id); // idempotent
    assert.deepEqual((await d.groupsOfUser(t.id, u.id)).map((x) => x.name), ['Staff']);
    await d.removeMember(t.id, g.id, u.id);
    assert.equal((await d.groupsOfUser(t.id, u.id)).length, 0);
    const leaf = await d.ensureOu(t.id, 'Sales / EMEA/');
    assert.equal(leaf.path, '/Sales/EMEA');
    const parent = await d.ouByPath(t.id, '/Sales');
    assert.equal(leaf.parentId, parent!.id);
    assert.equal((await d.ensureOu(t.id, '/Sales/EMEA')).id, leaf.id, 'idempotent');
    assert.deepEqual((await d.listOus(t.id)).map((o) => o.path), ['/Sales', '/Sales/EMEA']);
  });

  suite('apps: profiles, unique names and client IDs, deployment targets', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'p' });
    const s = new AppStore(db);
    const input = { name: 'crm', displayName: 'CRM', type: 'web' as const, redirectUris: ['https://x.test/cb'], postLogoutRedirectUris: [], backchannelLogoutUri: null, homeUrl: null, claims: [{ name: 'dept', value: 'Sales' }], tokenTtls: { accessToken: 600 } };
    const app = await s.create(t.id, 'client-0001', 'sealed', input);
    assert.deepEqual((await s.byClientId('client-0001'))!.claims, [{ name: 'dept', value: 'Sales' }]);
    await assert.rejects(s.create(t.id, 'client-0002', null, input), (e: any) => e.status === 409);
    await assert.rejects(s.create(t.id, 'client-0001', null, { ...input, name: 'other' }), (e: any) => e.status === 409);
    await s.addTarget(t.id, app.id, { type: 'group', id: 'grp1' });
    await s.addTarget(t.id, app.id, { type: 'group', id: 'grp1' });
    assert.equal((await s.targets(app.id)).length, 1);
    assert.equal(await s.matchesAnyTarget(app.id, { userId: 'u', groupIds: ['grp1'], ouIds: [], domain: 'x' }), true);
    assert.equal(await s.matchesAnyTarget(app.id, { userId: 'u', groupIds: ['grp2'], ouIds: [], domain: 'x' }), false);
    const updated = await s.update(t.id, 'client-0001', app.version, { deployAll: true });
    assert.equal(updated.deployAll, true);
    await assert.rejects(s.update(t.id, 'client-0001', app.version, { displayName: 'stale' }), (e: any) => e.code === 'version_conflict');
    await s.delete(t.id, 'client-0001');
    assert.equal(await s.byClientId('client-0001'), undefined);
    assert.equal((await s.targets(app.id)).length, 0, 'targets go with the app');
  });

  suite('audit: record, filter, page newest first', async (db) => {
    const t = await new TenantStore(db).create({ slug: 'au' });
    const s = new AuditStore(db);
    for (let i = 0; i < 7; i++) await s.record({ tenantId: t.id, type: i % 2 ? 'signin.failed' : 'signin.succeeded', level: i % 2 ? 'warn' : 'info', data: { email: `u${i}@example.test` } });
    const warn = await s.query({ tenantId: t.id, level: 'warn' });
    assert.equal(warn.items.length, 3);
    assert.equal((await s.query({ tenantId: t.id, text: 'U6@EXAMPLE' })).items.length, 1);
    const first = await s.query({ tenantId: t.id, limit: 4 });
    const second = await s.query({ tenantId: t.id, limit: 4, cursor: first.nextCursor! });
    assert.equal(first.items.length + second.items.length, 7);
    assert.equal(second.nextCursor, null);
    assert.ok(first.items[0]!.at >= first.items[3]!.at);
  });
}
