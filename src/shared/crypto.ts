// Instance secret, encryption at rest, and small constant-time helpers.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Resolve the instance secret: GATEHOUSE_SECRET, or a generated key file (mode 0600) in the data dir. */
export function resolveSecret(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'secret.key');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const secret = crypto.randomBytes(48).toString('base64url');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}

/** AES-256-GCM sealing of secrets (private keys, client secrets) under a key derived from the instance secret. */
export class Sealer {
  readonly #key: Buffer;
  readonly #keyObject: crypto.KeyObject; // built once: making a key object per call is costly
  // Opened values by sealed text. A sealed value always opens to the same plaintext, so this
  // needs no invalidation; it saves a decryption per client authentication.
  readonly #opened = new Map<string, string>();
  constructor(secret: string) {
    this.#key = Buffer.from(crypto.hkdfSync('sha256', secret, 'gatehouse', 'seal/v1', 32));
    this.#keyObject = crypto.createSecretKey(this.#key);
  }
  seal(plain: string): string {
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', this.#keyObject, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return `v1.${iv.toString('base64url')}.${body.toString('base64url')}.${c.getAuthTag().toString('base64url')}`;
  }
  open(sealed: string): string {
    const cached = this.#opened.get(sealed);
    if (cached !== undefined) return cached;
    const plain = this.openUncached(sealed);
    if (this.#opened.size >= 10_000) this.#opened.clear();
    this.#opened.set(sealed, plain);
    return plain;
  }
  /** For values opened once (a cookie of one sign-in): kept out of the cache of stored secrets. */
  openUncached(sealed: string): string {
    const [v, iv, body, tag] = sealed.split('.');
    if (v !== 'v1' || !iv || !body || tag === undefined) throw new Error('sealed value has an unknown format');
    const d = crypto.createDecipheriv('aes-256-gcm', this.#keyObject, Buffer.from(iv, 'base64url'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8');
  }
  /** A keyed MAC for values that must be checked but not stored in the clear (CSRF tokens). */
  mac(value: string): string {
    return crypto.createHmac('sha256', this.#keyObject).update(value).digest('base64url');
  }
  /** Derive a named sub-key (cookie keys and similar). */
  derive(name: string): string {
    return Buffer.from(crypto.hkdfSync('sha256', this.#key, 'gatehouse', name, 32)).toString('base64url');
  }
}

/**
 * Signs and checks cookie values for the engine, in place of the Keygrip its cookie library
 * would build from plain keys: the same signatures (HMAC-SHA1, base64url, so cookies issued
 * before stay valid), checked with one HMAC and a constant-time comparison. Keygrip's
 * comparison computes two more HMACs under a fresh Buffer key, a slow path in Node's crypto,
 * and was a tenth of the CPU of a silent sign-in.
 */
export class CookieKeys {
  readonly #keys: crypto.KeyObject[];
  constructor(keys: string[]) {
    if (!keys.length) throw new Error('CookieKeys needs at least one key');
    this.#keys = keys.map((k) => crypto.createSecretKey(Buffer.from(k, 'utf8')));
  }
  #sign(data: string, key: crypto.KeyObject): string {
    return crypto.createHmac('sha1', key).update(data).digest('base64url');
  }
  sign(data: string): string { return this.#sign(data, this.#keys[0]!); }
  index(data: string, digest: string): number {
    if (typeof digest !== 'string') return -1;
    for (let i = 0; i < this.#keys.length; i++) if (safeEqual(digest, this.#sign(data, this.#keys[i]!))) return i;
    return -1;
  }
  verify(data: string, digest: string): boolean { return this.index(data, digest) > -1; }
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && crypto.timingSafeEqual(ab, bb);
}

export const newId = (prefix = ''): string => prefix + crypto.randomBytes(16).toString('base64url');
export const randomSecret = (): string => crypto.randomBytes(32).toString('base64url');

/**
 * Keyed hashes (HMAC-SHA-256) of bearer values kept at rest: engine tokens, codes and session
 * ids, setup links, recovery and provisioning codes. Look-ups hash the presented value, so a
 * copy of the database (or a backup) holds nothing anyone can present.
 *
 * The key is NOT derived from the instance secret: it is 32 random bytes made at first start
 * and kept in `instance_settings` sealed under the instance secret. Rotating the secret
 * (`gatehouse secret rotate`) re-seals this key like every other sealed value, so every hash
 * (and every artifact sealed with `sealArtifact`) stays valid across a rotation; a key derived
 * from the secret would change with it and void every live token and code at once.
 */
export class TokenHasher {
  /** The instance_settings name the sealed key is kept under. */
  static readonly SETTING = 'token_hash_key';
  readonly #mac: crypto.KeyObject;
  // Engine payloads that must come back whole (a session found by its uid needs its id back)
  // are encrypted under a second key derived from the same random key.
  readonly #artifacts: Sealer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('TokenHasher needs a 32-byte key');
    this.#mac = crypto.createSecretKey(Buffer.from(crypto.hkdfSync('sha256', key, 'gatehouse', 'token-hash/v1', 32)));
    this.#artifacts = new Sealer(Buffer.from(crypto.hkdfSync('sha256', key, 'gatehouse', 'artifact-seal/v1', 32)).toString('base64url'));
  }

  /**
   * The key every node shares: made and stored (sealed) by the first node to start, read by
   * the others. A key that does not open under this instance secret stops the start: tokens
   * could no longer be checked, and making a new key would void them all silently.
   */
  static async load(settings: { get(name: string): Promise<string | undefined>; setIfAbsent(name: string, value: string): Promise<string> }, sealer: Sealer): Promise<TokenHasher> {
    const sealed = (await settings.get(TokenHasher.SETTING))
      ?? await settings.setIfAbsent(TokenHasher.SETTING, sealer.seal(crypto.randomBytes(32).toString('base64url')));
    let key: Buffer;
    try {
      key = Buffer.from(sealer.openUncached(sealed), 'base64url');
    } catch {
      throw new Error('The token-hashing key in the database does not open with this instance secret: GATEHOUSE_SECRET (or secret.key in the data directory) is not the one this database was set up with. Start with the original secret (or rotate it with `gatehouse secret rotate`, which re-seals the key).');
    }
    return new TokenHasher(key);
  }

  /** base64url HMAC-SHA-256 of the value; `purpose` keeps hashes of different kinds apart. */
  hash(value: string, purpose = ''): string {
    return crypto.createHmac('sha256', this.#mac).update(purpose ? `${purpose}:${value}` : value).digest('base64url');
  }

  sealArtifact(plain: string): string { return this.#artifacts.seal(plain); }
  openArtifact(sealed: string): string { return this.#artifacts.openUncached(sealed); }
}
