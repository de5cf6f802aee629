// Shared mobile devices (issue 20): OpenID Connect Native SSO with openid-client as two native
// apps of one device SSO group (code + PKCE with device_sso for the first, token exchange for
// the second), check-in by the device, by an administrator and by the CLI, and the abuse
// cases: another group, no group, forged / replayed / revoked device secrets, an ID token of
// another device or user, an expired device session, an undeployed user, MFA the check-out
// lacked, hostile check-in input, another tenant's administrator; secrets never in answers or
// audit events.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { execFile } from 'node:child_process';
import * as oidc from 'openid-client';
import { startTestServer, deployedApp, LOOPBACK_OUTBOUND, ADMIN, type Backend, type TestServer } from '../helpers/server.ts';
import { Agent, text } from '../helpers/agent.ts';
import { totpCode } from '../helpers/totp.ts';
import { fillSignIn, haveChromium, launch } from '../helpers/browser.ts';
import { waitFor } from '../helpers/wait.ts';
import { backchannelReceiver, codeFlow, rpConfig } from '../helpers/rp.ts';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
const DEVICE_SECRET_TYPE = 'urn:openid:params:token-type:device-secret';
const bin = path.resolve(import.meta.dirname, '..', '..', 'bin', 'gatehouse.js');

export function nativeSsoSuite(backend: Backend) {
  const test = (name: string, fn: () => Promise<void>) => nodeTest(`${backend.name}: ${name}`, { skip: backend.skip }, fn);

  let gh: TestServer;
  let issuer: string;
  let bc: Awaited<ReturnType<typeof backchannelReceiver>>;
  const alice = { email: 'alice.nurse@example.test', password: 'alice-password-1' };
  const bob = { email: 'bob.nurse@example.test', password: 'bob-password-1' };
  const cara = { email: 'cara.nurse@example.test', password: 'cara-password-1' };
  const apps: Record<string, { clientId: string; redirect: string; config: oidc.Configuration }> = {};

  async function nativeApp(key: string, extra: Record<string, unknown>, deploy = true) {
    const redirect = `com.example.${key}:/oauth2redirect`;
    const body = { name: key, displayName: `App ${key}`, type: 'native', redirectUris: [redirect], ...extra };
    const { clientId } = deploy ? await deployedApp(gh, body) : { clientId: (await gh.api('POST', '/tenants/default/apps', body)).body.clientId as string };
    apps[key] = { clientId, redirect, config: await rpConfig(issuer, clientId) };
  }

  before(async () => {
    if (backend.skip) return;
    gh = await startTestServer({ ...LOOPBACK_OUTBOUND }, { backend });
    issuer = `${gh.base}/t/default`;
    bc = await backchannelReceiver();
    for (const u of [alice, bob, cara]) assert.equal((await gh.api('POST', '/tenants/default/users', u)).status, 201);
    await nativeApp('rover', { deviceSsoGroup: 'ward', backchannelLogoutUri: `${bc.url}?app=rover` });
    await nativeApp('haiku', {
      deviceSsoGroup: 'ward',
      backchannelLogoutUri: `${bc.url}?app=haiku`,
      claims: [
        { name: 'ward', value: 'Ward 3' },
        { name: 'staff_email', attribute: 'email' },
      ],
    });
    await nativeApp('labapp', { deviceSsoGroup: 'lab' });
    await nativeApp('loner', {});
    await nativeApp('vault', { deviceSsoGroup: 'ward', requireMfa: true });
    await nativeApp('pharmacy', { deviceSsoGroup: 'ward' }, false);
    assert.equal(
      (await gh.api('PUT', `/tenants/default/apps/${apps.pharmacy!.clientId}/deployment`, { all: false, targets: [{ type: 'user', ref: cara.email }] })).status,
      200,
    );
  });
  after(async () => {
    await bc?.close();
    await gh?.close();
  });

  /** The first app's check-out: code + PKCE with device_sso, as a device's check-out app does. */
  async function checkOut(who: { email: string; password: string }, device: { name?: string; id?: string } = {}, app = 'rover') {
    const a = apps[app]!;
    const extra: Record<string, string> = {};
    if (device.name) extra.device_name = device.name;
    if (device.id) extra.device_id = device.id;
    const { tokens } = await codeFlow(a.config, new Agent(), { redirectUri: a.redirect, ...who, scope: 'openid profile offline_access device_sso', extra });
    return tokens;
  }

  /** The raw token endpoint answer to a Native SSO exchange (errors included). */
  async function exchange(app: string, fields: Record<string, string>) {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: TOKEN_EXCHANGE,
        client_id: apps[app]!.clientId,
        subject_token_type: ID_TOKEN_TYPE,
        actor_token_type: DEVICE_SECRET_TYPE,
        audience: apps[app]!.clientId,
        scope: 'openid profile offline_access',
        ...fields,
      }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  }

  async function refresh(app: string, refreshToken: string) {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: apps[app]!.clientId, refresh_token: refreshToken }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  }

  const checkin = (fields: Record<string, string>, init: { json?: boolean } = {}) =>
    fetch(`${issuer}/device/checkin`, {
      method: 'POST',
      headers: { 'content-type': init.json ? 'application/json' : 'application/x-www-form-urlencoded' },
      body: init.json ? JSON.stringify(fields) : new URLSearchParams(fields),
    });

  const dsHash = (secret: string) => crypto.createHash('sha256').update(secret).digest().subarray(0, 16).toString('base64url');
  const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  const logoutsFor = (clientId: string, sid: string) => bc.received.map(claimsOf).filter((c) => c.aud === clientId && c.sid === sid);

  test('discovery advertises Native SSO and the token exchange grant', async () => {
    const d = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    assert.equal(d.native_sso_supported, true);
    assert.ok((d.grant_types_supported as string[]).includes(TOKEN_EXCHANGE));
    assert.ok((d.scopes_supported as string[]).includes('device_sso'));
  });

  test('the second app of the group gets its own tokens with no browser step; check-in by the device ends both', async () => {
    const first = await checkOut(alice, { name: 'Ward 3 iPhone', id: 'dev-ward3' });
    const secret = first.device_secret as string;
    assert.ok(secret, 'the check-out answer carries a device_secret');
    const idClaims = first.claims()!;
    assert.equal(idClaims.ds_hash, dsHash(secret));
    assert.ok(idClaims.sid, 'the ID token names the session (sid)');

    // The second app: openid-client's generic grant, the token exchange of the specification.
    const second = await oidc.genericGrantRequest(apps.haiku!.config, TOKEN_EXCHANGE, {
      subject_token: first.id_token!,
      subject_token_type: ID_TOKEN_TYPE,
      actor_token: secret,
      actor_token_type: DEVICE_SECRET_TYPE,
      audience: apps.haiku!.clientId,
      scope: 'openid profile offline_access',
    });
    assert.ok(second.access_token && second.refresh_token && second.id_token);
    assert.equal(second.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
    const c2 = second.claims()!;
    assert.equal(c2.aud, apps.haiku!.clientId);
    assert.equal(c2.sub, idClaims.sub);
    assert.equal(c2.sid, idClaims.sid, 'the same session');
    assert.deepEqual([c2.amr, c2.acr, c2.auth_time], [idClaims.amr, idClaims.acr, idClaims.auth_time], "the check-out sign-in's amr, acr and auth_time");
    assert.deepEqual([c2.ward, c2.staff_email, c2.preferred_username], ['Ward 3', alice.email, alice.email], "the app's own custom and default claims");
    const info = await oidc.fetchUserInfo(apps.haiku!.config, second.access_token, idClaims.sub);
    assert.equal(info.preferred_username, alice.email, 'userinfo answers with the granted scopes (profile)');

    // The admin API lists the device session with both apps, never the secret.
    const list = await gh.api('GET', '/tenants/default/devices');
    assert.equal(list.status, 200);
    const row = list.body.items.find((d: { deviceId: string }) => d.deviceId === 'dev-ward3');
    assert.ok(row, JSON.stringify(list.body));
    assert.deepEqual([row.deviceName, row.email, row.group, row.status], ['Ward 3 iPhone', alice.email, 'ward', 'live']);
    assert.deepEqual(
      row.apps.map((a: { clientId: string }) => a.clientId),
      [apps.rover!.clientId, apps.haiku!.clientId],
    );
    assert.ok(row.expiresAt - row.startedAt === 12 * 3600_000, 'the default shift is 12 hours');
    assert.ok(!JSON.stringify(list.body).includes(secret));

    // Both refresh tokens work before check-in (rotated: keep the new ones).
    const r1 = await refresh('rover', first.refresh_token!);
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    assert.equal(claimsOf(r1.body.id_token!).ds_hash, dsHash(secret), 'a refreshed ID token still names the device session');
    const r2 = await refresh('haiku', second.refresh_token!);
    assert.equal(r2.status, 200, JSON.stringify(r2.body));

    // Check-in by the device: 204, and back-channel logout has reached both apps by then.
    const res = await checkin({ client_id: apps.rover!.clientId, device_secret: secret });
    assert.equal(res.status, 204);
    assert.equal(logoutsFor(apps.rover!.clientId, idClaims.sid as string).length, 1, 'rover told once');
    assert.equal(logoutsFor(apps.haiku!.clientId, idClaims.sid as string).length, 1, 'haiku told once');

    for (const [app, rt] of [
      ['rover', r1.body.refresh_token!],
      ['haiku', r2.body.refresh_token!],
    ] as const) {
      const r = await refresh(app, rt);
      assert.equal(r.status, 400, `${app}'s refresh token after check-in: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error, 'invalid_grant');
    }
    const again = await exchange('haiku', { subject_token: first.id_token!, actor_token: secret });
    assert.equal(again.status, 400);
    assert.equal(again.body.error, 'invalid_grant', 'a checked-in (revoked) device secret is refused');
    assert.match(again.body.error_description!, /ended/);
    assert.equal((await checkin({ client_id: apps.rover!.clientId, device_secret: secret })).status, 204, 'a repeated check-in is not an error');

    // The next user's check-out on the device: a new device session; nothing of Alice's is usable.
    const next = await checkOut(bob, { name: 'Ward 3 iPhone', id: 'dev-ward3' });
    assert.notEqual(next.device_secret, secret);
    assert.notEqual(next.claims()!.sid, idClaims.sid);
    const mixed = await exchange('haiku', { subject_token: first.id_token!, actor_token: next.device_secret as string });
    assert.equal(mixed.body.error, 'invalid_grant', "Alice's ID token with Bob's device secret");
    const bobs = await exchange('haiku', { subject_token: next.id_token!, actor_token: next.device_secret as string });
    assert.equal(bobs.status, 200, JSON.stringify(bobs.body));
    assert.equal(claimsOf(bobs.body.id_token!).sub, next.claims()!.sub);

    const events = await gh.api('GET', '/tenants/default/audit?limit=200');
    const text = JSON.stringify(events.body);
    assert.match(text, /device\.checked_in/);
    for (const s of [secret, next.device_secret as string]) assert.ok(!text.includes(s), 'no device secret in audit events');
  });

  test("a new check-out of the same device ends the previous user's device session", async () => {
    const a = await checkOut(alice, { id: 'dev-handover' });
    const b = await checkOut(bob, { id: 'dev-handover' });
    const r = await exchange('haiku', { subject_token: a.id_token!, actor_token: a.device_secret as string });
    assert.equal(r.body.error, 'invalid_grant');
    assert.equal((await refresh('rover', a.refresh_token!)).body.error, 'invalid_grant', "Alice's own tokens are revoked");
    assert.equal((await exchange('haiku', { subject_token: b.id_token!, actor_token: b.device_secret as string })).status, 200);
  });

  test("refused: another group, no group, forged secret, another device's ID token, wrong types, MFA the check-out lacked", async () => {
    const t = await checkOut(alice, { id: 'dev-abuse' });
    const secret = t.device_secret as string;
    const ok = { subject_token: t.id_token!, actor_token: secret };
    const other = await exchange('labapp', ok);
    assert.deepEqual([other.status, other.body.error], [400, 'invalid_grant'], 'an app of another group');
    const loner = await exchange('loner', ok);
    assert.deepEqual([loner.status, loner.body.error], [400, 'unauthorized_client'], 'an app in no group');
    const forged = await exchange('haiku', { ...ok, actor_token: crypto.randomBytes(32).toString('base64url') });
    assert.deepEqual([forged.status, forged.body.error], [400, 'invalid_grant'], 'a forged device secret');
    const tampered = t.id_token!.slice(0, -4) + (t.id_token!.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    assert.equal((await exchange('haiku', { ...ok, subject_token: tampered })).body.error, 'invalid_grant', 'a forged ID token');
    const elsewhere = await checkOut(bob, { id: 'dev-other' });
    assert.equal((await exchange('haiku', { ...ok, subject_token: elsewhere.id_token! })).body.error, 'invalid_grant', "another user's and device's ID token");
    const sameUserOtherDevice = await checkOut(alice, { id: 'dev-other-2' });
    assert.equal(
      (await exchange('haiku', { ...ok, subject_token: sameUserOtherDevice.id_token! })).body.error,
      'invalid_grant',
      "the same user's ID token from another device",
    );
    assert.equal((await exchange('haiku', { ...ok, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' })).body.error, 'invalid_request');
    assert.equal((await exchange('haiku', { ...ok, actor_token_type: 'urn:x:secret' })).body.error, 'invalid_request');
    assert.equal((await exchange('haiku', { ...ok, audience: apps.rover!.clientId })).body.error, 'invalid_request', 'audience must be the requesting app');
    assert.equal((await exchange('haiku', { subject_token: t.id_token! })).body.error, 'invalid_request', 'no actor token');
    const huge = await exchange('haiku', { ...ok, actor_token: 'x'.repeat(20_000) });
    assert.ok(huge.status >= 400 && huge.status < 500, `hostile input gets a 4xx (${huge.status})`);
    const mfa = await exchange('vault', ok);
    assert.deepEqual([mfa.status, mfa.body.error], [400, 'interaction_required'], 'the app needs MFA the check-out did not have');
    assert.match(mfa.body.error_description!, /two-step/);
    assert.equal((await exchange('haiku', ok)).status, 200, "the same request from the group's app works");
  });

  test("a shift started with two-step verification opens an app that requires it, with the check-out's amr and acr", async () => {
    const dana = { email: 'dana.nurse@example.test', password: 'dana-password-1' };
    const created = await gh.api('POST', '/tenants/default/users', dana);
    assert.equal(created.status, 201);
    const totpSecret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const tenantId = (await gh.services.tenantStore.bySlug('default'))!.id;
    await gh.services.mfaStore.addFactor(tenantId, created.body.id, { type: 'totp', label: 'Phone', secretSealed: gh.services.sealer.seal(totpSecret) });
    const a = apps.rover!;
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(a.config, {
      redirect_uri: a.redirect,
      scope: 'openid profile offline_access device_sso',
      state,
      device_id: 'dev-mfa',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const agent = new Agent();
    assert.equal(await agent.follow(url.href, a.redirect), null);
    let f = agent.form();
    await agent.follow(f.action, a.redirect, { form: { ...f.fields, email: dana.email } });
    f = agent.form();
    await agent.follow(f.action, a.redirect, { form: { ...f.fields, email: dana.email, password: dana.password } });
    assert.match(text(agent.lastBody), /Two-step verification/);
    f = agent.form();
    const callback = await agent.follow(f.action, a.redirect, { form: { ...f.fields, code: totpCode(totpSecret) } });
    assert.ok(callback, `signed in with the code: ${text(agent.lastBody).slice(0, 200)}`);
    const t = await oidc.authorizationCodeGrant(a.config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
    const vault = await exchange('vault', { subject_token: t.id_token!, actor_token: t.device_secret as string });
    assert.equal(vault.status, 200, JSON.stringify(vault.body));
    const c = claimsOf(vault.body.id_token!);
    assert.deepEqual([c.acr, c.amr, c.auth_time], [t.claims()!.acr, t.claims()!.amr, t.claims()!.auth_time]);
    assert.ok((c.amr as string[]).includes('otp'), JSON.stringify(c.amr));
  });

  test('an undeployed user and an expired device session are refused at exchange', async () => {
    // Checked out through an app with no back-channel logout URI: the ID token still has sid and ds_hash.
    const t = await checkOut(cara, { id: 'dev-cara' }, 'pharmacy');
    assert.ok(t.claims()!.sid);
    assert.equal(t.claims()!.ds_hash, dsHash(t.device_secret as string));
    const ok = { subject_token: t.id_token!, actor_token: t.device_secret as string };
    assert.equal((await exchange('haiku', ok)).status, 200, 'another app of the group');
    assert.equal(
      (
        await gh.api('PUT', `/tenants/default/apps/${apps.haiku!.clientId}/deployment`, {
          all: false,
          targets: [
            { type: 'user', ref: alice.email },
            { type: 'user', ref: bob.email },
          ],
        })
      ).status,
      200,
    );
    const undeployed = await exchange('haiku', ok);
    assert.deepEqual([undeployed.status, undeployed.body.error], [400, 'invalid_grant']);
    assert.match(undeployed.body.error_description!, /not deployed/);

    const e = await checkOut(alice, { id: 'dev-expiring' });
    const rows = await gh.services.deviceSessionService.store.listLive((await gh.services.tenantStore.bySlug('default'))!.id, { deviceId: 'dev-expiring' });
    await gh.services.database.db
      .updateTable('device_sessions')
      .set({ expires_at: Date.now() - 1000 })
      .where('id', '=', rows[0]!.id)
      .execute();
    const expired = await exchange('haiku', { subject_token: e.id_token!, actor_token: e.device_secret as string });
    assert.deepEqual([expired.status, expired.body.error], [400, 'invalid_grant'], 'past the shift');
    assert.equal((await refresh('rover', e.refresh_token!)).body.error, 'invalid_grant', "the check-out app's refresh token too");
    assert.equal(await gh.services.deviceSessionService.endExpired(), 1, 'the maintenance job ends it (revocation, back-channel logout)');
  });

  test("check-in endpoint: hostile input gets a clear 4xx; only the group's apps may check a device in", async () => {
    const t = await checkOut(alice, { id: 'dev-hostile' });
    const secret = t.device_secret as string;
    for (const [fields, json] of [
      [{}, false],
      [{ client_id: apps.rover!.clientId }, false],
      [{ client_id: apps.rover!.clientId, device_secret: secret }, true],
      [{ client_id: 'x'.repeat(600), device_secret: secret }, false],
    ] as const) {
      const r = await checkin(fields as Record<string, string>, { json });
      assert.equal(r.status, 400, JSON.stringify(fields).slice(0, 80));
      assert.match(((await r.json()) as { error_description: string }).error_description, /client_id and device_secret/);
    }
    const loner = await checkin({ client_id: apps.loner!.clientId, device_secret: secret });
    assert.deepEqual([loner.status, ((await loner.json()) as { error: string }).error], [400, 'unauthorized_client']);
    const lab = await checkin({ client_id: apps.labapp!.clientId, device_secret: secret });
    assert.deepEqual([lab.status, ((await lab.json()) as { error: string }).error], [400, 'invalid_grant'], "another group's app cannot end it");
    const forged = await checkin({ client_id: apps.rover!.clientId, device_secret: 'forged' });
    assert.deepEqual([forged.status, ((await forged.json()) as { error: string }).error], [400, 'invalid_grant']);
    const unknown = await fetch(`${gh.base}/t/nosuchtenant/device/checkin`, {
      method: 'POST',
      body: new URLSearchParams({ client_id: 'a', device_secret: 'b' }),
    });
    assert.equal(unknown.status, 404);
    assert.equal((await exchange('haiku', { subject_token: t.id_token!, actor_token: secret })).status, 200, 'still live after the refused check-ins');
  });

  test('administrators: check-in through the API (not across tenants), the shift setting, the CLI contract', async () => {
    const t = await checkOut(alice, { name: 'Ward 5 iPhone', id: 'dev-admin' });
    const sid = t.claims()!.sid as string;
    const row = (await gh.api('GET', '/tenants/default/devices')).body.items.find((d: { deviceId: string }) => d.deviceId === 'dev-admin');
    assert.equal((await gh.api('POST', '/tenants', { slug: 'clinic' })).status, 201);
    assert.equal((await gh.api('POST', `/tenants/clinic/devices/${row.id}/checkin`)).status, 404, "another tenant's path does not reach it");
    assert.equal((await gh.api('POST', '/tenants/default/devices/dvs_nosuch/checkin')).status, 404);
    assert.equal((await gh.api('PATCH', '/tenants/default', { sharedDeviceShiftHours: 25 })).status, 400);
    const shift = await gh.api('PATCH', '/tenants/default', { sharedDeviceShiftHours: 8 });
    assert.equal(shift.status, 200);
    assert.equal(shift.body.sharedDeviceShiftHours, 8);

    // Roles: help desk may check in a nurse's device but not an administrator's; an auditor sees none.
    const tokenOf = async (who: { email: string; password: string }) =>
      (
        (await (
          await fetch(`${gh.base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(who) })
        ).json()) as { access_token: string }
      ).access_token;
    const desk = { email: 'desk@example.test', password: 'desk-password-12345' };
    const audi = { email: 'audi@example.test', password: 'audi-password-12345' };
    const boss = { email: 'boss@example.test', password: 'boss-password-12345' };
    assert.equal((await gh.api('POST', '/tenants/default/users', { ...desk, roles: ['helpdesk'] })).status, 201);
    assert.equal((await gh.api('POST', '/tenants/default/users', { ...audi, roles: ['auditor'] })).status, 201);
    assert.equal((await gh.api('POST', '/tenants/default/users', { ...boss, roles: ['admin'] })).status, 201);
    const bossDevice = await checkOut(boss, { id: 'dev-boss' });
    const bossRow = (await gh.api('GET', '/tenants/default/devices')).body.items.find((d: { deviceId: string }) => d.deviceId === 'dev-boss');
    const deskToken = await tokenOf(desk);
    const listedForDesk = await gh.api('GET', '/tenants/default/devices', undefined, deskToken);
    assert.equal(listedForDesk.status, 200);
    assert.equal(listedForDesk.body.items.find((d: { id: string }) => d.id === bossRow.id).mayCheckIn, false);
    assert.equal(
      (await gh.api('POST', `/tenants/default/devices/${bossRow.id}/checkin`, undefined, deskToken)).status,
      403,
      "help desk cannot end an administrator's shift",
    );
    assert.equal((await gh.api('GET', '/tenants/default/devices', undefined, await tokenOf(audi))).status, 403);
    assert.equal((await exchange('rover', { subject_token: bossDevice.id_token!, actor_token: bossDevice.device_secret as string })).status, 200, 'still live');

    const cli = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [bin, ...args],
          {
            env: {
              ...process.env,
              GATEHOUSE_ADMIN_TOKEN: '',
              GATEHOUSE_ADMIN_TENANT: '',
              GATEHOUSE_URL: gh.base,
              GATEHOUSE_ADMIN_EMAIL: ADMIN.email,
              GATEHOUSE_ADMIN_PASSWORD: ADMIN.password,
            },
          },
          (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
        );
      });
    const listed = await cli(['device', 'list', '--tenant', 'default', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok((JSON.parse(listed.stdout) as Array<{ id: string }>).some((d) => d.id === row.id));
    const before = bc.received.length;
    const done = await cli(['device', 'checkin', '--tenant', 'default', row.id]);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /Checked in/);
    assert.ok(bc.received.length > before && logoutsFor(apps.rover!.clientId, sid).length === 1, 'back-channel logout sent by the time the check-in answered');
    assert.equal((await refresh('rover', t.refresh_token!)).body.error, 'invalid_grant');
    const again = await gh.api('POST', `/tenants/default/devices/${row.id}/checkin`);
    assert.deepEqual([again.status, again.body.checkedIn], [200, false]);
    const created = await cli([
      'app',
      'create',
      '--tenant',
      'default',
      '--name',
      'epic-haiku',
      '--display-name',
      'Haiku',
      '--type',
      'native',
      '--redirect-uri',
      'com.epic.haiku:/cb',
      '--device-sso-group',
      'ward',
      '--json',
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).deviceSsoGroup, 'ward');
    const web = await gh.api('POST', '/tenants/default/apps', {
      name: 'webby',
      displayName: 'Web',
      type: 'web',
      redirectUris: ['https://web.example.test/cb'],
      deviceSsoGroup: 'ward',
    });
    assert.equal(web.status, 400, 'only native apps join a group');
    assert.match(web.body.error.message, /Only native apps/);
  });

  // The console: Sessions, Devices tab lists the checked-out device; Check in ends it (SQLite only: the page is the same on every store).
  nodeTest(
    `${backend.name}: console: the Devices tab lists a checked-out device and checks it in`,
    {
      skip:
        backend.skip ||
        (haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium)') ||
        (backend.name === 'sqlite' ? false : 'the console does not depend on the store: run on SQLite only'),
    },
    async () => {
      const t = await checkOut(bob, { name: 'Ward 9 iPad', id: 'dev-console' });
      const browser = await launch();
      try {
        const page = await (await browser.newContext({ locale: 'en-US' })).newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(`${gh.base}/console`);
        await fillSignIn(page, ADMIN);
        await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
        await page.goto(`${gh.base}/t/default/console/sessions`);
        await page.getByRole('link', { name: 'Devices' }).click();
        const region = page.getByRole('region', { name: 'Checked-out devices' });
        await region.getByText('Ward 9 iPad').waitFor();
        await page.getByRole('button', { name: `Check in Ward 9 iPad of ${bob.email}` }).click();
        await page.getByRole('dialog', { name: 'Check in Ward 9 iPad?' }).getByRole('button', { name: 'Check in' }).click();
        await waitFor(
          async () =>
            (await gh.api('GET', '/tenants/default/devices?all=true')).body.items.some(
              (d: { deviceId: string; status: string }) => d.deviceId === 'dev-console' && d.status === 'ended',
            ),
          { what: 'the device checked in from the console' },
        );
        assert.equal((await refresh('rover', t.refresh_token!)).body.error, 'invalid_grant');
        assert.deepEqual(errors, []);
      } finally {
        await browser.close();
      }
    },
  );
}
