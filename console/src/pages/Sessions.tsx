// Sessions: active SSO sessions, all or one user's (device and browser, IP address, started,
// last seen, apps); terminate one, or all of a user's (the apps get back-channel logout).
// The Devices tab: shared mobile devices checked out for a shift (OpenID Connect Native SSO,
// docs/mobile.md); checking one in ends its sign-in in every app.
import { useState } from 'react';
import { api, enc, qs, type Page } from '../api.ts';
import { useTenantPath } from '../App.tsx';
import { Link, setQuery, useLocation } from '../router.tsx';
import type { DeviceSessionView, SessionView, User } from '../types.ts';
import { Button, Combobox, ConfirmDialog, Empty, ErrorBox, Loading, notify, PageTitle, Pager, formatTime, useCursorPages } from '../ui.tsx';

export function SessionsTable({
  sessions,
  user,
  mayEndAll = false,
  onChanged,
}: {
  sessions: SessionView[];
  user?: Pick<User, 'id' | 'email'> /** the user's page: the API lets this administrator end all of them */;
  mayEndAll?: boolean;
  onChanged: () => void;
}) {
  const tp = useTenantPath();
  const [ending, setEnding] = useState<SessionView | 'all'>();
  if (sessions.length === 0)
    return (
      <Empty title={user ? `${user.email} has no active sessions` : 'No active sessions'}>
        <p>A session starts when someone signs in and ends when they sign out or it times out.</p>
      </Empty>
    );
  return (
    <>
      <div className="table-wrap" role="region" aria-label="Active sessions" tabIndex={0}>
        <table>
          <caption className="visually-hidden">Active sessions</caption>
          <thead>
            <tr>
              {!user && <th scope="col">User</th>}
              <th scope="col">Device and browser</th>
              <th scope="col">IP address</th>
              <th scope="col">Started</th>
              <th scope="col">Last seen</th>
              <th scope="col">Apps</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.id}>
                {!user && (
                  <th scope="row">
                    <Link to={`/users/${enc(s.userId)}`}>{s.email}</Link>
                  </th>
                )}
                <td>{s.device || '—'}</td>
                <td>{s.ip ?? '—'}</td>
                <td>{formatTime(s.startedAt)}</td>
                <td>{formatTime(s.lastSeenAt)}</td>
                <td>{s.apps.length ? s.apps.map((a) => a.name).join(', ') : <span className="muted">none yet</span>}</td>
                <td>
                  {s.mayEnd && (
                    <Button
                      variant="danger"
                      className="small"
                      aria-label={`Terminate the session of ${s.email} started ${formatTime(s.startedAt)}`}
                      onClick={() => setEnding(s)}
                    >
                      Terminate
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {user && mayEndAll && (
        <p>
          <Button variant="danger" onClick={() => setEnding('all')}>
            Terminate all sessions of {user.email}
          </Button>
        </p>
      )}
      {ending && (
        <ConfirmDialog
          title={ending === 'all' ? `Terminate all sessions of ${user!.email}?` : 'Terminate this session?'}
          confirmLabel={ending === 'all' ? 'Terminate all' : 'Terminate session'}
          onClose={() => setEnding(undefined)}
          onConfirm={async () => {
            if (ending === 'all') {
              const r = await api<{ ended: number }>('DELETE', tp(`/users/${enc(user!.id)}/sessions`));
              notify(`Ended ${r?.ended ?? 'all'} session(s) of ${user!.email}.`);
            } else {
              await api('DELETE', tp(`/sessions/${enc(ending.id)}`));
              notify(`Ended the session of ${ending.email}.`);
            }
            onChanged();
          }}
        >
          <p>
            {ending === 'all' ? `${user!.email} is signed out everywhere` : `${ending.email} is signed out on ${ending.device || 'that device'}`}; the
            applications they used are told to sign them out too (back-channel logout). They can sign in again.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

function DevicesTab() {
  const tp = useTenantPath();
  const [checkingIn, setCheckingIn] = useState<DeviceSessionView>();
  const pages = useCursorPages(
    (cursor, signal) => api<Page<DeviceSessionView>>('GET', tp(`/devices${qs({ cursor, limit: 50 })}`), undefined, { signal }),
    [tp('')],
  );
  const name = (d: DeviceSessionView) => d.deviceName ?? d.deviceId ?? 'Unnamed device';
  return (
    <>
      {pages.error && <ErrorBox error={pages.error} onRetry={pages.reload} />}
      {pages.loading && !pages.data && <Loading label="Loading devices…" />}
      {pages.data &&
        (pages.data.items.length === 0 ? (
          <Empty title="No checked-out devices">
            <p>
              A shared device appears here when an app of a device SSO group signs someone in with Native SSO (see docs/mobile.md), until it is checked in or
              the shift ends.
            </p>
          </Empty>
        ) : (
          <div className="table-wrap" role="region" aria-label="Checked-out devices" tabIndex={0}>
            <table>
              <caption className="visually-hidden">Checked-out devices</caption>
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">User</th>
                  <th scope="col">Group</th>
                  <th scope="col">Started</th>
                  <th scope="col">Shift ends</th>
                  <th scope="col">Apps</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {pages.data.items.map((d) => (
                  <tr key={d.id}>
                    <th scope="row">
                      {name(d)}
                      {d.deviceName && d.deviceId && <div className="muted">{d.deviceId}</div>}
                    </th>
                    <td>
                      <Link to={`/users/${enc(d.userId)}`}>{d.email ?? d.userId}</Link>
                    </td>
                    <td>{d.group}</td>
                    <td>{formatTime(d.startedAt)}</td>
                    <td>{formatTime(d.expiresAt)}</td>
                    <td>{d.apps.map((a) => a.name).join(', ')}</td>
                    <td>
                      {d.mayCheckIn && (
                        <Button
                          variant="danger"
                          className="small"
                          aria-label={`Check in ${name(d)} of ${d.email ?? d.userId}`}
                          onClick={() => setCheckingIn(d)}
                        >
                          Check in
                        </Button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      <Pager {...pages} />
      {checkingIn && (
        <ConfirmDialog
          title={`Check in ${name(checkingIn)}?`}
          confirmLabel="Check in"
          onClose={() => setCheckingIn(undefined)}
          onConfirm={async () => {
            await api('POST', tp(`/devices/${enc(checkingIn.id)}/checkin`));
            notify(`Checked in ${name(checkingIn)}.`);
            pages.reload();
          }}
        >
          <p>
            {checkingIn.email ?? 'The user'} is signed out of every app on {name(checkingIn)} ({checkingIn.apps.map((a) => a.name).join(', ')}); the apps are
            told (back-channel logout) and its tokens stop working. The next person signs in when they check the device out.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

export function SessionsPage() {
  const { query } = useLocation();
  const devices = query.get('tab') === 'devices';
  return (
    <>
      <PageTitle>Sessions</PageTitle>
      <nav className="toolbar tabs" aria-label="Kinds of session">
        <Link to="/sessions" aria-current={devices ? undefined : 'page'}>
          Browsers
        </Link>
        <Link to="/sessions?tab=devices" aria-current={devices ? 'page' : undefined}>
          Devices
        </Link>
      </nav>
      {devices ? <DevicesTab /> : <BrowsersTab />}
    </>
  );
}

function BrowsersTab() {
  const tp = useTenantPath();
  const { query } = useLocation();
  const user = query.get('user') ?? '';
  const pages = useCursorPages(
    (cursor, signal) => api<Page<SessionView>>('GET', tp(`/sessions${qs({ user, cursor, limit: 50 })}`), undefined, { signal }),
    [user, tp('')],
  );
  const search = async (q: string, signal: AbortSignal) =>
    (q ? (await api<Page<User>>('GET', tp(`/users${qs({ search: q, limit: 8 })}`), undefined, { signal })).items : []).map((u) => ({
      key: u.id,
      label: u.email,
      value: u,
    }));
  return (
    <>
      <div className="toolbar">
        <Combobox<User> label="Show the sessions of" placeholder="Email or name" search={search} onSelect={(o) => setQuery({ user: o.value.email })} />
        {user && (
          <p>
            Showing <strong>{user}</strong>.{' '}
            <Button variant="link" onClick={() => setQuery({ user: undefined })}>
              Show everyone's
            </Button>
          </p>
        )}
      </div>
      {pages.error && <ErrorBox error={pages.error} onRetry={pages.reload} />}
      {pages.loading && !pages.data && <Loading label="Loading sessions…" />}
      {pages.data && (
        <SessionsTable
          sessions={pages.data.items}
          user={user ? { id: user, email: user } : undefined}
          mayEndAll={pages.data.items.every((s) => s.mayEnd)}
          onChanged={pages.reload}
        />
      )}
      <Pager {...pages} />
    </>
  );
}
