// User policies: named settings assigned to all users, domains, OUs, groups or users. A user
// gets the first policy, by priority (1 first), with a target that matches them; without one,
// the defaults below. Precedence is therefore explicit and shown in every list.
import { z } from 'zod';
import net from 'node:net';
import type { UserStore } from '../storage/users.ts';
import type { AppService } from '../apps/service.ts';
import type { Bus } from '../ops/bus.ts';
import type { PolicyStore, StoredPolicy } from '../storage/policies.ts';
import type { UserWithSecret } from '../storage/users.ts';
import { GatehouseError, invalid, notFound } from '../shared/errors.ts';
import { TenantCache } from '../ops/tenant-cache.ts';
import { policySettingsWith } from './settings.ts';

const cidr = z
  .string()
  .trim()
  .refine((s) => parseCidr(s) !== undefined, 'must be a network like 10.0.0.0/8 or 2001:db8::/32');

export const policySettings = policySettingsWith(cidr);
export type PolicySettings = z.infer<typeof policySettings>;
export const DEFAULT_SETTINGS: PolicySettings = policySettings.parse({});

export type TargetType = 'all' | 'user' | 'group' | 'ou' | 'domain';
export interface PolicyTarget {
  type: TargetType;
  id: string;
}
export interface UserPolicy {
  id: string;
  tenantId: string;
  name: string;
  priority: number;
  targets: PolicyTarget[];
  settings: PolicySettings;
  version: number;
  createdAt: number;
  updatedAt: number;
}

/** Stored settings with the defaults of fields added since they were saved (the lockout's maximum, ...). */
const withDefaults = (p: StoredPolicy): UserPolicy => {
  const v = p.settings as Partial<PolicySettings>;
  return { ...p, targets: p.targets as PolicyTarget[], settings: { ...DEFAULT_SETTINGS, ...v, lockout: { ...DEFAULT_SETTINGS.lockout, ...v.lockout } } };
};

function parseCidr(s: string): { family: 'ipv4' | 'ipv6'; net: string; bits: number } | undefined {
  const [addr, bitsText] = s.split('/');
  const v = net.isIP(addr ?? '');
  if (!v || bitsText === undefined || !/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > (v === 4 ? 32 : 128)) return undefined;
  return { family: v === 4 ? 'ipv4' : 'ipv6', net: addr!, bits };
}

/** Is the address inside one of the networks? (IPv4-mapped IPv6 addresses count as IPv4.) */
export function inNetworks(ip: string, cidrs: string[]): boolean {
  const addr = ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  const list = new net.BlockList();
  for (const c of cidrs) {
    const p = parseCidr(c);
    if (p) list.addSubnet(p.net, p.bits, p.family);
  }
  const family = net.isIPv4(addr) ? 'ipv4' : net.isIPv6(addr) ? 'ipv6' : undefined;
  return !!family && list.check(addr, family);
}

export interface PolicyServiceDeps {
  policyStore: PolicyStore;
  userStore: UserStore;
  appService: Pick<AppService, 'resolveTarget'>;
  bus: Bus;
}

export class PolicyService {
  readonly #deps: PolicyServiceDeps;
  readonly #store: PolicyStore;
  /** Policies by tenant: read at every sign-in and authorization, changed rarely. */
  readonly #cache: TenantCache<UserPolicy[]>;
  constructor(deps: PolicyServiceDeps) {
    this.#deps = deps;
    const store = deps.policyStore;
    this.#store = store;
    this.#cache = new TenantCache(deps.bus, 'policies', (tenantId) => store.list(tenantId).then((rows) => rows.map(withDefaults)));
  }

  list(tenantId: string): Promise<UserPolicy[]> {
    return this.#cache.get(tenantId);
  }

  #changed(tenantId: string): Promise<void> {
    return this.#cache.changed(tenantId);
  }

  async get(tenantId: string, id: string): Promise<UserPolicy> {
    const p = (await this.list(tenantId)).find((x) => x.id === id || x.name === id);
    if (!p) throw notFound(`Policy ${id}`);
    return p;
  }

  /** Resolve targets given by name (email, group name, OU path, domain) to stored ids. */
  async resolveTargets(tenantId: string, targets: Array<{ type: TargetType; ref?: string }>): Promise<PolicyTarget[]> {
    const out: PolicyTarget[] = [];
    for (const t of targets) {
      if (t.type === 'all') {
        out.push({ type: 'all', id: '*' });
        continue;
      }
      if (!t.ref)
        throw invalid(
          `A ${t.type} target needs "ref" (the ${t.type === 'user' ? 'email' : t.type === 'ou' ? 'OU path' : t.type === 'group' ? 'group name' : 'domain'}).`,
        );
      out.push(await this.#deps.appService.resolveTarget(tenantId, t.type, t.ref));
    }
    return out;
  }

  /**
   * Rules the settings must keep as a whole: passwordless passkeys mean nothing unless
   * passkeys are an allowed factor (the sign-in would silently ignore the switch).
   */
  #checkSettings(settings: PolicySettings): void {
    if (settings.passwordlessPasskeys && !settings.allowedFactors.includes('webauthn')) {
      const message = 'Passwordless passkeys need passkeys allowed: add "webauthn" to allowedFactors, or turn passwordlessPasskeys off.';
      throw invalid(message, { problems: [{ field: 'settings.passwordlessPasskeys', in: 'body', message }] });
    }
  }

  /**
   * Two policies with one priority would leave precedence to their names, which nobody
   * chose: refuse, naming the policy that has it.
   */
  async #checkPriority(tenantId: string, priority: number, exceptId?: string): Promise<void> {
    const other = (await this.#store.withPriority(tenantId, priority)).find((r) => r.id !== exceptId);
    if (other) {
      const message = `The policy "${other.name}" already has priority ${priority}. Choose a priority no other policy has (1 applies first), or change "${other.name}" first.`;
      throw new GatehouseError(409, 'conflict', message, {
        problems: [{ field: 'priority', in: 'body', message }],
        policy: { id: other.id, name: other.name },
      });
    }
  }

  async create(tenantId: string, input: { name: string; priority: number; targets: PolicyTarget[]; settings: PolicySettings }): Promise<UserPolicy> {
    this.#checkSettings(input.settings);
    await this.#checkPriority(tenantId, input.priority);
    const created = await this.#store.create(tenantId, input);
    await this.#changed(tenantId);
    return withDefaults(created);
  }

  async update(
    tenantId: string,
    id: string,
    version: number | undefined,
    patch: { name?: string; priority?: number; targets?: PolicyTarget[]; settings?: PolicySettings },
  ): Promise<UserPolicy> {
    if (patch.settings) this.#checkSettings(patch.settings);
    if (patch.priority !== undefined) await this.#checkPriority(tenantId, patch.priority, id);
    await this.#store.update(tenantId, id, version, patch);
    await this.#changed(tenantId);
    return this.get(tenantId, id);
  }

  async delete(tenantId: string, id: string): Promise<void> {
    await this.#store.delete(tenantId, id);
    await this.#changed(tenantId);
  }

  /** The policy that applies to this user (undefined: the defaults): policyFor, with the memberships it asks for. */
  async effective(user: UserWithSecret): Promise<UserPolicy | undefined> {
    const policies = await this.list(user.tenantId);
    const who: PolicySubject = { id: user.id, domain: user.domain };
    for (;;) {
      const r = policyFor(policies, who);
      if ('policy' in r) return r.policy;
      if (r.needs === 'groupIds') who.groupIds = (await this.#deps.userStore.groupsOfUser(user.tenantId, user.id)).map((g) => g.id);
      else {
        const ous: string[] = [];
        for (let id = user.ouId; id; id = (await this.#deps.userStore.ouById(user.tenantId, id))?.parentId ?? null) ous.push(id);
        who.ouIds = ous;
      }
    }
  }

  async settingsFor(user: UserWithSecret): Promise<PolicySettings> {
    return (await this.effective(user))?.settings ?? DEFAULT_SETTINGS;
  }
}

/** Who a policy may target: the user, their domain, and (once looked up) their groups and the OU chain from theirs up to the root. */
export interface PolicySubject {
  id: string;
  domain: string;
  groupIds?: string[];
  ouIds?: string[];
}

/**
 * Precedence: the first policy by priority (1 first) with a target that matches the user;
 * undefined when none does (the defaults apply). Memberships cost a query each, so they are
 * asked for only when a policy reached before any match targets a group or an OU: `needs`
 * names what to look up, and the caller asks again with it.
 */
export function policyFor(policies: readonly UserPolicy[], who: PolicySubject): { policy: UserPolicy | undefined } | { needs: 'groupIds' | 'ouIds' } {
  // Priorities are unique (#checkPriority); a stable sort keeps the store's order otherwise.
  for (const p of [...policies].sort((a, b) => a.priority - b.priority)) {
    for (const t of p.targets) {
      if (t.type === 'all' || (t.type === 'user' && t.id === who.id) || (t.type === 'domain' && t.id === who.domain)) return { policy: p };
      if (t.type === 'group') {
        if (!who.groupIds) return { needs: 'groupIds' };
        if (who.groupIds.includes(t.id)) return { policy: p };
      }
      if (t.type === 'ou') {
        if (!who.ouIds) return { needs: 'ouIds' };
        if (who.ouIds.includes(t.id)) return { policy: p };
      }
    }
  }
  return { policy: undefined };
}

export type FactorType = PolicySettings['allowedFactors'][number];

/** Does the policy let passkeys sign in on their own? */
export const passwordlessAllowed = (s: PolicySettings) => s.passwordlessPasskeys && s.allowedFactors.includes('webauthn');

/** Does the policy require a second factor for this sign-in? */
export function policyRequiresMfa(s: PolicySettings, at: { ip: string; clientId?: string }): boolean {
  switch (s.mfa.required) {
    case 'never':
      return false;
    case 'always':
      return true;
    case 'outside_trusted_networks':
      return !inNetworks(at.ip, s.mfa.trustedNetworks);
    case 'selected_apps':
      return !!at.clientId && s.mfa.apps.includes(at.clientId);
  }
}
