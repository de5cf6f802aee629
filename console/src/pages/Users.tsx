// Users: search (debounced, server-side) and cursor pages, so 10,000 users page as fast as 10;
// create a user.
import { useEffect, useState } from 'react';
import { api, ApiError, enc, qs, type Page } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can, type Role } from '../roles.ts';
import { Link, navigate, setQuery, useLocation } from '../router.tsx';
import type { Ou, User } from '../types.ts';
import {
  Badge,
  Button,
  CheckboxField,
  Dialog,
  Empty,
  ErrorBox,
  FormError,
  Loading,
  notify,
  PageTitle,
  Pager,
  TextField,
  useAsync,
  useCursorPages,
  useDebounced,
} from '../ui.tsx';

export const PAGE_SIZE = 50;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const fullName = (u: Pick<User, 'givenName' | 'familyName'>) => [u.givenName, u.familyName].filter(Boolean).join(' ');

export function UsersPage() {
  const { me } = useSession();
  const tp = useTenantPath();
  const { query } = useLocation();
  const [search, setSearch] = useState(query.get('q') ?? '');
  const q = useDebounced(search.trim(), 300);
  const [creating, setCreating] = useState(false);
  useEffect(() => setQuery({ q: q || undefined }), [q]);
  const pages = useCursorPages(
    (cursor, signal) => api<Page<User>>('GET', tp(`/users${qs({ search: q, cursor, limit: PAGE_SIZE })}`), undefined, { signal }),
    [q, tp('')],
  );
  const items = pages.data?.items ?? [];
  // List items carry the OU's id; its path comes from the (small) list of OUs.
  const ous = useAsync((signal) => api<Page<Ou>>('GET', tp('/ous?limit=200'), undefined, { signal }).catch(() => ({ items: [], nextCursor: null })), [tp('')]);
  const ouPath = (id: string | null) => (id ? ous.data?.items.find((o) => o.id === id)?.path : undefined);

  return (
    <>
      <PageTitle actions={can.manageUsers(me) && <Button onClick={() => setCreating(true)}>Create user</Button>}>Users</PageTitle>
      <div className="toolbar" role="search">
        <TextField
          label="Search users"
          type="search"
          value={search}
          onValue={setSearch}
          placeholder="Email or name"
          hint="Matches the start of an email address or a name."
        />
      </div>
      {pages.error && <ErrorBox error={pages.error} onRetry={pages.reload} />}
      {pages.loading && !pages.data && <Loading label="Loading users…" />}
      {pages.data &&
        items.length === 0 &&
        (q ? (
          <Empty title={`No user matches “${q}”`}>
            <p>Check the spelling, or search by the start of the email address.</p>
          </Empty>
        ) : (
          <Empty title="No users yet">
            {can.manageUsers(me) ? (
              <p>
                Choose <strong>Create user</strong>, import them (docs/import.md) or connect an upstream directory.
              </p>
            ) : (
              <p>Ask an administrator to add users.</p>
            )}
          </Empty>
        ))}
      {items.length > 0 && (
        <>
          <div className={`table-wrap${pages.loading ? ' stale' : ''}`} aria-busy={pages.loading} role="region" aria-label="Users" tabIndex={0}>
            <table>
              <caption className="visually-hidden">
                Users{q ? ` matching ${q}` : ''}, page {pages.pageNumber}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Username</th>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">OU</th>
                  <th scope="col">Roles</th>
                </tr>
              </thead>
              <tbody>
                {items.map((u) => (
                  <tr key={u.id}>
                    <th scope="row">
                      <Link to={`/users/${enc(u.id)}`}>{u.email}</Link>
                    </th>
                    <td>{u.username ?? <span className="muted">—</span>}</td>
                    <td>{fullName(u) || <span className="muted">—</span>}</td>
                    <td>
                      <Badge tone={u.status === 'active' ? 'ok' : 'error'}>{u.status === 'active' ? 'Active' : 'Disabled'}</Badge>
                      {u.upstreamId && (
                        <>
                          {' '}
                          <Badge>upstream</Badge>
                        </>
                      )}
                    </td>
                    <td>{u.ou ?? ouPath(u.ouId) ?? <span className="muted">—</span>}</td>
                    <td>{u.roles.length ? u.roles.join(', ') : <span className="muted">—</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager {...pages} loading={pages.loading} />
        </>
      )}
      {creating && (
        <CreateUserDialog
          onClose={() => setCreating(false)}
          onCreated={(u) => {
            setCreating(false);
            navigate(`/users/${enc(u.id)}`);
          }}
        />
      )}
    </>
  );
}

function CreateUserDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (u: User) => void }) {
  const { me } = useSession();
  const tp = useTenantPath();
  const [f, setF] = useState({ email: '', username: '', givenName: '', familyName: '', password: '', ou: '', groups: '' });
  const [roles, setRoles] = useState<Role[]>([]);
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const errors: Record<string, string> = {};
  if (!EMAIL.test(f.email.trim())) errors.email = 'Enter an email address, like name@example.com.';
  if (f.username.trim() && !/^[A-Za-z0-9][A-Za-z0-9._$-]{0,63}$/.test(f.username.trim()))
    errors.username = 'Letters, digits, dots, hyphens, underscores or $ (up to 64), starting with a letter or digit; no @ or \\.';
  if (f.password && f.password.length < 8)
    errors.password = 'At least 8 characters (or leave empty: the user then signs in through an upstream directory or gets a password later).';
  if (f.ou && !f.ou.startsWith('/')) errors.ou = 'An OU path starts with /, like /Sales/EMEA.';
  const show = (k: string) => (submitted ? errors[k] : undefined) ?? (error instanceof ApiError ? error.forField(k) : undefined);
  const set = (k: keyof typeof f) => (v: string) => setF((x) => ({ ...x, [k]: v }));
  const create = async () => {
    setSubmitted(true);
    if (Object.keys(errors).length) return;
    setBusy(true);
    setError(undefined);
    try {
      const groups = f.groups
        .split(',')
        .map((g) => g.trim())
        .filter(Boolean);
      const u = await api<User>('POST', tp('/users'), {
        email: f.email.trim(),
        ...(f.username.trim() && { username: f.username.trim() }),
        ...(f.password && { password: f.password }),
        ...(f.givenName && { givenName: f.givenName }),
        ...(f.familyName && { familyName: f.familyName }),
        ...(f.ou && { ou: f.ou }),
        ...(groups.length && { groups }),
        ...(roles.length && { roles }),
      });
      notify(`Created ${u.email}.`);
      onCreated(u);
    } catch (e) {
      setError(e as Error);
      setBusy(false);
    }
  };
  const toggle = (r: Role) => (on: boolean) => setRoles((rs) => (on ? [...rs, r] : rs.filter((x) => x !== r)));
  return (
    <Dialog title="Create user" onClose={onClose}>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <TextField label="Email" type="email" autoComplete="off" value={f.email} onValue={set('email')} error={show('email')} required autoFocus />
        <TextField
          label="Username (optional)"
          autoComplete="off"
          value={f.username}
          onValue={set('username')}
          error={show('username')}
          hint="The user may sign in with it instead of the email, like jsmith. Unique in the organization."
        />
        <TextField label="Given name" value={f.givenName} onValue={set('givenName')} error={show('givenName')} />
        <TextField label="Family name" value={f.familyName} onValue={set('familyName')} error={show('familyName')} />
        <TextField
          label="Password (optional)"
          type="password"
          autoComplete="new-password"
          value={f.password}
          onValue={set('password')}
          error={show('password')}
          hint="At least 8 characters."
        />
        <TextField label="OU (optional)" value={f.ou} onValue={set('ou')} error={show('ou')} placeholder="/Sales/EMEA" hint="Created if it does not exist." />
        <TextField label="Groups (optional)" value={f.groups} onValue={set('groups')} hint="Names, separated by commas; new groups are created." />
        <fieldset>
          <legend>Administrator roles (optional)</legend>
          {(['admin', 'helpdesk', 'auditor', 'superadmin'] as Role[]).map((r) => (
            <CheckboxField key={r} label={r} checked={roles.includes(r)} onChecked={toggle(r)} disabled={r === 'superadmin' && !can.grantRoles(me)} />
          ))}
          {!can.grantRoles(me) && <p className="hint">Only a superadministrator grants roles.</p>}
        </fieldset>
        <FormError error={error} />
        <div className="actions">
          <Button type="submit" busy={busy} busyLabel="Creating…">
            Create user
          </Button>
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
