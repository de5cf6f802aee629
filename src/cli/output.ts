// What the CLI prints: human text (aligned tables) or, with --json, exactly one JSON document
// on stdout. Messages for the person (such as "there is more") go to stderr so that stdout
// stays parseable.

export interface Output {
  json: boolean;
  print(human: string, data: unknown): void;
}

export function output(json: boolean): Output {
  return { json, print: (human, data) => console.log(json ? JSON.stringify(data, null, 2) : human) };
}

/** Aligned columns; `none` when there are no rows. */
export function table(rows: string[][], none: string): string {
  if (rows.length === 0) return none;
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
export const iso = (ms: number) => new Date(ms).toISOString();
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Print a list. All of it: a table, or with --json an array of the items. One page (--limit or
 * --cursor): with --json `{ items, nextCursor }`; as a table, the rows and, when there is more,
 * how to get it on stderr.
 */
export function printList<T>(out: Output, l: { items: T[]; nextCursor: string | null; paged: boolean }, row: (x: T) => string[], none: string): void {
  out.print(table(l.items.map(row), none), l.paged ? { items: l.items, nextCursor: l.nextCursor } : l.items);
  if (l.nextCursor && !out.json) console.error(`There is more: run \`${rerun()} --cursor ${l.nextCursor}\` for the next page.`);
}

/** This command line again, without its --cursor: what to run for the next page. */
function rerun(): string {
  const args: string[] = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--cursor') {
      i++;
      continue;
    }
    if (a.startsWith('--cursor=')) continue;
    args.push(/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  }
  return ['gatehouse', ...args].join(' ');
}
