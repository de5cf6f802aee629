// Directory sync (docs/directory-sync.md): LDAP / Active Directory directories listed with
// their last sync; one directory's settings (superadmins change them) with "Test connection",
// and "Sync now" (incremental or full) with live progress, counts and errors.
import { useEffect, useMemo, useState } from 'react';
import { api, ApiError, enc, qs, type Page } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can } from '../roles.ts';
import { Link, navigate } from '../router.tsx';
import type { AttributeMap, Directory, DirectoryKind, DirectorySettings, KindDefaults, SyncRun, SyncStatus, TestReport } from '../types.ts';
import {
  Badge,
  Banner,
  Button,
  CheckboxField,
  ConfirmDialog,
  Empty,
  ErrorBox,
  FormError,
  Loading,
  notify,
  PageTitle,
  Pager,
  SelectField,
  TextAreaField,
  TextField,
  formatTime,
  useAsync,
  useCursorPages,
  useInterval,
} from '../ui.tsx';

type Defaults = Record<DirectoryKind, KindDefaults>;
type DirectoryList = Page<Directory> & { defaults: Defaults };

export const KIND_LABEL: Record<DirectoryKind, string> = { ad: 'Active Directory', openldap: 'OpenLDAP (or another LDAPv3 server)' };
const KIND_SHORT: Record<DirectoryKind, string> = { ad: 'Active Directory', openldap: 'OpenLDAP' };
/** A directory that is down, as its badge on the list says it (the message beside says why and what to do). */
export const PROBLEM: Record<NonNullable<Directory['problem']>['kind'], string> = { no_connector: 'down: no connector', sync_failed: 'down: last sync failed' };

/** One sync's outcome as a badge. */
export function RunBadge({ run }: { run: SyncRun | null }) {
  if (!run) return <Badge>never synced</Badge>;
  if (run.status === 'running') return <Badge tone="warn">running</Badge>;
  if (run.status === 'failed') return <Badge tone="error">failed</Badge>;
  return (
    <Badge tone={run.errorCount ? 'warn' : 'ok'}>{run.errorCount ? `synced, ${run.errorCount} problem${run.errorCount === 1 ? '' : 's'}` : 'synced'}</Badge>
  );
}

export function DirectoriesPage() {
  const { me } = useSession();
  const tp = useTenantPath();
  const list = useCursorPages((cursor, signal) => api<DirectoryList>('GET', tp(`/directories${qs({ cursor, limit: 50 })}`), undefined, { signal }), [tp('')]);
  const manage = can.manageDirectories(me);
  const items = list.data?.items ?? [];
  return (
    <>
      <PageTitle actions={manage ? <Button onClick={() => navigate('/directories/new')}>Add directory</Button> : undefined}>
        LDAP and Active Directory
      </PageTitle>
      <p className="hint">
        Gatehouse reads users, groups and OUs from these directories (a full sync and incremental syncs, on a schedule and on demand); their users sign in with
        their directory password. A directory Gatehouse cannot reach is reached through <Link to="/connectors">connectors</Link>.
      </p>
      {list.loading && !list.data && <Loading label="Loading directories…" />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      {list.data && items.length === 0 && (
        <Empty title="No directories yet">
          {manage ? (
            <p>
              Choose <strong>Add directory</strong> to sync users and groups from Active Directory or OpenLDAP. If Gatehouse cannot open a connection to it,{' '}
              <Link to="/connectors">set up a connector</Link> first.
            </p>
          ) : (
            <p>Ask a superadministrator to add one.</p>
          )}
        </Empty>
      )}
      {items.length > 0 && (
        <div className="table-wrap" role="region" aria-label="Directories" tabIndex={0}>
          <table>
            <caption className="visually-hidden">Directories</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Reached</th>
                <th scope="col">Last sync</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.id}>
                  <th scope="row">
                    <Link to={`/directories/${enc(d.id)}`}>{d.name}</Link>
                    <br />
                    <span className="muted small-text">{d.settings.urls.join(', ')}</span>
                    {d.problem && <p className="field-error small-text">{d.problem.message}</p>}
                  </th>
                  <td>{KIND_SHORT[d.settings.kind]}</td>
                  <td>{d.settings.via === 'direct' ? 'directly' : 'through connectors'}</td>
                  <td>
                    <RunBadge run={d.lastRun} />
                    {d.lastRun?.finishedAt && <span className="muted small-text"> {formatTime(d.lastRun.finishedAt)}</span>}
                  </td>
                  <td>{!d.enabled ? <Badge>off</Badge> : d.problem ? <Badge tone="error">{PROBLEM[d.problem.kind]}</Badge> : <Badge tone="ok">on</Badge>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager {...list} />
    </>
  );
}

// ---------- the form ----------

type TextAttr = Exclude<keyof AttributeMap, 'changeMarker'>;
const ATTRIBUTES: Array<{ key: TextAttr; label: string; help: string; optional?: boolean }> = [
  { key: 'externalId', label: 'External ID', help: 'stable ID users and groups are linked by; survives renames and moves' },
  { key: 'username', label: 'Username', help: 'the sign-in name in the directory, shown to administrators' },
  { key: 'email', label: 'Email', help: 'what people sign in with' },
  { key: 'emailFallback', label: 'Email fallback', help: 'used when Email is empty', optional: true },
  { key: 'givenName', label: 'Given name', help: '' },
  { key: 'familyName', label: 'Family name', help: '' },
  { key: 'memberOf', label: 'Member of (on users)', help: 'the groups a user belongs to', optional: true },
  { key: 'member', label: 'Members (on groups)', help: "the members' DNs" },
  { key: 'groupName', label: 'Group name', help: '' },
];
const ATTR = /^[A-Za-z][A-Za-z0-9-]{0,99}$/;

interface Form {
  name: string;
  enabled: boolean;
  kind: DirectoryKind;
  via: 'direct' | 'connector';
  urls: string;
  security: 'tls' | 'plain';
  caCertificate: string;
  bindDn: string;
  bindPassword: string;
  baseDns: string;
  userFilter: string;
  groupFilter: string;
  attributes: Record<TextAttr, string>;
  changeMarker: '' | AttributeMap['changeMarker'];
  syncIntervalMinutes: string;
  fullSyncHours: string;
  pageSize: string;
  timeoutSeconds: string;
}

const lines = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
const blankIfDefault = (v: string | null, d: string | null) => (v === d ? '' : (v ?? ''));

function toForm(d: Directory | undefined, defaults: Defaults): Form {
  const s = d?.settings;
  const kind = s?.kind ?? 'ad';
  const def = defaults[kind];
  const attributes = Object.fromEntries(ATTRIBUTES.map((a) => [a.key, s ? blankIfDefault(s.attributes[a.key], def.attributes[a.key]) : ''])) as Record<
    TextAttr,
    string
  >;
  return {
    name: d?.name ?? '',
    enabled: d?.enabled ?? true,
    kind,
    via: s?.via ?? 'direct',
    urls: (s?.urls ?? []).join('\n'),
    security: s && !s.startTls && s.allowPlain ? 'plain' : 'tls',
    caCertificate: s?.caCertificate ?? '',
    bindDn: s?.bindDn ?? '',
    bindPassword: '',
    baseDns: (s?.baseDns ?? []).join('\n'),
    userFilter: s ? blankIfDefault(s.userFilter, def.userFilter) : '',
    groupFilter: s ? blankIfDefault(s.groupFilter, def.groupFilter) : '',
    attributes,
    changeMarker: s && s.attributes.changeMarker !== def.attributes.changeMarker ? s.attributes.changeMarker : '',
    syncIntervalMinutes: String(s?.syncIntervalMinutes ?? 15),
    fullSyncHours: String(s?.fullSyncHours ?? 24),
    pageSize: String(s?.pageSize ?? 500),
    timeoutSeconds: String(s?.timeoutSeconds ?? 10),
  };
}

/** The settings to send: empty fields are the chosen kind's defaults. */
function toSettings(f: Form, defaults: Defaults): DirectorySettings {
  const def = defaults[f.kind];
  const attributes = { ...def.attributes };
  for (const a of ATTRIBUTES) if (f.attributes[a.key].trim()) (attributes as Record<string, string | null>)[a.key] = f.attributes[a.key].trim();
  if (f.changeMarker) attributes.changeMarker = f.changeMarker;
  return {
    kind: f.kind,
    via: f.via,
    urls: lines(f.urls),
    startTls: f.security === 'tls',
    allowPlain: f.security === 'plain',
    caCertificate: f.caCertificate.trim() || null,
    bindDn: f.bindDn.trim(),
    baseDns: lines(f.baseDns),
    userFilter: f.userFilter.trim() || def.userFilter,
    groupFilter: f.groupFilter.trim() || def.groupFilter,
    attributes,
    syncIntervalMinutes: Number(f.syncIntervalMinutes),
    fullSyncHours: Number(f.fullSyncHours),
    pageSize: Number(f.pageSize),
    timeoutSeconds: Number(f.timeoutSeconds),
  };
}

function ldapUrlProblem(u: string): string | undefined {
  try {
    const x = new URL(u);
    if ((x.protocol === 'ldap:' || x.protocol === 'ldaps:') && x.hostname && (x.pathname === '' || x.pathname === '/') && !x.search) return undefined;
  } catch {
    /* below */
  }
  return `“${u}” is not an LDAP address: write ldaps://host:636 or ldap://host:389 (host and port only).`;
}
const balanced = (f: string) => {
  if (!f.startsWith('(') || !f.endsWith(')')) return false;
  let depth = 0;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '\\') {
      i++;
      continue;
    }
    if (f[i] === '(') depth++;
    if (f[i] === ')' && --depth < 0) return false;
  }
  return depth === 0;
};
const dnProblem = (v: string, what: string) => (v.length >= 3 && v.includes('=') ? undefined : `${what} must be a distinguished name like DC=example,DC=com.`);
const intProblem = (v: string, min: number, max: number, unit: string) => {
  const n = Number(v);
  return v.trim() !== '' && Number.isInteger(n) && n >= min && n <= max ? undefined : `A whole number of ${unit} from ${min} to ${max}.`;
};

/** Field-level messages, as the administrator types (the server checks the same again). */
function validate(f: Form, isNew: boolean, forTest = false): Record<string, string> {
  const e: Record<string, string> = {};
  if (!forTest && !f.name.trim()) e.name = 'Give the directory a name (administrators see it).';
  const urls = lines(f.urls);
  if (urls.length === 0) e.urls = "Add the directory's address, like ldaps://dc1.example.com:636 (one per line; tried in order).";
  else if (urls.length > 10) e.urls = 'At most 10 addresses.';
  else {
    const p = urls.map(ldapUrlProblem).find(Boolean);
    if (p) e.urls = p;
  }
  if (f.caCertificate.trim() && !f.caCertificate.includes('-----BEGIN CERTIFICATE-----'))
    e.caCertificate = 'Paste the certificate in PEM form: it starts with -----BEGIN CERTIFICATE-----.';
  const bind = dnProblem(f.bindDn.trim(), 'The bind DN');
  if (bind) e.bindDn = bind;
  if (isNew && !f.bindPassword) e.bindPassword = "Enter the service account's password: Gatehouse binds with it to read the directory.";
  const bases = lines(f.baseDns);
  if (bases.length === 0) e.baseDns = 'Add at least one base DN: where users and groups are searched, like OU=Staff,DC=example,DC=com.';
  else {
    const p = bases.map((b) => dnProblem(b, `“${b}”`)).find(Boolean);
    if (p) e.baseDns = p;
  }
  for (const k of ['userFilter', 'groupFilter'] as const)
    if (f[k].trim() && !balanced(f[k].trim())) e[k] = 'An LDAP filter in balanced parentheses, like (objectClass=user).';
  for (const a of ATTRIBUTES) {
    const v = f.attributes[a.key].trim();
    if (v && !ATTR.test(v)) e[`attributes.${a.key}`] = 'An LDAP attribute name: letters, digits and hyphens, starting with a letter.';
  }
  const checks: Array<[keyof Form, string | undefined]> = [
    ['syncIntervalMinutes', intProblem(f.syncIntervalMinutes, 0, 1440, 'minutes')],
    ['fullSyncHours', intProblem(f.fullSyncHours, 1, 168, 'hours')],
    ['pageSize', intProblem(f.pageSize, 10, 5000, 'entries')],
    ['timeoutSeconds', intProblem(f.timeoutSeconds, 1, 120, 'seconds')],
  ];
  for (const [k, p] of checks) if (p) e[k] = p;
  return e;
}

/** Fields the form shows the server's messages beside (else its whole message is shown). */
const SHOWN = [
  'name',
  'bindPassword',
  'urls',
  'caCertificate',
  'bindDn',
  'baseDns',
  'userFilter',
  'groupFilter',
  'attributes',
  'syncIntervalMinutes',
  'fullSyncHours',
  'pageSize',
  'timeoutSeconds',
  'startTls',
  'allowPlain',
];
const allShown = (e: ApiError) => e.problems.length > 0 && e.problems.every((p) => SHOWN.includes(p.field.replace(/^settings\./, '').split('.')[0]!));

export function DirectoryPage({ id }: { id?: string }) {
  const tp = useTenantPath();
  // The list answers each kind's defaults; one item is enough.
  const defaults = useAsync((signal) => api<DirectoryList>('GET', tp('/directories?limit=1'), undefined, { signal }).then((l) => l.defaults), []);
  const dir = useAsync((signal) => (id ? api<Directory>('GET', tp(`/directories/${enc(id)}`), undefined, { signal }) : Promise.resolve(undefined)), [id]);
  const title = id ? 'Directory' : 'Add a directory';
  if ((id && dir.loading && !dir.data) || (defaults.loading && !defaults.data))
    return (
      <>
        <PageTitle>{title}</PageTitle>
        <Loading />
      </>
    );
  const error = dir.error ?? defaults.error;
  if (error || !defaults.data)
    return (
      <>
        <PageTitle>{title}</PageTitle>
        <ErrorBox
          error={error ?? new Error('Unknown')}
          onRetry={() => {
            dir.reload();
            defaults.reload();
          }}
        />
        <p>
          <Link to="/directories">Back to the directories</Link>
        </p>
      </>
    );
  return (
    <DirectoryForm
      key={dir.data ? `${dir.data.id}:${dir.data.version}` : 'new'}
      dir={dir.data}
      defaults={defaults.data}
      onSaved={dir.setData}
      reload={dir.reload}
    />
  );
}

function DirectoryForm({ dir, defaults, onSaved, reload }: { dir?: Directory; defaults: Defaults; onSaved: (d: Directory) => void; reload: () => void }) {
  const { me } = useSession();
  const tp = useTenantPath();
  const manage = can.manageDirectories(me);
  const initial = useMemo(() => toForm(dir, defaults), [dir, defaults]);
  const [f, setF] = useState<Form>(initial);
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState<'save' | 'test'>();
  const [error, setError] = useState<Error>();
  const [test, setTest] = useState<{ report?: TestReport; error?: Error }>();
  const [deleting, setDeleting] = useState(false);
  const errors = useMemo(() => validate(f, !dir), [f, dir]);
  const dirty = JSON.stringify(f) !== JSON.stringify(initial);
  const def = defaults[f.kind];
  const apiError = error instanceof ApiError ? error : test?.error instanceof ApiError ? test.error : undefined;
  const show = (k: string) => (submitted || touched[k] ? errors[k] : undefined) ?? apiError?.forField(k) ?? apiError?.forField(`settings.${k}`);
  const set =
    <K extends keyof Form>(k: K) =>
    (v: Form[K]) => {
      setF((x) => ({ ...x, [k]: v }));
      setTouched((t) => ({ ...t, [k]: true }));
    };
  const setAttr = (k: TextAttr) => (v: string) => {
    setF((x) => ({ ...x, attributes: { ...x.attributes, [k]: v } }));
    setTouched((t) => ({ ...t, [`attributes.${k}`]: true }));
  };
  const blur = (k: string) => () => setTouched((t) => ({ ...t, [k]: true }));
  useEffect(() => {
    document.querySelector<HTMLElement>('.field.invalid input, .field.invalid textarea, .field.invalid select')?.focus();
  }, [submitted]);

  const save = async () => {
    setSubmitted(true);
    if (Object.keys(errors).length) {
      setError(new Error('Some fields need attention: see the messages next to them.'));
      return;
    }
    setBusy('save');
    setError(undefined);
    try {
      const body = { name: f.name.trim(), enabled: f.enabled, settings: toSettings(f, defaults), ...(f.bindPassword && { bindPassword: f.bindPassword }) };
      if (dir) {
        const updated = await api<Directory>('PATCH', tp(`/directories/${enc(dir.id)}`), { ...body, version: dir.version });
        notify(`Saved ${updated.name}.`);
        onSaved(updated);
      } else {
        const created = await api<Directory>('POST', tp('/directories'), body);
        notify(`Added ${created.name}. Sync it to read its users and groups.`);
        navigate(`/directories/${enc(created.id)}`, { replace: true });
      }
    } catch (e) {
      setError(e as Error);
      setBusy(undefined);
      return;
    }
    setBusy(undefined);
  };

  const runTest = async () => {
    // Only the connection settings need to be right to test them.
    const problems = manage && (!dir || dirty) ? Object.keys(validate(f, !dir, true)) : [];
    if (problems.length) {
      setSubmitted(true);
      setTest({ error: new Error('Some fields need attention before the settings can be tested: see the messages next to them.') });
      return;
    }
    setBusy('test');
    setTest(undefined);
    try {
      const changes = { settings: toSettings(f, defaults), ...(f.bindPassword && { bindPassword: f.bindPassword }) };
      const report = dir
        ? await api<TestReport>('POST', tp(`/directories/${enc(dir.id)}/test`), manage && dirty ? changes : {})
        : await api<TestReport>('POST', tp('/directories/test'), changes);
      setTest({ report });
    } catch (e) {
      setTest({ error: e as Error });
    }
    setBusy(undefined);
  };

  const conflict = error instanceof ApiError && error.code === 'version_conflict';

  return (
    <>
      <p className="breadcrumb">
        <Link to="/directories">LDAP and Active Directory</Link> ›
      </p>
      <PageTitle
        actions={
          dir && (
            <>
              <RunBadge run={dir.lastRun} /> {dir.enabled ? <Badge tone="ok">on</Badge> : <Badge>off</Badge>}
            </>
          )
        }
      >
        {dir ? dir.name : 'Add a directory'}
      </PageTitle>
      {/* A failed sync shows in the sync panel just below; no connector to reach it shows here. */}
      {dir?.problem?.kind === 'no_connector' && (
        <Banner level="error">
          <p>
            {dir.problem.message} <Link to="/connectors">Connectors</Link>
          </p>
        </Banner>
      )}
      {dir && <SyncPanel dir={dir} onFinished={reload} />}
      {!manage && (
        <p className="hint">
          Only a superadministrator changes a directory's settings. {can.syncDirectories(me) ? 'You can test its connection and sync it.' : ''}
        </p>
      )}
      <form
        className="form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <fieldset disabled={!manage}>
          <section aria-labelledby="dir-h">
            <h2 id="dir-h">Directory</h2>
            <TextField
              label="Name"
              value={f.name}
              onValue={set('name')}
              onBlur={blur('name')}
              error={show('name')}
              maxLength={100}
              hint="Administrators see it, like Corp AD."
            />
            <fieldset>
              <legend>Kind of directory</legend>
              {(['ad', 'openldap'] as DirectoryKind[]).map((k) => (
                <div className="field radio" key={k}>
                  <input type="radio" id={`kind-${k}`} name="kind" checked={f.kind === k} onChange={() => set('kind')(k)} />
                  <label htmlFor={`kind-${k}`}>{KIND_LABEL[k]}</label>
                </div>
              ))}
              <p className="hint">Chooses the default filters and attribute mapping below.</p>
            </fieldset>
            <CheckboxField
              label="On"
              checked={f.enabled}
              onChecked={set('enabled')}
              hint="Off: no scheduled syncs, and its users cannot sign in until it is on again."
            />
          </section>

          <section aria-labelledby="conn-h">
            <h2 id="conn-h">Connection</h2>
            <fieldset>
              <legend>Gatehouse reaches the directory</legend>
              <div className="field radio">
                <input type="radio" id="via-direct" name="via" checked={f.via === 'direct'} onChange={() => set('via')('direct')} />
                <label htmlFor="via-direct">Directly (it can open a connection to the directory)</label>
              </div>
              <div className="field radio">
                <input type="radio" id="via-connector" name="via" checked={f.via === 'connector'} onChange={() => set('via')('connector')} />
                <label htmlFor="via-connector">Through connectors in the directory's network</label>
              </div>
              {f.via === 'connector' && (
                <p className="hint">
                  Set them up on the <Link to="/connectors">Connectors</Link> page; they connect out to Gatehouse, so the private network needs no inbound port.
                </p>
              )}
            </fieldset>
            <TextAreaField
              label="Directory URLs"
              value={f.urls}
              onValue={set('urls')}
              onBlur={blur('urls')}
              error={show('urls')}
              rows={2}
              hint="One per line, tried in order (several domain controllers): ldaps://dc1.example.com:636 or ldap://dc1.example.com:389."
            />
            <SelectField
              label="Connection security"
              value={f.security}
              onValue={(v) => set('security')(v as Form['security'])}
              error={show('startTls') ?? show('allowPlain')}
              options={[
                { value: 'tls', label: 'Encrypted: ldaps://, or StartTLS on ldap:// URLs (recommended)' },
                { value: 'plain', label: 'Not encrypted: ldap:// without StartTLS' },
              ]}
            />
            {f.security === 'plain' && (
              <Banner level="warn">
                <p>
                  Without encryption the service account's password and every user's password cross the network in the clear. Use this only on a network you
                  trust.
                </p>
              </Banner>
            )}
            <TextAreaField
              label="CA certificate (optional)"
              value={f.caCertificate}
              onValue={set('caCertificate')}
              onBlur={blur('caCertificate')}
              error={show('caCertificate')}
              rows={3}
              hint="The PEM certificate of the authority that signed the directory's certificate, when it is not publicly trusted (an internal CA)."
            />
            <TextField
              label="Timeout (seconds)"
              type="number"
              inputMode="numeric"
              value={f.timeoutSeconds}
              onValue={set('timeoutSeconds')}
              error={show('timeoutSeconds')}
              hint="For connecting and for each operation. Default 10."
            />
          </section>

          <section aria-labelledby="bind-h">
            <h2 id="bind-h">Service account</h2>
            <TextField
              label="Bind DN"
              value={f.bindDn}
              onValue={set('bindDn')}
              onBlur={blur('bindDn')}
              error={show('bindDn')}
              autoComplete="off"
              placeholder={f.kind === 'ad' ? 'CN=svc-gatehouse,CN=Users,DC=example,DC=com' : 'cn=gatehouse,ou=Services,dc=example,dc=com'}
              hint="The account Gatehouse reads the directory as: read access is enough."
            />
            <TextField
              label="Bind password"
              type="password"
              value={f.bindPassword}
              onValue={set('bindPassword')}
              onBlur={blur('bindPassword')}
              error={show('bindPassword')}
              autoComplete="new-password"
              placeholder={dir?.hasBindPassword ? 'saved: leave empty to keep it' : undefined}
              hint={dir?.hasBindPassword ? 'Saved and never shown again. Type a new one to replace it.' : 'Kept encrypted and never shown again.'}
            />
          </section>

          <section aria-labelledby="what-h">
            <h2 id="what-h">What to sync</h2>
            <TextAreaField
              label="Base DNs"
              value={f.baseDns}
              onValue={set('baseDns')}
              onBlur={blur('baseDns')}
              error={show('baseDns')}
              rows={2}
              hint="One per line: where users and groups are searched (with everything below), like OU=Staff,DC=example,DC=com."
            />
            <TextField
              label="User filter"
              value={f.userFilter}
              onValue={set('userFilter')}
              onBlur={blur('userFilter')}
              error={show('userFilter')}
              placeholder={def.userFilter}
              hint={
                <>
                  Empty: the default for {KIND_SHORT[f.kind]}, <code>{def.userFilter}</code>.
                </>
              }
            />
            <TextField
              label="Group filter"
              value={f.groupFilter}
              onValue={set('groupFilter')}
              onBlur={blur('groupFilter')}
              error={show('groupFilter')}
              placeholder={def.groupFilter}
              hint={
                <>
                  Empty: the default for {KIND_SHORT[f.kind]}, <code>{def.groupFilter}</code>.
                </>
              }
            />
          </section>

          <section aria-labelledby="map-h">
            <h2 id="map-h">Attribute mapping</h2>
            <p className="hint">Which directory attribute holds each thing Gatehouse keeps. Leave a field empty to use the default of the kind chosen above.</p>
            <div className="table-wrap" role="region" aria-label="Attribute mapping" tabIndex={0}>
              <table className="mapping">
                <caption className="visually-hidden">Attribute mapping</caption>
                <thead>
                  <tr>
                    <th scope="col">Gatehouse keeps</th>
                    <th scope="col">Attribute</th>
                    <th scope="col">Active Directory default</th>
                    <th scope="col">OpenLDAP default</th>
                  </tr>
                </thead>
                <tbody>
                  {ATTRIBUTES.map((a) => {
                    const err = show(`attributes.${a.key}`);
                    return (
                      <tr key={a.key}>
                        <th scope="row">
                          <label htmlFor={`attr-${a.key}`}>{a.label}</label>
                          {a.help && (
                            <span className="hint">
                              <br />
                              {a.help}
                            </span>
                          )}
                        </th>
                        <td>
                          <div className={err ? 'field invalid' : 'field'}>
                            <input
                              id={`attr-${a.key}`}
                              value={f.attributes[a.key]}
                              onChange={(e) => setAttr(a.key)(e.target.value)}
                              placeholder={def.attributes[a.key] ?? 'none'}
                              aria-invalid={err ? true : undefined}
                              aria-describedby={err ? `attr-${a.key}-error` : undefined}
                              autoComplete="off"
                            />
                            {err && (
                              <p className="field-error" id={`attr-${a.key}-error`}>
                                {err}
                              </p>
                            )}
                          </div>
                        </td>
                        <td>
                          <code>{defaults.ad.attributes[a.key] ?? '—'}</code>
                        </td>
                        <td>
                          <code>{defaults.openldap.attributes[a.key] ?? '—'}</code>
                        </td>
                      </tr>
                    );
                  })}
                  <tr>
                    <th scope="row">
                      <label htmlFor="attr-changeMarker">Change marker</label>
                      <span className="hint">
                        <br />
                        what incremental syncs read changes by
                      </span>
                    </th>
                    <td>
                      <div className="field">
                        <select id="attr-changeMarker" value={f.changeMarker} onChange={(e) => set('changeMarker')(e.target.value as Form['changeMarker'])}>
                          <option value="">default ({def.attributes.changeMarker})</option>
                          <option value="uSNChanged">uSNChanged</option>
                          <option value="modifyTimestamp">modifyTimestamp</option>
                        </select>
                      </div>
                    </td>
                    <td>
                      <code>{defaults.ad.attributes.changeMarker}</code>
                    </td>
                    <td>
                      <code>{defaults.openldap.attributes.changeMarker}</code>
                    </td>
                  </tr>
                </tbody>
              </table>
            </div>
          </section>

          <section aria-labelledby="sched-h">
            <h2 id="sched-h">Schedule</h2>
            <div className="inline-fields">
              <TextField
                label="Incremental sync every (minutes)"
                type="number"
                inputMode="numeric"
                value={f.syncIntervalMinutes}
                onValue={set('syncIntervalMinutes')}
                error={show('syncIntervalMinutes')}
                hint="Default 15; 0: only when you choose Sync now."
              />
              <TextField
                label="Full sync every (hours)"
                type="number"
                inputMode="numeric"
                value={f.fullSyncHours}
                onValue={set('fullSyncHours')}
                error={show('fullSyncHours')}
                hint="Default 24. Full syncs also find users deleted in the directory."
              />
              <TextField
                label="Page size"
                type="number"
                inputMode="numeric"
                value={f.pageSize}
                onValue={set('pageSize')}
                error={show('pageSize')}
                hint="Entries per paged search. Default 500."
              />
            </div>
          </section>
        </fieldset>

        {conflict ? (
          <Banner level="error">
            <p>{error!.message}</p>
            <p>
              <Button variant="secondary" onClick={reload}>
                Reload the directory
              </Button>{' '}
              (your changes here are lost)
            </p>
          </Banner>
        ) : (
          <FormError error={error instanceof ApiError && allShown(error) ? 'Some fields need attention: see the messages next to them.' : error} />
        )}
        <div className="actions">
          {manage && (
            <Button type="submit" busy={busy === 'save'} busyLabel="Saving…" disabled={!!busy}>
              {dir ? 'Save' : 'Add directory'}
            </Button>
          )}
          {(manage || (dir && can.syncDirectories(me))) && (
            <Button variant="secondary" busy={busy === 'test'} busyLabel="Testing…" disabled={!!busy} onClick={runTest}>
              Test connection
            </Button>
          )}
          <Button variant="secondary" onClick={() => navigate('/directories')}>
            {manage ? 'Cancel' : 'Back'}
          </Button>
          {dir && manage && (
            <Button variant="danger" className="push-right" onClick={() => setDeleting(true)}>
              Delete directory
            </Button>
          )}
        </div>
        {dir && dirty && manage && <p className="hint">Test connection tries the settings as they are here; syncs use the saved ones.</p>}
      </form>

      <div aria-live="polite">{test && <TestResult report={test.report} error={test.error} />}</div>

      {deleting && dir && (
        <ConfirmDialog
          title={`Delete ${dir.name}?`}
          confirmLabel="Delete directory"
          onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await api('DELETE', tp(`/directories/${enc(dir.id)}`));
            notify(`Deleted ${dir.name}.`);
            navigate('/directories');
          }}
        >
          <p>
            Gatehouse stops syncing it. Its users and groups stay, as local ones: they can no longer sign in with their directory password until they are given
            a Gatehouse password. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

function TestResult({ report, error }: { report?: TestReport; error?: Error }) {
  if (error) {
    const fields = error instanceof ApiError && allShown(error);
    return (
      <Banner level="error">
        <p>
          <strong>The test failed.</strong>
        </p>
        <p>{fields ? 'Some fields need attention: see the messages next to them.' : error.message}</p>
      </Banner>
    );
  }
  if (!report) return null;
  return (
    <section aria-labelledby="test-h">
      <Banner level={report.ok ? 'ok' : 'warn'}>
        <p id="test-h">
          <strong>{report.ok ? 'Connection works.' : 'Connected, but something is not right.'}</strong>
        </p>
        <p>{report.message}</p>
      </Banner>
      <div className="table-wrap" role="region" aria-label="What the filters found" tabIndex={0}>
        <table>
          <caption className="visually-hidden">What the filters found</caption>
          <thead>
            <tr>
              <th scope="col">Base DN</th>
              <th scope="col">Users</th>
              <th scope="col">Groups</th>
              <th scope="col">First users found</th>
            </tr>
          </thead>
          <tbody>
            {report.bases.map((b) => (
              <tr key={b.dn}>
                <th scope="row">
                  <code>{b.dn}</code>
                  {b.problem && <p className="field-error">{b.problem}</p>}
                </th>
                <td>{b.users >= 1000 ? 'at least 1000' : b.users}</td>
                <td>{b.groups >= 1000 ? 'at least 1000' : b.groups}</td>
                <td>
                  {b.sample.length ? (
                    <ul className="plain">
                      {b.sample.map((s) => (
                        <li key={s.dn}>
                          {s.email ?? <span className="muted">no email</span>} <span className="muted small-text">{s.dn}</span>
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <span className="muted">none</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

// ---------- sync ----------

const PHASE: Record<SyncRun['phase'], string> = {
  groups: 'reading groups',
  users: 'reading users',
  memberships: 'updating group memberships',
  cleanup: 'disabling users no longer in the directory',
  done: 'done',
};
const duration = (r: SyncRun) => (r.finishedAt ? `${Math.max(0, Math.round((r.finishedAt - r.startedAt) / 100) / 10)} s` : '—');

function Counts({ run }: { run: SyncRun }) {
  const u = run.users;
  return (
    <dl className="counts">
      <div>
        <dt>Users read</dt>
        <dd>{u.seen}</dd>
      </div>
      <div>
        <dt>New</dt>
        <dd>{u.created}</dd>
      </div>
      <div>
        <dt>Changed</dt>
        <dd>{u.updated}</dd>
      </div>
      <div>
        <dt>Unchanged</dt>
        <dd>{u.unchanged}</dd>
      </div>
      <div>
        <dt>Disabled</dt>
        <dd>{u.disabled}</dd>
      </div>
      <div>
        <dt>Skipped</dt>
        <dd>{u.skipped}</dd>
      </div>
      <div>
        <dt>Groups read</dt>
        <dd>{run.groups.seen}</dd>
      </div>
      <div>
        <dt>Groups new</dt>
        <dd>{run.groups.created}</dd>
      </div>
      <div>
        <dt>Memberships added</dt>
        <dd>{run.memberships.added}</dd>
      </div>
      <div>
        <dt>Memberships removed</dt>
        <dd>{run.memberships.removed}</dd>
      </div>
      <div>
        <dt>Problems</dt>
        <dd>{run.errorCount}</dd>
      </div>
    </dl>
  );
}

function RunErrors({ run }: { run: SyncRun }) {
  if (!run.errors.length) return null;
  return (
    <details>
      <summary>
        {run.errorCount} entr{run.errorCount === 1 ? 'y was' : 'ies were'} skipped or refused
        {run.errorCount > run.errors.length ? ` (the first ${run.errors.length} below)` : ''}
      </summary>
      <ul className="errors">
        {run.errors.map((e, i) => (
          <li key={i}>
            <code>{e.dn}</code>: {e.message}
          </li>
        ))}
      </ul>
    </details>
  );
}

function SyncPanel({ dir, onFinished }: { dir: Directory; onFinished: () => void }) {
  const { me } = useSession();
  const tp = useTenantPath();
  const path = tp(`/directories/${enc(dir.id)}/sync`);
  const status = useAsync((signal) => api<SyncStatus>('GET', path, undefined, { signal }), [path]);
  const [starting, setStarting] = useState<SyncRun['mode']>();
  const [error, setError] = useState<Error>();
  const running = status.data?.running ?? null;
  // Live progress: ask again every second while a sync runs.
  useInterval(
    () => {
      if (!status.loading) status.reload();
    },
    running || starting ? 1000 : null,
  );
  const [finished, setFinished] = useState<string>();
  const last = status.data?.runs.find((r) => r.status !== 'running');
  useEffect(() => {
    if (running || !finished || last?.id !== finished) return;
    notify(`${dir.name}: ${last.mode} sync ${last.status === 'succeeded' ? 'finished' : 'failed'}.`);
    setFinished(undefined);
    onFinished(); // the directory's last sync, shown at the top
  }, [running, finished, last, dir.name, onFinished]);

  const start = async (mode: SyncRun['mode']) => {
    setError(undefined);
    setStarting(mode);
    try {
      const run = await api<SyncRun>('POST', path, { mode });
      setFinished(run.id);
    } catch (e) {
      setError(e as Error);
    }
    status.reload();
    setStarting(undefined);
  };

  return (
    <section aria-labelledby="sync-h">
      <h2 id="sync-h">Sync</h2>
      <p className="hint">
        {dir.settings.syncIntervalMinutes
          ? `Incremental syncs run every ${dir.settings.syncIntervalMinutes} minutes and a full sync every ${dir.settings.fullSyncHours} hours${dir.enabled ? '' : ' while the directory is on'}.`
          : 'Syncs run only when you choose Sync now.'}{' '}
        Last sync {formatTime(status.data?.lastSyncAt ?? dir.lastSyncAt)}; last full sync {formatTime(status.data?.lastFullSyncAt ?? dir.lastFullSyncAt)}.
      </p>
      {can.syncDirectories(me) && (
        <div className="actions">
          <Button busy={starting === 'incremental'} busyLabel="Starting…" disabled={!!running || !!starting} onClick={() => void start('incremental')}>
            Sync now
          </Button>
          <Button variant="secondary" busy={starting === 'full'} busyLabel="Starting…" disabled={!!running || !!starting} onClick={() => void start('full')}>
            Full sync
          </Button>
          <span className="hint">
            Sync now reads what changed since the last sync; a full sync reads everything and disables users no longer in the directory.
          </span>
        </div>
      )}
      <FormError error={error} />
      {status.error && !status.data && <ErrorBox error={status.error} onRetry={status.reload} />}
      {status.loading && !status.data && <Loading label="Loading sync status…" />}
      <div role="status" aria-live="polite">
        {running && (
          <div className="sync-progress">
            <p>
              <span className="spinner" aria-hidden="true" />
              <strong>{running.mode === 'full' ? 'Full' : 'Incremental'} sync running</strong>: {PHASE[running.phase]}…
            </p>
            <progress aria-label="Sync progress" />
            <Counts run={running} />
          </div>
        )}
      </div>
      {!running && last && (
        <div className="sync-last" data-testid="last-sync">
          <h3>Last sync</h3>
          <p>
            <RunBadge run={last} /> {last.mode} sync, {last.trigger === 'admin' ? 'started by an administrator' : 'on schedule'}, {formatTime(last.startedAt)} (
            {duration(last)})
          </p>
          {last.message && <p className={last.status === 'failed' ? 'field-error' : undefined}>{last.message}</p>}
          <Counts run={last} />
          <RunErrors run={last} />
        </div>
      )}
      {status.data && status.data.runs.length === 0 && !running && (
        <Empty title="Not synced yet">
          <p>{can.syncDirectories(me) ? 'Choose Sync now to read its users and groups (the first sync is a full one).' : 'An administrator can sync it.'}</p>
        </Empty>
      )}
      {status.data && status.data.runs.length > 1 && (
        <>
          <h3>Recent syncs</h3>
          <div className="table-wrap" role="region" aria-label="Recent syncs" tabIndex={0}>
            <table>
              <caption className="visually-hidden">Recent syncs</caption>
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Result</th>
                  <th scope="col">Users read / new / changed / disabled</th>
                  <th scope="col">Problems</th>
                  <th scope="col">Took</th>
                </tr>
              </thead>
              <tbody>
                {status.data.runs.map((r) => (
                  <tr key={r.id}>
                    <th scope="row">{formatTime(r.startedAt)}</th>
                    <td>
                      {r.mode}, {r.trigger === 'admin' ? 'by hand' : 'scheduled'}
                    </td>
                    <td>
                      <RunBadge run={r} />
                    </td>
                    <td>
                      {r.users.seen} / {r.users.created} / {r.users.updated} / {r.users.disabled}
                    </td>
                    <td>{r.errorCount}</td>
                    <td>{duration(r)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
