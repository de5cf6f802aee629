// Short-lived state kept in the browser between two requests of a flow (leaving for a
// directory or the engine and coming back): sealed (AES-GCM under the instance secret), so it
// can be neither read nor forged, scoped to the tenant's paths, and expiring.
import type Koa from 'koa';
import type { Services } from '../services.ts';

/** What a cookie helper needs of a request: its cookies (any Koa or router context has them). */
export type CookieJar = Pick<Koa.Context, 'cookies'>;

export interface SealedCookie<T> {
  save(ctx: CookieJar, slug: string, value: T): void;
  /** The value this browser holds, if intact and not expired. */
  read(ctx: CookieJar): T | undefined;
  clear(ctx: CookieJar, slug: string): void;
}

export function sealedCookie<T>(services: Pick<Services, 'config' | 'sealer'>, name: string, lifetimeMs: number): SealedCookie<T> {
  const options = (slug: string) => ({
    path: `/t/${slug}/`,
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: services.config.publicUrl.startsWith('https:'),
    signed: false,
    overwrite: true,
  });
  return {
    save(ctx, slug, value) {
      ctx.cookies.set(name, services.sealer.seal(JSON.stringify({ v: value, exp: Date.now() + lifetimeMs })), { ...options(slug), maxAge: lifetimeMs });
    },
    read(ctx) {
      const sealed = ctx.cookies.get(name);
      if (!sealed || sealed.length > 4096) return undefined;
      try {
        const { v, exp } = JSON.parse(services.sealer.openUncached(sealed)) as { v: T; exp: number };
        return exp > Date.now() ? v : undefined;
      } catch {
        return undefined;
      }
    },
    clear(ctx, slug) {
      ctx.cookies.set(name, '', { ...options(slug), maxAge: 0 });
    },
  };
}
