// Self-service settings on the login configuration page (issue 17): what users sign in with
// and the name mail is sent as; "Send test email". The domain map (CORP\name, UPN suffixes)
// is set through the API (docs/self-service.md).
import { useState } from 'react';
import { api, ApiError } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can } from '../roles.ts';
import { Banner, Button, FormError, notify, SelectField, TextField, useAsync } from '../ui.tsx';

interface SelfService {
  signInWith: 'email' | 'username' | 'either';
  domains: Record<string, string>;
  mailFromName: string | null;
  version: number;
}

const SIGN_IN_WITH = [
  { value: 'either', label: 'Email or username (default)' },
  { value: 'email', label: 'Email only' },
  { value: 'username', label: 'Username only' },
];
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export function SelfServiceSection() {
  const { me } = useSession();
  const tp = useTenantPath();
  const current = useAsync((signal) => api<SelfService>('GET', tp('/self-service'), undefined, { signal }), [tp('')]);
  if (!current.data) return null;
  return <SelfServiceForm key={current.data.version} initial={current.data} editable={can.manageUsers(me)} reload={current.reload} />;
}

function SelfServiceForm({ initial, editable, reload }: { initial: SelfService; editable: boolean; reload: () => void }) {
  const tp = useTenantPath();
  const [signInWith, setSignInWith] = useState<string>(initial.signInWith);
  const [fromName, setFromName] = useState(initial.mailFromName ?? '');
  const [to, setTo] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [sent, setSent] = useState<string>();
  const fromError = /[<>"\r\n]/.test(fromName) ? 'The name may not contain <, > or " or line breaks.' : undefined;
  const save = async () => {
    if (fromError) return;
    setBusy(true);
    setError(undefined);
    try {
      await api('PATCH', tp('/self-service'), { signInWith, mailFromName: fromName.trim() || null, version: initial.version });
      notify('Saved. The sign-in page follows the new setting now.');
      reload();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const test = async () => {
    if (!EMAIL.test(to.trim())) {
      setError(new Error('Enter the address to send the test message to, like you@example.com.'));
      return;
    }
    setError(undefined);
    try {
      const r = await api<{ message: string }>('POST', tp('/self-service/test-email'), { to: to.trim() });
      setSent(r.message);
    } catch (e) {
      setError(e as Error);
    }
  };
  const conflict = error instanceof ApiError && error.code === 'version_conflict';
  return (
    <form
      className="form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <section aria-labelledby="selfservice-h">
        <h2 id="selfservice-h">Sign-in name and email</h2>
        <fieldset disabled={!editable}>
          <SelectField
            label="Users sign in with"
            value={signInWith}
            onValue={setSignInWith}
            options={SIGN_IN_WITH}
            hint="Usernames also work as CORP\jsmith and jsmith@corp.example.org when those domains are mapped to a directory (API)."
          />
          <TextField
            label="Mail sender name"
            value={fromName}
            onValue={setFromName}
            error={fromError}
            placeholder="The organization's name"
            hint="Shown with the server's sender address (GATEHOUSE_MAIL_FROM) on password reset and other mail."
            maxLength={100}
          />
        </fieldset>
        {editable && (
          <div className="actions">
            <Button type="submit" busy={busy} busyLabel="Updating…">
              Update sign-in settings
            </Button>
          </div>
        )}
        {editable && (
          <div className="inline-fields">
            <TextField label="Send a test email to" type="email" value={to} onValue={setTo} />
            <Button variant="secondary" onClick={() => void test()}>
              Send test email
            </Button>
          </div>
        )}
        {sent && <p role="status">{sent}</p>}
        {conflict ? (
          <Banner level="error">
            <p>{error!.message}</p>
            <p>
              <Button variant="secondary" onClick={reload}>
                Reload
              </Button>
            </p>
          </Banner>
        ) : (
          <FormError error={error} />
        )}
      </section>
    </form>
  );
}
