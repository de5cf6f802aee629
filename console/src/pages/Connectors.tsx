// Connectors (docs/directory-sync.md "The on-premises connector"): a one-time provisioning
// code (Enterprise ID + code, valid 5 minutes, with the command to run), the connector hosts
// with their status (refreshed while the page is open), and revoking one.
import { useState } from 'react';
import { api, enc, qs, type Page } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can } from '../roles.ts';
import { Link } from '../router.tsx';
import type { Connector, ProvisioningCode } from '../types.ts';
import {
  Badge,
  Banner,
  Button,
  ConfirmDialog,
  CopyValue,
  Empty,
  ErrorBox,
  FormError,
  Loading,
  notify,
  PageTitle,
  Pager,
  formatClock,
  formatTime,
  useCursorPages,
  useInterval,
  useNow,
} from '../ui.tsx';

const STATUS_TONE: Record<Connector['status'], 'ok' | 'warn' | 'neutral'> = { connected: 'ok', disconnected: 'warn', revoked: 'neutral' };

/** 4:07 */
const mmss = (ms: number) => {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

function CodePanel({ code, onDone }: { code: ProvisioningCode & { until: number }; onDone: () => void }) {
  const now = useNow(1000);
  const left = code.until - now;
  const expired = left <= 0;
  // The code in the environment, not in the arguments: the host's process list shows arguments to every user.
  const command = `GATEHOUSE_CONNECTOR_CODE=${code.code} gatehouse connector --url ${code.url} --enterprise-id ${code.enterpriseId}`;
  return (
    <section className="code-panel" aria-labelledby="code-h">
      <h2 id="code-h">Provisioning code</h2>
      {expired ? (
        <Banner level="error">
          <p>
            <strong>This code has expired.</strong> Generate a new one; codes are valid {Math.round(code.validSeconds / 60)} minutes.
          </p>
        </Banner>
      ) : (
        <p role="timer" aria-live="off" data-testid="code-countdown">
          Valid for <strong>{mmss(left)}</strong> more (until {formatClock(code.until)}), and only once.
        </p>
      )}
      <div className={expired ? 'stale' : undefined}>
        <CopyValue label="Enterprise ID" value={code.enterpriseId} />
        <CopyValue label="Provisioning code" value={code.code} />
        <CopyValue label="Command" value={command} />
      </div>
      <p className="hint">
        On a host in the directory's network, with Gatehouse installed, run the command. The connector connects out to Gatehouse (no inbound port), keeps its
        key in <code>./gatehouse-connector.json</code> (<code>--state</code>) and reconnects with it from then on; it then appears below as connected.
      </p>
      <div className="actions">
        <Button variant="secondary" onClick={onDone}>
          Done
        </Button>
      </div>
    </section>
  );
}

export function ConnectorsPage() {
  const { me } = useSession();
  const tp = useTenantPath();
  const list = useCursorPages((cursor, signal) => api<Page<Connector>>('GET', tp(`/connectors${qs({ cursor, limit: 50 })}`), undefined, { signal }), [tp('')]);
  const [code, setCode] = useState<ProvisioningCode & { until: number }>();
  const [generating, setGenerating] = useState(false);
  const [error, setError] = useState<Error>();
  const [revoking, setRevoking] = useState<Connector>();
  const manage = can.manageDirectories(me);
  // Status changes on its own (connects, pings, drops): ask again every few seconds, faster while a new connector is expected.
  useInterval(
    () => {
      if (!list.loading) list.reload();
    },
    code ? 2000 : 10_000,
  );

  const generate = async () => {
    setGenerating(true);
    setError(undefined);
    try {
      const c = await api<ProvisioningCode>('POST', tp('/connectors/codes'));
      // Counted down on this browser's clock from when it arrived (the server's clock may differ).
      setCode({ ...c, until: Date.now() + c.validSeconds * 1000 });
    } catch (e) {
      setError(e as Error);
    }
    setGenerating(false);
  };

  const items = list.data?.items ?? [];
  return (
    <>
      <PageTitle
        actions={
          manage ? (
            <Button busy={generating} busyLabel="Generating…" onClick={() => void generate()}>
              {code ? 'Generate another code' : 'Generate provisioning code'}
            </Button>
          ) : undefined
        }
      >
        Connectors
      </PageTitle>
      <p className="hint">
        A connector runs in the private network next to a directory Gatehouse cannot reach itself, and connects out to Gatehouse over TLS. Directories set to be
        reached <em>through connectors</em> (<Link to="/directories">LDAP and Active Directory</Link>) use every connected one, sharing the work and failing
        over.
      </p>
      <FormError error={error} />
      {code && <CodePanel code={code} onDone={() => setCode(undefined)} />}
      <h2>Connector hosts</h2>
      {list.loading && !list.data && <Loading label="Loading connectors…" />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      {list.data && items.length === 0 && (
        <Empty title="No connectors yet">
          {manage ? (
            <p>
              Choose <strong>Generate provisioning code</strong>, then run the command it shows on a host next to the directory.
            </p>
          ) : (
            <p>Ask a superadministrator to set one up.</p>
          )}
        </Empty>
      )}
      {items.length > 0 && (
        <div className="table-wrap" role="region" aria-label="Connector hosts" tabIndex={0}>
          <table>
            <caption className="visually-hidden">Connector hosts</caption>
            <thead>
              <tr>
                <th scope="col">Host</th>
                <th scope="col">Status</th>
                <th scope="col">Last seen</th>
                <th scope="col">Version</th>
                <th scope="col">Latency</th>
                <th scope="col">Problem</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.id}>
                  <th scope="row">
                    {c.name}
                    {c.address && (
                      <>
                        <br />
                        <span className="muted small-text">{c.address}</span>
                      </>
                    )}
                  </th>
                  <td>
                    <Badge tone={STATUS_TONE[c.status]}>{c.status}</Badge>
                    {c.status === 'connected' && c.connectedAt && (
                      <span className="muted small-text">
                        <br />
                        since {formatTime(c.connectedAt)}
                      </span>
                    )}
                  </td>
                  <td>{c.status === 'connected' ? 'now' : formatTime(c.lastSeenAt)}</td>
                  <td>{c.version ?? '—'}</td>
                  <td>{c.latencyMs !== null ? `${Math.round(c.latencyMs)} ms` : '—'}</td>
                  <td>
                    {c.lastError || c.recommendedFix ? (
                      <>
                        {c.lastError && (
                          <p className="field-error">
                            {c.lastError}
                            {c.lastErrorAt && <span className="muted small-text"> ({formatTime(c.lastErrorAt)})</span>}
                          </p>
                        )}
                        {c.recommendedFix && (
                          <p className="hint">
                            <strong>What to do:</strong> {c.recommendedFix}
                          </p>
                        )}
                      </>
                    ) : (
                      <span className="muted">none</span>
                    )}
                  </td>
                  <td>
                    {manage && c.status !== 'revoked' && (
                      <Button variant="danger" className="small" aria-label={`Revoke connector ${c.name}`} onClick={() => setRevoking(c)}>
                        Revoke
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager {...list} />
      {revoking && (
        <ConfirmDialog
          title={`Revoke the connector ${revoking.name}?`}
          confirmLabel="Revoke connector"
          onClose={() => setRevoking(undefined)}
          onConfirm={async () => {
            await api('DELETE', tp(`/connectors/${enc(revoking.id)}`));
            notify(`Revoked ${revoking.name}.`);
            list.reload();
          }}
        >
          <p>
            It is disconnected now and can never connect again; to use that host again, generate a new code and provision it afresh. Directories reached through
            connectors keep working while another connector is connected.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
