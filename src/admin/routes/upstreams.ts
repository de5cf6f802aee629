// Upstream directories (Entra ID, Okta, Cognito, any OpenID provider). Superadmins change
// them (as OIDC configuration is in the reference); saving fetches the upstream's discovery
// document and checks its issuer.
import { text } from '../../shared/input.ts';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import type { Tenant } from '../../storage/tenants.ts';
import type { Upstream, UpstreamCheck } from '../../storage/upstreams.ts';
import { settingsInput } from '../../federation/upstreams.ts';
import { pageInMemory } from '../../storage/paging.ts';
import { listQuery, page, version } from '../schemas.ts';
import { parseInput, route } from '../route.ts';
import { upstreamCheck as checkSchema, upstreamMode as mode, upstream as upstreamSchema } from '../shapes.ts';

const name = text().trim().min(1).max(100);
const secret = z.string().min(1).max(1000);

function view(services: Services, tenant: Tenant, u: Upstream, check: UpstreamCheck | undefined): z.input<typeof upstreamSchema> {
  return {
    id: u.id,
    name: u.name,
    mode: u.mode,
    ...u.settings,
    hasClientSecret: !!u.clientSecretSealed,
    redirectUrl: services.federationService.redirectUrl(tenant),
    lastCheck: check ?? null,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
    version: u.version,
  };
}
const lastCheck = async (services: Services, u: Upstream) => (await services.upstreamStore.checks(u.tenantId)).get(u.id);
const confirm = z.boolean().optional().describe('needed to turn audience to all (the answer without it says how many local accounts it takes over)');

export const upstreamRoutes = [
  route({
    id: 'listUpstreams',
    method: 'get',
    path: '/tenants/:slug/upstreams',
    tag: 'upstreams',
    access: ['admin', 'auditor'],
    summary: 'Upstream directories by name; search matches the name, type, issuer or a domain',
    query: listQuery,
    response: page(upstreamSchema).extend({ redirectUrl: z.string().describe('the redirect URL to register at every upstream') }),
    async handler({ services, tenant, query }) {
      const all = [...(await services.upstreamStore.list(tenant.id))].sort((a, b) => (a.name < b.name ? -1 : 1));
      const p = pageInMemory(
        all,
        query,
        (u) => u.name,
        (u) => [u.name, u.settings.type, u.settings.issuer, ...u.settings.domains],
      );
      const checks = await services.upstreamStore.checks(tenant.id);
      return {
        items: p.items.map((u) => view(services, tenant, u, checks.get(u.id))),
        nextCursor: p.nextCursor,
        redirectUrl: services.federationService.redirectUrl(tenant),
      };
    },
  }),
  route({
    id: 'createUpstream',
    method: 'post',
    path: '/tenants/:slug/upstreams',
    tag: 'upstreams',
    access: [],
    status: 201,
    summary: 'Add an upstream directory; its discovery document is fetched and checked',
    body: settingsInput.extend({ name, mode: mode.default('disabled'), clientSecret: secret.optional(), confirm }),
    example: {
      name: 'Contoso',
      type: 'entra',
      entraTenant: 'contoso.onmicrosoft.com',
      clientId: '00000000-0000-0000-0000-000000000000',
      clientSecret: 'from the Entra app registration',
      domains: ['contoso.com'],
      mode: 'test',
      testUsers: ['pilot@contoso.com'],
    },
    response: upstreamSchema,
    async handler({ services, tenant, body, audit }) {
      const { name: n, mode: m, clientSecret, confirm: confirmed, ...input } = body;
      const settings = await services.federationService.prepare(input);
      await services.federationService.checkRouting(tenant.id, { settings }, undefined, confirmed === true);
      const created = await services.upstreamStore.create(tenant.id, {
        name: n,
        mode: m,
        settings,
        clientSecretSealed: clientSecret ? services.sealer.seal(clientSecret) : null,
      });
      await services.federationService.changed(tenant.id);
      await audit('admin.upstream.created', created.id, { name: n, mode: m, type: settings.type, issuer: settings.issuer });
      return view(services, tenant, created, undefined);
    },
  }),
  route({
    id: 'getUpstream',
    method: 'get',
    path: '/tenants/:slug/upstreams/:upstream',
    tag: 'upstreams',
    access: ['admin', 'auditor'],
    summary: 'Show an upstream directory (never its client secret)',
    response: upstreamSchema,
    async handler({ services, tenant, params }) {
      const u = await services.upstreamStore.get(tenant.id, params.upstream);
      return view(services, tenant, u, await lastCheck(services, u));
    },
  }),
  route({
    id: 'updateUpstream',
    method: 'patch',
    path: '/tenants/:slug/upstreams/:upstream',
    tag: 'upstreams',
    access: [],
    versioned: true,
    summary: 'Change an upstream directory: name, mode, client secret (null removes it), settings',
    description: 'Only the settings sent change; they are merged into the current ones and checked as a whole (discovery is fetched again).',
    body: z.object({
      name: name.optional(),
      mode: mode.optional(),
      clientSecret: secret.nullable().optional(),
      version,
      confirm,
      settings: z.record(z.string(), z.unknown()).optional().describe('any of the fields of createUpstream but name, mode and clientSecret'),
    }),
    example: { mode: 'enabled' },
    response: upstreamSchema,
    async handler({ services, tenant, params, body, version: v, audit }) {
      const current = await services.upstreamStore.get(tenant.id, params.upstream);
      // Settings are checked as a whole (and discovery fetched again) whenever any of them change.
      const settings =
        body.settings && Object.keys(body.settings).length
          ? await services.federationService.prepare(
              parseInput(
                settingsInput,
                { ...current.settings, ...body.settings, ...(body.settings.authorityUrl !== undefined && { discoveryUrl: undefined }) },
                'body',
              ),
            )
          : undefined;
      if (settings) await services.federationService.checkRouting(tenant.id, { id: current.id, settings }, current.settings, body.confirm === true);
      const updated = await services.upstreamStore.update(tenant.id, current.id, v, {
        name: body.name,
        mode: body.mode,
        settings,
        ...(body.clientSecret !== undefined && { clientSecretSealed: body.clientSecret === null ? null : services.sealer.seal(body.clientSecret) }),
      });
      await services.federationService.changed(tenant.id);
      await audit('admin.upstream.updated', current.id, {
        name: updated.name,
        changes: [...Object.keys(body).filter((k) => k !== 'version' && k !== 'settings' && k !== 'confirm'), ...Object.keys(body.settings ?? {})],
        mode: updated.mode,
      });
      return view(services, tenant, updated, await lastCheck(services, updated));
    },
  }),
  route({
    id: 'testUpstream',
    method: 'post',
    path: '/tenants/:slug/upstreams/:upstream/test',
    tag: 'upstreams',
    access: ['admin'],
    summary: "Check the upstream's discovery now (as the hourly check does); the result is kept and shown on the overview",
    response: checkSchema,
    async handler({ services, tenant, params, audit }) {
      const u = await services.upstreamStore.get(tenant.id, params.upstream);
      const r = await services.federationService.check(u);
      await audit('admin.upstream.tested', u.id, { name: u.name, ok: r.ok, message: r.message });
      return r;
    },
  }),
  route({
    id: 'deleteUpstream',
    method: 'delete',
    path: '/tenants/:slug/upstreams/:upstream',
    tag: 'upstreams',
    access: [],
    summary: 'Delete an upstream directory (its users become local users)',
    response: z.void(),
    async handler({ services, tenant, params, audit }) {
      const u = await services.upstreamStore.get(tenant.id, params.upstream);
      await services.upstreamStore.delete(tenant.id, u.id);
      await services.federationService.changed(tenant.id);
      await audit('admin.upstream.deleted', u.id, { name: u.name });
    },
  }),
];
