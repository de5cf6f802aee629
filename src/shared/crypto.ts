// Instance secret, encryption at rest, and small constant-time helpers.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StartupRefusal } from './errors.ts';

/** Where the instance secrets come from, the one to seal with first (see keys/instance-secret.ts). */
export interface ResolvedSecrets {
  /** GATEHOUSE_SECRET, or the content of secret.key. */
  secret: string;
  /** Secrets that may have sealed stored values too: GATEHOUSE_SECRET_PREVIOUS, an unfinished rotation's secret.key.new. */
  others: string[];
  /** `env`: GATEHOUSE_SECRET; `file`: the generated key file (its path in `file`). */
  source: 'env' | 'file';
  file: string;
}

export const SECRET_FILE = 'secret.key';
/** A rotation's new key file, kept beside secret.key until everything is re-sealed under it. */
export const NEXT_SECRET_FILE = 'secret.key.new';
// The generated format is 64 base64url characters; a secret written by hand must be as strong
// as GATEHOUSE_SECRET has to be: at least 32 printable characters, one line.
const WELL_FORMED = /^[\x21-\x7e]{32,}$/;

export const generateSecret = (): string => crypto.randomBytes(48).toString('base64url');

function readKeyFile(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new StartupRefusal(
      `The instance secret file ${file} cannot be read (${code}): give the user Gatehouse runs as read access to it (mode 0600, owned by that user), or set GATEHOUSE_SECRET.`,
    );
  }
  const secret = text.trim();
  if (!WELL_FORMED.test(secret)) {
    throw new StartupRefusal(
      `The instance secret file ${file} is malformed (${secret.length} characters; it must hold one line of at least 32 printable characters, as Gatehouse generates it): restore it from your backup of the data directory, or set GATEHOUSE_SECRET to this instance's secret.`,
    );
  }
  return secret;
}

/**
 * Resolve the instance secret: GATEHOUSE_SECRET, or a generated key file (mode 0600) in the
 * data dir. Whether it is the right one is checked against the database (keys/instance-secret.ts).
 */
export function resolveSecrets(configured: string | undefined, dataDir: string, previous?: string): ResolvedSecrets {
  const file = path.join(dataDir, SECRET_FILE);
  if (configured) return { secret: configured, others: previous ? [previous] : [], source: 'env', file };
  let secret = readKeyFile(file);
  if (secret === undefined) {
    secret = generateSecret();
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    try {
      fs.writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
    } catch (e) {
      throw new StartupRefusal(
        `The instance secret file ${file} cannot be created (${(e as NodeJS.ErrnoException).code}): check that the user Gatehouse runs as owns the data directory.`,
      );
    }
  }
  const next = readKeyFile(path.join(dataDir, NEXT_SECRET_FILE));
  return { secret, others: [...(previous ? [previous] : []), ...(next ? [next] : [])], source: 'file', file };
}

/** The instance secret alone (tests and tools): GATEHOUSE_SECRET or the data dir's key file. */
export function resolveSecret(configured: string | undefined, dataDir: string): string {
  return resolveSecrets(configured, dataDir).secret;
}

const sealKey = (secret: string) => Buffer.from(crypto.hkdfSync('sha256', secret, 'gatehouse', 'seal/v1', 32));

/**
 * The check value stored at first start: an HMAC of a fixed label under a key derived (HKDF,
 * a label of its own) from the secret. It tells whether a secret is the instance's without
 * holding the secret or anything derived the way sealing keys are; its `c1:` prefix keeps it
 * apart from sealed values (`v1.`).
 */
export function secretCheckValue(secret: string): string {
  const key = Buffer.from(crypto.hkdfSync('sha256', secret, 'gatehouse', 'secret-check/v1', 32));
  return 'c1:' + crypto.createHmac('sha256', key).update('gatehouse instance secret check').digest('base64url');
}

/** Is this text in the sealed format (`v1.iv.body.tag`)? */
export const isSealed = (value: unknown): value is string => typeof value === 'string' && /^v1\.[\w-]+\.[\w-]*\.[\w-]+$/.test(value);

interface SealKey {
  key: Buffer;
  object: crypto.KeyObject;
  check: string;
}

/**
 * AES-256-GCM sealing of secrets (private keys, client secrets) under a key derived from the
 * instance secret. It may hold several secrets: it seals under the active one (the one the
 * database's check value names) and opens with any, so that a rotation can re-seal stored
 * values while every node still reads both. MACs and derived keys come from a root of their
 * own (kept sealed in the database, see keys/instance-secret.ts), so they outlive a rotation:
 * stored recovery-code hashes and signed cookies stay valid.
 */
export class Sealer {
  #keys: SealKey[];
  #active: SealKey;
  #macRoot!: Buffer;
  #macObject!: crypto.KeyObject;
  // Opened values by sealed text. A sealed value always opens to the same plaintext, so this
  // needs no invalidation; it saves a decryption per client authentication.
  readonly #opened = new Map<string, string>();
  constructor(secret: string, others: string[] = []) {
    this.#keys = [];
    for (const s of [secret, ...others]) this.addSecret(s);
    this.#active = this.#keys[0]!;
    // Until the database's root is known: the derivation every earlier version used.
    this.setMacRoot(this.#active.key);
  }
  /** Open with this secret too (a rotation's new secret); answers its check value. */
  addSecret(secret: string): string {
    const check = secretCheckValue(secret);
    if (!this.#keys.some((k) => k.check === check)) {
      const key = sealKey(secret);
      this.#keys.push({ key, object: crypto.createSecretKey(key), check });
    }
    return check;
  }
  /** Check values of the secrets held, the one sealed under first. */
  get checks(): string[] {
    return [this.#active.check, ...this.#keys.filter((k) => k !== this.#active).map((k) => k.check)];
  }
  get activeCheck(): string {
    return this.#active.check;
  }
  /** Seal under the secret with this check value from now on; false when it is not held. */
  activate(check: string): boolean {
    const k = this.#keys.find((x) => safeEqual(x.check, check));
    if (!k) return false;
    this.#active = k;
    return true;
  }
  /** The key MACs and derived keys come from (see keys/instance-secret.ts). */
  setMacRoot(root: Buffer): void {
    this.#macRoot = Buffer.from(root);
    this.#macObject = crypto.createSecretKey(this.#macRoot);
  }
  /** The root earlier versions used (the sealing key of the active secret), for installations that have data. */
  legacyMacRoot(): Buffer {
    return Buffer.from(this.#active.key);
  }
  seal(plain: string): string {
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', this.#active.object, iv);
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
    const opened = this.#tryOpen(sealed);
    if (!opened) throw new Error('sealed value cannot be opened with the instance secret');
    return opened.plain;
  }
  /**
   * A stored value re-sealed under the active secret, or undefined when it already is (or is
   * no sealed value). Throws when no secret held opens it.
   */
  reseal(sealed: string): string | undefined {
    if (!isSealed(sealed)) return undefined;
    const opened = this.#tryOpen(sealed);
    if (!opened) throw new Error('sealed value cannot be opened with any instance secret held');
    return opened.by === this.#active ? undefined : this.seal(opened.plain);
  }
  /** Whether any secret held opens this value. */
  opens(sealed: string): boolean {
    return this.#tryOpen(sealed) !== undefined;
  }
  #tryOpen(sealed: string): { plain: string; by: SealKey } | undefined {
    const [v, iv, body, tag] = sealed.split('.');
    if (v !== 'v1' || !iv || body === undefined || tag === undefined) throw new Error('sealed value has an unknown format');
    for (const k of [this.#active, ...this.#keys.filter((x) => x !== this.#active)]) {
      try {
        const d = crypto.createDecipheriv('aes-256-gcm', k.object, Buffer.from(iv, 'base64url'));
        d.setAuthTag(Buffer.from(tag, 'base64url'));
        return { plain: Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8'), by: k };
      } catch {
        /* not this secret's */
      }
    }
    return undefined;
  }
  /** A keyed MAC for values that must be checked but not stored in the clear (CSRF tokens). */
  mac(value: string): string {
    return crypto.createHmac('sha256', this.#macObject).update(value).digest('base64url');
  }
  /** Derive a named sub-key (cookie keys and similar). */
  derive(name: string): string {
    return Buffer.from(crypto.hkdfSync('sha256', this.#macRoot, 'gatehouse', name, 32)).toString('base64url');
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
  sign(data: string): string {
    return this.#sign(data, this.#keys[0]!);
  }
  index(data: string, digest: string): number {
    if (typeof digest !== 'string') return -1;
    for (let i = 0; i < this.#keys.length; i++) if (safeEqual(digest, this.#sign(data, this.#keys[i]!))) return i;
    return -1;
  }
  verify(data: string, digest: string): boolean {
    return this.index(data, digest) > -1;
  }
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
  static async load(
    settings: { get(name: string): Promise<string | undefined>; setIfAbsent(name: string, value: string): Promise<string> },
    sealer: Sealer,
  ): Promise<TokenHasher> {
    const sealed =
      (await settings.get(TokenHasher.SETTING)) ?? (await settings.setIfAbsent(TokenHasher.SETTING, sealer.seal(crypto.randomBytes(32).toString('base64url'))));
    let key: Buffer;
    try {
      key = Buffer.from(sealer.openUncached(sealed), 'base64url');
    } catch {
      throw new Error(
        'The token-hashing key in the database does not open with this instance secret: GATEHOUSE_SECRET (or secret.key in the data directory) is not the one this database was set up with. Start with the original secret (or rotate it with `gatehouse secret rotate`, which re-seals the key).',
      );
    }
    return new TokenHasher(key);
  }

  /** base64url HMAC-SHA-256 of the value; `purpose` keeps hashes of different kinds apart. */
  hash(value: string, purpose = ''): string {
    return crypto
      .createHmac('sha256', this.#mac)
      .update(purpose ? `${purpose}:${value}` : value)
      .digest('base64url');
  }

  sealArtifact(plain: string): string {
    return this.#artifacts.seal(plain);
  }
  openArtifact(sealed: string): string {
    return this.#artifacts.openUncached(sealed);
  }
}
