// Overview: counts, alerts (certificates expiring, upstream directories failing their check,
// directories and connectors down, push floods), and recent sign-in failures.
import { api, ApiError } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can } from '../roles.ts';
import { Link } from '../router.tsx';
import type { Overview, OverviewAlert } from '../types.ts';
import { Banner, Empty, ErrorBox, Loading, PageTitle, formatDate, formatTime, useAsync } from '../ui.tsx';
import { describe } from './Logs.tsx';

/** Where an alert is dealt with, for a role that may open it. */
function AlertLink({ alert: a }: { alert: OverviewAlert }) {
  const { me } = useSession();
  const [to, label] =
    a.kind === 'idp_certificate_expiring' || a.kind === 'app_certificate_expiring'
      ? can.viewKeys(me)
        ? ['/keys', 'Keys and certificates']
        : []
      : a.kind === 'upstream_discovery_failed' && a.subject
        ? [`/upstreams/${encodeURIComponent(a.subject)}`, 'Open the upstream directory']
        : a.kind === 'directory_down' && a.subject && can.viewDirectories(me)
          ? [`/directories/${encodeURIComponent(a.subject)}`, 'Open the directory']
          : a.kind === 'connector_down' && can.viewDirectories(me)
            ? ['/connectors', 'Connectors']
            : a.kind === 'push_flood' && a.subject && can.viewUsers(me)
              ? [`/users/${encodeURIComponent(a.subject)}`, 'Open the user']
              : [];
  return to ? (
    <>
      {' '}
      <Link to={to}>{label}</Link>
    </>
  ) : null;
}

export function OverviewPage() {
  const { me } = useSession();
  const tp = useTenantPath();
  const o = useAsync((signal) => api<Overview>('GET', tp('/overview'), undefined, { signal }), [tp('')]);
  const notAvailable = o.error instanceof ApiError && (o.error.status === 404 || o.error.status === 403);
  const COUNTS: Array<[keyof Overview['counts'], string, string | null]> = [
    ['users', 'Users', can.viewUsers(me) ? '/users' : null],
    ['groups', 'Groups', can.viewUsers(me) ? '/groups' : null],
    ['apps', 'Application profiles', can.viewApps(me) ? '/apps' : null],
    ['deployedApps', 'Deployed applications', can.viewApps(me) ? '/apps' : null],
    ['activeSessions', 'Active sessions', can.sessions(me) ? '/sessions' : null],
  ];
  return (
    <>
      <PageTitle>Overview</PageTitle>
      <p>
        Signed in as <strong>{me.email}</strong>. Start with the tasks of your role in the menu.
      </p>
      {o.loading && !o.data && <Loading />}
      {o.error && !notAvailable && <ErrorBox error={o.error} onRetry={o.reload} />}
      {notAvailable && <p className="hint">The overview is not available to your role on this server.</p>}
      {o.data && (
        <>
          {o.data.alerts.length > 0 && (
            <section aria-labelledby="alerts-h">
              <h2 id="alerts-h">Alerts</h2>
              {o.data.alerts.map((a, i) => (
                <Banner key={i} level={a.level}>
                  <p>
                    {a.message}
                    {a.at !== undefined && <span className="muted"> ({formatTime(a.at)})</span>}
                    {a.expiresAt !== undefined && (
                      <span className="muted">
                        {' '}
                        ({a.expiresAt <= Date.now() ? 'expired' : 'expires'} {formatDate(a.expiresAt)})
                      </span>
                    )}
                    <AlertLink alert={a} />
                  </p>
                </Banner>
              ))}
            </section>
          )}
          <section aria-labelledby="counts-h">
            <h2 id="counts-h" className="visually-hidden">
              Counts
            </h2>
            <ul className="cards">
              {COUNTS.map(([k, label, to]) => (
                <li key={k} className="card">
                  <span className="count">{o.data!.counts[k].toLocaleString()}</span> {to ? <Link to={to}>{label}</Link> : <span>{label}</span>}
                </li>
              ))}
            </ul>
          </section>
          <section aria-labelledby="failures-h">
            <h2 id="failures-h">Recent sign-in failures</h2>
            {o.data.recentFailures.length === 0 ? (
              <Empty title="No recent sign-in failures" />
            ) : (
              <div className="table-wrap" role="region" aria-label="Recent sign-in failures" tabIndex={0}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Occurred</th>
                      <th scope="col">What happened</th>
                      <th scope="col">IP</th>
                    </tr>
                  </thead>
                  <tbody>
                    {o.data.recentFailures.map((e) => (
                      <tr key={e.id}>
                        <td className="nowrap">{formatTime(e.at)}</td>
                        <td>{describe(e)}</td>
                        <td>{e.ip ?? '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {can.viewLogs(me) && (
              <p>
                <Link to="/logs">All logs</Link>
              </p>
            )}
          </section>
        </>
      )}
    </>
  );
}
