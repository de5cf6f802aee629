// Keys and certificates: each signing key with algorithm, status and certificate expiry; a
// banner from 60 days before the IdP certificate expires (90 days for apps' registered
// certificates); rotation (superadmins).
import { useState } from 'react';
import { api, type Page } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can } from '../roles.ts';
import { Link } from '../router.tsx';
import type { AppView, KeyInfo } from '../types.ts';
import { Badge, Banner, Button, ConfirmDialog, ErrorBox, Loading, notify, PageTitle, daysUntil, formatDate, useAsync } from '../ui.tsx';

export const IDP_WARNING_DAYS = 60;
export const APP_WARNING_DAYS = 90;

export function KeysPage() {
  const { me } = useSession();
  const tp = useTenantPath();
  const keys = useAsync((signal) => api<Page<KeyInfo>>('GET', tp('/keys'), undefined, { signal }), [tp('')]);
  const apps = useAsync((signal) => api<Page<AppView>>('GET', tp('/apps'), undefined, { signal }).catch(() => ({ items: [], nextCursor: null })), [tp('')]);
  const [rotating, setRotating] = useState(false);
  // Only the key that signs raises the warning: it clears as soon as a fresh key signs.
  const active = (keys.data?.items ?? []).filter((k) => k.status === 'active');
  const expiring = active.filter((k) => k.expiresSoon || daysUntil(k.notAfter) <= IDP_WARNING_DAYS);
  // When the scheduled rotation replaces the expiring keys (the latest of their next keys).
  const upcoming = (keys.data?.items ?? []).filter(
    (k) => k.status === 'next' && k.activatesAt !== null && expiring.some((e) => e.alg === k.alg) && k.notAfter > Math.max(...expiring.map((e) => e.notAfter)),
  );
  const nextUp = upcoming.length === expiring.length && upcoming.length > 0 ? Math.max(...upcoming.map((k) => k.activatesAt!)) : undefined;
  const appCerts = (apps.data?.items ?? []).filter(
    (a) => a.certificateExpiresSoon || (a.certificateExpiresAt && daysUntil(a.certificateExpiresAt) <= APP_WARNING_DAYS),
  );
  return (
    <>
      <PageTitle actions={can.rotateKeys(me) && <Button onClick={() => setRotating(true)}>Rotate keys</Button>}>Keys and certificates</PageTitle>
      {expiring.length > 0 && (
        <Banner level="warn">
          <p>
            <strong>The IdP certificate expires {formatDate(Math.min(...expiring.map((k) => k.notAfter)))}</strong> (in{' '}
            {daysUntil(Math.min(...expiring.map((k) => k.notAfter)))} days).
          </p>
          {nextUp !== undefined && (
            <p>A fresh next key starts signing by itself {nextUp <= Date.now() ? 'within the hour' : formatDate(nextUp)}; the warning clears then.</p>
          )}
          <p>
            {can.rotateKeys(me)
              ? 'Rotate the keys: the published next key, with its own two-year certificate, starts signing as soon as apps have had time to fetch it; apps that read the JWKS follow by themselves.'
              : 'Ask a superadministrator to rotate the keys.'}
          </p>
        </Banner>
      )}
      {appCerts.map((a) => (
        <Banner key={a.clientId} level="warn">
          <p>
            <strong>
              The certificate registered for {a.displayName} expires {formatDate(a.certificateExpiresAt)}
            </strong>
            {a.certificateExpiresAt ? ` (in ${daysUntil(a.certificateExpiresAt)} days)` : ''}. Ask the app's owner for its new certificate
            {can.configureApps(me) ? (
              <>
                {' '}
                and update <Link to={`/apps/${encodeURIComponent(a.clientId)}`}>its profile</Link>
              </>
            ) : (
              ''
            )}
            .
          </p>
        </Banner>
      ))}
      {keys.loading && !keys.data && <Loading />}
      {keys.error && <ErrorBox error={keys.error} onRetry={keys.reload} />}
      {keys.data && (
        <div className="table-wrap" role="region" aria-label="Signing keys" tabIndex={0}>
          <table>
            <caption className="visually-hidden">Signing keys</caption>
            <thead>
              <tr>
                <th scope="col">Key ID</th>
                <th scope="col">Algorithm</th>
                <th scope="col">Status</th>
                <th scope="col">Published</th>
                <th scope="col">Signs from</th>
                <th scope="col">Certificate expires</th>
              </tr>
            </thead>
            <tbody>
              {keys.data.items.map((k) => (
                <tr key={k.kid}>
                  <th scope="row">
                    <code>{k.kid}</code>
                  </th>
                  <td>{k.alg}</td>
                  <td>
                    <Badge tone={k.status === 'active' ? 'ok' : 'neutral'}>
                      {k.status === 'active' ? 'Active (signing)' : k.status === 'next' ? 'Next (published)' : 'Retired'}
                    </Badge>
                  </td>
                  <td>{formatDate(k.publishedAt)}</td>
                  <td>{k.activatesAt === null ? '—' : formatDate(k.activatesAt)}</td>
                  <td>
                    {formatDate(k.notAfter)}
                    {k.status === 'active' && k.expiresSoon && (
                      <>
                        {' '}
                        <Badge tone="warn">expires soon</Badge>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="hint">
        Active keys sign tokens; next keys are published ahead (at least a week) so apps already trust them when they start signing, which happens by itself 90
        days before the active certificate expires; retired keys stay published a day so tokens they signed still verify.
      </p>
      {rotating && (
        <ConfirmDialog
          title="Rotate the signing keys?"
          confirmLabel="Rotate keys"
          onClose={() => setRotating(false)}
          onConfirm={async () => {
            const r = await api<{ activated: string[]; scheduled: Array<{ kid: string; activatesAt: number }> }>('POST', tp('/keys/rotate'), {});
            notify(
              r.scheduled.length
                ? `The next keys start signing ${formatDate(Math.max(...r.scheduled.map((s) => s.activatesAt)))}, once apps have had time to fetch them.`
                : 'Keys rotated: the next keys sign now.',
            );
            keys.reload();
          }}
        >
          <p>
            The published next keys start signing as soon as they have been published long enough, and the active ones retire (still published for a day). A
            next key whose certificate would expire too soon is first replaced by a fresh one. Apps that read the JWKS follow by themselves; an app configured
            with a fixed certificate needs the new one.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
