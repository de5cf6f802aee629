// Per-tenant signing keys for the OIDC engine. Each tenant has, per algorithm, one `active`
// key that signs, one `next` key that is already published in the JWKS but does not sign yet,
// and `retired` keys that no longer sign but stay published while tokens they signed may
// still be verified. Rotation promotes `next` to `active`, so a relying party that caches
// the JWKS already knows the key that starts signing.
import crypto from 'node:crypto';
import type { SigningKeysTable } from '../storage/schema.ts';
import type { SigningKeyRow, SigningKeyStore } from '../storage/signing-keys.ts';
import type { TenantStore } from '../storage/tenants.ts';
import type { Sealer } from '../shared/crypto.ts';
import { newId } from '../shared/crypto.ts';
import { notFound } from '../shared/errors.ts';

export type SigningAlg = 'RS256' | 'ES256';
export type KeyStatus = SigningKeysTable['status'];
export const SIGNING_ALGS: readonly SigningAlg[] = ['RS256', 'ES256'];

/** A JSON Web Key as stored and handed to oidc-provider (public or private parameters). */
export interface JWK {
  kty: string;
  kid: string;
  alg: SigningAlg;
  use: 'sig';
  x5c: string[];
  'x5t#S256': string;
  [param: string]: unknown;
}

export interface KeyInfo {
  kid: string;
  tenantId: string;
  alg: SigningAlg;
  status: KeyStatus;
  notAfter: number;
  createdAt: number;
  activatedAt: number | null;
  retiredAt: number | null;
  /** The certificate expires within 60 days: rotate (the next key has a fresh certificate). */
  expiresSoon: boolean;
}

export interface RotateResult { activated: string[]; retired: string[]; created: string[] }

const DAY = 24 * 60 * 60 * 1000;

/**
 * How long a retired key stays published (and is kept) after it stopped signing. Tokens it
 * signed — ID tokens, JWT access tokens, logout tokens — are verified against our JWKS until
 * they expire, so the grace must exceed the longest lifetime of such a token; 24 h is above
 * every signed-token lifetime we issue by default. (Refresh tokens are opaque, not signed.)
 * Pass a longer grace if token lifetimes are configured beyond it.
 */
export const DEFAULT_RETIRED_GRACE_MS = DAY;
export const EXPIRY_WARNING_DAYS = 60;
const CERT_VALIDITY_YEARS = 2;

// WebCrypto parameters for each JWS algorithm. Generation runs on libuv's thread pool, so
// the slow part (RSA prime search) does not block the event loop.
const KEYGEN: Record<SigningAlg, RsaHashedKeyGenParams | EcKeyGenParams> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
};
const CERT_SIGNING: Record<SigningAlg, Algorithm | EcdsaParams> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5' },
  ES256: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
};
// Parameters that are private key material, per key type; everything else is public.
const PRIVATE_PARAMS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth']);

type Row = SigningKeyRow;

// Certificate generation is rare (first start, rotation), so the X.509 library loads on
// first use and stays out of the idle footprint.
let x509Module: Promise<typeof import('@peculiar/x509')> | undefined;
const loadX509 = () => (x509Module ??= import('reflect-metadata').then(() => import('@peculiar/x509')));

export class KeyService {
  readonly #keyStore: SigningKeyStore;
  readonly #tenantStore: TenantStore;
  readonly #sealer: Sealer;
  readonly #now: () => number;

  constructor(deps: { keyStore: SigningKeyStore; tenantStore: TenantStore; sealer: Sealer; now?: () => number }) {
    this.#keyStore = deps.keyStore;
    this.#tenantStore = deps.tenantStore;
    this.#sealer = deps.sealer;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * Give the tenant an active and a next key per algorithm, at its first start. Idempotent,
   * and safe when several processes start the same tenant at once. If a tenant somehow has an
   * active key but no next key, the next key is added so that rotation stays possible.
   */
  async ensureKeys(tenantId: string): Promise<void> {
    const missing = (rows: Row[], alg: SigningAlg) => ({
      active: !rows.some((r) => r.alg === alg && r.status === 'active'),
      next: !rows.some((r) => r.alg === alg && r.status === 'next'),
    });
    const current = await this.#keyStore.rows(tenantId, ['active', 'next']);
    const todo = SIGNING_ALGS.filter((alg) => { const m = missing(current, alg); return m.active || m.next; });
    if (todo.length === 0) return;

    // Generate outside the transaction: it is the slow part, and holding the tenant lock
    // (or SQLite's single writer) during it would stall everyone else.
    const org = await this.#tenantName(tenantId);
    const fresh = await Promise.all(todo.map(async (alg) => {
      const [active, next] = await Promise.all([this.#generate(tenantId, org, alg, 'active'), this.#generate(tenantId, org, alg, 'next')]);
      return { alg, active, next };
    }));

    await this.#keyStore.changeUnderLock(tenantId, async (change) => {
      // Re-check under the lock: another process may have won the race; its keys stand
      // and ours are discarded, so there is exactly one active key per algorithm.
      const rows = await change.rows(tenantId, ['active', 'next']);
      for (const f of fresh) {
        const m = missing(rows, f.alg);
        if (m.active) await change.insert(f.active);
        if (m.next) await change.insert(f.next);
      }
    });
  }

  /**
   * Private JWKs for oidc-provider's `jwks` configuration. oidc-provider signs with the first
   * key that fits the algorithm, so the order is the contract: active, then next (published,
   * not yet signing), then retired keys still within their grace period (verification only).
   */
  async jwksForEngine(tenantId: string, graceMs = DEFAULT_RETIRED_GRACE_MS): Promise<{ keys: JWK[] }> {
    const rows = await this.#published(tenantId, graceMs);
    return {
      keys: rows.map((r) => ({ ...JSON.parse(this.#sealer.open(r.private_sealed)), ...JSON.parse(r.public_jwk) }) as JWK),
    };
  }

  /** The public JWKs, in the same order as jwksForEngine. */
  async publicJwks(tenantId: string, graceMs = DEFAULT_RETIRED_GRACE_MS): Promise<{ keys: JWK[] }> {
    const rows = await this.#published(tenantId, graceMs);
    return { keys: rows.map((r) => JSON.parse(r.public_jwk) as JWK) };
  }

  /**
   * Rotate one algorithm, or all: next → active, active → retired, and a new next key.
   * The key that starts signing has been published since the previous rotation. Each call
   * rotates once; callers schedule rotation on one node so that calls do not pile up.
   */
  async rotate(tenantId: string, alg?: SigningAlg): Promise<RotateResult> {
    const algs = alg ? [alg] : SIGNING_ALGS;
    const org = await this.#tenantName(tenantId);
    const fresh = await Promise.all(algs.map((a) => this.#generate(tenantId, org, a, 'next')));
    const result: RotateResult = { activated: [], retired: [], created: [] };

    await this.#keyStore.changeUnderLock(tenantId, async (change) => {
      const rows = await change.rows(tenantId, ['active', 'next']);
      const now = this.#now();
      for (const next of fresh) {
        const a = next.alg;
        const promote = rows.find((r) => r.alg === a && r.status === 'next');
        // Activating a key nobody has seen would break relying parties with a cached JWKS.
        if (!promote) throw new Error(`Tenant ${tenantId} has no published next ${a} key to activate. Run ensureKeys first.`);
        const retire = rows.filter((r) => r.alg === a && r.status === 'active').map((r) => r.kid);
        await change.retire(retire, now);
        await change.activate(promote.kid, now);
        await change.insert(next);
        result.activated.push(promote.kid);
        result.retired.push(...retire);
        result.created.push(next.kid);
      }
    });
    return result;
  }

  /** Delete retired keys past their grace period (see DEFAULT_RETIRED_GRACE_MS). Returns how many. */
  async purgeRetired(tenantId?: string, graceMs = DEFAULT_RETIRED_GRACE_MS): Promise<number> {
    return this.#keyStore.purgeRetiredBefore(this.#now() - graceMs, tenantId);
  }

  /** All of a tenant's keys, signing order first (active, next, retired). */
  async list(tenantId: string): Promise<KeyInfo[]> {
    const rows = await this.#keyStore.rows(tenantId, ['active', 'next', 'retired']);
    return rows.sort(byStatus).map((r) => this.#info(r, EXPIRY_WARNING_DAYS));
  }

  /**
   * Keys still in use (active or next) whose certificate expires within `withinDays`, for one
   * tenant or all. The caller records an audit warning; rotating replaces them.
   */
  async expiringSoon(tenantId?: string, withinDays = EXPIRY_WARNING_DAYS): Promise<KeyInfo[]> {
    const rows = await this.#keyStore.expiringBy(this.#now() + withinDays * DAY, tenantId);
    return rows.map((r) => this.#info(r, withinDays));
  }

  #info(r: Row, withinDays: number): KeyInfo {
    return {
      kid: r.kid,
      tenantId: r.tenant_id,
      alg: r.alg,
      status: r.status,
      notAfter: r.not_after,
      createdAt: r.created_at,
      activatedAt: r.activated_at,
      retiredAt: r.retired_at,
      expiresSoon: r.not_after <= this.#now() + withinDays * DAY,
    };
  }

  async #published(tenantId: string, graceMs: number): Promise<Row[]> {
    const cutoff = this.#now() - graceMs;
    const rows = await this.#keyStore.rows(tenantId, ['active', 'next', 'retired']);
    return rows.filter((r) => r.status !== 'retired' || (r.retired_at ?? 0) >= cutoff).sort(byStatus);
  }

  async #tenantName(tenantId: string): Promise<string> {
    const t = await this.#tenantStore.byId(tenantId);
    if (!t) throw notFound(`Tenant "${tenantId}"`);
    return t.slug || tenantId;
  }

  /** A new key pair with its self-signed certificate, as a row ready to insert. */
  async #generate(tenantId: string, org: string, alg: SigningAlg, status: KeyStatus): Promise<Row> {
    const { subtle } = crypto.webcrypto;
    const kid = newId();
    const keys = await subtle.generateKey(KEYGEN[alg], true, ['sign', 'verify']) as CryptoKeyPair;

    // The certificate lets relying parties that want x5c (some SAML-minded or pinning
    // clients) use it; it is self-signed because trust comes from our JWKS over TLS.
    const now = this.#now();
    const notAfter = new Date(now);
    notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CERT_VALIDITY_YEARS);
    const x509 = await loadX509();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: [{ CN: [`Gatehouse signing key ${kid}`] }, { O: [org] }],
      notBefore: new Date(now),
      notAfter,
      keys,
      signingAlgorithm: CERT_SIGNING[alg],
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ],
    }, crypto.webcrypto as Crypto);
    const der = Buffer.from(cert.rawData);

    // WebCrypto adds `ext` and `key_ops`; drop them so the JWKs carry only what JOSE needs.
    const { ext: _e, key_ops: _k, ...privateJwk } = await subtle.exportKey('jwk', keys.privateKey);
    const publicJwk: JWK = {
      ...Object.fromEntries(Object.entries(privateJwk).filter(([k]) => !PRIVATE_PARAMS.has(k))),
      kty: privateJwk.kty!,
      kid,
      alg,
      use: 'sig',
      x5c: [der.toString('base64')],
      'x5t#S256': crypto.createHash('sha256').update(der).digest('base64url'),
    };
    return {
      kid,
      tenant_id: tenantId,
      alg,
      status,
      private_sealed: this.#sealer.seal(JSON.stringify({ ...privateJwk, kid, alg, use: 'sig' })),
      public_jwk: JSON.stringify(publicJwk),
      cert_pem: cert.toString('pem'),
      // X.509 times have second precision; store what the certificate actually says.
      not_after: cert.notAfter.getTime(),
      created_at: now,
      activated_at: status === 'active' ? now : null,
      retired_at: null,
    };
  }
}

const STATUS_ORDER: Record<KeyStatus, number> = { active: 0, next: 1, retired: 2 };
// Array.prototype.sort is stable, so the alg/created_at order from the query is kept within a status.
const byStatus = (a: Row, b: Row) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status];
