// The `gatehouse` command. `start` runs the server in this process; every other command
// talks to a running server's admin API (never to the store), so it is safe while it runs.
// Exit codes: 0 done, 1 the server refused or could not be reached, 2 bad arguments or settings.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import fs from 'node:fs';

type Opts = Record<string, string | boolean | string[] | undefined>;
interface Command {
  usage: string;
  summary: string;
  options?: ParseArgsConfig['options'];
  positionals?: number; // exactly this many
  json?: false; // the command does not print JSON (start)
  run(o: Opts, args: string[], out: Output): Promise<void>;
}
interface Output { json: boolean; print(human: string, data: unknown): void }

/** Bad arguments: the message and the command's usage go to stderr, exit 2. */
export class UsageError extends Error {}
/** Missing or unusable settings (credentials, GATEHOUSE_URL): the message goes to stderr, exit 2. */
class SetupError extends Error {}
/** The server refused or could not be reached: its message goes to stderr, exit 1. */
class ApiError extends Error {}

const str = { type: 'string' } as const;
const many = { type: 'string', multiple: true } as const;
const flag = { type: 'boolean' } as const;
const tenant = { tenant: str };

/**
 * The connector's provisioning code: `--code -` reads it from standard input (its first
 * line), else GATEHOUSE_CONNECTOR_CODE; `--code CODE` still works but shows the code in the
 * host's process list (`ps`), so the variable is taken out of the environment once read
 * and the documentation recommends the other two.
 */
async function connectorCode(flag: string | undefined): Promise<string | undefined> {
  const fromEnv = process.env.GATEHOUSE_CONNECTOR_CODE?.trim() || undefined;
  delete process.env.GATEHOUSE_CONNECTOR_CODE;
  if (flag === '-') {
    if (process.stdin.isTTY) process.stderr.write('Provisioning code: ');
    let text = '';
    for await (const chunk of process.stdin) {
      text += String(chunk);
      if (text.includes('\n')) break;
    }
    const code = text.split(/\r?\n/)[0]!.trim();
    if (!code) throw new UsageError('--code - reads the provisioning code from standard input, which was empty. Pipe the code in, or set GATEHOUSE_CONNECTOR_CODE.');
    return code;
  }
  if (flag !== undefined && fromEnv) throw new UsageError('Give the provisioning code once: in GATEHOUSE_CONNECTOR_CODE or with --code, not both.');
  return flag ?? fromEnv;
}

// ---- talking to the server
const DEFAULT_URL = 'http://localhost:3000';
const serverUrl = () => (process.env.GATEHOUSE_URL || DEFAULT_URL).replace(/\/+$/, '');
let cachedToken: string | undefined;

async function request(method: string, path: string, body?: unknown, auth = true): Promise<any> {
  const { data } = await send(method, path, body, auth);
  return data;
}

/** Every item of a list, following nextCursor page by page. */
async function everything(path: string): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const r: { items: any[]; nextCursor: string | null } = await request('GET', `${path}${path.includes('?') ? '&' : '?'}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...r.items);
    cursor = r.nextCursor;
  } while (cursor);
  return items;
}

async function send(method: string, path: string, body?: unknown, auth = true): Promise<{ data: any; text: string }> {
  const base = serverUrl();
  if (!URL.canParse(base) || !/^https?:$/.test(new URL(base).protocol)) throw new SetupError(`GATEHOUSE_URL must be an http(s) URL like ${DEFAULT_URL}; it is "${base}".`);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth) headers.authorization = `Bearer ${await token()}`;
  let res: Response;
  try {
    res = await fetch(`${base}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    const code = (e as { cause?: { code?: string } }).cause?.code;
    const why = code && code !== 'ECONNREFUSED' ? ` (${code})` : '';
    throw new ApiError(`Cannot reach Gatehouse at ${base}${why}: is it running? Set GATEHOUSE_URL.`);
  }
  const text = await res.text();
  let data: any;
  try { data = text ? JSON.parse(text) : undefined; } catch { data = undefined; }
  if (!res.ok) {
    let message: string = data?.error?.message ?? `Gatehouse answered ${res.status} ${res.statusText} (is GATEHOUSE_URL=${base} a Gatehouse server?).`;
    if (res.status === 401 && auth && process.env.GATEHOUSE_ADMIN_TOKEN) message += ' (GATEHOUSE_ADMIN_TOKEN is set: get a fresh one with `gatehouse token`, or unset it to use GATEHOUSE_ADMIN_EMAIL and GATEHOUSE_ADMIN_PASSWORD.)';
    throw new ApiError(message);
  }
  return { data, text };
}

async function token(): Promise<string> {
  if (cachedToken) return cachedToken;
  if (process.env.GATEHOUSE_ADMIN_TOKEN) return (cachedToken = process.env.GATEHOUSE_ADMIN_TOKEN);
  const email = process.env.GATEHOUSE_ADMIN_EMAIL;
  const password = process.env.GATEHOUSE_ADMIN_PASSWORD;
  if (!email || !password) {
    throw new SetupError([
      'No administrator credentials. Set either',
      '  GATEHOUSE_ADMIN_EMAIL and GATEHOUSE_ADMIN_PASSWORD (and GATEHOUSE_ADMIN_TENANT if the administrator belongs to a tenant other than "default"), or',
      '  GATEHOUSE_ADMIN_TOKEN (an admin access token, from `gatehouse token`).',
    ].join('\n'));
  }
  const r = await request('POST', '/auth/token', { email, password, tenant: process.env.GATEHOUSE_ADMIN_TENANT || 'default' }, false);
  return (cachedToken = r.access_token as string);
}

// ---- argument helpers
const need = (o: Opts, name: string): string => {
  const v = o[name];
  if (typeof v !== 'string' || !v) throw new UsageError(`--${name} is required.`);
  return v;
};
const whole = (o: Opts, name: string): number | undefined => {
  if (o[name] === undefined) return undefined;
  const v = String(o[name]);
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number; got "${v}".`);
  return Number(v);
};
const oneOf = (o: Opts, name: string, allowed: string[]): string | undefined => {
  const v = o[name];
  if (v !== undefined && !allowed.includes(String(v))) throw new UsageError(`--${name} must be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}; got "${v}".`);
  return v as string | undefined;
};
const enc = encodeURIComponent;
const inTenant = (o: Opts) => `/tenants/${enc(need(o, 'tenant'))}`;
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** Aligned columns; `none` when there are no rows. */
function table(rows: string[][], none: string): string {
  if (rows.length === 0) return none;
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}
const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
const auditFilters = { level: str, type: str, text: str, user: str, app: str, since: str, until: str };
/** The audit filters as query parameters; dates (2026-12-01 or an ISO time) become epoch ms. */
function auditQuery(o: Opts): URLSearchParams {
  oneOf(o, 'level', ['info', 'warn', 'error']);
  const q = new URLSearchParams();
  for (const k of ['level', 'type', 'text', 'user', 'app']) if (o[k] !== undefined) q.set(k, String(o[k]));
  for (const k of ['since', 'until']) {
    if (o[k] === undefined) continue;
    const t = Date.parse(String(o[k]));
    if (Number.isNaN(t)) throw new UsageError(`--${k} must be a date like 2026-12-01 or 2026-12-01T08:00Z; got "${o[k]}".`);
    q.set(k, String(t));
  }
  return q;
}
const deployedTo = (a: any) => a.deployment.all ? 'all users' : a.deployment.targets.map((t: any) => `${t.type} ${t.label}`).join(', ') || 'nobody (not deployed)';


// ---- commands: usage text, options and one small function each; help is generated from this table
const commands: Record<string, Command> = {
  start: {
    usage: 'gatehouse start [--import FILE] [--workers N]',
    summary: 'Start the server in the foreground (settings from the environment; see docs/configuration.md).',
    options: { import: str, workers: str }, json: false,
    async run(o) {
      const workers = whole(o, 'workers');
      if (workers !== undefined && workers < 1) throw new UsageError('--workers must be at least 1.');
      await (await import('../main.ts')).main({ importFile: o.import as string | undefined, workers });
    },
  },
  token: {
    usage: 'gatehouse token [--json]',
    summary: 'Print an admin access token (use it as GATEHOUSE_ADMIN_TOKEN; valid 1 hour).',
    async run(_o, _a, out) { const t = await token(); out.print(t, { access_token: t }); },
  },

  'tenant create': {
    usage: 'gatehouse tenant create SLUG [--name NAME] [--session-lifetime MINUTES] [--json]',
    summary: 'Create a tenant (its own issuer, keys, users and apps). Session lifetime: 0 (off) or 30-5760 minutes.',
    options: { name: str, 'session-lifetime': str }, positionals: 1,
    async run(o, [slug], out) {
      const t = await request('POST', '/tenants', { slug, name: o.name, sessionLifetimeMinutes: whole(o, 'session-lifetime') });
      out.print(`Created tenant ${t.slug}.\nissuer:    ${t.issuer}\ndiscovery: ${t.discoveryUrl}`, t);
    },
  },
  'tenant show': {
    usage: 'gatehouse tenant show SLUG [--json]', summary: 'Show a tenant, its issuer and discovery URL.', positionals: 1,
    async run(_o, [slug], out) {
      const t = await request('GET', `/tenants/${enc(slug!)}`);
      out.print(table([['slug', t.slug], ['name', t.name], ['issuer', t.issuer], ['discovery', t.discoveryUrl],
        ['session lifetime', t.sessionLifetimeMinutes ? `${t.sessionLifetimeMinutes} minutes` : 'off']], ''), t);
    },
  },
  'tenant list': {
    usage: 'gatehouse tenant list [--json]', summary: 'List tenants (superadministrators of the default tenant).',
    async run(_o, _a, out) {
      const items = await everything('/tenants');
      out.print(table(items.map((t: any) => [t.slug, t.name ?? '', t.issuer]), 'No tenants.'), items);
    },
  },

  'user create': {
    usage: 'gatehouse user create --tenant SLUG --email EMAIL --password PASSWORD [--given-name NAME] [--family-name NAME] [--ou PATH] [--group NAME]... [--role superadmin|admin|helpdesk|auditor]... [--json]',
    summary: 'Create a local user (the email is the username). Groups and OUs that do not exist yet are created.',
    options: { ...tenant, email: str, password: str, 'given-name': str, 'family-name': str, ou: str, group: many, role: many },
    async run(o, _a, out) {
      const path = `${inTenant(o)}/users`;
      const u = await request('POST', path, {
        email: need(o, 'email'), password: need(o, 'password'), givenName: o['given-name'], familyName: o['family-name'], ou: o.ou, groups: o.group, roles: o.role,
      });
      out.print(`Created user ${u.email} (${u.id}).`, u);
    },
  },
  'user list': {
    usage: 'gatehouse user list --tenant SLUG [--search TEXT] [--json]', summary: 'List users (the first 200 matches of --search in email and names).',
    options: { ...tenant, search: str },
    async run(o, _a, out) {
      const q = new URLSearchParams({ limit: '200', ...(o.search ? { search: String(o.search) } : {}) });
      const r = await request('GET', `${inTenant(o)}/users?${q}`);
      out.print(table(r.items.map((u: any) => [u.email, u.status, [u.givenName, u.familyName].filter(Boolean).join(' ')]), 'No users.'), r.items);
    },
  },
  'user disable': {
    usage: 'gatehouse user disable --tenant SLUG EMAIL', summary: 'Disable a user: they can no longer sign in.', options: tenant, positionals: 1,
    async run(o, [email], out) { const u = await request('PATCH', `${inTenant(o)}/users/${enc(email!)}`, { status: 'disabled' }); out.print(`${u.email} is disabled.`, u); },
  },
  'user enable': {
    usage: 'gatehouse user enable --tenant SLUG EMAIL', summary: 'Enable a disabled user.', options: tenant, positionals: 1,
    async run(o, [email], out) { const u = await request('PATCH', `${inTenant(o)}/users/${enc(email!)}`, { status: 'active' }); out.print(`${u.email} is active.`, u); },
  },

  'group create': {
    usage: 'gatehouse group create --tenant SLUG NAME', summary: 'Create a group.', options: tenant, positionals: 1,
    async run(o, [name], out) { const g = await request('POST', `${inTenant(o)}/groups`, { name }); out.print(`Created group ${g.name}.`, g); },
  },
  'group list': {
    usage: 'gatehouse group list --tenant SLUG [--search TEXT] [--json]', summary: 'List groups with their member counts (--search: in names and descriptions).',
    options: { ...tenant, search: str },
    async run(o, _a, out) {
      const items = await everything(`${inTenant(o)}/groups${o.search ? `?search=${enc(String(o.search))}` : ''}`);
      out.print(table(items.map((g: any) => [g.name, `${g.memberCount} member${g.memberCount === 1 ? '' : 's'}`, g.description ?? '']), 'No groups.'), items);
    },
  },
  'group add-member': {
    usage: 'gatehouse group add-member --tenant SLUG GROUP EMAIL', summary: 'Add a user to a group.', options: tenant, positionals: 2,
    async run(o, [group, email], out) {
      await request('PUT', `${inTenant(o)}/groups/${enc(group!)}/members/${enc(email!)}`);
      out.print(`Added ${email} to ${group}.`, { group, email });
    },
  },

  'ou create': {
    usage: 'gatehouse ou create --tenant SLUG PATH', summary: 'Create an OU such as /Sales/EMEA (missing parents are created).', options: tenant, positionals: 1,
    async run(o, [path], out) { const ou = await request('POST', `${inTenant(o)}/ous`, { path }); out.print(`Created OU ${ou.path}.`, ou); },
  },

  'app create': {
    usage: 'gatehouse app create --tenant SLUG --name NAME --display-name NAME --type web|native|spa|service|handoff [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--backchannel-logout-uri URI] [--home-url URL] [--initiate-login-uri URI] [--login-redirect-url URL] [--refresh-token-minutes N] [--outlive-session] [--password-grant] [--jwks FILE] [--client-auth client_secret_basic|client_secret_jwt|private_key_jwt] [--client-id ID] [--client-secret SECRET] [--json]',
    summary: 'Create an application profile (superadministrators). The client secret is shown once.',
    options: { ...tenant, name: str, 'display-name': str, type: str, 'redirect-uri': many, 'post-logout-redirect-uri': many, 'backchannel-logout-uri': str, 'home-url': str, 'initiate-login-uri': str, 'login-redirect-url': str, 'refresh-token-minutes': str, 'outlive-session': flag, 'password-grant': flag, jwks: str, 'client-auth': str, 'client-id': str, 'client-secret': str },
    async run(o, _a, out) {
      const type = oneOf(o, 'type', ['web', 'native', 'spa', 'service', 'handoff']) ?? need(o, 'type');
      const clientAuthMethod = oneOf(o, 'client-auth', ['client_secret_basic', 'client_secret_jwt', 'private_key_jwt']);
      let jwks: unknown;
      if (o.jwks !== undefined) {
        try { jwks = JSON.parse(fs.readFileSync(String(o.jwks), 'utf8')); } catch (e) { throw new UsageError(`Cannot read --jwks ${o.jwks} as a JSON JWKS: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`); }
      }
      const minutes = o['refresh-token-minutes'] === undefined ? undefined : Number(o['refresh-token-minutes']);
      const body = {
        name: need(o, 'name'), displayName: need(o, 'display-name'), type,
        redirectUris: o['redirect-uri'] ?? [], postLogoutRedirectUris: o['post-logout-redirect-uri'] ?? [],
        backchannelLogoutUri: o['backchannel-logout-uri'] ?? null, homeUrl: o['home-url'] ?? null, initiateLoginUri: o['initiate-login-uri'] ?? null,
        loginRedirectUrl: o['login-redirect-url'] ?? null, refreshTokenMinutes: minutes, ...(o['outlive-session'] && { outliveSession: true }), passwordGrant: !!o['password-grant'],
        clientId: o['client-id'], clientSecret: o['client-secret'], jwks, clientAuthMethod,
      };
      const a = await request('POST', `${inTenant(o)}/apps`, body);
      const human = [`Created ${a.type} app ${a.name} (${a.displayName}). It is not deployed yet: see \`gatehouse app deploy\`.`, `client_id:     ${a.clientId}`];
      if (a.clientSecret) human.push(`client_secret: ${a.clientSecret}`, 'WARNING: copy the client secret now: it is shown only once (`gatehouse app secret` makes a new one).');
      human.push(`issuer:        ${a.metadata.issuer}`, `discovery:     ${a.metadata.discoveryUrl}`, `launch link:   ${a.launchUrl}`);
      out.print(human.join('\n'), { ...a, client_id: a.clientId, client_secret: a.clientSecret ?? null });
    },
  },
  'app list': {
    usage: 'gatehouse app list --tenant SLUG [--json]', summary: 'List application profiles with their deployment status.', options: tenant,
    async run(o, _a, out) {
      const items = await everything(`${inTenant(o)}/apps`);
      out.print(table(items.map((a: any) => [a.clientId, a.name, a.displayName, a.type, a.deployed ? 'Deployed' : 'Not deployed']), 'No applications.'), items);
    },
  },
  'app show': {
    usage: 'gatehouse app show --tenant SLUG CLIENT_ID [--json]', summary: 'Show an application profile, its deployment and the IdP metadata to configure it with.', options: tenant, positionals: 1,
    async run(o, [id], out) {
      const a = await request('GET', `${inTenant(o)}/apps/${enc(id!)}`);
      out.print(table([['client_id', a.clientId], ['name', a.name], ['display name', a.displayName], ['type', a.type],
        ['client secret', a.hasSecret ? 'set (shown only when created or regenerated)' : 'none'], ['client authentication', a.clientAuthMethod],
        ['redirect URIs', a.redirectUris.join(', ') || '-'], ['post-logout URIs', a.postLogoutRedirectUris.join(', ') || '-'],
        ['back-channel logout', a.backchannelLogoutUri ?? '-'], ['deployed to', deployedTo(a)],
        ['issuer', a.metadata.issuer], ['discovery', a.metadata.discoveryUrl]], ''), a);
    },
  },
  'app deploy': {
    usage: 'gatehouse app deploy --tenant SLUG CLIENT_ID (--all | --user EMAIL | --group NAME | --ou PATH | --domain NAME) [--json]',
    summary: 'Deploy an app to all users, or add a user, group, OU or email domain to its deployment.',
    options: { ...tenant, all: flag, user: str, group: str, ou: str, domain: str }, positionals: 1,
    async run(o, [id], out) {
      const picked = ['all', 'user', 'group', 'ou', 'domain'].filter((k) => o[k] !== undefined && o[k] !== false);
      if (picked.length !== 1) throw new UsageError('Give exactly one of --all, --user, --group, --ou, --domain.');
      const k = picked[0]!;
      const a = await request('POST', `${inTenant(o)}/apps/${enc(id!)}/deployment/targets`, k === 'all' ? { all: true } : { type: k, ref: o[k] });
      out.print(`${a.name} is deployed to ${deployedTo(a)}.`, a);
    },
  },
  'app undeploy': {
    usage: 'gatehouse app undeploy --tenant SLUG CLIENT_ID [--json]', summary: 'Undeploy an app from everyone (effective at the next authorization).', options: tenant, positionals: 1,
    async run(o, [id], out) { const a = await request('DELETE', `${inTenant(o)}/apps/${enc(id!)}/deployment`); out.print(`${a.name} is not deployed.`, a); },
  },
  'app secret': {
    usage: 'gatehouse app secret --tenant SLUG CLIENT_ID [--json]', summary: 'Generate a new client secret (the old one stops working at once).', options: tenant, positionals: 1,
    async run(o, [id], out) {
      const r = await request('POST', `${inTenant(o)}/apps/${enc(id!)}/secret`);
      out.print(`client_secret: ${r.clientSecret}\nWARNING: copy it now: it is shown only once.`, { ...r, client_id: r.clientId ?? id, client_secret: r.clientSecret });
    },
  },

  'keys list': {
    usage: 'gatehouse keys list --tenant SLUG [--json]', summary: 'List signing keys; keys whose certificate expires within 60 days are flagged.', options: tenant,
    async run(o, _a, out) {
      const r = await request('GET', `${inTenant(o)}/keys`);
      out.print(table(r.items.map((k: any) => [k.kid, k.alg, k.status, `certificate expires ${date(k.notAfter)}`,
        k.expiresSoon ? 'EXPIRES WITHIN 60 DAYS: run `gatehouse keys rotate`' : '']), 'No keys.'), r.items);
    },
  },
  'keys rotate': {
    usage: 'gatehouse keys rotate --tenant SLUG [--alg RS256|ES256] [--json]',
    summary: 'Rotate signing keys (both algorithms unless --alg): the published next key starts signing; the old one stays published until its tokens expire.',
    options: { ...tenant, alg: str },
    async run(o, _a, out) {
      const alg = oneOf(o, 'alg', ['RS256', 'ES256']);
      const r = await request('POST', `${inTenant(o)}/keys/rotate`, { alg });
      out.print(`Now signing with ${r.activated.join(', ')}; retired ${r.retired.join(', ') || 'none'}; published next ${r.created.join(', ')}.`, r);
    },
  },

  'secret rotate': {
    usage: 'gatehouse secret rotate [--json]',
    summary: 'Re-seal every stored secret under the new instance secret, online (superadministrators of the default tenant). With GATEHOUSE_SECRET: set the new one and GATEHOUSE_SECRET_PREVIOUS on every node and restart them first; with the generated secret.key: a new key replaces it. See docs/operations.md.',
    async run(_o, _a, out) {
      const r = await request('POST', '/instance/secret/rotate');
      const counts = Object.entries(r.resealed as Record<string, number>).map(([k, n]) => `${k}: ${n}`).join(', ');
      const lines = [`Re-sealed ${counts || 'nothing (everything was already under the new secret)'}.`];
      if (r.unreadable) lines.push(`${r.unreadable} value(s) could not be opened with any secret the server holds and were left as they were: the server log names them.`);
      lines.push(r.next);
      out.print(lines.join('\n'), r);
      if (r.unreadable) process.exitCode = 1;
    },
  },

  'directory list': {
    usage: 'gatehouse directory list --tenant SLUG [--json]', summary: 'List LDAP / Active Directory directories with their last sync.', options: tenant,
    async run(o, _a, out) {
      const r = await request('GET', `${inTenant(o)}/directories`);
      out.print(table(r.items.map((d: any) => [d.name, d.settings.kind, d.settings.via, d.enabled ? 'enabled' : 'disabled', d.lastRun ? `${d.lastRun.status} ${d.lastRun.message ?? ''}` : 'never synced']), 'No directories.'), r.items);
    },
  },
  'directory test': {
    usage: 'gatehouse directory test --tenant SLUG NAME [--json]', summary: 'Test a directory\'s connection: connect, bind and count what the filters find.', options: tenant, positionals: 1,
    async run(o, [id], out) {
      const r = await request('POST', `${inTenant(o)}/directories/${enc(id!)}/test`);
      out.print([r.message, ...r.bases.map((b: any) => `  ${b.dn}: ${b.problem ?? `${b.users} users, ${b.groups} groups`}`)].join('\n'), r);
      if (!r.ok) process.exitCode = 1;
    },
  },
  'directory sync': {
    usage: 'gatehouse directory sync --tenant SLUG NAME [--full] [--no-wait] [--json]',
    summary: 'Sync a directory now (incremental unless --full) and show its progress until it is done.',
    options: { ...tenant, full: flag, 'no-wait': flag }, positionals: 1,
    async run(o, [id], out) {
      const path = `${inTenant(o)}/directories/${enc(id!)}`;
      const before = await request('GET', `${path}/sync`);
      const expected = before.runs.find((x: any) => x.mode === 'full' && x.status === 'succeeded')?.users.seen ?? 0;
      const started = await request('POST', `${path}/sync`, { mode: o.full ? 'full' : 'incremental' });
      if (o['no-wait']) { out.print(`Started a ${started.mode} sync (${started.id}). Follow it with \`gatehouse directory sync-status\`.`, started); return; }
      const bar = progressBar(!out.json && process.stderr.isTTY);
      let run = started;
      while (run.status === 'running') {
        await new Promise((r) => setTimeout(r, 500));
        run = (await request('GET', `${path}/sync`)).runs.find((x: any) => x.id === started.id) ?? run;
        bar.update(run, expected);
      }
      bar.done();
      const lines = [run.message ?? run.status, ...run.errors.slice(0, 10).map((e: any) => `  ${e.dn}: ${e.message}`)];
      if (run.errorCount > 10) lines.push(`  ... and ${run.errorCount - 10} more (gatehouse directory sync-status --json)`);
      out.print(lines.join('\n'), run);
      if (run.status !== 'succeeded') process.exitCode = 1;
    },
  },
  'directory sync-status': {
    usage: 'gatehouse directory sync-status --tenant SLUG NAME [--json]', summary: 'Show the running sync and the last ones, with counts and errors.', options: tenant, positionals: 1,
    async run(o, [id], out) {
      const r = await request('GET', `${inTenant(o)}/directories/${enc(id!)}/sync`);
      out.print(table(r.runs.map((x: any) => [new Date(x.startedAt).toISOString(), x.mode, x.status, `${x.users.seen} users`, `${x.errorCount} errors`, x.message ?? x.phase]), 'Never synced.'), r);
    },
  },

  connector: {
    usage: 'gatehouse connector [--url URL] [--enterprise-id ID [--code -]] [--state FILE] [--name NAME] [--ldap-url URL]...',
    summary: 'Run the on-premises connector: connects outbound to Gatehouse (--url, default GATEHOUSE_URL) and reaches the directory for it. The first start needs the Enterprise ID and a provisioning code: from GATEHOUSE_CONNECTOR_CODE, or from standard input with --code - (a code written on the command line is visible to every user of the host in its process list).',
    options: { url: str, 'enterprise-id': str, code: str, state: str, name: str, 'ldap-url': many }, json: false,
    async run(o) {
      const { runAgent, FatalConnectorError } = await import('../directory/connector/agent.ts');
      const code = await connectorCode(o.code as string | undefined);
      try {
        const agent = runAgent({
          url: (o.url as string | undefined) ?? serverUrl(), stateFile: (o.state as string | undefined) ?? 'gatehouse-connector.json',
          enterpriseId: o['enterprise-id'] as string | undefined, code, name: o.name as string | undefined, ldapUrls: o['ldap-url'] as string[] | undefined,
        });
        process.once('SIGINT', () => agent.stop());
        process.once('SIGTERM', () => agent.stop());
        await agent.done;
      } catch (e) {
        if (e instanceof FatalConnectorError) throw new SetupError(e.message);
        throw e;
      }
    },
  },
  'connector code': {
    usage: 'gatehouse connector code --tenant SLUG [--json]', summary: 'Generate a one-time provisioning code for a new connector (valid 5 minutes, works once).', options: tenant,
    async run(o, _a, out) {
      const r = await request('POST', `${inTenant(o)}/connectors/codes`);
      out.print([`Enterprise ID:     ${r.enterpriseId}`, `Provisioning code: ${r.code}`, `Valid until:       ${new Date(r.expiresAt).toISOString()} (5 minutes, once)`, '',
        `On the connector host: GATEHOUSE_CONNECTOR_CODE=${r.code} gatehouse connector --url ${r.url} --enterprise-id ${r.enterpriseId}`].join('\n'), r);
    },
  },
  'connector list': {
    usage: 'gatehouse connector list --tenant SLUG [--json]', summary: 'List connectors: connected, last seen, version, latency, last error and the recommended fix.', options: tenant,
    async run(o, _a, out) {
      const r = await request('GET', `${inTenant(o)}/connectors`);
      out.print(table(r.items.map((c: any) => [c.id, c.name, c.status, c.lastSeenAt ? `seen ${new Date(c.lastSeenAt).toISOString()}` : 'never seen', c.version ?? '-', c.latencyMs === null ? '-' : `${c.latencyMs} ms`, c.recommendedFix ?? c.lastError ?? '']), 'No connectors.'), r.items);
    },
  },
  'connector revoke': {
    usage: 'gatehouse connector revoke --tenant SLUG CONNECTOR_ID', summary: 'Revoke a connector: it is disconnected and can never reconnect.', options: tenant, positionals: 1,
    async run(o, [id], out) { await request('DELETE', `${inTenant(o)}/connectors/${enc(id!)}`); out.print(`Connector ${id} is revoked.`, { id, revoked: true }); },
  },

  audit: {
    usage: 'gatehouse audit --tenant SLUG [--level info|warn|error] [--type TYPE] [--text TEXT] [--user EMAIL] [--app CLIENT_ID] [--since DATE] [--until DATE] [--limit N] [--json]',
    summary: 'Show audit events, newest first (default 50, at most 500).',
    options: { ...tenant, ...auditFilters, limit: str },
    async run(o, _a, out) {
      const limit = whole(o, 'limit');
      if (limit !== undefined && (limit < 1 || limit > 500)) throw new UsageError('--limit must be between 1 and 500.');
      const q = auditQuery(o);
      if (limit !== undefined) q.set('limit', String(limit));
      const r = await request('GET', `${inTenant(o)}/audit?${q}`);
      out.print(table(r.items.map((e: any) => [new Date(e.at).toISOString(), e.level, e.type, e.actor ?? '-', e.subject ?? '']), 'No matching events.'), r.items);
    },
  },
  'audit export': {
    usage: 'gatehouse audit export --tenant SLUG [--format csv|json] [--output FILE] [--level LEVEL] [--type TYPE] [--text TEXT] [--user EMAIL] [--app CLIENT_ID] [--since DATE] [--until DATE]',
    summary: 'Export the matching audit events (newest first, at most 100,000) as CSV (default) or JSON, to FILE or stdout.',
    options: { ...tenant, ...auditFilters, format: str, output: str }, json: false,
    async run(o) {
      const q = auditQuery(o);
      q.set('format', oneOf(o, 'format', ['csv', 'json']) ?? 'csv');
      const { text } = await send('GET', `${inTenant(o)}/audit/export?${q}`);
      if (typeof o.output === 'string') {
        fs.writeFileSync(o.output, text);
        console.error(`Wrote ${o.output}.`);
      } else process.stdout.write(text);
    },
  },

  'session list': {
    usage: 'gatehouse session list --tenant SLUG [--user EMAIL] [--search TEXT] [--json]',
    summary: 'List live SSO sessions, most recently active first: user, browser, IP, started, last seen, apps.',
    options: { ...tenant, user: str, search: str },
    async run(o, _a, out) {
      const q = new URLSearchParams();
      if (o.user) q.set('user', String(o.user));
      if (o.search) q.set('search', String(o.search));
      const items = await everything(`${inTenant(o)}/sessions?${q}`);
      out.print(table(items.map((s: any) => [s.id, s.email ?? s.userId, s.device, s.ip ?? '-', `started ${minute(s.startedAt)}`, `last seen ${minute(s.lastSeenAt)}`,
        s.apps.map((a: any) => a.name).join(', ') || '-']), 'No live sessions.'), items);
    },
  },
  'session end': {
    usage: 'gatehouse session end --tenant SLUG [--json] [--] SESSION_ID',
    summary: 'End an SSO session (see session list): the browser must sign in again; its apps get back-channel logout. Session IDs may start with "-": put -- before the ID.',
    options: tenant, positionals: 1,
    async run(o, [id], out) {
      await request('DELETE', `${inTenant(o)}/sessions/${enc(id!)}`);
      out.print(`Ended session ${id}.`, { ended: 1 });
    },
  },
  'session end-all': {
    usage: 'gatehouse session end-all --tenant SLUG EMAIL [--json]',
    summary: 'End every SSO session of a user.',
    options: tenant, positionals: 1,
    async run(o, [email], out) {
      const r = await request('DELETE', `${inTenant(o)}/users/${enc(email!)}/sessions`);
      out.print(`Ended ${r.ended} session${r.ended === 1 ? '' : 's'} of ${email}.`, r);
    },
  },

  'branding show': {
    usage: 'gatehouse branding show --tenant SLUG [--json]', summary: 'Show the sign-in pages\' background colour and logo, and the session lifetime.', options: tenant,
    async run(o, _a, out) {
      const b = await request('GET', `${inTenant(o)}/branding`);
      out.print(table([['background colour', b.backgroundColor ?? 'none (Gatehouse\'s own)'], ['logo', b.logo ? `${b.logo.slice(5, b.logo.indexOf(';'))}, ${Math.round(b.logo.length * 0.75 / 1024)} KB` : 'none'],
        ['session lifetime', b.sessionLifetimeMinutes ? `${b.sessionLifetimeMinutes} minutes` : 'off']], ''), b);
    },
  },
  'branding set': {
    usage: 'gatehouse branding set --tenant SLUG [--background-color #RRGGBB|none] [--logo FILE|none] [--session-lifetime MINUTES] [--json]',
    summary: 'Change the sign-in pages\' background colour or logo (PNG, GIF or JPG, at most 250 KB and 200 x 150 pixels), or the session lifetime (0 = off, or 30-5760 minutes).',
    options: { ...tenant, 'background-color': str, logo: str, 'session-lifetime': str },
    async run(o, _a, out) {
      const body: Record<string, unknown> = {};
      if (o['background-color'] !== undefined) body.backgroundColor = o['background-color'] === 'none' ? null : o['background-color'];
      if (o.logo !== undefined) {
        if (o.logo === 'none') body.logo = null;
        else {
          let bytes: Buffer;
          try { bytes = fs.readFileSync(String(o.logo)); } catch (e) { throw new UsageError(`Cannot read --logo ${o.logo}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`); }
          // The server checks the real type from the bytes; the declared one is only a label.
          body.logo = `data:image/png;base64,${bytes.toString('base64')}`;
        }
      }
      if (o['session-lifetime'] !== undefined) body.sessionLifetimeMinutes = whole(o, 'session-lifetime');
      if (Object.keys(body).length === 0) throw new UsageError('Give at least one of --background-color, --logo, --session-lifetime.');
      const b = await request('PATCH', `${inTenant(o)}/branding`, body);
      out.print('Saved. The sign-in pages show it now.', b);
    },
  },
};

/** A sync's progress on stderr: a bar against the last full sync's user count (a count alone the first time). */
function progressBar(tty: boolean) {
  let lastPhase = '';
  const line = (run: any, expected: number) => {
    const u = run.users;
    const counts = `${u.seen} users (${u.created} new, ${u.updated} changed, ${u.skipped} skipped), ${run.groups.seen} groups, ${run.errorCount} errors`;
    if (!expected) return `${run.phase.padEnd(11)} ${counts}`;
    const frac = Math.min(1, u.seen / expected);
    const width = 24;
    return `${run.phase.padEnd(11)} [${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${String(Math.round(frac * 100)).padStart(3)}%  ${counts}`;
  };
  return {
    update(run: any, expected: number) {
      if (tty) process.stderr.write(`\r${line(run, expected)}\x1b[K`);
      else if (run.phase !== lastPhase) { lastPhase = run.phase; process.stderr.write(`${line(run, expected)}\n`); }
    },
    done() { if (tty) process.stderr.write('\n'); },
  };
}

// ---- help
const groupOf = (prefix: string) => Object.entries(commands).filter(([k]) => k.startsWith(`${prefix} `));
const commandHelp = (c: Command) => `Usage: ${c.usage}\n\n${c.summary}`;

export function help(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  return [
    'Usage: gatehouse COMMAND [options]', '',
    ...Object.entries(commands).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`), '',
    `Admin commands talk to the running server at GATEHOUSE_URL (default ${DEFAULT_URL}), signing in with`,
    'GATEHOUSE_ADMIN_EMAIL + GATEHOUSE_ADMIN_PASSWORD (GATEHOUSE_ADMIN_TENANT, default "default") or GATEHOUSE_ADMIN_TOKEN.',
    '--json prints one JSON document. `gatehouse help COMMAND` shows a command\'s usage. Docs: docs/cli.md',
  ].join('\n');
}

function groupHelp(prefix: string): string {
  return `Usage:\n${groupOf(prefix).map(([, c]) => `  ${c.usage}`).join('\n')}\n\n\`gatehouse help ${prefix} SUBCOMMAND\` shows what each does.`;
}

function version(): string {
  return JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
}

// ---- entry point
export async function run(argv: string[]): Promise<void> {
  const [first, second] = argv;
  if (first === undefined || first === '--help' || first === '-h') { console.log(help()); return; }
  if (first === '--version' || first === '-v') { console.log(version()); return; }
  if (first === 'help') {
    const topic = argv.slice(1).join(' ');
    if (!topic) console.log(help());
    else if (commands[topic]) console.log(commandHelp(commands[topic]));
    else if (groupOf(topic).length) console.log(groupHelp(topic));
    else { console.error(`Unknown command "${topic}".\n\n${help()}`); process.exitCode = 2; }
    return;
  }
  const name = second !== undefined && commands[`${first} ${second}`] ? `${first} ${second}` : first;
  const cmd = commands[name];
  if (!cmd) {
    const group = groupOf(first).length > 0;
    const what = group && second !== undefined && !second.startsWith('-') ? `${first} ${second}` : first;
    console.error(group && (second === undefined || second.startsWith('-'))
      ? `"gatehouse ${first}" needs a subcommand.\n\n${groupHelp(first)}`
      : `Unknown command "${what}".\n\n${group ? groupHelp(first) : help()}`);
    process.exitCode = 2;
    return;
  }
  try {
    let parsed;
    try {
      const options = { help: { type: 'boolean', short: 'h' }, ...(cmd.json === false ? {} : { json: flag }), ...cmd.options } as const;
      parsed = parseArgs({ args: argv.slice(name.split(' ').length), options, allowPositionals: true, strict: true });
    } catch (e) { throw new UsageError((e as Error).message); }
    if (parsed.values.help) { console.log(commandHelp(cmd)); return; }
    const expected = cmd.positionals ?? 0;
    const got = parsed.positionals.length;
    if (got < expected) throw new UsageError(`Missing argument${expected - got > 1 ? 's' : ''}: expected ${expected}, got ${got}.`);
    if (got > expected) throw new UsageError(`Unexpected argument "${parsed.positionals[expected]}".`);
    const json = parsed.values.json === true;
    const out: Output = { json, print: (human, data) => console.log(json ? JSON.stringify(data, null, 2) : human) };
    await cmd.run(parsed.values as Opts, parsed.positionals, out);
  } catch (e) {
    if (e instanceof UsageError) { console.error(`${e.message}\n\nUsage: ${cmd.usage}\n(\`gatehouse help ${name}\` for details)`); process.exitCode = 2; return; }
    if (e instanceof SetupError) { console.error(e.message); process.exitCode = 2; return; }
    if (e instanceof ApiError) { console.error(e.message); process.exitCode = 1; return; }
    throw e;
  }
}

if (import.meta.main) await run(process.argv.slice(2));
