// A small router over the History API: paths are relative to the console's base
// (/t/<slug>/console). Links are real <a href>s, so they open in new tabs and read as links.
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';
import { settings } from './settings.ts';

const listeners = new Set<() => void>();
const notify = () => {
  for (const l of listeners) l();
};
window.addEventListener('popstate', notify);

const subscribe = (l: () => void) => {
  listeners.add(l);
  return () => {
    listeners.delete(l);
  };
};
const snapshot = () => location.pathname + location.search;

export const href = (to: string) => settings.base + to;

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  history[opts.replace ? 'replaceState' : 'pushState'](null, '', href(to));
  notify();
  window.scrollTo(0, 0);
}

/** The current path under the console (always starting with /) and its query. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const full = useSyncExternalStore(subscribe, snapshot);
  const url = new URL(full, location.origin);
  const path = url.pathname.startsWith(settings.base) ? url.pathname.slice(settings.base.length) || '/' : '/';
  return { path, query: url.searchParams };
}

/** Replace the query of the current page (filters that should survive a reload or a shared link). */
export function setQuery(params: Record<string, string | undefined>): void {
  const url = new URL(location.href);
  for (const [k, v] of Object.entries(params)) {
    if (v) url.searchParams.set(k, v);
    else url.searchParams.delete(k);
  }
  history.replaceState(null, '', url.pathname + url.search);
  notify();
}

export function Link({ to, onClick, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const go = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={href(to)} onClick={go} {...rest} />;
}
