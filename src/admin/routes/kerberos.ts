// Desktop SSO with Kerberos (SPNEGO) for a tenant: show, set (the keytab is sealed and never
// returned), disable. See docs/workstations.md.
import { z } from 'zod';
import { route } from '../route.ts';
import { kerberosMapping, kerberosSettings } from '../shapes.ts';
import { loadGss } from '../../kerberos/service.ts';

const setBody = z.object({
  principal: z.string().min(3).max(500).describe('the service principal, like HTTP/sso.example.org@CORP.EXAMPLE.ORG'),
  realm: z.string().min(1).max(253).optional().describe("default: the principal's realm"),
  keytab: z.string().max(1_500_000).optional().describe('the keytab file, base64; needed the first time'),
  negotiateFrom: z.array(z.string().max(100)).max(100).optional().describe('CIDR ranges Negotiate is offered to; [] or absent: every address'),
  mapping: kerberosMapping.partial().optional(),
});

export const kerberosRoutes = [
  route({
    id: 'getKerberos',
    method: 'get',
    path: '/tenants/:slug/kerberos',
    tag: 'kerberos',
    access: ['admin', 'auditor'],
    summary: 'Desktop SSO with Kerberos: whether it is on, the realm, service principal, mapping and address ranges (never the keytab)',
    response: kerberosSettings,
    async handler({ services, tenant }) {
      return (
        (await services.kerberosService.view(tenant.id)) ?? {
          enabled: false,
          realm: null,
          principal: null,
          hasKeytab: false,
          mapping: null,
          negotiateFrom: [],
          updatedAt: null,
          available: !!(await loadGss()),
        }
      );
    },
  }),
  route({
    id: 'setKerberos',
    method: 'put',
    path: '/tenants/:slug/kerberos',
    tag: 'kerberos',
    access: [],
    summary: 'Turn desktop SSO with Kerberos on, or change it (409 kerberos_unavailable says what to install when the kerberos package is missing)',
    body: setBody,
    example: { principal: 'HTTP/sso.example.org@CORP.EXAMPLE.ORG', keytab: 'BQI=', negotiateFrom: ['10.0.0.0/8'] },
    response: kerberosSettings,
    async handler({ services, tenant, body, audit }) {
      const v = await services.kerberosService.set(tenant.id, body);
      await audit('admin.kerberos.set', null, {
        principal: v.principal,
        realm: v.realm,
        negotiateFrom: v.negotiateFrom,
        keytabChanged: body.keytab !== undefined,
      });
      return v;
    },
  }),
  route({
    id: 'disableKerberos',
    method: 'delete',
    path: '/tenants/:slug/kerberos',
    tag: 'kerberos',
    access: [],
    summary: 'Turn desktop SSO with Kerberos off (the settings are kept)',
    response: z.void(),
    async handler({ services, tenant, audit }) {
      await services.kerberosService.disable(tenant.id);
      await audit('admin.kerberos.disabled', null, {});
    },
  }),
];
