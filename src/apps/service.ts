// Application profiles: validation, credentials, deployments and the deployment decision.
import crypto from 'node:crypto';
import type { AppStore, App, AppInput, DeploymentTarget } from '../storage/apps.ts';
import type { UserStore, UserWithSecret } from '../storage/users.ts';
import { type Sealer, randomSecret } from '../shared/crypto.ts';
import { invalid } from '../shared/errors.ts';
import { checkLogo } from '../shared/images.ts';
import { checkRedirectUris, redirectUriProblem } from './redirect-uris.ts';
import { textProblem, webUrlProblem } from '../shared/input.ts';
import { OUTBOUND_SETTING, type Outbound } from '../shared/outbound.ts';
import { signingKeys } from './jwks.ts';
import { certificatesExpireAt, samlProblems, DEFAULT_SAML, type SamlSettings } from '../saml/settings.ts';
import { settingsFromMetadata } from '../saml/sp-metadata.ts';
import { SamlError } from '../saml/xml.ts';

/** SAML settings as an administrator gives them: any field, and optionally the SP's metadata (XML or URL) to fill in the rest. */
export type SamlInput = Partial<Omit<SamlSettings, 'acs'>> & { acs?: Array<{ url: string; index?: number }>; metadataXml?: string; metadataUrl?: string };

export const DEFAULT_CLAIMS = ['sub', 'email', 'email_verified', 'name', 'given_name', 'family_name', 'preferred_username', 'groups'] as const;
export const CLAIM_ATTRIBUTES = ['email', 'given_name', 'family_name', 'name', 'domain', 'ou', 'groups', 'user_id'] as const;

export const isConfidential = (type: App['type']) => type === 'web' || type === 'service' || type === 'handoff';
/** Apps that sign users in with the authorization code flow (and may register initiate_login_uri). */
export const isOidcApp = (type: App['type']) => type === 'web' || type === 'spa' || type === 'native';
export const newClientId = () => crypto.randomBytes(12).toString('hex');

export interface AppServiceDeps {
  appStore: AppStore;
  userStore: UserStore;
  sealer: Sealer;
  outbound: Outbound;
}

export class AppService {
  readonly apps: AppStore;
  readonly directory: UserStore;
  readonly sealer: Sealer;
  readonly outbound: Outbound;
  constructor(deps: AppServiceDeps) {
    this.apps = deps.appStore;
    this.directory = deps.userStore;
    this.sealer = deps.sealer;
    this.outbound = deps.outbound;
  }

  /**
   * Validate, and normalise what has a normal form (the logo). Async: the back-channel logout
   * URI, which Gatehouse itself calls, is resolved and its addresses checked (src/shared/outbound.ts).
   */
  async validate(input: Partial<AppInput> & { type: App['type'] }): Promise<void> {
    if (input.logo) input.logo = checkLogo(input.logo);
    const problems: string[] = [];
    // Also reached without the admin API's schemas (import file): names and URLs checked here too.
    for (const [field, label] of [
      ['name', 'The name'],
      ['displayName', 'The display name'],
    ] as const) {
      const v = input[field];
      const p = typeof v === 'string' ? textProblem(v) : undefined;
      if (p) problems.push(`${label} ${p}.`);
    }
    for (const [field, label] of [
      ['homeUrl', 'The home URL'],
      ['backchannelLogoutUri', 'The back-channel logout URI'],
    ] as const) {
      const v = input[field];
      const p = v ? webUrlProblem(v) : undefined;
      if (p) problems.push(`${label} (${field}) "${v}" ${p}.`);
    }
    const uris = [...(input.redirectUris ?? []), ...(input.postLogoutRedirectUris ?? [])];
    problems.push(...checkRedirectUris(input.type, uris));
    if (input.type === 'service' && input.redirectUris?.length) problems.push('A service app uses client_credentials only and takes no redirect URIs.');
    if (input.type === 'handoff' && input.redirectUris?.length)
      problems.push('A hand-off app receives a refresh token at its login redirect URL and takes no redirect URIs.');
    if (isOidcApp(input.type) && input.redirectUris && input.redirectUris.length === 0)
      problems.push("Add at least one redirect URI: the app's sign-in callback.");
    if (input.type === 'handoff' && !input.loginRedirectUrl)
      problems.push('A hand-off app needs its login redirect URL: the address the refresh token is POSTed to.');
    if (input.loginRedirectUrl) {
      if (input.type !== 'handoff') problems.push('Only hand-off apps have a login redirect URL.');
      else {
        const p = redirectUriProblem('web', input.loginRedirectUrl);
        if (p) problems.push(`Login redirect URL ${p}`);
      }
    }
    if (input.initiateLoginUri) {
      if (!isOidcApp(input.type)) problems.push('Only OpenID Connect apps (web, SPA, native) can register an initiate login URI.');
      else {
        const p = redirectUriProblem('web', input.initiateLoginUri);
        if (p) problems.push(`Initiate login URI ${p}`);
      }
    }
    if (input.clientAuthMethod && input.clientAuthMethod !== 'client_secret_basic' && !isConfidential(input.type)) {
      problems.push(
        'Only confidential apps (web, service, hand-off) authenticate at the token endpoint: SPA and native apps are public clients (PKCE, no client authentication).',
      );
    }
    if (input.clientAuthMethod === 'private_key_jwt' && isConfidential(input.type) && !signingKeys(input.jwks ?? null).length) {
      problems.push(
        'private_key_jwt checks the app\'s signed assertions with its registered public keys: register them in jwks (signing keys: "use" "sig" or none) first.',
      );
    }
    if (input.deviceSsoGroup && input.type !== 'native')
      problems.push('Only native apps can join a device SSO group (OpenID Connect Native SSO shares a sign-in between apps on one mobile device).');
    if (input.type === 'saml') {
      if (!input.saml)
        problems.push("A SAML app needs its SP settings: at least the SP entity ID and an Assertion Consumer Service URL (or the SP's metadata).");
      else {
        problems.push(...samlProblems(input.saml));
        // The SP's certificates get the same expiry alert as OpenID Connect apps' registered ones.
        input.certificateExpiresAt = certificatesExpireAt(input.saml.certificates);
      }
      if (input.redirectUris?.length || input.postLogoutRedirectUris?.length)
        problems.push('A SAML app receives assertions at its Assertion Consumer Service URLs and takes no redirect URIs.');
      if (input.jwks) problems.push('A SAML app registers X.509 certificates (saml.certificates), not a JWKS.');
    } else if (input.saml) problems.push('Only SAML apps (type saml) have SAML settings.');
    if (input.passwordGrant && !isConfidential(input.type))
      problems.push('The password grant needs a confidential app (web, service or hand-off): a public client cannot keep the secret it requires.');
    if (input.backchannelLogoutUri && !webUrlProblem(input.backchannelLogoutUri)) {
      const refused = await this.outbound.check(new URL(input.backchannelLogoutUri));
      if (refused)
        problems.push(
          `The back-channel logout URI (backchannelLogoutUri) "${input.backchannelLogoutUri}" is refused: ${refused.message} ${refused.always ? "Use the application's public address." : `Use the application's public address, or ask the operator to add its range to ${OUTBOUND_SETTING}.`}`,
        );
    }
    for (const c of input.claims ?? []) {
      if ((c.value === undefined) === (c.attribute === undefined))
        problems.push(`Custom claim "${c.name}" needs either a static value or a user attribute, not both.`);
      if (c.attribute && !(CLAIM_ATTRIBUTES as readonly string[]).includes(c.attribute))
        problems.push(`Custom claim "${c.name}" maps unknown attribute "${c.attribute}"; use one of ${CLAIM_ATTRIBUTES.join(', ')}.`);
      if (
        (DEFAULT_CLAIMS as readonly string[]).includes(c.name) ||
        ['iss', 'aud', 'exp', 'iat', 'nonce', 'acr', 'amr', 'azp', 'auth_time', 'at_hash', 'c_hash', 'sid'].includes(c.name)
      ) {
        problems.push(`"${c.name}" is a standard claim and cannot be redefined.`);
      }
    }
    if (problems.length) throw invalid(problems.join(' '), { problems });
  }

  /**
   * The SAML settings to store: the current ones (a change) or the defaults, then what the
   * SP's metadata says (pasted, or fetched through the outbound rules), then the fields given.
   */
  async resolveSaml(input: SamlInput, current?: SamlSettings | null): Promise<SamlSettings> {
    const { metadataXml, metadataUrl, ...fields } = input;
    let xml = metadataXml;
    if (metadataUrl) {
      const problem = webUrlProblem(metadataUrl);
      if (problem) throw invalid(`The SP metadata URL "${metadataUrl}" ${problem}.`);
      let res: Response;
      try {
        res = await this.outbound.fetch(metadataUrl, { redirect: 'manual', headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' } });
      } catch (e) {
        throw invalid(
          `The SP metadata could not be fetched from ${metadataUrl}: ${(e as Error).message} Paste the metadata XML instead, or ${OUTBOUND_SETTING} may need the SP's address range.`,
        );
      }
      if (!res.ok) throw invalid(`The SP metadata URL ${metadataUrl} answered HTTP ${res.status}. Check the URL, or paste the metadata XML instead.`);
      xml = await res.text();
    }
    let fromMetadata: Partial<SamlSettings> = {};
    if (xml) {
      try {
        fromMetadata = settingsFromMetadata(xml);
      } catch (e) {
        if (e instanceof SamlError) throw invalid(e.message);
        throw e;
      }
    }
    const merged = {
      ...DEFAULT_SAML,
      ...(current ?? {}),
      ...fromMetadata,
      ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
    } as SamlSettings;
    merged.acs = (merged.acs ?? []).map((a, i) => ({ url: a.url, index: a.index ?? i }));
    return merged;
  }

  /** Create a profile. Returns the client secret in the clear exactly once. */
  async create(tenantId: string, input: AppInput, fixed?: { clientId?: string; clientSecret?: string }): Promise<{ app: App; clientSecret: string | null }> {
    await this.validate(input);
    const clientSecret = isConfidential(input.type) ? (fixed?.clientSecret ?? randomSecret()) : null;
    if (fixed?.clientSecret && fixed.clientSecret.length < 32) throw invalid('A fixed client secret must be at least 32 characters.');
    if (fixed?.clientId?.startsWith('gatehouse-')) throw invalid('Client IDs starting with "gatehouse-" are reserved for Gatehouse itself. Choose another.');
    const app = await this.apps.create(tenantId, fixed?.clientId ?? newClientId(), clientSecret ? this.sealer.seal(clientSecret) : null, input);
    return { app, clientSecret };
  }

  async regenerateSecret(tenantId: string, clientId: string): Promise<{ app: App; clientSecret: string }> {
    const app = await this.apps.get(tenantId, clientId);
    if (!isConfidential(app.type)) throw invalid(`${app.type} apps are public clients and have no secret.`);
    const clientSecret = randomSecret();
    return { app: await this.apps.update(tenantId, clientId, undefined, { secretSealed: this.sealer.seal(clientSecret) }), clientSecret };
  }

  clientSecretOf(app: App): string | undefined {
    return app.secretSealed ? this.sealer.open(app.secretSealed) : undefined;
  }

  /** Resolve a deployment target given by name (email, group name, OU path, domain) to its stored id. */
  async resolveTarget(tenantId: string, type: DeploymentTarget['type'], ref: string): Promise<DeploymentTarget> {
    switch (type) {
      case 'user': {
        const u = (await this.directory.userByEmail(tenantId, ref)) ?? (await this.directory.userById(tenantId, ref));
        if (!u) throw invalid(`No user ${ref} in this tenant. Create the user first or check the email.`);
        return { type, id: u.id };
      }
      case 'group': {
        const g = (await this.directory.groupByName(tenantId, ref)) ?? (await this.directory.groupById(tenantId, ref));
        if (!g) throw invalid(`No group "${ref}" in this tenant. Create the group first or check its name.`);
        return { type, id: g.id };
      }
      case 'ou': {
        const o = ref.startsWith('/') ? await this.directory.ouByPath(tenantId, ref) : await this.directory.ouById(tenantId, ref);
        if (!o) throw invalid(`No OU "${ref}" in this tenant. OU paths look like /Sales/EMEA.`);
        return { type, id: o.id };
      }
      case 'domain': {
        const name = ref.toLowerCase();
        if (!/^[a-z0-9.-]+\.[a-z]{2,}$/.test(name)) throw invalid(`"${ref}" is not a domain name.`);
        return { type, id: name };
      }
    }
  }

  async describeTargets(tenantId: string, app: App) {
    const out: Array<DeploymentTarget & { label: string }> = [];
    for (const t of await this.apps.targets(app.id)) out.push({ ...t, label: await this.targetLabel(tenantId, t) });
    return out;
  }

  /** What a person calls a target: the email, group name, OU path or domain. */
  async targetLabel(tenantId: string, t: DeploymentTarget): Promise<string> {
    if (t.type === 'user') return (await this.directory.userById(tenantId, t.id))?.email ?? t.id;
    if (t.type === 'group') return (await this.directory.groupById(tenantId, t.id))?.name ?? t.id;
    if (t.type === 'ou') return (await this.directory.ouById(tenantId, t.id))?.path ?? t.id;
    return t.id;
  }

  async isDeployed(app: App): Promise<boolean> {
    return app.deployAll || (await this.apps.targets(app.id)).length > 0;
  }

  /** Is this app deployed to this user? Decided at every authorization, so undeploying takes effect at once. */
  async isDeployedTo(app: App, user: UserWithSecret): Promise<boolean> {
    if (app.deployAll) return true;
    const groups = await this.directory.groupsOfUser(user.tenantId, user.id);
    const ouIds: string[] = [];
    for (let id = user.ouId; id; ) {
      ouIds.push(id);
      id = (await this.directory.ouById(user.tenantId, id))?.parentId ?? null;
    }
    return this.apps.matchesAnyTarget(app.id, { userId: user.id, groupIds: groups.map((g) => g.id), ouIds, domain: user.domain });
  }
}
