// The admin API client: JSON in and out, the console's access token, the API's error shape
// ({ error: { code, message, details } }) as an ApiError that forms turn into field messages.
import { accessToken, refresh, signIn } from './auth.ts';
import { settings } from './settings.ts';

export interface Problem {
  field: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problems: Problem[];
  constructor(status: number, code: string, message: string, problems: Problem[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.problems = problems;
  }
  /** The message for one form field (the API names fields like "redirectUris.0"). */
  forField(field: string): string | undefined {
    return this.problems.find((p) => p.field === field || p.field.startsWith(`${field}.`))?.message;
  }
}

export type { Page } from './types.ts';

async function send(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  const token = accessToken();
  if (!token) await signIn();
  return fetch(settings.api + path, {
    method,
    signal,
    headers: { authorization: `Bearer ${accessToken()}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Call the admin API. An expired token is renewed once; a session that ended leads to sign-in. */
export async function api<T = unknown>(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal } = {}): Promise<T> {
  let res: Response;
  try {
    res = await send(method, path, body, opts.signal);
    if (res.status === 401 && (await refresh())) res = await send(method, path, body, opts.signal);
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Gatehouse could not be reached. Check your connection and try again.');
  }
  if (res.status === 401) await signIn();
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: a JSON answer, typed by each caller
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = json?.error;
    const message =
      typeof err?.message === 'string' ? err.message : `The server answered ${res.status}. Try again; if it keeps happening, contact your administrator.`;
    throw new ApiError(
      res.status,
      typeof err?.code === 'string' ? err.code : 'error',
      message,
      Array.isArray(err?.details?.problems)
        ? err.details.problems.map((p: unknown) => (typeof p === 'string' ? { field: '', message: p } : (p as Problem)))
        : [],
    );
  }
  return json as T;
}

/** Download from the admin API (with the token) and save as a file. */
export async function download(path: string, filename: string): Promise<void> {
  let res = await send('GET', path, undefined);
  if (res.status === 401 && (await refresh())) res = await send('GET', path, undefined);
  if (!res.ok) {
    const json = await res.json().catch(() => undefined);
    throw new ApiError(res.status, json?.error?.code ?? 'error', json?.error?.message ?? `The export failed (${res.status}).`);
  }
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const enc = encodeURIComponent;

/** A query string from the set values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}
