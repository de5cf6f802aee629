// Signing keys, and the instance secret that seals every stored secret.
import { oneOf, paging, tenant, type Command } from '../args.ts';
import { inTenant, listing, request } from '../client.ts';
import { date, printList } from '../output.ts';
import type { Key, Rotation, SecretRotation } from '../types.ts';

export const keyCommands: Record<string, Command> = {
  'keys list': {
    usage: 'gatehouse keys list --tenant SLUG [--limit N] [--cursor CURSOR] [--json]', summary: 'List signing keys; keys whose certificate expires within 60 days are flagged.', options: { ...tenant, ...paging },
    async run(o, _a, out) {
      printList(out, await listing<Key>(o, `${inTenant(o)}/keys`), (k) => [k.kid, k.alg, k.status, `certificate expires ${date(k.notAfter)}`,
        k.expiresSoon ? 'EXPIRES WITHIN 60 DAYS: run `gatehouse keys rotate`' : ''], 'No keys.');
    },
  },
  'keys rotate': {
    usage: 'gatehouse keys rotate --tenant SLUG [--alg RS256|ES256] [--json]',
    summary: 'Rotate signing keys (both algorithms unless --alg): the published next key starts signing; the old one stays published until its tokens expire.',
    options: { ...tenant, alg: { type: 'string' } },
    async run(o, _a, out) {
      const alg = oneOf(o, 'alg', ['RS256', 'ES256']);
      const r = await request<Rotation>('POST', `${inTenant(o)}/keys/rotate`, { alg });
      out.print(`Now signing with ${r.activated.join(', ')}; retired ${r.retired.join(', ') || 'none'}; published next ${r.created.join(', ')}.`, r);
    },
  },
};

export const secretCommands: Record<string, Command> = {
  'secret rotate': {
    usage: 'gatehouse secret rotate [--json]',
    summary: 'Re-seal every stored secret under the new instance secret, online (superadministrators of the default tenant). With GATEHOUSE_SECRET: set the new one and GATEHOUSE_SECRET_PREVIOUS on every node and restart them first; with the generated secret.key: a new key replaces it. See docs/operations.md.',
    async run(_o, _a, out) {
      const r = await request<SecretRotation>('POST', '/instance/secret/rotate');
      const counts = Object.entries(r.resealed).map(([k, n]) => `${k}: ${n}`).join(', ');
      const lines = [`Re-sealed ${counts || 'nothing (everything was already under the new secret)'}.`];
      if (r.unreadable) lines.push(`${r.unreadable} value(s) could not be opened with any secret the server holds and were left as they were: the server log names them.`);
      lines.push(r.next);
      out.print(lines.join('\n'), r);
      if (r.unreadable) process.exitCode = 1;
    },
  },
};
