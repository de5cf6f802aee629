// Organizational units (a tree by path) and email domains.
import { useState } from 'react';
import { api, ApiError, enc, qs, type Page } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can } from '../roles.ts';
import type { Ou } from '../types.ts';
import { Button, ConfirmDialog, Empty, ErrorBox, FormError, Loading, notify, PageTitle, Pager, TextField, useCursorPages, useDebounced } from '../ui.tsx';

const OU_PATH = /^(\/[^/]{1,100})+$/;
const DOMAIN = /^[a-z0-9.-]+\.[a-z]{2,}$/i;

function AddForm({
  label,
  placeholder,
  check,
  submit,
}: {
  label: string;
  placeholder: string;
  check: (v: string) => string | undefined;
  submit: (v: string) => Promise<void>;
}) {
  const [v, setV] = useState('');
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const problem = check(v.trim());
  const go = async () => {
    setSubmitted(true);
    if (problem) return;
    setBusy(true);
    setError(undefined);
    try {
      await submit(v.trim());
      setV('');
      setSubmitted(false);
    } catch (e) {
      setError(e as Error);
    }
    setBusy(false);
  };
  return (
    <form
      className="inline-form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void go();
      }}
    >
      <TextField
        label={label}
        value={v}
        onValue={setV}
        placeholder={placeholder}
        error={(submitted ? problem : undefined) ?? (error instanceof ApiError ? (error.forField('path') ?? error.forField('name')) : undefined)}
      />
      <Button type="submit" busy={busy} busyLabel="Adding…">
        Add
      </Button>
      <FormError error={error instanceof ApiError && error.problems.length ? undefined : error} />
    </form>
  );
}

export function OusPage() {
  const { me } = useSession();
  const tp = useTenantPath();
  const [ouFilter, setOuFilter] = useState('');
  const ouSearch = useDebounced(ouFilter.trim());
  const [domainFilter, setDomainFilter] = useState('');
  const domainSearch = useDebounced(domainFilter.trim());
  // Pages in path order (parents first), so each page is a piece of the tree.
  const ous = useCursorPages(
    (cursor, signal) => api<Page<Ou>>('GET', tp(`/ous${qs({ search: ouSearch, cursor, limit: 200 })}`), undefined, { signal }),
    [ouSearch, tp('')],
  );
  const domains = useCursorPages(
    (cursor, signal) => api<Page<{ name: string }>>('GET', tp(`/domains${qs({ search: domainSearch, cursor, limit: 100 })}`), undefined, { signal }),
    [domainSearch, tp('')],
  );
  const [deleting, setDeleting] = useState<Ou>();
  const manage = can.manageUsers(me);
  const list = ous.data?.items ?? [];
  return (
    <>
      <PageTitle>OUs and domains</PageTitle>
      <section aria-labelledby="ous-h">
        <h2 id="ous-h">Organizational units</h2>
        {manage && (
          <AddForm
            label="New OU path"
            placeholder="/Sales/EMEA"
            check={(v) => (OU_PATH.test(v) ? undefined : 'Write the path from the top, like /Sales/EMEA (parents are created).')}
            submit={async (path) => {
              await api('POST', tp('/ous'), { path });
              notify(`Added ${path}.`);
              ous.reload();
            }}
          />
        )}
        <div className="toolbar" role="search">
          <TextField label="Search OUs" type="search" value={ouFilter} onValue={setOuFilter} hint="By path, like Sales or /Sales/EMEA." />
        </div>
        {ous.loading && !ous.data && <Loading />}
        {ous.error && <ErrorBox error={ous.error} onRetry={ous.reload} />}
        {ous.data &&
          list.length === 0 &&
          (ouSearch ? (
            <Empty title={`No OU matches “${ouSearch}”`}>
              <p>Search for part of the path.</p>
            </Empty>
          ) : (
            <Empty title="No OUs yet">
              <p>
                OUs arrange users like folders (/Sales/EMEA); deploy apps and policies to an OU and it covers everyone below it.{' '}
                {manage ? 'Add one above by its path, or sync a directory.' : ''}
              </p>
            </Empty>
          ))}
        {list.length > 0 && (
          <ul className={`tree${ous.loading ? ' stale' : ''}`} aria-label="OUs">
            {list.map((o) => {
              const depth = o.path.split('/').length - 2;
              return (
                <li key={o.id} className={`depth-${Math.min(depth, 6)}`}>
                  <span>{o.path.split('/').pop()}</span> <span className="muted small-text">{o.path}</span>
                  {manage && (
                    <Button variant="link" aria-label={`Delete OU ${o.path}`} onClick={() => setDeleting(o)}>
                      Delete
                    </Button>
                  )}
                </li>
              );
            })}
          </ul>
        )}
        <Pager {...ous} label="Pages of OUs" />
      </section>
      <section aria-labelledby="domains-h">
        <h2 id="domains-h">Domains</h2>
        <p className="hint">Users' email domains are added automatically; deploy an app to a domain to cover all its users.</p>
        {manage && (
          <AddForm
            label="New domain"
            placeholder="example.com"
            check={(v) => (DOMAIN.test(v) ? undefined : 'Write a domain name like example.com.')}
            submit={async (name) => {
              await api('POST', tp('/domains'), { name });
              notify(`Added ${name}.`);
              domains.reload();
            }}
          />
        )}
        <div className="toolbar" role="search">
          <TextField label="Search domains" type="search" value={domainFilter} onValue={setDomainFilter} />
        </div>
        {domains.loading && !domains.data && <Loading />}
        {domains.error && <ErrorBox error={domains.error} onRetry={domains.reload} />}
        {domains.data &&
          (domains.data.items.length === 0 ? (
            <Empty title={domainSearch ? `No domain matches “${domainSearch}”` : 'No domains yet'}>
              {!domainSearch && <p>They are added with users' email addresses{manage ? ', or add one above' : ''}.</p>}
            </Empty>
          ) : (
            <ul className="chips" aria-label="Domains">
              {domains.data.items.map((d) => (
                <li key={d.name} className="chip">
                  {d.name}
                </li>
              ))}
            </ul>
          ))}
        <Pager {...domains} label="Pages of domains" />
      </section>
      {deleting && (
        <ConfirmDialog
          title={`Delete the OU ${deleting.path}?`}
          confirmLabel="Delete OU"
          onClose={() => setDeleting(undefined)}
          onConfirm={async () => {
            await api('DELETE', tp(`/ous/${enc(deleting.id)}`));
            notify(`Deleted ${deleting.path}.`);
            ous.reload();
          }}
        >
          <p>Applications and policies deployed to it no longer cover its users. Gatehouse refuses if users or other OUs are still in it.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
