// Shared mobile devices (OpenID Connect Native SSO for Mobile Apps 1.0): device sessions,
// one per device secret, i.e. one user's shift on one checked-out device. They start when an
// app of a device SSO group redeems a code for scope device_sso, are joined by the group's
// other apps through token exchange (oidc/native-sso.ts), and end at check-in (by the device,
// an administrator or the CLI), when the next user checks the same device out, or after the
// tenant's shift length. Ending one revokes every token issued under it and sends back-channel
// logout to its apps, so nothing of one user's shift is usable by the next.
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditStore } from '../storage/audit.ts';
import type { DeviceSession, DeviceSessionStore } from '../storage/device-sessions.ts';
import type { Tenant, TenantStore } from '../storage/tenants.ts';
import type { TokenHasher } from '../shared/crypto.ts';
import type { EngineCache } from '../tenants/engines.ts';
import type { SessionService } from '../sessions/sessions.ts';
import { notFound } from '../shared/errors.ts';
import { backchannelLogout } from '../oidc/internals/index.ts';

/** Shift length (tenant setting `sharedDeviceShiftHours`): 12 hours unless set, 1-24. */
export const DEFAULT_SHIFT_HOURS = 12;
export const MIN_SHIFT_HOURS = 1;
export const MAX_SHIFT_HOURS = 24;
export const shiftHoursOf = (t: Tenant): number => {
  const h = Number(t.settings.sharedDeviceShiftHours);
  return Number.isInteger(h) && h >= MIN_SHIFT_HOURS && h <= MAX_SHIFT_HOURS ? h : DEFAULT_SHIFT_HOURS;
};

/** Ended device sessions stay listed (with why they ended) this long, then are forgotten. */
export const ENDED_KEPT_MS = 7 * 24 * 3600_000;

/**
 * Apps are told of a check-in within this long; a receiver that has not answered by then is
 * recorded as failed (the send itself goes on in the background) so check-in never hangs.
 */
export const BACKCHANNEL_DEADLINE_MS = 2000;
function withinDeadline<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  p.catch(() => {}); // a late failure is already counted as the deadline's
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${BACKCHANNEL_DEADLINE_MS / 1000} seconds`)), BACKCHANNEL_DEADLINE_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The device secret's purpose in the token hasher (keeps its hashes apart from other tokens'). */
const SECRET_PURPOSE = 'device-secret';

/** ds_hash: the left half of the SHA-256 of the device secret, base64url (as at_hash; ID tokens are RS256 or ES256 here). */
export function dsHashOf(secret: string): string {
  const h = crypto.createHash('sha256').update(secret, 'ascii').digest();
  return h.subarray(0, h.length / 2).toString('base64url');
}

export interface DeviceSessionServiceDeps {
  logger: Logger;
  deviceSessionStore: DeviceSessionStore;
  tenantStore: Pick<TenantStore, 'byId'>;
  auditStore: AuditStore;
  tokenHasher: TokenHasher;
  /** Check-in runs the tenant's engine (token revocation, back-channel logout). */
  engineCache: Pick<EngineCache, 'get'>;
  /** Check-in also ends the browser session the check-out signed in with. */
  sessionService: Pick<SessionService, 'end'>;
}

export interface CheckoutFacts {
  userId: string;
  group: string;
  clientId: string;
  grantId: string;
  sessionUid: string | null;
  sid: string | undefined;
  amr: string[];
  acr: string | null;
  authTime: number | null;
  device: { name: string | null; id: string | null };
}

export class DeviceSessionService {
  readonly store: DeviceSessionStore;
  readonly #deps: DeviceSessionServiceDeps;
  constructor(deps: DeviceSessionServiceDeps) {
    this.#deps = deps;
    this.store = deps.deviceSessionStore;
  }

  hashSecret(secret: string): string {
    return this.#deps.tokenHasher.hash(secret, SECRET_PURPOSE);
  }

  /**
   * A check-out: a new device session and its device secret (returned in the clear once; only
   * its hash is kept). A device that reported its identifier has one live session at a time:
   * the previous user's ends here, as if checked in.
   */
  async start(tenant: Tenant, f: CheckoutFacts): Promise<{ secret: string; session: DeviceSession }> {
    if (f.device.id) {
      for (const prev of await this.store.listLive(tenant.id, { deviceId: f.device.id })) {
        await this.end(tenant, prev.id, { by: 'system', why: 'next_checkout' }).catch((err) =>
          this.#deps.logger.warn({ err: (err as Error).message, deviceSessionId: prev.id }, 'could not end the previous device session at a new check-out'),
        );
      }
    }
    const secret = crypto.randomBytes(32).toString('base64url');
    const now = Date.now();
    const session = await this.store.create({
      tenantId: tenant.id,
      userId: f.userId,
      group: f.group,
      deviceName: f.device.name,
      deviceId: f.device.id,
      secretHash: this.hashSecret(secret),
      dsHash: dsHashOf(secret),
      sid: f.sid ?? crypto.randomUUID(),
      sessionUid: f.sessionUid,
      checkoutClientId: f.clientId,
      amr: f.amr,
      acr: f.acr,
      authTime: f.authTime,
      startedAt: now,
      expiresAt: now + shiftHoursOf(tenant) * 3600_000,
    });
    await this.store.addApp(tenant.id, session.id, f.clientId, f.grantId, now);
    await this.#deps.auditStore.record({
      tenantId: tenant.id,
      type: 'device.checked_out',
      actor: f.userId,
      subject: f.userId,
      data: {
        deviceSessionId: session.id,
        clientId: f.clientId,
        group: f.group,
        deviceName: f.device.name,
        deviceId: f.device.id,
        expiresAt: session.expiresAt,
      },
    });
    return { secret, session: (await this.store.get(tenant.id, session.id))! };
  }

  /** The device session of a presented secret (ended or not), or undefined. */
  bySecret(tenant: Tenant, secret: string): Promise<DeviceSession | undefined> {
    if (typeof secret !== 'string' || !secret || secret.length > 500) return Promise.resolve(undefined);
    return this.store.bySecretHash(tenant.id, this.hashSecret(secret));
  }

  isLive(s: DeviceSession, now = Date.now()): boolean {
    return s.endedAt === null && s.expiresAt > now;
  }

  /**
   * End a device session: every app's grant under it revoked (access and refresh tokens),
   * back-channel logout to each app with a back-channel logout URI, the check-out's browser
   * session ended. Returns false when it had already ended (nothing is done twice).
   */
  async end(tenant: Tenant, id: string, reason: { by: string; why: string }): Promise<boolean> {
    const s = await this.store.get(tenant.id, id);
    if (!s) throw notFound(`Device session ${id}`);
    if (!(await this.store.end(tenant.id, id, reason.why))) return false;
    const entry = await this.#deps.engineCache.get(tenant.slug);
    if (!entry) throw notFound(`Tenant ${tenant.slug}`);
    const { provider } = entry;
    // The browser session of the check-out: its apps are told by the session's own ending.
    const browser = s.sessionUid ? await provider.Session.findByUid(s.sessionUid).catch(() => undefined) : undefined;
    const toldBySession = new Set(browser?.accountId === s.userId ? Object.keys(browser.authorizations ?? {}) : []);
    const notified: string[] = [];
    const failed: { clientId: string; error: string }[] = [];
    await Promise.all(
      s.apps.map(async (app) => {
        const client = await provider.Client.find(app.clientId).catch(() => undefined);
        await provider.AccessToken.revokeByGrantId(app.grantId); // our adapters revoke the grant's artifacts in every store
        await (await provider.Grant.find(app.grantId))?.destroy();
        if (client?.backchannelLogoutUri && !toldBySession.has(app.clientId)) {
          try {
            await withinDeadline(backchannelLogout(client, s.userId, s.sid));
            notified.push(app.clientId);
          } catch (e) {
            failed.push({ clientId: app.clientId, error: (e as Error).message });
          }
        }
      }),
    );
    if (browser?.accountId === s.userId && s.sessionUid)
      await this.#deps.sessionService.end(tenant, s.sessionUid, { by: reason.by, why: `device_${reason.why}` });
    await this.#deps.auditStore.record({
      tenantId: tenant.id,
      type: 'device.checked_in',
      actor: reason.by,
      subject: s.userId,
      level: failed.length ? 'warn' : 'info',
      data: {
        deviceSessionId: s.id,
        reason: reason.why,
        deviceName: s.deviceName,
        deviceId: s.deviceId,
        apps: s.apps.map((a) => a.clientId),
        backchannelSent: notified,
        backchannelFailed: failed,
        message: failed.length ? `Back-channel logout failed for ${failed.map((f) => f.clientId).join(', ')}` : undefined,
      },
    });
    return true;
  }

  /** End device sessions whose shift is over (the scheduled job); returns how many ended. */
  async endExpired(): Promise<number> {
    let n = 0;
    for (const s of await this.store.expiredUnended()) {
      const tenant = await this.#deps.tenantStore.byId(s.tenantId);
      if (!tenant) {
        await this.store.end(s.tenantId, s.id, 'expired');
        continue;
      }
      if (
        await this.end(tenant, s.id, { by: 'system', why: 'expired' }).catch((err) => {
          this.#deps.logger.warn({ err: (err as Error).message, deviceSessionId: s.id }, 'could not end an expired device session');
          return false;
        })
      )
        n++;
    }
    await this.store.purge(ENDED_KEPT_MS);
    return n;
  }
}
