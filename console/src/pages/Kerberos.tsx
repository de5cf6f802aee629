// Desktop SSO with Kerberos (docs/workstations.md): whether it is on, the realm, service
// principal, address ranges and mapping; uploading the keytab (sealed on the server and never
// shown again); turning it off. Without the kerberos package on the server it says what to install.
import { useState } from 'react';
import { api } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can } from '../roles.ts';
import type { KerberosSettings } from '../types.ts';
import { Badge, Banner, Button, ConfirmDialog, ErrorBox, FormError, Loading, notify, PageTitle, TextField, formatTime, useAsync } from '../ui.tsx';

/** The file's bytes as base64 (what the API takes for the keytab). */
async function base64Of(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function KerberosPage() {
  const { me } = useSession();
  const tp = useTenantPath();
  const k = useAsync((signal) => api<KerberosSettings>('GET', tp('/kerberos'), undefined, { signal }), [tp('')]);
  const manage = can.manageKerberos(me);
  const [principal, setPrincipal] = useState<string>();
  const [from, setFrom] = useState<string>();
  const [keytab, setKeytab] = useState<File>();
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<Error>();
  const [disabling, setDisabling] = useState(false);
  if (k.loading && !k.data) return <Loading label="Loading Kerberos settings…" />;
  if (k.error || !k.data) return <ErrorBox error={k.error ?? new Error('No answer')} onRetry={k.reload} />;
  const s = k.data;
  const save = async () => {
    setSaving(true);
    setError(undefined);
    try {
      const body = {
        principal: (principal ?? s.principal ?? '').trim(),
        negotiateFrom: (from ?? s.negotiateFrom.join(', '))
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
        ...(keytab && { keytab: await base64Of(keytab) }),
      };
      k.setData(await api<KerberosSettings>('PUT', tp('/kerberos'), body));
      setKeytab(undefined);
      notify('Kerberos settings saved.');
    } catch (e) {
      setError(e as Error);
    }
    setSaving(false);
  };
  return (
    <>
      <PageTitle
        actions={
          manage && s.enabled ? (
            <Button variant="danger" onClick={() => setDisabling(true)}>
              Turn off
            </Button>
          ) : undefined
        }
      >
        Desktop SSO with Kerberos
      </PageTitle>
      <p className="hint">
        Browsers on desktops with a Kerberos ticket (Active Directory domain members) sign in without a prompt: the sign-in page answers{' '}
        <code>401 Negotiate</code> with the normal page, so a browser without a ticket simply shows it. Browsers must allow Gatehouse's host (Chrome and Edge
        policy <code>AuthServerAllowlist</code>).
      </p>
      {!s.available && (
        <Banner level="warn">
          <p>
            The <code>kerberos</code> package is not installed on this server: install <code>libkrb5-dev</code>, run <code>npm install kerberos</code> in the
            Gatehouse folder and restart Gatehouse before turning Kerberos on.
          </p>
        </Banner>
      )}
      <p>
        Status: <Badge tone={s.enabled ? 'ok' : 'neutral'}>{s.enabled ? 'on' : 'off'}</Badge>
        {s.updatedAt && <span className="muted small-text"> (changed {formatTime(s.updatedAt)})</span>}
      </p>
      {s.mapping && (
        <p>
          Users are found by {s.mapping.rules.join(', then ')}
          {s.mapping.emailDomain ? ` (email domain ${s.mapping.emailDomain})` : ''}.
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <TextField
          label="Service principal"
          hint="Like HTTP/sso.example.org@CORP.EXAMPLE.ORG: the host users reach Gatehouse at, in your realm."
          value={principal ?? s.principal ?? ''}
          onValue={setPrincipal}
          disabled={!manage}
          required
        />
        <TextField
          label="Offer Negotiate to"
          hint="Address ranges, separated by commas (like 10.20.0.0/16). Empty: every address."
          value={from ?? s.negotiateFrom.join(', ')}
          onValue={setFrom}
          disabled={!manage}
        />
        <div className="field">
          <label htmlFor="keytab">Keytab {s.hasKeytab && <span className="muted small-text">(one is stored; choose a file only to replace it)</span>}</label>
          <input id="keytab" type="file" disabled={!manage} onChange={(e) => setKeytab(e.target.files?.[0])} />
        </div>
        <FormError error={error} />
        {manage && (
          <div className="actions">
            <Button type="submit" busy={saving} busyLabel="Saving…">
              {s.enabled ? 'Save' : 'Turn on'}
            </Button>
          </div>
        )}
      </form>
      {disabling && (
        <ConfirmDialog
          title="Turn off desktop SSO with Kerberos?"
          confirmLabel="Turn off"
          onClose={() => setDisabling(false)}
          onConfirm={async () => {
            await api('DELETE', tp('/kerberos'));
            notify('Kerberos is off.');
            k.reload();
          }}
        >
          <p>Browsers are no longer offered Negotiate; people sign in with the sign-in page. The settings and keytab are kept for turning it on again.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
