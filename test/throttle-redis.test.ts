// Sign-in throttles shared through Redis: failures counted on one node block on every node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { HELD, RedisThrottle } from '../src/ops/ratelimit.ts';
import { deleteRedisPrefix, randomName } from './helpers/databases.ts';

const url = process.env.REDIS_URL;
const skip = url ? false : 'REDIS_URL not set: Redis throttle tests skipped';
const prefix = `ghtest:${randomName()}:`;
let a: Redis;
let b: Redis;

before(async () => {
  if (url) {
    a = new Redis(url);
    b = new Redis(url);
  }
});
after(async () => {
  if (url) {
    await deleteRedisPrefix(a, prefix);
    a.disconnect();
    b.disconnect();
  }
});

test('failures counted by two nodes add up, block on both, and a reset on one clears both', { skip }, async () => {
  const rule = { limit: 3, windowSeconds: 900 };
  const nodeA = new RedisThrottle(a, prefix, 'account', rule);
  const nodeB = new RedisThrottle(b, prefix, 'account', rule);
  assert.equal(await nodeA.fail('t1:alice'), 0);
  assert.equal(await nodeB.fail('t1:alice'), 0);
  assert.equal(await nodeB.blockedFor('t1:alice'), 0, 'under the limit');
  const blocked = await nodeA.fail('t1:alice');
  assert.ok(blocked > 890 && blocked <= 900, `blocked for the rest of the window, got ${blocked}`);
  const seenByB = await nodeB.blockedFor('t1:alice');
  assert.ok(seenByB > 890 && seenByB <= 900);
  assert.equal(await nodeB.blockedFor('t1:bob'), 0, 'other keys are unaffected');
  assert.equal(await new RedisThrottle(b, prefix, 'ip', rule).blockedFor('t1:alice'), 0, 'other throttles are unaffected');
  await nodeB.reset('t1:alice');
  assert.equal(await nodeA.blockedFor('t1:alice'), 0);
});

test('concurrent failures from many nodes are all counted', { skip }, async () => {
  const rule = { limit: 1000, windowSeconds: 60 };
  const nodes = [new RedisThrottle(a, prefix, 'ip', rule), new RedisThrottle(b, prefix, 'ip', rule)];
  await Promise.all(Array.from({ length: 200 }, (_, i) => nodes[i % 2]!.fail('198.51.100.7')));
  assert.equal(Number(await a.get(`${prefix}throttle:ip:198.51.100.7`)), 200);
  const ttl = await a.pttl(`${prefix}throttle:ip:198.51.100.7`);
  assert.ok(ttl > 0 && ttl <= 60_000, 'the window is set once, when it starts');
});

test("counts seen by two nodes add up in their window; a hold blocks both nodes and a new hold replaces it (smart lockout's counters)", { skip }, async () => {
  const rule = { limit: 5, windowSeconds: 900 };
  const nodeA = new RedisThrottle(a, prefix, 'account', rule);
  const nodeB = new RedisThrottle(b, prefix, 'account', rule);
  assert.deepEqual((await Promise.all([nodeA.hit('n', 900), nodeB.hit('n', 900)])).sort(), [1, 2]);
  assert.equal(await nodeB.count('n'), 2);
  const ttl = await a.pttl(`${prefix}throttle:account:n`);
  assert.ok(ttl > 0 && ttl <= 900_000, 'the window is set when it starts');
  assert.equal(await nodeA.count('other'), 0);
  await nodeA.hold('lock:n', 300);
  const held = await nodeB.blockedFor('lock:n', HELD);
  assert.ok(held > 298 && held <= 300, `held ${held}`);
  await nodeB.hold('lock:n', 60);
  const replaced = await nodeA.blockedFor('lock:n', HELD);
  assert.ok(replaced > 58 && replaced <= 60, `replaced ${replaced}`);
  await nodeA.reset('lock:n');
  assert.equal(await nodeB.blockedFor('lock:n', HELD), 0);
});
