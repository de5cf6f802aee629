// Upstream directories (Entra ID, Okta, Cognito, any OpenID provider): settings checked
// against the upstream's discovery document, email routing, the code + PKCE exchange through
// openid-client, the claim gate, and just-in-time accounts linked by issuer + subject.
// openid-client is loaded on first use: a Gatehouse without upstreams never needs it, and the
// idle footprint is a target (bench/).
import type * as OidcClient from 'openid-client';
const lib = () => import('openid-client');
import { z } from 'zod';
import type { Services } from '../services.ts';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { t as msg } from '../i18n/index.ts';
import type { Sealer } from '../shared/crypto.ts';
import type { Bus } from '../ops/bus.ts';
import type { UpstreamStore } from '../storage/upstreams.ts';
import type { UserStore } from '../storage/users.ts';
import type { AuditStore } from '../storage/audit.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { UserWithSecret } from '../storage/users.ts';
import type { ProfileFromUpstream, Upstream, UpstreamCheck, UpstreamSettings, UpstreamType } from '../storage/upstreams.ts';
import { GatehouseError, invalid } from '../shared/errors.ts';
import { webUrl } from '../shared/input.ts';
import { OUTBOUND_SETTING, refusalIn, type Outbound } from '../shared/outbound.ts';
import { TenantCache } from '../ops/tenant-cache.ts';
import { domainOf, normalizeEmail } from '../storage/users.ts';

const domain = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a domain like example.com');
const claimName = z.string().trim().min(1).max(200);

/** The settings an administrator sends; defaults are what most upstreams need. */
export const settingsInput = z.object({
  type: z.enum(['entra', 'okta', 'cognito', 'oidc']),
  clientId: z.string().trim().min(1).max(500),
  discoveryUrl: webUrl().optional(),
  authorityUrl: webUrl().optional(),
  /** Entra ID only: the directory (tenant) ID; the authority is then derived from it. */
  entraTenant: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9.-]{1,100}$/, 'must be a directory (tenant) ID or domain')
    .optional(),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/, 'must be a scope name without spaces'))
    .max(20)
    .default(['openid', 'profile', 'email']),
  domains: z.array(domain).max(100).default([]),
  audience: z.enum(['staff', 'all']).default('staff'),
  loginHint: z.boolean().default(true),
  showButton: z.boolean().default(false),
  testUsers: z.array(z.email().max(254)).max(1000).default([]),
  claimGate: z
    .object({ claim: claimName, value: z.string().trim().min(1).max(500) })
    .nullable()
    .default(null),
  externalIdClaim: claimName.nullable().default(null),
  claims: z
    .object({ givenName: claimName.default('given_name'), familyName: claimName.default('family_name'), email: claimName.default('email') })
    .default({ givenName: 'given_name', familyName: 'family_name', email: 'email' }),
});
export type SettingsInput = z.infer<typeof settingsInput>;

/** Plain http is accepted only for an upstream on this machine (development and tests). */
const isLoopback = (u: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);

/** Which input field named the upstream's address: problems with it are reported on that field. */
const addressField = (s: SettingsInput) =>
  s.discoveryUrl ? 'discoveryUrl' : s.authorityUrl ? 'authorityUrl' : s.type === 'entra' ? 'entraTenant' : 'authorityUrl';
/** A refusal of one field, with the field named (details.problems) so forms show it beside the field. */
const fieldProblem = (field: string, message: string) => invalid(message, { problems: [{ field, in: 'body', message }] });

function discoveryTarget(s: SettingsInput): URL {
  const raw = s.discoveryUrl ?? s.authorityUrl ?? (s.type === 'entra' && s.entraTenant ? `https://login.microsoftonline.com/${s.entraTenant}/v2.0` : undefined);
  if (!raw)
    throw fieldProblem(
      addressField(s),
      s.type === 'entra'
        ? 'Give the Entra ID directory (tenant) ID, or the authority URL (https://login.microsoftonline.com/TENANT/v2.0).'
        : "Give the upstream's issuer (authority) URL or its discovery (well-known) URL.",
    );
  const url = new URL(raw);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url)))
    throw fieldProblem(addressField(s), `${raw} is not an https:// address. Upstream directories must be reached over https.`);
  return url;
}

/**
 * Every request to the upstream (discovery, JWKS, token, userinfo) goes through Gatehouse's
 * outbound client: private and loopback addresses only when GATEHOUSE_OUTBOUND_ALLOW lists them.
 */
const options = async (url: URL, outbound: Outbound) => {
  const oidc = await lib();
  return { timeout: 10, execute: url.protocol === 'http:' ? [oidc.allowInsecureRequests] : [], [oidc.customFetch]: outbound.fetch as OidcClient.CustomFetch };
};

/** The refusal of an upstream address, naming the setting that could allow it. */
const refusedProblem = (url: URL, message: string, always: boolean) =>
  `Gatehouse does not send requests to ${url.href}: ${message} ${always ? "Use the upstream's public address." : `Use the upstream's public address, or ask the operator to add its range to ${OUTBOUND_SETTING} (see docs/configuration.md).`}`;

/** Why discovery failed, in words an administrator can act on. */
function discoveryProblem(url: URL, e: unknown): string {
  const refused = refusalIn(e);
  if (refused) return refusedProblem(url, refused.message, refused.always);
  const err = e as { code?: string; message?: string; cause?: { code?: string; expected?: string; body?: { issuer?: string } } };
  if (err.code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED' || /issuer does not match/.test(err.message ?? ''))
    return `The discovery document at ${url.href} names its issuer ${err.cause?.body?.issuer ?? '(another address)'}, not ${url.href}. Use the issuer URL exactly as the upstream publishes it.`;
  if (err.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || /status code|content-type|JSON/i.test(err.message ?? ''))
    return `${url.href} did not answer with an OpenID Connect discovery document. Check the address (for Okta, the authorization server's issuer; for Entra ID, https://login.microsoftonline.com/TENANT/v2.0).`;
  return `Could not reach ${url.href} (${err.cause?.code ?? err.message ?? 'no answer'}). Check the address and that Gatehouse can reach it.`;
}

const WELL_KNOWN = '/.well-known/openid-configuration';

export interface FederationServiceDeps {
  config: Pick<Config, 'publicUrl'>;
  logger: Logger;
  sealer: Sealer;
  bus: Bus;
  outbound: Outbound;
  upstreamStore: UpstreamStore;
  userStore: UserStore;
  auditStore: AuditStore;
}

export class FederationService {
  readonly #deps: FederationServiceDeps;
  /** Discovered configurations by upstream id and version; rediscovered hourly (key rollover). */
  readonly #configs = new Map<string, { until: number; key: string; config: Promise<OidcClient.Configuration> }>();
  /** The tenant's upstreams: read at every sign-in (buttons, routing), changed rarely. */
  readonly #upstreams: TenantCache<Upstream[]>;
  constructor(deps: FederationServiceDeps) {
    this.#deps = deps;
    this.#upstreams = new TenantCache(deps.bus, 'upstreams', (tenantId) => deps.upstreamStore.list(tenantId));
  }

  /** Call after an upstream of the tenant was created, changed or deleted. */
  changed(tenantId: string): Promise<void> {
    return this.#upstreams.changed(tenantId);
  }

  /** Validate settings and fetch the upstream's discovery document; returns what to store. */
  async prepare(input: SettingsInput): Promise<UpstreamSettings> {
    const url = discoveryTarget(input);
    // Checked before fetching, so that the refusal names the field and the setting.
    const refused = await this.#deps.outbound.check(url);
    if (refused) throw fieldProblem(addressField(input), refusedProblem(url, refused.message, refused.always));
    const oidc = await lib();
    let config: OidcClient.Configuration;
    try {
      config = await oidc.discovery(url, input.clientId, undefined, oidc.None(), await options(url, this.#deps.outbound));
    } catch (e) {
      throw fieldProblem(addressField(input), discoveryProblem(url, e));
    }
    const meta = config.serverMetadata();
    // openid-client checks the issuer when it derives the well-known address; for a
    // discovery URL given as such, its prefix must be the issuer all the same.
    if (url.pathname.endsWith(WELL_KNOWN)) {
      const expected = url.href.slice(0, url.href.length - WELL_KNOWN.length - url.search.length);
      if (meta.issuer.replace(/\/$/, '') !== expected.replace(/\/$/, '') && !meta.issuer.includes('{tenantid}'))
        throw fieldProblem(
          addressField(input),
          `The discovery document at ${url.href} names its issuer ${meta.issuer}, which does not match where it was published (${expected}). Check that this is the upstream you meant.`,
        );
    }
    // The endpoints Gatehouse will call next are held to the same rules, so that a public
    // discovery document cannot point the server at the metadata service or the private network.
    for (const name of ['token_endpoint', 'jwks_uri', 'userinfo_endpoint'] as const) {
      const target = URL.parse(meta[name] ?? '');
      const refusedEndpoint = target && (await this.#deps.outbound.check(target));
      if (refusedEndpoint)
        throw fieldProblem(
          addressField(input),
          `The discovery document at ${url.href} lists its ${name} at ${target.href}. ${refusedProblem(target, refusedEndpoint.message, refusedEndpoint.always)}`,
        );
    }
    if (!meta.authorization_endpoint || !meta.token_endpoint)
      throw fieldProblem(addressField(input), `The upstream at ${url.href} publishes no authorization or token endpoint; it cannot sign users in.`);
    if (!input.scopes.includes('openid')) throw fieldProblem('scopes', 'The scopes must include openid.');
    return {
      type: input.type as UpstreamType,
      clientId: input.clientId,
      discoveryUrl: url.href,
      issuer: meta.issuer,
      scopes: input.scopes,
      domains: [...new Set(input.domains)],
      audience: input.audience,
      loginHint: input.loginHint,
      showButton: input.showButton,
      testUsers: [...new Set(input.testUsers.map(normalizeEmail))],
      claimGate: input.claimGate,
      externalIdClaim: input.externalIdClaim,
      claims: input.claims,
    };
  }

  /**
   * Routing rules a change must keep, checked before it is saved: an email domain goes to one
   * upstream only (409 naming the one that has it), one upstream at most takes everyone, and
   * turning `audience` to 'all' (an upstream for everyone) says how many local accounts with
   * a password it takes over and needs `confirm` (409 confirmation_required with takesOver).
   */
  async checkRouting(tenantId: string, next: { id?: string; settings: UpstreamSettings }, prev: UpstreamSettings | undefined, confirm: boolean): Promise<void> {
    const others = (await this.#deps.upstreamStore.list(tenantId)).filter((u) => u.id !== next.id);
    for (const d of next.settings.domains) {
      const owner = others.find((u) => u.settings.domains.includes(d));
      if (owner) {
        const message = `The domain ${d} is already claimed by the upstream directory "${owner.name}": an email domain signs in through one upstream only. Remove ${d} from "${owner.name}" first, or leave it out here.`;
        throw new GatehouseError(409, 'conflict', message, {
          problems: [{ field: 'domains', in: 'body', message }],
          upstream: { id: owner.id, name: owner.name },
          domain: d,
        });
      }
    }
    if (next.settings.audience !== 'all' || prev?.audience === 'all') return;
    const everyone = others.find((u) => u.settings.audience === 'all');
    if (everyone) {
      const message = `The upstream directory "${everyone.name}" already takes every email no other upstream claims (audience all); only one upstream can. Set "${everyone.name}" to staff first.`;
      throw new GatehouseError(409, 'conflict', message, {
        problems: [{ field: 'audience', in: 'body', message }],
        upstream: { id: everyone.id, name: everyone.name },
      });
    }
    if (confirm) return;
    const claimed = [...new Set([...others, { settings: next.settings }].flatMap((u) => u.settings.domains))];
    const takesOver = await this.#deps.upstreamStore.passwordUsersOutside(tenantId, claimed);
    const message = `With audience "all" this upstream signs in every email no other upstream claims: ${takesOver} local account${takesOver === 1 ? '' : 's'} with a password would sign in through it instead (administrators keep their password as a fallback). Send the same change with "confirm": true to apply it.`;
    throw new GatehouseError(409, 'confirmation_required', message, { takesOver, problems: [{ field: 'audience', in: 'body', message }] });
  }

  /**
   * Check an upstream's discovery now (the hourly background check and the admin's "Test"),
   * through the same discovery as saving, and keep the result for every node's overview.
   */
  async check(up: Upstream): Promise<UpstreamCheck> {
    const checkedAt = Date.now();
    let result: UpstreamCheck;
    try {
      const found = await this.prepare({ ...up.settings, authorityUrl: undefined, entraTenant: undefined });
      result =
        found.issuer === up.settings.issuer
          ? { ok: true, message: null, checkedAt }
          : {
              ok: false,
              checkedAt,
              message: `The discovery document of ${up.name} now names the issuer ${found.issuer}, not ${up.settings.issuer} as when it was saved. Check the upstream, then save its settings again.`,
            };
    } catch (e) {
      if (!(e instanceof GatehouseError)) throw e;
      result = { ok: false, checkedAt, message: e.message };
    }
    const before = (await this.#deps.upstreamStore.checks(up.tenantId)).get(up.id);
    await this.#deps.upstreamStore.saveCheck(up.tenantId, up.id, result);
    if (!result.ok && before?.ok !== false) {
      await this.#deps.auditStore.record({
        tenantId: up.tenantId,
        type: 'federation.discovery_failed',
        level: 'error',
        subject: up.id,
        data: { upstream: up.name, upstreamId: up.id, message: result.message },
      });
    }
    return result;
  }

  /** The background check: every upstream not disabled, in every tenant (the leader runs it hourly). */
  async checkAll(): Promise<{ checked: number; broken: number }> {
    let broken = 0;
    const all = await this.#deps.upstreamStore.allLive();
    for (const up of all) {
      const r = await this.check(up).catch((err: unknown) => {
        this.#deps.logger.warn({ err, upstream: up.id }, 'could not check an upstream directory');
        return undefined;
      });
      if (r && !r.ok) broken++;
    }
    return { checked: all.length, broken };
  }

  /** The redirect URL to register at the upstream. */
  redirectUrl(tenant: Tenant): string {
    return `${this.#deps.config.publicUrl}/t/${tenant.slug}/federation/callback`;
  }

  config(up: Upstream): Promise<OidcClient.Configuration> {
    const key = `${up.id}:${up.version}`;
    const hit = this.#configs.get(up.id);
    if (hit && hit.key === key && hit.until > Date.now()) return hit.config;
    const url = new URL(up.settings.discoveryUrl);
    const secret = up.clientSecretSealed ? this.#deps.sealer.open(up.clientSecretSealed) : undefined;
    // Non-repudiation checks: verify the ID token's signature against the upstream's JWKS,
    // although it came straight from the token endpoint (openid-client skips that by default).
    const config = (async () => {
      const oidc = await lib();
      const o = await options(url, this.#deps.outbound);
      return oidc.discovery(url, up.settings.clientId, undefined, secret ? oidc.ClientSecretPost(secret) : oidc.None(), {
        ...o,
        execute: [...o.execute, oidc.enableNonRepudiationChecks],
      });
    })();
    // A failed discovery is not kept: the next sign-in tries again.
    config.catch(() => {
      if (this.#configs.get(up.id)?.config === config) this.#configs.delete(up.id);
    });
    this.#configs.set(up.id, { until: Date.now() + 3600_000, key, config });
    return config;
  }

  /**
   * Which upstream signs this email in, if any. Test mode routes only its listed test users;
   * an upstream's own domains come before an upstream that takes everyone ('all').
   */
  async route(tenantId: string, email: string): Promise<Upstream | undefined> {
    const e = normalizeEmail(email);
    const d = domainOf(e);
    const live = (await this.#upstreams.get(tenantId)).filter((u) => u.mode !== 'disabled' && (u.mode === 'enabled' || u.settings.testUsers.includes(e)));
    return live.find((u) => u.settings.domains.includes(d)) ?? live.find((u) => u.settings.audience === 'all');
  }

  /** May this user use a local password although `up` routes them? Administrators may (fallback); in Test mode everyone may. */
  passwordAllowed(up: Upstream, user: UserWithSecret | undefined): boolean {
    return up.mode === 'test' || (!!user && user.roles.length > 0 && user.hasPassword);
  }

  /** Upstreams offered as buttons on the sign-in page. */
  async buttons(tenantId: string): Promise<Upstream[]> {
    return (await this.#upstreams.get(tenantId)).filter((u) => u.mode === 'enabled' && u.settings.showButton);
  }

  async authorizationUrl(up: Upstream, t: { state: string; nonce: string; verifier: string; email?: string }, redirectUri: string): Promise<URL> {
    const config = await this.config(up);
    const oidc = await lib();
    return oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: up.settings.scopes.join(' '),
      state: t.state,
      nonce: t.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(t.verifier),
      code_challenge_method: 'S256',
      ...(up.settings.loginHint && t.email && { login_hint: t.email }),
    });
  }

  /** Code exchange and ID token validation (signature, issuer, audience, nonce, expiry). */
  async exchange(up: Upstream, callbackUrl: URL, t: { state: string; nonce: string; verifier: string }) {
    const config = await this.config(up);
    const oidc = await lib();
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: t.verifier,
      expectedState: t.state,
      expectedNonce: t.nonce,
      idTokenExpected: true,
    });
    let claims: Record<string, unknown> = { ...tokens.claims()! };
    const s = up.settings;
    // Names or email left out of the ID token: ask userinfo (only when needed).
    const missing = [s.claims.email, s.claims.givenName, s.claims.familyName, s.claimGate?.claim].some((c) => c && claims[c] === undefined);
    let userinfo = false;
    if (missing && config.serverMetadata().userinfo_endpoint) {
      const info = await oidc.fetchUserInfo(config, tokens.access_token, String(claims.sub));
      claims = { ...info, ...claims };
      userinfo = true;
    }
    return { claims, userinfo };
  }
}

export type FederatedSignIn =
  | { ok: true; user: UserWithSecret; amr: string[]; acr: string }
  | { ok: false; status: number; title: string; message: string; detail: string };

/**
 * From an upstream's verified claims to the local user they sign in as: the claim gate, the
 * link (issuer + subject, or the external ID; an existing account with the same email only
 * when the upstream vouches for that email), a just-in-time account, or a names/email sync.
 */
export async function federatedUser(
  services: Pick<Services, 'auditStore' | 'upstreamStore' | 'userStore'>,
  tenant: Tenant,
  up: Upstream,
  claims: Record<string, unknown>,
  ip: string,
  clientId?: string,
): Promise<FederatedSignIn> {
  // Every event names the application being signed in to (null when it is unknown).
  const audit = (type: string, level: 'info' | 'warn' | 'error', subject: string | null, data: Record<string, unknown>) =>
    services.auditStore.record({
      tenantId: tenant.id,
      type,
      level,
      subject,
      ip,
      clientId: clientId ?? null,
      data: { upstream: up.name, upstreamId: up.id, clientId, ...data },
    });
  const gate = up.settings.claimGate;
  if (gate && !claimHas(claims, gate.claim, gate.value)) {
    await audit('federation.claim_refused', 'warn', String(claims.sub), {
      message: `${String(claims.email ?? claims.sub)} is not authorized by the claim configured for ${up.name}: ${gate.claim} does not contain ${gate.value}.`,
      claim: gate.claim,
      value: gate.value,
    });
    return {
      ok: false,
      status: 403,
      title: msg('federation.notAuthorized.title'),
      message: msg('federation.notAuthorized.message', { upstream: up.name, claim: gate.claim, value: gate.value }),
      detail: msg('federation.notAuthorized.detail'),
    };
  }
  const profile = profileFrom(up, claims);
  const subject = String(claims.sub);
  const ext = up.settings.externalIdClaim ? claims[up.settings.externalIdClaim] : undefined;
  const externalId = typeof ext === 'string' || typeof ext === 'number' ? String(ext) : null;
  let userId = await services.upstreamStore.linkedUser(up.id, subject, externalId);
  if (userId) {
    if (await services.upstreamStore.syncProfile(tenant.id, userId, profile))
      await audit('federation.user_updated', 'info', userId, { message: `Names and email of ${profile.email} updated from ${up.name}.`, email: profile.email });
    // A link found by external ID alone (a new subject): remember the subject too.
    await services.upstreamStore.link(up, { subject, externalId }, profile, userId);
  } else {
    const existing = await services.userStore.userByEmail(tenant.id, profile.email);
    if (existing) {
      if (claims.email_verified !== true || (existing.upstreamId && existing.upstreamId !== up.id)) {
        await audit('federation.link_refused', 'warn', existing.id, {
          message: `${profile.email} signed in through ${up.name}, but an account with that email already exists here and ${up.name} did not confirm the email; the two were not joined.`,
          email: profile.email,
        });
        return {
          ok: false,
          status: 409,
          title: msg('federation.exists.title'),
          message: msg('federation.exists.message', { email: profile.email, upstream: up.name }),
          detail: msg('federation.exists.detail'),
        };
      }
      userId = await services.upstreamStore.link(up, { subject, externalId }, profile, existing.id);
      await services.upstreamStore.syncProfile(tenant.id, userId, profile);
      await audit('federation.user_linked', 'info', userId, {
        message: `${profile.email} linked to ${up.name} (email confirmed by the upstream).`,
        email: profile.email,
      });
    } else {
      userId = await services.upstreamStore.link(up, { subject, externalId }, profile);
      await audit('federation.user_created', 'info', userId, {
        message: `Account ${profile.email} created on first sign-in through ${up.name}.`,
        email: profile.email,
        givenName: profile.givenName,
        familyName: profile.familyName,
      });
    }
  }
  const user = (await services.userStore.userById(tenant.id, userId))!;
  if (user.status !== 'active') {
    await audit('signin.failed', 'warn', user.id, { message: `${user.email} is disabled.`, email: user.email, reason: 'disabled' });
    return { ok: false, status: 403, title: msg('disabled.title'), message: msg('password.disabled'), detail: msg('disabled.message') };
  }
  const mfa = upstreamDidMfa(claims);
  const amr = ['fed', ...(Array.isArray(claims.amr) ? claims.amr.map(String).filter((a) => /^[A-Za-z0-9_-]{1,20}$/.test(a)) : [])];
  await audit('signin.succeeded', 'info', user.id, { message: `${user.email} signed in through ${up.name}.`, email: user.email, method: 'upstream', mfa });
  return { ok: true, user, amr: [...new Set(amr)], acr: mfa ? 'urn:gatehouse:loa:fed-mfa' : 'urn:gatehouse:loa:fed' };
}

/** Does the claim hold the value (a string, or a list containing it)? */
export function claimHas(claims: Record<string, unknown>, claim: string, value: string): boolean {
  const v = claims[claim];
  if (Array.isArray(v)) return v.map(String).includes(value);
  if (typeof v === 'string') return v === value || v.split(/[\s,]+/).includes(value);
  return false;
}

const MFA_AMR = ['mfa', 'otp', 'hwk', 'swk', 'sms', 'fido', 'face', 'fpt', 'iris', 'retina', 'pop', 'sc', 'tel'];

/** Did the upstream say it checked more than a password? (amr per RFC 8176, or an acr naming MFA.) */
export function upstreamDidMfa(claims: Record<string, unknown>): boolean {
  const amr = Array.isArray(claims.amr) ? claims.amr.map(String) : [];
  if (amr.some((a) => MFA_AMR.includes(a))) return true;
  return typeof claims.acr === 'string' && /mfa|2fa|multi|aal[23]|loa[:-]?[23]/i.test(claims.acr);
}

/** The profile an upstream's claims describe, or why it cannot be used. */
export function profileFrom(up: Upstream, claims: Record<string, unknown>): ProfileFromUpstream {
  const c = up.settings.claims;
  const str = (name: string) => (typeof claims[name] === 'string' && (claims[name] as string).trim()) || null;
  const email = str(c.email) ?? (c.email === 'email' ? (str('preferred_username') ?? str('upn')) : null);
  if (!email || !z.email().safeParse(email).success)
    throw new GatehouseError(
      400,
      'upstream_no_email',
      `${up.name} did not send an email address for this account (claim "${c.email}"). Ask your administrator to add the email claim to the ID token.`,
    );
  return { email: normalizeEmail(email), givenName: str(c.givenName), familyName: str(c.familyName) };
}
