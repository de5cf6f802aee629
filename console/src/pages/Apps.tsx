// Applications > Single sign-on application profiles: the list, Add App Profile, and the
// deployment dialog ("Deploy this application?") behind each Deployed / Not deployed button.
import { useState } from 'react';
import { api, enc, type Page } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can } from '../roles.ts';
import { Link, navigate } from '../router.tsx';
import { APP_TYPES, type AppType, type AppView, type Target, type TargetType } from '../types.ts';
import { personName, searchTargets } from '../targets.ts';
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
  useAsync,
  type Option,
} from '../ui.tsx';

function AddAppMenu() {
  const [open, setOpen] = useState(false);
  return (
    <div
      className="menu"
      onKeyDown={(e) => {
        if (e.key === 'Escape') setOpen(false);
      }}
      onBlur={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOpen(false);
      }}
    >
      <Button aria-expanded={open} aria-haspopup="true" aria-controls="add-app-menu" onClick={() => setOpen((o) => !o)}>
        Add App Profile ▾
      </Button>
      {open && (
        <ul id="add-app-menu" className="menu-list">
          {(Object.keys(APP_TYPES) as AppType[]).map((t) => (
            <li key={t}>
              <Link to={`/apps/new/${t}`} onClick={() => setOpen(false)}>
                {APP_TYPES[t].menu}
              </Link>
              <span className="hint">{APP_TYPES[t].help}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function AppsPage() {
  const { me } = useSession();
  const tp = useTenantPath();
  const apps = useAsync((signal) => api<Page<AppView>>('GET', tp('/apps'), undefined, { signal }), [tp('')]);
  const [deploying, setDeploying] = useState<AppView>();
  const configure = can.configureApps(me);

  return (
    <>
      <PageTitle
        actions={
          configure ? (
            <AddAppMenu />
          ) : (
            <Button disabled aria-describedby="apps-role-note">
              Add App Profile
            </Button>
          )
        }
      >
        Single sign-on application profiles
      </PageTitle>
      {!configure && (
        <p className="hint" id="apps-role-note">
          Only a superadministrator can add or configure application profiles. {can.deploy(me) ? 'You can deploy them to users and groups.' : ''}
        </p>
      )}
      {apps.loading && !apps.data && <Loading />}
      {apps.error && <ErrorBox error={apps.error} onRetry={apps.reload} />}
      {apps.data && apps.data.items.length === 0 && (
        <Empty title="No application profiles yet">
          {configure ? (
            <p>
              Choose <strong>Add App Profile</strong> › <strong>Web application using OpenID Connect</strong> to connect your first application.
            </p>
          ) : (
            <p>Ask a superadministrator to add one.</p>
          )}
        </Empty>
      )}
      {apps.data && apps.data.items.length > 0 && (
        <div className="table-wrap" role="region" aria-label="Application profiles" tabIndex={0}>
          <table>
            <caption className="visually-hidden">Application profiles</caption>
            <thead>
              <tr>
                <th scope="col">Profile name</th>
                <th scope="col">User-friendly name</th>
                <th scope="col">Type</th>
                <th scope="col">Deployment</th>
              </tr>
            </thead>
            <tbody>
              {apps.data.items.map((a) => (
                <tr key={a.clientId}>
                  <th scope="row">
                    {configure ? (
                      <Link to={`/apps/${enc(a.clientId)}`}>{a.name}</Link>
                    ) : (
                      <span title="Only a superadministrator can open the profile configuration">{a.name}</span>
                    )}
                  </th>
                  <td>{a.displayName}</td>
                  <td>
                    {APP_TYPES[a.type]?.label ?? a.type}
                    {a.certificateExpiresSoon && (
                      <>
                        {' '}
                        <Badge tone="warn">certificate expiring</Badge>
                      </>
                    )}
                  </td>
                  <td>
                    {can.deploy(me) ? (
                      <Button
                        variant={a.deployed ? 'secondary' : 'primary'}
                        className="small"
                        aria-label={`${a.deployed ? 'Deployed' : 'Not deployed'}: change who can use ${a.displayName}`}
                        onClick={() => setDeploying(a)}
                      >
                        {a.deployed ? 'Deployed' : 'Not deployed'}
                      </Button>
                    ) : (
                      <Badge tone={a.deployed ? 'ok' : 'neutral'}>{a.deployed ? 'Deployed' : 'Not deployed'}</Badge>
                    )}
                    {a.deployed && (
                      <span className="muted small-text">
                        {' '}
                        {a.deployment.all ? 'all users and groups' : a.deployment.targets.map((t) => t.label).join(', ')}
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {deploying && (
        <DeployDialog
          app={deploying}
          onClose={() => setDeploying(undefined)}
          onSaved={() => {
            setDeploying(undefined);
            apps.reload();
          }}
        />
      )}
    </>
  );
}

const TYPE_WORD: Record<TargetType, string> = { user: 'user', group: 'group', ou: 'OU', domain: 'domain' };

/** "Deploy this application?": all users and groups, or chosen domains, OUs, groups and users. */
export function DeployDialog({ app, onClose, onSaved }: { app: AppView; onClose: () => void; onSaved: () => void }) {
  const tp = useTenantPath();
  const [all, setAll] = useState(app.deployed ? app.deployment.all : true);
  const [targets, setTargets] = useState<Target[]>(app.deployment.targets);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | string>();
  const [undeploy, setUndeploy] = useState(false);
  // The first domains as checkboxes (most tenants have a few); all of them are found by the search.
  const domains = useAsync((signal) => api<Page<{ name: string }>>('GET', tp('/domains?limit=20'), undefined, { signal }), []);

  const has = (t: { type: TargetType; id: string }) => targets.some((x) => x.type === t.type && x.id === t.id);
  const add = (t: Target) => {
    if (!has(t)) setTargets((ts) => [...ts, t]);
    setError(undefined);
  };
  const remove = (t: Target) => setTargets((ts) => ts.filter((x) => !(x.type === t.type && x.id === t.id)));

  const search = async (q: string, signal: AbortSignal): Promise<Option<Target>[]> => {
    const found = await searchTargets(tp, q, signal, ['users', 'groups', 'ous', 'domains']);
    const out: Option<Target>[] = [
      ...found.users.map((u) => ({
        key: `user:${u.id}`,
        label: u.email,
        detail: `user${personName(u) ? ` · ${personName(u)}` : ''}`,
        value: { type: 'user' as const, id: u.id, label: u.email },
      })),
      ...found.groups.map((g) => ({ key: `group:${g.id}`, label: g.name, detail: 'group', value: { type: 'group' as const, id: g.id, label: g.name } })),
      ...found.ous.map((o) => ({ key: `ou:${o.id}`, label: o.path, detail: 'OU', value: { type: 'ou' as const, id: o.id, label: o.path } })),
      ...found.domains.map((d) => ({
        key: `domain:${d.name}`,
        label: d.name,
        detail: 'domain',
        value: { type: 'domain' as const, id: d.name, label: d.name },
      })),
    ];
    return out.filter((o) => !has(o.value));
  };

  const save = async () => {
    const chosen = all ? [] : targets;
    if (!all && chosen.length === 0) {
      setError('Choose at least one domain, OU, group or user, or deploy to all users and groups.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await api('PUT', tp(`/apps/${enc(app.clientId)}/deployment`), { all, targets: chosen.map((t) => ({ type: t.type, ref: t.id })), version: app.version });
      notify(`${app.displayName} is deployed to ${all ? 'all users and groups' : chosen.map((t) => t.label).join(', ')}.`);
      onSaved();
    } catch (e) {
      setError(e as Error);
      setBusy(false);
    }
  };

  if (undeploy) {
    return (
      <ConfirmDialog
        title={`Undeploy ${app.displayName}?`}
        confirmLabel="Undeploy"
        onClose={() => setUndeploy(false)}
        onConfirm={async () => {
          await api('DELETE', tp(`/apps/${enc(app.clientId)}/deployment`));
          notify(`${app.displayName} is not deployed any more.`);
          onSaved();
        }}
      >
        <p>
          Nobody will be able to sign in to <strong>{app.displayName}</strong> from their next sign-in on. Sessions already open in the app are not ended.
        </p>
      </ConfirmDialog>
    );
  }

  return (
    <Dialog title="Deploy this application?" onClose={onClose} wide>
      <p>
        Who may sign in to <strong>{app.displayName}</strong> ({app.name}).{' '}
        {app.deployed ? 'It is deployed now.' : 'It is not deployed: nobody can sign in to it yet.'}
      </p>
      <CheckboxField
        label="Deploy to all users and groups"
        checked={all}
        onChecked={(v) => {
          setAll(v);
          setError(undefined);
        }}
        hint="Uncheck to deploy to a pilot: chosen domains, OUs, groups and users only."
      />
      {!all && (
        <>
          <fieldset>
            <legend>Domains: all users in</legend>
            {domains.loading && <Loading label="Loading domains…" />}
            {domains.data?.items.length === 0 && <p className="hint">No domains yet: they are added with users' email addresses.</p>}
            {domains.data?.nextCursor && <p className="hint">More domains: find them below.</p>}
            {domains.data?.items.map((d) => (
              <CheckboxField
                key={d.name}
                label={d.name}
                checked={has({ type: 'domain', id: d.name })}
                onChecked={(v) => (v ? add({ type: 'domain', id: d.name, label: d.name }) : remove({ type: 'domain', id: d.name, label: d.name }))}
              />
            ))}
          </fieldset>
          <fieldset>
            <legend>These OUs, groups and users</legend>
            <Combobox<Target>
              label="Find OUs, groups and users"
              placeholder="Type a name, an email, an OU path or a domain"
              search={search}
              onSelect={(o) => add(o.value)}
              hint="Users are searched by email and name, groups by name, OUs by path, and domains; choose with the arrow keys and Enter."
            />
          </fieldset>
          <h3>Deployed to</h3>
          {targets.length === 0 ? (
            <p className="hint">Nobody chosen yet.</p>
          ) : (
            <ul className="chips" aria-label="Chosen targets">
              {targets.map((t) => (
                <li key={`${t.type}:${t.id}`} className="chip">
                  <span className="muted">{TYPE_WORD[t.type]}</span> {t.label}
                  <button type="button" className="link" aria-label={`Remove ${TYPE_WORD[t.type]} ${t.label}`} onClick={() => remove(t)}>
                    ×
                  </button>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      <FormError error={error} />
      <div className="actions">
        <Button busy={busy} busyLabel="Saving…" onClick={save}>
          Save
        </Button>
        <Button variant="secondary" onClick={onClose}>
          Cancel
        </Button>
        {app.deployed && (
          <Button variant="danger" className="push-right" onClick={() => setUndeploy(true)}>
            Undeploy
          </Button>
        )}
      </div>
    </Dialog>
  );
}

/** Used by the profile page: the deployment summary with its button. */
export function DeploymentSummary({ app, onChanged }: { app: AppView; onChanged: () => void }) {
  const { me } = useSession();
  const [open, setOpen] = useState(false);
  return (
    <section aria-labelledby="deployment-h">
      <h2 id="deployment-h">Deployment</h2>
      {app.deployed ? (
        <p>Deployed to {app.deployment.all ? 'all users and groups' : app.deployment.targets.map((t) => `${TYPE_WORD[t.type]} ${t.label}`).join(', ')}.</p>
      ) : (
        <Banner level="info">
          <p>Not deployed: nobody can sign in to this application yet.</p>
        </Banner>
      )}
      {can.deploy(me) && (
        <Button variant="secondary" onClick={() => setOpen(true)}>
          {app.deployed ? 'Deployed' : 'Not deployed'} — change
        </Button>
      )}
      {open && (
        <DeployDialog
          app={app}
          onClose={() => setOpen(false)}
          onSaved={() => {
            setOpen(false);
            onChanged();
          }}
        />
      )}
    </section>
  );
}

export const goToApps = () => navigate('/apps');
