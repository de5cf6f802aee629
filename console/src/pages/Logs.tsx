// Logs: audit events with filters (level, message contains, occurred between, user,
// application), paged newest first, exported as CSV or JSON with the same filters.
import { useState } from 'react';
import { api, download, qs, type Page } from '../api.ts';
import { useTenantPath } from '../App.tsx';
import type { AppView, AuditEvent } from '../types.ts';
import {
  Badge,
  Button,
  Empty,
  ErrorBox,
  FormError,
  Loading,
  notify,
  PageTitle,
  Pager,
  SelectField,
  TextField,
  formatTime,
  useAsync,
  useCursorPages,
  useDebounced,
} from '../ui.tsx';

/** What a person reads for an event: its message, or its details in short. */
export function describe(e: AuditEvent): string {
  if (typeof e.data.message === 'string') return e.data.message;
  const parts = Object.entries(e.data)
    .filter(([k, v]) => k !== 'message' && v !== null && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${k}: ${detail(k, v)}`);
  return parts.join(', ') || e.type;
}
/** An ISO 8601 time as some events record it (expiresAt, notAfter). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
/** A detail's value, times in the console's one format (an event's data keeps what was recorded: an ISO string or epoch ms). */
function detail(key: string, v: unknown): string {
  if (typeof v === 'string' && ISO_TIME.test(v)) return formatTime(Date.parse(v));
  if (typeof v === 'number' && /(At|notAfter|notBefore)$/.test(key)) return formatTime(v);
  return String(v);
}
const who = (e: AuditEvent) => (typeof e.data.email === 'string' ? e.data.email : (e.actor ?? e.subject ?? '—'));
const appOf = (e: AuditEvent) => e.clientId ?? (typeof e.data.clientId === 'string' ? e.data.clientId : null);
const toMs = (local: string) => (local ? new Date(local).getTime() : undefined);

export function LogsPage() {
  const tp = useTenantPath();
  const [level, setLevel] = useState('');
  const [text, setText] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [user, setUser] = useState('');
  const [app, setApp] = useState('');
  const [exportError, setExportError] = useState<Error>();
  const [exporting, setExporting] = useState<'csv' | 'json'>();
  const debouncedText = useDebounced(text.trim(), 300);
  const debouncedUser = useDebounced(user.trim(), 300);
  const rangeError = since && until && toMs(since)! > toMs(until)! ? 'The end of the period is before its start.' : undefined;
  const filters = { level, text: debouncedText, since: toMs(since), until: toMs(until), user: debouncedUser, app };
  const apps = useAsync((signal) => api<Page<AppView>>('GET', tp('/apps'), undefined, { signal }).catch(() => ({ items: [], nextCursor: null })), [tp('')]);
  const pages = useCursorPages(
    (cursor, signal) =>
      rangeError
        ? Promise.resolve({ items: [], nextCursor: null })
        : api<Page<AuditEvent>>('GET', tp(`/audit${qs({ ...filters, cursor, limit: 50 })}`), undefined, { signal }),
    [JSON.stringify(filters), rangeError, tp('')],
  );
  const filtered = Object.values(filters).some(Boolean);
  const exportAs = async (format: 'csv' | 'json') => {
    setExporting(format);
    setExportError(undefined);
    try {
      await download(tp(`/audit/export${qs({ ...filters, format })}`), `gatehouse-logs.${format}`);
      notify(`Exported the logs as ${format.toUpperCase()}.`);
    } catch (e) {
      setExportError(e as Error);
    }
    setExporting(undefined);
  };
  const clear = () => {
    setLevel('');
    setText('');
    setSince('');
    setUntil('');
    setUser('');
    setApp('');
  };

  return (
    <>
      <PageTitle
        actions={
          <>
            <Button variant="secondary" busy={exporting === 'csv'} busyLabel="Exporting…" onClick={() => void exportAs('csv')}>
              Export CSV
            </Button>{' '}
            <Button variant="secondary" busy={exporting === 'json'} busyLabel="Exporting…" onClick={() => void exportAs('json')}>
              Export JSON
            </Button>
          </>
        }
      >
        Logs
      </PageTitle>
      <FormError error={exportError} />
      <form className="filters" role="search" aria-label="Filter the logs" onSubmit={(e) => e.preventDefault()}>
        <SelectField
          label="Level"
          value={level}
          onValue={setLevel}
          options={[
            { value: '', label: 'All levels' },
            { value: 'info', label: 'Info' },
            { value: 'warn', label: 'Warning' },
            { value: 'error', label: 'Error' },
          ]}
        />
        <TextField label="Message contains" type="search" value={text} onValue={setText} />
        <TextField label="Occurred from" type="datetime-local" value={since} onValue={setSince} />
        <TextField label="Occurred until" type="datetime-local" value={until} onValue={setUntil} error={rangeError} />
        <TextField label="User" type="search" value={user} onValue={setUser} placeholder="Email or user ID" />
        <SelectField
          label="Application"
          value={app}
          onValue={setApp}
          options={[{ value: '', label: 'All applications' }, ...(apps.data?.items ?? []).map((a) => ({ value: a.clientId, label: a.displayName }))]}
        />
        {filtered && (
          <Button variant="link" onClick={clear}>
            Clear filters
          </Button>
        )}
      </form>
      {pages.error && <ErrorBox error={pages.error} onRetry={pages.reload} />}
      {pages.loading && !pages.data && <Loading label="Loading logs…" />}
      {pages.data && pages.data.items.length === 0 && (
        <Empty title={filtered ? 'No events match these filters' : 'No events yet'}>
          <p>{filtered ? 'Widen the period or clear a filter.' : 'Sign-ins, changes and errors are recorded here as they happen.'}</p>
        </Empty>
      )}
      {pages.data && pages.data.items.length > 0 && (
        <div
          className={`table-wrap${pages.loading ? ' stale' : ''}`}
          aria-busy={pages.loading}
          role="region"
          aria-label="Audit events"
          tabIndex={0 /* a wide table scrolls sideways: keyboard users scroll it with the arrows */}
        >
          <table className="logs">
            <caption className="visually-hidden">Audit events, newest first, page {pages.pageNumber}</caption>
            <thead>
              <tr>
                <th scope="col">Occurred</th>
                <th scope="col">Level</th>
                <th scope="col">Event</th>
                <th scope="col">Message</th>
                <th scope="col">User</th>
                <th scope="col">Application</th>
                <th scope="col">IP</th>
              </tr>
            </thead>
            <tbody>
              {pages.data.items.map((e) => (
                <tr key={e.id}>
                  <td className="nowrap">{formatTime(e.at)}</td>
                  <td>
                    <Badge tone={e.level === 'error' ? 'error' : e.level === 'warn' ? 'warn' : 'neutral'}>{e.level}</Badge>
                  </td>
                  <td>
                    <code>{e.type}</code>
                  </td>
                  <td>{describe(e)}</td>
                  <td>{who(e)}</td>
                  <td>{appOf(e) ? (apps.data?.items.find((a) => a.clientId === appOf(e))?.displayName ?? appOf(e)) : '—'}</td>
                  <td>{e.ip ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager {...pages} />
    </>
  );
}
