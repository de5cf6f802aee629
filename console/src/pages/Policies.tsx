// User policies, in precedence order (the first matching policy by priority applies to a
// user); create, edit and delete. Settings as in docs/mfa.md.
import { useState } from 'react';
import { api, ApiError, enc, type Page } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can } from '../roles.ts';
import { Link, navigate } from '../router.tsx';
import type { AppView, Policy, PolicySettings } from '../types.ts';
import { searchTargets } from '../targets.ts';
import {
  Banner,
  Button,
  CheckboxField,
  Combobox,
  ConfirmDialog,
  Empty,
  ErrorBox,
  FormError,
  Loading,
  notify,
  PageTitle,
  SelectField,
  TextAreaField,
  TextField,
  useAsync,
  type Option,
} from '../ui.tsx';

type PTarget = { type: 'all' | 'user' | 'group' | 'ou' | 'domain'; id?: string; ref?: string; label: string };
type Settings = PolicySettings;

const MFA_LABEL: Record<Settings['mfa']['required'], string> = {
  never: 'Only when an app asks',
  always: 'Always',
  outside_trusted_networks: 'Outside trusted networks',
  selected_apps: 'For selected apps',
};
const DEFAULTS: Settings = {
  ssoEnabled: true,
  mfa: { required: 'never', trustedNetworks: [], apps: [] },
  allowedFactors: ['totp', 'webauthn', 'push'],
  numberMatching: true,
  passwordlessPasskeys: false,
  rememberDeviceDays: 0,
  sessionLifetimeMinutes: null,
  lockout: { threshold: 5, durationMinutes: 1, maxDurationMinutes: 60 },
};
const CIDR = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;

export function PoliciesPage() {
  const { me } = useSession();
  const tp = useTenantPath();
  const list = useAsync((signal) => api<Page<Policy> & { precedence?: string }>('GET', tp('/policies'), undefined, { signal }), [tp('')]);
  return (
    <>
      <PageTitle actions={can.managePolicies(me) && <Button onClick={() => navigate('/policies/new')}>Add policy</Button>}>User policies</PageTitle>
      <p className="hint">
        {list.data?.precedence ??
          'The first policy, by priority (1 first), whose targets match a user applies to them; users no policy matches get the defaults.'}
      </p>
      {list.loading && !list.data && <Loading />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      {list.data && list.data.items.length === 0 && (
        <Empty title="No user policies yet">
          <p>
            Everyone gets the defaults: single sign-on on, two-step verification when an app asks for it.{' '}
            {can.managePolicies(me) ? 'Choose Add policy to require it for some users.' : ''}
          </p>
        </Empty>
      )}
      {list.data && list.data.items.length > 0 && (
        <div className="table-wrap" role="region" aria-label="User policies" tabIndex={0}>
          <table>
            <caption className="visually-hidden">User policies in precedence order</caption>
            <thead>
              <tr>
                <th scope="col">Priority</th>
                <th scope="col">Name</th>
                <th scope="col">Applies to</th>
                <th scope="col">Single sign-on</th>
                <th scope="col">Two-step verification</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((p) => (
                <tr key={p.id}>
                  <td>{p.priority}</td>
                  <th scope="row">
                    <Link to={`/policies/${enc(p.id)}`}>{p.name}</Link>
                  </th>
                  <td>{p.targets.length ? p.targets.map((t) => t.label).join(', ') : <span className="muted">nobody yet</span>}</td>
                  <td>{p.settings.ssoEnabled ? 'On' : 'Off'}</td>
                  <td>{MFA_LABEL[p.settings.mfa.required]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export function PolicyPage({ id }: { id: string }) {
  const tp = useTenantPath();
  const existing = useAsync(
    (signal) => (id === 'new' ? Promise.resolve(undefined) : api<Policy>('GET', tp(`/policies/${enc(id)}`), undefined, { signal })),
    [id],
  );
  if (existing.loading && !existing.data && id !== 'new')
    return (
      <>
        <PageTitle>User policy</PageTitle>
        <Loading />
      </>
    );
  if (existing.error)
    return (
      <>
        <PageTitle>User policy</PageTitle>
        <ErrorBox error={existing.error} onRetry={existing.reload} />
      </>
    );
  return <PolicyForm key={existing.data?.version ?? 'new'} policy={existing.data} onSaved={existing.setData} reload={existing.reload} />;
}

function PolicyForm({ policy, onSaved, reload }: { policy?: Policy; onSaved: (p: Policy) => void; reload: () => void }) {
  const { me } = useSession();
  const tp = useTenantPath();
  const manage = can.managePolicies(me);
  const [name, setName] = useState(policy?.name ?? '');
  const [priority, setPriority] = useState(String(policy?.priority ?? 100));
  const [targets, setTargets] = useState<PTarget[]>(policy?.targets ?? []);
  const [s, setS] = useState<Settings>(policy?.settings ?? DEFAULTS);
  const [networks, setNetworks] = useState((policy?.settings.mfa.trustedNetworks ?? []).join('\n'));
  const [sessionMinutes, setSessionMinutes] = useState(policy?.settings.sessionLifetimeMinutes ? String(policy.settings.sessionLifetimeMinutes) : '');
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [deleting, setDeleting] = useState(false);
  const apps = useAsync((signal) => api<Page<AppView>>('GET', tp('/apps'), undefined, { signal }).catch(() => ({ items: [], nextCursor: null })), []);

  const e: Record<string, string> = {};
  if (!name.trim()) e.name = 'Give the policy a name.';
  const prio = Number(priority);
  if (!Number.isInteger(prio) || prio < 1 || prio > 10000) e.priority = 'A whole number from 1 (applies first) to 10000.';
  const nets = networks
    .split('\n')
    .map((n) => n.trim())
    .filter(Boolean);
  const badNet = nets.find((n) => !CIDR.test(n));
  if (badNet) e.trustedNetworks = `“${badNet}” is not a network; write it like 10.0.0.0/8 or 2001:db8::/32.`;
  if (s.mfa.required === 'outside_trusted_networks' && nets.length === 0) e.trustedNetworks = 'List at least one trusted network.';
  if (s.mfa.required === 'selected_apps' && s.mfa.apps.length === 0) e.apps = 'Choose at least one application.';
  if (s.allowedFactors.length === 0) e.allowedFactors = 'Allow at least one method.';
  if (s.passwordlessPasskeys && !s.allowedFactors.includes('webauthn'))
    e.passwordlessPasskeys = 'Passwordless sign-in uses passkeys: allow Passkey above, or turn this off.';
  const sm = sessionMinutes ? Number(sessionMinutes) : null;
  if (sm !== null && (!Number.isInteger(sm) || sm < 30 || sm > 5760))
    e.sessionLifetimeMinutes = "Between 30 and 5760 minutes (4 days), or empty for the organization's setting.";
  if (!Number.isInteger(s.rememberDeviceDays) || s.rememberDeviceDays < 0 || s.rememberDeviceDays > 90) e.rememberDeviceDays = 'From 0 (never) to 90 days.';
  if (!Number.isInteger(s.lockout.threshold) || s.lockout.threshold < 3 || s.lockout.threshold > 50) e.threshold = 'From 3 to 50 failed attempts.';
  if (!Number.isInteger(s.lockout.durationMinutes) || s.lockout.durationMinutes < 1 || s.lockout.durationMinutes > 1440)
    e.durationMinutes = 'From 1 to 1440 minutes.';
  const max = s.lockout.maxDurationMinutes;
  if (!Number.isInteger(max) || max < 1 || max > 1440) e.maxDurationMinutes = 'From 1 to 1440 minutes.';
  else if (max < s.lockout.durationMinutes) e.maxDurationMinutes = 'At least the first lockout.';
  const show = (k: string) =>
    (submitted ? e[k] : undefined) ?? (error instanceof ApiError ? (error.forField(k) ?? error.forField(`settings.${k}`)) : undefined);
  const mfa = (patch: Partial<Settings['mfa']>) => setS((x) => ({ ...x, mfa: { ...x.mfa, ...patch } }));

  const search = async (q: string, signal: AbortSignal): Promise<Option<PTarget>[]> => {
    const needle = q.toLowerCase();
    const found = await searchTargets(tp, q, signal, ['users', 'groups', 'ous', 'domains']);
    const all: Option<PTarget>[] = [
      { key: 'all', label: 'All users', detail: 'everyone', value: { type: 'all', label: 'all users' } },
      ...found.users.map((u) => ({ key: `u:${u.id}`, label: u.email, detail: 'user', value: { type: 'user' as const, ref: u.id, label: u.email } })),
      ...found.groups.map((g) => ({ key: `g:${g.id}`, label: g.name, detail: 'group', value: { type: 'group' as const, ref: g.id, label: g.name } })),
      ...found.ous.map((o) => ({ key: `o:${o.id}`, label: o.path, detail: 'OU', value: { type: 'ou' as const, ref: o.id, label: o.path } })),
      ...found.domains.map((d) => ({ key: `d:${d.name}`, label: d.name, detail: 'domain', value: { type: 'domain' as const, ref: d.name, label: d.name } })),
      // A domain typed in full is offered even before any user of it exists.
      ...(/^[a-z0-9.-]+\.[a-z]{2,}$/i.test(q) && !found.domains.some((d) => d.name === q.toLowerCase())
        ? [{ key: `d:${q}`, label: q, detail: 'domain', value: { type: 'domain' as const, ref: q.toLowerCase(), label: q.toLowerCase() } }]
        : []),
    ];
    return all.filter(
      (o) =>
        (o.key === 'all' ? !needle || 'all users'.includes(needle) : true) && !targets.some((t) => t.type === o.value.type && (t.ref ?? t.id) === o.value.ref),
    );
  };

  const save = async () => {
    setSubmitted(true);
    if (Object.keys(e).length) return;
    setBusy(true);
    setError(undefined);
    const settings: Settings = { ...s, mfa: { ...s.mfa, trustedNetworks: nets }, sessionLifetimeMinutes: sm };
    const body = {
      name: name.trim(),
      priority: prio,
      targets: targets.map((t) => (t.type === 'all' ? { type: 'all' } : { type: t.type, ref: t.ref ?? t.id })),
      settings,
    };
    try {
      if (policy) {
        const p = await api<Policy>('PATCH', tp(`/policies/${enc(policy.id)}`), { ...body, version: policy.version });
        notify(`Saved ${p.name}.`);
        onSaved(p);
      } else {
        const p = await api<Policy>('POST', tp('/policies'), body);
        notify(`Added ${p.name}.`);
        navigate(`/policies/${enc(p.id)}`, { replace: true });
      }
    } catch (x) {
      setError(x as Error);
      setBusy(false);
    }
  };
  const conflict = error instanceof ApiError && error.code === 'version_conflict';

  return (
    <>
      <p className="breadcrumb">
        <Link to="/policies">User policies</Link> ›
      </p>
      <PageTitle>{policy ? policy.name : 'Add a user policy'}</PageTitle>
      <form
        className="form"
        noValidate
        onSubmit={(ev) => {
          ev.preventDefault();
          void save();
        }}
      >
        <fieldset disabled={!manage}>
          <section aria-labelledby="p-names">
            <h2 id="p-names">Policy</h2>
            <TextField label="Name" value={name} onValue={setName} error={show('name')} maxLength={100} />
            <TextField
              label="Priority"
              type="number"
              inputMode="numeric"
              value={priority}
              onValue={setPriority}
              error={show('priority')}
              hint="1 applies first: the first matching policy wins."
            />
          </section>
          <section aria-labelledby="p-targets">
            <h2 id="p-targets">Applies to</h2>
            {targets.length === 0 ? (
              <p className="hint">Nobody yet: add users, groups, OUs, domains or all users.</p>
            ) : (
              <ul className="chips" aria-label="Policy targets">
                {targets.map((t, i) => (
                  <li key={i} className="chip">
                    <span className="muted">{t.type === 'all' ? '' : t.type}</span> {t.label}
                    <button type="button" className="link" aria-label={`Remove ${t.label}`} onClick={() => setTargets((ts) => ts.filter((_, j) => j !== i))}>
                      ×
                    </button>
                  </li>
                ))}
              </ul>
            )}
            <Combobox<PTarget>
              label="Add users, groups, OUs or a domain"
              placeholder="Type a name, an email or a domain"
              search={search}
              onSelect={(o) => setTargets((ts) => [...ts, o.value])}
            />
          </section>
          <section aria-labelledby="p-settings">
            <h2 id="p-settings">Settings</h2>
            <CheckboxField
              label="Single sign-on enabled"
              checked={s.ssoEnabled}
              onChecked={(v) => setS((x) => ({ ...x, ssoEnabled: v }))}
              hint="Off: these users cannot sign in to any application."
            />
            <SelectField
              label="Require two-step verification"
              value={s.mfa.required}
              onValue={(v) => mfa({ required: v as Settings['mfa']['required'] })}
              options={Object.entries(MFA_LABEL).map(([value, label]) => ({ value, label }))}
            />
            {s.mfa.required === 'outside_trusted_networks' && (
              <TextAreaField
                label="Trusted networks"
                value={networks}
                onValue={setNetworks}
                error={show('trustedNetworks')}
                rows={3}
                hint="One per line, like 10.0.0.0/8."
              />
            )}
            {s.mfa.required === 'selected_apps' && (
              <fieldset>
                <legend>Applications that require it</legend>
                {(apps.data?.items ?? []).map((a) => (
                  <CheckboxField
                    key={a.clientId}
                    label={a.displayName}
                    checked={s.mfa.apps.includes(a.clientId)}
                    onChecked={(on) => mfa({ apps: on ? [...s.mfa.apps, a.clientId] : s.mfa.apps.filter((c) => c !== a.clientId) })}
                  />
                ))}
                {show('apps') && <p className="field-error">{show('apps')}</p>}
              </fieldset>
            )}
            <fieldset>
              <legend>Methods allowed</legend>
              {(
                [
                  ['totp', 'Authenticator app'],
                  ['webauthn', 'Passkey'],
                  ['push', 'Push approval'],
                ] as const
              ).map(([k, label]) => (
                <CheckboxField
                  key={k}
                  label={label}
                  checked={s.allowedFactors.includes(k)}
                  onChecked={(on) => setS((x) => ({ ...x, allowedFactors: on ? [...x.allowedFactors, k] : x.allowedFactors.filter((f) => f !== k) }))}
                />
              ))}
              {show('allowedFactors') && <p className="field-error">{show('allowedFactors')}</p>}
            </fieldset>
            <CheckboxField
              label="Passkeys sign in without a password"
              checked={s.passwordlessPasskeys}
              onChecked={(v) => setS((x) => ({ ...x, passwordlessPasskeys: v }))}
              hint="Users with a passkey sign in with it alone, from the email page. Needs Passkey among the methods allowed."
            />
            {show('passwordlessPasskeys') && (
              <p className="field-error" role="alert">
                {show('passwordlessPasskeys')}
              </p>
            )}
            <CheckboxField label="Number matching for push approval" checked={s.numberMatching} onChecked={(v) => setS((x) => ({ ...x, numberMatching: v }))} />
            <TextField
              label="Remember the device for (days)"
              type="number"
              value={String(s.rememberDeviceDays)}
              onValue={(v) => setS((x) => ({ ...x, rememberDeviceDays: Number(v) }))}
              error={show('rememberDeviceDays')}
              hint="0: ask every time."
            />
            <TextField
              label="Session logout after (minutes)"
              type="number"
              value={sessionMinutes}
              onValue={setSessionMinutes}
              error={show('sessionLifetimeMinutes')}
              hint="Empty: the organization's setting (Web app login configuration)."
            />
            <div className="inline-fields">
              <TextField
                label="Lock out after failed attempts"
                type="number"
                value={String(s.lockout.threshold)}
                onValue={(v) => setS((x) => ({ ...x, lockout: { ...x.lockout, threshold: Number(v) } }))}
                error={show('threshold')}
              />
              <TextField
                label="First lockout lasts (minutes)"
                type="number"
                value={String(s.lockout.durationMinutes)}
                onValue={(v) => setS((x) => ({ ...x, lockout: { ...x.lockout, durationMinutes: Number(v) } }))}
                error={show('durationMinutes')}
                hint="Each further lockout lasts 5, 15, then 60 times longer."
              />
              <TextField
                label="Longest lockout (minutes)"
                type="number"
                value={String(s.lockout.maxDurationMinutes ?? 60)}
                onValue={(v) => setS((x) => ({ ...x, lockout: { ...x.lockout, maxDurationMinutes: Number(v) } }))}
                error={show('maxDurationMinutes')}
              />
            </div>
          </section>
        </fieldset>
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
          <FormError error={error ?? (submitted && Object.keys(e).length ? 'Some fields need attention: see the messages next to them.' : undefined)} />
        )}
        {manage && (
          <div className="actions">
            <Button type="submit" busy={busy} busyLabel="Saving…">
              Save
            </Button>
            <Button variant="secondary" onClick={() => navigate('/policies')}>
              Cancel
            </Button>
            {policy && (
              <Button variant="danger" className="push-right" onClick={() => setDeleting(true)}>
                Delete policy
              </Button>
            )}
          </div>
        )}
      </form>
      {deleting && policy && (
        <ConfirmDialog
          title={`Delete ${policy.name}?`}
          confirmLabel="Delete policy"
          onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await api('DELETE', tp(`/policies/${enc(policy.id)}`));
            notify(`Deleted ${policy.name}.`);
            navigate('/policies');
          }}
        >
          <p>Its users get the next matching policy, or the defaults. This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
