// Cookie signatures: the same as the cookie library's own Keygrip (so sessions signed before
// an upgrade stay valid), forged or altered values refused, older keys still recognised.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { CookieKeys } from '../src/shared/crypto.ts';

const Keygrip = createRequire(import.meta.url)('keygrip') as new (keys: string[]) => { sign(d: string): string; index(d: string, s: string): number };

test('signatures match Keygrip, tampering is refused, and a previous key is still recognised', () => {
  const keys = new CookieKeys(['current-key-0123456789abcdefghij', 'previous-key-0123456789abcdefgh']);
  const theirs = new Keygrip(['current-key-0123456789abcdefghij', 'previous-key-0123456789abcdefgh']);
  const data = 'gh_session=Z2F0ZWhvdXNl';
  assert.equal(keys.sign(data), theirs.sign(data));
  assert.equal(keys.index(data, theirs.sign(data)), 0);
  assert.equal(keys.index(data, new Keygrip(['previous-key-0123456789abcdefgh']).sign(data)), 1);
  assert.equal(keys.index('gh_session=other', keys.sign(data)), -1, 'a signature for other data');
  assert.equal(keys.index(data, keys.sign(data).slice(0, -1) + 'A'), -1, 'an altered signature');
  assert.equal(keys.index(data, ''), -1);
  assert.equal(keys.verify(data, undefined as unknown as string), false);
});
