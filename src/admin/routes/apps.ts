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
import { app as appShape, appType, customClaim as claim, type samlApp, tokenTtls as ttls } from '../shapes.ts';
import { idpMetadata } from './metadata.ts';
import { route } from '../route.ts';
import { ASSERTION_LIFETIME, ATTRIBUTE_FORMATS, NAMEID_FORMATS, SIGN_WHAT, SIGNATURE_ALGORITHMS, sha1Warning } from '../../saml/settings.ts';
import { samlEntityId, sloUrl, ssoUrl } from '../../saml/idp.ts';

const uri = z.string().min(1).max(2000);
const samlAttribute = z.object({
  name: z.string().trim().min(1).max(256).describe('the attribute Name, e.g. urn:oid:0.9.2342.19200300.100.1.3 or email'),
  friendlyName: z.string().max(256).optional(),
  format: z.enum(ATTRIBUTE_FORMATS).optional().describe('NameFormat: basic, uri or unspecified (default: none given)'),
  attribute: z.string().max(50).optional().describe('a user attribute: email, given_name, family_name, name, domain, ou, groups, user_id'),
  value: z.string().max(1000).optional().describe('or a static value'),
});
const samlFields = {
  entityId: z.string().trim().min(1).max(1024).describe("the SP entity ID (its metadata's entityID)"),
  acs: z
    .array(z.object({ url: webUrl(), binding: z.literal('HTTP-POST').default('HTTP-POST'), index: z.number().int().min(0).max(65535).optional() }))
    .min(1)
    .max(20)
    .describe('Assertion Consumer Service URLs (HTTP-POST binding); the first is the default'),
  slo: z
    .object({ url: webUrl(), binding: z.enum(['redirect', 'post']) })
    .nullable()
    .describe("the SP's Single Logout service (front channel: answers to its LogoutRequests)"),
  sloBackchannelUrl: webUrl()
    .nullable()
    .describe("the SP's SOAP Single Logout service: signing out of Gatehouse, or an ended session, logs the user out there"),
  nameIdFormat: z.enum(NAMEID_FORMATS).describe('email (default), persistent (a stable opaque id per SP), transient, unspecified'),
  nameIdAttribute: z.string().max(50).describe('the user attribute the NameID carries (email and unspecified formats; default email)'),
  attributes: z.array(samlAttribute).max(50).describe('the attribute statement'),
  sign: z.enum(SIGN_WHAT).describe('sign the response, the assertion, or both (default both)'),
  signatureAlgorithm: z.enum(SIGNATURE_ALGORITHMS).describe('rsa-sha256 (default); rsa-sha1 only with allowSha1'),
  allowSha1: z.boolean().describe('let this profile sign and accept RSA-SHA1 (broken; for SPs that know nothing else)'),
  encryptAssertion: z.boolean().describe("encrypt the assertion to the SP's certificate (AES-256-GCM, RSA-OAEP)"),
  assertionLifetimeSeconds: z
    .number()
    .int()
    .min(ASSERTION_LIFETIME.min)
    .max(ASSERTION_LIFETIME.max)
    .describe(`seconds (default ${ASSERTION_LIFETIME.default})`),
  requireSignedRequests: z.boolean().describe("refuse AuthnRequests not signed with the SP's certificate"),
  certificates: z
    .array(z.string().max(20_000))
    .max(5)
    .describe("the SP's certificates (PEM): request signatures, assertion encryption; expiry watched like registered certificates"),
};
export const samlInputSchema = z
  .object({
    ...(Object.fromEntries(Object.entries(samlFields).map(([k, v]) => [k, v.optional()])) as {
      [K in keyof typeof samlFields]: z.ZodOptional<(typeof samlFields)[K]>;
    }),
    metadataXml: z.string().max(512_000).optional().describe("the SP's SAML metadata (XML): fills in what is not given"),
    metadataUrl: webUrl().optional().describe('or where to fetch it (through the outbound request rules)'),
  })
  .describe('SAML apps: the service provider');
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
  outliveSession: z
    .boolean()
    .describe(
      "hand-off apps: the handed-over refresh token survives the user's sign-out of Gatehouse (default false: signing out, or an administrator ending the session, revokes it)",
    ),
  deviceSsoGroup: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, 'use 1-64 letters, digits, spaces, dots, hyphens or underscores')
    .nullable()
    .describe(
      'native apps: the device SSO group (OpenID Connect Native SSO); apps of one group on a device share the sign-in of the first (scope device_sso, token exchange); null: none',
    ),
  claims: z.array(claim).max(50),
  tokenTtls: ttls,
  /** Hand-off apps: the refresh token lifetime in minutes (sets tokenTtls.refreshToken). */
  refreshTokenMinutes: z
    .number()
    .int()
    .min(1)
    .max(365 * 24 * 60)
    .describe('hand-off apps: refresh token lifetime (default 480)'),
  jwks: jwksSchema
    .nullable()
    .describe("the app's registered public keys; certificates in x5c are watched for expiry; private_key_jwt checks client assertions with them"),
  clientAuthMethod: z
    .enum(CLIENT_AUTH_METHODS)
    .describe('confidential apps: how the app authenticates at the token endpoint (default client_secret_basic; private_key_jwt needs jwks)'),
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
  clientId: z
    .string()
    .regex(/^[A-Za-z0-9._~-]{8,128}$/, 'must be 8-128 URL-safe characters')
    .optional()
    .describe('default: generated'),
  clientSecret: z.string().min(32).max(256).optional().describe('default: generated'),
  saml: samlInputSchema.optional(),
});
const patchBody = z.object({
  name: profileFields.name.optional(),
  displayName: profileFields.displayName.optional(),
  redirectUris: profileFields.redirectUris.optional(),
  postLogoutRedirectUris: profileFields.postLogoutRedirectUris.optional(),
  backchannelLogoutUri: profileFields.backchannelLogoutUri.optional(),
  homeUrl: profileFields.homeUrl.optional(),
  initiateLoginUri: profileFields.initiateLoginUri.optional(),
  loginRedirectUrl: profileFields.loginRedirectUrl.optional(),
  passwordGrant: profileFields.passwordGrant.optional(),
  logo: profileFields.logo.optional(),
  requireMfa: profileFields.requireMfa.optional(),
  outliveSession: profileFields.outliveSession.optional(),
  deviceSsoGroup: profileFields.deviceSsoGroup.optional(),
  claims: profileFields.claims.optional(),
  tokenTtls: ttls.optional(),
  refreshTokenMinutes: profileFields.refreshTokenMinutes.optional(),
  jwks: profileFields.jwks.optional(),
  clientAuthMethod: profileFields.clientAuthMethod.optional(),
  version,
  saml: samlInputSchema.optional().describe('SAML apps: only what is given changes (metadata fills in the rest)'),
});

/** The application profile as the API answers it (src/admin/shapes.ts, shared with the console and the CLI). */
export const appSchema = appShape;

function samlAppView(services: Services, tenant: Tenant, a: App): z.input<typeof samlApp> {
  const issuer = issuerFor(services.config.publicUrl, tenant.slug);
  const s = a.saml!;
  return {
    ...s,
    acs: s.acs.map((x) => ({ ...x, binding: 'HTTP-POST' as const })),
    idp: {
      entityId: samlEntityId(issuer),
      metadataUrl: samlEntityId(issuer),
      ssoUrl: ssoUrl(issuer),
      sloUrl: sloUrl(issuer),
      launchUrl: `${issuer}/saml/launch/${a.clientId}`,
    },
    warnings: [sha1Warning(s)].filter((w): w is string => !!w),
  };
}

/** A hand-off app's refresh token lifetime unless set: 8 hours, a working day. */
const DEFAULT_HANDOFF_REFRESH_SECONDS = 8 * 3600;
const withRefreshMinutes = (t: z.infer<typeof ttls>, minutes: number | undefined) => (minutes === undefined ? t : { ...t, refreshToken: minutes * 60 });

export async function appView(services: Services, tenant: Tenant, a: App): Promise<z.input<typeof appSchema>> {
  return {
    clientId: a.clientId,
    name: a.name,
    displayName: a.displayName,
    type: a.type,
    redirectUris: a.redirectUris,
    postLogoutRedirectUris: a.postLogoutRedirectUris,
    backchannelLogoutUri: a.backchannelLogoutUri,
    homeUrl: a.homeUrl,
    claims: a.claims,
    tokenTtls: a.tokenTtls,
    initiateLoginUri: a.initiateLoginUri,
    loginRedirectUrl: a.loginRedirectUrl,
    passwordGrant: a.passwordGrant,
    logo: a.logo,
    requireMfa: a.requireMfa,
    deviceSsoGroup: a.deviceSsoGroup,
    ...(a.type === 'handoff' && {
      refreshTokenMinutes: Math.round((a.tokenTtls.refreshToken ?? DEFAULT_HANDOFF_REFRESH_SECONDS) / 60),
      outliveSession: a.outliveSession,
    }),
    launchUrl: `${issuerFor(services.config.publicUrl, tenant.slug)}/launch/${a.clientId}`,
    hasSecret: !!a.secretSealed,
    deployed: await services.appService.isDeployed(a),
    deployment: { all: a.deployAll, targets: await services.appService.describeTargets(tenant.id, a) },
    metadata: idpMetadata(services, tenant),
    jwks: a.jwks,
    certificateExpiresAt: a.certificateExpiresAt,
    certificateExpiresSoon: certificateExpiresSoon(a.certificateExpiresAt),
    clientAuthMethod: isConfidential(a.type) ? a.clientAuthMethod : 'none',
    ...(a.saml && { saml: samlAppView(services, tenant, a) }),
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
    version: a.version,
  };
}

// Claim names feed the engine's claims configuration, so a claims change rebuilds it.
const claimsChanged = (services: Services, tenant: Tenant) => services.engineCache.invalidate(tenant.slug);
const jwksFields = (jwks: z.infer<typeof jwksSchema> | null) => (jwks ? checkJwks(jwks) : { jwks: null, certificateExpiresAt: null });

export const appRoutes = [
  route({
    id: 'listApps',
    method: 'get',
    path: '/tenants/:slug/apps',
    tag: 'apps',
    access: ['admin', 'helpdesk', 'auditor'],
    summary: 'Application profiles by name, with Deployed / Not deployed; search matches the names and the client ID',
    query: listQuery,
    response: page(appSchema),
    async handler({ services, tenant, query }) {
      const p = await services.appStore.page(tenant.id, query);
      const items = [];
      for (const a of p.items) items.push(await appView(services, tenant, a));
      return { items, nextCursor: p.nextCursor };
    },
  }),
  route({
    id: 'createApp',
    method: 'post',
    path: '/tenants/:slug/apps',
    tag: 'apps',
    access: [],
    status: 201,
    summary: 'Add an application profile; the answer holds the client secret, once',
    description: 'A new profile is Not deployed: see the deployment routes.',
    body: createBody,
    example: { name: 'crm', displayName: 'Customer CRM', type: 'web', redirectUris: ['https://crm.example.com/callback'] },
    response: appSchema.extend({ clientSecret: z.string().nullable().describe('shown only now; null for public clients (spa, native)') }),
    async handler({ services, tenant, body, audit }) {
      const { clientId, clientSecret: fixedSecret, refreshTokenMinutes, jwks, saml, ...fields } = body;
      const input = {
        ...fields,
        ...jwksFields(jwks),
        ...(saml !== undefined && { saml: await services.appService.resolveSaml(saml) }),
        ...(fields.type === 'saml' && saml === undefined && { saml: null }),
        tokenTtls: withRefreshMinutes(fields.tokenTtls, refreshTokenMinutes ?? (fields.type === 'handoff' ? DEFAULT_HANDOFF_REFRESH_SECONDS / 60 : undefined)),
      };
      const { app: created, clientSecret } = await services.appService.create(tenant.id, input, { clientId, clientSecret: fixedSecret });
      if (created.claims.length) claimsChanged(services, tenant);
      await audit('admin.app.created', created.clientId, { name: created.name, type: created.type }, { clientId: created.clientId });
      return { ...(await appView(services, tenant, created)), clientSecret };
    },
  }),
  route({
    id: 'getApp',
    method: 'get',
    path: '/tenants/:slug/apps/:clientId',
    tag: 'apps',
    access: ['admin', 'helpdesk', 'auditor'],
    summary: 'Show an application profile, its deployment and the IdP metadata to configure it with',
    response: appSchema,
    async handler({ services, tenant, params }) {
      return appView(services, tenant, await services.appStore.get(tenant.id, params.clientId));
    },
  }),
  route({
    id: 'updateApp',
    method: 'patch',
    path: '/tenants/:slug/apps/:clientId',
    tag: 'apps',
    access: [],
    versioned: true,
    summary: 'Change an application profile (not its client ID)',
    body: patchBody,
    example: { displayName: 'Customer CRM (new)', redirectUris: ['https://crm.example.com/callback', 'https://crm.example.com/oidc'] },
    response: appSchema,
    async handler({ services, tenant, params, body, version: v, audit }) {
      const { refreshTokenMinutes, version: _v, jwks, saml: samlInput, ...rest } = body;
      const current = await services.appStore.get(tenant.id, params.clientId);
      const input = { ...rest, ...(samlInput !== undefined && { saml: await services.appService.resolveSaml(samlInput, current.saml) }) };
      if (refreshTokenMinutes !== undefined) input.tokenTtls = withRefreshMinutes(input.tokenTtls ?? current.tokenTtls, refreshTokenMinutes);
      const merged = { ...current, ...input, ...(jwks !== undefined && { jwks }) };
      await services.appService.validate(merged);
      if (input.logo) input.logo = merged.logo; // normalised (its real image type)
      const patch = { ...input, ...(jwks !== undefined && jwksFields(jwks)), ...(input.saml && { certificateExpiresAt: merged.certificateExpiresAt }) };
      const updated = await services.appStore.update(tenant.id, current.clientId, v, patch);
      if (input.claims) claimsChanged(services, tenant);
      await audit('admin.app.updated', current.clientId, { changes: Object.keys(body).filter((k) => k !== 'version') }, { clientId: current.clientId });
      return appView(services, tenant, updated);
    },
  }),
  route({
    id: 'deleteApp',
    method: 'delete',
    path: '/tenants/:slug/apps/:clientId',
    tag: 'apps',
    access: [],
    summary: 'Delete an application profile (its deployment goes with it)',
    response: z.void(),
    async handler({ services, tenant, params, audit }) {
      await services.appStore.delete(tenant.id, params.clientId);
      claimsChanged(services, tenant);
      await audit('admin.app.deleted', params.clientId, {}, { clientId: params.clientId });
    },
  }),
  route({
    id: 'regenerateAppSecret',
    method: 'post',
    path: '/tenants/:slug/apps/:clientId/secret',
    tag: 'apps',
    access: [],
    summary: 'Generate a new client secret, shown once; the old one stops working at once',
    response: z.object({ clientId: z.string(), clientSecret: z.string() }),
    async handler({ services, tenant, params, audit }) {
      const { app: a, clientSecret } = await services.appService.regenerateSecret(tenant.id, params.clientId);
      await audit('admin.app.secret_regenerated', a.clientId, {}, { clientId: a.clientId });
      return { clientId: a.clientId, clientSecret };
    },
  }),
];
