// The console's building blocks: fields with their validation messages, buttons with progress,
// dialogs (focus kept inside, Escape closes, focus returns), confirmations, loading, error and
// empty states, copy buttons, a type-ahead search (ARIA combobox) and cursor paging.
import {
  useCallback,
  useEffect,
  useId,
  useRef,
  useState,
  useSyncExternalStore,
  type ButtonHTMLAttributes,
  type InputHTMLAttributes,
  type KeyboardEvent,
  type ReactNode,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
} from 'react';
import { ApiError, type Page } from './api.ts';

// ---------- data loading ----------

export interface Async<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
  setData: (d: T) => void;
}

/** Run `load` when `deps` change; the latest answer wins (earlier ones are aborted). */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctrl = new AbortController();
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load(ctrl.signal).then(
      (data) => {
        if (!ctrl.signal.aborted) setState({ data, loading: false });
      },
      (error: Error) => {
        if (!ctrl.signal.aborted && error.name !== 'AbortError') setState((s) => ({ ...s, error, loading: false }));
      },
    );
    return () => ctrl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return {
    data: state.data,
    error: state.error,
    loading: state.loading,
    reload: useCallback(() => setTick((t) => t + 1), []),
    setData: (data: T) => setState({ data, loading: false }),
  };
}

/** Cursor pages of a list: next and previous, without counting what the server would have to count. */
export function useCursorPages<P extends Page<unknown>>(load: (cursor: string | undefined, signal: AbortSignal) => Promise<P>, deps: unknown[]) {
  const [stack, setStack] = useState<Array<string | undefined>>([undefined]);
  // A new search starts again at the first page.
  const key = JSON.stringify(deps);
  const [lastKey, setLastKey] = useState(key);
  if (key !== lastKey) {
    setLastKey(key);
    setStack([undefined]);
  }
  const cursor = stack[stack.length - 1];
  const page = useAsync((signal) => load(cursor, signal), [key, cursor]);
  return {
    ...page,
    pageNumber: stack.length,
    hasPrevious: stack.length > 1,
    hasNext: !!page.data?.nextCursor,
    next: () => {
      if (page.data?.nextCursor) setStack((s) => [...s, page.data!.nextCursor!]);
    },
    previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
  };
}

/** Call `fn` every `ms` while `ms` is a number (live progress and status); null stops. */
export function useInterval(fn: () => void, ms: number | null): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    if (ms === null) return;
    const t = setInterval(() => ref.current(), ms);
    return () => clearInterval(t);
  }, [ms]);
}

/** The time now, updated every `ms` while `on` (countdowns). */
export function useNow(ms = 1000, on = true): number {
  const [now, setNow] = useState(() => Date.now());
  useInterval(() => setNow(Date.now()), on ? ms : null);
  return now;
}

/** A value that follows `value` once it has not changed for `ms` (search as you type). */
export function useDebounced<T>(value: T, ms = 250): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

// ---------- states ----------

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

export function ErrorBox({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const forbidden = error instanceof ApiError && error.status === 403;
  return (
    <div className="alert error" role="alert">
      <p>
        <strong>{forbidden ? 'Not allowed' : 'Something went wrong'}</strong>
      </p>
      <p>{error.message}</p>
      {onRetry && !forbidden && (
        <p>
          <button type="button" className="secondary" onClick={onRetry}>
            Try again
          </button>
        </p>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children && <div className="empty-body">{children}</div>}
    </div>
  );
}

export function Banner({ level = 'warn', children }: { level?: 'warn' | 'error' | 'info' | 'ok'; children: ReactNode }) {
  return (
    <div className={`alert ${level}`} role={level === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export function Badge({ tone = 'neutral', children }: { tone?: 'neutral' | 'ok' | 'warn' | 'error'; children: ReactNode }) {
  return <span className={`badge ${tone}`}>{children}</span>;
}

// ---------- notices ----------

let notices: Array<{ id: number; text: string }> = [];
const noticeListeners = new Set<() => void>();
let noticeId = 0;
/** A short confirmation that something was done, read out by screen readers. */
export function notify(text: string): void {
  const id = ++noticeId;
  notices = [...notices, { id, text }];
  for (const l of noticeListeners) l();
  setTimeout(() => {
    notices = notices.filter((n) => n.id !== id);
    for (const l of noticeListeners) l();
  }, 5000);
}
export function Notices() {
  const list = useSyncExternalStore(
    (l) => {
      noticeListeners.add(l);
      return () => {
        noticeListeners.delete(l);
      };
    },
    () => notices,
  );
  return (
    <div className="notices" role="status" aria-live="polite">
      {list.map((n) => (
        <p key={n.id} className="notice">
          {n.text}
        </p>
      ))}
    </div>
  );
}

// ---------- form fields ----------

interface FieldBase {
  label: ReactNode;
  error?: string;
  hint?: ReactNode;
}

function Described({ id, error, hint }: { id: string; error?: string; hint?: ReactNode }) {
  return (
    <>
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </>
  );
}
const describedBy = (id: string, error?: string, hint?: ReactNode) =>
  [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;

export function TextField({
  label,
  error,
  hint,
  value,
  onValue,
  id: given,
  ...rest
}: FieldBase & { value: string; onValue: (v: string) => void } & Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange'>) {
  const auto = useId();
  const id = given ?? auto;
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        value={value}
        onChange={(e) => onValue(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, error, hint)}
        {...rest}
      />
      <Described id={id} error={error} hint={hint} />
    </div>
  );
}

export function TextAreaField({
  label,
  error,
  hint,
  value,
  onValue,
  ...rest
}: FieldBase & { value: string; onValue: (v: string) => void } & Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'value' | 'onChange'>) {
  const id = useId();
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        value={value}
        onChange={(e) => onValue(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, error, hint)}
        {...rest}
      />
      <Described id={id} error={error} hint={hint} />
    </div>
  );
}

export function SelectField({
  label,
  error,
  hint,
  value,
  onValue,
  options,
  ...rest
}: FieldBase & { value: string; onValue: (v: string) => void; options: Array<{ value: string; label: string }> } & Omit<
    SelectHTMLAttributes<HTMLSelectElement>,
    'value' | 'onChange'
  >) {
  const id = useId();
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={value}
        onChange={(e) => onValue(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, error, hint)}
        {...rest}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <Described id={id} error={error} hint={hint} />
    </div>
  );
}

export function CheckboxField({
  label,
  checked,
  onChecked,
  hint,
  disabled,
}: {
  label: ReactNode;
  checked: boolean;
  onChecked: (v: boolean) => void;
  hint?: ReactNode;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <div className="field checkbox">
      <input
        id={id}
        type="checkbox"
        checked={checked}
        disabled={disabled}
        onChange={(e) => onChecked(e.target.checked)}
        aria-describedby={hint ? `${id}-hint` : undefined}
      />
      <label htmlFor={id}>{label}</label>
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </div>
  );
}

/** A form-level error (the API's message) above the buttons. */
export function FormError({ error }: { error?: Error | string }) {
  if (!error) return null;
  return (
    <p className="form-error" role="alert">
      {typeof error === 'string' ? error : error.message}
    </p>
  );
}

// ---------- buttons ----------

export function Button({
  busy,
  busyLabel,
  variant = 'primary',
  children,
  disabled,
  className,
  ...rest
}: { busy?: boolean; busyLabel?: string; variant?: 'primary' | 'secondary' | 'danger' | 'link' } & ButtonHTMLAttributes<HTMLButtonElement>) {
  return (
    <button type="button" className={[variant, className].filter(Boolean).join(' ')} disabled={disabled || busy} aria-busy={busy || undefined} {...rest}>
      {busy && <span className="spinner small" aria-hidden="true" />}
      {busy ? (busyLabel ?? children) : children}
    </button>
  );
}

export function CopyButton({ value, label = 'Copy' }: { value: string; label?: string }) {
  const [done, setDone] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setDone('copied');
    } catch {
      setDone('failed');
    }
    setTimeout(() => setDone('idle'), 2500);
  };
  return (
    <button type="button" className="secondary small" onClick={copy} aria-label={`${label}${done === 'copied' ? ' (copied)' : ''}`}>
      {done === 'copied' ? 'Copied' : done === 'failed' ? 'Select and copy by hand' : label}
    </button>
  );
}

/** A value to hand to someone else: shown in full, selectable, with a copy button. */
export function CopyValue({ label, value, secret }: { label: string; value: string; secret?: boolean }) {
  const id = useId();
  return (
    <div className="copy-value">
      <span className="copy-label" id={id}>
        {label}
      </span>
      <code className={secret ? 'secret' : undefined} aria-labelledby={id} data-testid={`value-${label}`}>
        {value}
      </code>
      <CopyButton value={value} label={`Copy ${label.charAt(0).toLowerCase()}${label.slice(1)}`} />
    </div>
  );
}

// ---------- dialogs ----------

/**
 * A modal dialog on the native <dialog> element: the browser keeps focus inside it and
 * Escape closes it; focus goes back where it was when it closes. Render it only while open.
 */
export function Dialog({
  title,
  onClose,
  children,
  wide,
  describedBy,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
  describedBy?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current!;
    const before = document.activeElement as HTMLElement | null;
    if (!d.open) d.showModal();
    return () => {
      if (d.open) d.close();
      before?.focus?.();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      className={wide ? 'wide' : undefined}
      aria-labelledby={titleId}
      aria-describedby={describedBy}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <div className="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="link close" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      {children}
    </dialog>
  );
}

/** "Are you sure?" for anything that cannot be undone; the action's errors are shown inside. */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  onConfirm,
  onClose,
  danger = true,
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
  danger?: boolean;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const bodyId = useId();
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
      onClose();
    } catch (e) {
      setError(e as Error);
      setBusy(false);
    }
  };
  return (
    <Dialog title={title} onClose={onClose} describedBy={bodyId}>
      <div id={bodyId} className="dialog-body">
        {children}
      </div>
      <FormError error={error} />
      <div className="actions">
        <Button variant={danger ? 'danger' : 'primary'} busy={busy} onClick={run}>
          {confirmLabel}
        </Button>
        <Button variant="secondary" onClick={onClose} autoFocus>
          Cancel
        </Button>
      </div>
    </Dialog>
  );
}

// ---------- type-ahead search ----------

export interface Option<T = unknown> {
  key: string;
  label: string;
  detail?: string;
  value: T;
}

/**
 * Search as you type (debounced; earlier answers are dropped), choose with the mouse or the
 * keyboard: arrows move, Enter chooses, Escape closes the list.
 */
export function Combobox<T>({
  label,
  placeholder,
  search,
  onSelect,
  hint,
}: {
  label: string;
  placeholder?: string;
  search: (q: string, signal: AbortSignal) => Promise<Option<T>[]>;
  onSelect: (o: Option<T>) => void;
  hint?: string;
}) {
  const id = useId();
  const [q, setQ] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const query = useDebounced(q, 200);
  const results = useAsync((signal) => (open ? search(query.trim(), signal) : Promise.resolve([])), [query, open]);
  const options = results.data ?? [];
  const choose = (o: Option<T>) => {
    onSelect(o);
    setQ('');
    setOpen(false);
  };
  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setOpen(true);
      setActive((a) => Math.min(a + 1, options.length - 1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
    } else if (e.key === 'Enter') {
      if (open && options[active]) {
        e.preventDefault();
        choose(options[active]!);
      }
    } else if (e.key === 'Escape' && open) {
      e.preventDefault();
      e.stopPropagation();
      setOpen(false);
    }
  };
  useEffect(() => setActive(0), [query]);
  return (
    <div className="field combobox">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        role="combobox"
        type="search"
        autoComplete="off"
        placeholder={placeholder}
        value={q}
        aria-expanded={open}
        aria-controls={`${id}-list`}
        aria-autocomplete="list"
        aria-describedby={hint ? `${id}-hint` : undefined}
        aria-activedescendant={open && options[active] ? `${id}-opt-${active}` : undefined}
        onChange={(e) => {
          setQ(e.target.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onKeyDown={onKey}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
      />
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <ul id={`${id}-list`} role="listbox" className="options" hidden={!open} aria-label={`${label} results`}>
        {open && results.loading && (
          <li className="muted" role="presentation">
            Searching…
          </li>
        )}
        {open && !results.loading && options.length === 0 && (
          <li className="muted" role="presentation">
            {query ? `Nothing matches “${query}”.` : 'Type to search.'}
          </li>
        )}
        {options.map((o, i) => (
          <li
            key={o.key}
            id={`${id}-opt-${i}`}
            role="option"
            aria-selected={i === active}
            className={i === active ? 'active' : undefined}
            onMouseDown={(e) => {
              e.preventDefault();
              choose(o);
            }}
            onMouseEnter={() => setActive(i)}
          >
            <span>{o.label}</span>
            {o.detail && <span className="muted"> {o.detail}</span>}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function Pager({
  pageNumber,
  hasPrevious,
  hasNext,
  previous,
  next,
  loading,
  label = 'Pages',
}: {
  pageNumber: number;
  hasPrevious: boolean;
  hasNext: boolean;
  previous: () => void;
  next: () => void;
  loading?: boolean;
  label?: string;
}) {
  if (!hasPrevious && !hasNext) return null;
  return (
    <nav className="pager" aria-label={label}>
      <Button variant="secondary" disabled={!hasPrevious || loading} onClick={previous}>
        Previous page
      </Button>
      <span aria-live="polite">Page {pageNumber}</span>
      <Button variant="secondary" disabled={!hasNext || loading} onClick={next}>
        Next page
      </Button>
    </nav>
  );
}

// ---------- formatting ----------

// Every time the console shows goes through these: the reader's own zone, named (an
// administrator compares them with logs and with colleagues elsewhere), never a raw ISO or UTC
// string beside local ones. Messages from the server say times relative to now ("5 minutes ago").
const TIME = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' });
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit', second: '2-digit', timeZoneName: 'short' });
const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
/** A moment: "Dec 7, 2026, 1:05 AM GMT+1". */
export const formatTime = (ms: number | null | undefined) => (ms ? TIME.format(ms) : '—');
/** A time of day today (a countdown's end): "1:05:30 AM GMT+1". */
export const formatClock = (ms: number) => CLOCK.format(ms);
/** A day (a certificate's expiry): "Dec 7, 2026". */
export const formatDate = (ms: number | null | undefined) => (ms ? DATE.format(ms) : '—');
export const daysUntil = (ms: number) => Math.ceil((ms - Date.now()) / 86_400_000);

/** The page's title (h1), focused after navigation so screen readers announce the new page. */
export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (document.activeElement === document.body || document.activeElement?.closest('nav')) ref.current?.focus();
  }, []);
  return (
    <div className="page-head">
      <h1 ref={ref} tabIndex={-1}>
        {children}
      </h1>
      {actions && <div className="page-actions">{actions}</div>}
    </div>
  );
}
