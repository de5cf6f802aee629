// LDAP / Active Directory directories: create, update, list, show, test, sync (with
// progress), sync-status, delete.
import fs from 'node:fs';
import { flag, has, jsonObject, list, many, need, oneOf, opt, paging, secretArg, str, tenant, whole, UsageError, type Command, type Opts } from '../args.ts';
import { enc, inTenant, listing, request } from '../client.ts';
import { iso, printList, table } from '../output.ts';
import type { Directory, DirectoryTest, SyncRun, SyncStatus } from '../types.ts';

const settingFlags = {
  kind: str,
  url: many,
  'bind-dn': str,
  'base-dn': many,
  via: str,
  'start-tls': flag,
  'allow-plain': flag,
  'ca-certificate': str,
  'user-filter': str,
  'group-filter': str,
  'sync-interval': str,
  settings: str,
};

/** The directory settings the options give; the options win over --settings, which carries what has no option (attributes, page size, ...). */
function settingsFrom(o: Opts): Record<string, unknown> {
  let caCertificate: string | undefined;
  const caFile = opt(o, 'ca-certificate');
  if (caFile !== undefined) {
    try {
      caCertificate = fs.readFileSync(caFile, 'utf8');
    } catch (e) {
      throw new UsageError(`Cannot read --ca-certificate ${caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
    }
  }
  const settings: Record<string, unknown> = { ...jsonObject(o, 'settings') };
  const put = (key: string, v: unknown) => {
    if (v !== undefined) settings[key] = v;
  };
  put('kind', oneOf(o, 'kind', ['ad', 'openldap']));
  put('via', oneOf(o, 'via', ['direct', 'connector']));
  put('urls', list(o, 'url'));
  put('bindDn', opt(o, 'bind-dn'));
  put('baseDns', list(o, 'base-dn'));
  if (has(o, 'start-tls')) settings.startTls = true;
  if (has(o, 'allow-plain')) settings.allowPlain = true;
  put('caCertificate', caCertificate);
  put('userFilter', opt(o, 'user-filter'));
  put('groupFilter', opt(o, 'group-filter'));
  put('syncIntervalMinutes', whole(o, 'sync-interval'));
  return settings;
}

const lastRun = (d: Directory) => (d.lastRun ? `${d.lastRun.status} ${d.lastRun.message ?? ''}` : 'never synced');

function printTest(r: DirectoryTest, out: { print(human: string, data: unknown): void }) {
  out.print([r.message, ...r.bases.map((b) => `  ${b.dn}: ${b.problem ?? `${b.users} users, ${b.groups} groups`}`)].join('\n'), r);
  if (!r.ok) process.exitCode = 1;
}

export const directoryCommands: Record<string, Command> = {
  'directory create': {
    usage:
      'gatehouse directory create --tenant SLUG --name NAME --kind ad|openldap --url URL... --bind-dn DN --base-dn DN... [--bind-password PASSWORD|-] [--via direct|connector] [--start-tls] [--allow-plain] [--ca-certificate FILE] [--user-filter FILTER] [--group-filter FILTER] [--sync-interval MINUTES] [--disabled] [--settings JSON|@FILE] [--json]',
    summary:
      'Add an LDAP / Active Directory directory (superadministrators); the bind password is sealed and never shown. Test it with `gatehouse directory test`.',
    options: { ...tenant, name: str, 'bind-password': str, disabled: flag, ...settingFlags },
    async run(o, _a, out) {
      const name = need(o, 'name');
      const settings = settingsFrom(o);
      if (settings.kind === undefined) throw new UsageError('--kind is required (ad or openldap).');
      const bindPassword = await secretArg(o, 'bind-password', 'bind password');
      const d = await request<Directory>('POST', `${inTenant(o)}/directories`, { name, enabled: !has(o, 'disabled'), bindPassword, settings });
      out.print(
        `Created directory ${d.name} (${d.settings.kind}, ${d.settings.urls.join(', ')}${d.enabled ? '' : ', disabled'}). Test it: gatehouse directory test --tenant ${opt(o, 'tenant')} '${d.name}'`,
        d,
      );
    },
  },
  'directory update': {
    usage:
      'gatehouse directory update --tenant SLUG NAME [--name NEW_NAME] [--enable | --disable] [--bind-password PASSWORD|-|none] [--kind ad|openldap] [--url URL]... [--bind-dn DN] [--base-dn DN]... [--via direct|connector] [--start-tls] [--allow-plain] [--ca-certificate FILE] [--user-filter FILTER] [--group-filter FILTER] [--sync-interval MINUTES] [--settings JSON|@FILE] [--json]',
    summary: 'Change a directory (superadministrators): only what is given changes; settings are merged over the saved ones and checked as a whole.',
    options: { ...tenant, name: str, enable: flag, disable: flag, 'bind-password': str, ...settingFlags },
    positionals: 1,
    async run(o, [id], out) {
      if (has(o, 'enable') && has(o, 'disable')) throw new UsageError('Give --enable or --disable, not both.');
      const settings = settingsFrom(o);
      const bindPassword = opt(o, 'bind-password') === 'none' ? null : await secretArg(o, 'bind-password', 'bind password');
      const body = {
        name: opt(o, 'name'),
        enabled: has(o, 'enable') ? true : has(o, 'disable') ? false : undefined,
        ...(bindPassword !== undefined && { bindPassword }),
        ...(Object.keys(settings).length && { settings }),
      };
      if (Object.values(body).every((v) => v === undefined)) throw new UsageError('Give at least one change.');
      const d = await request<Directory>('PATCH', `${inTenant(o)}/directories/${enc(id!)}`, body);
      out.print(`Saved directory ${d.name} (${d.enabled ? 'enabled' : 'disabled'}, ${d.settings.urls.join(', ')}).`, d);
    },
  },
  'directory list': {
    usage: 'gatehouse directory list --tenant SLUG [--limit N] [--cursor CURSOR] [--json]',
    summary: 'List LDAP / Active Directory directories with their last sync.',
    options: { ...tenant, ...paging },
    async run(o, _a, out) {
      printList(
        out,
        await listing<Directory>(o, `${inTenant(o)}/directories`),
        (d) => [d.name, d.settings.kind, d.settings.via, d.enabled ? 'enabled' : 'disabled', lastRun(d)],
        'No directories.',
      );
    },
  },
  'directory show': {
    usage: 'gatehouse directory show --tenant SLUG NAME [--json]',
    summary: 'Show a directory: its settings (never the bind password) and its last sync.',
    options: tenant,
    positionals: 1,
    async run(o, [id], out) {
      const d = await request<Directory>('GET', `${inTenant(o)}/directories/${enc(id!)}`);
      const s = d.settings;
      out.print(
        table(
          [
            ['name', d.name],
            ['id', d.id],
            ['status', d.enabled ? 'enabled' : 'disabled'],
            ['kind', s.kind],
            ['via', s.via],
            ['URLs', s.urls.join(', ')],
            ['TLS', s.urls.some((u) => u.startsWith('ldaps:')) ? 'ldaps' : s.startTls ? 'StartTLS' : s.allowPlain ? 'none (allowPlain)' : 'none'],
            ['bind DN', s.bindDn],
            ['bind password', d.hasBindPassword ? 'set' : 'none'],
            ['base DNs', s.baseDns.join('; ')],
            ['user filter', s.userFilter],
            ['group filter', s.groupFilter],
            ['sync', `every ${s.syncIntervalMinutes} minutes, full every ${s.fullSyncHours} hours`],
            ['last sync', d.lastRun ? `${iso(d.lastRun.startedAt)} ${d.lastRun.mode} ${lastRun(d)}` : 'never synced'],
          ],
          '',
        ),
        d,
      );
    },
  },
  'directory delete': {
    usage: 'gatehouse directory delete --tenant SLUG NAME [--json]',
    summary: 'Delete a directory (superadministrators): its users and groups become local.',
    options: tenant,
    positionals: 1,
    async run(o, [id], out) {
      await request<void>('DELETE', `${inTenant(o)}/directories/${enc(id!)}`);
      out.print(`Deleted directory ${id}; its users and groups are local now.`, { name: id, deleted: true });
    },
  },
  'directory test': {
    usage: 'gatehouse directory test --tenant SLUG NAME [--json]',
    summary: "Test a directory's connection: connect, bind and count what the filters find.",
    options: tenant,
    positionals: 1,
    async run(o, [id], out) {
      printTest(await request<DirectoryTest>('POST', `${inTenant(o)}/directories/${enc(id!)}/test`), out);
    },
  },
  'directory sync': {
    usage: 'gatehouse directory sync --tenant SLUG NAME [--full] [--no-wait] [--json]',
    summary: 'Sync a directory now (incremental unless --full) and show its progress until it is done.',
    options: { ...tenant, full: flag, 'no-wait': flag },
    positionals: 1,
    async run(o, [id], out) {
      const path = `${inTenant(o)}/directories/${enc(id!)}`;
      const before = await request<SyncStatus>('GET', `${path}/sync`);
      const expected = before.runs.find((x) => x.mode === 'full' && x.status === 'succeeded')?.users.seen ?? 0;
      const started = await request<SyncRun>('POST', `${path}/sync`, { mode: has(o, 'full') ? 'full' : 'incremental' });
      if (has(o, 'no-wait')) {
        out.print(`Started a ${started.mode} sync (${started.id}). Follow it with \`gatehouse directory sync-status\`.`, started);
        return;
      }
      const bar = progressBar(!out.json && process.stderr.isTTY);
      let run = started;
      while (run.status === 'running') {
        await new Promise((r) => setTimeout(r, 500));
        run = (await request<SyncStatus>('GET', `${path}/sync`)).runs.find((x) => x.id === started.id) ?? run;
        bar.update(run, expected);
      }
      bar.done();
      const lines = [run.message ?? run.status, ...run.errors.slice(0, 10).map((e) => `  ${e.dn}: ${e.message}`)];
      if (run.errorCount > 10) lines.push(`  ... and ${run.errorCount - 10} more (gatehouse directory sync-status --json)`);
      out.print(lines.join('\n'), run);
      if (run.status !== 'succeeded') process.exitCode = 1;
    },
  },
  'directory sync-status': {
    usage: 'gatehouse directory sync-status --tenant SLUG NAME [--json]',
    summary: 'Show the running sync and the last ones, with counts and errors.',
    options: tenant,
    positionals: 1,
    async run(o, [id], out) {
      const r = await request<SyncStatus>('GET', `${inTenant(o)}/directories/${enc(id!)}/sync`);
      out.print(
        table(
          r.runs.map((x) => [iso(x.startedAt), x.mode, x.status, `${x.users.seen} users`, `${x.errorCount} errors`, x.message ?? x.phase]),
          'Never synced.',
        ),
        r,
      );
    },
  },
};

/** A sync's progress on stderr: a bar against the last full sync's user count (a count alone the first time). */
function progressBar(tty: boolean) {
  let lastPhase = '';
  const line = (run: SyncRun, expected: number) => {
    const u = run.users;
    const counts = `${u.seen} users (${u.created} new, ${u.updated} changed, ${u.skipped} skipped), ${run.groups.seen} groups, ${run.errorCount} errors`;
    if (!expected) return `${run.phase.padEnd(11)} ${counts}`;
    const frac = Math.min(1, u.seen / expected);
    const width = 24;
    return `${run.phase.padEnd(11)} [${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${String(Math.round(frac * 100)).padStart(3)}%  ${counts}`;
  };
  return {
    update(run: SyncRun, expected: number) {
      if (tty) process.stderr.write(`\r${line(run, expected)}\x1b[K`);
      else if (run.phase !== lastPhase) {
        lastPhase = run.phase;
        process.stderr.write(`${line(run, expected)}\n`);
      }
    },
    done() {
      if (tty) process.stderr.write('\n');
    },
  };
}
