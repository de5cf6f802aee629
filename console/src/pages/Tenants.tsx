// Tenants (organizations), for superadministrators of the default tenant: list, create, and
// administer another tenant from here (the admin API lets them).
import { useState } from 'react';
import { api, ApiError, type Page } from '../api.ts';
import { useSession } from '../App.tsx';
import { navigate } from '../router.tsx';
import type { Tenant } from '../types.ts';
import { Button, CopyValue, Dialog, ErrorBox, FormError, Loading, notify, PageTitle, TextField, useAsync } from '../ui.tsx';

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

export function TenantsPage() {
  const { tenant, setTenant } = useSession();
  const list = useAsync((signal) => api<Page<Tenant>>('GET', '/tenants', undefined, { signal }), []);
  const [creating, setCreating] = useState(false);
  return (
    <>
      <PageTitle actions={<Button onClick={() => setCreating(true)}>Create tenant</Button>}>Tenants</PageTitle>
      <p className="hint">
        Each tenant is its own issuer with its own keys, users, applications and sessions. As a superadministrator of the default tenant you can administer any
        of them from here.
      </p>
      {list.loading && !list.data && <Loading />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      {list.data && (
        <div className="table-wrap" role="region" aria-label="Tenants" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Slug</th>
                <th scope="col">Name</th>
                <th scope="col">Issuer</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((t) => (
                <tr key={t.slug}>
                  <th scope="row">{t.slug}</th>
                  <td>{t.name}</td>
                  <td>
                    <code>{t.issuer}</code>
                  </td>
                  <td>
                    {t.slug === tenant ? (
                      <span className="muted">administering</span>
                    ) : (
                      <Button
                        variant="secondary"
                        className="small"
                        onClick={() => {
                          setTenant(t.slug);
                          notify(`Now administering ${t.name}.`);
                          navigate('/');
                        }}
                      >
                        Administer
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {creating && (
        <CreateTenant
          onClose={() => setCreating(false)}
          onCreated={() => {
            setCreating(false);
            list.reload();
          }}
        />
      )}
    </>
  );
}

function CreateTenant({ onClose, onCreated }: { onClose: () => void; onCreated: () => void }) {
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [created, setCreated] = useState<Tenant>();
  const slugError = SLUG.test(slug) ? undefined : 'Use 1-40 lowercase letters, digits and hyphens, starting and ending with a letter or digit.';
  const create = async () => {
    setSubmitted(true);
    if (slugError) return;
    setBusy(true);
    try {
      setCreated(await api<Tenant>('POST', '/tenants', { slug, ...(name && { name }) }));
      notify(`Created ${slug}.`);
    } catch (e) {
      setError(e as Error);
    }
    setBusy(false);
  };
  if (created)
    return (
      <Dialog title={`Tenant ${created.slug} created`} onClose={onCreated}>
        <CopyValue label="Issuer" value={created.issuer} />
        <CopyValue label="Discovery URL" value={created.discoveryUrl} />
        <p>
          Its own console is at <code>{created.issuer}/console/</code>; create its first administrator from here (Administer › Users).
        </p>
        <div className="actions">
          <Button onClick={onCreated}>Done</Button>
        </div>
      </Dialog>
    );
  return (
    <Dialog title="Create tenant" onClose={onClose}>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <TextField
          label="Slug"
          value={slug}
          onValue={setSlug}
          error={(submitted ? slugError : undefined) ?? (error instanceof ApiError ? error.forField('slug') : undefined)}
          hint="Part of the issuer URL: /t/<slug>."
          autoFocus
        />
        <TextField label="Name (optional)" value={name} onValue={setName} />
        <FormError error={error} />
        <div className="actions">
          <Button type="submit" busy={busy} busyLabel="Creating…">
            Create tenant
          </Button>
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
