// Desktop SSO with Kerberos (SPNEGO, RFC 4559; issue 19 part 1). Per tenant: the service
// principal and its keytab (sealed at rest, never returned), how principals map to users,
// and the address ranges Negotiate is offered to. Tickets are accepted with the `kerberos`
// npm package (GSSAPI, built against MIT krb5), loaded only when a tenant turns Kerberos on:
// an install without it runs as before and says what to install when Kerberos is turned on.
//
// GSSAPI finds the keytab through KRB5_KTNAME, which is process-wide: each tenant's keytab is
// written to a private temporary file (mode 0600, in a 0700 folder, removed at close) and the
// acceptances run one at a time with KRB5_KTNAME set to that file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Sealer } from '../shared/crypto.ts';
import type { AuditStore } from '../storage/audit.ts';
import type { KerberosMapping, KerberosSettings, KerberosStore, MappingRule } from '../storage/kerberos.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { UserStore, UserWithSecret } from '../storage/users.ts';
import { parseCidrs } from '../shared/outbound.ts';
import { GatehouseError, invalid } from '../shared/errors.ts';
import { desktopAccount } from '../workstations/service.ts';

export const DEFAULT_MAPPING: KerberosMapping = { rules: ['username', 'principal-as-email'], emailDomain: null };
export const INSTALL_HINT =
  'Kerberos needs the optional `kerberos` package, built against MIT Kerberos: on Debian or Ubuntu run `apt-get install -y libkrb5-dev build-essential python3`, then `npm install kerberos` in the Gatehouse folder, and restart Gatehouse.';

/** What the admin API shows: never the keytab. */
export interface KerberosView {
  enabled: boolean;
  realm: string;
  principal: string;
  hasKeytab: boolean;
  mapping: KerberosMapping;
  negotiateFrom: string[];
  updatedAt: number;
  available: boolean;
}

export type Fallback = 'invalid_ticket' | 'ticket_expired' | 'wrong_service' | 'unknown_user' | 'disabled_user' | 'unavailable';

export interface KerberosServiceDeps {
  logger: Logger;
  sealer: Sealer;
  kerberosStore: KerberosStore;
  userStore: Pick<UserStore, 'userByEmail' | 'userByUsername'>;
  auditStore: AuditStore;
}

type Gss = { initializeServer(service: string): Promise<{ step(token: string): Promise<string>; username: string }> };

let loaded: Promise<Gss | undefined> | undefined;
/** The GSSAPI binding, or undefined when it is not installed (asked once). */
export function loadGss(): Promise<Gss | undefined> {
  return (loaded ??= import('kerberos').then(
    // A CommonJS addon without types: its exports arrive as `default` or as the namespace itself.
    (m) => (m as { default?: Gss }).default ?? (m as unknown as Gss),
    () => undefined,
  ));
}

export class KerberosService {
  readonly #deps: KerberosServiceDeps;
  #dir: string | undefined;
  /** Acceptances one at a time: KRB5_KTNAME is process-wide. */
  #queue: Promise<unknown> = Promise.resolve();
  constructor(deps: KerberosServiceDeps) {
    this.#deps = deps;
  }

  async view(tenantId: string): Promise<KerberosView | undefined> {
    const s = await this.#deps.kerberosStore.get(tenantId);
    return (
      s && {
        enabled: s.enabled,
        realm: s.realm,
        principal: s.principal,
        hasKeytab: !!s.sealedKeytab,
        mapping: s.mapping,
        negotiateFrom: s.negotiateFrom,
        updatedAt: s.updatedAt,
        available: !!(await loadGss()),
      }
    );
  }

  /** Turn Kerberos on for the tenant (or change it); refused with what to install when the binding is missing. */
  async set(
    tenantId: string,
    input: { keytab?: string; principal: string; realm?: string; negotiateFrom?: string[]; mapping?: Partial<KerberosMapping> },
  ): Promise<KerberosView> {
    if (!(await loadGss())) throw new GatehouseError(409, 'kerberos_unavailable', INSTALL_HINT);
    const m = /^([^/@\s]+)\/([^/@\s]+)@([^@\s]+)$/.exec(input.principal.trim());
    if (!m) throw invalid(`The service principal must look like HTTP/sso.example.org@CORP.EXAMPLE.ORG; got "${input.principal}".`);
    const realm = (input.realm ?? m[3]!).trim();
    if (realm !== m[3])
      throw invalid(`The principal's realm ${m[3]} is not the realm ${realm}. Give the principal in the realm, like ${m[1]}/${m[2]}@${realm}.`);
    const before = await this.#deps.kerberosStore.get(tenantId);
    let sealedKeytab = before?.sealedKeytab;
    if (input.keytab !== undefined) {
      const bytes = Buffer.from(input.keytab, 'base64');
      // MIT/Heimdal keytab files start with 0x05 0x02 (version 2).
      if (bytes.length < 4 || bytes[0] !== 5 || bytes[1] !== 2 || bytes.length > 1024 * 1024)
        throw invalid(
          'The keytab is not a Kerberos keytab file (version 0x0502), or is larger than 1 MB. Export it with ktutil or `kadmin ktadd -k FILE`, and send it base64-encoded.',
        );
      sealedKeytab = this.#deps.sealer.seal(input.keytab);
    }
    if (!sealedKeytab) throw invalid('A keytab is needed the first time: send the service principal\'s keytab (base64) in "keytab".');
    const negotiateFrom = input.negotiateFrom ?? before?.negotiateFrom ?? [];
    const cidrs = parseCidrs(negotiateFrom.join(','));
    if (cidrs.problem) throw invalid(`negotiateFrom: ${cidrs.problem}.`);
    const mapping: KerberosMapping = { ...DEFAULT_MAPPING, ...before?.mapping, ...input.mapping };
    if (mapping.rules.includes('name-at-email-domain') && !mapping.emailDomain)
      throw invalid('The mapping rule name-at-email-domain needs mapping.emailDomain (like example.org).');
    await this.#deps.kerberosStore.put({ tenantId, enabled: true, realm, principal: input.principal.trim(), sealedKeytab, mapping, negotiateFrom });
    return (await this.view(tenantId))!;
  }

  async disable(tenantId: string): Promise<boolean> {
    return this.#deps.kerberosStore.disable(tenantId);
  }

  /** The tenant's settings when Negotiate is offered to this address. */
  async offeredTo(tenantId: string, ip: string): Promise<KerberosSettings | undefined> {
    const s = await this.#deps.kerberosStore.get(tenantId);
    if (!s?.enabled) return undefined;
    if (!s.negotiateFrom.length) return s;
    const list = new net.BlockList();
    for (const r of parseCidrs(s.negotiateFrom.join(',')).ranges) list.addSubnet(r.address, r.prefix, r.family);
    const a = ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
    return list.check(a, net.isIP(a) === 6 ? 'ipv6' : 'ipv4') ? s : undefined;
  }

  /**
   * A Negotiate token from the browser: the user it names, or why not (audited by the caller
   * together with the sign-in it was for). Only Kerberos tickets of the tenant's realm count.
   */
  async accept(
    tenant: Tenant,
    s: KerberosSettings,
    token: string,
  ): Promise<{ ok: true; user: UserWithSecret; principal: string } | { ok: false; reason: Fallback; principal?: string; detail?: string }> {
    const gss = await loadGss();
    if (!gss) return { ok: false, reason: 'unavailable', detail: INSTALL_HINT };
    let principal: string;
    try {
      principal = await this.#run(s, async () => {
        const server = await gss.initializeServer('');
        await server.step(token);
        return server.username;
      });
    } catch (e) {
      const msg = (e as Error).message ?? String(e);
      const reason: Fallback = /expired/i.test(msg)
        ? 'ticket_expired'
        : /wrong principal|no key table entry|cannot find key|not found in keytab|decrypt integrity|key version/i.test(msg)
          ? 'wrong_service'
          : 'invalid_ticket';
      return { ok: false, reason, detail: msg.slice(0, 300) };
    }
    const at = principal.lastIndexOf('@');
    const name = principal.slice(0, at),
      realm = principal.slice(at + 1);
    if (at <= 0 || realm !== s.realm) return { ok: false, reason: 'unknown_user', principal, detail: `the principal is not of the realm ${s.realm}` };
    const user = await this.#map(tenant, s.mapping, name, realm);
    if (!user) return { ok: false, reason: 'unknown_user', principal };
    if (user.status !== 'active') return { ok: false, reason: 'disabled_user', principal };
    return { ok: true, user, principal };
  }

  async #map(tenant: Tenant, mapping: KerberosMapping, name: string, realm: string): Promise<UserWithSecret | undefined> {
    const tries: Record<MappingRule, () => Promise<UserWithSecret | undefined>> = {
      // The principal's name part is the directory username (sAMAccountName): the same lookup as the workstation agent's.
      username: async () => {
        const a = await desktopAccount(this.#deps.userStore, tenant.id, name);
        return a && this.#deps.userStore.userByEmail(tenant.id, a.email);
      },
      'principal-as-email': () => this.#deps.userStore.userByEmail(tenant.id, `${name}@${realm}`.toLowerCase()),
      'name-at-email-domain': async () =>
        mapping.emailDomain ? this.#deps.userStore.userByEmail(tenant.id, `${name}@${mapping.emailDomain}`.toLowerCase()) : undefined,
    };
    for (const rule of mapping.rules) {
      const u = await tries[rule]?.();
      if (u) return u;
    }
    return undefined;
  }

  #run<T>(s: KerberosSettings, fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      const file = this.#keytabFile(s);
      const previous = process.env.KRB5_KTNAME;
      process.env.KRB5_KTNAME = `FILE:${file}`;
      try {
        return await fn();
      } finally {
        if (previous === undefined) delete process.env.KRB5_KTNAME;
        else process.env.KRB5_KTNAME = previous;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #keytabFile(s: KerberosSettings): string {
    this.#dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-krb-'));
    const file = path.join(this.#dir, `${crypto.createHash('sha256').update(s.sealedKeytab).digest('hex').slice(0, 24)}.keytab`);
    if (!fs.existsSync(file)) fs.writeFileSync(file, Buffer.from(this.#deps.sealer.open(s.sealedKeytab), 'base64'), { mode: 0o600 });
    return file;
  }

  close(): void {
    if (this.#dir) fs.rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}
