// Self-service settings of a tenant (issue 17): what people sign in with (email, username or
// either), the Windows domains and UPN suffixes naming directories, the name mail is sent
// as; and "send test email", which queues a message the way every other mail goes.
import { z } from 'zod';
import { selfServiceOf, selfServiceShape, withSelfService } from '../../selfservice/settings.ts';
import { inLocale } from '../../i18n/index.ts';
import { brandingOf } from '../../interaction/branding.ts';
import { messages } from '../../selfservice/messages.ts';
import type { Tenant } from '../../storage/tenants.ts';
import { invalid } from '../../shared/errors.ts';
import { version } from '../schemas.ts';
import { route } from '../route.ts';

const view = (t: Tenant) => ({ ...selfServiceOf(t), version: t.version });
const settingsView = selfServiceShape.extend({ version: z.number().int() });

export const selfServiceRoutes = [
  route({
    id: 'getSelfService',
    method: 'get',
    path: '/tenants/:slug/self-service',
    tag: 'self-service',
    access: ['admin', 'helpdesk', 'auditor'],
    summary: 'What users sign in with, the domains naming directories, and the name mail is sent as',
    response: settingsView,
    async handler({ tenant }) {
      return view(tenant);
    },
  }),
  route({
    id: 'updateSelfService',
    method: 'patch',
    path: '/tenants/:slug/self-service',
    tag: 'self-service',
    access: ['admin'],
    versioned: true,
    summary: 'Change what users sign in with, the domains naming directories, or the name mail is sent as',
    description:
      "signInWith: email, username or either (default). domains: NetBIOS names (CORP, for CORP\\jsmith) and userPrincipalName suffixes (corp.example.org, for jsmith@corp.example.org), each the id of one of the tenant's LDAP directories; the whole map is replaced. mailFromName: the name shown with GATEHOUSE_MAIL_FROM (null: the tenant's name).",
    body: selfServiceShape.partial().extend({ version }),
    example: { signInWith: 'either', mailFromName: 'Example Hospital' },
    response: settingsView,
    async handler({ services, tenant, body, version: v, audit }) {
      const { version: _v, ...patch } = body;
      for (const [name, id] of Object.entries(patch.domains ?? {})) {
        if (!(await services.ldapStore.byId(tenant.id, id)))
          throw invalid(
            `The domain ${name} names the directory ${id}, which this tenant does not have. Give the id of one of its LDAP directories (GET /tenants/${tenant.slug}/directories).`,
          );
      }
      const t = await services.tenantStore.update(tenant.id, v, { settings: withSelfService(tenant, patch) });
      services.engineCache.invalidate(t.slug); // the engine holds the tenant (its pages read the setting)
      await audit('admin.self_service.updated', t.slug, { changes: Object.keys(patch), ...(patch.signInWith && { signInWith: patch.signInWith }) });
      return view(t);
    },
  }),
  route({
    id: 'sendTestEmail',
    method: 'post',
    path: '/tenants/:slug/self-service/test-email',
    tag: 'self-service',
    access: ['admin'],
    summary: 'Queue a test message to an address, sent like every other mail (GATEHOUSE_SMTP_URL)',
    description:
      'Answered at once: mail is queued and sent by the leader, retried with backoff. The answer says whether sending is configured; whether it arrived is for the recipient to see.',
    body: z.object({ to: z.email().max(254).describe('where to send it') }),
    example: { to: 'admin@example.com' },
    response: z.object({ queued: z.boolean(), id: z.string(), smtpConfigured: z.boolean(), message: z.string() }),
    async handler({ services, tenant, admin, body, audit }) {
      // In the tenant's default language (the address may belong to no user; the console's language is the admin's).
      const mail = await inLocale(brandingOf(tenant).defaultLocale, () => {
        const m = messages.mail.test;
        return services.mailService.queue(tenant, body.to, { kind: 'test', subject: m.subject(tenant.name), paragraphs: [m.body(tenant.name, admin.email)] });
      });
      await audit('admin.mail.test_queued', mail.id, { to: body.to });
      const configured = services.mailService.configured;
      return {
        queued: true,
        id: mail.id,
        smtpConfigured: configured,
        message: configured
          ? `A test message to ${body.to} is queued and goes out within seconds. If it does not arrive, check the server's log for "could not be sent".`
          : 'The message is queued, but GATEHOUSE_SMTP_URL is not set, so no mail leaves this server. Set it (and GATEHOUSE_MAIL_FROM) and restart; queued mail is sent then.',
      };
    },
  }),
];
