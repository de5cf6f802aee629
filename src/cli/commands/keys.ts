// Signing keys, and the instance secret that seals every stored secret.
import { flag, has, oneOf, paging, tenant, UsageError, type Command } from '../args.ts';
import { inTenant, listing, request } from '../client.ts';
import { date, iso, printList } from '../output.ts';
import type { Key, Rotation, SecretRotation } from '../types.ts';

export const keyCommands: Record<string, Command> = {
  'keys list': {
    usage: 'gatehouse keys list --tenant SLUG [--limit N] [--cursor CURSOR] [--json]',
    summary:
      'List signing keys: status (next, active, retired), when each was published, starts or started signing, and its certificate expiry. With --json, per key exactly kid, alg, status, publishedAt, activatesAt, notAfter (ISO 8601 times).',
    options: { ...tenant, ...paging },
    async run(o, _a, out) {
      const l = await listing<Key>(o, `${inTenant(o)}/keys`);
      // The --json form is a contract read by outside checks: these fields, nothing else.
      const contract = (k: Key) => ({
        kid: k.kid,
        alg: k.alg,
        status: k.status,
        publishedAt: iso(k.publishedAt),
        activatesAt: k.activatesAt === null ? null : iso(k.activatesAt),
        notAfter: iso(k.notAfter),
      });
      const when = (k: Key) => (k.activatesAt === null ? '' : k.status === 'next' ? `signs from ${date(k.activatesAt)}` : `signed from ${date(k.activatesAt)}`);
      printList(
        out,
        { ...l, items: out.json ? l.items.map(contract) : l.items } as typeof l,
        (k) => [
          k.kid,
          k.alg,
          k.status,
          `published ${date(k.publishedAt)}`,
          when(k),
          `certificate expires ${date(k.notAfter)}`,
          k.status === 'active' && k.expiresSoon ? 'EXPIRES WITHIN 60 DAYS: run `gatehouse keys rotate`' : '',
        ],
        'No keys.',
      );
    },
  },
  'keys rotate': {
    usage: 'gatehouse keys rotate --tenant SLUG [--alg RS256|ES256] [--now [--force]] [--json]',
    summary:
      'Rotate signing keys (both algorithms unless --alg): the published next key starts signing as soon as it has been published long enough (GATEHOUSE_KEY_PUBLISH_DAYS, 7 days), at once if it has; a next key too old to be worth it is first replaced by a fresh one. The old key stays published until its tokens expire. --now: at once, refused if the key was published too recently, unless --force.',
    options: { ...tenant, alg: { type: 'string' }, now: flag, force: flag },
    async run(o, _a, out) {
      const alg = oneOf(o, 'alg', ['RS256', 'ES256']);
      if (has(o, 'force') && !has(o, 'now')) throw new UsageError('--force only goes with --now (rotate at once even with a recently published key).');
      const r = await request<Rotation>('POST', `${inTenant(o)}/keys/rotate`, {
        alg,
        ...(has(o, 'now') && { now: true }),
        ...(has(o, 'force') && { force: true }),
      });
      const lines: string[] = [];
      if (r.activated.length)
        lines.push(`Now signing with ${r.activated.join(', ')}; retired ${r.retired.join(', ') || 'none'} (published until its tokens expire).`);
      if (r.removed.length) lines.push(`Replaced the next key(s) ${r.removed.join(', ')}: their certificates expire too soon to be worth activating.`);
      if (r.created.length) lines.push(`Published the new next key(s) ${r.created.join(', ')}.`);
      for (const s of r.scheduled)
        lines.push(
          `${s.alg}: ${s.kid} starts signing by itself at ${iso(s.activatesAt)}, once relying parties have had time to fetch it. Run with --now --force to sign with it sooner.`,
        );
      out.print(lines.join('\n') || 'Nothing to rotate.', r);
    },
  },
};

export const secretCommands: Record<string, Command> = {
  'secret rotate': {
    usage: 'gatehouse secret rotate [--json]',
    summary:
      'Re-seal every stored secret under the new instance secret, online (superadministrators of the default tenant). With GATEHOUSE_SECRET: set the new one and GATEHOUSE_SECRET_PREVIOUS on every node and restart them first; with the generated secret.key: a new key replaces it. See docs/operations.md.',
    async run(_o, _a, out) {
      const r = await request<SecretRotation>('POST', '/instance/secret/rotate');
      const counts = Object.entries(r.resealed)
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ');
      const lines = [`Re-sealed ${counts || 'nothing (everything was already under the new secret)'}.`];
      if (r.unreadable)
        lines.push(`${r.unreadable} value(s) could not be opened with any secret the server holds and were left as they were: the server log names them.`);
      lines.push(r.next);
      out.print(lines.join('\n'), r);
      if (r.unreadable) process.exitCode = 1;
    },
  },
};
