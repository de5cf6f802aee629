// `gatehouse backup` / `gatehouse restore` on the embedded store (storage-specific: SQLite
// only; PostgreSQL is backed up with pg_dump, which the commands point to). The refusals come
// first: each is one line on stderr and exit code 2, and changes nothing. Then the real thing:
// a backup taken while sign-ins and token requests run, restored into a new data directory, and
// a server started on it where every user signs in, every app works, the JWKS is the same and a
// refresh token issued before the backup is redeemed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import * as oidc from 'openid-client';
import { deployedApp, startTestServer, type TestServer } from './helpers/server.ts';
import { Agent } from './helpers/agent.ts';
import { codeFlow, rpConfig } from './helpers/rp.ts';
import { waitFor } from './helpers/wait.ts';
import { BackupRefusal, backupSqlite, restoreSqlite, type RestoreOptions } from '../src/storage/sqlite/backup.ts';

const refusal = (m: RegExp) => (e: unknown) => e instanceof BackupRefusal && m.test(e.message);

const RP = 'https://rp.example.test/callback';
const users = [1, 2, 3].map((i) => ({ email: `user${i}@example.test`, password: `user-${i}-password-long` }));
const bin = path.resolve(import.meta.dirname, '../bin/gatehouse.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-backup-'));

/** The `gatehouse` command as an operator runs it on this machine: embedded store, GATEHOUSE_DATA_DIR. */
function gatehouse(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', GATEHOUSE_SECRET: '', GATEHOUSE_SECRET_PREVIOUS: '', ...env },
      },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

let gh: TestServer;
let web: { clientId: string; clientSecret: string };
let wiki: { clientId: string; clientSecret: string };
let svc: { clientId: string; clientSecret: string };
let secret: string;
let jwksBefore: unknown;
/** Issued before the backup, never used on the original: it must work on the restored instance. */
let refreshBefore: string;
const backupFile = path.join(tmp, 'nightly.gatehouse-backup');

const jwks = async (base: string) => (await (await fetch(`${base}/t/default/jwks`)).json()) as { keys: Array<Record<string, unknown>> };

before(async () => {
  gh = await startTestServer();
  secret = fs.readFileSync(path.join(gh.dataDir, 'secret.key'), 'utf8').trim();
  for (const u of users) assert.equal((await gh.api('POST', '/tenants/default/users', u)).status, 201);
  web = await deployedApp(gh, { name: 'crm', displayName: 'CRM', type: 'web', redirectUris: [RP] });
  wiki = await deployedApp(gh, { name: 'wiki', displayName: 'Wiki', type: 'web', redirectUris: [RP] });
  const s = await gh.api('POST', '/tenants/default/apps', { name: 'batch', displayName: 'Batch job', type: 'service' });
  assert.equal(s.status, 201);
  svc = { clientId: s.body.clientId, clientSecret: s.body.clientSecret };
  const { tokens } = await codeFlow(await rpConfig(`${gh.base}/t/default`, web.clientId, web.clientSecret), new Agent(), { redirectUri: RP, ...users[0]! });
  refreshBefore = tokens.refresh_token!;
  assert.ok(refreshBefore);
  jwksBefore = await jwks(gh.base);
});
after(async () => {
  await gh?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('backup refuses what it cannot do, with one line saying what to do', async () => {
  const dataDir = gh.dataDir;
  // An existing file is never overwritten.
  const existing = path.join(tmp, 'existing.db');
  fs.writeFileSync(existing, 'keep me');
  let r = await gatehouse(['backup', '--to', existing], { GATEHOUSE_DATA_DIR: dataDir });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /already exists: a backup never overwrites a file/);
  assert.equal(fs.readFileSync(existing, 'utf8'), 'keep me');
  // A data dir without a database; a directory that does not exist (the store function: same message).
  assert.throws(
    () => backupSqlite(path.join(tmp, 'nothing-here'), path.join(tmp, 'x.db')),
    refusal(/There is no Gatehouse database in .*nothing-here \(GATEHOUSE_DATA_DIR\)/),
  );
  assert.throws(() => backupSqlite(dataDir, path.join(tmp, 'no-such-dir', 'x.db')), refusal(/does not exist\. Create it/));
  // PostgreSQL: pg_dump, and the commands say so.
  r = await gatehouse(['backup', '--to', path.join(tmp, 'pg.db')], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /The store is PostgreSQL.*pg_dump.*docs\/operations\.md/);
  for (const f of fs.readdirSync(tmp)) assert.doesNotMatch(f, /partial/, 'no half-written file is left behind');
});

test('a backup taken while sign-ins and token requests run restores into a new data dir where everything works', async () => {
  // Load: sign-ins (sessions, codes, grants) and token requests (refresh, client credentials)
  // run in a bounded loop for as long as the backup takes.
  let stop = false;
  let rounds = 0;
  const load = (async () => {
    const config = await rpConfig(`${gh.base}/t/default`, wiki.clientId, wiki.clientSecret);
    const svcConfig = await rpConfig(`${gh.base}/t/default`, svc.clientId, svc.clientSecret);
    for (let i = 0; i < 200 && !stop; i++) {
      const u = users[i % users.length]!;
      const { tokens } = await codeFlow(config, new Agent(), { redirectUri: RP, ...u });
      await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      await oidc.clientCredentialsGrant(svcConfig, {});
      rounds++;
    }
  })();
  await waitFor(() => rounds >= 2, { what: 'the load loop to be running' });
  const r = await gatehouse(['backup', '--to', backupFile], { GATEHOUSE_DATA_DIR: gh.dataDir });
  stop = true;
  await load;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.statSync(backupFile).mode & 0o777, 0o600, 'the backup is readable by its owner only');
  assert.match(r.stdout, /Backed up .* \(\d+ KB, mode 0600\): 1 tenant, 4 users, 3 apps, schema \d{4}_/);
  assert.match(r.stdout, new RegExp(`Keep the instance secret file ${gh.dataDir.replace(/[/.]/g, '\\$&')}/secret\\.key with this backup`));
  assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), 'the secret itself is never printed');
  // A consistent SQLite file on its own (no -wal needed): integrity check passes.
  const copy = new DatabaseSync(backupFile, { readOnly: true });
  assert.equal((copy.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
  copy.close();

  // --- restore refusals (nothing is written by any of them)
  const fresh = path.join(tmp, 'restored');
  // No secret given.
  let x = await gatehouse(['restore', '--from', backupFile], { GATEHOUSE_DATA_DIR: fresh });
  assert.equal(x.code, 2);
  assert.match(x.stderr, /sealed under the instance secret it was made with, and none was given.*GATEHOUSE_SECRET.*--secret-file/);
  // The rest through the store function (the command prints its message the same way).
  const kept = path.join(gh.dataDir, 'secret.key');
  const restore = (o: Partial<RestoreOptions>) => () => restoreSqlite({ from: backupFile, dataDir: fresh, secretFile: kept, ...o });
  // The wrong secret (as GATEHOUSE_SECRET, or a wrong key file).
  assert.throws(restore({ secretFile: undefined, secrets: ['not-the-instance-secret-'.padEnd(48, 'z')] }), refusal(/is not the one this backup was made with/));
  const wrongKey = path.join(tmp, 'wrong.key');
  fs.writeFileSync(wrongKey, 'w'.repeat(64) + '\n');
  assert.throws(
    restore({ secretFile: wrongKey }),
    (e: Error) => /not the one this backup was made with/.test(e.message) && !e.message.includes('w'.repeat(64)),
  );
  // Onto the running server's data dir.
  assert.throws(
    restore({ dataDir: gh.dataDir }),
    refusal(/A Gatehouse server is running on .*in use by process \d+.*Restore into a new, empty data directory/),
  );
  // Into a non-empty directory.
  const busy = path.join(tmp, 'busy');
  fs.mkdirSync(busy);
  fs.writeFileSync(path.join(busy, 'notes.txt'), 'x');
  assert.throws(restore({ dataDir: busy }), refusal(/is not empty \(it holds notes\.txt\): restore never overwrites an instance/));
  // Hostile files: not SQLite, SQLite but not Gatehouse, a backup from a newer Gatehouse, none.
  const junk = path.join(tmp, 'junk.db');
  fs.writeFileSync(junk, Buffer.alloc(8192, 0x41));
  assert.throws(restore({ from: junk }), refusal(/is not a SQLite database or is damaged/));
  const foreign = path.join(tmp, 'foreign.db');
  const f = new DatabaseSync(foreign);
  f.exec('create table t (x)');
  f.close();
  assert.throws(restore({ from: foreign }), refusal(/is a SQLite database but not a Gatehouse database/));
  const future = path.join(tmp, 'future.db');
  fs.copyFileSync(backupFile, future);
  const fu = new DatabaseSync(future);
  fu.prepare('insert into kysely_migration (name, timestamp) values (?, ?)').run('9990_from_a_newer_gatehouse', new Date().toISOString());
  fu.close();
  assert.throws(
    restore({ from: future }),
    refusal(/was upgraded by a newer Gatehouse: it has migration 9990_from_a_newer_gatehouse applied.*Restore it with that newer Gatehouse version/),
  );
  assert.throws(restore({ from: path.join(tmp, 'missing.db') }), refusal(/does not exist\. Give the file `gatehouse backup --to FILE` wrote/));
  assert.equal(fs.existsSync(fresh), false, 'no refused restore created the data directory');

  // --- the restore
  const keyCopy = path.join(tmp, 'secret.key.kept');
  fs.copyFileSync(path.join(gh.dataDir, 'secret.key'), keyCopy);
  x = await gatehouse(['restore', '--from', backupFile, '--secret-file', keyCopy], { GATEHOUSE_DATA_DIR: fresh });
  assert.equal(x.code, 0, x.stderr);
  assert.match(x.stdout, /Restored .* into .*restored: 1 tenant, 4 users, 3 apps, schema \d{4}_\w+; the instance secret opens it\./);
  assert.match(x.stdout, /Start Gatehouse on it: GATEHOUSE_DATA_DIR=/);
  assert.equal(fs.statSync(fresh).mode & 0o777, 0o700);
  for (const file of ['gatehouse.db', 'secret.key']) assert.equal(fs.statSync(path.join(fresh, file)).mode & 0o777, 0o600, file);
  // Restoring twice is refused: it is not empty any more (and the refusal leaves it as it was).
  const pidBefore = fs.readFileSync(path.join(fresh, 'gatehouse.pid'), 'utf8');
  assert.throws(restore({ secretFile: keyCopy }), refusal(/is not empty/));
  assert.equal(fs.readFileSync(path.join(fresh, 'gatehouse.pid'), 'utf8'), pidBefore);

  // --- the restored instance, at the same public URL (tokens name their issuer)
  const port = Number(new URL(gh.base).port);
  await gh.close();
  gh = await startTestServer({}, { dataDir: fresh, port });
  const issuer = `${gh.base}/t/default`;
  assert.deepEqual(await jwks(gh.base), jwksBefore, 'the same signing keys are published');
  for (const app of [web, wiki]) {
    const config = await rpConfig(issuer, app.clientId, app.clientSecret);
    for (const u of users) {
      const { tokens } = await codeFlow(config, new Agent(), { redirectUri: RP, ...u });
      assert.equal(tokens.claims()!.email, u.email);
    }
  }
  const svcConfig = await rpConfig(issuer, svc.clientId, svc.clientSecret);
  assert.ok((await oidc.clientCredentialsGrant(svcConfig, {})).access_token, "the service app's client secret opens");
  const refreshed = await oidc.refreshTokenGrant(await rpConfig(issuer, web.clientId, web.clientSecret), refreshBefore);
  assert.ok(refreshed.access_token, 'a refresh token issued before the backup is redeemed on the restored instance');
  assert.equal((await gh.api('GET', '/tenants/default/users')).status, 200, 'the administrator signs in to the admin API');
});

test('a backup of a stopped instance restores with GATEHOUSE_SECRET', async () => {
  // An instance that runs on GATEHOUSE_SECRET, stopped: backup reads its file all the same.
  const SECRET = 'backup-test-instance-secret-'.padEnd(48, 'q');
  const dir = path.join(tmp, 'env-secret');
  const s = await startTestServer({ GATEHOUSE_SECRET: SECRET }, { dataDir: dir });
  const app = await deployedApp(s, { name: 'crm', displayName: 'CRM', type: 'web', redirectUris: [RP] });
  assert.equal((await s.api('POST', '/tenants/default/users', users[0])).status, 201);
  const port = Number(new URL(s.base).port);
  await s.close();
  const file = path.join(tmp, 'env.backup');
  let r = await gatehouse(['backup', '--to', file], { GATEHOUSE_DATA_DIR: dir, GATEHOUSE_SECRET: SECRET });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Keep the instance secret it runs with \(GATEHOUSE_SECRET\) with this backup/);
  assert.ok(!r.stdout.includes(SECRET));
  const into = path.join(tmp, 'env-restored', 'nested');
  r = await gatehouse(['restore', '--from', file, '--json'], { GATEHOUSE_DATA_DIR: into, GATEHOUSE_SECRET: SECRET });
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.secret, 'env');
  assert.equal(summary.users, 2);
  assert.equal(fs.existsSync(path.join(into, 'secret.key')), false, 'the secret stays in the environment');
  const back = await startTestServer({ GATEHOUSE_SECRET: SECRET }, { dataDir: into, port });
  try {
    const { tokens } = await codeFlow(await rpConfig(`${back.base}/t/default`, app.clientId, app.clientSecret), new Agent(), { redirectUri: RP, ...users[0]! });
    assert.equal(tokens.claims()!.email, users[0]!.email);
  } finally {
    await back.close();
  }
});
