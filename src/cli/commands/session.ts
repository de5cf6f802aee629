// SSO sessions: list them, end one, end all of a user's.
import { opt, paging, str, tenant, type Command } from '../args.ts';
import { enc, inTenant, listing, request } from '../client.ts';
import { minute, printList } from '../output.ts';
import type { Session } from '../types.ts';

export const sessionRow = (s: Session) => [
  s.id,
  s.email ?? s.userId,
  s.device,
  s.ip ?? '-',
  `started ${minute(s.startedAt)}`,
  `last seen ${minute(s.lastSeenAt)}`,
  s.apps.map((a) => a.name).join(', ') || '-',
];

export const sessionCommands: Record<string, Command> = {
  'session list': {
    usage: 'gatehouse session list --tenant SLUG [--user EMAIL] [--search TEXT] [--limit N] [--cursor CURSOR] [--json]',
    summary: 'List live SSO sessions, most recently active first: user, browser, IP, started, last seen, apps.',
    options: { ...tenant, user: str, search: str, ...paging },
    async run(o, _a, out) {
      const q = new URLSearchParams();
      const user = opt(o, 'user');
      const search = opt(o, 'search');
      if (user) q.set('user', user);
      if (search) q.set('search', search);
      printList(out, await listing<Session>(o, `${inTenant(o)}/sessions?${q}`), sessionRow, 'No live sessions.');
    },
  },
  'session end': {
    usage: 'gatehouse session end --tenant SLUG [--json] [--] SESSION_ID',
    summary:
      'End an SSO session (see session list): the browser must sign in again; its apps get back-channel logout. Session IDs may start with "-": put -- before the ID.',
    options: tenant,
    positionals: 1,
    async run(o, [id], out) {
      await request<void>('DELETE', `${inTenant(o)}/sessions/${enc(id!)}`);
      out.print(`Ended session ${id}.`, { ended: 1 });
    },
  },
  'session end-all': {
    usage: 'gatehouse session end-all --tenant SLUG EMAIL [--json]',
    summary: 'End every SSO session of a user.',
    options: tenant,
    positionals: 1,
    async run(o, [email], out) {
      const r = await request<{ ended: number }>('DELETE', `${inTenant(o)}/users/${enc(email!)}/sessions`);
      out.print(`Ended ${r.ended} session${r.ended === 1 ? '' : 's'} of ${email}.`, r);
    },
  },
};
