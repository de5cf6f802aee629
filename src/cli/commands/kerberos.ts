// Desktop SSO with Kerberos (SPNEGO) per tenant, through the admin API.
import fs from 'node:fs';
import { need, opt, str, tenant, UsageError, type Command } from '../args.ts';
import { inTenant, request } from '../client.ts';
import type { KerberosSettings } from '../types.ts';

const describe = (k: KerberosSettings) =>
  [
    `Kerberos:        ${k.enabled ? 'on' : 'off'}${k.available ? '' : ' (the kerberos package is not installed on the server)'}`,
    `Realm:           ${k.realm ?? '-'}`,
    `Principal:       ${k.principal ?? '-'}`,
    `Keytab:          ${k.hasKeytab ? 'stored (sealed)' : 'none'}`,
    `Negotiate from:  ${k.negotiateFrom.length ? k.negotiateFrom.join(', ') : 'every address'}`,
    `Mapping:         ${k.mapping ? k.mapping.rules.join(', then ') + (k.mapping.emailDomain ? ` (email domain ${k.mapping.emailDomain})` : '') : '-'}`,
  ].join('\n');

export const kerberosCommands: Record<string, Command> = {
  'kerberos set': {
    usage: 'gatehouse kerberos set --tenant SLUG --keytab FILE --principal PRINCIPAL [--realm REALM] [--negotiate-from CIDR,...] [--json]',
    summary:
      'Turn on desktop SSO with Kerberos (SPNEGO): the service principal (like HTTP/sso.example.org@CORP.EXAMPLE.ORG) and its keytab (stored sealed, never shown again). --negotiate-from limits the addresses Negotiate is offered to (default: every address).',
    options: { ...tenant, keytab: str, principal: str, realm: str, 'negotiate-from': str },
    async run(o, _a, out) {
      const file = need(o, 'keytab');
      let keytab: string;
      try {
        keytab = fs.readFileSync(file).toString('base64');
      } catch (e) {
        throw new UsageError(`Cannot read the keytab ${file}: ${(e as Error).message}.`);
      }
      const from = opt(o, 'negotiate-from');
      const k = await request<KerberosSettings>('PUT', `${inTenant(o)}/kerberos`, {
        principal: need(o, 'principal'),
        keytab,
        ...(opt(o, 'realm') && { realm: opt(o, 'realm') }),
        ...(from !== undefined && {
          negotiateFrom: from
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        }),
      });
      out.print(describe(k), k);
    },
  },
  'kerberos show': {
    usage: 'gatehouse kerberos show --tenant SLUG [--json]',
    summary: "Show the tenant's Kerberos settings (never the keytab).",
    options: tenant,
    async run(o, _a, out) {
      const k = await request<KerberosSettings>('GET', `${inTenant(o)}/kerberos`);
      out.print(describe(k), k);
    },
  },
  'kerberos disable': {
    usage: 'gatehouse kerberos disable --tenant SLUG',
    summary: 'Turn desktop SSO with Kerberos off (the settings are kept; `kerberos set` turns it on again).',
    options: tenant,
    async run(o, _a, out) {
      await request<void>('DELETE', `${inTenant(o)}/kerberos`);
      out.print('Kerberos is off.', { enabled: false });
    },
  },
};
