// Per-tenant signing keys for the OIDC engine. Each tenant has, per algorithm, one `active`
// key that signs, one `next` key that is already published in the JWKS but does not sign yet,
// and `retired` keys that no longer sign but stay published while tokens they signed may
// still be verified. Rotation promotes `next` to `active`, so a relying party that caches
// the JWKS already knows the key that starts signing.
//
// The lifecycle (docs/operations.md, "Signing keys"): every key's certificate is valid two years
// from the key's own creation. A next key is published at least `publishDays` (7) before it
// signs; the scheduled work (maintain, on the leader and at start) rotates `rotateBeforeDays`
// (90) before the active certificate expires, so the 60-day warning never fires in normal
// operation. A next key too old to be worth activating (created with the active one, so it
// would expire with it) is replaced in time by a fresh one, which again waits `publishDays`.
import crypto from 'node:crypto';
import type { SigningKeysTable } from '../storage/schema.ts';
import type { SigningKeyRow, SigningKeyStore } from '../storage/signing-keys.ts';
import type { TenantStore } from '../storage/tenants.ts';
import type { Sealer } from '../shared/crypto.ts';
import { newId } from '../shared/crypto.ts';
import { conflict, notFound } from '../shared/errors.ts';

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
  /** When it first appeared in the JWKS. */
  publishedAt: number;
  /** Active and retired: when it started signing; next: when it will (scheduled, or asked for by `keys rotate`). */
  activatesAt: number | null;
  activatedAt: number | null;
  retiredAt: number | null;
  /** The certificate expires within 60 days: rotate (the next key has a fresh certificate). */
  expiresSoon: boolean;
}

export interface RotateResult {
  /** Keys that started signing, the keys they replaced, and new next keys published. */
  activated: string[];
  retired: string[];
  created: string[];
  /** Next keys deleted unused: too old to be worth activating (replaced by a fresh one in `created`). */
  removed: string[];
  /** Next keys that will start signing later (a fresh key waits until it has been published long enough). */
  scheduled: Array<{ kid: string; alg: SigningAlg; activatesAt: number }>;
}

/** When keys change on their own: how long a next key is published before it signs, and when rotation is due. */
export interface KeyPolicy {
  /** Days a next key is published in the JWKS before it may start signing. */
  publishDays: number;
  /** Days before the active certificate expires that rotation happens by itself. */
  rotateBeforeDays: number;
}
export const DEFAULT_KEY_POLICY: KeyPolicy = { publishDays: 7, rotateBeforeDays: 90 };
export const KEY_POLICY_LIMITS = { publishDays: { min: 1, max: 30 }, rotateBeforeDays: { min: 61, max: 365 } } as const;

/** How `rotate` proceeds: as soon as it is safe (default), now, or now even with a key published too recently. */
export type RotateMode = 'safe' | 'now' | 'force';

const DAY = 24 * 60 * 60 * 1000;
/**
 * A next key that would itself be due for rotation less than this long after it starts
 * signing is not worth activating: it is replaced by a fresh one (which then waits its
 * publication period). This is what keeps the first next key, created with the active one
 * and expiring with it, from being rotated in only to need rotating again at once.
 */
const MIN_SIGNING_SPAN = 30 * DAY;

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
  readonly #publishMs: number;
  readonly #rotateBeforeMs: number;

  constructor(deps: KeyServiceDeps) {
    this.#keyStore = deps.keyStore;
    this.#tenantStore = deps.tenantStore;
    this.#sealer = deps.sealer;
    this.#now = deps.now ?? Date.now;
    const policy = { ...DEFAULT_KEY_POLICY, ...deps.policy };
    this.#publishMs = policy.publishDays * DAY;
    this.#rotateBeforeMs = policy.rotateBeforeDays * DAY;
  }

  /** The clock key decisions use (injectable, so tests can move it). */
  now(): number {
    return this.#now();
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
    const todo = SIGNING_ALGS.filter((alg) => {
      const m = missing(current, alg);
      return m.active || m.next;
    });
    if (todo.length === 0) return;

    // Generate outside the transaction: it is the slow part, and holding the tenant lock
    // (or SQLite's single writer) during it would stall everyone else.
    const org = await this.#tenantName(tenantId);
    const fresh = await Promise.all(
      todo.map(async (alg) => {
        const [active, next] = await Promise.all([this.#generate(tenantId, org, alg, 'active'), this.#generate(tenantId, org, alg, 'next')]);
        return { alg, active, next };
      }),
    );

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
   * The scheduled key work for one tenant: keys exist, a next key too old to be worth
   * activating is replaced by a fresh one in time, and a next key whose time has come starts
   * signing. Idempotent; each change re-checks the keys under the tenant's lock, so two
   * nodes running it at once do one change.
   */
  async maintain(tenantId: string): Promise<RotateResult> {
    await this.ensureKeys(tenantId);
    const result = emptyResult();
    for (const alg of SIGNING_ALGS) merge(result, await this.#step(tenantId, alg, 'auto'));
    return result;
  }

  /**
   * `keys rotate`, one algorithm or both. 'safe': the next key starts signing now if it has
   * been published long enough (and is fresh), else as soon as it has (a too old next key is
   * replaced by a fresh one first). 'now': at once, refused (409) if the key that would sign
   * was published less than `publishDays` ago; 'force': at once regardless.
   */
  async rotate(tenantId: string, alg?: SigningAlg, mode: RotateMode = 'safe'): Promise<RotateResult> {
    await this.ensureKeys(tenantId);
    const algs = alg ? [alg] : SIGNING_ALGS;
    if (mode === 'now') {
      // Check every algorithm before changing any, so a refusal changes nothing.
      const rows = await this.#keyStore.rows(tenantId, ['next']);
      const now = this.#now();
      for (const a of algs) {
        const next = rows.find((r) => r.alg === a)!;
        if (next.published_at + this.#publishMs > now) throw this.#tooRecent(next, now);
      }
    }
    const result = emptyResult();
    for (const a of algs) merge(result, await this.#step(tenantId, a, mode));
    return result;
  }

  /** When a next key starts signing: asked for or due, and never before it has been published long enough. */
  #activatesAt(next: Row, active: Row | undefined): number {
    const due = active ? active.not_after - this.#rotateBeforeMs : next.published_at;
    return Math.max(next.published_at + this.#publishMs, Math.min(next.activates_at ?? Infinity, due));
  }

  /** A next key that would itself be due for rotation within MIN_SIGNING_SPAN of starting to sign. */
  #stale(next: Row, activatesAt: number): boolean {
    return next.not_after - this.#rotateBeforeMs - activatesAt < MIN_SIGNING_SPAN;
  }

  #tooRecent(next: Row, now: number) {
    const hours = Math.floor((now - next.published_at) / 3600_000);
    const safeAt = new Date(next.published_at + this.#publishMs).toISOString();
    return conflict(
      `The next ${next.alg} key ${next.kid} was published only ${hours < 48 ? `${hours} hours` : `${Math.floor(hours / 24)} days`} ago, ` +
        `less than the ${this.#publishMs / DAY} days relying parties may cache the JWKS: they would reject tokens it signs. ` +
        `Run \`gatehouse keys rotate\` without --now to have it start signing by itself at ${safeAt}, or add --force (API: "force": true) to sign with it now anyway.`,
    );
  }

  /** One algorithm's step under the tenant lock; the fresh key it may need is made outside the lock. */
  async #step(tenantId: string, alg: SigningAlg, mode: 'auto' | RotateMode): Promise<RotateResult> {
    const result = emptyResult();
    let fresh: Row | undefined;
    // At most three passes: a fresh key is generated outside the lock when a pass finds it needs one.
    for (let pass = 0; pass < 3; pass++) {
      const needed = await this.#keyStore.changeUnderLock(tenantId, async (change) => {
        const rows = await change.rows(tenantId, ['active', 'next']);
        const active = rows.find((r) => r.alg === alg && r.status === 'active');
        const next = rows.find((r) => r.alg === alg && r.status === 'next');
        if (!active || !next) throw new Error(`Tenant ${tenantId} has no active or next ${alg} key. Run ensureKeys first.`);
        const now = this.#now();
        if (mode === 'safe' && next.activates_at === null) {
          await change.schedule(next.kid, now);
          next.activates_at = now;
        }
        const immediate = mode === 'now' || mode === 'force';
        if (immediate && mode === 'now' && next.published_at + this.#publishMs > now) throw this.#tooRecent(next, now);
        const at = immediate ? now : this.#activatesAt(next, active);

        if (!immediate && this.#stale(next, at) && now >= at - this.#publishMs) {
          // Replace it: it never signed, so nothing needs it. A request to rotate carries over.
          if (!fresh) return true;
          await change.remove(next.kid);
          await change.insert({ ...fresh, activates_at: next.activates_at });
          result.removed.push(next.kid);
          result.created.push(fresh.kid);
          fresh = undefined;
          const replaced = (await change.rows(tenantId, ['next'])).find((r) => r.kid === result.created.at(-1))!;
          result.scheduled.push({ kid: replaced.kid, alg, activatesAt: this.#activatesAt(replaced, active) });
          return false;
        }
        if (now < at) {
          if (mode === 'safe') result.scheduled.push({ kid: next.kid, alg, activatesAt: at });
          return false;
        }
        if (!fresh) return true;
        await change.retire([active.kid], now);
        await change.activate(next.kid, now);
        await change.insert(fresh);
        result.activated.push(next.kid);
        result.retired.push(active.kid);
        result.created.push(fresh.kid);
        fresh = undefined;
        return false;
      });
      if (!needed) return result;
      fresh = await this.#generate(tenantId, await this.#tenantName(tenantId), alg, 'next');
    }
    throw new Error(`Rotating the ${alg} keys of tenant ${tenantId} kept finding them changed by another node; it will be retried.`);
  }

  /** Delete retired keys past their grace period (see DEFAULT_RETIRED_GRACE_MS). Returns how many. */
  async purgeRetired(tenantId?: string, graceMs = DEFAULT_RETIRED_GRACE_MS): Promise<number> {
    return this.#keyStore.purgeRetiredBefore(this.#now() - graceMs, tenantId);
  }

  /** All of a tenant's keys, signing order first (active, next, retired). */
  async list(tenantId: string): Promise<KeyInfo[]> {
    const rows = await this.#keyStore.rows(tenantId, ['active', 'next', 'retired']);
    const active = new Map(rows.filter((r) => r.status === 'active').map((r) => [r.alg, r]));
    return rows.sort(byStatus).map((r) => this.#info(r, EXPIRY_WARNING_DAYS, r.status === 'next' ? this.#activatesAt(r, active.get(r.alg)) : r.activated_at));
  }

  /** Every tenant's active keys (the certificate expiry gauge). */
  async activeKeys(): Promise<KeyInfo[]> {
    return (await this.#keyStore.active()).map((r) => this.#info(r, EXPIRY_WARNING_DAYS, r.activated_at));
  }

  /** The tenants with keys, for the scheduled work. */
  tenantIds(): Promise<string[]> {
    return this.#keyStore.tenantIds();
  }

  /**
   * Active keys whose certificate expires within `withinDays`, for one tenant or all: the
   * alert clears as soon as the key that signs is not within it. The caller records an audit
   * warning; rotating replaces them.
   */
  async expiringSoon(tenantId?: string, withinDays = EXPIRY_WARNING_DAYS): Promise<KeyInfo[]> {
    const rows = await this.#keyStore.expiringBy(this.#now() + withinDays * DAY, tenantId);
    return rows.map((r) => this.#info(r, withinDays, r.activated_at));
  }

  #info(r: Row, withinDays: number, activatesAt: number | null): KeyInfo {
    return {
      kid: r.kid,
      tenantId: r.tenant_id,
      alg: r.alg,
      status: r.status,
      notAfter: r.not_after,
      createdAt: r.created_at,
      publishedAt: r.published_at,
      activatesAt,
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
    const keys = (await subtle.generateKey(KEYGEN[alg], true, ['sign', 'verify'])) as CryptoKeyPair;

    // The certificate lets relying parties that want x5c (some SAML-minded or pinning
    // clients) use it; it is self-signed because trust comes from our JWKS over TLS.
    const now = this.#now();
    const notAfter = new Date(now);
    notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CERT_VALIDITY_YEARS);
    const x509 = await loadX509();
    const cert = await x509.X509CertificateGenerator.createSelfSigned(
      {
        name: [{ CN: [`Gatehouse signing key ${kid}`] }, { O: [org] }],
        notBefore: new Date(now),
        notAfter,
        keys,
        signingAlgorithm: CERT_SIGNING[alg],
        extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
      },
      crypto.webcrypto as Crypto,
    );
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
      published_at: now,
      activates_at: null,
    };
  }
}

export interface KeyServiceDeps {
  keyStore: SigningKeyStore;
  tenantStore: TenantStore;
  sealer: Sealer;
  /** The clock for every key decision (default Date.now). */
  now?: () => number;
  policy?: Partial<KeyPolicy>;
}

const emptyResult = (): RotateResult => ({ activated: [], retired: [], created: [], removed: [], scheduled: [] });
function merge(into: RotateResult, from: RotateResult): void {
  into.activated.push(...from.activated);
  into.retired.push(...from.retired);
  into.created.push(...from.created);
  into.removed.push(...from.removed);
  into.scheduled.push(...from.scheduled);
}
/** Whether a step changed what the JWKS publishes or which key signs. */
export const changedKeys = (r: RotateResult) => r.activated.length + r.created.length + r.removed.length > 0;

const STATUS_ORDER: Record<KeyStatus, number> = { active: 0, next: 1, retired: 2 };
// Array.prototype.sort is stable, so the alg/created_at order from the query is kept within a status.
const byStatus = (a: Row, b: Row) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status];
