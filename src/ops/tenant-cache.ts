// Per-tenant settings read at every sign-in or authorization and changed rarely (user
// policies, upstream directories): kept in memory for a minute at most, and dropped as soon as
// they change: on the node that changed them before it answers, on the others by a change
// notice (see forgetOnChange in bus.ts; after a break in notices, all).
import { forgetOnChange, type Bus } from './bus.ts';

export class TenantCache<T> {
  readonly #entries = new Map<string, { until: number; value: Promise<T> }>();
  readonly #changed: (tenantId: string) => Promise<void>;
  readonly #load: (tenantId: string) => Promise<T>;
  readonly #ttlMs: number;

  constructor(bus: Bus, topic: string, load: (tenantId: string) => Promise<T>, ttlMs = 60_000) {
    this.#load = load;
    this.#ttlMs = ttlMs;
    this.#changed = forgetOnChange(
      bus,
      topic,
      (tenantId) => this.#entries.delete(tenantId),
      () => this.#entries.clear(),
    );
  }

  get(tenantId: string): Promise<T> {
    const hit = this.#entries.get(tenantId);
    if (hit && hit.until > Date.now()) return hit.value;
    const value = this.#load(tenantId);
    this.#entries.set(tenantId, { until: Date.now() + this.#ttlMs, value });
    // A failed read is not kept: the next caller tries again.
    value.catch(() => {
      if (this.#entries.get(tenantId)?.value === value) this.#entries.delete(tenantId);
    });
    return value;
  }

  /** The tenant's values changed (call after the write is stored): forget them here at once, then on every other node. */
  changed(tenantId: string): Promise<void> {
    return this.#changed(tenantId);
  }
}
