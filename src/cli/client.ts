// The admin API as the CLI calls it: where the server is (GATEHOUSE_URL), the admin token
// (GATEHOUSE_ADMIN_TOKEN, or exchanged for email and password once per command), and every
// refusal turned into one clear line: ApiError (exit 1) for what the server said or could
// not be reached, SetupError (exit 2) for settings the person must fix first.
import { opt, whole, UsageError, type Opts } from './args.ts';
import type { Page } from './types.ts';

/** Missing or unusable settings (credentials, GATEHOUSE_URL): the message goes to stderr, exit 2. */
export class SetupError extends Error {}
/** The server refused or could not be reached: its message goes to stderr, exit 1. */
export class ApiError extends Error {}

export const DEFAULT_URL = 'http://localhost:3000';
export const serverUrl = () => (process.env.GATEHOUSE_URL || DEFAULT_URL).replace(/\/+$/, '');
/** The admin API's largest page (src/storage/paging.ts MAX_PAGE_SIZE): fewer requests for long lists. */
const API_PAGE = 200;
let cachedToken: string | undefined;

export const enc = encodeURIComponent;
export const inTenant = (o: Opts) => {
  const t = opt(o, 'tenant');
  if (!t) throw new UsageError('--tenant is required.');
  return `/tenants/${enc(t)}`;
};

export async function request<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
  const { data } = await send(method, path, body, auth);
  return data as T;
}

interface ErrorBody {
  error?: { message?: string };
}

export async function send(method: string, path: string, body?: unknown, auth = true): Promise<{ data: unknown; text: string }> {
  const base = serverUrl();
  if (!URL.canParse(base) || !/^https?:$/.test(new URL(base).protocol))
    throw new SetupError(`GATEHOUSE_URL must be an http(s) URL like ${DEFAULT_URL}; it is "${base}".`);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth) headers.authorization = `Bearer ${await token()}`;
  let res: Response;
  try {
    res = await fetch(`${base}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    const code = (e as { cause?: { code?: string } }).cause?.code;
    const why = code && code !== 'ECONNREFUSED' ? ` (${code})` : '';
    throw new ApiError(`Cannot reach Gatehouse at ${base}${why}: is it running? Set GATEHOUSE_URL.`);
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    let message =
      (data as ErrorBody | undefined)?.error?.message ?? `Gatehouse answered ${res.status} ${res.statusText} (is GATEHOUSE_URL=${base} a Gatehouse server?).`;
    if (res.status === 401 && auth && process.env.GATEHOUSE_ADMIN_TOKEN)
      message +=
        ' (GATEHOUSE_ADMIN_TOKEN is set: get a fresh one with `gatehouse token`, or unset it to use GATEHOUSE_ADMIN_EMAIL and GATEHOUSE_ADMIN_PASSWORD.)';
    throw new ApiError(message);
  }
  return { data, text };
}

export async function token(): Promise<string> {
  if (cachedToken) return cachedToken;
  if (process.env.GATEHOUSE_ADMIN_TOKEN) return (cachedToken = process.env.GATEHOUSE_ADMIN_TOKEN);
  const email = process.env.GATEHOUSE_ADMIN_EMAIL;
  const password = process.env.GATEHOUSE_ADMIN_PASSWORD;
  if (!email || !password) {
    throw new SetupError(
      [
        'No administrator credentials. Set either',
        '  GATEHOUSE_ADMIN_EMAIL and GATEHOUSE_ADMIN_PASSWORD (and GATEHOUSE_ADMIN_TENANT if the administrator belongs to a tenant other than "default"), or',
        '  GATEHOUSE_ADMIN_TOKEN (an admin access token, from `gatehouse token`).',
      ].join('\n'),
    );
  }
  const r = await request<{ access_token: string }>('POST', '/auth/token', { email, password, tenant: process.env.GATEHOUSE_ADMIN_TENANT || 'default' }, false);
  return (cachedToken = r.access_token);
}

const withQuery = (path: string, q: Record<string, string>) => `${path}${path.includes('?') ? '&' : '?'}${new URLSearchParams(q)}`;

/** Every item of a list, following nextCursor page by page. */
export async function everything<T>(path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const r: Page<T> = await request<Page<T>>('GET', withQuery(path, { limit: String(API_PAGE), ...(cursor && { cursor }) }));
    items.push(...r.items);
    cursor = r.nextCursor;
  } while (cursor);
  return items;
}

/**
 * A list as the command line asked for it: everything (no --limit or --cursor), or at most
 * --limit items after --cursor, fetched in API pages that end exactly at the limit so that the
 * last page's nextCursor is where the next run starts.
 */
export async function listing<T>(o: Opts, path: string): Promise<{ items: T[]; nextCursor: string | null; paged: boolean }> {
  const limit = whole(o, 'limit');
  let cursor = opt(o, 'cursor') ?? null;
  if (limit === undefined && cursor === null) return { items: await everything<T>(path), nextCursor: null, paged: false };
  if (limit !== undefined && limit < 1) throw new UsageError('--limit must be at least 1.');
  if (cursor === '') throw new UsageError('--cursor needs the value printed by the run before ("More: ... --cursor VALUE").');
  let left = limit ?? API_PAGE;
  const items: T[] = [];
  do {
    const r: Page<T> = await request<Page<T>>('GET', withQuery(path, { limit: String(Math.min(left, API_PAGE)), ...(cursor && { cursor }) }));
    items.push(...r.items);
    left -= r.items.length;
    cursor = r.nextCursor;
  } while (cursor && left > 0);
  return { items, nextCursor: cursor, paged: true };
}
