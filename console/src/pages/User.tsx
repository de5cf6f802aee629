// One user: names, status (disable / enable), OU, roles, password reset, unlock, group
// membership, their SSO sessions, their two-step verification methods, the policy that applies.
import { useState } from 'react';
import { api, ApiError, enc, qs, type Page } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can, type Role } from '../roles.ts';
import { Link, navigate } from '../router.tsx';
import type { Factor, Group, SessionView, User } from '../types.ts';
import {
  Badge,
  Banner,
  Button,
  CheckboxField,
  Combobox,
  ConfirmDialog,
  Dialog,
  Empty,
  ErrorBox,
  FormError,
  Loading,
  notify,
  PageTitle,
  TextField,
  formatTime,
  useAsync,
} from '../ui.tsx';
import { fullName } from './Users.tsx';
import { SessionsTable } from './Sessions.tsx';

export function UserPage({ id }: { id: string }) {
  const tp = useTenantPath();
  const user = useAsync((signal) => api<User & { ou: string | null; groups: string[] }>('GET', tp(`/users/${enc(id)}`), undefined, { signal }), [id]);
  if (user.loading && !user.data)
    return (
      <>
        <PageTitle>User</PageTitle>
        <Loading />
      </>
    );
  if (user.error || !user.data)
    return (
      <>
        <PageTitle>User</PageTitle>
        <ErrorBox error={user.error!} onRetry={user.reload} />
        <p>
          <Link to="/users">Back to users</Link>
        </p>
      </>
    );
  return <UserDetail key={user.data.version} user={user.data} reload={user.reload} setUser={user.setData} />;
}

function UserDetail({
  user,
  reload,
  setUser,
}: {
  user: User & { ou: string | null; groups: string[] };
  reload: () => void;
  setUser: (u: User & { ou: string | null; groups: string[] }) => void;
}) {
  const { me } = useSession();
  const tp = useTenantPath();
  // The role hierarchy: an account holding a role this administrator lacks is read-only to them.
  const mayAct = user.mayManage;
  const manage = can.manageUsers(me) && mayAct;
  const [f, setF] = useState({
    username: user.username ?? '',
    givenName: user.givenName ?? '',
    familyName: user.familyName ?? '',
    ou: user.ou ?? '',
    emailVerified: user.emailVerified,
    mustChangePassword: user.mustChangePassword,
  });
  // What a directory or upstream keeps is read-only here (the API refuses it with 409).
  const synced = !!user.upstreamId || !!user.directoryId;
  const [roles, setRoles] = useState<Role[]>(user.roles);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [dialog, setDialog] = useState<'password' | 'disable' | 'delete' | 'mfa' | 'unlock'>();
  const ouError = f.ou && !f.ou.startsWith('/') ? 'An OU path starts with /, like /Sales/EMEA.' : undefined;
  const path = `/users/${enc(user.id)}`;

  const patch = async (changes: Record<string, unknown>, done: string) => {
    const updated = await api<User & { ou: string | null; groups: string[] }>('PATCH', tp(path), { ...changes, version: user.version });
    notify(done);
    setUser(updated);
  };
  const save = async () => {
    if (ouError) return;
    setBusy(true);
    setError(undefined);
    try {
      const changes: Record<string, unknown> = { ou: f.ou || null };
      if (!synced) Object.assign(changes, { givenName: f.givenName || null, familyName: f.familyName || null });
      if (!user.directoryId && f.username.trim() !== (user.username ?? '')) changes.username = f.username.trim() || null;
      if (f.emailVerified !== user.emailVerified) changes.emailVerified = f.emailVerified;
      if (!user.directoryId && f.mustChangePassword !== user.mustChangePassword) changes.mustChangePassword = f.mustChangePassword;
      if (can.grantRoles(me) && mayAct && roles.join() !== user.roles.join()) changes.roles = roles;
      await patch(changes, `Saved ${user.email}.`);
    } catch (e) {
      setError(e as Error);
      setBusy(false);
    }
  };
  const conflict = error instanceof ApiError && error.code === 'version_conflict';

  return (
    <>
      <p className="breadcrumb">
        <Link to="/users">Users</Link> ›
      </p>
      <PageTitle actions={<Badge tone={user.status === 'active' ? 'ok' : 'error'}>{user.status === 'active' ? 'Active' : 'Disabled'}</Badge>}>
        {user.email}
      </PageTitle>
      {!mayAct && (
        <Banner level="info">
          <p>
            {user.email} holds a role you do not hold ({user.roles.join(', ')}): you can see this account but not change it, reset its password or two-step
            verification, unlock it or end its sessions. Ask an administrator who holds that role.
          </p>
        </Banner>
      )}
      {user.upstreamId && (
        <Banner level="info">
          <p>This user signs in through an upstream directory, which keeps their names up to date.</p>
        </Banner>
      )}
      {user.directoryId && (
        <Banner level="info">
          <p>
            This user is kept by an <Link to={`/directories/${enc(user.directoryId)}`}>LDAP directory</Link>: each sync updates their names, OU, groups and
            status from it, and they sign in with their directory password (change it in the directory).
          </p>
        </Banner>
      )}
      <form
        className="form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <section aria-labelledby="profile-h">
          <h2 id="profile-h">Profile</h2>
          <TextField
            label="Username"
            value={f.username}
            onValue={(v) => setF((x) => ({ ...x, username: v }))}
            disabled={!manage || !!user.directoryId}
            hint={user.directoryId ? 'From the directory.' : 'Optional: the user may sign in with it instead of the email. Empty: none.'}
          />
          <TextField label="Given name" value={f.givenName} onValue={(v) => setF((x) => ({ ...x, givenName: v }))} disabled={!manage || synced} />
          <TextField label="Family name" value={f.familyName} onValue={(v) => setF((x) => ({ ...x, familyName: v }))} disabled={!manage || synced} />
          <CheckboxField
            label="Email address verified (the email_verified claim)"
            checked={f.emailVerified}
            disabled={!manage || synced}
            onChecked={(on) => setF((x) => ({ ...x, emailVerified: on }))}
          />
          {!user.directoryId && !user.upstreamId && (
            <CheckboxField
              label="Must choose a new password at the next sign-in"
              checked={f.mustChangePassword}
              disabled={!manage}
              onChecked={(on) => setF((x) => ({ ...x, mustChangePassword: on }))}
            />
          )}
          <TextField
            label="OU"
            value={f.ou}
            onValue={(v) => setF((x) => ({ ...x, ou: v }))}
            error={ouError}
            placeholder="/Sales/EMEA"
            disabled={!manage}
            hint="Empty: no OU. A new path is created."
          />
          <fieldset>
            <legend>Administrator roles</legend>
            {(['superadmin', 'admin', 'helpdesk', 'auditor'] as Role[]).map((r) => (
              <CheckboxField
                key={r}
                label={r}
                checked={roles.includes(r)}
                disabled={!can.grantRoles(me) || !mayAct}
                onChecked={(on) => setRoles((rs) => (on ? [...rs, r] : rs.filter((x) => x !== r)))}
              />
            ))}
            {!can.grantRoles(me) && <p className="hint">Only a superadministrator changes roles.</p>}
          </fieldset>
        </section>
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
        {manage && (
          <div className="actions">
            <Button type="submit" busy={busy} busyLabel="Saving…">
              Save
            </Button>
          </div>
        )}
      </form>

      <section aria-labelledby="account-h">
        <h2 id="account-h">Account</h2>
        <p className="muted">
          Created {formatTime(user.createdAt)} · changed {formatTime(user.updatedAt)}
        </p>
        {(manage || (can.helpdesk(me) && mayAct)) && (
          <div className="actions wrap">
            {manage && !user.directoryId && (
              <Button variant="secondary" onClick={() => setDialog('password')}>
                Reset password
              </Button>
            )}
            {manage &&
              (user.status === 'active' ? (
                <Button variant="danger" onClick={() => setDialog('disable')}>
                  Disable user
                </Button>
              ) : (
                <Button variant="secondary" onClick={() => void patch({ status: 'active' }, `${user.email} can sign in again.`).catch((e) => setError(e))}>
                  Enable user
                </Button>
              ))}
            {can.helpdesk(me) && mayAct && (
              <Button variant="secondary" onClick={() => setDialog('unlock')}>
                Unlock
              </Button>
            )}
            {manage && (
              <Button variant="danger" onClick={() => setDialog('delete')}>
                Delete user
              </Button>
            )}
          </div>
        )}
      </section>

      <Membership user={user} onChanged={reload} />
      {can.sessions(me) && <UserSessions user={user} />}
      <Factors user={user} onReset={() => setDialog('mfa')} />
      <EffectivePolicy user={user} />

      {dialog === 'password' && (
        <PasswordDialog
          user={user}
          onClose={() => setDialog(undefined)}
          onSaved={(u) => {
            setDialog(undefined);
            setUser(u);
          }}
        />
      )}
      {dialog === 'disable' && (
        <ConfirmDialog
          title={`Disable ${user.email}?`}
          confirmLabel="Disable user"
          onClose={() => setDialog(undefined)}
          onConfirm={() => patch({ status: 'disabled' }, `${user.email} is disabled.`)}
        >
          <p>They cannot sign in any more, and apps that check their session sign them out at the next check. You can enable them again.</p>
        </ConfirmDialog>
      )}
      {dialog === 'delete' && (
        <ConfirmDialog
          title={`Delete ${user.email}?`}
          confirmLabel="Delete user"
          onClose={() => setDialog(undefined)}
          onConfirm={async () => {
            await api('DELETE', tp(path));
            notify(`Deleted ${user.email}.`);
            navigate('/users');
          }}
        >
          <p>
            The account, its group memberships and its two-step verification methods are removed. This cannot be undone; disabling keeps the account instead.
          </p>
        </ConfirmDialog>
      )}
      {dialog === 'unlock' && (
        <ConfirmDialog
          title={`Unlock ${user.email}?`}
          confirmLabel="Unlock"
          danger={false}
          onClose={() => setDialog(undefined)}
          onConfirm={async () => {
            await api('POST', tp(`${path}/unlock`));
            notify(`${user.email} may try to sign in again now.`);
          }}
        >
          <p>Lifts a lockout after too many failed passwords or codes, so they can try again at once.</p>
        </ConfirmDialog>
      )}
      {dialog === 'mfa' && (
        <ConfirmDialog
          title="Reset two-step verification?"
          confirmLabel="Reset two-step verification"
          onClose={() => setDialog(undefined)}
          onConfirm={async () => {
            await api('DELETE', tp(`${path}/mfa`));
            notify(`Two-step verification of ${user.email} was reset.`);
            reload();
          }}
        >
          <p>
            Removes all of {user.email}'s authenticator apps, passkeys and recovery codes. They set up a new method at their next sign-in, if their policy asks
            for one.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

function PasswordDialog({ user, onClose, onSaved }: { user: User; onClose: () => void; onSaved: (u: User & { ou: string | null; groups: string[] }) => void }) {
  const tp = useTenantPath();
  const [pw, setPw] = useState('');
  const [again, setAgain] = useState('');
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const pwError = pw.length < 8 ? 'At least 8 characters.' : undefined;
  const againError = again !== pw ? 'The two passwords differ.' : undefined;
  const save = async () => {
    setSubmitted(true);
    if (pwError || againError) return;
    setBusy(true);
    try {
      const u = await api<User & { ou: string | null; groups: string[] }>('PATCH', tp(`/users/${enc(user.id)}`), { password: pw, version: user.version });
      notify(`New password set for ${user.email}. Give it to them through a safe channel.`);
      onSaved(u);
    } catch (e) {
      setError(e as Error);
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Reset the password of ${user.email}`} onClose={onClose}>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          value={pw}
          onValue={setPw}
          error={submitted ? pwError : undefined}
          autoFocus
        />
        <TextField
          label="New password again"
          type="password"
          autoComplete="new-password"
          value={again}
          onValue={setAgain}
          error={submitted ? againError : undefined}
        />
        <FormError error={error} />
        <div className="actions">
          <Button type="submit" busy={busy} busyLabel="Saving…">
            Set password
          </Button>
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function Membership({ user, onChanged }: { user: User & { groups: string[] }; onChanged: () => void }) {
  const { me } = useSession();
  const tp = useTenantPath();
  const [error, setError] = useState<Error>();
  const [removing, setRemoving] = useState<string>();
  const add = async (name: string) => {
    setError(undefined);
    try {
      await api('PUT', tp(`/groups/${enc(name)}/members/${enc(user.id)}`));
      notify(`${user.email} is now in ${name}.`);
      onChanged();
    } catch (e) {
      setError(e as Error);
    }
  };
  return (
    <section aria-labelledby="groups-h">
      <h2 id="groups-h">Groups</h2>
      {user.groups.length === 0 ? (
        <p className="hint">Not in any group.</p>
      ) : (
        <ul className="chips" aria-label="Groups of this user">
          {user.groups.map((g) => (
            <li key={g} className="chip">
              {g}
              {can.manageUsers(me) && user.mayManage && (
                <button type="button" className="link" aria-label={`Remove from ${g}`} onClick={() => setRemoving(g)}>
                  ×
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {can.manageUsers(me) && user.mayManage && (
        <Combobox<string>
          label="Add to a group"
          placeholder="Group name"
          search={async (q, signal) =>
            (await api<Page<Group>>('GET', tp(`/groups${qs({ search: q, limit: 10 })}`), undefined, { signal })).items
              .filter((g) => !user.groups.includes(g.name))
              .map((g) => ({ key: g.id, label: g.name, value: g.name }))
          }
          onSelect={(o) => void add(o.value)}
        />
      )}
      <FormError error={error} />
      {removing && (
        <ConfirmDialog
          title={`Remove ${user.email} from ${removing}?`}
          confirmLabel="Remove"
          onClose={() => setRemoving(undefined)}
          onConfirm={async () => {
            await api('DELETE', tp(`/groups/${enc(removing)}/members/${enc(user.id)}`));
            notify(`Removed from ${removing}.`);
            onChanged();
          }}
        >
          <p>Applications and policies deployed to {removing} no longer apply to them.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function UserSessions({ user }: { user: User }) {
  const tp = useTenantPath();
  const sessions = useAsync((signal) => api<Page<SessionView>>('GET', tp(`/users/${enc(user.id)}/sessions`), undefined, { signal }), [user.id]);
  return (
    <section aria-labelledby="sessions-h">
      <h2 id="sessions-h">Sessions</h2>
      {sessions.loading && !sessions.data && <Loading label="Loading sessions…" />}
      {sessions.error &&
        (sessions.error instanceof ApiError && sessions.error.status === 404 ? (
          <p className="hint">This server does not list sessions yet.</p>
        ) : (
          <ErrorBox error={sessions.error} onRetry={sessions.reload} />
        ))}
      {sessions.data && <SessionsTable sessions={sessions.data.items} user={user} mayEndAll={user.mayManage} onChanged={sessions.reload} />}
    </section>
  );
}

function Factors({ user, onReset }: { user: User; onReset: () => void }) {
  const { me } = useSession();
  const tp = useTenantPath();
  const factors = useAsync(
    (signal) => api<{ items: Factor[]; recoveryCodesLeft?: number }>('GET', tp(`/users/${enc(user.id)}/mfa`), undefined, { signal }),
    [user.id, user.version],
  );
  const LABEL: Record<string, string> = { totp: 'Authenticator app', webauthn: 'Passkey', recovery: 'Recovery codes', push: 'Push approval' };
  return (
    <section aria-labelledby="mfa-h">
      <h2 id="mfa-h">Two-step verification</h2>
      {factors.loading && !factors.data && <Loading />}
      {factors.error &&
        (factors.error instanceof ApiError && factors.error.status === 404 ? (
          <p className="hint">This server does not list two-step verification methods yet.</p>
        ) : (
          <ErrorBox error={factors.error} onRetry={factors.reload} />
        ))}
      {factors.data &&
        (factors.data.items.length === 0 ? (
          <p className="hint">No methods set up. The user adds one on their account page (/t/&lt;organization&gt;/account) or when a policy asks for it.</p>
        ) : (
          <div className="table-wrap" role="region" aria-label="Two-step verification methods" tabIndex={0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Method</th>
                  <th scope="col">Name</th>
                  <th scope="col">Added</th>
                  <th scope="col">Last used</th>
                </tr>
              </thead>
              <tbody>
                {factors.data.items.map((f) => (
                  <tr key={f.id}>
                    <td>{LABEL[f.type] ?? f.type}</td>
                    <td>{f.label ?? '—'}</td>
                    <td>{formatTime(f.createdAt)}</td>
                    <td>{formatTime(f.lastUsedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      {factors.data?.recoveryCodesLeft !== undefined && factors.data.items.length > 0 && (
        <p className="hint">Recovery codes left: {factors.data.recoveryCodesLeft}.</p>
      )}
      {can.helpdesk(me) && user.mayManage && (
        <Button variant="danger" onClick={onReset}>
          Reset two-step verification
        </Button>
      )}
    </section>
  );
}

function EffectivePolicy({ user }: { user: User }) {
  const tp = useTenantPath();
  const p = useAsync(
    (signal) =>
      api<{ policy: { id: string; name: string; priority: number } | null; settings: { ssoEnabled: boolean; mfa: { required: string } } }>(
        'GET',
        tp(`/users/${enc(user.id)}/policy`),
        undefined,
        { signal },
      ),
    [user.id],
  );
  return (
    <section aria-labelledby="policy-h">
      <h2 id="policy-h">User policy</h2>
      {p.loading && <Loading />}
      {p.error && <ErrorBox error={p.error} />}
      {p.data &&
        (p.data.policy ? (
          <p>
            The policy <Link to={`/policies/${enc(p.data.policy.id)}`}>{p.data.policy.name}</Link> (priority {p.data.policy.priority}) applies: single sign-on{' '}
            {p.data.settings.ssoEnabled ? 'on' : 'off'}, two-step verification {p.data.settings.mfa.required.replace(/_/g, ' ')}.
          </p>
        ) : (
          <Empty title="No policy matches this user">
            <p>The defaults apply: single sign-on on, two-step verification when an app asks for it.</p>
          </Empty>
        ))}
    </section>
  );
}

export { fullName };
