// Waiting in tests: always for a condition, never for a fixed time. The deadlines are generous
// on purpose (the suite runs on busy shared machines, where a process can take many times
// longer than on an idle one); they only bound how long a broken build hangs. How fast
// something happens is measured in bench/, never asserted here.

/** The default deadline: long enough for a busy 2-core machine, short enough to fail a hung test. */
export const GENEROUS_MS = 90_000;

/**
 * Poll `condition` (every `interval` ms) until it returns true; throws, naming `what`, when
 * `timeout` passes first. An exception from `condition` counts as "not yet" (a node still
 * starting refuses connections). Returns how long it took.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, opts: { what: string; timeout?: number; interval?: number }): Promise<number> {
  const timeout = opts.timeout ?? GENEROUS_MS;
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try {
      if (await condition()) return Date.now() - start;
    } catch (e) {
      last = e;
    }
    if (Date.now() - start > timeout) {
      throw new Error(`waited ${Math.round(timeout / 1000)} s for ${opts.what}, in vain${last ? ` (last error: ${(last as Error).message ?? last})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.interval ?? 25));
  }
}
