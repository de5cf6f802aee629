// Engine assumption (oidc-provider 9.x, lib/helpers/initialize_app.js): ctx.oidc is defined per
// request by Object.defineProperty(ctx, 'oidc', { get }) during the synchronous start of the
// handler. Checked by test/engine-internals.test.ts ("ctx.oidc getter").
// oidc-provider defines `ctx.oidc` on every request as an accessor whose getter is a closure of
// its own. V8 keeps objects given such one-off accessors alive through young-generation
// collections, so every request's whole object graph survived them: ~10 MB copied per
// scavenge and 10-40 ms pauses, the main source of Gatehouse's latency tail (the bare engine
// has it too). While the engine starts on a request, that definition is rewritten to one
// shared getter that calls the request's closure, kept under a symbol: the same property,
// with the same laziness, without the retention.
const kGetter = Symbol('gatehouse.oidcGetter');
const define = Object.defineProperty;

function sharedGetter(this: Record<symbol, () => unknown>): unknown {
  return this[kGetter]!();
}

// biome-ignore lint/suspicious/noExplicitAny: the engine's internal object has no type
function defineProperty<T>(o: T, p: PropertyKey, d: PropertyDescriptor & ThisType<any>): T {
  if (p === 'oidc' && typeof d?.get === 'function' && d.set === undefined && 'value' in d === false && typeof o === 'object' && o !== null) {
    (o as Record<symbol, unknown>)[kGetter] = d.get;
    return define(o, p, { get: sharedGetter, configurable: d.configurable ?? false, enumerable: d.enumerable ?? false });
  }
  return define(o, p, d);
}

/** Runs `start` (the synchronous start of the engine's request handling) with that rewrite in place. */
export function withSharedContextGetter<T>(start: () => T): T {
  Object.defineProperty = defineProperty;
  try {
    return start();
  } finally {
    Object.defineProperty = define;
  }
}
