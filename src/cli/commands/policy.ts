// User policies (SSO, two-step verification, session lifetime, lockout), in precedence order.
import { jsonObject, list, many, need, oneOf, onOff, opt, paging, str, tenant, whole, UsageError, type Command, type Opts } from '../args.ts';
import { enc, inTenant, listing, request } from '../client.ts';
import { printList, table } from '../output.ts';
import type { Policy } from '../types.ts';
import type { PolicySettings } from '../types.ts';

const TARGET_TYPES = ['all', 'user', 'group', 'ou', 'domain'] as const;
const MFA = ['never', 'always', 'outside_trusted_networks', 'selected_apps'] as const;

/** --target all | user:EMAIL | group:NAME | ou:PATH | domain:NAME */
function targets(o: Opts): Array<{ type: string; ref?: string }> | undefined {
  const given = list(o, 'target');
  if (!given) return undefined;
  return given.map((t) => {
    if (t === 'all') return { type: 'all' };
    const i = t.indexOf(':');
    const type = TARGET_TYPES.find((x) => x !== 'all' && x === t.slice(0, i));
    if (i < 0 || !type || i === t.length - 1) throw new UsageError(`--target must be all, user:EMAIL, group:NAME, ou:PATH or domain:NAME; got "${t}".`);
    return { type, ref: t.slice(i + 1) };
  });
}

const settingFlags = {
  mfa: str,
  'trusted-network': many,
  'mfa-app': many,
  factors: str,
  'number-matching': str,
  'passwordless-passkeys': str,
  sso: str,
  'remember-device-days': str,
  'session-lifetime': str,
  'lockout-threshold': str,
  'lockout-minutes': str,
  settings: str,
};
const SETTING_USAGE =
  '[--sso on|off] [--mfa never|always|outside_trusted_networks|selected_apps] [--trusted-network CIDR]... [--mfa-app CLIENT_ID]... [--factors totp,webauthn,push] [--number-matching on|off] [--passwordless-passkeys on|off] [--remember-device-days N] [--session-lifetime MINUTES|default] [--lockout-threshold N] [--lockout-minutes N] [--settings JSON|@FILE]';

/**
 * The settings the flags give, over `base` (the current settings for an update; nested
 * objects merged here, as the API merges only the top level). Only keys that changed are returned.
 */
function settingsFrom(o: Opts, base: Partial<PolicySettings>): Record<string, unknown> {
  const s: Record<string, unknown> = { ...jsonObject(o, 'settings') };
  const mfa: Record<string, unknown> = {};
  const mfaRequired = oneOf(o, 'mfa', MFA);
  if (mfaRequired) mfa.required = mfaRequired;
  if (list(o, 'trusted-network')) mfa.trustedNetworks = list(o, 'trusted-network');
  if (list(o, 'mfa-app')) mfa.apps = list(o, 'mfa-app');
  if (Object.keys(mfa).length) s.mfa = { ...base.mfa, ...(s.mfa as object | undefined), ...mfa };
  const factors = opt(o, 'factors');
  if (factors !== undefined)
    s.allowedFactors = factors
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
  const flags: Array<[string, keyof PolicySettings]> = [
    ['number-matching', 'numberMatching'],
    ['passwordless-passkeys', 'passwordlessPasskeys'],
    ['sso', 'ssoEnabled'],
  ];
  for (const [name, key] of flags) {
    const v = onOff(o, name);
    if (v !== undefined) s[key] = v;
  }
  const days = whole(o, 'remember-device-days');
  if (days !== undefined) s.rememberDeviceDays = days;
  const lifetime = opt(o, 'session-lifetime');
  if (lifetime !== undefined) s.sessionLifetimeMinutes = lifetime === 'default' ? null : whole(o, 'session-lifetime');
  const lockout: Record<string, unknown> = {};
  const threshold = whole(o, 'lockout-threshold');
  const minutes = whole(o, 'lockout-minutes');
  if (threshold !== undefined) lockout.threshold = threshold;
  if (minutes !== undefined) lockout.durationMinutes = minutes;
  if (Object.keys(lockout).length) s.lockout = { ...base.lockout, ...(s.lockout as object | undefined), ...lockout };
  return s;
}

/** The settings in words, one per line. */
export function describeSettings(s: PolicySettings): string {
  const mfa =
    s.mfa.required === 'never'
      ? 'never'
      : s.mfa.required === 'outside_trusted_networks'
        ? `outside trusted networks (${s.mfa.trustedNetworks.join(', ') || 'none listed'})`
        : s.mfa.required === 'selected_apps'
          ? `for selected apps (${s.mfa.apps.join(', ') || 'none listed'})`
          : 'always';
  return table(
    [
      ['sign-in to apps', s.ssoEnabled ? 'allowed' : 'OFF (the user cannot sign in to applications)'],
      ['two-step verification', mfa],
      ['factors', s.allowedFactors.join(', ')],
      ['number matching', s.numberMatching ? 'on' : 'off'],
      ['passwordless passkeys', s.passwordlessPasskeys ? 'on' : 'off'],
      ['remember browser', s.rememberDeviceDays ? `${s.rememberDeviceDays} days` : 'off'],
      ['session lifetime', s.sessionLifetimeMinutes === null ? "the tenant's" : `${s.sessionLifetimeMinutes} minutes`],
      ['lockout', `after ${s.lockout.threshold} failures, for ${s.lockout.durationMinutes} minutes`],
    ],
    '',
  );
}

const targetText = (p: Policy) => p.targets.map((t) => (t.type === 'all' ? 'all users' : `${t.type} ${t.label}`)).join(', ') || 'nobody';
const describe = (p: Policy) =>
  `${table(
    [
      ['name', p.name],
      ['priority', String(p.priority)],
      ['applies to', targetText(p)],
    ],
    '',
  )}\n${describeSettings(p.settings)}`;

export const policyCommands: Record<string, Command> = {
  'policy list': {
    usage: 'gatehouse policy list --tenant SLUG [--search TEXT] [--limit N] [--cursor CURSOR] [--json]',
    summary: 'List user policies in precedence order: the first (by priority, 1 first) whose target matches a user applies to them.',
    options: { ...tenant, search: str, ...paging },
    async run(o, _a, out) {
      const search = opt(o, 'search');
      printList(
        out,
        await listing<Policy>(o, `${inTenant(o)}/policies${search ? `?search=${enc(search)}` : ''}`),
        (p) => [String(p.priority), p.name, targetText(p), `MFA ${p.settings.mfa.required.replace(/_/g, ' ')}`],
        'No policies: every user gets the defaults.',
      );
    },
  },
  'policy show': {
    usage: 'gatehouse policy show --tenant SLUG NAME [--json]',
    summary: 'Show a user policy: priority, targets and settings.',
    options: tenant,
    positionals: 1,
    async run(o, [name], out) {
      const p = await request<Policy>('GET', `${inTenant(o)}/policies/${enc(name!)}`);
      out.print(describe(p), p);
    },
  },
  'policy create': {
    usage: `gatehouse policy create --tenant SLUG --name NAME --priority N [--target all|user:EMAIL|group:NAME|ou:PATH|domain:NAME]... ${SETTING_USAGE} [--json]`,
    summary: 'Create a user policy (settings not given keep their defaults; see docs/mfa.md).',
    options: { ...tenant, name: str, priority: str, target: many, ...settingFlags },
    async run(o, _a, out) {
      const priority = whole(o, 'priority');
      if (priority === undefined) throw new UsageError('--priority is required (1 is considered first).');
      const p = await request<Policy>('POST', `${inTenant(o)}/policies`, {
        name: need(o, 'name'),
        priority,
        targets: targets(o),
        settings: settingsFrom(o, {}),
      });
      out.print(`Created policy ${p.name}.\n${describe(p)}`, p);
    },
  },
  'policy update': {
    usage: `gatehouse policy update --tenant SLUG NAME [--name NEW_NAME] [--priority N] [--target all|user:EMAIL|group:NAME|ou:PATH|domain:NAME]... ${SETTING_USAGE} [--json]`,
    summary: 'Change a user policy: only what is given changes (--target replaces every target).',
    options: { ...tenant, name: str, priority: str, target: many, ...settingFlags },
    positionals: 1,
    async run(o, [name], out) {
      const path = `${inTenant(o)}/policies/${enc(name!)}`;
      const current = await request<Policy>('GET', path);
      const settings = settingsFrom(o, current.settings);
      const body = {
        name: opt(o, 'name'),
        priority: whole(o, 'priority'),
        targets: targets(o),
        ...(Object.keys(settings).length && { settings }),
        version: current.version,
      };
      if (Object.values(body).filter((v) => v !== undefined).length === 1)
        throw new UsageError('Give at least one change (--name, --priority, --target or a setting).');
      const p = await request<Policy>('PATCH', path, body);
      out.print(`Saved policy ${p.name}.\n${describe(p)}`, p);
    },
  },
  'policy delete': {
    usage: 'gatehouse policy delete --tenant SLUG NAME [--json]',
    summary: 'Delete a user policy (its users get the next matching policy, or the defaults).',
    options: tenant,
    positionals: 1,
    async run(o, [name], out) {
      await request<void>('DELETE', `${inTenant(o)}/policies/${enc(name!)}`);
      out.print(`Deleted policy ${name}.`, { name, deleted: true });
    },
  },
};
