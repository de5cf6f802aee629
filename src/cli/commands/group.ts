// Groups, OUs and email domains.
import { opt, paging, str, tenant, UsageError, type Command } from '../args.ts';
import { enc, inTenant, listing, request } from '../client.ts';
import { printList, table } from '../output.ts';
import type { Domain, Group, Ou, User } from '../types.ts';

export const groupCommands: Record<string, Command> = {
  'group create': {
    usage: 'gatehouse group create --tenant SLUG NAME',
    summary: 'Create a group.',
    options: tenant,
    positionals: 1,
    async run(o, [name], out) {
      const g = await request<Group>('POST', `${inTenant(o)}/groups`, { name });
      out.print(`Created group ${g.name}.`, g);
    },
  },
  'group list': {
    usage: 'gatehouse group list --tenant SLUG [--search TEXT] [--limit N] [--cursor CURSOR] [--json]',
    summary: 'List groups with their member counts (--search: in names and descriptions).',
    options: { ...tenant, search: str, ...paging },
    async run(o, _a, out) {
      const search = opt(o, 'search');
      const l = await listing<Group>(o, `${inTenant(o)}/groups${search ? `?search=${enc(search)}` : ''}`);
      printList(out, l, (g) => [g.name, `${g.memberCount} member${g.memberCount === 1 ? '' : 's'}`, g.description ?? ''], 'No groups.');
    },
  },
  'group show': {
    usage: 'gatehouse group show --tenant SLUG NAME [--json]',
    summary: 'Show a group: description and member count.',
    options: tenant,
    positionals: 1,
    async run(o, [group], out) {
      const g = await request<Group>('GET', `${inTenant(o)}/groups/${enc(group!)}`);
      out.print(
        table(
          [
            ['name', g.name],
            ['id', g.id],
            ['description', g.description ?? '-'],
            ['members', String(g.memberCount)],
          ],
          '',
        ),
        g,
      );
    },
  },
  'group update': {
    usage: 'gatehouse group update --tenant SLUG NAME [--name NEW_NAME] [--description TEXT|none] [--json]',
    summary: 'Rename a group or change its description.',
    options: { ...tenant, name: str, description: str },
    positionals: 1,
    async run(o, [group], out) {
      const description = opt(o, 'description');
      const body = { name: opt(o, 'name'), description: description === 'none' ? null : description };
      if (body.name === undefined && body.description === undefined) throw new UsageError('Give --name or --description.');
      const g = await request<Group>('PATCH', `${inTenant(o)}/groups/${enc(group!)}`, body);
      out.print(`Saved group ${g.name}.`, g);
    },
  },
  'group add-member': {
    usage: 'gatehouse group add-member --tenant SLUG GROUP EMAIL',
    summary: 'Add a user to a group.',
    options: tenant,
    positionals: 2,
    async run(o, [group, email], out) {
      await request<void>('PUT', `${inTenant(o)}/groups/${enc(group!)}/members/${enc(email!)}`);
      out.print(`Added ${email} to ${group}.`, { group, email });
    },
  },
  'group remove-member': {
    usage: 'gatehouse group remove-member --tenant SLUG GROUP EMAIL [--json]',
    summary: 'Remove a user from a group.',
    options: tenant,
    positionals: 2,
    async run(o, [group, email], out) {
      await request<void>('DELETE', `${inTenant(o)}/groups/${enc(group!)}/members/${enc(email!)}`);
      out.print(`Removed ${email} from ${group}.`, { group, email, removed: true });
    },
  },
  'group members': {
    usage: 'gatehouse group members --tenant SLUG GROUP [--search TEXT] [--limit N] [--cursor CURSOR] [--json]',
    summary: "List a group's members by email.",
    options: { ...tenant, search: str, ...paging },
    positionals: 1,
    async run(o, [group], out) {
      const search = opt(o, 'search');
      const l = await listing<User>(o, `${inTenant(o)}/groups/${enc(group!)}/members${search ? `?search=${enc(search)}` : ''}`);
      printList(out, l, (u) => [u.email, u.status, [u.givenName, u.familyName].filter(Boolean).join(' ')], `${group} has no members.`);
    },
  },
  'group delete': {
    usage: 'gatehouse group delete --tenant SLUG NAME [--json]',
    summary: 'Delete a group: its memberships and the app deployments to it go with it.',
    options: tenant,
    positionals: 1,
    async run(o, [group], out) {
      await request<void>('DELETE', `${inTenant(o)}/groups/${enc(group!)}`);
      out.print(`Deleted group ${group}.`, { name: group, deleted: true });
    },
  },
};

export const ouCommands: Record<string, Command> = {
  'ou create': {
    usage: 'gatehouse ou create --tenant SLUG PATH',
    summary: 'Create an OU such as /Sales/EMEA (missing parents are created).',
    options: tenant,
    positionals: 1,
    async run(o, [path], out) {
      const ou = await request<Ou>('POST', `${inTenant(o)}/ous`, { path });
      out.print(`Created OU ${ou.path}.`, ou);
    },
  },
  'ou list': {
    usage: 'gatehouse ou list --tenant SLUG [--search TEXT] [--limit N] [--cursor CURSOR] [--json]',
    summary: 'List OUs by path.',
    options: { ...tenant, search: str, ...paging },
    async run(o, _a, out) {
      const search = opt(o, 'search');
      printList(out, await listing<Ou>(o, `${inTenant(o)}/ous${search ? `?search=${enc(search)}` : ''}`), (x) => [x.path], 'No OUs.');
    },
  },
  'ou delete': {
    usage: 'gatehouse ou delete --tenant SLUG PATH [--json]',
    summary: 'Delete an empty OU (one with users or sub-OUs is refused).',
    options: tenant,
    positionals: 1,
    async run(o, [path], out) {
      await request<void>('DELETE', `${inTenant(o)}/ous/${enc(path!)}`);
      out.print(`Deleted OU ${path}.`, { path, deleted: true });
    },
  },
};

export const domainCommands: Record<string, Command> = {
  'domain add': {
    usage: 'gatehouse domain add --tenant SLUG NAME [--json]',
    summary: 'Add an email domain (apps and policies can target it).',
    options: tenant,
    positionals: 1,
    async run(o, [name], out) {
      const d = await request<Domain>('POST', `${inTenant(o)}/domains`, { name });
      out.print(`Added domain ${d.name}.`, d);
    },
  },
  'domain list': {
    usage: 'gatehouse domain list --tenant SLUG [--search TEXT] [--limit N] [--cursor CURSOR] [--json]',
    summary: "List the tenant's email domains.",
    options: { ...tenant, search: str, ...paging },
    async run(o, _a, out) {
      const search = opt(o, 'search');
      printList(out, await listing<Domain>(o, `${inTenant(o)}/domains${search ? `?search=${enc(search)}` : ''}`), (d) => [d.name], 'No domains.');
    },
  },
};
