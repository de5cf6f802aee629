// SSO sessions: what is recorded about each signed-in browser session, listing them per user
// or tenant, and ending them (by an administrator, by the user on their account page, or when
// a directory disables the account). Ending one sends back-channel logout to every app that
// was signed in to through it and revokes the tokens that end with the session, exactly as a
// sign-out the user asks for does.
import Provider, { type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Logger } from 'pino';
import type { AuditStore } from '../storage/audit.ts';
import type { ClientCache } from '../oidc/clients.ts';
import type { EngineCache } from '../tenants/engines.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { Page } from '../storage/users.ts';
import type { SessionStore, SsoSessionRecord } from '../storage/sessions.ts';
import { notFound } from '../shared/errors.ts';
import { backchannelLogout } from '../oidc/internals/index.ts';
import { describeDevice } from './device.ts';

export interface SsoSession extends SsoSessionRecord {
  /** "Chrome 131 on Windows": the browser and system, read from the user agent. */
  device: string;
  appNames: { clientId: string; name: string }[];
}

/** Last seen and expiry are refreshed at most this often per session (every request saves the session). */
const REFRESH_MS = 60_000;
/** Sessions this node remembers having recorded (most recent kept). */
const MAX_REMEMBERED = 100_000;

type SessionPayload = AdapterPayload & {
  uid?: string;
  accountId?: string;
  loginTs?: number;
  amr?: string[];
  acr?: string;
  authorizations?: Record<string, { sid?: string; grantId?: string; persistsLogout?: boolean }>;
};

export interface SessionServiceDeps {
  logger: Logger;
  sessionStore: SessionStore;
  auditStore: AuditStore;
  clientCache: Pick<ClientCache, 'get'>;
  /** Ending a session runs the tenant's engine (back-channel logout, token revocation). */
  engineCache: Pick<EngineCache, 'get'>;
}

export class SessionService {
  readonly store: SessionStore;
  readonly #deps: SessionServiceDeps;
  /** What this node last wrote per session, so an unchanged session is not written at every request. */
  readonly #written = new Map<string, { key: string; at: number }>();
  constructor(deps: SessionServiceDeps) {
    this.#deps = deps;
    this.store = deps.sessionStore;
  }

  /**
   * The engine's Session adapter, wrapped so that every save and destroy is reflected in the
   * registry. A registry problem never fails the sign-in: the registry only describes sessions.
   */
  tracked(tenantId: string, inner: Adapter): Adapter {
    return {
      ...bind(inner),
      upsert: async (id, payload, expiresIn) => {
        await inner.upsert(id, payload, expiresIn);
        await this.#seen(tenantId, payload as SessionPayload, expiresIn).catch((err) =>
          this.#deps.logger.warn({ err: (err as Error).message }, 'could not record an SSO session; it is missing from the session list until its next save'),
        );
      },
      destroy: async (id) => {
        const payload = (await inner.find(id)) as SessionPayload | undefined;
        await inner.destroy(id);
        if (payload?.uid) {
          this.#written.delete(`${tenantId}:${payload.uid}`);
          await this.store
            .remove(tenantId, payload.uid)
            .catch((err) =>
              this.#deps.logger.warn(
                { err: (err as Error).message },
                'could not remove an ended SSO session from the session list; it drops out when it expires',
              ),
            );
        }
      },
    };
  }

  async #seen(tenantId: string, p: SessionPayload, expiresIn: number | undefined): Promise<void> {
    if (!p.uid || !p.accountId || typeof expiresIn !== 'number') return;
    const now = Date.now();
    const apps = Object.keys(p.authorizations ?? {}).sort();
    const memo = `${tenantId}:${p.uid}`;
    const key = `${p.accountId}|${apps.join(' ')}|${(p.amr ?? []).join(' ')}|${p.acr ?? ''}`;
    const last = this.#written.get(memo);
    if (last && last.key === key && now - last.at < REFRESH_MS) return;
    const ctx = Provider.ctx;
    await this.store.upsert({
      id: p.uid,
      tenantId,
      userId: p.accountId,
      startedAt: (p.loginTs ?? Math.floor(now / 1000)) * 1000,
      lastSeenAt: now,
      expiresAt: now + expiresIn * 1000,
      ip: ctx?.ip ?? null,
      userAgent: ctx?.get('user-agent')?.slice(0, 500) || null,
      apps,
      amr: p.amr ?? [],
      acr: p.acr ?? null,
    });
    this.#written.delete(memo);
    this.#written.set(memo, { key, at: now });
    if (this.#written.size > MAX_REMEMBERED) this.#written.delete(this.#written.keys().next().value!);
  }

  /** Live sessions of a tenant (or one user), most recently active first. */
  async list(tenantId: string, opts: { userId?: string; search?: string; cursor?: string; limit?: number } = {}): Promise<Page<SsoSession>> {
    const page = await this.store.list(tenantId, opts);
    return { items: await this.#describe(tenantId, page.items), nextCursor: page.nextCursor };
  }

  /** Every live session of one user (people have a handful). */
  async listForUser(tenantId: string, userId: string): Promise<SsoSession[]> {
    return this.#describe(tenantId, (await this.store.list(tenantId, { userId, limit: 500 })).items);
  }

  async get(tenantId: string, id: string): Promise<SsoSession | undefined> {
    const r = await this.store.get(tenantId, id);
    return r && (await this.#describe(tenantId, [r]))[0];
  }

  async #describe(tenantId: string, rows: SsoSessionRecord[]): Promise<SsoSession[]> {
    const names = new Map<string, string>();
    for (const clientId of new Set(rows.flatMap((r) => r.apps))) {
      const a = await this.#deps.clientCache.get(tenantId, clientId).catch(() => undefined);
      names.set(clientId, a?.displayName ?? clientId);
    }
    return rows.map((r) => ({ ...r, device: describeDevice(r.userAgent), appNames: r.apps.map((clientId) => ({ clientId, name: names.get(clientId)! })) }));
  }

  /**
   * End one session: back-channel logout to its apps, its tokens revoked (those that outlive
   * a sign-out, offline_access, are kept, as at a sign-out), the engine session destroyed.
   * Returns false when there is no such live session.
   */
  async end(tenant: Tenant, id: string, reason: { by: string; why: string }): Promise<boolean> {
    const entry = await this.#deps.engineCache.get(tenant.slug);
    if (!entry) throw notFound(`Tenant ${tenant.slug}`);
    const { provider } = entry;
    const session = await provider.Session.findByUid(id);
    const record = await this.store.get(tenant.id, id);
    if (!session?.accountId) {
      if (record) await this.store.remove(tenant.id, id); // the engine already forgot it
      return false;
    }
    const accountId = session.accountId;
    const notified: string[] = [];
    const failed: { clientId: string; error: string }[] = [];
    await Promise.all(
      Object.entries(session.authorizations ?? {}).map(async ([clientId, auth]) => {
        const client = await provider.Client.find(clientId).catch(() => undefined);
        if (client?.backchannelLogoutUri) {
          try {
            await backchannelLogout(client, accountId, auth.sid);
            notified.push(clientId);
          } catch (e) {
            failed.push({ clientId, error: (e as Error).message });
          }
        }
        if (auth.grantId && !auth.persistsLogout) {
          await provider.AccessToken.revokeByGrantId(auth.grantId); // our adapters revoke the grant's artifacts in every store
          await (await provider.Grant.find(auth.grantId))?.destroy();
        }
      }),
    );
    await session.destroy();
    await this.#deps.auditStore.record({
      tenantId: tenant.id,
      type: 'session.ended',
      actor: reason.by,
      subject: accountId,
      level: failed.length ? 'warn' : 'info',
      data: {
        sessionId: id,
        reason: reason.why,
        apps: Object.keys(session.authorizations ?? {}),
        backchannelSent: notified,
        backchannelFailed: failed,
        message: failed.length ? `Back-channel logout failed for ${failed.map((f) => f.clientId).join(', ')}` : undefined,
      },
    });
    return true;
  }

  /** End every session of a user; returns how many ended. */
  async endAllForUser(tenant: Tenant, userId: string, reason: { by: string; why: string }): Promise<number> {
    let ended = 0;
    for (const s of (await this.store.list(tenant.id, { userId, limit: 500 })).items) {
      if (await this.end(tenant, s.id, reason)) ended++;
    }
    return ended;
  }

  count(tenantId: string): Promise<number> {
    return this.store.count(tenantId);
  }
}

function bind(a: Adapter): Adapter {
  return {
    upsert: (id, payload, expiresIn) => a.upsert(id, payload, expiresIn),
    find: (id) => a.find(id),
    findByUid: (uid) => a.findByUid(uid),
    findByUserCode: (userCode) => a.findByUserCode(userCode),
    consume: (id) => a.consume(id),
    destroy: (id) => a.destroy(id),
    revokeByGrantId: (grantId) => a.revokeByGrantId(grantId),
  };
}
