// The workstation agent (`gatehouse agent ...`, run on the workstation; issue 19) and the
// administrators' side (`agent code`, `workstation list|revoke`, through the admin API).
import { firstLineOfStdin, flag, need, paging, str, tenant, UsageError, type Command } from '../args.ts';
import { SetupError, enc, inTenant, listing, request } from '../client.ts';
import { iso, printList } from '../output.ts';
import type { Workstation, WorkstationCode } from '../types.ts';

/** The agent's own failures (refused, unreachable) end the command with exit 1 and the reason. */
async function agentDoes<T>(fn: (agent: typeof import('../../workstations/agent.ts')) => Promise<T>): Promise<T> {
  const agent = await import('../../workstations/agent.ts');
  const { FatalConnectorError } = await import('../../directory/connector/agent.ts');
  try {
    return await fn(agent);
  } catch (e) {
    if (e instanceof agent.AgentFailure) {
      console.error(e.message);
      process.exitCode = 1;
      throw new AgentExit();
    }
    if (e instanceof FatalConnectorError) throw new SetupError(e.message);
    throw e;
  }
}
class AgentExit extends Error {}
const quietly = (p: Promise<void>) =>
  p.catch((e) => {
    if (!(e instanceof AgentExit)) throw e;
  });

export const agentCommands: Record<string, Command> = {
  agent: {
    usage: 'gatehouse agent --state FILE (signin --user USERNAME_OR_EMAIL | signout | open URL [--print]) [--json]',
    summary:
      'The workstation agent: report who signed in to this desktop (the password is read from standard input) or signed out, or open URL in the browser signed in as the desktop user (--print: print the one-time link instead).',
    options: { state: str, user: str, print: flag },
    positionals: 1,
    maxPositionals: 2,
    async run(o, args, out) {
      const state = need(o, 'state');
      const [action, url] = args;
      if (action === 'signin') {
        if (url !== undefined) throw new UsageError(`Unexpected argument "${url}".`);
        const user = need(o, 'user');
        const password = await firstLineOfStdin('Password');
        if (!password) throw new UsageError("signin reads the user's password from standard input, which was empty.");
        await quietly(
          agentDoes(async (a) => {
            const r = await a.signin(state, user, password);
            out.print(
              `${r.user.email} is signed in on this workstation.${r.previousUser ? ` ${r.previousUser} was signed out of Gatehouse (${r.sessionsEnded} session${r.sessionsEnded === 1 ? '' : 's'} ended).` : ''}`,
              r,
            );
          }),
        );
      } else if (action === 'signout') {
        if (url !== undefined) throw new UsageError(`Unexpected argument "${url}".`);
        await quietly(
          agentDoes(async (a) => {
            const r = await a.signout(state);
            out.print(`Signed out: ${r.sessionsEnded} Gatehouse session${r.sessionsEnded === 1 ? '' : 's'} ended.`, r);
          }),
        );
      } else if (action === 'open') {
        if (!url) throw new UsageError('open needs the URL to open.');
        if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new UsageError(`open needs an http(s) URL; got "${url}".`);
        await quietly(
          agentDoes(async (a) => {
            const r = await a.link(state, url);
            if (o.print) out.print(r.url, r);
            else {
              a.openBrowser(r.url);
              out.print(`Opened ${url} in the browser.`, { opened: url, expiresAt: r.expiresAt });
            }
          }),
        );
      } else throw new UsageError(`Unknown agent action "${action}": signin, signout or open.`);
    },
  },
  'agent enroll': {
    usage: 'gatehouse agent enroll --url GATEHOUSE_URL --code CODE --state FILE --name NAME [--json]',
    summary:
      "Enroll this workstation with a one-time code (from `gatehouse agent code`; valid 5 minutes, works once). The agent's key is kept in FILE (mode 0600).",
    options: { url: str, code: str, state: str, name: str },
    async run(o, _a, out) {
      const opts = { url: need(o, 'url'), code: need(o, 'code'), stateFile: need(o, 'state'), name: need(o, 'name') };
      await quietly(
        agentDoes(async (a) => {
          const s = await a.enroll(opts);
          out.print(`Enrolled as workstation ${s.workstationId} (${s.name}) of ${s.tenant}; its key is in ${opts.stateFile}.`, {
            workstationId: s.workstationId,
            tenant: s.tenant,
            name: s.name,
          });
        }),
      );
    },
  },
  'agent code': {
    usage: 'gatehouse agent code --tenant SLUG [--json]',
    summary: 'Generate a one-time enrollment code for a workstation agent (valid 5 minutes, works once).',
    options: tenant,
    async run(o, _a, out) {
      const r = await request<WorkstationCode>('POST', `${inTenant(o)}/workstations/codes`);
      out.print(
        [
          `Enrollment code: ${r.code}`,
          `Valid until:     ${iso(r.expiresAt)} (5 minutes, once)`,
          '',
          `On the workstation: gatehouse agent enroll --url ${r.url} --code ${r.code} --state FILE --name NAME`,
        ].join('\n'),
        { code: r.code, expiresAt: r.expiresAt },
      );
    },
  },
};

export const workstationCommands: Record<string, Command> = {
  'workstation list': {
    usage: 'gatehouse workstation list --tenant SLUG [--limit N] [--cursor CURSOR] [--json]',
    summary: 'List enrolled workstations: who is signed in and since when, last seen, agent version, sessions bound.',
    options: { ...tenant, ...paging },
    async run(o, _a, out) {
      printList(
        out,
        await listing<Workstation>(o, `${inTenant(o)}/workstations`),
        (w) => [
          w.id,
          w.name,
          w.status,
          w.currentUser ? `${w.currentUser.email} since ${iso(w.since!)}` : 'nobody signed in',
          w.lastSeenAt ? `seen ${iso(w.lastSeenAt)}` : 'never seen',
          w.version ?? '-',
          `${w.sessionsBound} sessions`,
        ],
        'No workstations.',
      );
    },
  },
  'workstation revoke': {
    usage: 'gatehouse workstation revoke --tenant SLUG WORKSTATION_ID',
    summary: 'Revoke a workstation: its agent is refused from now on, and the sessions started on it end.',
    options: tenant,
    positionals: 1,
    async run(o, [id], out) {
      await request<void>('DELETE', `${inTenant(o)}/workstations/${enc(id!)}`);
      out.print(`Workstation ${id} is revoked.`, { id, revoked: true });
    },
  },
};
