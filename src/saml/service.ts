// The SAML identity provider's rules that need the stores: which key signs, what the
// assertion says about a user (NameID, attributes), and which request IDs were seen.
import crypto from 'node:crypto';
import type { KeyService, JWK } from '../keys/keys.ts';
import type { App } from '../storage/apps.ts';
import type { UserStore, UserWithSecret } from '../storage/users.ts';
import type { SamlRequestStore } from '../storage/saml-requests.ts';
import type { Sealer } from '../shared/crypto.ts';
import { accountClaims } from '../oidc/claims.ts';
import { NAMEID_URNS } from './settings.ts';
import { attributeFormat, type AssertionFacts } from './idp.ts';
import type { SigningKey } from './xml.ts';

export interface SamlServiceDeps {
  keyService: KeyService;
  userStore: UserStore;
  samlRequestStore: SamlRequestStore;
  sealer: Sealer;
}

const pemOf = (b64: string) => `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----`;

export class SamlService {
  readonly #deps: SamlServiceDeps;
  constructor(deps: SamlServiceDeps) {
    this.#deps = deps;
  }

  /**
   * The certificates to publish in the metadata: the active RS256 key's and, when the key
   * lifecycle has one, the next key's (announced before it signs). Public keys only: nothing
   * is unsealed to serve metadata. Read through KeyService's public methods: it owns the lifecycle.
   */
  async publishedCertificates(tenantId: string): Promise<string[]> {
    const { active, next } = await this.#rs256(tenantId, (id) => this.#deps.keyService.publicJwks(id));
    return [active, ...next].map((k) => pemOf(k.x5c[0]!));
  }

  /** The tenant's RS256 key that signs now (its private key as PEM, converted once per key). */
  async signingKey(tenantId: string): Promise<SigningKey> {
    const { active } = await this.#rs256(tenantId, (id) => this.#deps.keyService.jwksForEngine(id));
    let privateKeyPem = this.#pems.get(active.kid);
    if (!privateKeyPem) {
      privateKeyPem = crypto
        .createPrivateKey({ key: active as crypto.JsonWebKey, format: 'jwk' })
        .export({ type: 'pkcs8', format: 'pem' })
        .toString();
      // A kid names one key for good, so its PEM never goes stale; retired keys leave with the process.
      this.#pems.set(active.kid, privateKeyPem);
    }
    return { privateKeyPem, certificatePem: pemOf(active.x5c[0]!) };
  }

  readonly #pems = new Map<string, string>();

  async #rs256(tenantId: string, jwks: (tenantId: string) => Promise<{ keys: JWK[] }>): Promise<{ active: JWK; next: JWK[] }> {
    const status = new Map((await this.#deps.keyService.list(tenantId)).map((k) => [k.kid, k.status]));
    const keys = (await jwks(tenantId)).keys.filter((k) => k.alg === 'RS256' && k.x5c?.length);
    const active = keys.find((k) => status.get(k.kid) === 'active');
    if (!active) throw new Error(`tenant ${tenantId} has no active RS256 signing key`);
    return { active, next: keys.filter((k) => status.get(k.kid) === 'next') };
  }

  /** A persistent NameID: stable for this user and SP, opaque, and different at every SP (so SPs cannot correlate users). */
  persistentId(app: App, userId: string): string {
    return crypto
      .createHmac('sha256', this.#deps.sealer.derive(`saml-nameid/${app.tenantId}`))
      .update(`${app.saml!.entityId}\n${userId}`)
      .digest('base64url');
  }

  /** What the assertion says about this user: the NameID and the attribute statement, from the same sources OIDC claims use. */
  /** A transient NameID: opaque, one per sign-in session and SP (derived from the engine's per-app sid, so Single Logout can name it again). */
  transientId(app: App, sid: string): string {
    return `_${crypto
      .createHmac('sha256', this.#deps.sealer.derive(`saml-transient/${app.tenantId}`))
      .update(`${app.clientId}\n${sid}`)
      .digest('hex')
      .slice(0, 40)}`;
  }

  /** The NameID the SP knows this user by (for a LogoutRequest): the same rule as at sign-in. */
  async nameIdFor(app: App, user: UserWithSecret, sid: string): Promise<{ nameId: string; format: string }> {
    const f = await this.facts(app, user, { authnInstant: 0, classRef: '', sessionIndex: '', sid });
    return { nameId: f.nameId, format: f.nameIdFormat };
  }

  async facts(app: App, user: UserWithSecret, o: { authnInstant: number; classRef: string; sessionIndex: string; sid: string }): Promise<AssertionFacts> {
    const s = app.saml!;
    // The claim machinery of OIDC apps, fed SAML's sources: one rule for both protocols.
    const custom = [
      { name: '_nameid', attribute: s.nameIdAttribute },
      ...s.attributes.map((a, i) => ({ name: `_a${i}`, ...(a.attribute !== undefined ? { attribute: a.attribute } : { value: a.value }) })),
    ];
    const claims = await accountClaims(this.#deps, user, 'openid', custom);
    const values = (v: unknown): string[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
    let nameId: string;
    if (s.nameIdFormat === 'persistent') nameId = this.persistentId(app, user.id);
    else if (s.nameIdFormat === 'transient') nameId = this.transientId(app, o.sid);
    else nameId = values(claims._nameid)[0] ?? user.email;
    return {
      nameId,
      nameIdFormat: NAMEID_URNS[s.nameIdFormat],
      attributes: s.attributes
        .map((a, i) => ({ name: a.name, friendlyName: a.friendlyName, format: attributeFormat(a.format), values: values(claims[`_a${i}`]) }))
        .filter((a) => a.values.length),
      authnInstant: o.authnInstant,
      classRef: o.classRef,
      sessionIndex: o.sessionIndex,
    };
  }

  purgeSeen(): Promise<number> {
    return this.#deps.samlRequestStore.purgeExpired();
  }

  firstUse(tenantId: string, sp: string, requestId: string, expiresAt: number) {
    return this.#deps.samlRequestStore.firstUse(tenantId, sp, requestId, expiresAt);
  }
}
