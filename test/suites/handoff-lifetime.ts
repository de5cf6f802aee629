// Refresh tokens that end: a handed-over refresh token lives refreshTokenMinutes from the launch
// however often it is rotated (the same absolute rule holds for every app's refresh tokens),
// and signing out of Gatehouse, an administrator ending the session, or disabling the user
// revokes the hand-off grant, unless the app profile says outliveSession: true.
// Time is not waited for: a token's issue is moved into the past in the store, as the clock
// would, and the lifetime is read back through introspection. SQLite and PostgreSQL + Redis.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deployedApp, startTestServer, type Backend, type TestServer } from '../helpers/server.ts';
import { Agent, text } from '../helpers/agent.ts';

export function handoffLifetimeSuite(backend: Backend) {
  const test = (name: string, fn: () => Promise<void>) => nodeTest(`${backend.name}: ${name}`, { skip: backend.skip }, fn);
  let gh: TestServer;
  let issuer: string;
  const LOGIN = 'https://portal.example.test/gatehouse/login';
  let portal: { clientId: string; clientSecret: string };
  let kiosk: { clientId: string; clientSecret: string };
  let n = 0;

  const handoffApp = (name: string, extra: Record<string, unknown>) =>
    deployedApp(gh, { name, displayName: name, type: 'handoff', loginRedirectUrl: LOGIN, refreshTokenMinutes: 30, ...extra });

  before(async () => {
    if (backend.skip) return;
    gh = await startTestServer({}, { backend });
    issuer = `${gh.base}/t/default`;
    portal = await handoffApp('Member Portal', {});
    kiosk = await handoffApp('Kiosk', { outliveSession: true });
  });
  after(async () => {
    await gh?.close();
  });

  /** A new user (each test its own), signed in on a new agent. */
  async function newUser() {
    const who = { email: `user${++n}@example.test`, password: `password-${n}-long` };
    assert.equal((await gh.api('POST', '/tenants/default/users', who)).status, 201);
    return who;
  }

  /** Open the hand-off app from the launch link (signing in if asked): the refresh token its page POSTs. */
  async function launch(agent: Agent, app: { clientId: string }, who: { email: string; password: string }): Promise<string> {
    assert.equal(await agent.follow(`${issuer}/launch/${app.clientId}`, 'never:'), null);
    if (/name="email"/.test(agent.lastBody) && !/refresh_token/.test(agent.lastBody)) {
      let f = agent.form();
      await agent.follow(f.action, 'never:', { form: { ...f.fields, email: who.email } });
      f = agent.form();
      await agent.follow(f.action, 'never:', { form: { ...f.fields, email: who.email, password: who.password } });
    }
    const f = agent.form();
    assert.equal(f.action, LOGIN, text(agent.lastBody).slice(0, 200));
    return f.fields.refresh_token!;
  }

  const basic = (app: { clientId: string; clientSecret: string }) => `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`;
  async function refresh(app: { clientId: string; clientSecret: string }, rt: string) {
    const r = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: basic(app), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt }),
    });
    return { status: r.status, body: (await r.json()) as { refresh_token?: string; error?: string; error_description?: string } };
  }
  async function introspect(app: { clientId: string; clientSecret: string }, token: string) {
    const r = await fetch(`${issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: basic(app), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    return (await r.json()) as { active: boolean; exp?: number; iat?: number };
  }

  /** Move the refresh tokens of an account (live ones) `seconds` into the past: when they were issued, and when the chain began. */
  async function issuedEarlier(email: string, seconds: number, opts: { keepExpiry?: boolean } = {}) {
    const tenant = (await gh.services.tenantStore.bySlug('default'))!;
    const user = (await gh.services.userStore.userByEmail(tenant.id, email))!;
    const db = gh.services.database.db;
    const rows = await db
      .selectFrom('oidc_artifacts')
      .selectAll()
      .where('model', '=', 'RefreshToken')
      .where('tenant_id', '=', tenant.id)
      .where('consumed_at', 'is', null)
      .execute();
    let moved = 0;
    for (const r of rows) {
      // The engine's payload is kept sealed under the token key (oidc/adapters/hashed.ts).
      const stored = JSON.parse(r.payload);
      const p = JSON.parse(gh.services.tokenHasher.openArtifact(stored.e));
      if (p.accountId !== user.id) continue;
      p.iat -= seconds;
      p.iiat -= seconds;
      if (!opts.keepExpiry) p.exp -= seconds;
      stored.e = gh.services.tokenHasher.sealArtifact(JSON.stringify(p));
      await db
        .updateTable('oidc_artifacts')
        .set({ payload: JSON.stringify(stored), ...(!opts.keepExpiry && { expires_at: p.exp * 1000 }) })
        .where('model', '=', 'RefreshToken')
        .where('id', '=', r.id)
        .execute();
      moved++;
    }
    assert.ok(moved > 0, 'the account has a live refresh token');
  }

  test('rotation never extends a hand-off refresh token: the rotated token expires 30 minutes after the launch, and a chain older than that is refused', async () => {
    const who = await newUser();
    const first = await launch(new Agent(), portal, who);
    const launched = (await introspect(portal, first)).iat!;
    assert.equal((await introspect(portal, first)).exp, launched + 30 * 60, 'the launch: 30 minutes');
    // Launched ten minutes ago (as the clock would have it), then refreshed now.
    await issuedEarlier(who.email, 10 * 60);
    const r1 = await refresh(portal, first);
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    const second = r1.body.refresh_token!;
    const info = await introspect(portal, second);
    assert.equal(info.active, true);
    assert.ok(
      Math.abs(info.exp! - (launched - 10 * 60 + 30 * 60)) <= 2,
      `the rotated token ends 30 minutes after the launch (20 from now), not 30 from now: exp ${info.exp}, launched ${launched - 600}`,
    );
    // A chain begun 31 minutes ago whose latest token still claims to be live (rotated under the
    // old rule, where each rotation started a new window): refused, with the reason.
    await issuedEarlier(who.email, 21 * 60, { keepExpiry: true });
    const late = await refresh(portal, second);
    assert.equal(late.status, 400);
    assert.equal(late.body.error, 'invalid_grant');
    assert.match(late.body.error_description ?? '', /lifetime \(30 minutes from when it was first issued\) has ended/);
  });

  test("the same absolute rule for an ordinary app's refresh tokens", async () => {
    const who = await newUser();
    const RP = 'https://rp.example.test/cb';
    const web = await gh.api('POST', '/tenants/default/apps', {
      name: `web${n}`,
      displayName: 'Web',
      type: 'web',
      redirectUris: [RP],
      tokenTtls: { refreshToken: 3600 },
    });
    await gh.api('PUT', `/tenants/default/apps/${web.body.clientId}/deployment`, { all: true });
    const app = { clientId: web.body.clientId, clientSecret: web.body.clientSecret };
    const agent = new Agent();
    const verifier = 'v'.repeat(43);
    const challenge = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString('base64url');
    const auth = `${issuer}/auth?${new URLSearchParams({ client_id: app.clientId, response_type: 'code', scope: 'openid offline_access', prompt: 'consent', redirect_uri: RP, state: 's', code_challenge: challenge, code_challenge_method: 'S256' })}`;
    const back = new URL(await agent.signIn(auth, RP, who.email, who.password));
    const tr = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: basic(app), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: RP, code_verifier: verifier }),
    });
    const tokens = (await tr.json()) as { refresh_token: string };
    assert.ok(tokens.refresh_token, JSON.stringify(tokens));
    const issued = (await introspect(app, tokens.refresh_token)).iat!;
    await issuedEarlier(who.email, 15 * 60);
    const r = await refresh(app, tokens.refresh_token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const exp = (await introspect(app, r.body.refresh_token!)).exp!;
    assert.ok(Math.abs(exp - (issued - 15 * 60 + 3600)) <= 2, `an hour from the first issue, not from the rotation: exp ${exp}`);
  });

  test('signing out of Gatehouse revokes the hand-off grant: its refresh tokens, rotated or not, stop working', async () => {
    const who = await newUser();
    const agent = new Agent();
    const rt = await launch(agent, portal, who);
    const rotated = await refresh(portal, rt);
    assert.equal(rotated.status, 200);
    assert.equal(await agent.follow(`${issuer}/session/end`, 'never:'), null);
    assert.match(text(agent.lastBody), /Do you want to sign out/);
    const f = agent.form();
    await agent.follow(f.action, 'never:', { form: { ...f.fields, logout: 'yes' } });
    assert.match(text(agent.lastBody), /You are signed out/);
    const after = await refresh(portal, rotated.body.refresh_token!);
    assert.equal(after.status, 400);
    assert.equal(after.body.error, 'invalid_grant');
  });

  test('an administrator ending the session, or disabling the user, revokes the hand-off grant (enabling the user again does not bring it back)', async () => {
    const who = await newUser();
    const rt = await launch(new Agent(), portal, who);
    const sessions = await gh.api('GET', `/tenants/default/users/${who.email}/sessions`);
    assert.equal(sessions.status, 200);
    assert.ok(
      sessions.body.items[0].apps.some((a: { name: string }) => a.name === 'Member Portal'),
      'the session lists the hand-off app',
    );
    assert.equal((await gh.api('DELETE', `/tenants/default/sessions/${sessions.body.items[0].id}`)).status < 300, true);
    assert.equal((await refresh(portal, rt)).body.error, 'invalid_grant');

    const who2 = await newUser();
    const rt2 = await launch(new Agent(), portal, who2);
    assert.equal((await gh.api('PATCH', `/tenants/default/users/${who2.email}`, { status: 'disabled' })).status, 200);
    assert.equal((await refresh(portal, rt2)).body.error, 'invalid_grant');
    assert.equal((await gh.api('PATCH', `/tenants/default/users/${who2.email}`, { status: 'active' })).status, 200);
    const again = await refresh(portal, rt2);
    assert.equal(again.status, 400, 'revoked, not only refused while disabled');
    assert.equal(again.body.error, 'invalid_grant');
  });

  test('outliveSession: true keeps the hand-off grant through a sign-out and an administrator ending the session', async () => {
    const app = await gh.api('GET', `/tenants/default/apps/${kiosk.clientId}`);
    assert.equal(app.body.outliveSession, true);
    assert.equal((await gh.api('GET', `/tenants/default/apps/${portal.clientId}`)).body.outliveSession, false, 'default false');
    const who = await newUser();
    const agent = new Agent();
    const rt = await launch(agent, kiosk, who);
    assert.equal(await agent.follow(`${issuer}/session/end`, 'never:'), null);
    const f = agent.form();
    await agent.follow(f.action, 'never:', { form: { ...f.fields, logout: 'yes' } });
    const r = await refresh(kiosk, rt);
    assert.equal(r.status, 200, JSON.stringify(r.body));

    const rt2 = await launch(new Agent(), kiosk, who);
    assert.equal((await gh.api('DELETE', `/tenants/default/users/${who.email}/sessions`)).status, 200);
    assert.equal((await refresh(kiosk, rt2)).status, 200);
    assert.equal((await refresh(kiosk, r.body.refresh_token!)).status, 200);
  });
}
