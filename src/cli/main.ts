// The `gatehouse` command. `start` runs the server in this process; every other command
// talks to a running server's admin API (never to the store), so it is safe while it runs.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import fs from 'node:fs';

type Opts = Record<string, string | boolean | string[] | undefined>;
interface Command {
  usage: string;
  summary: string;
  options?: ParseArgsConfig['options'];
  positionals?: number; // how many are required
  run(o: Opts, args: string[], out: Output): Promise<void>;
}
interface Output { json: boolean; print(human: string, data: unknown): void }

export class UsageError extends Error {}
class ApiError extends Error {}

const str = { type: 'string' } as const;
const many = { type: 'string', multiple: true } as const;
const flag = { type: 'boolean' } as const;
const tenant = { tenant: str };

// ---- talking to the server
const serverUrl = () => (process.env.GATEHOUSE_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
let cachedToken: string | undefined;

async function request(method: string, path: string, body?: unknown, auth = true): Promise<any> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth) headers.authorization = `Bearer ${await token()}`;
  let res: Response;
  try {
    res = await fetch(`${serverUrl()}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(`Cannot reach Gatehouse at ${serverUrl()}: is it running? Set GATEHOUSE_URL.`);
  }
  const text = await res.text();
  let data: any;
  try { data = text ? JSON.parse(text) : undefined; } catch { data = undefined; }
  if (!res.ok) throw new ApiError(data?.error?.message ?? `Gatehouse answered ${res.status} ${res.statusText}.`);
  return data;
}

async function token(): Promise<string> {
  if (cachedToken) return cachedToken;
  if (process.env.GATEHOUSE_ADMIN_TOKEN) return (cachedToken = process.env.GATEHOUSE_ADMIN_TOKEN);
  const email = process.env.GATEHOUSE_ADMIN_EMAIL;
  const password = process.env.GATEHOUSE_ADMIN_PASSWORD;
  if (!email || !password) throw new UsageError('Set GATEHOUSE_ADMIN_EMAIL and GATEHOUSE_ADMIN_PASSWORD (or GATEHOUSE_ADMIN_TOKEN from `gatehouse token`) to use the admin commands.');
  const r = await request('POST', '/auth/token', { email, password, tenant: process.env.GATEHOUSE_ADMIN_TENANT ?? 'default' }, false);
  return (cachedToken = r.access_token as string);
}

const need = (o: Opts, name: string): string => {
  const v = o[name];
  if (typeof v !== 'string' || !v) throw new UsageError(`--${name} is required.`);
  return v;
};
const enc = encodeURIComponent;
const lines = (rows: string[][]) => rows.map((r) => r.join('  ')).join('\n');

// ---- commands
const commands: Record<string, Command> = {
  start: {
    usage: 'gatehouse start [--import FILE] [--workers N]',
    summary: 'Start the server (settings from the environment; see docs/configuration.md).',
    options: { import: str, workers: str },
    async run(o) {
      const workers = o.workers === undefined ? 1 : Number(o.workers);
      if (!Number.isInteger(workers) || workers < 1) throw new UsageError('--workers must be a whole number of at least 1.');
      if (workers > 1) {
        console.error(process.env.DATABASE_URL
          ? 'Running one process: several workers are not supported yet. Run more nodes behind a load balancer instead.'
          : 'Running one process: the embedded SQLite store allows one Gatehouse process per data directory. Several workers need DATABASE_URL and REDIS_URL.');
      }
      await (await import('../main.ts')).main({ importFile: o.import as string | undefined });
    },
  },
  token: {
    usage: 'gatehouse token [--json]',
    summary: 'Print an admin access token (use it as GATEHOUSE_ADMIN_TOKEN; valid 1 hour).',
    async run(_o, _a, out) { const t = await token(); out.print(t, { access_token: t }); },
  },
  'tenant create': {
    usage: 'gatehouse tenant create SLUG [--name NAME] [--session-lifetime MINUTES] [--json]',
    summary: 'Create a tenant (its own issuer, keys, users and apps).',
    options: { name: str, 'session-lifetime': str }, positionals: 1,
    async run(o, [slug], out) {
      const body: Record<string, unknown> = { slug, name: o.name };
      if (o['session-lifetime'] !== undefined) body.sessionLifetimeMinutes = Number(o['session-lifetime']);
      const t = await request('POST', '/tenants', body);
      out.print(`Created tenant ${t.slug}. Issuer: ${t.issuer}`, t);
    },
  },
  'tenant show': {
    usage: 'gatehouse tenant show SLUG [--json]', summary: 'Show a tenant, its issuer and discovery URL.', positionals: 1,
    async run(_o, [slug], out) {
      const t = await request('GET', `/tenants/${enc(slug!)}`);
      out.print(lines([['slug', t.slug], ['name', t.name], ['issuer', t.issuer], ['discovery', t.discoveryUrl], ['session lifetime', t.sessionLifetimeMinutes ? `${t.sessionLifetimeMinutes} minutes` : 'off']]), t);
    },
  },
  'tenant list': {
    usage: 'gatehouse tenant list [--json]', summary: 'List tenants.',
    async run(_o, _a, out) { const r = await request('GET', '/tenants'); out.print(lines(r.items.map((t: any) => [t.slug, t.issuer])), r.items); },
  },
  'user create': {
    usage: 'gatehouse user create --tenant SLUG --email EMAIL [--password P] [--given-name G] [--family-name F] [--ou PATH] [--group NAME]... [--role ROLE]... [--json]',
    summary: 'Create a local user (email is the username).',
    options: { ...tenant, email: str, password: str, 'given-name': str, 'family-name': str, ou: str, group: many, role: many },
    async run(o, _a, out) {
      const u = await request('POST', `/tenants/${enc(need(o, 'tenant'))}/users`, {
        email: need(o, 'email'), password: o.password, givenName: o['given-name'], familyName: o['family-name'], ou: o.ou, groups: o.group, roles: o.role,
      });
      out.print(`Created user ${u.email} (${u.id}).`, u);
    },
  },
  'user list': {
    usage: 'gatehouse user list --tenant SLUG [--search TEXT] [--json]', summary: 'List users (first 200 matches).',
    options: { ...tenant, search: str },
    async run(o, _a, out) {
      const q = new URLSearchParams({ limit: '200', ...(o.search ? { search: String(o.search) } : {}) });
      const r = await request('GET', `/tenants/${enc(need(o, 'tenant'))}/users?${q}`);
      out.print(lines(r.items.map((u: any) => [u.email, u.status, [u.givenName, u.familyName].filter(Boolean).join(' ')])), r.items);
    },
  },
  'user disable': {
    usage: 'gatehouse user disable --tenant SLUG EMAIL', summary: 'Disable a user: they can no longer sign in.', options: tenant, positionals: 1,
    async run(o, [email], out) { const u = await request('PATCH', `/tenants/${enc(need(o, 'tenant'))}/users/${enc(email!)}`, { status: 'disabled' }); out.print(`${u.email} is disabled.`, u); },
  },
  'user enable': {
    usage: 'gatehouse user enable --tenant SLUG EMAIL', summary: 'Enable a disabled user.', options: tenant, positionals: 1,
    async run(o, [email], out) { const u = await request('PATCH', `/tenants/${enc(need(o, 'tenant'))}/users/${enc(email!)}`, { status: 'active' }); out.print(`${u.email} is active.`, u); },
  },
  'group create': {
    usage: 'gatehouse group create --tenant SLUG NAME', summary: 'Create a group.', options: tenant, positionals: 1,
    async run(o, [name], out) { const g = await request('POST', `/tenants/${enc(need(o, 'tenant'))}/groups`, { name }); out.print(`Created group ${g.name}.`, g); },
  },
  'group add-member': {
    usage: 'gatehouse group add-member --tenant SLUG GROUP EMAIL', summary: 'Add a user to a group.', options: tenant, positionals: 2,
    async run(o, [group, email], out) { await request('PUT', `/tenants/${enc(need(o, 'tenant'))}/groups/${enc(group!)}/members/${enc(email!)}`); out.print(`Added ${email} to ${group}.`, { group, email }); },
  },
  'ou create': {
    usage: 'gatehouse ou create --tenant SLUG PATH', summary: 'Create an OU (like /Sales/EMEA; parents are created).', options: tenant, positionals: 1,
    async run(o, [path], out) { const ou = await request('POST', `/tenants/${enc(need(o, 'tenant'))}/ous`, { path }); out.print(`Created OU ${ou.path}.`, ou); },
  },
  'app create': {
    usage: 'gatehouse app create --tenant SLUG --name NAME --display-name NAME --type web|native|spa|service [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--backchannel-logout-uri URI] [--client-id ID] [--client-secret SECRET] [--json]',
    summary: 'Create an application profile (superadmin). The client secret is shown once.',
    options: { ...tenant, name: str, 'display-name': str, type: str, 'redirect-uri': many, 'post-logout-redirect-uri': many, 'backchannel-logout-uri': str, 'client-id': str, 'client-secret': str },
    async run(o, _a, out) {
      const type = need(o, 'type');
      if (!['web', 'native', 'spa', 'service'].includes(type)) throw new UsageError('--type must be web, native, spa or service.');
      const a = await request('POST', `/tenants/${enc(need(o, 'tenant'))}/apps`, {
        name: need(o, 'name'), displayName: need(o, 'display-name'), type, redirectUris: o['redirect-uri'] ?? [], postLogoutRedirectUris: o['post-logout-redirect-uri'] ?? [],
        backchannelLogoutUri: o['backchannel-logout-uri'] ?? null, clientId: o['client-id'], clientSecret: o['client-secret'],
      });
      const human = [`Created ${a.type} app ${a.name} (${a.displayName}). It is not deployed yet: see \`gatehouse app deploy\`.`, `client_id:     ${a.clientId}`];
      if (a.clientSecret) human.push(`client_secret: ${a.clientSecret}`, 'Copy the client secret now: it is not shown again (`gatehouse app secret` makes a new one).');
      human.push(`discovery:     ${a.metadata.discoveryUrl}`);
      out.print(human.join('\n'), { ...a, client_id: a.clientId, client_secret: a.clientSecret });
    },
  },
  'app list': {
    usage: 'gatehouse app list --tenant SLUG [--json]', summary: 'List application profiles with their deployment status.', options: tenant,
    async run(o, _a, out) {
      const r = await request('GET', `/tenants/${enc(need(o, 'tenant'))}/apps`);
      out.print(lines(r.items.map((a: any) => [a.clientId, a.name, a.displayName, a.type, a.deployed ? 'Deployed' : 'Not deployed'])), r.items);
    },
  },
  'app show': {
    usage: 'gatehouse app show --tenant SLUG CLIENT_ID [--json]', summary: 'Show an application profile and its IdP metadata.', options: tenant, positionals: 1,
    async run(o, [id], out) {
      const a = await request('GET', `/tenants/${enc(need(o, 'tenant'))}/apps/${enc(id!)}`);
      out.print(lines([['client_id', a.clientId], ['name', a.name], ['display name', a.displayName], ['type', a.type], ['redirect URIs', a.redirectUris.join(', ')],
        ['deployment', a.deployment.all ? 'all users' : a.deployment.targets.map((t: any) => `${t.type} ${t.label}`).join(', ') || 'Not deployed'], ['issuer', a.metadata.issuer], ['discovery', a.metadata.discoveryUrl]]), a);
    },
  },
  'app deploy': {
    usage: 'gatehouse app deploy --tenant SLUG CLIENT_ID (--all | --user EMAIL | --group NAME | --ou PATH | --domain NAME)',
    summary: 'Deploy an app to all users or to a user, group, OU or domain.',
    options: { ...tenant, all: flag, user: str, group: str, ou: str, domain: str }, positionals: 1,
    async run(o, [id], out) {
      const picked = ['all', 'user', 'group', 'ou', 'domain'].filter((k) => o[k] !== undefined && o[k] !== false);
      if (picked.length !== 1) throw new UsageError('Give exactly one of --all, --user, --group, --ou, --domain.');
      const k = picked[0]!;
      const body = k === 'all' ? { all: true } : { type: k, ref: o[k] };
      const a = await request('POST', `/tenants/${enc(need(o, 'tenant'))}/apps/${enc(id!)}/deployment/targets`, body);
      out.print(`${a.name} is deployed to ${a.deployment.all ? 'all users' : a.deployment.targets.map((t: any) => `${t.type} ${t.label}`).join(', ')}.`, a);
    },
  },
  'app undeploy': {
    usage: 'gatehouse app undeploy --tenant SLUG CLIENT_ID', summary: 'Undeploy an app (effective at the next authorization).', options: tenant, positionals: 1,
    async run(o, [id], out) { const a = await request('DELETE', `/tenants/${enc(need(o, 'tenant'))}/apps/${enc(id!)}/deployment`); out.print(`${a.name} is not deployed.`, a); },
  },
  'app secret': {
    usage: 'gatehouse app secret --tenant SLUG CLIENT_ID [--json]', summary: 'Generate a new client secret (the old one stops working).', options: tenant, positionals: 1,
    async run(o, [id], out) {
      const r = await request('POST', `/tenants/${enc(need(o, 'tenant'))}/apps/${enc(id!)}/secret`);
      out.print(`client_secret: ${r.clientSecret}\nCopy it now: it is not shown again.`, { ...r, client_id: r.clientId, client_secret: r.clientSecret });
    },
  },
  'keys list': {
    usage: 'gatehouse keys list --tenant SLUG [--json]', summary: 'List signing keys; keys whose certificate expires within 60 days are flagged.', options: tenant,
    async run(o, _a, out) {
      const r = await request('GET', `/tenants/${enc(need(o, 'tenant'))}/keys`);
      out.print(lines(r.items.map((k: any) => [k.kid, k.alg, k.status, `certificate expires ${new Date(k.notAfter).toISOString().slice(0, 10)}`, k.expiresSoon ? 'EXPIRES WITHIN 60 DAYS: rotate' : ''])), r.items);
    },
  },
  'keys rotate': {
    usage: 'gatehouse keys rotate --tenant SLUG [--alg RS256|ES256] [--json]',
    summary: 'Rotate signing keys: the published next key starts signing; the old key stays published until its tokens expire.',
    options: { ...tenant, alg: str },
    async run(o, _a, out) {
      if (o.alg !== undefined && !['RS256', 'ES256'].includes(String(o.alg))) throw new UsageError('--alg must be RS256 or ES256.');
      const r = await request('POST', `/tenants/${enc(need(o, 'tenant'))}/keys/rotate`, { alg: o.alg });
      out.print(`Now signing with ${r.activated.join(', ')}; retired ${r.retired.join(', ')}; published next ${r.created.join(', ')}.`, r);
    },
  },
  audit: {
    usage: 'gatehouse audit --tenant SLUG [--level info|warn|error] [--type TYPE] [--text TEXT] [--limit N] [--json]',
    summary: 'Show audit events, newest first.',
    options: { ...tenant, level: str, type: str, text: str, limit: str },
    async run(o, _a, out) {
      const q = new URLSearchParams();
      for (const k of ['level', 'type', 'text', 'limit']) if (o[k] !== undefined) q.set(k, String(o[k]));
      const r = await request('GET', `/tenants/${enc(need(o, 'tenant'))}/audit?${q}`);
      out.print(lines(r.items.map((e: any) => [new Date(e.at).toISOString(), e.level, e.type, e.actor ?? '', e.subject ?? ''])), r.items);
    },
  },
};

function help(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  return [
    'Usage: gatehouse COMMAND [options]', '',
    ...Object.entries(commands).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`), '',
    'Admin commands talk to the running server at GATEHOUSE_URL (default http://localhost:3000), as',
    'GATEHOUSE_ADMIN_EMAIL / GATEHOUSE_ADMIN_PASSWORD or GATEHOUSE_ADMIN_TOKEN. --json prints JSON.',
    '`gatehouse help COMMAND` shows a command\'s options. Docs: docs/cli.md',
  ].join('\n');
}

function version(): string {
  return JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
}

export async function run(argv: string[]): Promise<void> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') { console.log(help()); return; }
  if (argv[0] === '--version') { console.log(version()); return; }
  if (argv[0] === 'help') {
    const c = commands[argv.slice(1, 3).join(' ')] ?? commands[argv[1] ?? ''];
    console.log(c ? `${c.usage}\n\n${c.summary}` : help());
    return;
  }
  const name = commands[`${argv[0]} ${argv[1]}`] ? `${argv[0]} ${argv[1]}` : argv[0]!;
  const cmd = commands[name];
  if (!cmd) { console.error(`Unknown command "${argv.slice(0, 2).join(' ')}".\n\n${help()}`); process.exitCode = 2; return; }
  const rest = argv.slice(name.split(' ').length);
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: { json: flag, help: flag, ...cmd.options }, allowPositionals: true, strict: true });
    } catch (e) { throw new UsageError((e as Error).message); }
    if (parsed.values.help) { console.log(`${cmd.usage}\n\n${cmd.summary}`); return; }
    const expected = cmd.positionals ?? 0;
    if (parsed.positionals.length !== expected) throw new UsageError(expected ? `Expected ${expected} argument${expected > 1 ? 's' : ''}.` : `Unexpected argument "${parsed.positionals[0]}".`);
    const json = parsed.values.json === true;
    const out: Output = { json, print: (human, data) => console.log(json ? JSON.stringify(data, null, 2) : human) };
    await cmd.run(parsed.values as Opts, parsed.positionals, out);
  } catch (e) {
    if (e instanceof UsageError) { console.error(`${e.message}\n\nUsage: ${cmd.usage}`); process.exitCode = 2; return; }
    if (e instanceof ApiError) { console.error(e.message); process.exitCode = 1; return; }
    throw e;
  }
}

if (import.meta.main) await run(process.argv.slice(2));
