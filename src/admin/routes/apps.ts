// Application profiles (superadmin only, as in the reference), their credentials, IdP
// metadata and deployments (admins).
import Router from '@koa/router';
import { z } from 'zod';
import type { Context } from '../../context.ts';
import type { App } from '../../storage/apps.ts';
import type { Tenant } from '../../storage/tenants.ts';
import { issuerFor } from '../../oidc/engine.ts';
import { audited, expectedVersion, guard, parse } from '../common.ts';

const uri = z.string().min(1).max(2000);
const claim = z.object({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/, 'must be a claim name like department or urn:example:role'), value: z.string().max(1000).optional(), attribute: z.string().max(50).optional() });
// Signed tokens live at most a day: a retired signing key stays published for 24 hours, so
// everything it signed must have expired by then. Refresh tokens are opaque and may live longer.
const signedTtl = z.number().int().min(60).max(24 * 3600);
const ttls = z.object({ accessToken: signedTtl.optional(), idToken: signedTtl.optional(), refreshToken: z.number().int().min(60).max(365 * 24 * 3600).optional() });
const profileFields = {
  name: z.string().trim().min(1).max(100),
  displayName: z.string().trim().min(1).max(100),
  redirectUris: z.array(uri).max(50),
  postLogoutRedirectUris: z.array(uri).max(50),
  backchannelLogoutUri: uri.nullable(),
  homeUrl: uri.nullable(),
  initiateLoginUri: uri.nullable(),
  loginRedirectUrl: uri.nullable(),
  passwordGrant: z.boolean(),
  /** data: URL of a PNG, GIF or JPEG, at most 250 KB and 200 x 150 (checked in the service). */
  logo: z.string().max(1_000_000).nullable(),
  requireMfa: z.boolean(),
  claims: z.array(claim).max(50),
  tokenTtls: ttls,
  /** Hand-off apps: the refresh token lifetime in minutes (sets tokenTtls.refreshToken). */
  refreshTokenMinutes: z.number().int().min(1).max(365 * 24 * 60),
};
const createBody = z.object({
  ...profileFields,
  type: z.enum(['web', 'native', 'spa', 'service', 'handoff']),
  redirectUris: profileFields.redirectUris.default([]),
  postLogoutRedirectUris: profileFields.postLogoutRedirectUris.default([]),
  backchannelLogoutUri: profileFields.backchannelLogoutUri.default(null),
  homeUrl: profileFields.homeUrl.default(null),
  initiateLoginUri: profileFields.initiateLoginUri.default(null),
  loginRedirectUrl: profileFields.loginRedirectUrl.default(null),
  passwordGrant: profileFields.passwordGrant.default(false),
  logo: profileFields.logo.default(null),
  requireMfa: profileFields.requireMfa.default(false),
  refreshTokenMinutes: profileFields.refreshTokenMinutes.optional(),
  claims: profileFields.claims.default([]),
  tokenTtls: ttls.default({}),
  clientId: z.string().regex(/^[A-Za-z0-9._~-]{8,128}$/, 'must be 8-128 URL-safe characters').optional(),
  clientSecret: z.string().min(32).max(256).optional(),
});
const patchBody = z.object({ ...Object.fromEntries(Object.entries(profileFields).map(([k, v]) => [k, v.optional()])), version: z.number().int().optional() }) as z.ZodType<Partial<{
  [K in keyof typeof profileFields]: z.infer<(typeof profileFields)[K]> }> & { version?: number }>;
const target = z.object({ type: z.enum(['user', 'group', 'ou', 'domain']), ref: z.string().min(1).max(500) });
const deploymentBody = z.object({ all: z.boolean(), targets: z.array(target).max(1000).default([]) });

/** A hand-off app's refresh token lifetime unless set: 8 hours, a working day. */
const DEFAULT_HANDOFF_REFRESH_SECONDS = 8 * 3600;
const withRefreshMinutes = (t: z.infer<typeof ttls>, minutes: number | undefined) => (minutes === undefined ? t : { ...t, refreshToken: minutes * 60 });

export function idpMetadata(app: Context, tenant: Tenant) {
  const issuer = issuerFor(app.config.publicUrl, tenant.slug);
  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    authorizationEndpoint: `${issuer}/auth`,
    tokenEndpoint: `${issuer}/token`,
    userinfoEndpoint: `${issuer}/me`,
    jwksUri: `${issuer}/jwks`,
    endSessionEndpoint: `${issuer}/session/end`,
    introspectionEndpoint: `${issuer}/token/introspection`,
    revocationEndpoint: `${issuer}/token/revocation`,
    pushedAuthorizationRequestEndpoint: `${issuer}/request`,
  };
}

export function appRoutes(app: Context, r: Router) {
  const view = async (tenant: Tenant, a: App) => ({
    clientId: a.clientId, name: a.name, displayName: a.displayName, type: a.type,
    redirectUris: a.redirectUris, postLogoutRedirectUris: a.postLogoutRedirectUris,
    backchannelLogoutUri: a.backchannelLogoutUri, homeUrl: a.homeUrl, claims: a.claims, tokenTtls: a.tokenTtls,
    initiateLoginUri: a.initiateLoginUri, loginRedirectUrl: a.loginRedirectUrl, passwordGrant: a.passwordGrant, logo: a.logo, requireMfa: a.requireMfa,
    ...(a.type === 'handoff' && { refreshTokenMinutes: Math.round((a.tokenTtls.refreshToken ?? DEFAULT_HANDOFF_REFRESH_SECONDS) / 60) }),
    launchUrl: `${issuerFor(app.config.publicUrl, tenant.slug)}/launch/${a.clientId}`,
    hasSecret: !!a.secretSealed,
    deployed: await app.appService.isDeployed(a),
    deployment: { all: a.deployAll, targets: await app.appService.describeTargets(tenant.id, a) },
    metadata: idpMetadata(app, tenant),
    createdAt: a.createdAt, updatedAt: a.updatedAt, version: a.version,
  });
  // Claim names feed the engine's claims configuration, so a claims change rebuilds it.
  const claimsChanged = (tenant: Tenant) => app.engines.invalidate(tenant.slug);

  r.get('/tenants/:slug/apps', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'helpdesk', 'auditor']);
    const items = [];
    for (const a of await app.apps.list(tenant.id)) items.push(await view(tenant, a));
    ctx.body = { items, nextCursor: null };
  });

  r.post('/tenants/:slug/apps', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, []);
    const { clientId, clientSecret: fixedSecret, refreshTokenMinutes, ...fields } = parse(createBody, ctx.request.body);
    const input = { ...fields, tokenTtls: withRefreshMinutes(fields.tokenTtls, refreshTokenMinutes ?? (fields.type === 'handoff' ? DEFAULT_HANDOFF_REFRESH_SECONDS / 60 : undefined)) };
    const { app: created, clientSecret } = await app.appService.create(tenant.id, input, { clientId, clientSecret: fixedSecret });
    if (created.claims.length) claimsChanged(tenant);
    await audited(app, admin, tenant.id, 'admin.app.created', created.clientId, { name: created.name, type: created.type }, ctx.ip);
    ctx.status = 201;
    ctx.body = { ...(await view(tenant, created)), clientSecret };
  });

  r.get('/tenants/:slug/apps/:clientId', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'helpdesk', 'auditor']);
    ctx.body = await view(tenant, await app.apps.get(tenant.id, ctx.params.clientId!));
  });

  r.patch('/tenants/:slug/apps/:clientId', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, []);
    const { refreshTokenMinutes, ...input } = parse(patchBody, ctx.request.body);
    const current = await app.apps.get(tenant.id, ctx.params.clientId!);
    if (refreshTokenMinutes !== undefined) input.tokenTtls = withRefreshMinutes(input.tokenTtls ?? current.tokenTtls, refreshTokenMinutes);
    const merged = { ...current, ...input };
    app.appService.validate(merged);
    if (input.logo) input.logo = merged.logo; // normalised (its real image type)
    const { version: _v, ...patch } = input;
    const updated = await app.apps.update(tenant.id, current.clientId, expectedVersion(ctx, input), patch);
    if (input.claims) claimsChanged(tenant);
    await audited(app, admin, tenant.id, 'admin.app.updated', current.clientId, { changes: Object.keys(patch) }, ctx.ip);
    ctx.body = await view(tenant, updated);
  });

  r.delete('/tenants/:slug/apps/:clientId', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, []);
    await app.apps.delete(tenant.id, ctx.params.clientId!);
    claimsChanged(tenant);
    await audited(app, admin, tenant.id, 'admin.app.deleted', ctx.params.clientId!, {}, ctx.ip);
    ctx.status = 204;
  });

  r.post('/tenants/:slug/apps/:clientId/secret', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, []);
    const { app: a, clientSecret } = await app.appService.regenerateSecret(tenant.id, ctx.params.clientId!);
    await audited(app, admin, tenant.id, 'admin.app.secret_regenerated', a.clientId, {}, ctx.ip);
    ctx.body = { clientId: a.clientId, clientSecret };
  });

  r.get('/tenants/:slug/metadata', async (ctx) => {
    const { tenant } = await guard(app, ctx, ['admin', 'helpdesk', 'auditor']);
    ctx.body = idpMetadata(app, tenant);
  });

  // Deployment: replace all targets at once (the console's "Deploy this application?" dialog) ...
  r.put('/tenants/:slug/apps/:clientId/deployment', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin']);
    const input = parse(deploymentBody, ctx.request.body);
    const a = await app.apps.get(tenant.id, ctx.params.clientId!);
    const resolved = [];
    for (const t of input.targets) resolved.push(await app.appService.resolveTarget(tenant.id, t.type, t.ref));
    await app.apps.clearTargets(a.id);
    for (const t of resolved) await app.apps.addTarget(tenant.id, a.id, t);
    const updated = await app.apps.update(tenant.id, a.clientId, undefined, { deployAll: input.all });
    await audited(app, admin, tenant.id, 'admin.app.deployment_set', a.clientId, { all: input.all, targets: input.targets }, ctx.ip);
    ctx.body = await view(tenant, updated);
  });
  // ... or add one target (the CLI's `app deploy`).
  r.post('/tenants/:slug/apps/:clientId/deployment/targets', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin']);
    const input = parse(z.union([z.object({ all: z.literal(true) }), target]), ctx.request.body);
    const a = await app.apps.get(tenant.id, ctx.params.clientId!);
    if ('all' in input) await app.apps.update(tenant.id, a.clientId, undefined, { deployAll: true });
    else await app.apps.addTarget(tenant.id, a.id, await app.appService.resolveTarget(tenant.id, input.type, input.ref));
    await audited(app, admin, tenant.id, 'admin.app.deployed', a.clientId, input, ctx.ip);
    ctx.body = await view(tenant, await app.apps.get(tenant.id, a.clientId));
  });
  r.delete('/tenants/:slug/apps/:clientId/deployment', async (ctx) => {
    const { admin, tenant } = await guard(app, ctx, ['admin']);
    const a = await app.apps.get(tenant.id, ctx.params.clientId!);
    await app.apps.clearTargets(a.id);
    const updated = await app.apps.update(tenant.id, a.clientId, undefined, { deployAll: false });
    await audited(app, admin, tenant.id, 'admin.app.undeployed', a.clientId, {}, ctx.ip);
    ctx.body = await view(tenant, updated);
  });
}
