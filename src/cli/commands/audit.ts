// The audit log: a page of events, newest first, or an export of every match.
import fs from 'node:fs';
import { dateArg, oneOf, opt, str, tenant, whole, UsageError, type Opts, type Command } from '../args.ts';
import { inTenant, request, send } from '../client.ts';
import { iso, table } from '../output.ts';
import type { AuditEvent, Page } from '../types.ts';

const auditFilters = { level: str, type: str, text: str, user: str, app: str, since: str, until: str };
/** The audit filters as query parameters; dates (2026-12-01 or an ISO time) become epoch ms. */
function auditQuery(o: Opts): URLSearchParams {
  oneOf(o, 'level', ['info', 'warn', 'error']);
  const q = new URLSearchParams();
  for (const k of ['level', 'type', 'text', 'user', 'app']) {
    const v = opt(o, k);
    if (v !== undefined) q.set(k, v);
  }
  for (const k of ['since', 'until']) {
    const t = dateArg(o, k);
    if (t !== undefined) q.set(k, String(t));
  }
  return q;
}

export const auditCommands: Record<string, Command> = {
  audit: {
    usage:
      'gatehouse audit --tenant SLUG [--level info|warn|error] [--type TYPE] [--text TEXT] [--user EMAIL] [--app CLIENT_ID] [--since DATE] [--until DATE] [--limit N] [--cursor CURSOR] [--json]',
    summary: 'Show audit events, newest first (default 50, at most 500; --cursor: the next ones, as printed on stderr when there are more).',
    options: { ...tenant, ...auditFilters, limit: str, cursor: str },
    async run(o, _a, out) {
      const limit = whole(o, 'limit');
      if (limit !== undefined && (limit < 1 || limit > 500)) throw new UsageError('--limit must be between 1 and 500.');
      const q = auditQuery(o);
      if (limit !== undefined) q.set('limit', String(limit));
      const cursor = opt(o, 'cursor');
      if (cursor) q.set('cursor', cursor);
      const r = await request<Page<AuditEvent>>('GET', `${inTenant(o)}/audit?${q}`);
      // --json stays an array of events (scripts read it so); the cursor goes to stderr for both.
      out.print(
        table(
          r.items.map((e) => [iso(e.at), e.level, e.type, e.actor ?? '-', e.subject ?? '']),
          'No matching events.',
        ),
        r.items,
      );
      if (r.nextCursor)
        console.error(`There are more events: add --cursor ${r.nextCursor} for the next ${limit ?? 50}, or use \`gatehouse audit export\` for all of them.`);
    },
  },
  'audit export': {
    usage:
      'gatehouse audit export --tenant SLUG [--format csv|json] [--output FILE] [--level LEVEL] [--type TYPE] [--text TEXT] [--user EMAIL] [--app CLIENT_ID] [--since DATE] [--until DATE]',
    summary: 'Export the matching audit events (newest first, at most 100,000) as CSV (default) or JSON, to FILE or stdout.',
    options: { ...tenant, ...auditFilters, format: str, output: str },
    json: false,
    async run(o) {
      const q = auditQuery(o);
      q.set('format', oneOf(o, 'format', ['csv', 'json']) ?? 'csv');
      const { text } = await send('GET', `${inTenant(o)}/audit/export?${q}`);
      const file = opt(o, 'output');
      if (file !== undefined) {
        fs.writeFileSync(file, text);
        console.error(`Wrote ${file}.`);
      } else process.stdout.write(text);
    },
  },
};
