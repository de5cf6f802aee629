// Tenants: each has its own issuer, keys, users and apps.
import { opt, paging, str, whole, UsageError, type Command } from '../args.ts';
import { enc, listing, request } from '../client.ts';
import { printList, table } from '../output.ts';
import type { Tenant } from '../types.ts';

export const tenantCommands: Record<string, Command> = {
  'tenant create': {
    usage: 'gatehouse tenant create SLUG [--name NAME] [--session-lifetime MINUTES] [--json]',
    summary: 'Create a tenant (its own issuer, keys, users and apps). Session lifetime: 0 (off) or 30-5760 minutes.',
    options: { name: str, 'session-lifetime': str },
    positionals: 1,
    async run(o, [slug], out) {
      const t = await request<Tenant>('POST', '/tenants', { slug, name: opt(o, 'name'), sessionLifetimeMinutes: whole(o, 'session-lifetime') });
      out.print(`Created tenant ${t.slug}.\nissuer:    ${t.issuer}\ndiscovery: ${t.discoveryUrl}`, t);
    },
  },
  'tenant show': {
    usage: 'gatehouse tenant show SLUG [--json]',
    summary: 'Show a tenant, its issuer and discovery URL.',
    positionals: 1,
    async run(_o, [slug], out) {
      const t = await request<Tenant>('GET', `/tenants/${enc(slug!)}`);
      out.print(
        table(
          [
            ['slug', t.slug],
            ['name', t.name],
            ['issuer', t.issuer],
            ['discovery', t.discoveryUrl],
            ['session lifetime', t.sessionLifetimeMinutes ? `${t.sessionLifetimeMinutes} minutes` : 'off'],
          ],
          '',
        ),
        t,
      );
    },
  },
  'tenant update': {
    usage: 'gatehouse tenant update SLUG [--name NAME] [--session-lifetime MINUTES] [--shift-hours HOURS] [--json]',
    summary: 'Rename a tenant or change its session lifetime or shared-device shift length (superadministrators).',
    options: { name: str, 'session-lifetime': str, 'shift-hours': str },
    positionals: 1,
    async run(o, [slug], out) {
      const body = { name: opt(o, 'name'), sessionLifetimeMinutes: whole(o, 'session-lifetime'), sharedDeviceShiftHours: whole(o, 'shift-hours') };
      if (Object.values(body).every((v) => v === undefined)) throw new UsageError('Give --name, --session-lifetime or --shift-hours.');
      const t = await request<Tenant>('PATCH', `/tenants/${enc(slug!)}`, body);
      out.print(
        `Saved tenant ${t.slug} (${t.name}; session lifetime ${t.sessionLifetimeMinutes ? `${t.sessionLifetimeMinutes} minutes` : 'off'}; shared-device shift ${t.sharedDeviceShiftHours} hours).`,
        t,
      );
    },
  },
  'tenant list': {
    usage: 'gatehouse tenant list [--limit N] [--cursor CURSOR] [--json]',
    summary: 'List tenants (superadministrators of the default tenant).',
    options: paging,
    async run(o, _a, out) {
      printList(out, await listing<Tenant>(o, '/tenants'), (t) => [t.slug, t.name ?? '', t.issuer], 'No tenants.');
    },
  },
};
