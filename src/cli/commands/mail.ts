// Outgoing mail and what users sign in with (issue 17, docs/self-service.md): the tenant's
// self-service settings, and a test message sent like every other mail.
import { need, opt, str, tenant, UsageError, type Command } from '../args.ts';
import { inTenant, request } from '../client.ts';
import { table } from '../output.ts';

interface SelfService {
  signInWith: string;
  domains: Record<string, string>;
  mailFromName: string | null;
  version: number;
}

export const mailCommands: Record<string, Command> = {
  'signin show': {
    usage: 'gatehouse signin show --tenant SLUG [--json]',
    summary: 'Show what users sign in with (email, username or either), the domains that name directories, and the mail sender name.',
    options: tenant,
    async run(o, _a, out) {
      const s = await request<SelfService>('GET', `${inTenant(o)}/self-service`);
      out.print(
        table(
          [
            ['sign in with', s.signInWith],
            [
              'domains',
              Object.entries(s.domains)
                .map(([k, v]) => `${k} -> ${v}`)
                .join(', ') || 'none',
            ],
            ['mail sender name', s.mailFromName ?? "the tenant's name"],
          ],
          '',
        ),
        s,
      );
    },
  },
  'signin set': {
    usage: 'gatehouse signin set --tenant SLUG [--with email|username|either] [--mail-from-name NAME|none] [--json]',
    summary: 'Change what users sign in with, or the name mail is sent as (the domain map: admin API, docs/self-service.md).',
    options: { ...tenant, with: str, 'mail-from-name': str },
    async run(o, _a, out) {
      const body: Record<string, unknown> = {};
      const w = opt(o, 'with');
      if (w !== undefined) {
        if (!['email', 'username', 'either'].includes(w)) throw new UsageError('--with takes email, username or either.');
        body.signInWith = w;
      }
      const name = opt(o, 'mail-from-name');
      if (name !== undefined) body.mailFromName = name === 'none' ? null : name;
      if (!Object.keys(body).length) throw new UsageError('Give --with or --mail-from-name.');
      const s = await request<SelfService>('PATCH', `${inTenant(o)}/self-service`, body);
      out.print(`Saved: users sign in with ${s.signInWith === 'either' ? 'their email or username' : `their ${s.signInWith}`}.`, s);
    },
  },
  'mail test': {
    usage: 'gatehouse mail test --tenant SLUG --to EMAIL [--json]',
    summary: 'Queue a test message to an address, sent like every other mail (GATEHOUSE_SMTP_URL).',
    options: { ...tenant, to: str },
    async run(o, _a, out) {
      const r = await request<{ message: string }>('POST', `${inTenant(o)}/self-service/test-email`, { to: need(o, 'to') });
      out.print(r.message, r);
    },
  },
};
