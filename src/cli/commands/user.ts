// Users: create, list, show, disable/enable, delete, unlock, reset two-step verification, set
// a password, their sessions and the policy that applies to them. Every action on an account
// obeys the role hierarchy on the server: its refusal (403) is printed as the server says it.
import { flag, has, list, many, need, opt, paging, secretArg, str, tenant, UsageError, type Command } from '../args.ts';
import { enc, inTenant, listing, request } from '../client.ts';
import { minute, printList, table } from '../output.ts';
import type { EffectivePolicy, Factor, Page, Session, User, UserDetail } from '../types.ts';
import { sessionRow } from './session.ts';
import { describeSettings } from './policy.ts';

const fullName = (u: { givenName: string | null; familyName: string | null }) => [u.givenName, u.familyName].filter(Boolean).join(' ');

export const userCommands: Record<string, Command> = {
  'user create': {
    usage:
      'gatehouse user create --tenant SLUG --email EMAIL --password PASSWORD [--username NAME] [--given-name NAME] [--family-name NAME] [--ou PATH] [--group NAME]... [--role superadmin|admin|helpdesk|auditor]... [--email-verified] [--must-change-password] [--json]',
    summary: 'Create a local user, who signs in with the email or the --username (unique in the tenant). Groups and OUs that do not exist yet are created.',
    options: {
      ...tenant,
      email: str,
      password: str,
      username: str,
      'given-name': str,
      'family-name': str,
      ou: str,
      group: many,
      role: many,
      'email-verified': flag,
      'must-change-password': flag,
    },
    async run(o, _a, out) {
      const path = `${inTenant(o)}/users`;
      const u = await request<UserDetail>('POST', path, {
        email: need(o, 'email'),
        password: need(o, 'password'),
        username: opt(o, 'username'),
        emailVerified: has(o, 'email-verified') || undefined,
        mustChangePassword: has(o, 'must-change-password') || undefined,
        givenName: opt(o, 'given-name'),
        familyName: opt(o, 'family-name'),
        ou: opt(o, 'ou'),
        groups: list(o, 'group'),
        roles: list(o, 'role'),
      });
      out.print(`Created user ${u.email}${u.username ? ` (username ${u.username})` : ''} (${u.id}).`, u);
    },
  },
  'user list': {
    usage: 'gatehouse user list --tenant SLUG [--search TEXT] [--limit N] [--cursor CURSOR] [--json]',
    summary: 'List users by email (all of them, or one page with --limit/--cursor); --search matches the email and names.',
    options: { ...tenant, search: str, ...paging },
    async run(o, _a, out) {
      const search = opt(o, 'search');
      const l = await listing<User>(o, `${inTenant(o)}/users${search ? `?search=${enc(search)}` : ''}`);
      printList(out, l, (u) => [u.email, u.status, fullName(u)], 'No users.');
    },
  },
  'user show': {
    usage: 'gatehouse user show --tenant SLUG EMAIL [--json]',
    summary: 'Show a user: status, names, OU, groups, roles, where the account comes from.',
    options: tenant,
    positionals: 1,
    async run(o, [email], out) {
      const u = await request<UserDetail>('GET', `${inTenant(o)}/users/${enc(email!)}`);
      out.print(
        table(
          [
            ['email', u.email],
            ['username', u.username ?? '-'],
            ['email verified', u.emailVerified ? 'yes' : 'no'],
            ['id', u.id],
            ['status', u.status],
            ['name', fullName(u) || '-'],
            ['OU', u.ou ?? '-'],
            ['groups', u.groups.join(', ') || '-'],
            ['roles', u.roles.join(', ') || '-'],
            ['password', u.hasPassword ? (u.mustChangePassword ? 'set (must change at next sign-in)' : 'set') : 'none'],
            ['kept by', u.directoryId ? `LDAP directory ${u.directoryId}` : u.upstreamId ? `upstream ${u.upstreamId}` : 'Gatehouse (local)'],
          ],
          '',
        ),
        u,
      );
    },
  },
  'user update': {
    usage:
      'gatehouse user update --tenant SLUG EMAIL [--username NAME|none] [--given-name NAME|none] [--family-name NAME|none] [--ou PATH|none] [--role superadmin|admin|helpdesk|auditor]... [--no-roles] [--email-verified yes|no] [--must-change-password yes|no] [--json]',
    summary:
      "Change a user's username, names, OU, administrator roles (superadministrators; --role replaces them all, --no-roles removes them), whether the email is verified, or require a new password at the next sign-in.",
    options: {
      ...tenant,
      username: str,
      'given-name': str,
      'family-name': str,
      ou: str,
      role: many,
      'no-roles': flag,
      'email-verified': str,
      'must-change-password': str,
    },
    positionals: 1,
    async run(o, [email], out) {
      const orNull = (name: string) => {
        const v = opt(o, name);
        return v === 'none' ? null : v;
      };
      if (list(o, 'role') && has(o, 'no-roles')) throw new UsageError('Give --role or --no-roles, not both.');
      const yesNo = (name: string) => {
        const v = opt(o, name);
        if (v === undefined) return undefined;
        if (v !== 'yes' && v !== 'no') throw new UsageError(`--${name} takes yes or no.`);
        return v === 'yes';
      };
      const body = {
        username: orNull('username'),
        givenName: orNull('given-name'),
        familyName: orNull('family-name'),
        ou: orNull('ou'),
        roles: has(o, 'no-roles') ? [] : list(o, 'role'),
        emailVerified: yesNo('email-verified'),
        mustChangePassword: yesNo('must-change-password'),
      };
      if (Object.values(body).every((v) => v === undefined))
        throw new UsageError(
          'Give at least one of --username, --given-name, --family-name, --ou, --role, --no-roles, --email-verified, --must-change-password.',
        );
      const u = await request<UserDetail>('PATCH', `${inTenant(o)}/users/${enc(email!)}`, body);
      out.print(`Saved ${u.email}: ${fullName(u) || 'no name'}, OU ${u.ou ?? 'none'}, roles ${u.roles.join(', ') || 'none'}.`, u);
    },
  },
  'user disable': {
    usage: 'gatehouse user disable --tenant SLUG EMAIL',
    summary: 'Disable a user: they can no longer sign in.',
    options: tenant,
    positionals: 1,
    async run(o, [email], out) {
      const u = await request<UserDetail>('PATCH', `${inTenant(o)}/users/${enc(email!)}`, { status: 'disabled' });
      out.print(`${u.email} is disabled.`, u);
    },
  },
  'user enable': {
    usage: 'gatehouse user enable --tenant SLUG EMAIL',
    summary: 'Enable a disabled user.',
    options: tenant,
    positionals: 1,
    async run(o, [email], out) {
      const u = await request<UserDetail>('PATCH', `${inTenant(o)}/users/${enc(email!)}`, { status: 'active' });
      out.print(`${u.email} is active.`, u);
    },
  },
  'user delete': {
    usage: 'gatehouse user delete --tenant SLUG EMAIL [--json]',
    summary: 'Delete a user: their sessions end; memberships, second factors and links go with them.',
    options: tenant,
    positionals: 1,
    async run(o, [email], out) {
      await request<void>('DELETE', `${inTenant(o)}/users/${enc(email!)}`);
      out.print(`Deleted ${email}.`, { email, deleted: true });
    },
  },
  'user unlock': {
    usage: 'gatehouse user unlock --tenant SLUG EMAIL [--json]',
    summary: 'Lift a lockout after failed sign-ins: the user may try again at once.',
    options: tenant,
    positionals: 1,
    async run(o, [email], out) {
      await request<void>('POST', `${inTenant(o)}/users/${enc(email!)}/unlock`);
      out.print(`${email} may sign in again.`, { email, unlocked: true });
    },
  },
  'user mfa': {
    usage: 'gatehouse user mfa --tenant SLUG EMAIL [--json]',
    summary: "List a user's second factors (never their secrets), oldest first, and how many recovery codes are left.",
    options: tenant,
    positionals: 1,
    async run(o, [email], out) {
      const path = `${inTenant(o)}/users/${enc(email!)}/mfa`;
      const items: Factor[] = [];
      let recoveryCodesLeft = 0;
      let cursor: string | null = null;
      do {
        const r: Page<Factor> & { recoveryCodesLeft: number } = await request('GET', `${path}?limit=200${cursor ? `&cursor=${enc(cursor)}` : ''}`);
        items.push(...r.items);
        recoveryCodesLeft = r.recoveryCodesLeft;
        cursor = r.nextCursor;
      } while (cursor);
      const rows = table(
        items.map((f) => [f.type, f.label, `added ${minute(f.createdAt)}`, f.lastUsedAt ? `last used ${minute(f.lastUsedAt)}` : 'never used']),
        `${email} has no second factor.`,
      );
      out.print(`${rows}\nRecovery codes left: ${recoveryCodesLeft}`, { items, recoveryCodesLeft });
    },
  },
  'user reset-mfa': {
    usage: 'gatehouse user reset-mfa --tenant SLUG EMAIL [--json]',
    summary: 'Reset two-step verification: every authenticator app, Gatehouse Authenticator, passkey, recovery code and remembered browser of the user goes.',
    options: tenant,
    positionals: 1,
    async run(o, [email], out) {
      await request<void>('DELETE', `${inTenant(o)}/users/${enc(email!)}/mfa`);
      out.print(`Reset two-step verification of ${email}: they set it up again at their next sign-in if their policy asks for it.`, { email, reset: true });
    },
  },
  'user set-password': {
    usage: 'gatehouse user set-password --tenant SLUG EMAIL --password PASSWORD|- [--json]',
    summary: "Set a user's password (a reset). --password - reads it from standard input, so that it does not show in the process list.",
    options: { ...tenant, password: str },
    positionals: 1,
    async run(o, [email], out) {
      const password = await secretArg(o, 'password', 'new password');
      if (!password) throw new UsageError('--password is required (- reads it from standard input).');
      const u = await request<UserDetail>('PATCH', `${inTenant(o)}/users/${enc(email!)}`, { password });
      out.print(`Set a new password for ${u.email}.`, u);
    },
  },
  'user sessions': {
    usage: 'gatehouse user sessions --tenant SLUG EMAIL [--limit N] [--cursor CURSOR] [--json]',
    summary: "List a user's live SSO sessions (end one with `gatehouse session end`, all with `gatehouse session end-all`).",
    options: { ...tenant, ...paging },
    positionals: 1,
    async run(o, [email], out) {
      printList(out, await listing<Session>(o, `${inTenant(o)}/users/${enc(email!)}/sessions`), sessionRow, `No live sessions of ${email}.`);
    },
  },
  'user policy': {
    usage: 'gatehouse user policy --tenant SLUG EMAIL [--json]',
    summary: 'Show the user policy that applies to a user (first match by priority), and its settings.',
    options: tenant,
    positionals: 1,
    async run(o, [email], out) {
      const r = await request<EffectivePolicy>('GET', `${inTenant(o)}/users/${enc(email!)}/policy`);
      const head = r.policy ? `${email}: policy ${r.policy.name} (priority ${r.policy.priority}).` : `${email}: no policy matches; the defaults apply.`;
      out.print(`${head}\n${describeSettings(r.settings)}`, r);
    },
  },
};
