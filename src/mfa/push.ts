// Push approval with number matching, through the Gatehouse Authenticator (an installable web
// app served at /authenticator/, see mfa/authenticator/).
//
// Enrollment: the account page shows a QR code of a one-time setup link (10 minutes); the
// phone opens it, makes an ECDSA P-256 key pair with WebCrypto (the private key cannot be
// exported; it stays in the phone's browser storage), and sends the public key with a
// signature over the setup code (proof that it holds the key). Gatehouse answers with the
// device's id and a TOTP key for the 6-digit token code the app also shows.
//
// Sign-in: after the password, a request is stored (30 seconds) and the user's devices are
// told (push-delivery.ts). With number matching, the sign-in page shows a 2-digit number the
// user types on the phone; the device signs its answer (a JWS, ES256, over the request id,
// approve/deny and the number) and Gatehouse checks the signature with the stored key. A
// wrong number or a deny ends the request; so do 30 seconds without an answer, and the
// sign-in ending any other way (withdrawn). The sign-in page polls the outcome and takes an
// approval once.
import crypto from 'node:crypto';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { Sealer, TokenHasher } from '../shared/crypto.ts';
import type { Bus } from '../ops/bus.ts';
import type { Throttle } from '../ops/ratelimit.ts';
import type { UserStore } from '../storage/users.ts';
import type { MfaStore } from '../storage/mfa.ts';
import type { AuditStore } from '../storage/audit.ts';
import type { PolicyService } from '../policy/policies.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { User } from '../storage/users.ts';
import type { PushStore, PushChallenge } from '../storage/push.ts';
import { GatehouseError, invalid } from '../shared/errors.ts';
import { newId, safeEqual } from '../shared/crypto.ts';
import { newTotpSecret } from './totp.ts';
import { StreamHub, type PushDelivery, type Snapshot } from './push-delivery.ts';
import { mfaFailed } from '../interaction/signin.ts';
import { waitWords } from '../ops/ratelimit.ts';

/** How long a sign-in request waits for an answer (the reference: number matching codes expire in 30 seconds). */
export const PUSH_SECONDS = 30;
export const ENROLL_MINUTES = 10;
/**
 * Requests sent to one user's phones: at most 10 in 15 minutes. Someone who has the password
 * could otherwise flood the phone with requests until one is approved by mistake ("MFA
 * fatigue"); past the limit the sign-in page asks for the 6-digit code instead.
 */
export const PUSH_SEND_RULE = { limit: 10, windowSeconds: 15 * 60 };
const sendKey = (tenantId: string, userId: string) => `push-sent:${tenantId}:${userId}`;
const TICKET_MS = 60_000;
/** Clock difference allowed between a phone and Gatehouse for the stream request's timestamp. */
const SKEW_MS = 5 * 60_000;

export type PushOutcome = 'pending' | 'approved' | 'denied' | 'wrong_number' | 'withdrawn' | 'expired' | 'used';

const p256Jwk = z.object({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  y: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
});
type P256Jwk = z.infer<typeof p256Jwk>;
interface DeviceSecret {
  jwk: P256Jwk;
  totp: string;
}

export const enrollBody = z.object({
  code: z.string().trim().min(1).max(64),
  name: z.string().trim().max(60).optional(),
  publicKey: p256Jwk,
  /** A JWS (ES256) over { typ: "enroll", code } made with the new key. */
  proof: z.string().max(4096),
});
export const signedBody = z.object({ jws: z.string().max(4096) });
const decisionPayload = z.object({
  typ: z.literal('decision'),
  cid: z.string().max(64),
  decision: z.enum(['approve', 'deny']),
  number: z.string().max(8).optional(),
});
const streamPayload = z.object({ typ: z.literal('stream'), iat: z.number() });

const deviceError = (message: string) => new GatehouseError(401, 'device_not_recognized', message);

/** Setup codes: 16 characters from an alphabet without look-alikes (80 bits), shown as ABCD-EFGH-JKLM-NPQR. */
function newSetupCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const s = [...crypto.randomBytes(16)].map((b) => alphabet[b % alphabet.length]).join('');
  return s.match(/.{4}/g)!.join('-');
}
const normalizeCode = (code: string) => code.toUpperCase().replace(/[^A-Z0-9]/g, '');

export interface PushServiceDeps {
  config: Pick<Config, 'publicUrl'>;
  logger: Logger;
  sealer: Sealer;
  tokenHasher: TokenHasher;
  bus: Bus;
  pushStore: PushStore;
  userStore: UserStore;
  mfaStore: MfaStore;
  auditStore: AuditStore;
  policyService: PolicyService;
  /** Requests sent per user are limited with the account throttle; wrong answers count as second-factor failures. */
  throttles: { account: Throttle };
}

export class PushService {
  readonly #deps: PushServiceDeps;
  readonly store: PushStore;
  /** Authenticators connected to this node. */
  readonly streams: StreamHub;
  /** Every way requests reach devices (see push-delivery.ts). */
  readonly deliveries: PushDelivery[];

  constructor(deps: PushServiceDeps) {
    this.#deps = deps;
    this.store = deps.pushStore;
    this.streams = new StreamHub(deps.bus, (t, u, d) => this.snapshot(t, u, d));
    this.deliveries = [this.streams];
  }

  // A keyed hash under the token-hashing key: kept at rest in place of the code (docs/security.md).
  // The interaction id is the engine's interaction cookie value: kept as a keyed hash too.
  #interactionKey(uid: string) {
    return this.#deps.tokenHasher.hash(uid, 'interaction');
  }
  #hash(tenantId: string, code: string) {
    return this.#deps.tokenHasher.hash(`${tenantId}:${normalizeCode(code)}`, 'push-enroll');
  }

  async #notify(tenantId: string, userId: string): Promise<void> {
    await Promise.all(
      this.deliveries.map((d) =>
        d.notify(tenantId, userId).catch((err) => this.#deps.logger.warn({ err }, 'could not tell the authenticators about a sign-in request')),
      ),
    );
  }

  // --- enrollment ---

  /** A setup code for the account page's QR code; `recoveryHashes` go with it when it will be the user's first factor. */
  async startEnrollment(tenant: Tenant, user: Pick<User, 'id'>, recoveryHashes: string[] | null): Promise<{ code: string; expiresAt: number }> {
    const code = newSetupCode();
    const expiresAt = Date.now() + ENROLL_MINUTES * 60_000;
    await this.store.addEnrollment({ codeHash: this.#hash(tenant.id, code), tenantId: tenant.id, userId: user.id, recoveryHashes, expiresAt });
    return { code, expiresAt };
  }

  /** The link the QR code holds; the code travels in the fragment, so it is never sent to a server or logged. */
  setupLink(tenant: Tenant, code: string): string {
    return `${this.#deps.config.publicUrl}/authenticator/#enroll=${encodeURIComponent(tenant.slug)}/${encodeURIComponent(code)}`;
  }

  async enrollmentState(tenant: Tenant, userId: string, code: string): Promise<{ state: 'waiting' | 'done' | 'expired'; recoveryIssued: boolean }> {
    const e = await this.store.enrollment(tenant.id, this.#hash(tenant.id, code));
    if (!e || e.userId !== userId) return { state: 'expired', recoveryIssued: false };
    if (e.factorId) return { state: 'done', recoveryIssued: !!e.recoveryHashes };
    return { state: e.expiresAt > Date.now() ? 'waiting' : 'expired', recoveryIssued: false };
  }

  /** The phone finished: its key becomes a factor of the user. */
  async completeEnrollment(tenant: Tenant, input: z.infer<typeof enrollBody>, ip: string) {
    const codeHash = this.#hash(tenant.id, input.code);
    const e = await this.store.enrollment(tenant.id, codeHash);
    if (!e || e.factorId || e.expiresAt <= Date.now()) {
      throw new GatehouseError(
        410,
        'setup_code_expired',
        'This setup code has expired or was already used. On your account page, choose "Add the Gatehouse Authenticator" again and scan the new code.',
      );
    }
    const proof = await verifyJws(input.proof, input.publicKey).catch(() => undefined);
    if (proof?.typ !== 'enroll' || typeof proof.code !== 'string' || normalizeCode(proof.code) !== normalizeCode(input.code))
      throw invalid('The setup request was not signed by the key it carries. Try adding the account again.');
    const user = await this.#deps.userStore.userById(tenant.id, e.userId);
    if (user?.status !== 'active') throw new GatehouseError(410, 'setup_code_expired', 'This account can no longer add an authenticator.');
    const totp = await newTotpSecret();
    const label = input.name || 'Gatehouse Authenticator';
    const id = newId('mfa_');
    const secret: DeviceSecret = { jwk: { kty: 'EC', crv: 'P-256', x: input.publicKey.x, y: input.publicKey.y }, totp };
    const done = await this.store.completeEnrollment(tenant.id, codeHash, Date.now(), {
      id,
      label,
      secretSealed: this.#deps.sealer.seal(JSON.stringify(secret)),
    });
    if (!done) throw new GatehouseError(410, 'setup_code_expired', 'This setup code was just used by another device. Start again on your account page.');
    await this.#deps.auditStore.record({ tenantId: tenant.id, type: 'mfa.enrolled', subject: user.id, ip, data: { email: user.email, factor: 'push', label } });
    return { deviceId: id, email: user.email, organization: tenant.name, label, totpSecret: totp, digits: 6, period: 30 };
  }

  // --- the device's requests ---

  /** Check a request signed by a device (the JWS header's kid is the device id). */
  async #device(tenant: Tenant, jws: string) {
    const { decodeProtectedHeader } = await import('jose');
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(jws).kid;
    } catch {
      throw invalid('The request is not a signed message (JWS).');
    }
    const factor = typeof kid === 'string' && kid.length <= 64 ? await this.#deps.mfaStore.factor(tenant.id, kid) : undefined;
    if (factor?.type !== 'push')
      throw deviceError(
        'This phone is no longer added to the account (it was removed, or two-step verification was reset). Remove it from the app and add it again from your account page.',
      );
    const secret = JSON.parse(this.#deps.sealer.open(factor.secretSealed)) as DeviceSecret;
    const payload = await verifyJws(jws, secret.jwk).catch(() => undefined);
    if (!payload) throw deviceError('The signature of this phone could not be verified. Remove the account from the app and add it again.');
    return { factor, payload };
  }

  /** A ticket to open the event stream (EventSource cannot sign its request): sealed, for a minute. */
  async streamTicket(tenant: Tenant, jws: string): Promise<string> {
    const { factor, payload } = await this.#device(tenant, jws);
    const p = streamPayload.safeParse(payload);
    if (!p.success || Math.abs(p.data.iat - Date.now()) > SKEW_MS)
      throw invalid("The request is too old, or the phone's clock is wrong. Check the date and time on the phone.");
    return this.#deps.sealer.seal(JSON.stringify({ t: tenant.id, d: factor.id, u: factor.userId, exp: Date.now() + TICKET_MS }));
  }

  openTicket(tenant: Tenant, ticket: string): { deviceId: string; userId: string } | undefined {
    if (ticket.length > 1024) return undefined;
    try {
      const v = JSON.parse(this.#deps.sealer.openUncached(ticket)) as { t: string; d: string; u: string; exp: number };
      return v.t === tenant.id && v.exp > Date.now() ? { deviceId: v.d, userId: v.u } : undefined;
    } catch {
      return undefined;
    }
  }

  /** What a device's stream shows now. */
  async snapshot(tenantId: string, userId: string, deviceId: string): Promise<Snapshot> {
    const factor = await this.#deps.mfaStore.factor(tenantId, deviceId);
    if (factor?.type !== 'push' || factor.userId !== userId) return { revoked: true };
    const now = Date.now();
    const pending = await this.store.pending(tenantId, userId, now);
    if (!pending.length) return { revoked: false, requests: [] };
    const user = await this.#deps.userStore.userById(tenantId, userId);
    return {
      revoked: false,
      requests: pending.map((c) => ({
        id: c.id,
        email: user?.email ?? '',
        app: c.appName ?? 'Gatehouse',
        ip: c.ip,
        numberMatching: c.number !== null,
        secondsLeft: Math.max(0, Math.ceil((c.expiresAt - now) / 1000)),
      })),
    };
  }

  /** A device's answer. Returns what became of the request. */
  async decide(tenant: Tenant, jws: string, ip: string): Promise<Exclude<PushOutcome, 'pending' | 'used'>> {
    const { factor, payload } = await this.#device(tenant, jws);
    const p = decisionPayload.safeParse(payload);
    if (!p.success) throw invalid('The answer is not in the expected form.');
    const c = await this.store.challenge(tenant.id, p.data.cid);
    if (!c || c.userId !== factor.userId) throw new GatehouseError(404, 'not_found', 'There is no such sign-in request for this account.');
    if (c.status !== 'pending') return c.status as Exclude<PushOutcome, 'pending' | 'used'>;
    const now = Date.now();
    if (c.expiresAt <= now) return 'expired';
    const status =
      p.data.decision === 'deny'
        ? 'denied'
        : c.number !== null && !safeEqual(String(p.data.number ?? '').trim(), String(c.number))
          ? 'wrong_number'
          : 'approved';
    if (!(await this.store.decide(tenant.id, c.id, status, factor.id, now))) {
      const again = await this.store.challenge(tenant.id, c.id);
      return again && again.status !== 'pending' ? (again.status as Exclude<PushOutcome, 'pending' | 'used'>) : 'expired';
    }
    await this.#deps.mfaStore.touch(factor.id);
    const user = await this.#deps.userStore.userById(tenant.id, c.userId);
    if (user) {
      await this.#deps.auditStore.record({
        tenantId: tenant.id,
        type: `mfa.push_${status}`,
        level: status === 'approved' ? 'info' : 'warn',
        subject: user.id,
        ip,
        data: { email: user.email, device: factor.label, app: c.appName, signInIp: c.ip },
      });
      // A deny or a wrong number is a sign that someone else has the password: it counts like a wrong code.
      if (status !== 'approved') await mfaFailed(this.#deps, tenant, user, await this.#deps.policyService.settingsFor(user), `push_${status}`, ip);
    }
    await this.#notify(tenant.id, c.userId);
    return status;
  }

  // --- the sign-in page's side ---

  /** Seconds until another request may be sent to the user's phones (0: now). */
  sendWait(tenant: Tenant, user: Pick<User, 'id'>): Promise<number> {
    return this.#deps.throttles.account.blockedFor(sendKey(tenant.id, user.id), PUSH_SEND_RULE);
  }

  /** Send a request to the user's devices for this sign-in (callers check sendWait first). */
  async send(
    tenant: Tenant,
    user: Pick<User, 'id' | 'email'>,
    at: { uid: string; clientId?: string; appName?: string; ip: string; numberMatching: boolean },
  ): Promise<PushChallenge> {
    const now = Date.now();
    const c = {
      id: crypto.randomBytes(18).toString('base64url'),
      tenantId: tenant.id,
      userId: user.id,
      uid: this.#interactionKey(at.uid),
      // 10-99: always two digits, as the reference shows.
      number: at.numberMatching ? crypto.randomInt(10, 100) : null,
      clientId: at.clientId ?? null,
      appName: at.appName ?? null,
      ip: at.ip,
      createdAt: now,
      expiresAt: now + PUSH_SECONDS * 1000,
    };
    await this.store.addChallenge(c);
    const limited = await this.#deps.throttles.account.fail(sendKey(tenant.id, user.id), PUSH_SEND_RULE);
    await this.#deps.auditStore.record({
      tenantId: tenant.id,
      type: 'mfa.push_sent',
      subject: user.id,
      ip: at.ip,
      clientId: at.clientId ?? null,
      data: { email: user.email, app: at.appName, clientId: at.clientId, numberMatching: at.numberMatching },
    });
    // The limit reached (once per window): someone who has the password may be flooding the
    // phone hoping for a mistaken approval. The console's overview shows it as an alert.
    if (limited > 0) {
      await this.#deps.auditStore.record({
        tenantId: tenant.id,
        type: 'mfa.push_flood',
        level: 'warn',
        subject: user.id,
        ip: at.ip,
        clientId: at.clientId ?? null,
        data: {
          email: user.email,
          clientId: at.clientId,
          sent: PUSH_SEND_RULE.limit,
          minutes: PUSH_SEND_RULE.windowSeconds / 60,
          message: `${PUSH_SEND_RULE.limit} approval requests were sent to ${user.email}'s phone within ${PUSH_SEND_RULE.windowSeconds / 60} minutes (the last from ${at.ip}); no more are sent for ${waitWords(limited)}. If ${user.email} did not sign in that often, their password is probably known to someone else: reset it.`,
        },
      });
    }
    await this.#notify(tenant.id, user.id);
    return { ...c, status: 'pending', deviceId: null, decidedAt: null, consumedAt: null };
  }

  async challenge(tenant: Tenant, id: string): Promise<PushChallenge | undefined> {
    return this.store.challenge(tenant.id, id);
  }

  /** Where a request stands, as the sign-in page sees it. */
  outcome(c: PushChallenge | undefined, now = Date.now()): PushOutcome {
    if (!c) return 'expired';
    if (c.consumedAt) return 'used';
    if (c.status === 'pending') return c.expiresAt > now ? 'pending' : 'expired';
    return c.status;
  }

  /** Whether the request was sent for this sign-in (the engine interaction `uid`). */
  isFor(c: PushChallenge, uid: string): boolean {
    return c.uid === this.#interactionKey(uid);
  }

  /** The sign-in takes the approval (once, for this interaction and user). */
  consume(tenant: Tenant, c: PushChallenge, uid: string, userId: string): Promise<boolean> {
    return this.store.consume(tenant.id, c.id, this.#interactionKey(uid), userId, Date.now());
  }

  /**
   * The sign-in of interaction `uid` ended without this request (a code or passkey was used
   * instead, it was abandoned or finished): its waiting requests are withdrawn and every
   * authenticator of the user is told at once (their stream's next list leaves it out), so
   * nobody is shown an Approve button that means nothing any more.
   */
  async withdraw(tenantId: string, uid: string): Promise<void> {
    const users = await this.store.withdraw(tenantId, this.#interactionKey(uid), Date.now());
    await Promise.all(users.map((u) => this.#notify(tenantId, u)));
  }

  /** A device was removed: its open streams learn it. */
  deviceRemoved(tenantId: string, userId: string): Promise<void> {
    return this.#notify(tenantId, userId);
  }
}

/** Verify a compact JWS (ES256 only) with a P-256 public key; the payload as JSON. */
async function verifyJws(jws: string, jwk: P256Jwk): Promise<Record<string, unknown>> {
  const { compactVerify, importJWK } = await import('jose');
  const key = await importJWK({ ...jwk, alg: 'ES256' }, 'ES256');
  const { payload } = await compactVerify(jws, key, { algorithms: ['ES256'] });
  const v = JSON.parse(new TextDecoder().decode(payload)) as unknown;
  if (!v || typeof v !== 'object') throw new Error('payload is not an object');
  return v as Record<string, unknown>;
}
