// Groups: list and create; one group: edit, members (paged, add by type-ahead), delete.
import { useState } from 'react';
import { api, ApiError, enc, qs, type Page } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can } from '../roles.ts';
import { Link, navigate } from '../router.tsx';
import type { Group, User } from '../types.ts';
import {
  Button,
  Combobox,
  ConfirmDialog,
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

export function GroupsPage() {
  const { me } = useSession();
  const tp = useTenantPath();
  const [filter, setFilter] = useState('');
  const search = useDebounced(filter.trim());
  const groups = useCursorPages(
    (cursor, signal) => api<Page<Group>>('GET', tp(`/groups${qs({ search, cursor, limit: 50 })}`), undefined, { signal }),
    [search, tp('')],
  );
  const [creating, setCreating] = useState(false);
  const items = groups.data?.items ?? [];
  const none = groups.data && items.length === 0;
  return (
    <>
      <PageTitle actions={can.manageUsers(me) && <Button onClick={() => setCreating(true)}>Create group</Button>}>Groups</PageTitle>
      <div className="toolbar" role="search">
        <TextField label="Search groups" type="search" value={filter} onValue={setFilter} hint="By name or description." />
      </div>
      {groups.loading && !groups.data && <Loading />}
      {groups.error && <ErrorBox error={groups.error} onRetry={groups.reload} />}
      {none && !search && (
        <Empty title="No groups yet">
          <p>Groups let you deploy applications and policies to many users at once. {can.manageUsers(me) ? 'Choose Create group.' : ''}</p>
        </Empty>
      )}
      {none && search && (
        <Empty title={`No group matches “${search}”`}>
          <p>Check the spelling, or search for part of the name.</p>
        </Empty>
      )}
      {items.length > 0 && (
        <div className={`table-wrap${groups.loading ? ' stale' : ''}`}>
          <table>
            <caption className="visually-hidden">Groups</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Description</th>
                <th scope="col">Members</th>
              </tr>
            </thead>
            <tbody>
              {items.map((g) => (
                <tr key={g.id}>
                  <th scope="row">
                    <Link to={`/groups/${enc(g.id)}`}>{g.name}</Link>
                  </th>
                  <td>{g.description ?? <span className="muted">—</span>}</td>
                  <td>{g.memberCount ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager {...groups} />
      {creating && (
        <GroupDialog
          onClose={() => setCreating(false)}
          onSaved={(g) => {
            setCreating(false);
            navigate(`/groups/${enc(g.id)}`);
          }}
        />
      )}
    </>
  );
}

function GroupDialog({ group, onClose, onSaved }: { group?: Group; onClose: () => void; onSaved: (g: Group) => void }) {
  const tp = useTenantPath();
  const [name, setName] = useState(group?.name ?? '');
  const [description, setDescription] = useState(group?.description ?? '');
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const nameError = !name.trim() ? 'Give the group a name.' : undefined;
  const save = async () => {
    setSubmitted(true);
    if (nameError) return;
    setBusy(true);
    try {
      const body = { name: name.trim(), description: description.trim() || null };
      const g = group
        ? await api<Group>('PATCH', tp(`/groups/${enc(group.id)}`), { ...body, version: group.version })
        : await api<Group>('POST', tp('/groups'), body);
      notify(group ? `Saved ${g.name}.` : `Created ${g.name}.`);
      onSaved(g);
    } catch (e) {
      setError(e as Error);
      setBusy(false);
    }
  };
  return (
    <Dialog title={group ? `Edit ${group.name}` : 'Create group'} onClose={onClose}>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <TextField
          label="Name"
          value={name}
          onValue={setName}
          error={(submitted ? nameError : undefined) ?? (error instanceof ApiError ? error.forField('name') : undefined)}
          autoFocus
          maxLength={200}
        />
        <TextField label="Description (optional)" value={description} onValue={setDescription} maxLength={1000} />
        <FormError error={error} />
        <div className="actions">
          <Button type="submit" busy={busy} busyLabel="Saving…">
            {group ? 'Save' : 'Create group'}
          </Button>
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

export function GroupPage({ id }: { id: string }) {
  const { me } = useSession();
  const tp = useTenantPath();
  const group = useAsync((signal) => api<Group>('GET', tp(`/groups/${enc(id)}`), undefined, { signal }), [id]);
  const members = useCursorPages(
    (cursor, signal) => api<Page<User>>('GET', tp(`/groups/${enc(id)}/members${qs({ cursor, limit: 50 })}`), undefined, { signal }),
    [id],
  );
  const [dialog, setDialog] = useState<'edit' | 'delete'>();
  const [removing, setRemoving] = useState<User>();
  const [error, setError] = useState<Error>();
  const manage = can.manageUsers(me);
  if (group.loading && !group.data)
    return (
      <>
        <PageTitle>Group</PageTitle>
        <Loading />
      </>
    );
  if (group.error || !group.data)
    return (
      <>
        <PageTitle>Group</PageTitle>
        <ErrorBox error={group.error!} onRetry={group.reload} />
        <p>
          <Link to="/groups">Back to groups</Link>
        </p>
      </>
    );
  const g = group.data;
  const search = async (q: string, signal: AbortSignal) =>
    (q ? (await api<Page<User>>('GET', tp(`/users${qs({ search: q, limit: 8 })}`), undefined, { signal })).items : []).map((u) => ({
      key: u.id,
      label: u.email,
      value: u,
    }));
  const add = async (u: User) => {
    setError(undefined);
    try {
      await api('PUT', tp(`/groups/${enc(g.id)}/members/${enc(u.id)}`));
      notify(`Added ${u.email} to ${g.name}.`);
      members.reload();
    } catch (e) {
      setError(e as Error);
    }
  };
  return (
    <>
      <p className="breadcrumb">
        <Link to="/groups">Groups</Link> ›
      </p>
      <PageTitle
        actions={
          manage && (
            <>
              <Button variant="secondary" onClick={() => setDialog('edit')}>
                Edit
              </Button>{' '}
              <Button variant="danger" onClick={() => setDialog('delete')}>
                Delete group
              </Button>
            </>
          )
        }
      >
        {g.name}
      </PageTitle>
      {g.description && <p>{g.description}</p>}
      <h2>Members</h2>
      {manage && <Combobox<User> label="Add a member" placeholder="Email or name" search={search} onSelect={(o) => void add(o.value)} />}
      <FormError error={error} />
      {members.error && <ErrorBox error={members.error} onRetry={members.reload} />}
      {members.loading && !members.data && <Loading />}
      {members.data && members.data.items.length === 0 && (
        <Empty title="No members yet">
          <p>{manage ? 'Find users above to add them.' : 'Ask an administrator to add members.'}</p>
        </Empty>
      )}
      {members.data && members.data.items.length > 0 && (
        <div className="table-wrap" role="region" aria-label="Members" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.data.items.map((u) => (
                <tr key={u.id}>
                  <th scope="row">
                    <Link to={`/users/${enc(u.id)}`}>{u.email}</Link>
                  </th>
                  <td>
                    {manage && u.mayManage && (
                      <Button variant="link" onClick={() => setRemoving(u)}>
                        Remove
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager {...members} />
      {dialog === 'edit' && (
        <GroupDialog
          group={g}
          onClose={() => setDialog(undefined)}
          onSaved={(x) => {
            setDialog(undefined);
            group.setData(x);
          }}
        />
      )}
      {dialog === 'delete' && (
        <ConfirmDialog
          title={`Delete ${g.name}?`}
          confirmLabel="Delete group"
          onClose={() => setDialog(undefined)}
          onConfirm={async () => {
            await api('DELETE', tp(`/groups/${enc(g.id)}`));
            notify(`Deleted ${g.name}.`);
            navigate('/groups');
          }}
        >
          <p>Its members stay, but lose what was deployed to the group (applications, policies). This cannot be undone.</p>
        </ConfirmDialog>
      )}
      {removing && (
        <ConfirmDialog
          title={`Remove ${removing.email} from ${g.name}?`}
          confirmLabel="Remove"
          onClose={() => setRemoving(undefined)}
          onConfirm={async () => {
            await api('DELETE', tp(`/groups/${enc(g.id)}/members/${enc(removing.id)}`));
            notify(`Removed ${removing.email}.`);
            members.reload();
          }}
        >
          <p>Applications and policies deployed to {g.name} no longer apply to them.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
