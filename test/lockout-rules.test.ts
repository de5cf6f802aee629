// Smart lockout rules (interaction/lockout.ts) on the in-memory throttle with an injected
// clock (no sleeping): counts per kind of origin, growing lockouts, per-address slowdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryThrottle } from '../src/ops/ratelimit.ts';
import type { Services } from '../src/services.ts';
import {
  addressBucket,
  addressState,
  countAddressFailure,
  countFailure,
  forgetFailures,
  liftLockout,
  lockedFor,
  lockoutPolicy,
  lockoutSeconds,
} from '../src/interaction/lockout.ts';
import { DEFAULT_SETTINGS, policySettings } from '../src/policy/policies.ts';

function appAt(clock: () => number, addressLimit = 10): Services {
  const rule = { limit: 5, windowSeconds: 900 };
  return {
    throttles: { account: new MemoryThrottle(rule, clock), ip: new MemoryThrottle(rule, clock) },
    config: { signinAddressLimit: addressLimit },
  } as unknown as Services;
}

test('defaults: 5 failures, lockouts of 1, 5, 15, then 60 minutes (the cap)', () => {
  const p = lockoutPolicy(DEFAULT_SETTINGS);
  assert.deepEqual(p, { threshold: 5, firstSeconds: 60, maxSeconds: 3600 });
  assert.deepEqual(
    [1, 2, 3, 4, 5, 9].map((n) => lockoutSeconds(p, n) / 60),
    [1, 5, 15, 60, 60, 60],
  );
  const two = lockoutPolicy(policySettings.parse({ lockout: { threshold: 3, durationMinutes: 2, maxDurationMinutes: 20 } }));
  assert.deepEqual(
    [1, 2, 3].map((n) => lockoutSeconds(two, n) / 60),
    [2, 10, 20],
  );
  assert.equal(
    policySettings.safeParse({ lockout: { durationMinutes: 30, maxDurationMinutes: 10 } }).success,
    false,
    'the longest lockout is at least the first',
  );
});

test("strangers' failures lock unfamiliar origins only; lockouts grow instead of renewing; a success forgets its own kind only", async () => {
  let now = 1_000_000;
  const services = appAt(() => now);
  const p = lockoutPolicy(DEFAULT_SETTINGS);
  const acct = 'acct:t1:nora@example.test';
  for (let i = 0; i < 4; i++) assert.equal((await countFailure(services, acct, 'unfamiliar', p)).locked, 0);
  assert.deepEqual(await countFailure(services, acct, 'unfamiliar', p), { locked: 60, lockout: 1 });
  assert.equal(await lockedFor(services, acct, 'unfamiliar'), 60);
  assert.equal(await lockedFor(services, acct, 'address'), 0, 'her usual addresses are not locked');
  assert.equal(await lockedFor(services, acct, 'device'), 0, 'nor her own browser');
  now += 60_000;
  assert.equal(await lockedFor(services, acct, 'unfamiliar'), 0, 'the first lockout ends by itself');
  for (let i = 0; i < 4; i++) await countFailure(services, acct, 'unfamiliar', p);
  assert.deepEqual(await countFailure(services, acct, 'unfamiliar', p), { locked: 300, lockout: 2 }, 'the second lasts 5 minutes');
  now += 300_000;
  for (let i = 0; i < 5; i++) await countFailure(services, acct, 'unfamiliar', p);
  assert.equal(await lockedFor(services, acct, 'unfamiliar'), 900, 'the third 15');
  await forgetFailures(services, acct, 'device');
  assert.equal(await lockedFor(services, acct, 'unfamiliar'), 900, "her sign-in from her own browser does not lift the strangers' lockout");
  await liftLockout(services, acct);
  assert.equal(await lockedFor(services, acct, 'unfamiliar'), 0, 'the helpdesk unlock lifts it');
  assert.deepEqual(await countFailure(services, acct, 'unfamiliar', p), { locked: 0 }, 'and starts the count again');
});

test('failures lock their own degree of familiarity and the less trusted ones, never a more trusted one', async () => {
  const services = appAt(() => 1_000_000);
  const p = lockoutPolicy(DEFAULT_SETTINGS);
  const acct = 'acct:t1:olaf@example.test';
  // Someone on the ward's network (an address Olaf signs in from) guesses: the network and
  // strangers are locked, Olaf's own browser is not.
  for (let i = 0; i < 5; i++) await countFailure(services, acct, 'address', p);
  assert.deepEqual(
    [await lockedFor(services, acct, 'device'), await lockedFor(services, acct, 'address'), await lockedFor(services, acct, 'unfamiliar')],
    [0, 60, 60],
  );
  // Failures from his own browser (a forgotten password, a stolen laptop) lock everything.
  const other = 'acct:t1:pat@example.test';
  for (let i = 0; i < 5; i++) await countFailure(services, other, 'device', p);
  assert.deepEqual(
    [await lockedFor(services, other, 'device'), await lockedFor(services, other, 'address'), await lockedFor(services, other, 'unfamiliar')],
    [60, 60, 60],
  );
});

test('an address is slowed from half its limit, then refused only for the accounts it failed on, and for all at ten times the limit', async () => {
  let now = 1_000_000;
  const services = appAt(() => now, 10);
  const ip = '203.0.113.66';
  for (let i = 0; i < 4; i++) await countAddressFailure(services, ip, 'acct:a');
  assert.deepEqual(await addressState(services, ip, 'acct:b'), { refusedFor: 0, delayMs: 0 });
  await countAddressFailure(services, ip, 'acct:a');
  assert.deepEqual(await addressState(services, ip, 'acct:b'), { refusedFor: 0, delayMs: 250 }, 'slowed from 5 failures');
  for (let i = 0; i < 5; i++) await countAddressFailure(services, ip, 'acct:a');
  assert.deepEqual(await addressState(services, ip, 'acct:b'), { refusedFor: 0, delayMs: 1500 }, 'a colleague is only slowed');
  assert.equal((await addressState(services, ip, 'acct:a')).refusedFor, 900, 'the attacked account is refused from this address');
  assert.equal((await addressState(services, '198.51.100.1', 'acct:a')).refusedFor, 0, 'other addresses are not');
  for (let i = 0; i < 90; i++) await countAddressFailure(services, ip, `acct:${i}`);
  assert.ok((await addressState(services, ip, 'acct:new')).refusedFor > 0, 'a spray is refused for every account');
  now += 900_000;
  assert.deepEqual(await addressState(services, ip, 'acct:a'), { refusedFor: 0, delayMs: 0 }, 'the window ended');
});

test('addresses are counted as IPv4 addresses and IPv6 /64 networks (privacy addresses rotate inside a /64)', () => {
  assert.equal(addressBucket('203.0.113.66'), '203.0.113.66');
  assert.equal(addressBucket('::ffff:203.0.113.66'), '203.0.113.66');
  assert.equal(addressBucket('2001:db8:1:2:a:b:c:d'), '2001:db8:1:2::/64');
  assert.equal(addressBucket('2001:DB8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(addressBucket('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressBucket('::1'), '0:0:0:0::/64');
  assert.equal(addressBucket('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressBucket('not an address'), 'not an address');
});
