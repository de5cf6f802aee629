// Upstream directories (Entra ID, Okta, Cognito, any OpenID provider) that users are routed
// to by their email domain: create, list, show, update, test (discovery), delete.
import { flag, has, jsonObject, list, many, need, oneOf, onOff, opt, paging, secretArg, str, tenant, UsageError, type Command, type Opts } from '../args.ts';
import { ApiError, enc, everything, inTenant, listing, request } from '../client.ts';
import { iso, printList, table } from '../output.ts';
import type { Upstream, UpstreamCheck } from '../types.ts';

const TYPES = ['entra', 'okta', 'cognito', 'oidc'] as const;
const MODES = ['disabled', 'test', 'enabled'] as const;

const settingFlags = {
  type: str,
  'client-id': str,
  'entra-tenant': str,
  'authority-url': str,
  'discovery-url': str,
  domain: many,
  scope: many,
  'test-user': many,
  audience: str,
  'login-hint': str,
  'show-button': str,
  settings: str,
};
const SETTING_USAGE =
  '[--entra-tenant ID | --authority-url URL | --discovery-url URL] [--domain DOMAIN]... [--scope SCOPE]... [--test-user EMAIL]... [--audience staff|all] [--login-hint on|off] [--show-button on|off] [--settings JSON|@FILE]';

/** The upstream settings the flags give (over --settings, which carries claims mapping and gates). */
function settingsFrom(o: Opts): Record<string, unknown> {
  const s: Record<string, unknown> = { ...jsonObject(o, 'settings') };
  const put = (key: string, v: unknown) => {
    if (v !== undefined) s[key] = v;
  };
  put('type', oneOf(o, 'type', TYPES));
  put('clientId', opt(o, 'client-id'));
  put('entraTenant', opt(o, 'entra-tenant'));
  put('authorityUrl', opt(o, 'authority-url'));
  put('discoveryUrl', opt(o, 'discovery-url'));
  put('domains', list(o, 'domain'));
  put('scopes', list(o, 'scope'));
  put('testUsers', list(o, 'test-user'));
  put('audience', oneOf(o, 'audience', ['staff', 'all']));
  put('loginHint', onOff(o, 'login-hint'));
  put('showButton', onOff(o, 'show-button'));
  return s;
}

/**
 * The API path of the upstream a person names: the API finds upstreams by id only, and people
 * know them by name (the list is short: fetch it and match either).
 */
async function upstreamPath(o: Opts, ref: string): Promise<string> {
  const base = `${inTenant(o)}/upstreams`;
  const all = await everything<Upstream>(`${base}?search=${enc(ref)}`);
  const u = all.find((x) => x.name === ref || x.id === ref) ?? all.find((x) => x.name.toLowerCase() === ref.toLowerCase());
  if (!u) {
    if (ref.startsWith('ups_')) return `${base}/${enc(ref)}`; // an id the search does not match: let the API answer
    throw new ApiError(`Upstream directory "${ref}" was not found. \`gatehouse upstream list --tenant ${opt(o, 'tenant')}\` shows their names.`);
  }
  return `${base}/${enc(u.id)}`;
}

const checkText = (c: UpstreamCheck | null) => (c ? `${c.ok ? 'ok' : `FAILED: ${c.message ?? ''}`} (${iso(c.checkedAt)})` : 'not checked yet');

function describe(u: Upstream): string {
  return table(
    [
      ['name', u.name],
      ['mode', u.mode],
      ['type', u.type],
      ['issuer', u.issuer],
      ['discovery', u.discoveryUrl],
      ['client ID', u.clientId],
      ['client secret', u.hasClientSecret ? 'set' : 'none'],
      ['domains', u.domains.join(', ') || '-'],
      ['audience', u.audience],
      ['test users', u.testUsers.join(', ') || '-'],
      ['scopes', u.scopes.join(' ')],
      ['redirect URL', `${u.redirectUrl} (register it at the upstream)`],
      ['last check', checkText(u.lastCheck)],
    ],
    '',
  );
}

export const upstreamCommands: Record<string, Command> = {
  'upstream list': {
    usage: 'gatehouse upstream list --tenant SLUG [--search TEXT] [--limit N] [--cursor CURSOR] [--json]',
    summary: 'List upstream directories (Entra ID, Okta, Cognito, OpenID providers): mode, type, domains, last discovery check.',
    options: { ...tenant, search: str, ...paging },
    async run(o, _a, out) {
      const search = opt(o, 'search');
      printList(
        out,
        await listing<Upstream>(o, `${inTenant(o)}/upstreams${search ? `?search=${enc(search)}` : ''}`),
        (u) => [u.name, u.mode, u.type, u.domains.join(',') || '-', checkText(u.lastCheck)],
        'No upstream directories.',
      );
    },
  },
  'upstream show': {
    usage: 'gatehouse upstream show --tenant SLUG NAME [--json]',
    summary: 'Show an upstream directory (never its client secret) and the redirect URL to register there.',
    options: tenant,
    positionals: 1,
    async run(o, [name], out) {
      const u = await request<Upstream>('GET', await upstreamPath(o, name!));
      out.print(describe(u), u);
    },
  },
  'upstream create': {
    usage: `gatehouse upstream create --tenant SLUG --name NAME --type entra|okta|cognito|oidc --client-id ID [--client-secret SECRET|-] [--mode disabled|test|enabled] ${SETTING_USAGE} [--confirm] [--json]`,
    summary:
      'Add an upstream directory (superadministrators); its discovery document is fetched and checked. Mode defaults to disabled; test routes only --test-user accounts.',
    options: { ...tenant, name: str, 'client-secret': str, mode: str, confirm: flag, ...settingFlags },
    async run(o, _a, out) {
      const name = need(o, 'name');
      const settings = settingsFrom(o);
      if (settings.type === undefined) throw new UsageError('--type is required (entra, okta, cognito or oidc).');
      if (settings.clientId === undefined) throw new UsageError('--client-id is required: the application (client) ID registered at the upstream.');
      const clientSecret = await secretArg(o, 'client-secret', 'client secret');
      const u = await request<Upstream>('POST', `${inTenant(o)}/upstreams`, {
        ...settings,
        name,
        mode: oneOf(o, 'mode', MODES),
        clientSecret,
        ...(has(o, 'confirm') && { confirm: true }),
      });
      out.print(`Created upstream ${u.name} (${u.mode}).\n${describe(u)}`, u);
    },
  },
  'upstream update': {
    usage: `gatehouse upstream update --tenant SLUG NAME [--name NEW_NAME] [--mode disabled|test|enabled] [--client-id ID] [--client-secret SECRET|-|none] ${SETTING_USAGE} [--confirm] [--json]`,
    summary: 'Change an upstream directory: only what is given changes; changed settings are checked as a whole (discovery is fetched again).',
    options: { ...tenant, name: str, 'client-secret': str, mode: str, confirm: flag, ...settingFlags },
    positionals: 1,
    async run(o, [name], out) {
      const settings = settingsFrom(o);
      const secret = opt(o, 'client-secret') === 'none' ? null : await secretArg(o, 'client-secret', 'client secret');
      const body = {
        name: opt(o, 'name'),
        mode: oneOf(o, 'mode', MODES),
        ...(secret !== undefined && { clientSecret: secret }),
        ...(Object.keys(settings).length && { settings }),
        ...(has(o, 'confirm') && { confirm: true }),
      };
      if (Object.values(body).every((v) => v === undefined)) throw new UsageError('Give at least one change (--name, --mode, --client-secret or a setting).');
      const u = await request<Upstream>('PATCH', await upstreamPath(o, name!), body);
      out.print(`Saved upstream ${u.name}.\n${describe(u)}`, u);
    },
  },
  'upstream test': {
    usage: 'gatehouse upstream test --tenant SLUG NAME [--json]',
    summary: "Check the upstream's discovery document now (as the hourly check does); exit 1 when it fails.",
    options: tenant,
    positionals: 1,
    async run(o, [name], out) {
      const r = await request<UpstreamCheck>('POST', `${await upstreamPath(o, name!)}/test`);
      out.print(r.ok ? `${name}: discovery is reachable and valid.` : `${name}: ${r.message ?? 'the check failed.'}`, r);
      if (!r.ok) process.exitCode = 1;
    },
  },
  'upstream delete': {
    usage: 'gatehouse upstream delete --tenant SLUG NAME [--json]',
    summary: 'Delete an upstream directory (superadministrators): its users become local users.',
    options: tenant,
    positionals: 1,
    async run(o, [name], out) {
      await request<void>('DELETE', await upstreamPath(o, name!));
      out.print(`Deleted upstream ${name}; its users are local now.`, { name, deleted: true });
    },
  },
};
