// Keyset pagination shared by the stores: a page is ordered by a unique key (an email, a
// name, a path, a time-ordered id), the cursor is the last key of the page before, opaque to
// callers. Searching is a case-insensitive substring match.
import { invalid } from '../shared/errors.ts';

export interface PageOptions {
  search?: string;
  cursor?: string;
  limit?: number;
}
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export const pageSize = (limit?: number, max = MAX_PAGE_SIZE) => Math.min(Math.max(limit ?? DEFAULT_PAGE_SIZE, 1), max);

export const encodeCursor = (key: string) => Buffer.from(key, 'utf8').toString('base64url');

/** The key a cursor stands for; a cursor Gatehouse did not give out is refused (400). */
export function decodeCursor(cursor: string): string {
  if (!/^[A-Za-z0-9_-]{1,700}$/.test(cursor)) throw badCursor();
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!key || encodeCursor(key) !== cursor) throw badCursor();
  return key;
}
const badCursor = () => invalid('The cursor is not one this list gave out (they come from "nextCursor"). Start again from the first page.');

/** A LIKE pattern for a substring, with the wildcards in it escaped (use with `escape '\\'`). */
export const containsPattern = (text: string) => `%${text.toLowerCase().replace(/[%_\\]/g, (m) => '\\' + m)}%`;

/** Cut a fetched page (fetched with limit + 1 rows) into items and the next cursor. */
export function cut<T>(rows: T[], limit: number, key: (row: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? encodeCursor(key(items[items.length - 1]!)) : null };
}

/**
 * Page through a list held in memory (the short ones: tenants' keys, policies, upstreams), in
 * the order given; `key` must be unique and grow along that order.
 */
export function pageInMemory<T>(all: T[], opts: PageOptions, key: (x: T) => string, text: (x: T) => Array<string | null | undefined>): Page<T> {
  const limit = pageSize(opts.limit);
  const needle = opts.search?.trim().toLowerCase();
  let list = needle ? all.filter((x) => text(x).some((t) => t?.toLowerCase().includes(needle))) : all;
  if (opts.cursor) {
    const after = decodeCursor(opts.cursor);
    list = list.filter((x) => key(x) > after);
  }
  return cut(list.slice(0, limit + 1), limit, key);
}
