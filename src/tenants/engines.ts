// One engine per tenant, built on first use and rebuilt when what it was built from
// (keys, tenant settings, app claim names) changes.
import type Provider from 'oidc-provider';
import type { Context } from '../context.ts';
import type { Tenant } from '../storage/tenants.ts';
import { buildEngine } from '../oidc/engine.ts';

export interface EngineEntry { tenant: Tenant; provider: Provider; handler: ReturnType<Provider['callback']> }

export class EngineCache {
  readonly #app: Context;
  readonly #bySlug = new Map<string, Promise<EngineEntry | undefined>>();
  constructor(app: Context) { this.#app = app; }

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
    const tenant = await this.#app.tenants.bySlug(slug);
    if (!tenant) {
      this.#bySlug.delete(slug); // unknown slugs are not cached: the tenant may be created later
      return undefined;
    }
    const provider = await buildEngine(this.#app, tenant);
    return { tenant, provider, handler: provider.callback() };
  }

  invalidate(slug?: string): void {
    if (slug) this.#bySlug.delete(slug);
    else this.#bySlug.clear();
  }

  async invalidateTenantId(tenantId: string): Promise<void> {
    const t = await this.#app.tenants.byId(tenantId);
    if (t) this.invalidate(t.slug);
  }
}
