// One engine per tenant, built on first use and rebuilt when what it was built from
// (keys, tenant settings, app claim names) changes: on this node at once, before the change
// is answered, and on every other node through a change notice (forgetOnChange in ops/bus.ts),
// which arrives well within a second.
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import type { TenantStore } from '../storage/tenants.ts';
import type { Bus } from '../ops/bus.ts';
import type { Tenant } from '../storage/tenants.ts';
import { forgetOnChange } from '../ops/bus.ts';

export interface EngineEntry {
  tenant: Tenant;
  provider: Provider;
  handler: ReturnType<Provider['callback']>;
}

/**
 * What the engine cache uses. `build` makes a tenant's engine; the composition root passes a
 * function that reads the finished service record, because engines use services (sessions,
 * policies) that in turn use this cache: the cycle is broken by binding `build` late.
 */
export interface EngineCacheDeps {
  tenantStore: TenantStore;
  bus: Bus;
  logger: Logger;
  build(tenant: Tenant): Promise<Provider>;
}

export class EngineCache {
  readonly #deps: EngineCacheDeps;
  readonly #bySlug = new Map<string, Promise<EngineEntry | undefined>>();
  /** A slug, or '' for every tenant; after a break in notices, everything is rebuilt. */
  readonly #changed: (slug: string) => Promise<void>;
  constructor(deps: EngineCacheDeps) {
    this.#deps = deps;
    this.#changed = forgetOnChange(
      deps.bus,
      'engines',
      (slug) => this.#drop(slug || undefined),
      () => this.#drop(),
    );
  }

  get(slug: string): Promise<EngineEntry | undefined> {
    let p = this.#bySlug.get(slug);
    if (!p) {
      p = this.#build(slug);
      this.#bySlug.set(slug, p);
      // A failed build must not be cached forever.
      p.catch(() => this.#bySlug.delete(slug));
    }
    return p;
  }

  async #build(slug: string): Promise<EngineEntry | undefined> {
    const tenant = await this.#deps.tenantStore.bySlug(slug);
    if (!tenant) {
      this.#bySlug.delete(slug); // unknown slugs are not cached: the tenant may be created later
      return undefined;
    }
    const provider = await this.#deps.build(tenant);
    return { tenant, provider, handler: provider.callback() };
  }

  /** Rebuild a tenant's engine (every tenant's without a slug), here and on every other node. */
  invalidate(slug?: string): void {
    this.#changed(slug ?? '').catch((err) =>
      this.#deps.logger.error({ err, slug }, 'could not tell the other nodes to rebuild an engine; they will on their next change notice or restart'),
    );
  }

  #drop(slug?: string): void {
    if (slug) this.#bySlug.delete(slug);
    else this.#bySlug.clear();
  }

  async invalidateTenantId(tenantId: string): Promise<void> {
    const t = await this.#deps.tenantStore.byId(tenantId);
    if (t) this.invalidate(t.slug);
  }
}
