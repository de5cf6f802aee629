// Groups and OUs.
import { opt, paging, str, tenant, type Command } from '../args.ts';
import { enc, inTenant, listing, request } from '../client.ts';
import { printList } from '../output.ts';
import type { Group, Ou } from '../types.ts';

export const groupCommands: Record<string, Command> = {
  'group create': {
    usage: 'gatehouse group create --tenant SLUG NAME', summary: 'Create a group.', options: tenant, positionals: 1,
    async run(o, [name], out) { const g = await request<Group>('POST', `${inTenant(o)}/groups`, { name }); out.print(`Created group ${g.name}.`, g); },
  },
  'group list': {
    usage: 'gatehouse group list --tenant SLUG [--search TEXT] [--limit N] [--cursor CURSOR] [--json]', summary: 'List groups with their member counts (--search: in names and descriptions).',
    options: { ...tenant, search: str, ...paging },
    async run(o, _a, out) {
      const search = opt(o, 'search');
      const l = await listing<Group>(o, `${inTenant(o)}/groups${search ? `?search=${enc(search)}` : ''}`);
      printList(out, l, (g) => [g.name, `${g.memberCount} member${g.memberCount === 1 ? '' : 's'}`, g.description ?? ''], 'No groups.');
    },
  },
  'group add-member': {
    usage: 'gatehouse group add-member --tenant SLUG GROUP EMAIL', summary: 'Add a user to a group.', options: tenant, positionals: 2,
    async run(o, [group, email], out) {
      await request<void>('PUT', `${inTenant(o)}/groups/${enc(group!)}/members/${enc(email!)}`);
      out.print(`Added ${email} to ${group}.`, { group, email });
    },
  },
};

export const ouCommands: Record<string, Command> = {
  'ou create': {
    usage: 'gatehouse ou create --tenant SLUG PATH', summary: 'Create an OU such as /Sales/EMEA (missing parents are created).', options: tenant, positionals: 1,
    async run(o, [path], out) { const ou = await request<Ou>('POST', `${inTenant(o)}/ous`, { path }); out.print(`Created OU ${ou.path}.`, ou); },
  },
};
