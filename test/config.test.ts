// Configuration is validated at start: a bad value stops start-up with a message naming the setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, ConfigError, settingsSchema } from '../src/config/index.ts';
import { Sealer, resolveSecret } from '../src/shared/crypto.ts';

test('defaults are the documented ones', () => {
  const c = loadConfig({});
  assert.equal(c.port, 3000);
  assert.equal(c.publicUrl, 'http://localhost:3000');
  assert.equal(c.dataDir, path.resolve('./data'));
  assert.equal(c.databaseUrl, undefined);
  assert.equal(c.secureCookies, false);
  const docs = fs.readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
  // Every setting the server reads, not a list kept by hand: a new one fails here until documented.
  for (const key of Object.keys(settingsSchema.shape)) {
    assert.ok(docs.includes(`\`${key}\``), `${key} is documented`);
  }
});

test('bad values name the setting', () => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ GATEHOUSE_PUBLIC_URL: 'not a url' }, /GATEHOUSE_PUBLIC_URL/],
    [{ GATEHOUSE_PUBLIC_URL: 'https://sso.example.com/idp' }, /GATEHOUSE_PUBLIC_URL: give scheme, host and port only/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ GATEHOUSE_SECRET: 'short' }, /GATEHOUSE_SECRET: must be at least 32/],
    [{ GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: 'admin@example.test' }, /set together/],
    [
      { GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: 'admin@example.test', GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: 'short' },
      /GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: must be at least 12/,
    ],
    [{ DATABASE_URL: 'postgres://localhost/db' }, /GATEHOUSE_SECRET: required when DATABASE_URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
  ];
  for (const [env, re] of bad)
    assert.throws(
      () => loadConfig(env),
      (e: Error) => e instanceof ConfigError && re.test(e.message),
      JSON.stringify(env),
    );
});

test('the server refuses to start on a bad setting, saying which', () => {
  const r = spawnSync(process.execPath, ['src/main.ts'], {
    env: { ...process.env, PORT: 'abc' },
    encoding: 'utf8',
    cwd: path.resolve(import.meta.dirname, '..'),
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /PORT/);
});

test('the generated instance secret is kept in a 0600 file and sealing round-trips', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-secret-'));
  const s1 = resolveSecret(undefined, dir);
  assert.equal(resolveSecret(undefined, dir), s1, 'stable across starts');
  assert.equal(fs.statSync(path.join(dir, 'secret.key')).mode & 0o777, 0o600);
  const sealer = new Sealer(s1);
  const sealed = sealer.seal('client-secret-value');
  assert.ok(!sealed.includes('client-secret-value'));
  assert.equal(sealer.open(sealed), 'client-secret-value');
  assert.throws(() => new Sealer('another-secret-of-sufficient-length-000').open(sealed));
  fs.rmSync(dir, { recursive: true, force: true });
});
