// The engine's per-request `ctx.oidc` accessor, rewritten to a shared getter: it behaves the
// same (lazy, created once, not enumerable), other definitions are untouched, and the global
// is always put back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withSharedContextGetter } from '../src/oidc/internals/ctx-getter.ts';

test('ctx.oidc keeps its meaning; nothing else changes; Object.defineProperty is restored', () => {
  const original = Object.defineProperty;
  const ctx: Record<string, unknown> = { path: '/token' };
  let made = 0;
  withSharedContextGetter(() => {
    let value: object | undefined;
    Object.defineProperty(ctx, 'oidc', { get: () => (value ??= { made: ++made }) });
    Object.defineProperty(ctx, 'other', { value: 42 });
  });
  assert.equal(Object.defineProperty, original);
  assert.equal(made, 0, 'still lazy');
  assert.deepEqual(ctx.oidc, { made: 1 });
  assert.equal(ctx.oidc, ctx.oidc, 'created once');
  assert.equal(made, 1);
  assert.equal(ctx.other, 42);
  assert.deepEqual(Object.keys(ctx), ['path'], 'nothing new is enumerable');
  assert.throws(
    () => {
      ctx.oidc = 1;
    },
    TypeError,
    'read-only, like the original accessor',
  );
  assert.throws(
    () =>
      withSharedContextGetter(() => {
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(Object.defineProperty, original, 'restored after a throw too');
});
