// Per-tenant settings read at every sign-in or authorization and changed rarely (user
// policies, upstream directories): kept in memory for a minute at most, and dropped on every
// node as soon as they change (a change notice, see bus.ts; after a break in notices, all).
import type { Bus } from './bus.ts';

export class TenantCache<T> {
  readonly #entries = new Map<string, { until: number; value: Promise<T> }>();
  readonly #bus: Bus;
  readonly #topic: string;
  readonly #load: (tenantId: string) => Promise<T>;
  readonly #ttlMs: number;

  constructor(bus: Bus, topic: string, load: (tenantId: string) => Promise<T>, ttlMs = 60_000) {
    this.#bus = bus;
    this.#topic = topic;
    this.#load = load;
    this.#ttlMs = ttlMs;
    bus.subscribe(topic, (tenantId) => this.#entries.delete(tenantId), () => this.#entries.clear());
  }

  get(tenantId: string): Promise<T> {
    const hit = this.#entries.get(tenantId);
    if (hit && hit.until > Date.now()) return hit.value;
    const value = this.#load(tenantId);
    this.#entries.set(tenantId, { until: Date.now() + this.#ttlMs, value });
    // A failed read is not kept: the next caller tries again.
    value.catch(() => { if (this.#entries.get(tenantId)?.value === value) this.#entries.delete(tenantId); });
    return value;
  }

  /** The tenant's values changed: forget them here and on every other node. */
  changed(tenantId: string): Promise<void> {
    this.#entries.delete(tenantId);
    return this.#bus.publish(this.#topic, tenantId);
  }
}
