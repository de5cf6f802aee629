// The tenant at a glance (counts, alerts, recent sign-in failures) and who is signed in.
import { tenant, type Command } from '../args.ts';
import { inTenant, request } from '../client.ts';
import { iso, table } from '../output.ts';
import type { AuditEvent } from '../types.ts';

// The overview's alerts gain kinds as features add checks: the CLI prints any kind it is given.
interface Overview {
  counts: { users: number; groups: number; apps: number; deployedApps: number; activeSessions: number };
  recentFailures: AuditEvent[];
  alerts: Array<{ level: 'warn' | 'error'; kind: string; message: string; subject?: string }>;
}
interface Me {
  userId: string;
  email: string;
  tenant: string;
  roles: string[];
  instanceAdmin: boolean;
}

export const overviewCommands: Record<string, Command> = {
  overview: {
    usage: 'gatehouse overview --tenant SLUG [--json]',
    summary: 'The tenant at a glance: counts, alerts (certificates expiring, upstream directories failing) and the latest sign-in failures.',
    options: tenant,
    async run(o, _a, out) {
      const r = await request<Overview>('GET', `${inTenant(o)}/overview`);
      const c = r.counts;
      const lines = [`${c.users} users, ${c.groups} groups, ${c.apps} apps (${c.deployedApps} deployed), ${c.activeSessions} live sessions.`, ''];
      lines.push(r.alerts.length ? `Alerts:\n${r.alerts.map((a) => `  ${a.level.toUpperCase()}  ${a.message}`).join('\n')}` : 'No alerts.', '');
      lines.push(
        r.recentFailures.length
          ? `Latest sign-in failures:\n${table(
              r.recentFailures.map((e) => [`  ${iso(e.at)}`, e.type, e.subject ?? '-']),
              '',
            )}`
          : 'No recent sign-in failures.',
      );
      out.print(lines.join('\n'), r);
    },
  },
  whoami: {
    usage: 'gatehouse whoami [--json]',
    summary: 'Show the administrator the CLI signs in as: email, tenant and roles.',
    async run(_o, _a, out) {
      const me = await request<Me>('GET', '/me');
      out.print(`${me.email} (tenant ${me.tenant}; roles ${me.roles.join(', ') || 'none'}${me.instanceAdmin ? '; administers every tenant' : ''})`, me);
    },
  },
};
