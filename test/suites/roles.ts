// The administrator role hierarchy (issue 14.1), black-box over the admin API: nobody may
// change, disable, delete, unlock, reset the password or second factors of, end the sessions
// of, or change the groups or roles of an account holding a role they do not hold
// (superadmin > admin > helpdesk, auditor); an instance administrator (superadmin of the
// default tenant) only by another one. Every user-acting route x every actor x every target,
// in the default tenant and in another one; refusals are 403 naming the role needed, and
// each is an audit event (admin.denied, level warn).
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { startTestServer, type Backend, type TestServer } from '../helpers/server.ts';
import { Agent } from '../helpers/agent.ts';
import { rpConfig } from '../helpers/rp.ts';

type Role = 'superadmin' | 'admin' | 'helpdesk' | 'auditor';
type Slug = 'default' | 'acme';

export function rolesSuite(backend: Backend) {
  const test = (name: string, fn: () => Promise<void>) => nodeTest(`${backend.name}: ${name}`, { skip: backend.skip }, fn);
  const RP = 'https://app.example.test/cb';
  const PW = 'correct horse battery staple 2';
  const INSTANCE = 'superadmin of the default tenant';
  let gh: TestServer;
  const apps = new Map<Slug, { clientId: string; clientSecret: string }>();
  const tokens = new Map<string, string>();

  async function tokenFor(email: string, tenant: Slug, password = PW): Promise<{ status: number; body: any }> {
    const r = await fetch(`${gh.base}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password, tenant }),
    });
    return { status: r.status, body: await r.json() };
  }
  /** As the bootstrap instance administrator (who sets the scene). */
  const root = (method: string, p: string, body?: unknown) => gh.api(method, p, body);
  async function createUser(tenant: Slug, email: string, roles: Role[], password?: string): Promise<{ id: string; email: string }> {
    const r = await root('POST', `/tenants/${tenant}/users`, { email, roles, ...(password && { password }) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  }

  // ---- the actors: who calls
  interface Actor {
    key: string;
    email: string;
    tenant: Slug;
    roles: Role[];
  }
  const actors: Actor[] = [
    { key: 'instance', email: 'root2@example.test', tenant: 'default', roles: ['superadmin'] },
    { key: 'default-admin', email: 'd-admin@example.test', tenant: 'default', roles: ['admin'] },
    { key: 'default-helpdesk', email: 'd-desk@example.test', tenant: 'default', roles: ['helpdesk'] },
    { key: 'default-auditor', email: 'd-audit@example.test', tenant: 'default', roles: ['auditor'] },
    { key: 'acme-superadmin', email: 'a-super@acme.test', tenant: 'acme', roles: ['superadmin'] },
    { key: 'acme-admin', email: 'a-admin@acme.test', tenant: 'acme', roles: ['admin'] },
    { key: 'acme-helpdesk', email: 'a-desk@acme.test', tenant: 'acme', roles: ['helpdesk'] },
    { key: 'acme-auditor', email: 'a-audit@acme.test', tenant: 'acme', roles: ['auditor'] },
  ];

  // ---- the targets: whom they act on (in each tenant)
  const targetKinds: Array<{ key: string; roles: Role[] }> = [
    { key: 'superadmin', roles: ['superadmin'] },
    { key: 'admin', roles: ['admin'] },
    { key: 'helpdesk', roles: ['helpdesk'] },
    { key: 'auditor', roles: ['auditor'] },
    { key: 'helpdesk+auditor', roles: ['helpdesk', 'auditor'] },
    { key: 'user', roles: [] },
  ];

  /**
   * The rule, written out as a table (not computed by the code under test): per tenant, per
   * actor, per target kind, 'ok' or the role the refusal must name. Actors of the other tenant
   * are refused before any target is looked at.
   */
  const ALL_OK = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok'];
  const RULE: Record<Slug, Record<string, string[]>> = {
    //                  superadmin   admin    helpdesk auditor  hd+aud   user
    default: {
      instance: ALL_OK,
      'default-admin': [INSTANCE, 'ok', 'ok', 'ok', 'ok', 'ok'],
      'default-helpdesk': [INSTANCE, 'admin', 'ok', 'admin', 'admin', 'ok'],
      'acme-superadmin': Array(6).fill(INSTANCE),
    },
    acme: {
      instance: ALL_OK,
      'acme-superadmin': ALL_OK,
      'acme-admin': ['superadmin', 'ok', 'ok', 'ok', 'ok', 'ok'],
      'acme-helpdesk': ['superadmin', 'admin', 'ok', 'admin', 'admin', 'ok'],
      'default-admin': Array(6).fill(INSTANCE),
    },
  };

  // ---- the routes that act on a user; `roles` is who may call the route at all
  interface Op {
    name: string;
    id: string;
    roles: Role[];
    superadminOnly?: true;
    call(t: Target, tok: string): Promise<{ status: number; body: any }>;
    ok: number;
  }
  interface Target {
    tenant: Slug;
    id: string;
    email: string;
    roles: Role[];
    session?: string;
  }
  const at = (t: Target) => `/tenants/${t.tenant}/users/${encodeURIComponent(t.email)}`;
  const ops: Op[] = [
    { name: 'updateUser (names)', id: 'updateUser', roles: ['admin'], ok: 200, call: (t, tok) => gh.api('PATCH', at(t), { givenName: 'Changed' }, tok) },
    { name: 'updateUser (password)', id: 'updateUser', roles: ['admin'], ok: 200, call: (t, tok) => gh.api('PATCH', at(t), { password: PW }, tok) },
    { name: 'updateUser (disable)', id: 'updateUser', roles: ['admin'], ok: 200, call: (t, tok) => gh.api('PATCH', at(t), { status: 'disabled' }, tok) },
    {
      name: 'updateUser (roles)',
      id: 'updateUser',
      roles: ['admin'],
      ok: 200,
      superadminOnly: true,
      call: (t, tok) => gh.api('PATCH', at(t), { roles: t.roles }, tok),
    },
    { name: 'deleteUser', id: 'deleteUser', roles: ['admin'], ok: 204, call: (t, tok) => gh.api('DELETE', at(t), undefined, tok) },
    { name: 'unlockUser', id: 'unlockUser', roles: ['admin', 'helpdesk'], ok: 204, call: (t, tok) => gh.api('POST', `${at(t)}/unlock`, undefined, tok) },
    { name: 'resetUserMfa', id: 'resetUserMfa', roles: ['admin', 'helpdesk'], ok: 204, call: (t, tok) => gh.api('DELETE', `${at(t)}/mfa`, undefined, tok) },
    {
      name: 'endUserSessions',
      id: 'endUserSessions',
      roles: ['admin', 'helpdesk'],
      ok: 200,
      call: (t, tok) => gh.api('DELETE', `${at(t)}/sessions`, undefined, tok),
    },
    {
      name: 'endSession',
      id: 'endSession',
      roles: ['admin', 'helpdesk'],
      ok: 204,
      call: (t, tok) => gh.api('DELETE', `/tenants/${t.tenant}/sessions/${t.session}`, undefined, tok),
    },
    {
      name: 'addGroupMember',
      id: 'addGroupMember',
      roles: ['admin'],
      ok: 204,
      call: (t, tok) => gh.api('PUT', `/tenants/${t.tenant}/groups/staff/members/${encodeURIComponent(t.email)}`, undefined, tok),
    },
    {
      name: 'removeGroupMember',
      id: 'removeGroupMember',
      roles: ['admin'],
      ok: 204,
      call: (t, tok) => gh.api('DELETE', `/tenants/${t.tenant}/groups/staff/members/${encodeURIComponent(t.email)}`, undefined, tok),
    },
  ];

  const alive = async (t: Target) => (await root('GET', `${at(t)}/sessions`)).body.items.some((s: any) => s.id === t.session);

  /** Sign the target in to the tenant's app (a real SSO session); returns the session id. */
  async function signIn(t: Target): Promise<string> {
    const app = apps.get(t.tenant)!;
    const config = await rpConfig(`${gh.base}/t/${t.tenant}`, app.clientId, app.clientSecret);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid',
      state: 's',
      code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
      code_challenge_method: 'S256',
    });
    await new Agent().signIn(url.href, RP, t.email, PW);
    const s = await root('GET', `${at(t)}/sessions`);
    assert.equal(s.status, 200);
    return s.body.items[0].id;
  }

  before(async () => {
    if (backend.skip) return;
    gh = await startTestServer({}, { backend });
    assert.equal((await root('POST', '/tenants', { slug: 'acme', name: 'Acme' })).status, 201);
    for (const slug of ['default', 'acme'] as const) {
      const a = await root('POST', `/tenants/${slug}/apps`, { name: 'crm', displayName: 'CRM', type: 'web', redirectUris: [RP] });
      assert.equal(a.status, 201, JSON.stringify(a.body));
      apps.set(slug, { clientId: a.body.clientId, clientSecret: a.body.clientSecret });
      await root('PUT', `/tenants/${slug}/apps/${a.body.clientId}/deployment`, { all: true });
      await root('POST', `/tenants/${slug}/groups`, { name: 'staff' });
    }
    for (const a of actors) {
      await createUser(a.tenant, a.email, a.roles, PW);
      const t = await tokenFor(a.email, a.tenant);
      assert.equal(t.status, 200, JSON.stringify(t.body));
      tokens.set(a.key, t.body.access_token);
    }
  });
  after(async () => {
    await gh?.close();
  });

  test('a plain user (no administrator role) gets no admin token', async () => {
    await createUser('acme', 'plain@acme.test', [], PW);
    const r = await tokenFor('plain@acme.test', 'acme');
    assert.equal(r.status, 403);
    assert.match(r.body.error.message, /not an administrator/);
  });

  test("the issue's takeover: an admin of the default tenant cannot set an instance administrator's password, disable or delete them", async () => {
    const boss = await createUser('default', 'boss@example.test', ['superadmin'], PW);
    const admin = tokens.get('default-admin')!;
    const r = await gh.api('PATCH', `/tenants/default/users/${boss.email}`, { password: 'attacker chosen password' }, admin);
    assert.equal(r.status, 403);
    assert.match(r.body.error.message, /boss@example\.test is an instance administrator.*It needs: superadmin of the default tenant\./);
    // The attacker's password opens nothing; the superadmin's own still works.
    assert.equal((await tokenFor(boss.email, 'default', 'attacker chosen password')).status, 401);
    assert.equal((await tokenFor(boss.email, 'default')).status, 200);
    assert.equal((await gh.api('PATCH', `/tenants/default/users/${boss.email}`, { status: 'disabled' }, admin)).status, 403);
    assert.equal((await gh.api('DELETE', `/tenants/default/users/${boss.email}`, undefined, admin)).status, 403);
    const still = await root('GET', `/tenants/default/users/${boss.email}`);
    assert.equal(still.body.status, 'active');
    // The attempts are warnings in the log, naming who tried what on whom.
    const log = await root('GET', `/tenants/default/audit?type=admin.denied&user=${boss.email}`);
    assert.deepEqual(
      log.body.items.map((e: any) => [e.level, e.actor, e.data.action]),
      [
        ['warn', 'd-admin@example.test', 'deleteUser'],
        ['warn', 'd-admin@example.test', 'updateUser'],
        ['warn', 'd-admin@example.test', 'updateUser'],
      ],
    );
    // The instance administrator the admin tried to take over sees no button for it: mayManage is false.
    assert.equal((await gh.api('GET', `/tenants/default/users/${boss.email}`, undefined, admin)).body.mayManage, false);
    assert.equal((await gh.api('GET', `/tenants/default/users/${boss.email}`, undefined, tokens.get('instance'))).body.mayManage, true);
  });

  test("in another tenant, an admin cannot take over that tenant's superadmin; its superadmin and an instance administrator can", async () => {
    const owner = await createUser('acme', 'owner@acme.test', ['superadmin'], PW);
    const r = await gh.api('PATCH', `/tenants/acme/users/${owner.email}`, { password: 'attacker chosen password' }, tokens.get('acme-admin'));
    assert.equal(r.status, 403);
    assert.match(r.body.error.message, /holds the superadmin role, which you do not hold.*It needs: superadmin\./);
    assert.equal((await tokenFor(owner.email, 'acme', 'attacker chosen password')).status, 401);
    assert.equal(
      (await gh.api('PATCH', `/tenants/acme/users/${owner.email}`, { password: 'a new owner password' }, tokens.get('acme-superadmin'))).status,
      200,
    );
    assert.equal((await tokenFor(owner.email, 'acme', 'a new owner password')).status, 200);
    assert.equal((await gh.api('PATCH', `/tenants/acme/users/${owner.email}`, { password: PW }, tokens.get('instance'))).status, 200);
    assert.equal((await tokenFor(owner.email, 'acme')).status, 200);
  });

  test("a helpdesk cannot reset a superadmin's two-step verification nor end their sessions; it can a plain user's", async () => {
    const tenantId = (await gh.services.tenantStore.bySlug('default'))!.id;
    const boss = await createUser('default', 'boss2@example.test', ['superadmin'], PW);
    const ann = await createUser('default', 'ann@example.test', [], PW);
    const session = await signIn({ tenant: 'default', ...boss, roles: ['superadmin'] }); // before a factor exists: password only
    for (const u of [boss, ann]) await gh.services.mfaStore.addFactor(tenantId, u.id, { type: 'totp', label: 'phone', secretSealed: 'sealed' });
    const desk = tokens.get('default-helpdesk')!;
    const reset = await gh.api('DELETE', `/tenants/default/users/${boss.email}/mfa`, undefined, desk);
    assert.equal(reset.status, 403);
    assert.match(reset.body.error.message, /It needs: superadmin of the default tenant\./);
    assert.equal((await root('GET', `/tenants/default/users/${boss.email}/mfa`)).body.items.length, 1, "the superadmin's factor is still there");
    assert.equal((await gh.api('DELETE', `/tenants/default/sessions/${session}`, undefined, desk)).status, 403);
    assert.equal((await gh.api('DELETE', `/tenants/default/users/${boss.email}/sessions`, undefined, desk)).status, 403);
    const listed = await gh.api('GET', `/tenants/default/users/${boss.email}/sessions`, undefined, desk);
    assert.deepEqual(
      listed.body.items.map((s: any) => [s.id, s.mayEnd]),
      [[session, false]],
      'still signed in; the console offers no Terminate',
    );
    // The helpdesk's own job still works on a plain user.
    assert.equal((await gh.api('DELETE', `/tenants/default/users/${ann.email}/mfa`, undefined, desk)).status, 204);
    assert.equal((await root('GET', `/tenants/default/users/${ann.email}/mfa`)).body.items.length, 0);
  });

  test("roles are granted only by those who hold them: an admin creates no superadmin and changes nobody's roles", async () => {
    const admin = tokens.get('acme-admin')!;
    const su = await gh.api('POST', '/tenants/acme/users', { email: 'new-su@acme.test', roles: ['superadmin'] }, admin);
    assert.equal(su.status, 403);
    assert.match(su.body.error.message, /It needs: superadmin\./);
    assert.equal((await root('GET', '/tenants/acme/users/new-su@acme.test')).status, 404);
    assert.equal((await gh.api('POST', '/tenants/acme/users', { email: 'new-desk@acme.test', roles: ['helpdesk'] }, admin)).status, 201);
    const promote = await gh.api('PATCH', '/tenants/acme/users/new-desk@acme.test', { roles: ['superadmin'] }, admin);
    assert.equal(promote.status, 403);
    assert.deepEqual((await root('GET', '/tenants/acme/users/new-desk@acme.test')).body.roles, ['helpdesk']);
    // Lists tell the caller which accounts they may act on.
    const list = await gh.api('GET', '/tenants/acme/users?search=acme.test&limit=200', undefined, admin);
    const may = new Map(list.body.items.map((u: any) => [u.email, u.mayManage]));
    assert.equal(may.get('a-super@acme.test'), false);
    assert.equal(may.get('new-desk@acme.test'), true);
  });

  for (const tenant of ['default', 'acme'] as const) {
    test(`${tenant}: every user-acting route x every actor x every target role`, async () => {
      // One standing target per kind (with a password and a live session); deletions get a fresh one each.
      const standing = new Map<string, Target>();
      for (const k of targetKinds) {
        const u = await createUser(tenant, `t-${k.key.replace('+', '-')}@${tenant}.test`, k.roles, PW);
        standing.set(k.key, { tenant, ...u, roles: k.roles });
      }
      const expectedDenials = new Map<string, number>();
      const expect = (key: string) => expectedDenials.set(key, (expectedDenials.get(key) ?? 0) + 1);
      const since = Date.now();
      const failures: string[] = [];

      for (const op of ops) {
        for (const actor of actors) {
          const rules = RULE[tenant][actor.key];
          const sameTenant = actor.tenant === tenant;
          for (const [i, kind] of targetKinds.entries()) {
            let target = standing.get(kind.key)!;
            if (op.id === 'deleteUser')
              target = {
                tenant,
                ...(await createUser(tenant, `del-${actor.key}-${kind.key.replace('+', '-')}@${tenant}.test`, kind.roles)),
                roles: kind.roles,
              };
            // Disabling and ending all sessions (earlier cells) end the standing session: start one again.
            if (op.id === 'endSession' && !(target.session && (await alive(target)))) target.session = await signIn(target);
            const mayCallRoute = actor.roles.includes('superadmin') || actor.roles.some((r) => op.roles.includes(r));
            // What must happen: another tenant's actor (not an instance admin) and roles the
            // route does not allow are refused whoever the target; then the hierarchy decides.
            let needs: string;
            let deniedAt: 'route' | 'target';
            if (!sameTenant && actor.key !== 'instance') {
              needs = INSTANCE;
              deniedAt = 'route';
            } else if (!mayCallRoute && actor.key !== 'instance') {
              needs = ['superadmin', ...op.roles].join(' or ');
              deniedAt = 'route';
            } else {
              needs = rules?.[i] ?? 'unreachable';
              deniedAt = 'target';
            }
            if (needs === 'ok' && op.superadminOnly && !actor.roles.includes('superadmin')) needs = 'superadmin';

            const r = await op.call(target, tokens.get(actor.key)!);
            const cell = `${op.name} by ${actor.key} on ${tenant}'s ${kind.key}`;
            if (needs === 'ok') {
              if (r.status !== op.ok) failures.push(`${cell}: expected ${op.ok}, got ${r.status} ${JSON.stringify(r.body)}`);
              if (op.id === 'endSession') target.session = undefined;
            } else {
              if (r.status !== 403) failures.push(`${cell}: expected 403 naming ${needs}, got ${r.status} ${JSON.stringify(r.body)}`);
              else if (!r.body.error.message.includes(`It needs: ${needs}.`))
                failures.push(`${cell}: the refusal does not name "${needs}": ${r.body.error.message}`);
              expect(deniedAt === 'route' ? `${actor.email}|${op.id}|route` : `${actor.email}|${op.id}|${target.id}`);
            }
            // A disabled account stays in the table: enable it again for the next cells.
            if (r.status === 200 && r.body?.status === 'disabled') await root('PATCH', at(target), { status: 'active' });
          }
        }
      }
      assert.deepEqual(failures.slice(0, 20), [], `${failures.length} cells are wrong (the first 20 shown)`);

      // A refused session end left the session alive; the hierarchy's refusals left the accounts as they were.
      for (const t of standing.values()) {
        if (t.session) assert.equal(await alive(t), true, `${t.email}'s session survived the refusals`);
      }

      // Every refusal is an audit event (admin.denied, level warn): route refusals in the
      // caller's tenant, the hierarchy's in the tenant of the account.
      const seen = new Map<string, number>();
      for (const slug of ['default', 'acme']) {
        let cursor: string | null = null;
        do {
          const page: any = await root('GET', `/tenants/${slug}/audit?type=admin.denied&since=${since}&limit=500${cursor ? `&cursor=${cursor}` : ''}`);
          assert.equal(page.status, 200);
          for (const e of page.body.items) {
            assert.equal(e.level, 'warn');
            const key = `${e.actor}|${e.data.action}|${e.subject ?? 'route'}`;
            seen.set(key, (seen.get(key) ?? 0) + 1);
          }
          cursor = page.body.nextCursor;
        } while (cursor);
      }
      // Exactly the refusals of this table, each once.
      const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => a.localeCompare(b));
      assert.deepEqual(sorted(seen), sorted(expectedDenials));
    });
  }
}
