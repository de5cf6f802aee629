// Tokens and codes at rest (docs/security.md, "Secrets at rest"): after a sign-in, a refresh,
// client_credentials, introspection and revocation, none of the bearer values Gatehouse
// issued (codes, access and refresh tokens, session and interaction cookie values,
// provisioning codes) occurs anywhere in what the stores keep: every file of the data
// directory (SQLite database and WAL), every row of every PostgreSQL table, every key and
// value under the Redis prefix. And every flow still works on each store.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as oidc from 'openid-client';
import { sql } from 'kysely';
import os from 'node:os';
import { startTestServer, type Backend, type TestServer } from '../helpers/server.ts';
import { checkSecondFactor } from '../../src/mfa/totp.ts';
import { Agent } from '../helpers/agent.ts';
import { rpConfig } from '../helpers/rp.ts';

/** An agent that remembers every cookie value the server ever set (the jar forgets deleted ones). */
class RecordingAgent extends Agent {
  readonly seen = new Set<string>();
  override async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const res = await super.request(url, init);
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0]!;
      const name = pair.slice(0, pair.indexOf('=')).trim();
      const value = pair.slice(pair.indexOf('=') + 1).trim();
      if (!name.endsWith('.sig') && value.length >= 16) this.seen.add(value);
    }
    return res;
  }
}

/** Every file under `dir`, as bytes. */
function filesUnder(dir: string): { file: string; bytes: Buffer }[] {
  const out: { file: string; bytes: Buffer }[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push({ file: p, bytes: fs.readFileSync(p) });
  }
  return out;
}

/** Everything the stores keep, as named blobs to search. */
async function storeContents(gh: TestServer): Promise<{ where: string; bytes: Buffer }[]> {
  const out = filesUnder(gh.dataDir).map((f) => ({ where: `file ${path.basename(f.file)}`, bytes: f.bytes }));
  const services = gh.services;
  if (services.database.dialect === 'postgres') {
    const tables = await sql<{
      name: string;
    }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(
      services.database.db,
    );
    assert.ok(tables.rows.some((t) => t.name === 'oidc_artifacts'));
    for (const { name } of tables.rows) {
      const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(name)} t`.execute(services.database.db);
      out.push({ where: `table ${name}`, bytes: Buffer.from(rows.rows.map((r) => r.row).join('\n')) });
    }
  }
  const redis = services.redis;
  if (redis) {
    const prefix = services.config.redisPrefix;
    let cursor = '0';
    let keys = 0;
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of batch) {
        keys++;
        const type = await redis.type(key);
        const parts: (string | Buffer)[] = [key];
        if (type === 'string') parts.push((await redis.getBuffer(key)) ?? '');
        else if (type === 'hash') parts.push(...Object.entries(await redis.hgetall(key)).flat());
        else if (type === 'set') parts.push(...(await redis.smembers(key)));
        else if (type === 'zset') parts.push(...(await redis.zrange(key, '0', '-1')));
        else if (type === 'list') parts.push(...(await redis.lrange(key, 0, -1)));
        const dump = await redis.dumpBuffer(key);
        if (dump) parts.push(dump);
        out.push({ where: `redis ${key}`, bytes: Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))) });
      }
    } while (cursor !== '0');
    assert.ok(keys > 0, 'the engine keeps its short-lived artifacts in Redis');
  }
  return out;
}

export function atRestSuite(backend: Backend) {
  describe(`bearer values at rest (${backend.name})`, { skip: backend.skip }, () => {
    const RP = 'https://rp.example.test/callback';
    const alice = { email: 'alice@example.test', password: 'alice-password-1' };
    let gh: TestServer;
    let issuer: string;
    let web: { clientId: string; clientSecret: string };
    let svc: { clientId: string; clientSecret: string };

    before(async () => {
      gh = await startTestServer({}, { backend });
      issuer = `${gh.base}/t/default`;
      assert.equal((await gh.api('POST', '/tenants/default/users', { ...alice, givenName: 'Alice', familyName: 'Liddell' })).status, 201);
      const w = await gh.api('POST', '/tenants/default/apps', { name: 'crm', displayName: 'CRM', type: 'web', redirectUris: [RP] });
      assert.equal(w.status, 201, JSON.stringify(w.body));
      web = w.body;
      assert.equal((await gh.api('POST', `/tenants/default/apps/${web.clientId}/deployment/targets`, { type: 'user', ref: alice.email })).status, 200);
      const s = await gh.api('POST', '/tenants/default/apps', { name: 'batch', displayName: 'Batch job', type: 'service' });
      assert.equal(s.status, 201, JSON.stringify(s.body));
      svc = s.body;
    });
    after(async () => {
      await gh?.close();
    });

    async function authorize(config: oidc.Configuration, agent: RecordingAgent, issued: Set<string>) {
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: RP,
        scope: 'openid email',
        state: 'st',
        nonce: 'nonce-1',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const callback = await agent.signIn(url.href, RP, alice.email, alice.password);
      const code = new URL(callback).searchParams.get('code');
      assert.ok(code);
      issued.add(code);
      const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: verifier,
        expectedState: 'st',
        expectedNonce: 'nonce-1',
      });
      return tokens;
    }

    test('issued tokens, codes and session ids occur nowhere in the stores, and every flow works', async () => {
      const issued = new Set<string>();
      const config = await rpConfig(issuer, web.clientId, web.clientSecret);
      const agent = new RecordingAgent();

      // Sign-in (authorization code + PKCE).
      const first = await authorize(config, agent, issued);
      assert.ok(first.refresh_token, 'a refresh token was issued');
      issued.add(first.access_token);
      issued.add(first.refresh_token);
      assert.equal((await oidc.fetchUserInfo(config, first.access_token, first.claims()!.sub)).email, alice.email, 'userinfo takes the access token');

      // Refresh: the new pair works, the old refresh token is spent.
      const refreshed = await oidc.refreshTokenGrant(config, first.refresh_token);
      assert.ok(refreshed.refresh_token && refreshed.refresh_token !== first.refresh_token);
      issued.add(refreshed.access_token);
      issued.add(refreshed.refresh_token);
      assert.equal((await oidc.fetchUserInfo(config, refreshed.access_token, first.claims()!.sub)).email, alice.email);

      // Introspection of both token kinds.
      assert.equal((await oidc.tokenIntrospection(config, refreshed.access_token)).active, true, 'the access token is active');
      const rt = await oidc.tokenIntrospection(config, refreshed.refresh_token);
      assert.equal(rt.active, true, 'the refresh token is active');
      assert.equal(rt.sub, first.claims()!.sub);

      // SSO: the session cookie is looked up (by its hash) and signs in without a prompt.
      const config2 = await rpConfig(issuer, web.clientId, web.clientSecret);
      const verifier = oidc.randomPKCECodeVerifier();
      const silent = await agent.follow(
        oidc.buildAuthorizationUrl(config2, {
          redirect_uri: RP,
          scope: 'openid',
          state: 's2',
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        }).href,
        RP,
      );
      assert.ok(silent, 'the session signs the user in again without a prompt');
      issued.add(new URL(silent).searchParams.get('code')!);
      const again = await oidc.authorizationCodeGrant(config2, new URL(silent), { pkceCodeVerifier: verifier, expectedState: 's2' });
      issued.add(again.access_token);
      if (again.refresh_token) issued.add(again.refresh_token);

      // client_credentials + introspection.
      const svcConfig = await rpConfig(issuer, svc.clientId, svc.clientSecret);
      const cc = await oidc.clientCredentialsGrant(svcConfig, {});
      issued.add(cc.access_token);
      const ccInfo = await oidc.tokenIntrospection(svcConfig, cc.access_token);
      assert.equal(ccInfo.active, true);
      assert.equal(ccInfo.client_id, svc.clientId);

      // A connector provisioning code (Gatehouse's own one-time code).
      const code = await gh.api('POST', '/tenants/default/connectors/codes');
      assert.equal(code.status, 201);
      issued.add(code.body.code);

      for (const v of agent.seen) issued.add(v);
      assert.ok([...agent.seen].length >= 2, 'the session and interaction cookies were recorded');

      const contents = await storeContents(gh);
      const found: string[] = [];
      for (const value of issued) {
        for (const c of contents) if (c.bytes.includes(value)) found.push(`${value.slice(0, 12)}… in ${c.where}`);
      }
      assert.deepEqual(found, [], 'no issued bearer value is kept in clear');

      // Everything still works after the look: revocation, then introspection says inactive.
      await oidc.tokenRevocation(config, refreshed.refresh_token);
      assert.equal((await oidc.tokenIntrospection(config, refreshed.refresh_token)).active, false, 'a revoked refresh token is inactive');
      await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token), (e: any) => e.error === 'invalid_grant');
      await oidc.tokenRevocation(svcConfig, cc.access_token);
      assert.equal((await oidc.tokenIntrospection(svcConfig, cc.access_token)).active, false);

      // An administrator ends the session (found by its uid): the browser must sign in again.
      const sessions = await gh.api('GET', `/tenants/default/users/${alice.email}/sessions`);
      assert.equal(sessions.status, 200);
      assert.equal(sessions.body.items.length, 1);
      assert.equal((await gh.api('DELETE', `/tenants/default/sessions/${sessions.body.items[0].id}`)).status, 204);
      const after = await agent.follow(
        oidc.buildAuthorizationUrl(config2, {
          redirect_uri: RP,
          scope: 'openid',
          state: 's3',
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        }).href,
        RP,
      );
      assert.equal(after, null, 'the ended session no longer signs in');
      assert.match(agent.lastBody, /<form/, 'the sign-in page is shown');
    });

    test('recovery codes made before the upgrade (a MAC under the instance secret) still work, once', async () => {
      const services = gh.services;
      const tenant = await services.tenantStore.getBySlug('default');
      const user = (await services.userStore.userByEmail(tenant.id, alice.email))!;
      const oldCode = 'ABCD-EFGH-JKLM',
        newCode = 'NPQR-STUV-WXYZ';
      const factor = await services.mfaStore.addFactor(
        tenant.id,
        user.id,
        { type: 'totp', label: 'Phone', secretSealed: services.sealer.seal('JBSWY3DPEHPK3PXP') },
        [services.sealer.mac('recovery:ABCDEFGHJKLM'), services.tokenHasher.hash('NPQRSTUVWXYZ', 'recovery')],
      );
      const rows = await services.database.db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', user.id).execute();
      assert.ok(!JSON.stringify(rows).includes('NPQRSTUVWXYZ'));
      const factors = [factor];
      assert.deepEqual(await checkSecondFactor(services, tenant, user, oldCode, factors), { ok: true, method: 'recovery' }, 'a code from before the upgrade');
      assert.deepEqual(await checkSecondFactor(services, tenant, user, oldCode, factors), { ok: false, reason: 'wrong' }, 'works once');
      assert.deepEqual(await checkSecondFactor(services, tenant, user, newCode.toLowerCase(), factors), { ok: true, method: 'recovery' }, 'a code made now');
      await services.mfaStore.reset(tenant.id, user.id);
    });

    test('a refresh token and a session kept in clear by an earlier version work after the upgrade', {
      skip: backend.name === 'sqlite' ? false : 'restarts on the same data directory: SQLite only',
    }, async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-upgrade-'));
      let gh1: TestServer | undefined;
      let gh2: TestServer | undefined;
      try {
        gh1 = await startTestServer({}, { dataDir });
        assert.equal((await gh1.api('POST', '/tenants/default/users', { ...alice, givenName: 'Alice', familyName: 'Liddell' })).status, 201);
        const w = (await gh1.api('POST', '/tenants/default/apps', { name: 'crm', displayName: 'CRM', type: 'web', redirectUris: [RP] })).body;
        assert.equal((await gh1.api('POST', `/tenants/default/apps/${w.clientId}/deployment/targets`, { type: 'user', ref: alice.email })).status, 200);
        const agent = new RecordingAgent();
        const tokens = await authorize(await rpConfig(`${gh1.base}/t/default`, w.clientId, w.clientSecret), agent, new Set());
        assert.ok(tokens.refresh_token);

        // Put the store back as an earlier version kept it: the engine's values as keys, payloads in clear.
        const db = gh1.services.database.db;
        for (const r of await db.selectFrom('oidc_artifacts').selectAll().execute()) {
          const p = JSON.parse(gh1.services.tokenHasher.openArtifact(JSON.parse(r.payload).e)) as Record<string, unknown>;
          await db.deleteFrom('oidc_artifacts').where('model', '=', r.model).where('id', '=', r.id).execute();
          await db
            .insertInto('oidc_artifacts')
            .values({
              model: r.model,
              id: String(p.jti),
              tenant_id: r.tenant_id,
              payload: JSON.stringify(p),
              grant_id: (p.grantId as string) ?? null,
              uid: (p.uid as string) ?? null,
              user_code: null,
              expires_at: r.expires_at,
              consumed_at: r.consumed_at,
            })
            .execute();
        }
        await db.deleteFrom('instance_settings').where('name', '=', 'artifacts_hashed_at').execute();
        assert.ok(
          fs.readFileSync(path.join(dataDir, 'gatehouse.db')).includes(tokens.refresh_token) ||
            fs.readFileSync(path.join(dataDir, 'gatehouse.db-wal')).includes(tokens.refresh_token),
          'the refresh token is in clear, as before',
        );
        await gh1.close();
        gh1 = undefined;

        gh2 = await startTestServer({}, { dataDir });
        const config = await rpConfig(`${gh2.base}/t/default`, w.clientId, w.clientSecret);
        const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
        assert.ok(refreshed.access_token, 'the refresh token issued before the upgrade still works');
        const verifier = oidc.randomPKCECodeVerifier();
        const silent = await agent.follow(
          oidc.buildAuthorizationUrl(config, {
            redirect_uri: RP,
            scope: 'openid',
            state: 's',
            code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
            code_challenge_method: 'S256',
          }).href,
          RP,
        );
        assert.ok(silent, 'the browser session from before the upgrade still signs in without a prompt');
        const raw = Buffer.concat(
          ['gatehouse.db', 'gatehouse.db-wal'].filter((f) => fs.existsSync(path.join(dataDir, f))).map((f) => fs.readFileSync(path.join(dataDir, f))),
        );
        const rows = await gh2.services.database.db.selectFrom('oidc_artifacts').select(['id', 'payload']).execute();
        assert.ok(rows.length > 0 && !JSON.stringify(rows).includes(tokens.refresh_token), 'the rows were rewritten as hashes');
        assert.ok(!raw.includes(tokens.refresh_token), "nor do the old rows linger in the file's free pages or the WAL");
      } finally {
        await gh1?.close();
        await gh2?.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
