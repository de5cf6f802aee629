// The embedded store's group commit: writes arriving together share one commit, yet every
// caller hears back only once its write is committed, failures stay with their caller, and
// explicit transactions keep their all-or-nothing meaning.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { sql, type Kysely } from 'kysely';
import fs from 'node:fs';
import os from 'node:os';
import { openDatabase, type Database } from '../src/storage/db.ts';

let dir: string;
let store: Database;
let db: Kysely<any>;
let other: DatabaseSync; // a second connection: sees only what is committed

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-driver-'));
  store = await openDatabase({ dataDir: dir });
  db = store.db as unknown as Kysely<any>;
  await sql`create table scratch (id text primary key, v integer not null)`.execute(db);
  other = new DatabaseSync(path.join(dir, 'gatehouse.db'), { readOnly: true });
});
after(async () => {
  other.close();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const committed = (id: string) => other.prepare('select v from scratch where id = ?').get(id) as { v: number } | undefined;

test('writes made together are each acknowledged only once committed (another connection sees them)', async () => {
  const ids = Array.from({ length: 50 }, (_, i) => `a${i}`);
  await Promise.all(
    ids.map(async (id, i) => {
      await db.insertInto('scratch').values({ id, v: i }).execute();
      assert.equal(committed(id)?.v, i, `${id} acknowledged before it was committed`);
    }),
  );
});

test('a failing write fails alone: the others in its group are kept', async () => {
  await db.insertInto('scratch').values({ id: 'dup', v: 1 }).execute();
  const results = await Promise.allSettled([
    db.insertInto('scratch').values({ id: 'b1', v: 1 }).execute(),
    db.insertInto('scratch').values({ id: 'dup', v: 2 }).execute(),
    db.insertInto('scratch').values({ id: 'b2', v: 2 }).execute(),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.match(String((results[1] as PromiseRejectedResult).reason), /UNIQUE/);
  assert.equal(committed('b1')?.v, 1);
  assert.equal(committed('b2')?.v, 2);
  assert.equal(committed('dup')?.v, 1);
});

test('a rolled-back transaction undoes only its own writes, even with writes of others around it', async () => {
  const outside = db.insertInto('scratch').values({ id: 'c-outside', v: 1 }).execute();
  const tx = db.transaction().execute(async (trx) => {
    await trx.insertInto('scratch').values({ id: 'c-inside', v: 1 }).execute();
    await new Promise((r) => setImmediate(r)); // let the group's commit come due meanwhile
    throw new Error('changed my mind');
  });
  const during = db.insertInto('scratch').values({ id: 'c-during', v: 1 }).execute();
  await assert.rejects(tx, /changed my mind/);
  await outside;
  await during;
  assert.equal(committed('c-inside'), undefined);
  assert.equal(committed('c-outside')?.v, 1);
  assert.equal(committed('c-during')?.v, 1);
});

test('a committed transaction is all there when it returns', async () => {
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('scratch').values({ id: 'd1', v: 1 }).execute();
    await trx.insertInto('scratch').values({ id: 'd2', v: 2 }).execute();
  });
  assert.equal(committed('d1')?.v, 1);
  assert.equal(committed('d2')?.v, 2);
});

test('a read made while writes are pending sees them, and answers after they are committed', async () => {
  const write = db.insertInto('scratch').values({ id: 'e1', v: 7 }).execute();
  const read = db.selectFrom('scratch').select('v').where('id', '=', 'e1').executeTakeFirst();
  const row = await read;
  assert.equal(row?.v, 7);
  assert.equal(committed('e1')?.v, 7);
  await write;
});

test('under sustained writes the write-ahead log stays bounded (checkpoints catch up instead of starving)', async () => {
  await sql`create table bulk (id integer primary key, body text not null)`.execute(db);
  const body = 'x'.repeat(3000);
  const wal = path.join(dir, 'gatehouse.db-wal');
  let maxWal = 0;
  let n = 0;
  const stopAt = Date.now() + 3000; // a bounded load loop
  while (Date.now() < stopAt) {
    // 50 concurrent writers, as under load: each group commit holds the log's end busy.
    await Promise.all(Array.from({ length: 50 }, () => db.insertInto('bulk').values({ id: ++n, body }).execute()));
    maxWal = Math.max(maxWal, fs.statSync(wal).size);
  }
  assert.ok(n > 5000, `the loop wrote (${n} rows)`);
  assert.ok(maxWal < 128 * 1024 * 1024, `the log stayed under 128 MB (peak ${(maxWal / 1e6).toFixed(1)} MB after ${((n * 3000) / 1e6).toFixed(0)} MB written)`);
});

test('while writes are held (log maintenance), reads still answer and writes wait, then go through', async () => {
  await db.insertInto('scratch').values({ id: 'h0', v: 0 }).execute();
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const held = store.holdWrites!(() => gate);
  const write = db
    .insertInto('scratch')
    .values({ id: 'h1', v: 1 })
    .execute()
    .then(() => 'written');
  const read = await db.selectFrom('scratch').select('v').where('id', '=', 'h0').executeTakeFirst();
  assert.equal(read?.v, 0, 'reads answer while writes are held');
  assert.equal(await Promise.race([write, new Promise((r) => setImmediate(() => setImmediate(() => r('waiting'))))]), 'waiting');
  assert.equal(committed('h1'), undefined);
  release();
  await held;
  assert.equal(await write, 'written');
  assert.equal(committed('h1')?.v, 1);
});
