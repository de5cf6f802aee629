// Web app login configuration: the sign-in pages' background colour and logo, and the
// session lifetime (superadmins change it, as in the reference).
import { z } from 'zod';
import { backgroundColor, brandingOf, sessionLifetime, withBranding } from '../../interaction/branding.ts';
import { LOGO_LIMITS } from '../../shared/images.ts';
import type { Tenant } from '../../storage/tenants.ts';
import { version } from '../schemas.ts';
import { route } from '../route.ts';
import { branding as brandingSchema, locale } from '../shapes.ts';

const view = (t: Tenant): z.input<typeof brandingSchema> => ({ ...brandingOf(t), sessionLifetimeMinutes: t.sessionLifetimeMinutes, version: t.version });

export const brandingRoutes = [
  route({
    id: 'getBranding',
    method: 'get',
    path: '/tenants/:slug/branding',
    tag: 'branding',
    access: ['admin', 'helpdesk', 'auditor'],
    summary: "The sign-in pages' background colour, logo, default language and session lifetime",
    response: brandingSchema,
    async handler({ tenant }) {
      return view(tenant);
    },
  }),
  route({
    id: 'updateBranding',
    method: 'patch',
    path: '/tenants/:slug/branding',
    tag: 'branding',
    access: [],
    versioned: true,
    summary: "Change the sign-in pages' background colour, logo, default language or session lifetime",
    description: `The sign-in pages show a change at once. Logo: a PNG, GIF or JPG as a data: URL, at most ${LOGO_LIMITS.maxBytes / 1024} KB and ${LOGO_LIMITS.maxWidth} x ${LOGO_LIMITS.maxHeight} pixels; anything else is refused (400) with a message naming the limit. Session lifetime: 0 (off) or 30 minutes to 4 days; default 2 hours. Default language (en, es, fr or de; default en): the pages' language when neither the application's ui_locales, the user's saved choice nor the browser's Accept-Language names a language Gatehouse has.`,
    body: z.object({
      backgroundColor: backgroundColor.nullable().optional(),
      logo: z.string().max(1_000_000, 'the logo may be at most 250 KB').nullable().optional(),
      sessionLifetimeMinutes: sessionLifetime.optional(),
      defaultLocale: locale.optional(),
      version,
    }),
    example: { backgroundColor: '#0b3d91', sessionLifetimeMinutes: 240, defaultLocale: 'de' },
    response: brandingSchema,
    async handler({ services, tenant, body, version: v, audit }) {
      const { version: _v, sessionLifetimeMinutes, ...look } = body;
      const settings = Object.keys(look).length ? withBranding(tenant, look) : undefined;
      const t = await services.tenantStore.update(tenant.id, v, { settings, sessionLifetimeMinutes });
      services.engineCache.invalidate(t.slug); // the engine holds the tenant (session lifetime, pages)
      await audit('admin.branding.updated', t.slug, {
        changes: Object.keys(body).filter((k) => k !== 'version'),
        ...(look.backgroundColor !== undefined && { backgroundColor: look.backgroundColor }),
        ...(sessionLifetimeMinutes !== undefined && { sessionLifetimeMinutes }),
        ...(look.defaultLocale !== undefined && { defaultLocale: look.defaultLocale }),
      });
      return view(t);
    },
  }),
];
