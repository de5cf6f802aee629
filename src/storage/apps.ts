// Application profiles and their deployments (who may use an app).
import { sql, type Kysely, type Selectable } from 'kysely';
import type { AppsTable, DB } from './schema.ts';
import { prepare } from './prepared.ts';
import { containsPattern, cut, decodeCursor, pageSize, type Page, type PageOptions } from './paging.ts';
import { newId } from '../shared/crypto.ts';
import { conflict, isUniqueViolation, notFound, assertUpdated } from '../shared/errors.ts';
import type { AppType } from '../apps/redirect-uris.ts';
import type { SamlSettings } from '../saml/settings.ts';

export interface CustomClaim {
  name: string;
  /** A static value, or the name of a user attribute (email, given_name, family_name, domain, ou, groups). */
  value?: string;
  attribute?: string;
}

export interface TokenTtls {
  accessToken?: number;
  idToken?: number;
  refreshToken?: number;
}

export interface App {
  id: string;
  tenantId: string;
  clientId: string;
  name: string;
  displayName: string;
  type: AppType;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string | null;
  homeUrl: string | null;
  /** OpenID Connect apps: where a launch starts the app's own sign-in (third-party-initiated login). */
  initiateLoginUri: string | null;
  /** Hand-off apps: where a launch POSTs a refresh token. */
  loginRedirectUrl: string | null;
  /** The legacy password grant is allowed for this app (off by default). */
  passwordGrant: boolean;
  /** Shown in the launcher: a data: URL (PNG, GIF or JPEG). */
  logo: string | null;
  /** Signing in to this app needs two-step verification (step-up if the session lacks it). */
  requireMfa: boolean;
  /** Hand-off apps: the handed-over refresh token survives the user's sign-out of Gatehouse (default: revoked with the session). */
  outliveSession: boolean;
  /** Native apps: the device SSO group (OpenID Connect Native SSO) whose apps share one sign-in on a device; null: none. */
  deviceSsoGroup: string | null;
  secretSealed: string | null;
  claims: CustomClaim[];
  tokenTtls: TokenTtls;
  deployAll: boolean;
  /** The app's registered public keys (a JWKS), with their x5c certificates; null when none. */
  jwks: Jwks | null;
  /** The earliest expiry of those certificates (epoch ms), for the 90-day alert. */
  certificateExpiresAt: number | null;
  /** Confidential apps: how they authenticate at the token endpoint (public apps: none). */
  clientAuthMethod: ClientAuthMethod;
  /** SAML apps: the SP and what its assertions carry (saml/settings.ts); null for OpenID Connect apps. */
  saml: SamlSettings | null;
  createdAt: number;
  updatedAt: number;
  version: number;
}

/**
 * Token endpoint authentication of confidential apps. client_secret_basic takes the secret in
 * the Authorization header or in the form (client_secret_post): the engine accepts both.
 */
import type { ClientAuthMethod } from '../apps/kinds.ts';
export { CLIENT_AUTH_METHODS, type ClientAuthMethod } from '../apps/kinds.ts';

export interface Jwks {
  keys: Array<Record<string, unknown> & { kty: string; x5c?: string[] }>;
}

export type DeploymentTargetType = 'user' | 'group' | 'ou' | 'domain';
export interface DeploymentTarget {
  type: DeploymentTargetType;
  id: string;
}

const toApp = (r: Selectable<AppsTable>): App => ({
  id: r.id,
  tenantId: r.tenant_id,
  clientId: r.client_id,
  name: r.name,
  displayName: r.display_name,
  type: r.type,
  redirectUris: JSON.parse(r.redirect_uris),
  postLogoutRedirectUris: JSON.parse(r.post_logout_redirect_uris),
  backchannelLogoutUri: r.backchannel_logout_uri,
  homeUrl: r.home_url,
  initiateLoginUri: r.initiate_login_uri,
  loginRedirectUrl: r.login_redirect_url,
  passwordGrant: r.password_grant === 1,
  logo: r.logo ?? null,
  requireMfa: r.require_mfa === 1,
  outliveSession: r.outlive_session === 1,
  deviceSsoGroup: r.device_sso_group ?? null,
  secretSealed: r.secret_sealed,
  claims: JSON.parse(r.claims),
  tokenTtls: JSON.parse(r.token_ttls),
  deployAll: r.deploy_all === 1,
  jwks: r.jwks ? JSON.parse(r.jwks) : null,
  certificateExpiresAt: r.certificate_expires_at === null || r.certificate_expires_at === undefined ? null : Number(r.certificate_expires_at),
  clientAuthMethod: (r.client_auth_method ?? 'client_secret_basic') as ClientAuthMethod,
  saml: r.saml ? JSON.parse(r.saml) : null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  version: r.version,
});

export type AppInput = Pick<
  App,
  'name' | 'displayName' | 'type' | 'redirectUris' | 'postLogoutRedirectUris' | 'backchannelLogoutUri' | 'homeUrl' | 'claims' | 'tokenTtls'
> &
  Partial<
    Pick<
      App,
      | 'initiateLoginUri'
      | 'loginRedirectUrl'
      | 'passwordGrant'
      | 'logo'
      | 'requireMfa'
      | 'outliveSession'
      | 'deviceSsoGroup'
      | 'jwks'
      | 'certificateExpiresAt'
      | 'clientAuthMethod'
      | 'saml'
    >
  >;

export class AppStore {
  readonly db: Kysely<DB>;
  // Client authentication reads the profile on every token request.
  readonly #byTenantClientId: ReturnType<typeof prepare<'tenantId' | 'clientId'>>;
  /** Told after every change to a profile (caches of it are dropped). */
  onChange: (tenantId: string, clientId: string) => Promise<void> = async () => {};
  constructor(db: Kysely<DB>) {
    this.db = db;
    this.#byTenantClientId = prepare(db, ['tenantId', 'clientId'], (p) =>
      db.selectFrom('apps').selectAll().where('tenant_id', '=', p.tenantId).where('client_id', '=', p.clientId),
    );
  }

  async create(tenantId: string, clientId: string, secretSealed: string | null, input: AppInput): Promise<App> {
    const now = Date.now();
    const row = {
      id: newId('app_'),
      tenant_id: tenantId,
      client_id: clientId,
      name: input.name,
      display_name: input.displayName,
      type: input.type,
      redirect_uris: JSON.stringify(input.redirectUris),
      post_logout_redirect_uris: JSON.stringify(input.postLogoutRedirectUris),
      backchannel_logout_uri: input.backchannelLogoutUri,
      home_url: input.homeUrl,
      initiate_login_uri: input.initiateLoginUri ?? null,
      login_redirect_url: input.loginRedirectUrl ?? null,
      password_grant: input.passwordGrant ? 1 : 0,
      logo: input.logo ?? null,
      require_mfa: input.requireMfa ? 1 : 0,
      outlive_session: input.outliveSession ? 1 : 0,
      device_sso_group: input.deviceSsoGroup ?? null,
      secret_sealed: secretSealed,
      claims: JSON.stringify(input.claims),
      token_ttls: JSON.stringify(input.tokenTtls),
      deploy_all: 0,
      jwks: input.jwks ? JSON.stringify(input.jwks) : null,
      certificate_expires_at: input.certificateExpiresAt ?? null,
      client_auth_method: input.clientAuthMethod ?? null,
      saml: input.saml ? JSON.stringify(input.saml) : null,
      saml_entity_id: input.saml?.entityId ?? null,
      created_at: now,
      updated_at: now,
      version: 1,
    };
    try {
      await this.db.insertInto('apps').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) {
        const clash = await this.byClientId(clientId);
        const spClash = input.saml && (await this.bySamlEntityId(tenantId, input.saml.entityId));
        throw conflict(
          clash
            ? `The client ID ${clientId} is already in use. Choose another or let Gatehouse generate one.`
            : spClash
              ? `The SAML application "${spClash.name}" already has the SP entity ID ${input.saml!.entityId}. An SP is registered once per tenant: change that profile instead.`
              : `An application profile named "${input.name}" already exists in this tenant. Profile names must be unique.`,
        );
      }
      throw e;
    }
    await this.onChange(tenantId, clientId);
    return toApp(row);
  }

  async byClientId(clientId: string): Promise<App | undefined> {
    const r = await this.db.selectFrom('apps').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    return r && toApp(r);
  }

  async byTenantClientId(tenantId: string, clientId: string): Promise<App | undefined> {
    const r = (await this.#byTenantClientId<Selectable<AppsTable>>({ tenantId, clientId })).rows[0];
    return r && toApp(r);
  }

  /** The SAML app whose SP has this entity ID (an AuthnRequest's Issuer). */
  async bySamlEntityId(tenantId: string, entityId: string): Promise<App | undefined> {
    const r = await this.db.selectFrom('apps').selectAll().where('tenant_id', '=', tenantId).where('saml_entity_id', '=', entityId).executeTakeFirst();
    return r && toApp(r);
  }

  async byName(tenantId: string, name: string): Promise<App | undefined> {
    const r = await this.db.selectFrom('apps').selectAll().where('tenant_id', '=', tenantId).where('name', '=', name).executeTakeFirst();
    return r && toApp(r);
  }

  async get(tenantId: string, clientId: string): Promise<App> {
    const a = await this.byTenantClientId(tenantId, clientId);
    if (!a) throw notFound(`Application ${clientId}`);
    return a;
  }

  async list(tenantId: string): Promise<App[]> {
    return (await this.db.selectFrom('apps').selectAll().where('tenant_id', '=', tenantId).orderBy('name').execute()).map(toApp);
  }

  /** Name-ordered pages; `search` matches the profile name, the user-friendly name or the client ID. */
  async page(tenantId: string, opts: PageOptions = {}): Promise<Page<App>> {
    const limit = pageSize(opts.limit);
    let q = this.db.selectFrom('apps').selectAll().where('tenant_id', '=', tenantId);
    if (opts.search?.trim()) {
      const s = containsPattern(opts.search.trim());
      q = q.where(sql<boolean>`(lower(name) like ${s} escape '\\' or lower(display_name) like ${s} escape '\\' or lower(client_id) like ${s} escape '\\')`);
    }
    if (opts.cursor) q = q.where('name', '>', decodeCursor(opts.cursor));
    return cut(
      (
        await q
          .orderBy('name')
          .limit(limit + 1)
          .execute()
      ).map(toApp),
      limit,
      (a) => a.name,
    );
  }

  /** How many apps the tenant has, and how many are deployed (to all, or to any target). */
  async counts(tenantId: string): Promise<{ apps: number; deployed: number }> {
    const r = await this.db
      .selectFrom('apps')
      .select((eb) => [
        eb.fn.countAll<number>().as('n'),
        eb.fn
          .sum<number>(
            eb
              .case()
              .when(
                eb.or([
                  eb('deploy_all', '=', 1),
                  eb.exists(eb.selectFrom('app_deployments').select('app_deployments.id').whereRef('app_deployments.app_id', '=', 'apps.id')),
                ]),
              )
              .then(1)
              .else(0)
              .end(),
          )
          .as('deployed'),
      ])
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return { apps: Number(r.n), deployed: Number(r.deployed ?? 0) };
  }

  /** Apps whose registered certificates expire before `before` (epoch ms), soonest first. */
  /** Every app's registered certificate expiry, all tenants, with the tenant's slug (the expiry gauge). */
  async registeredCertificates(): Promise<Array<{ tenantSlug: string; clientId: string; expiresAt: number }>> {
    const rows = await this.db
      .selectFrom('apps')
      .innerJoin('tenants', 'tenants.id', 'apps.tenant_id')
      .select(['tenants.slug as slug', 'apps.client_id as clientId', 'apps.certificate_expires_at as expiresAt'])
      .where('apps.certificate_expires_at', 'is not', null)
      .orderBy('tenants.slug')
      .orderBy('apps.client_id')
      .execute();
    return rows.map((r) => ({ tenantSlug: r.slug, clientId: r.clientId, expiresAt: Number(r.expiresAt) }));
  }

  async certificatesExpiringBefore(tenantId: string, before: number): Promise<App[]> {
    return (
      await this.db
        .selectFrom('apps')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('certificate_expires_at', 'is not', null)
        .where('certificate_expires_at', '<=', before)
        .orderBy('certificate_expires_at')
        .execute()
    ).map(toApp);
  }

  async update(
    tenantId: string,
    clientId: string,
    version: number | undefined,
    patch: Partial<AppInput> & { secretSealed?: string | null; deployAll?: boolean },
  ): Promise<App> {
    let q = this.db
      .updateTable('apps')
      .set((eb) => ({
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.displayName !== undefined && { display_name: patch.displayName }),
        ...(patch.type !== undefined && { type: patch.type }),
        ...(patch.redirectUris !== undefined && { redirect_uris: JSON.stringify(patch.redirectUris) }),
        ...(patch.postLogoutRedirectUris !== undefined && { post_logout_redirect_uris: JSON.stringify(patch.postLogoutRedirectUris) }),
        ...(patch.backchannelLogoutUri !== undefined && { backchannel_logout_uri: patch.backchannelLogoutUri }),
        ...(patch.homeUrl !== undefined && { home_url: patch.homeUrl }),
        ...(patch.initiateLoginUri !== undefined && { initiate_login_uri: patch.initiateLoginUri }),
        ...(patch.loginRedirectUrl !== undefined && { login_redirect_url: patch.loginRedirectUrl }),
        ...(patch.passwordGrant !== undefined && { password_grant: patch.passwordGrant ? 1 : 0 }),
        ...(patch.logo !== undefined && { logo: patch.logo }),
        ...(patch.requireMfa !== undefined && { require_mfa: patch.requireMfa ? 1 : 0 }),
        ...(patch.outliveSession !== undefined && { outlive_session: patch.outliveSession ? 1 : 0 }),
        ...(patch.deviceSsoGroup !== undefined && { device_sso_group: patch.deviceSsoGroup }),
        ...(patch.claims !== undefined && { claims: JSON.stringify(patch.claims) }),
        ...(patch.tokenTtls !== undefined && { token_ttls: JSON.stringify(patch.tokenTtls) }),
        ...(patch.secretSealed !== undefined && { secret_sealed: patch.secretSealed }),
        ...(patch.deployAll !== undefined && { deploy_all: patch.deployAll ? 1 : 0 }),
        ...(patch.jwks !== undefined && { jwks: patch.jwks ? JSON.stringify(patch.jwks) : null }),
        ...(patch.certificateExpiresAt !== undefined && { certificate_expires_at: patch.certificateExpiresAt }),
        ...(patch.clientAuthMethod !== undefined && { client_auth_method: patch.clientAuthMethod }),
        ...(patch.saml !== undefined && { saml: patch.saml ? JSON.stringify(patch.saml) : null, saml_entity_id: patch.saml?.entityId ?? null }),
        updated_at: Date.now(),
        version: eb('version', '+', 1),
      }))
      .where('tenant_id', '=', tenantId)
      .where('client_id', '=', clientId);
    if (version !== undefined) q = q.where('version', '=', version);
    try {
      await assertUpdated(await q.executeTakeFirst(), () => this.byTenantClientId(tenantId, clientId), 'The application profile', `Application ${clientId}`);
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw conflict(
          patch.saml && patch.name === undefined
            ? `Another SAML application already has the SP entity ID ${patch.saml.entityId}.`
            : `An application profile named "${patch.name}" already exists in this tenant.`,
        );
      }
      throw e;
    }
    await this.onChange(tenantId, clientId);
    return this.get(tenantId, clientId);
  }

  async delete(tenantId: string, clientId: string): Promise<void> {
    const res = await this.db.deleteFrom('apps').where('tenant_id', '=', tenantId).where('client_id', '=', clientId).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`Application ${clientId}`);
    await this.onChange(tenantId, clientId);
  }

  // ---- deployments
  async targets(appId: string): Promise<DeploymentTarget[]> {
    const rows = await this.db.selectFrom('app_deployments').select(['target_type', 'target_id']).where('app_id', '=', appId).orderBy('created_at').execute();
    return rows.map((r) => ({ type: r.target_type, id: r.target_id }));
  }

  async addTarget(tenantId: string, appId: string, t: DeploymentTarget): Promise<void> {
    await this.db
      .insertInto('app_deployments')
      .values({ id: newId('dep_'), tenant_id: tenantId, app_id: appId, target_type: t.type, target_id: t.id, created_at: Date.now() })
      .onConflict((oc) => oc.columns(['app_id', 'target_type', 'target_id']).doNothing())
      .execute();
  }

  async removeTarget(appId: string, t: DeploymentTarget): Promise<void> {
    await this.db.deleteFrom('app_deployments').where('app_id', '=', appId).where('target_type', '=', t.type).where('target_id', '=', t.id).execute();
  }

  async clearTargets(appId: string): Promise<void> {
    await this.db.deleteFrom('app_deployments').where('app_id', '=', appId).execute();
  }

  /** Does any deployment target of this app match the given user facts? */
  async matchesAnyTarget(appId: string, facts: { userId: string; groupIds: string[]; ouIds: string[]; domain: string }): Promise<boolean> {
    const r = await this.db
      .selectFrom('app_deployments')
      .select('id')
      .where('app_id', '=', appId)
      .where((eb) =>
        eb.or([
          eb.and([eb('target_type', '=', 'user'), eb('target_id', '=', facts.userId)]),
          eb.and([eb('target_type', '=', 'domain'), eb('target_id', '=', facts.domain)]),
          ...(facts.groupIds.length ? [eb.and([eb('target_type', '=', 'group'), eb('target_id', 'in', facts.groupIds)])] : []),
          ...(facts.ouIds.length ? [eb.and([eb('target_type', '=', 'ou'), eb('target_id', 'in', facts.ouIds)])] : []),
        ]),
      )
      .limit(1)
      .executeTakeFirst();
    return !!r;
  }
}
