// Web app login configuration (the reference's branding): the sign-in pages' background
// colour and logo, and the session lifetime. Kept on the tenant (settings.branding and its
// session lifetime), so a change has the tenant's version and reaches every node with it.
import { z } from 'zod';
import type { Tenant } from '../storage/tenants.ts';
import { MAX_SESSION_MINUTES, MIN_SESSION_MINUTES } from '../storage/tenants.ts';
import { checkLogo } from '../shared/images.ts';
import { isLocale, noteLocale, type Locale } from '../i18n/index.ts';

export const backgroundColor = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}$/, 'must be a hexadecimal colour like #1f5eff')
  .transform((v) => v.toLowerCase());

export const sessionLifetime = z
  .number()
  .int()
  .refine((v) => v === 0 || (v >= MIN_SESSION_MINUTES && v <= MAX_SESSION_MINUTES), {
    message: `must be 0 (off) or between ${MIN_SESSION_MINUTES} minutes and ${MAX_SESSION_MINUTES} minutes (4 days)`,
  });

export interface Branding {
  backgroundColor: string | null;
  logo: string | null /** The pages' language when nothing else decides it (i18n negotiate). */;
  defaultLocale: Locale;
}

export function brandingOf(t: Tenant): Branding {
  const b = (t.settings.branding ?? {}) as Partial<Branding>;
  return { backgroundColor: b.backgroundColor ?? null, logo: b.logo ?? null, defaultLocale: isLocale(b.defaultLocale) ? b.defaultLocale : 'en' };
}

/** This request's pages are the tenant's: its default language joins the negotiation. */
export const noteTenantLocale = (t: Tenant): void => noteLocale({ tenantDefault: brandingOf(t).defaultLocale });

/** The tenant's settings with the branding changed; the logo checked (type, size, dimensions). */
export function withBranding(t: Tenant, patch: Partial<Branding>): Record<string, unknown> {
  const next = { ...brandingOf(t), ...patch };
  if (patch.logo) next.logo = checkLogo(patch.logo);
  return { ...t.settings, branding: next };
}

/** What the sign-in pages link to: versioned URLs, so a change shows at once and caches stay valid. */
export function pageBranding(t: Tenant): { stylesheet?: string; logoUrl?: string; orgName: string } {
  const b = brandingOf(t);
  return {
    orgName: t.name,
    stylesheet: b.backgroundColor ? `/t/${t.slug}/branding.css?v=${t.version}` : undefined,
    logoUrl: b.logo ? `/t/${t.slug}/branding/logo?v=${t.version}` : undefined,
  };
}

/** The stylesheet the pages load (the CSP allows no inline styles). The colour was checked as #rrggbb. */
export function brandingCss(t: Tenant): string {
  const { backgroundColor: bg } = brandingOf(t);
  return bg && /^#[0-9a-f]{6}$/.test(bg) ? `body { background: ${bg}; }\n` : '';
}

/** The logo's bytes and type (it is stored as a checked data: URL). */
export function logoImage(t: Tenant): { type: string; bytes: Buffer } | undefined {
  const m = /^data:(image\/(?:png|gif|jpeg));base64,(.+)$/.exec(brandingOf(t).logo ?? '');
  return m ? { type: m[1]!, bytes: Buffer.from(m[2]!, 'base64') } : undefined;
}
