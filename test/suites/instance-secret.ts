// The instance secret's rotation (`gatehouse secret rotate`, POST /api/v1/instance/secret/rotate),
// online, on the embedded store and on PostgreSQL + Redis: everything sealed is re-sealed under
// the new secret, sign-in, an app's client secret and the JWKS keep working, the old secret is
// refused afterwards.
import { test as nodeTest, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADMIN, startTestServer, type Backend, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { Agent } from '../helpers/agent.ts';
import { rpConfig, codeFlow } from '../helpers/rp.ts';
import { execFile } from 'node:child_process';
import { StartupRefusal } from '../../src/shared/errors.ts';

const RP = 'https://rp.example.test/callback';
const OLD = 'old-instance-secret-'.padEnd(48, '1');
const NEW = 'new-instance-secret-'.padEnd(48, '2');
const alice = { email: 'alice@example.test', password: 'alice-password-1' };

/** A full code flow with the app's client secret: opens the client secret and signs with a signing key. */
async function signIn(gh: TestServer, app: { clientId: string; clientSecret: string }) {
  const config = await rpConfig(`${gh.base}/t/default`, app.clientId, app.clientSecret);
  const { tokens } = await codeFlow(config, new Agent(), { redirectUri: RP, ...alice });
  return tokens.claims()!.email;
}
const kids = async (gh: TestServer) =>
  ((await (await fetch(`${gh.base}/t/default/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid).sort();

/** The `gatehouse` command against a test server, as the superadministrator. */
function gatehouse(gh: TestServer, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = path.resolve(import.meta.dirname, '../../bin/gatehouse.js');
  return new Promise((resolve) => {
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
}

async function setUp(gh: TestServer) {
  assert.equal((await gh.api('POST', '/tenants/default/users', { ...alice, givenName: 'Alice', familyName: 'Liddell' })).status, 201);
  const created = await gh.api('POST', '/tenants/default/apps', { name: 'crm', displayName: 'CRM', type: 'web', redirectUris: [RP] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await gh.api('POST', `/tenants/default/apps/${created.body.clientId}/deployment/targets`, { all: true })).status, 200);
  return created.body as { clientId: string; clientSecret: string };
}

export function instanceSecretSuite(make: () => Promise<Backend>) {
  let base: Backend | undefined;
  let env: Record<string, string> | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-rotate-'));
  after(async () => {
    await base?.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  // Every start reuses the same database (or data dir): a backend that keeps it.
  const start = async (extra: Record<string, string>) => {
    base ??= await make();
    const fixed = (env ??= await base.env());
    const keep: Backend = { name: base.name, skip: false, env: async () => fixed, cleanup: async () => {} };
    return startTestServer(extra, { backend: keep, dataDir });
  };

  return async function run(skip: string | false) {
    nodeTest(
      'rotating GATEHOUSE_SECRET online re-seals everything; sign-in, client secrets and the JWKS keep working; the old secret is refused',
      { skip },
      async () => {
        let gh = await start({ GATEHOUSE_SECRET: OLD });
        let app: { clientId: string; clientSecret: string };
        let jwks: string[];
        let mac: string;
        try {
          app = await setUp(gh);
          assert.equal(await signIn(gh, app), alice.email);
          jwks = await kids(gh);
          mac = gh.services.sealer.mac('probe');
          // Nothing to rotate yet: a clear 409 saying what to do.
          const early = await gh.api('POST', '/instance/secret/rotate');
          assert.equal(early.status, 409);
          assert.match(early.body.error.message, /GATEHOUSE_SECRET_PREVIOUS/);
        } finally {
          await gh.close();
        }

        // Step 1: every node gets the new secret, the old one as previous; still sealing under the old.
        gh = await start({ GATEHOUSE_SECRET: NEW, GATEHOUSE_SECRET_PREVIOUS: OLD });
        try {
          assert.equal(await signIn(gh, app), alice.email, 'sign-in works while both secrets are held');
          const forbidden = await gh.api('POST', '/instance/secret/rotate', undefined, '');
          assert.equal(forbidden.status, 401);
          const r = await gh.api('POST', '/instance/secret/rotate');
          assert.equal(r.status, 200, JSON.stringify(r.body));
          assert.equal(r.body.source, 'env');
          assert.equal(r.body.unreadable, 0);
          assert.ok(r.body.resealed['signing_keys.private_sealed'] >= 2, JSON.stringify(r.body));
          assert.equal(r.body.resealed['apps.secret_sealed'], 1, JSON.stringify(r.body));
          assert.ok(r.body.resealed['instance_settings.value'] >= 1, JSON.stringify(r.body));
          assert.match(r.body.next, /without GATEHOUSE_SECRET_PREVIOUS/);
          assert.equal(await signIn(gh, app), alice.email, 'sign-in works right after the rotation');
          const again = await gh.api('POST', '/instance/secret/rotate');
          assert.deepEqual(again.body.resealed, {}, 'running it again finds nothing left to re-seal');
        } finally {
          await gh.close();
        }

        // Step 2: the new secret alone.
        gh = await start({ GATEHOUSE_SECRET: NEW });
        try {
          assert.equal(await signIn(gh, app), alice.email, 'the same client secret and user sign in under the new secret alone');
          assert.deepEqual(await kids(gh), jwks, 'the same signing keys are published');
          assert.equal(gh.services.sealer.mac('probe'), mac, 'MACs (recovery codes, cookie signatures) are unchanged');
        } finally {
          await gh.close();
        }

        // The old secret is refused, before listening, naming the setting.
        await assert.rejects(
          start({ GATEHOUSE_SECRET: OLD }),
          (e: Error) => e instanceof StartupRefusal && /^GATEHOUSE_SECRET does not match this instance's secret/.test(e.message),
        );
      },
    );
  };
}

/** SQLite with the generated secret.key: rotation writes a new key file and renames it over the old one. */
export function keyFileRotation() {
  nodeTest('rotating a generated secret.key replaces the file; the old key file is refused afterwards', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-rotate-file-'));
    const file = path.join(dataDir, 'secret.key');
    try {
      let gh = await startTestServer({}, { dataDir });
      let app: { clientId: string; clientSecret: string };
      const oldKey = fs.readFileSync(file, 'utf8');
      try {
        app = await setUp(gh);
        const jwks = await kids(gh);
        // Through the command, as an operator runs it.
        const run = await gatehouse(gh, ['secret', 'rotate']);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /^Re-sealed .*apps\.secret_sealed: 1/m);
        assert.match(run.stdout, /The new secret is in .*secret\.key and the old one is gone/);
        const first = fs.readFileSync(file, 'utf8');
        const json = JSON.parse((await gatehouse(gh, ['secret', 'rotate', '--json'])).stdout);
        assert.equal(json.source, 'file');
        assert.equal(json.resealed['apps.secret_sealed'], 1, 'with a key file, each run is a rotation of its own');
        assert.notEqual(fs.readFileSync(file, 'utf8'), first);
        assert.ok(!fs.existsSync(path.join(dataDir, 'secret.key.new')), 'the new key file was renamed over the old one');
        assert.notEqual(fs.readFileSync(file, 'utf8'), oldKey);
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
        assert.equal(await signIn(gh, app), alice.email, 'sign-in works right after the rotation');
        assert.deepEqual(await kids(gh), jwks);
      } finally {
        await gh.close();
      }
      gh = await startTestServer({}, { dataDir });
      try {
        assert.equal(await signIn(gh, app), alice.email, 'sign-in with the same client secret under the new key file');
      } finally {
        await gh.close();
      }
      fs.writeFileSync(file, oldKey);
      await assert.rejects(
        startTestServer({}, { dataDir }),
        (e: Error) => e instanceof StartupRefusal && e.message.includes(file) && /does not match/.test(e.message),
      );
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

/**
 * storage/sealed.ts lists every sealed column: the rotation re-seals only those. After a setup
 * that stores every kind of sealed value, every text column of every table is scanned for
 * values in the sealed format; one in a column not listed fails here. (Values this setup does
 * not make are not seen: a new kind of sealed value belongs in this setup too.)
 */
export function sealedColumnsAreListed() {
  nodeTest('every stored sealed value is in a column storage/sealed.ts lists (so rotation re-seals it)', async () => {
    const { SEALED_COLUMNS } = await import('../../src/storage/sealed.ts');
    const { sql } = await import('kysely');
    const gh = await startTestServer();
    try {
      await setUp(gh); // a user, and an app with a client secret
      const tenant = (await gh.services.tenantStore.bySlug('default'))!;
      const user = (await gh.services.userStore.userByEmail(tenant.id, alice.email))!;
      const ldap = await gh.api('POST', '/tenants/default/directories', {
        name: 'Corp DC',
        bindPassword: 'bind-secret',
        settings: {
          kind: 'openldap',
          urls: ['ldap://127.0.0.1:1'],
          startTls: false,
          allowPlain: true,
          bindDn: 'cn=svc,dc=example,dc=com',
          baseDns: ['dc=example,dc=com'],
          timeoutSeconds: 3,
        },
      });
      assert.equal(ldap.status, 201, JSON.stringify(ldap.body));
      await gh.services.upstreamStore.create(tenant.id, {
        name: 'Contoso',
        mode: 'disabled',
        settings: {} as never,
        clientSecretSealed: gh.services.sealer.seal('upstream-secret'),
      });
      await gh.services.mfaStore.addFactor(tenant.id, user.id, { type: 'totp', label: 'phone', secretSealed: gh.services.sealer.seal('JBSWY3DPEHPK3PXP') });
      await gh.services.connectorStore.putRelayed('relay-1', gh.services.sealer.seal('{}'), Date.now() + 60_000);
      await gh.services.kerberosStore.put({
        tenantId: tenant.id,
        enabled: true,
        realm: 'EXAMPLE.TEST',
        principal: 'HTTP/localhost@EXAMPLE.TEST',
        sealedKeytab: gh.services.sealer.seal('BQI='),
        mapping: { rules: ['principal-as-email'], emailDomain: null },
        negotiateFrom: [],
      });

      const db = gh.services.database.db;
      const tables = (
        await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%'`.execute(db)
      ).rows.map((r) => r.name);
      const found: string[] = [];
      for (const t of tables) {
        const cols = (await sql<{ name: string }>`select name from pragma_table_info(${t})`.execute(db)).rows.map((r) => r.name);
        for (const c of cols) {
          const n = (
            await sql<{ n: number }>`select count(*) as n from ${sql.table(t)} where typeof(${sql.ref(c)}) = 'text' and ${sql.ref(c)} like 'v1.%'`.execute(db)
          ).rows[0]!.n;
          if (Number(n) > 0) found.push(`${t}.${c}`);
        }
      }
      const listed = SEALED_COLUMNS.map((c) => `${c.table}.${c.column}`);
      assert.deepEqual(
        found.filter((f) => !listed.includes(f)),
        [],
        'sealed values in columns storage/sealed.ts does not list',
      );
      assert.deepEqual(
        listed.filter((l) => !found.includes(l)),
        [],
        'this setup stores a value in every listed column',
      );
    } finally {
      await gh.close();
    }
  });
}

/**
 * Two nodes on one database: the node that did not run the rotation learns of it (change
 * notice) and seals under the new secret from then on, so what it stores afterwards still
 * opens once the old secret is gone.
 */
export function twoNodeRotation(label: string, make: () => Promise<Backend>) {
  let base: Backend | undefined;
  after(async () => {
    await base?.cleanup();
  });
  nodeTest(`two nodes (${label}): the one that did not rotate seals under the new secret from then on`, async (t) => {
    base = await make();
    if (base.skip) {
      t.skip(base.skip);
      return;
    }
    const env = await base.env();
    const keep: Backend = { name: base.name, skip: false, env: async () => env, cleanup: async () => {} };
    const node = (extra: Record<string, string>) => startTestServer(extra, { backend: keep });
    let a = await node({ GATEHOUSE_SECRET: OLD });
    try {
      await setUp(a);
    } finally {
      await a.close();
    }
    a = await node({ GATEHOUSE_SECRET: NEW, GATEHOUSE_SECRET_PREVIOUS: OLD });
    const b = await node({ GATEHOUSE_SECRET: NEW, GATEHOUSE_SECRET_PREVIOUS: OLD });
    let later: { clientId: string; clientSecret: string };
    try {
      assert.equal(b.services.sealer.activeCheck, a.services.sealer.activeCheck);
      const before = b.services.sealer.activeCheck;
      const r = await a.api('POST', '/instance/secret/rotate');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitFor(() => b.services.sealer.activeCheck !== before, { what: 'node b to switch to the new secret' });
      assert.equal(b.services.sealer.activeCheck, a.services.sealer.activeCheck, 'node b switched to the new secret');
      const created = await b.api('POST', '/tenants/default/apps', { name: 'wiki', displayName: 'Wiki', type: 'web', redirectUris: [RP] });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      later = created.body;
      assert.equal((await b.api('POST', `/tenants/default/apps/${later.clientId}/deployment/targets`, { all: true })).status, 200);
    } finally {
      await a.close();
      await b.close();
    }
    const c = await node({ GATEHOUSE_SECRET: NEW });
    try {
      assert.equal(await signIn(c, later), alice.email, 'the app node b made after the rotation signs in under the new secret alone');
    } finally {
      await c.close();
    }
  });
}

/**
 * A key-file rotation stopped after it switched the check value and before it re-sealed
 * anything or renamed the file: the next start opens with both files, and running the command
 * again finishes it. And an installation from before the check value keeps its MACs.
 */
export function interruptedKeyFileRotation() {
  nodeTest('an interrupted key-file rotation starts with both keys and is finished by running it again', async () => {
    const { DatabaseSync } = await import('node:sqlite');
    const { secretCheckValue, generateSecret } = await import('../../src/shared/crypto.ts');
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-rotate-crash-'));
    const file = path.join(dataDir, 'secret.key');
    try {
      let gh = await startTestServer({}, { dataDir });
      let app: { clientId: string; clientSecret: string };
      try {
        app = await setUp(gh);
      } finally {
        await gh.close();
      }
      // The state a crash leaves: the new key on disk, its check value stored, nothing re-sealed.
      const next = generateSecret();
      fs.writeFileSync(path.join(dataDir, 'secret.key.new'), next + '\n', { mode: 0o600 });
      const db = new DatabaseSync(path.join(dataDir, 'gatehouse.db'));
      db.prepare(`UPDATE instance_settings SET value = ? WHERE name = 'secret_check'`).run(secretCheckValue(next));
      db.close();
      gh = await startTestServer({}, { dataDir });
      try {
        assert.equal(await signIn(gh, app), alice.email, 'values still under the old key open');
        const r = await gh.api('POST', '/instance/secret/rotate');
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.resealed['apps.secret_sealed'], 1);
        assert.equal(fs.readFileSync(file, 'utf8').trim(), next, 'the key file of the interrupted run is the one kept');
        assert.ok(!fs.existsSync(path.join(dataDir, 'secret.key.new')));
      } finally {
        await gh.close();
      }
      gh = await startTestServer({}, { dataDir });
      try {
        assert.equal(await signIn(gh, app), alice.email);
      } finally {
        await gh.close();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  nodeTest('an installation from before the check value keeps the MACs it had (recovery codes, cookie signatures)', async () => {
    const { DatabaseSync } = await import('node:sqlite');
    const crypto = await import('node:crypto');
    const secret = 'installed-before-check-'.padEnd(48, 'z');
    const legacy = (v: string) =>
      crypto
        .createHmac('sha256', Buffer.from(crypto.hkdfSync('sha256', secret, 'gatehouse', 'seal/v1', 32)))
        .update(v)
        .digest('base64url');
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-upgrade-'));
    try {
      let gh = await startTestServer({ GATEHOUSE_SECRET: secret }, { dataDir });
      try {
        assert.notEqual(gh.services.sealer.mac('probe'), legacy('probe'), 'a new installation gets a random root');
      } finally {
        await gh.close();
      }
      const db = new DatabaseSync(path.join(dataDir, 'gatehouse.db'));
      db.exec(`DELETE FROM instance_settings WHERE name IN ('secret_check', 'mac_root')`);
      db.close();
      gh = await startTestServer({ GATEHOUSE_SECRET: secret }, { dataDir });
      try {
        assert.equal(gh.services.sealer.mac('probe'), legacy('probe'), 'the root earlier versions derived from the secret');
      } finally {
        await gh.close();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
