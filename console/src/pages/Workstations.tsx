// Workstations (docs/workstations.md): shared desktops running `gatehouse agent`. Who is
// signed in to each and since when, when it was last heard from, its agent's version, how
// many SSO sessions were started on it (they end when the next user signs in there), an
// enrollment code with the command to run, and revoking one.
import { useState } from 'react';
import { api, enc, qs, type Page } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can } from '../roles.ts';
import type { Workstation, WorkstationCode } from '../types.ts';
import {
  Badge,
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
  formatTime,
  useCursorPages,
  useInterval,
} from '../ui.tsx';

export function WorkstationsPage() {
  const { me } = useSession();
  const tp = useTenantPath();
  const list = useCursorPages(
    (cursor, signal) => api<Page<Workstation>>('GET', tp(`/workstations${qs({ cursor, limit: 50 })}`), undefined, { signal }),
    [tp('')],
  );
  const [code, setCode] = useState<WorkstationCode>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [revoking, setRevoking] = useState<Workstation>();
  const manage = can.manageWorkstations(me);
  // Users sign in and out on their own: ask again every few seconds.
  useInterval(() => {
    if (!list.loading) list.reload();
  }, 10_000);

  const generate = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setCode(await api<WorkstationCode>('POST', tp('/workstations/codes')));
    } catch (e) {
      setError(e as Error);
    }
    setBusy(false);
  };

  const items = list.data?.items ?? [];
  return (
    <>
      <PageTitle
        actions={
          manage ? (
            <Button busy={busy} busyLabel="Generating…" onClick={() => void generate()}>
              Generate enrollment code
            </Button>
          ) : undefined
        }
      >
        Workstations
      </PageTitle>
      <p className="hint">
        A shared workstation runs <code>gatehouse agent</code>. The person signed in to the desktop opens applications without signing in again; when the next
        person signs in there, the previous person's Gatehouse sessions started on that workstation end, and applications with back-channel logout end theirs.
      </p>
      <FormError error={error} />
      {code && (
        <section className="code-panel" aria-labelledby="ws-code-h">
          <h2 id="ws-code-h">Enrollment code</h2>
          <p>
            Valid until {formatTime(code.expiresAt)} ({Math.round(code.validSeconds / 60)} minutes), and only once.
          </p>
          <CopyValue label="Enrollment code" value={code.code} />
          <CopyValue
            label="Command"
            value={`gatehouse agent enroll --url ${code.url} --code ${code.code} --state /etc/gatehouse/agent.json --name $(hostname)`}
          />
          <div className="actions">
            <Button variant="secondary" onClick={() => setCode(undefined)}>
              Done
            </Button>
          </div>
        </section>
      )}
      {list.loading && !list.data && <Loading label="Loading workstations…" />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      {list.data && items.length === 0 && (
        <Empty title="No workstations yet">
          {manage ? (
            <p>
              Choose <strong>Generate enrollment code</strong>, then run the command it shows on the workstation.
            </p>
          ) : (
            <p>Ask an administrator to enroll one.</p>
          )}
        </Empty>
      )}
      {items.length > 0 && (
        <div className="table-wrap" role="region" aria-label="Workstations" tabIndex={0}>
          <table>
            <caption className="visually-hidden">Workstations</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Address</th>
                <th scope="col">Agent version</th>
                <th scope="col">Current user</th>
                <th scope="col">Since</th>
                <th scope="col">Last seen</th>
                <th scope="col">Sessions bound</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((w) => (
                <tr key={w.id}>
                  <th scope="row">
                    {w.name}
                    {w.status === 'revoked' && (
                      <>
                        {' '}
                        <Badge tone="neutral">revoked</Badge>
                      </>
                    )}
                  </th>
                  <td>{w.address ?? '—'}</td>
                  <td>{w.version ?? '—'}</td>
                  <td>{w.currentUser?.email ?? <span className="muted">nobody</span>}</td>
                  <td>{w.since ? formatTime(w.since) : '—'}</td>
                  <td>{formatTime(w.lastSeenAt)}</td>
                  <td>{w.sessionsBound}</td>
                  <td>
                    {can.revokeWorkstations(me) && w.status !== 'revoked' && (
                      <Button variant="danger" className="small" aria-label={`Revoke workstation ${w.name}`} onClick={() => setRevoking(w)}>
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
          title={`Revoke the workstation ${revoking.name}?`}
          confirmLabel="Revoke workstation"
          onClose={() => setRevoking(undefined)}
          onConfirm={async () => {
            await api('DELETE', tp(`/workstations/${enc(revoking.id)}`));
            notify(`Revoked ${revoking.name}.`);
            list.reload();
          }}
        >
          <p>Its agent is refused from now on, and the Gatehouse sessions started on it end now. To use it again, enroll it with a new code.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
