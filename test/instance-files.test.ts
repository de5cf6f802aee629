// Files on disk and start-up refusals (issue 14.3, 14.4): the data dir is private (0700, its
// files 0600, WAL and SHM too) and looser modes are tightened at start; a wrong or malformed
// instance secret, a data dir that is a file or unreadable, and a damaged database each stop
// start-up before listening, with one line that says what to do and no stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ADMIN, freePort } from './helpers/server.ts';
import { spawnServer } from './helpers/spawn.ts';

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gh-files-'));
const admin = { GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password };
const SECRET_A = 'first-instance-secret-'.padEnd(48, 'a');
const SECRET_B = 'other-instance-secret-'.padEnd(48, 'b');
const modeOf = (p: string) => fs.statSync(p).mode & 0o777;

/** Refused: exit code 2 before listening, one line on stderr matching `re`, no stack trace. */
async function assertRefused(dir: string, env: Record<string, string>, re: RegExp, opts: { asNobody?: boolean } = {}) {
  const port = await freePort();
  const s = await spawnServer(dir, port, env, opts);
  if (s.ready) await s.stop();
  assert.equal(s.ready, false, `it started: ${s.output()}`);
  assert.equal(await s.exited, 2, s.errors());
  const lines = s.errors().trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${s.errors()}`);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(s.errors(), /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(s.output(), /Gatehouse is running/);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/readyz`), 'nothing listens');
  return lines[0]!;
}

test('a new data dir is 0700 and the database, its WAL and SHM, the lock, the pid file and secret.key are 0600', async () => {
  const parent = tmpDir();
  const dir = path.join(parent, 'nested', 'data');
  const s = await spawnServer(dir, await freePort(), admin);
  try {
    assert.ok(s.ready, s.errors());
    assert.equal(modeOf(dir), 0o700);
    const files = fs.readdirSync(dir);
    for (const f of ['gatehouse.db', 'gatehouse.db-wal', 'gatehouse.db-shm', 'gatehouse.lock', 'gatehouse.pid', 'secret.key'])
      assert.ok(files.includes(f), `${f} exists while it runs`);
    // Every file there, including any SQLite makes of its own (the lock's journal).
    for (const f of files) assert.equal(modeOf(path.join(dir, f)), 0o600, `${f} is ${modeOf(path.join(dir, f)).toString(8)}`);
  } finally {
    await s.stop();
    fs.rmSync(parent, { recursive: true, force: true });
  }
});

test('an existing data dir with looser modes is tightened at start, and the start log says so', async () => {
  const dir = tmpDir();
  try {
    let s = await spawnServer(dir, await freePort(), admin);
    assert.ok(s.ready, s.errors());
    await s.stop();
    fs.chmodSync(dir, 0o755);
    for (const f of ['gatehouse.db', 'secret.key', 'gatehouse.lock']) fs.chmodSync(path.join(dir, f), 0o644);
    s = await spawnServer(dir, await freePort());
    try {
      assert.ok(s.ready, s.errors());
      assert.equal(modeOf(dir), 0o700);
      for (const f of ['gatehouse.db', 'secret.key', 'gatehouse.lock', 'gatehouse.db-wal']) assert.equal(modeOf(path.join(dir, f)), 0o600, f);
      const log = s
        .output()
        .split('\n')
        .find((l) => l.includes('made the data directory private'));
      assert.ok(log, s.output());
      for (const part of ['data directory 0755 -> 0700', 'gatehouse.db 0644 -> 0600', 'secret.key 0644 -> 0600'])
        assert.ok(log.includes(part), `${part} in ${log}`);
    } finally {
      await s.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a different GATEHOUSE_SECRET on an existing data dir stops start-up before listening, naming GATEHOUSE_SECRET', async () => {
  const dir = tmpDir();
  try {
    const s = await spawnServer(dir, await freePort(), { ...admin, GATEHOUSE_SECRET: SECRET_A });
    assert.ok(s.ready, s.errors());
    await s.stop();
    await assertRefused(
      dir,
      { GATEHOUSE_SECRET: SECRET_B },
      /^GATEHOUSE_SECRET does not match this instance's secret .*Set GATEHOUSE_SECRET to the secret this instance runs with/,
    );
    // An installation from before the check value: a stored signing key tells the wrong secret.
    const db = new DatabaseSync(path.join(dir, 'gatehouse.db'));
    db.exec(`DELETE FROM instance_settings WHERE name = 'secret_check'`);
    db.close();
    await assertRefused(
      dir,
      { GATEHOUSE_SECRET: SECRET_B },
      /^GATEHOUSE_SECRET does not match .*a stored sealed value, such as a signing key, cannot be decrypted/,
    );
    const again = await spawnServer(dir, await freePort(), { GATEHOUSE_SECRET: SECRET_A });
    assert.ok(again.ready, again.errors());
    await again.stop();
    const check = new DatabaseSync(path.join(dir, 'gatehouse.db'));
    assert.match(
      String((check.prepare(`SELECT value FROM instance_settings WHERE name = 'secret_check'`).get() as { value: string }).value),
      /^c1:/,
      'the right secret wrote the check value',
    );
    check.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a rotation of GATEHOUSE_SECRET that did not finish: start-up without GATEHOUSE_SECRET_PREVIOUS is refused', async () => {
  const dir = tmpDir();
  try {
    const s = await spawnServer(dir, await freePort(), { ...admin, GATEHOUSE_SECRET: SECRET_A });
    assert.ok(s.ready, s.errors());
    await s.stop();
    // What `gatehouse secret rotate` leaves when it stops half-way (the mark is cleared at its end).
    const db = new DatabaseSync(path.join(dir, 'gatehouse.db'));
    db.prepare(`INSERT INTO instance_settings (name, value, updated_at) VALUES ('secret_rotation_unfinished', 'c1:x', 0)`).run();
    db.close();
    await assertRefused(
      dir,
      { GATEHOUSE_SECRET: SECRET_A },
      /^A rotation of the instance secret did not finish.*Start with GATEHOUSE_SECRET_PREVIOUS set to the previous secret/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a malformed or different secret.key stops start-up naming the file', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'secret.key');
  try {
    const s = await spawnServer(dir, await freePort(), admin);
    assert.ok(s.ready, s.errors());
    await s.stop();
    const good = fs.readFileSync(file, 'utf8');
    assert.match(good.trim(), /^[\w-]{64}$/, 'the generated format');
    fs.writeFileSync(file, 'ab');
    await assertRefused(dir, {}, new RegExp(`^The instance secret file ${file} is malformed \\(2 characters`));
    fs.writeFileSync(file, `${'c'.repeat(64)}\n`);
    await assertRefused(dir, {}, new RegExp(`^The instance secret in ${file} does not match this instance's data .*Restore ${file} from the backup`));
    fs.writeFileSync(file, good);
    const back = await spawnServer(dir, await freePort());
    assert.ok(back.ready, back.errors());
    await back.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a data dir that is a file, under a file, unreadable, or holding a damaged database: one clear line each', async () => {
  const parent = tmpDir();
  try {
    const file = path.join(parent, 'plain-file');
    fs.writeFileSync(file, 'not a directory');
    await assertRefused(file, {}, /^The data directory .*plain-file \(GATEHOUSE_DATA_DIR\) is a file, not a directory/);
    await assertRefused(
      path.join(file, 'data'),
      {},
      /^The data directory .*plain-file\/data \(GATEHOUSE_DATA_DIR\) cannot be created: a part of its path is a file/,
    );

    // Unreadable: root reads any directory whatever its mode, so this runs the server as the
    // user nobody (setpriv) on a directory owned by root with mode 0700: a real refusal.
    const locked = path.join(parent, 'locked');
    fs.mkdirSync(locked, { mode: 0o700 });
    fs.chmodSync(parent, 0o755);
    await assertRefused(locked, {}, /^The data directory .*locked \(GATEHOUSE_DATA_DIR\) cannot be read and written by this process \(EACCES, uid \d+\)/, {
      asNobody: true,
    });

    const damaged = path.join(parent, 'damaged');
    fs.mkdirSync(damaged);
    fs.writeFileSync(path.join(damaged, 'gatehouse.db'), Buffer.alloc(8192, 0x5a));
    await assertRefused(damaged, {}, /^The database file .*gatehouse\.db is not a SQLite database or is damaged .*Restore it from a backup/);
  } finally {
    fs.rmSync(parent, { recursive: true, force: true });
  }
});

test('GATEHOUSE_SECRET_PREVIOUS needs GATEHOUSE_SECRET and must differ from it', async () => {
  const { loadConfig, ConfigError } = await import('../src/config/index.ts');
  assert.throws(
    () => loadConfig({ GATEHOUSE_SECRET_PREVIOUS: SECRET_A }),
    (e: Error) => e instanceof ConfigError && /GATEHOUSE_SECRET_PREVIOUS: only with GATEHOUSE_SECRET/.test(e.message),
  );
  assert.throws(
    () => loadConfig({ GATEHOUSE_SECRET: SECRET_A, GATEHOUSE_SECRET_PREVIOUS: SECRET_A }),
    (e: Error) => e instanceof ConfigError && /is the same as GATEHOUSE_SECRET/.test(e.message),
  );
  assert.throws(
    () => loadConfig({ GATEHOUSE_SECRET: SECRET_A, GATEHOUSE_SECRET_PREVIOUS: 'short' }),
    (e: Error) => e instanceof ConfigError && /GATEHOUSE_SECRET_PREVIOUS: must be at least 32/.test(e.message),
  );
  assert.equal(loadConfig({ GATEHOUSE_SECRET: SECRET_B, GATEHOUSE_SECRET_PREVIOUS: SECRET_A }).secretPrevious, SECRET_A);
});
