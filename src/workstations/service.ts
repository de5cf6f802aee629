// Workstations and the user switch (issue 19): agents enrolled with a one-time code, their
// signed calls, who is signed in to each desktop, the one-time links that open the browser
// signed in as that user, and the rule that matters: when another user signs in to a
// workstation, or the agent reports a sign-out, every SSO session started on that
// workstation for the previous user ends (back-channel logout to its apps, through
// SessionService.end, exactly as an administrator's "end session").
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { TokenHasher } from '../shared/crypto.ts';
import type { AuditStore } from '../storage/audit.ts';
import type { TenantStore, Tenant } from '../storage/tenants.ts';
import type { UserStore } from '../storage/users.ts';
import type { Workstation, WorkstationLink, WorkstationStore } from '../storage/workstations.ts';
import type { SessionService } from '../sessions/sessions.ts';
import { CODE_TTL_MS, newCode, normalizeCode, verifyText } from '../directory/connector/protocol.ts';
import { GatehouseError } from '../shared/errors.ts';
import { t, type MessageKey } from '../i18n/index.ts';
import { callText, CLOCK_SKEW_MS, enrollText, LINK_TTL_MS, type AgentRefusal } from './protocol.ts';

export interface WorkstationServiceDeps {
  logger: Logger;
  tokenHasher: TokenHasher;
  tenantStore: Pick<TenantStore, 'byId'>;
  userStore: Pick<UserStore, 'userById' | 'userByEmail'>;
  workstationStore: WorkstationStore;
  auditStore: AuditStore;
  sessionService: Pick<SessionService, 'end' | 'listForUser'>;
}

/** An agent call refused: status and a reason the agent shows (with what to do). */
export class AgentError extends GatehouseError {
  readonly refusal: AgentRefusal;
  constructor(status: number, refusal: AgentRefusal, message: string) {
    super(status, refusal, message);
    this.refusal = refusal;
  }
}

export interface WorkstationStatus {
  id: string;
  name: string;
  status: 'active' | 'revoked';
  address: string | null;
  version: string | null;
  currentUser: { id: string; email: string } | null;
  since: number | null;
  lastSeenAt: number | null;
  sessionsBound: number;
  createdAt: number;
}

export class WorkstationService {
  readonly #deps: WorkstationServiceDeps;
  constructor(deps: WorkstationServiceDeps) {
    this.#deps = deps;
  }

  // A keyed hash under the token-hashing key is kept at rest, never the code or link itself.
  #hash(value: string, purpose: string) {
    return this.#deps.tokenHasher.hash(value, purpose);
  }

  /** A one-time enrollment code (same rules as the connector's: once, within 5 minutes). */
  async newCode(tenantId: string, createdBy: string | null, now = Date.now()): Promise<{ code: string; expiresAt: number }> {
    const code = newCode();
    const expiresAt = now + CODE_TTL_MS;
    await this.#deps.workstationStore.addCode(tenantId, this.#hash(normalizeCode(code), 'workstation-code'), expiresAt, createdBy);
    return { code, expiresAt };
  }

  /** Enroll an agent: the code is spent, the agent's public key pinned (it proved it holds the private key). */
  async enroll(
    input: { code: string; name: string; publicKey: string; signature: string; version: string },
    ip: string | null,
  ): Promise<{ workstation: Workstation; tenant: Tenant }> {
    if (!verifyText(input.publicKey, enrollText(input.code), input.signature))
      throw new AgentError(400, 'bad_signature', "The agent's key did not verify. Update the agent.");
    const r = await this.#deps.workstationStore.enroll(this.#hash(normalizeCode(input.code), 'workstation-code'), {
      name: input.name,
      publicKey: input.publicKey,
      softwareVersion: input.version,
      address: ip,
    });
    if (typeof r === 'string') {
      await this.#deps.auditStore.record({ tenantId: null, type: 'workstation.refused', level: 'warn', ip, data: { reason: `code_${r}`, name: input.name } });
      const msg = {
        unknown: 'This enrollment code is not valid. Check it, or generate a new one with `gatehouse agent code --tenant SLUG`.',
        expired: 'This enrollment code has expired (codes are valid 5 minutes). Generate a new one and enroll within 5 minutes.',
        used: 'This enrollment code was already used. Each code works once: generate a new one.',
      }[r];
      throw new AgentError(r === 'unknown' ? 404 : 410, `code_${r}`, msg);
    }
    const tenant = (await this.#deps.tenantStore.byId(r.tenantId))!;
    await this.#deps.auditStore.record({
      tenantId: r.tenantId,
      type: 'workstation.enrolled',
      subject: r.id,
      ip,
      data: { name: r.name, version: input.version },
    });
    return { workstation: r, tenant };
  }

  /**
   * Check a signed call: the workstation exists and is active, the signature is its pinned
   * key's, the timestamp is near and newer than any accepted before. Refusals are audited.
   */
  async verifyCall(
    h: { id?: string; ts?: string; sig?: string },
    call: { method: string; path: string; body: string; ip: string | null; version: string | null },
  ): Promise<Workstation> {
    const refuse = async (status: number, refusal: AgentRefusal, message: string, w?: Workstation) => {
      await this.#deps.auditStore.record({
        tenantId: w?.tenantId ?? null,
        type: 'workstation.refused',
        level: 'warn',
        subject: w?.id ?? null,
        ip: call.ip,
        data: { reason: refusal, path: call.path },
      });
      return new AgentError(status, refusal, message);
    };
    if (!h.id || !h.ts || !h.sig || !/^\d{1,16}$/.test(h.ts))
      throw await refuse(401, 'bad_request', 'This call is not signed. Use `gatehouse agent` of this version of Gatehouse.');
    const w = await this.#deps.workstationStore.byId(h.id);
    if (!w)
      throw await refuse(401, 'unknown_workstation', 'This workstation is not enrolled here. Enroll it again with a new code (`gatehouse agent enroll`).');
    if (w.status === 'revoked')
      throw await refuse(403, 'revoked', 'This workstation was revoked by an administrator. Enroll it again with a new code if it should be used.', w);
    const ts = Number(h.ts);
    if (!verifyText(w.publicKey, callText(call.method, call.path, ts, call.body), h.sig))
      throw await refuse(
        401,
        'bad_signature',
        'The agent did not prove it holds the key pinned for this workstation. If its state file was replaced, enroll it again with a new code.',
        w,
      );
    if (Math.abs(Date.now() - ts) > CLOCK_SKEW_MS)
      throw await refuse(
        401,
        'clock_skew',
        "The workstation's clock is more than 5 minutes off Gatehouse's. Set the workstation's clock (NTP), then try again.",
        w,
      );
    if (!(await this.#deps.workstationStore.accept(w.id, ts, { address: call.ip, softwareVersion: call.version })))
      throw await refuse(409, 'replayed', 'This call was already made (or a newer one was): it is not accepted twice. Run the command again.', w);
    return w;
  }

  /**
   * The desktop user signed in (the caller checked their password). Another user was signed
   * in: their sessions started on this workstation end now (a switch).
   */
  async signedIn(w: Workstation, user: { id: string; email: string }, ip: string | null): Promise<{ previous: string | null; sessionsEnded: number }> {
    const tenant = (await this.#deps.tenantStore.byId(w.tenantId))!;
    const previous = w.currentUserId && w.currentUserId !== user.id ? w.currentUserId : null;
    await this.#deps.workstationStore.setCurrentUser(w.id, user.id);
    // Everyone else's sessions on this workstation end, not only the last user's: a session
    // left from before (a sign-out the agent could not report) must not survive a switch either.
    const ended = await this.#endBound(tenant, w, { exceptUserId: user.id, kerberosOf: previous }, previous ? 'workstation_switch' : 'workstation_signin');
    const prevUser = previous ? await this.#deps.userStore.userById(w.tenantId, previous) : undefined;
    await this.#deps.auditStore.record({
      tenantId: w.tenantId,
      type: previous ? 'workstation.switched' : 'workstation.signin',
      subject: user.id,
      ip,
      data: {
        workstationId: w.id,
        workstation: w.name,
        email: user.email,
        ...(previous && { previousUserId: previous, previousEmail: prevUser?.email }),
        sessionsEnded: ended,
      },
    });
    return { previous: prevUser?.email ?? previous, sessionsEnded: ended };
  }

  /** The agent reported a sign-out: every session started on the workstation ends. */
  async signedOut(w: Workstation, ip: string | null, by: 'agent' | 'revoke' = 'agent'): Promise<number> {
    const tenant = (await this.#deps.tenantStore.byId(w.tenantId))!;
    await this.#deps.workstationStore.setCurrentUser(w.id, null);
    const ended = await this.#endBound(tenant, w, { kerberosOf: w.currentUserId }, by === 'agent' ? 'workstation_signout' : 'workstation_revoked');
    if (by === 'agent')
      await this.#deps.auditStore.record({
        tenantId: w.tenantId,
        type: 'workstation.signout',
        subject: w.currentUserId,
        ip,
        data: { workstationId: w.id, workstation: w.name, sessionsEnded: ended },
      });
    return ended;
  }

  async #endBound(tenant: Tenant, w: Workstation, opts: { exceptUserId?: string; kerberosOf?: string | null }, why: string): Promise<number> {
    const bound = await this.#deps.workstationStore.boundSessions(w.id, opts);
    // Sessions the previous user started with Kerberos from the address this workstation
    // reported are bound to it too (the browser on the workstation, without the agent's link).
    if (opts.kerberosOf && w.address) {
      for (const s of await this.#deps.sessionService.listForUser(tenant.id, opts.kerberosOf)) {
        if (s.ip === w.address && s.amr.includes('wia') && !bound.some((b) => b.sessionId === s.id)) bound.push({ sessionId: s.id, userId: s.userId });
      }
    }
    // In parallel: each end waits for its apps' back-channel logout, and the next user waits for all.
    const results = await Promise.all(
      bound.map((b) =>
        this.#deps.sessionService.end(tenant, b.sessionId, { by: `workstation:${w.id}`, why }).catch((err) => {
          this.#deps.logger.warn({ err: (err as Error).message, session: b.sessionId }, 'could not end a session bound to a workstation');
          return false;
        }),
      ),
    );
    await this.#deps.workstationStore.unbind(bound.map((b) => b.sessionId));
    return results.filter(Boolean).length;
  }

  /** A one-time link (30 s) that opens `target` signed in as the workstation's current user. */
  async newLink(w: Workstation, target: string, base: string): Promise<{ url: string; expiresAt: number }> {
    if (!w.currentUserId) throw new AgentError(409, 'bad_request', 'Nobody is signed in on this workstation. Run `gatehouse agent signin --user NAME` first.');
    const tenant = (await this.#deps.tenantStore.byId(w.tenantId))!;
    const token = crypto.randomBytes(32).toString('base64url');
    const expiresAt = Date.now() + LINK_TTL_MS;
    await this.#deps.workstationStore.addLink(
      this.#hash(token, 'workstation-link'),
      { workstationId: w.id, tenantId: w.tenantId, userId: w.currentUserId, target },
      expiresAt,
    );
    return { url: `${base}/t/${tenant.slug}/workstation/open/${token}`, expiresAt };
  }

  /**
   * A link is opened: spent (once), and still good only if the workstation is active and the
   * same user is signed in to it. Refusals are audited and say what to do.
   */
  async useLink(tenant: Tenant, token: string, ip: string | null): Promise<WorkstationLink> {
    const r = /^[A-Za-z0-9_-]{43}$/.test(token) ? await this.#deps.workstationStore.useLink(tenant.id, this.#hash(token, 'workstation-link')) : 'unknown';
    let problem: string | undefined;
    if (typeof r === 'string') problem = r;
    else {
      const w = await this.#deps.workstationStore.byId(r.workstationId);
      if (w?.status !== 'active') problem = 'revoked';
      else if (w.currentUserId !== r.userId) problem = 'user_changed';
    }
    if (problem) {
      await this.#deps.auditStore.record({
        tenantId: tenant.id,
        type: 'workstation.link_refused',
        level: 'warn',
        subject: typeof r === 'string' ? null : r.userId,
        ip,
        data: { reason: problem, workstationId: typeof r === 'string' ? null : r.workstationId },
      });
      // Words for the person in the browser that opened the link (its request's language).
      const why: Record<string, MessageKey> = {
        unknown: 'ws.link.unknown',
        expired: 'ws.link.expired',
        used: 'ws.link.used',
        revoked: 'ws.link.revoked',
        user_changed: 'ws.link.userChanged',
      };
      throw new GatehouseError(problem === 'unknown' ? 404 : 410, `link_${problem}`, `${t(why[problem]!)} ${t('ws.link.next')}`);
    }
    return r as WorkstationLink;
  }

  /** A session started through a link is bound to the workstation (ended at the next switch or sign-out). */
  async bind(link: WorkstationLink, sessionId: string): Promise<void> {
    await this.#deps.workstationStore.bind(link.tenantId, link.workstationId, link.userId, sessionId);
    await this.#deps.auditStore.record({
      tenantId: link.tenantId,
      type: 'workstation.session_bound',
      subject: link.userId,
      data: { workstationId: link.workstationId, sessionId },
    });
  }

  async list(tenantId: string): Promise<WorkstationStatus[]> {
    const [all, counts] = await Promise.all([this.#deps.workstationStore.list(tenantId), this.#deps.workstationStore.boundCounts(tenantId)]);
    return Promise.all(
      all.map(async (w) => {
        const u = w.currentUserId ? await this.#deps.userStore.userById(tenantId, w.currentUserId) : undefined;
        return {
          id: w.id,
          name: w.name,
          status: w.status,
          address: w.address,
          version: w.softwareVersion,
          currentUser: u ? { id: u.id, email: u.email } : null,
          since: w.currentSince,
          lastSeenAt: w.lastSeenAt,
          sessionsBound: counts.get(w.id) ?? 0,
          createdAt: w.createdAt,
        };
      }),
    );
  }

  /** Revoke: the agent's key is refused from now on, and the sessions started on it end. */
  async revoke(tenantId: string, id: string): Promise<{ workstation: Workstation; sessionsEnded: number }> {
    const before = await this.#deps.workstationStore.get(tenantId, id);
    const ended = await this.signedOut(before, null, 'revoke');
    const workstation = await this.#deps.workstationStore.revoke(tenantId, id);
    return { workstation, sessionsEnded: ended };
  }
}

/**
 * The account a desktop user names with `gatehouse agent signin --user`, or a Kerberos
 * principal's name part: their email, or their username.
 */
export async function desktopAccount(
  userStore: Pick<UserStore, 'userByEmail' | 'userByUsername'>,
  tenantId: string,
  nameOrEmail: string,
): Promise<{ email: string } | undefined> {
  const name = nameOrEmail.trim();
  if (name.includes('@')) return { email: name.toLowerCase() };
  // The desktop's login name is the directory username (AD sAMAccountName, LDAP uid), whatever
  // the tenant's web sign-in setting: the desktop already authenticated it. Unknown: no account.
  const user = name ? await userStore.userByUsername(tenantId, name) : undefined;
  return user ? { email: user.email } : undefined;
}
