// Application profiles: only superadmins create, change or delete them (as in the reference);
// their client secrets (shown once) and registered JWKS. Deployments: deployments.ts.
import { text, webUrl } from '../../shared/input.ts';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { CLIENT_AUTH_METHODS, type App } from '../../storage/apps.ts';
import { isConfidential } from '../../apps/service.ts';
import type { Tenant } from '../../storage/tenants.ts';
import { issuerFor } from '../../oidc/engine.ts';
import { certificateExpiresSoon, checkJwks, jwksSchema } from '../../apps/jwks.ts';
import { listQuery, page, version } from '../schemas.ts';
import { app as appShape, appType, customClaim as claim, tokenTtls as ttls } from '../shapes.ts';
import { idpMetadata } from './metadata.ts';
import { route } from '../route.ts';

const uri = z.string().min(1).max(2000);
const profileFields = {
  name: text().trim().min(1).max(100).describe('the profile name, seen by administrators only; unique in the tenant'),
  displayName: text().trim().min(1).max(100).describe('the user-friendly name users see'),
  redirectUris: z.array(uri).max(50),
  postLogoutRedirectUris: z.array(uri).max(50),
  backchannelLogoutUri: webUrl().nullable(),
  homeUrl: webUrl().nullable(),
  initiateLoginUri: webUrl().nullable(),
  loginRedirectUrl: webUrl().nullable().describe('hand-off apps: where the refresh token is POSTed'),
  passwordGrant: z.boolean(),
  /** data: URL of a PNG, GIF or JPEG, at most 250 KB and 200 x 150 (checked in the service). */
  logo: z.string().max(1_000_000).nullable().describe('a data: URL (PNG, GIF, JPG; at most 250 KB, 200 x 150 px), shown in the launcher'),
  requireMfa: z.boolean(),
  outliveSession: z.boolean().describe('hand-off apps: the handed-over refresh token survives the user\'s sign-out of Gatehouse (default false: signing out, or an administrator ending the session, revokes it)'),
  deviceSsoGroup: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, 'use 1-64 letters, digits, spaces, dots, hyphens or underscores').nullable()
    .describe('native apps: the device SSO group (OpenID Connect Native SSO); apps of one group on a device share the sign-in of the first (scope device_sso, token exchange); null: none'),
  claims: z.array(claim).max(50),
  tokenTtls: ttls,
  /** Hand-off apps: the refresh token lifetime in minutes (sets tokenTtls.refreshToken). */
  refreshTokenMinutes: z.number().int().min(1).max(365 * 24 * 60).describe('hand-off apps: refresh token lifetime (default 480)'),
  jwks: jwksSchema.nullable().describe('the app\'s registered public keys; certificates in x5c are watched for expiry; private_key_jwt checks client assertions with them'),
  clientAuthMethod: z.enum(CLIENT_AUTH_METHODS).describe('confidential apps: how the app authenticates at the token endpoint (default client_secret_basic; private_key_jwt needs jwks)'),
};
const createBody = z.object({
  ...profileFields,
  type: appType,
  redirectUris: profileFields.redirectUris.default([]),
  postLogoutRedirectUris: profileFields.postLogoutRedirectUris.default([]),
  backchannelLogoutUri: profileFields.backchannelLogoutUri.default(null),
  homeUrl: profileFields.homeUrl.default(null),
  initiateLoginUri: profileFields.initiateLoginUri.default(null),
  loginRedirectUrl: profileFields.loginRedirectUrl.default(null),
  passwordGrant: profileFields.passwordGrant.default(false),
  logo: profileFields.logo.default(null),
  requireMfa: profileFields.requireMfa.default(false),
  outliveSession: profileFields.outliveSession.default(false),
  deviceSsoGroup: profileFields.deviceSsoGroup.default(null),
  refreshTokenMinutes: profileFields.refreshTokenMinutes.optional(),
  claims: profileFields.claims.default([]),
  tokenTtls: ttls.default({}),
  jwks: profileFields.jwks.default(null),
  clientAuthMethod: profileFields.clientAuthMethod.optional(),
  clientId: z.string().regex(/^[A-Za-z0-9._~-]{8,128}$/, 'must be 8-128 URL-safe characters').optional().describe('default: generated'),
  clientSecret: z.string().min(32).max(256).optional().describe('default: generated'),
});
const patchBody = z.object({
  name: profileFields.name.optional(), displayName: profileFields.displayName.optional(),
  redirectUris: profileFields.redirectUris.optional(), postLogoutRedirectUris: profileFields.postLogoutRedirectUris.optional(),
  backchannelLogoutUri: profileFields.backchannelLogoutUri.optional(), homeUrl: profileFields.homeUrl.optional(),
  initiateLoginUri: profileFields.initiateLoginUri.optional(), loginRedirectUrl: profileFields.loginRedirectUrl.optional(),
  passwordGrant: profileFields.passwordGrant.optional(), logo: profileFields.logo.optional(), requireMfa: profileFields.requireMfa.optional(),
  outliveSession: profileFields.outliveSession.optional(), deviceSsoGroup: profileFields.deviceSsoGroup.optional(),
  claims: profileFields.claims.optional(), tokenTtls: ttls.optional(), refreshTokenMinutes: profileFields.refreshTokenMinutes.optional(),
  jwks: profileFields.jwks.optional(), clientAuthMethod: profileFields.clientAuthMethod.optional(), version,
});

/** The application profile as the API answers it (src/admin/shapes.ts, shared with the console and the CLI). */
export const appSchema = appShape;

/** A hand-off app's refresh token lifetime unless set: 8 hours, a working day. */
const DEFAULT_HANDOFF_REFRESH_SECONDS = 8 * 3600;
const withRefreshMinutes = (t: z.infer<typeof ttls>, minutes: number | undefined) => (minutes === undefined ? t : { ...t, refreshToken: minutes * 60 });

export async function appView(services: Services, tenant: Tenant, a: App): Promise<z.input<typeof appSchema>> {
  return {
    clientId: a.clientId, name: a.name, displayName: a.displayName, type: a.type,
    redirectUris: a.redirectUris, postLogoutRedirectUris: a.postLogoutRedirectUris,
    backchannelLogoutUri: a.backchannelLogoutUri, homeUrl: a.homeUrl, claims: a.claims, tokenTtls: a.tokenTtls,
    initiateLoginUri: a.initiateLoginUri, loginRedirectUrl: a.loginRedirectUrl, passwordGrant: a.passwordGrant, logo: a.logo, requireMfa: a.requireMfa, deviceSsoGroup: a.deviceSsoGroup,
    ...(a.type === 'handoff' && { refreshTokenMinutes: Math.round((a.tokenTtls.refreshToken ?? DEFAULT_HANDOFF_REFRESH_SECONDS) / 60), outliveSession: a.outliveSession }),
    launchUrl: `${issuerFor(services.config.publicUrl, tenant.slug)}/launch/${a.clientId}`,
    hasSecret: !!a.secretSealed,
    deployed: await services.appService.isDeployed(a),
    deployment: { all: a.deployAll, targets: await services.appService.describeTargets(tenant.id, a) },
    metadata: idpMetadata(services, tenant),
    jwks: a.jwks, certificateExpiresAt: a.certificateExpiresAt, certificateExpiresSoon: certificateExpiresSoon(a.certificateExpiresAt),
    clientAuthMethod: isConfidential(a.type) ? a.clientAuthMethod : 'none',
    createdAt: a.createdAt, updatedAt: a.updatedAt, version: a.version,
  };
}

// Claim names feed the engine's claims configuration, so a claims change rebuilds it.
const claimsChanged = (services: Services, tenant: Tenant) => services.engineCache.invalidate(tenant.slug);
const jwksFields = (jwks: z.infer<typeof jwksSchema> | null) => (jwks ? checkJwks(jwks) : { jwks: null, certificateExpiresAt: null });

export const appRoutes = [
  route({
    id: 'listApps', method: 'get', path: '/tenants/:slug/apps', tag: 'apps', access: ['admin', 'helpdesk', 'auditor'],
    summary: 'Application profiles by name, with Deployed / Not deployed; search matches the names and the client ID',
    query: listQuery, response: page(appSchema),
    async handler({ services, tenant, query }) {
      const p = await services.appStore.page(tenant.id, query);
      const items = [];
      for (const a of p.items) items.push(await appView(services, tenant, a));
      return { items, nextCursor: p.nextCursor };
    },
  }),
  route({
    id: 'createApp', method: 'post', path: '/tenants/:slug/apps', tag: 'apps', access: [], status: 201,
    summary: 'Add an application profile; the answer holds the client secret, once',
    description: 'A new profile is Not deployed: see the deployment routes.',
    body: createBody,
    example: { name: 'crm', displayName: 'Customer CRM', type: 'web', redirectUris: ['https://crm.example.com/callback'] },
    response: appSchema.extend({ clientSecret: z.string().nullable().describe('shown only now; null for public clients (spa, native)') }),
    async handler({ services, tenant, body, audit }) {
      const { clientId, clientSecret: fixedSecret, refreshTokenMinutes, jwks, ...fields } = body;
      const input = {
        ...fields, ...jwksFields(jwks),
        tokenTtls: withRefreshMinutes(fields.tokenTtls, refreshTokenMinutes ?? (fields.type === 'handoff' ? DEFAULT_HANDOFF_REFRESH_SECONDS / 60 : undefined)),
      };
      const { app: created, clientSecret } = await services.appService.create(tenant.id, input, { clientId, clientSecret: fixedSecret });
      if (created.claims.length) claimsChanged(services, tenant);
      await audit('admin.app.created', created.clientId, { name: created.name, type: created.type }, { clientId: created.clientId });
      return { ...(await appView(services, tenant, created)), clientSecret };
    },
  }),
  route({
    id: 'getApp', method: 'get', path: '/tenants/:slug/apps/:clientId', tag: 'apps', access: ['admin', 'helpdesk', 'auditor'],
    summary: 'Show an application profile, its deployment and the IdP metadata to configure it with',
    response: appSchema,
    async handler({ services, tenant, params }) { return appView(services, tenant, await services.appStore.get(tenant.id, params.clientId)); },
  }),
  route({
    id: 'updateApp', method: 'patch', path: '/tenants/:slug/apps/:clientId', tag: 'apps', access: [], versioned: true,
    summary: 'Change an application profile (not its client ID)',
    body: patchBody,
    example: { displayName: 'Customer CRM (new)', redirectUris: ['https://crm.example.com/callback', 'https://crm.example.com/oidc'] },
    response: appSchema,
    async handler({ services, tenant, params, body, version: v, audit }) {
      const { refreshTokenMinutes, version: _v, jwks, ...input } = body;
      const current = await services.appStore.get(tenant.id, params.clientId);
      if (refreshTokenMinutes !== undefined) input.tokenTtls = withRefreshMinutes(input.tokenTtls ?? current.tokenTtls, refreshTokenMinutes);
      const merged = { ...current, ...input, ...(jwks !== undefined && { jwks }) };
      await services.appService.validate(merged);
      if (input.logo) input.logo = merged.logo; // normalised (its real image type)
      const patch = { ...input, ...(jwks !== undefined && jwksFields(jwks)) };
      const updated = await services.appStore.update(tenant.id, current.clientId, v, patch);
      if (input.claims) claimsChanged(services, tenant);
      await audit('admin.app.updated', current.clientId, { changes: Object.keys(body).filter((k) => k !== 'version') }, { clientId: current.clientId });
      return appView(services, tenant, updated);
    },
  }),
  route({
    id: 'deleteApp', method: 'delete', path: '/tenants/:slug/apps/:clientId', tag: 'apps', access: [],
    summary: 'Delete an application profile (its deployment goes with it)',
    response: z.void(),
    async handler({ services, tenant, params, audit }) {
      await services.appStore.delete(tenant.id, params.clientId);
      claimsChanged(services, tenant);
      await audit('admin.app.deleted', params.clientId, {}, { clientId: params.clientId });
    },
  }),
  route({
    id: 'regenerateAppSecret', method: 'post', path: '/tenants/:slug/apps/:clientId/secret', tag: 'apps', access: [],
    summary: 'Generate a new client secret, shown once; the old one stops working at once',
    response: z.object({ clientId: z.string(), clientSecret: z.string() }),
    async handler({ services, tenant, params, audit }) {
      const { app: a, clientSecret } = await services.appService.regenerateSecret(tenant.id, params.clientId);
      await audit('admin.app.secret_regenerated', a.clientId, {}, { clientId: a.clientId });
      return { clientId: a.clientId, clientSecret };
    },
  }),
];
