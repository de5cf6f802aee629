// Sign-in throttling windows, with an injected clock (no sleeping).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryThrottle, waitWords } from '../src/ops/ratelimit.ts';

test('a key is blocked after the limit until its window ends, and reset clears it', async () => {
  let now = 1_000_000;
  const t = new MemoryThrottle({ limit: 3, windowSeconds: 60 }, () => now);
  assert.equal(await t.fail('ip:1'), 0);
  assert.equal(await t.fail('ip:1'), 0);
  assert.equal(await t.fail('ip:1'), 60);
  assert.equal(await t.blockedFor('ip:1'), 60);
  assert.equal(await t.blockedFor('ip:2'), 0, 'other keys are unaffected');
  now += 59_000;
  assert.equal(await t.blockedFor('ip:1'), 1);
  now += 1_000;
  assert.equal(await t.blockedFor('ip:1'), 0, 'the window ended');
  await t.fail('ip:1');
  await t.fail('ip:1');
  await t.fail('ip:1');
  await t.reset('ip:1');
  assert.equal(await t.blockedFor('ip:1'), 0);
});

test('waits are worded for people', () => {
  assert.equal(waitWords(1), '1 second');
  assert.equal(waitWords(45), '45 seconds');
  assert.equal(waitWords(61), '2 minutes');
  assert.equal(waitWords(900), '15 minutes');
});

test("a rule given per call (a policy's lockout) applies, and the lock lasts its whole duration from the failure that reached the limit", async () => {
  let now = 1_000_000;
  const t = new MemoryThrottle({ limit: 5, windowSeconds: 900 }, () => now);
  const policy = { limit: 3, windowSeconds: 120 };
  assert.equal(await t.fail('acct:a', policy), 0);
  now += 100_000;
  assert.equal(await t.fail('acct:a', policy), 0);
  now += 10_000;
  assert.equal(await t.fail('acct:a', policy), 120, 'third failure: locked for the full two minutes from now');
  assert.equal(await t.blockedFor('acct:a'), 0, 'the default rule (5) does not count it as locked');
  now += 119_000;
  assert.equal(await t.blockedFor('acct:a', policy), 1);
  now += 1_000;
  assert.equal(await t.blockedFor('acct:a', policy), 0);
});
