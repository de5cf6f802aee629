// Upstream directories (Entra ID, Okta, Cognito, any OpenID provider) users sign in through
// (docs/federation.md): listed for admins and auditors; added, changed and deleted by
// superadmins. Saving makes the server fetch the upstream's discovery document: what is wrong
// with it is shown beside the address field.
import { useEffect, useMemo, useState } from 'react';
import { api, ApiError, enc, qs, type Page } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can } from '../roles.ts';
import { Link, navigate } from '../router.tsx';
import type { Upstream, UpstreamCheck, UpstreamType } from '../types.ts';
import {
  Badge,
  Banner,
  Button,
  CheckboxField,
  ConfirmDialog,
  CopyValue,
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
} from '../ui.tsx';

type UpstreamList = Page<Upstream> & { redirectUrl: string };

const TYPES: Record<UpstreamType, { label: string; url: string }> = {
  entra: { label: 'Microsoft Entra ID', url: 'https://login.microsoftonline.com/TENANT/v2.0' },
  okta: { label: 'Okta', url: "the authorization server's issuer, like https://example.okta.com/oauth2/default" },
  cognito: { label: 'Amazon Cognito', url: 'https://cognito-idp.REGION.amazonaws.com/POOL_ID' },
  oidc: { label: 'Other OpenID Connect provider', url: "the provider's issuer, like https://idp.example.com" },
};
const MODES: Record<Upstream['mode'], { label: string; help: string; tone: 'neutral' | 'warn' | 'ok' }> = {
  disabled: { label: 'Disabled', help: 'ignored: everyone signs in with their Gatehouse password', tone: 'neutral' },
  test: { label: 'Test', help: 'only the test users below are routed there (they may still use their Gatehouse password)', tone: 'warn' },
  enabled: { label: 'Enabled', help: 'every email at its domains signs in only there (administrators keep a password fallback)', tone: 'ok' },
};
/** Fields the form shows the server's messages beside. */
const SHOWN = [
  'name',
  'clientId',
  'clientSecret',
  'discoveryUrl',
  'authorityUrl',
  'entraTenant',
  'domains',
  'audience',
  'testUsers',
  'scopes',
  'claimGate',
  'externalIdClaim',
  'claims',
];
const WELL_KNOWN = '/.well-known/openid-configuration';
const ENTRA = /^https:\/\/login\.microsoftonline\.com\/([A-Za-z0-9.-]{1,100})\/v2\.0\/?$/;

export function UpstreamsPage() {
  const { me } = useSession();
  const tp = useTenantPath();
  const list = useCursorPages((cursor, signal) => api<UpstreamList>('GET', tp(`/upstreams${qs({ cursor, limit: 50 })}`), undefined, { signal }), [tp('')]);
  const manage = can.manageUpstreams(me);
  const items = list.data?.items ?? [];
  return (
    <>
      <PageTitle actions={manage ? <Button onClick={() => navigate('/upstreams/new')}>Add upstream directory</Button> : undefined}>
        Upstream directories
      </PageTitle>
      <p className="hint">
        Users whose email belongs to an upstream directory sign in there and come back signed in to Gatehouse; their account is created at their first sign-in.
        See docs/federation.md.
      </p>
      {list.data && <CopyValue label="Redirect URL" value={list.data.redirectUrl} />}
      {list.data && <p className="hint">Register this redirect URL at every upstream (a web application with the authorization code flow).</p>}
      {list.loading && !list.data && <Loading />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      {list.data && items.length === 0 && (
        <Empty title="No upstream directories">
          <p>
            Users sign in with Gatehouse passwords. Connect Entra ID, Okta, Cognito or any OpenID provider to sign them in there instead.{' '}
            {manage ? 'Choose Add upstream directory.' : 'Ask a superadministrator to add one.'}
          </p>
        </Empty>
      )}
      {items.length > 0 && (
        <div className="table-wrap" role="region" aria-label="Upstream directories" tabIndex={0}>
          <table>
            <caption className="visually-hidden">Upstream directories</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Mode</th>
                <th scope="col">Email domains</th>
                <th scope="col">Issuer</th>
              </tr>
            </thead>
            <tbody>
              {items.map((u) => (
                <tr key={u.id}>
                  <th scope="row">
                    <Link to={`/upstreams/${enc(u.id)}`}>{u.name}</Link>
                  </th>
                  <td>{TYPES[u.type]?.label ?? u.type}</td>
                  <td>
                    <Badge tone={MODES[u.mode].tone}>{MODES[u.mode].label}</Badge>
                  </td>
                  <td>{u.domains.join(', ') || <span className="muted">none</span>}</td>
                  <td>
                    <code>{u.issuer}</code>
                  </td>
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

interface Form {
  name: string;
  type: UpstreamType;
  mode: Upstream['mode'];
  url: string;
  entraTenant: string;
  clientId: string;
  clientSecret: string;
  domains: string;
  audience: Upstream['audience'];
  loginHint: boolean;
  showButton: boolean;
  testUsers: string;
  gateClaim: string;
  gateValue: string;
  externalIdClaim: string;
  givenName: string;
  familyName: string;
  email: string;
  scopes: string;
}

function toForm(u?: Upstream): Form {
  const entra = u?.type === 'entra' ? ENTRA.exec(u.discoveryUrl) : null;
  return {
    name: u?.name ?? '',
    type: u?.type ?? 'oidc',
    mode: u?.mode ?? 'disabled',
    url: entra ? '' : (u?.discoveryUrl ?? ''),
    entraTenant: entra?.[1] ?? '',
    clientId: u?.clientId ?? '',
    clientSecret: '',
    domains: (u?.domains ?? []).join('\n'),
    audience: u?.audience ?? 'staff',
    loginHint: u?.loginHint ?? true,
    showButton: u?.showButton ?? false,
    testUsers: (u?.testUsers ?? []).join('\n'),
    gateClaim: u?.claimGate?.claim ?? '',
    gateValue: u?.claimGate?.value ?? '',
    externalIdClaim: u?.externalIdClaim ?? '',
    givenName: u?.claims.givenName ?? 'given_name',
    familyName: u?.claims.familyName ?? 'family_name',
    email: u?.claims.email ?? 'email',
    scopes: (u?.scopes ?? ['openid', 'profile', 'email']).join(' '),
  };
}

const list = (s: string) =>
  s
    .split(/[\s,;]+/)
    .map((x) => x.trim())
    .filter(Boolean);
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/;
const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]'];

function urlProblem(v: string): string | undefined {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return 'Write the address in full, like https://idp.example.com.';
  }
  if (u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.includes(u.hostname))) return undefined;
  return 'Upstream directories are reached over https:// (plain http only on this machine, for testing).';
}

/** Field-level messages, as the administrator types (the server then checks the discovery document). */
function validate(f: Form): Record<string, string> {
  const e: Record<string, string> = {};
  if (!f.name.trim()) e.name = 'Give it a name: users see "Sign in with <name>".';
  if (!f.clientId.trim()) e.clientId = 'Enter the client ID of the application registered at the upstream.';
  const url = f.url.trim();
  if (url) {
    const p = urlProblem(url);
    if (p) e.url = p;
  } else if (f.type === 'entra') {
    if (!/^[A-Za-z0-9.-]{1,100}$/.test(f.entraTenant.trim()))
      e.entraTenant = 'Enter the directory (tenant) ID, like contoso.onmicrosoft.com or its GUID, or the authority URL below.';
  } else e.url = `Enter the upstream's issuer or discovery URL: ${TYPES[f.type].url}.`;
  const badDomain = list(f.domains).find((d) => !DOMAIN.test(d));
  if (badDomain) e.domains = `“${badDomain}” is not a domain; write domains like contoso.com.`;
  const badEmail = list(f.testUsers).find((x) => !EMAIL.test(x));
  if (badEmail) e.testUsers = `“${badEmail}” is not an email address.`;
  else if (f.mode === 'test' && list(f.testUsers).length === 0) e.testUsers = 'In Test mode only the test users are routed: list at least one email.';
  const scopes = list(f.scopes);
  if (scopes.some((s) => !SCOPE.test(s))) e.scopes = 'Scope names, separated by spaces.';
  else if (!scopes.includes('openid')) e.scopes = 'The scopes must include openid.';
  if (!!f.gateClaim.trim() !== !!f.gateValue.trim()) e.claimGate = 'Give both the claim and the value it must have, or neither.';
  for (const k of ['givenName', 'familyName', 'email'] as const) if (!f[k].trim()) e[k] = 'Name the claim (the default is shown in the hint).';
  return e;
}

function settingsOf(f: Form) {
  const url = f.url.trim();
  const address = url
    ? url.endsWith(WELL_KNOWN)
      ? { discoveryUrl: url }
      : { authorityUrl: url }
    : { authorityUrl: `https://login.microsoftonline.com/${f.entraTenant.trim()}/v2.0` };
  return {
    type: f.type,
    clientId: f.clientId.trim(),
    ...address,
    domains: list(f.domains).map((d) => d.toLowerCase()),
    audience: f.audience,
    loginHint: f.loginHint,
    showButton: f.showButton,
    testUsers: list(f.testUsers),
    claimGate: f.gateClaim.trim() ? { claim: f.gateClaim.trim(), value: f.gateValue.trim() } : null,
    externalIdClaim: f.externalIdClaim.trim() || null,
    claims: { givenName: f.givenName.trim(), familyName: f.familyName.trim(), email: f.email.trim() },
    scopes: list(f.scopes),
  };
}

export function UpstreamPage({ id }: { id?: string }) {
  const tp = useTenantPath();
  const up = useAsync((signal) => (id ? api<Upstream>('GET', tp(`/upstreams/${enc(id)}`), undefined, { signal }) : Promise.resolve(undefined)), [id]);
  // The redirect URL to register, before there is an upstream to show it.
  const redirect = useAsync(
    (signal) => (id ? Promise.resolve(undefined) : api<UpstreamList>('GET', tp('/upstreams?limit=1'), undefined, { signal }).then((l) => l.redirectUrl)),
    [id],
  );
  const title = id ? 'Upstream directory' : 'Add an upstream directory';
  if ((id && up.loading && !up.data) || (!id && redirect.loading && !redirect.data))
    return (
      <>
        <PageTitle>{title}</PageTitle>
        <Loading />
      </>
    );
  const error = up.error ?? redirect.error;
  if (error)
    return (
      <>
        <PageTitle>{title}</PageTitle>
        <ErrorBox
          error={error}
          onRetry={() => {
            up.reload();
            redirect.reload();
          }}
        />
        <p>
          <Link to="/upstreams">Back to the upstream directories</Link>
        </p>
      </>
    );
  return (
    <UpstreamForm
      key={up.data ? `${up.data.id}:${up.data.version}` : 'new'}
      up={up.data}
      redirectUrl={up.data?.redirectUrl ?? redirect.data ?? ''}
      onSaved={up.setData}
      reload={up.reload}
    />
  );
}

function UpstreamForm({ up, redirectUrl, onSaved, reload }: { up?: Upstream; redirectUrl: string; onSaved: (u: Upstream) => void; reload: () => void }) {
  const { me } = useSession();
  const tp = useTenantPath();
  const manage = can.manageUpstreams(me);
  const [f, setF] = useState<Form>(() => toForm(up));
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [deleting, setDeleting] = useState(false);
  const errors = useMemo(() => validate(f), [f]);
  const api4xx = error instanceof ApiError ? error : undefined;
  // The server names the address field it was given; the form has one (or the Entra tenant).
  const serverField = (k: string): string | undefined => {
    if (!api4xx) return undefined;
    if (k === 'url') return f.url.trim() ? (api4xx.forField('discoveryUrl') ?? api4xx.forField('authorityUrl')) : undefined;
    if (k === 'entraTenant') return f.url.trim() ? undefined : (api4xx.forField('authorityUrl') ?? api4xx.forField('entraTenant'));
    if (k === 'givenName' || k === 'familyName' || k === 'email') return api4xx.forField(`claims.${k}`);
    return api4xx.forField(k);
  };
  // Test users are needed as soon as Test mode is chosen.
  const show = (k: string) => (submitted || touched[k] || (k === 'testUsers' && touched.mode) ? errors[k] : undefined) ?? serverField(k);
  const set =
    <K extends keyof Form>(k: K) =>
    (v: Form[K]) => {
      setF((x) => ({ ...x, [k]: v }));
      setTouched((t) => ({ ...t, [k]: true }));
    };
  const blur = (k: string) => () => setTouched((t) => ({ ...t, [k]: true }));
  useEffect(() => {
    document.querySelector<HTMLElement>('.field.invalid input, .field.invalid textarea, .field.invalid select')?.focus();
  }, [submitted, error]);

  /** The server's question before audience "all" takes over local accounts (its message says how many). */
  const [takeover, setTakeover] = useState<string>();
  const [check, setCheck] = useState<UpstreamCheck | null>(up?.lastCheck ?? null);
  const [testing, setTesting] = useState(false);
  const [testError, setTestError] = useState<Error>();

  const save = async (confirm = false) => {
    setSubmitted(true);
    if (Object.keys(errors).length) {
      setError(new Error('Some fields need attention: see the messages next to them.'));
      return;
    }
    setBusy(true);
    setError(undefined);
    const confirmed = confirm ? { confirm: true } : {};
    try {
      const secret = f.clientSecret ? { clientSecret: f.clientSecret } : {};
      if (up) {
        const updated = await api<Upstream>('PATCH', tp(`/upstreams/${enc(up.id)}`), {
          name: f.name.trim(),
          mode: f.mode,
          ...secret,
          settings: settingsOf(f),
          version: up.version,
          ...confirmed,
        });
        notify(`Saved ${updated.name}.`);
        onSaved(updated);
      } else {
        const created = await api<Upstream>('POST', tp('/upstreams'), { name: f.name.trim(), mode: f.mode, ...secret, ...settingsOf(f), ...confirmed });
        notify(`Added ${created.name}. Register the redirect URL at the upstream if you have not.`);
        navigate(`/upstreams/${enc(created.id)}`, { replace: true });
      }
    } catch (e) {
      setBusy(false);
      if (e instanceof ApiError && e.code === 'confirmation_required') {
        setTakeover(e.message);
        return;
      }
      setError(e as Error);
      return;
    }
    setBusy(false);
  };

  const test = async () => {
    if (!up) return;
    setTesting(true);
    setTestError(undefined);
    try {
      setCheck(await api<UpstreamCheck>('POST', tp(`/upstreams/${enc(up.id)}/test`)));
    } catch (e) {
      setTestError(e as Error);
    }
    setTesting(false);
  };

  const conflict = api4xx?.code === 'version_conflict';
  const fieldsOnly = api4xx && api4xx.problems.length > 0 && api4xx.problems.every((p) => SHOWN.includes(p.field.replace(/^settings\./, '').split('.')[0]!));
  return (
    <>
      <p className="breadcrumb">
        <Link to="/upstreams">Upstream directories</Link> ›
      </p>
      <PageTitle actions={up && <Badge tone={MODES[up.mode].tone}>{MODES[up.mode].label}</Badge>}>{up ? up.name : 'Add an upstream directory'}</PageTitle>
      {!manage && <p className="hint">Only a superadministrator changes upstream directories.</p>}
      <section aria-labelledby="register-h">
        <h2 id="register-h">At the upstream</h2>
        <p className="hint">
          Register a web application (confidential client, authorization code flow) with this redirect URL, and have it send email, given_name and family_name.
        </p>
        <CopyValue label="Redirect URL" value={redirectUrl} />
        {up && <CopyValue label="Issuer" value={up.issuer} />}
      </section>
      {up && (
        <section aria-labelledby="check-h">
          <h2 id="check-h">Discovery check</h2>
          <p className="hint">While it is not disabled, Gatehouse fetches its discovery document every hour; a failure shows on the overview.</p>
          <p data-testid="upstream-check">
            {!check ? (
              'Not checked yet.'
            ) : check.ok ? (
              <>
                <Badge tone="ok">OK</Badge> Answered as when saved, at {formatTime(check.checkedAt)}.
              </>
            ) : (
              <>
                <Badge tone="error">Failing</Badge> At {formatTime(check.checkedAt)}: {check.message}
              </>
            )}
          </p>
          <FormError error={testError} />
          {can.testUpstreams(me) && (
            <p>
              <Button variant="secondary" busy={testing} busyLabel="Testing…" onClick={() => void test()}>
                Test
              </Button>
            </p>
          )}
        </section>
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
          <section aria-labelledby="up-h">
            <h2 id="up-h">Upstream</h2>
            <TextField
              label="Name"
              value={f.name}
              onValue={set('name')}
              onBlur={blur('name')}
              error={show('name')}
              maxLength={100}
              hint="Users see it: “Sign in with Contoso”."
            />
            <SelectField
              label="Type"
              value={f.type}
              onValue={(v) => set('type')(v as UpstreamType)}
              options={(Object.keys(TYPES) as UpstreamType[]).map((t) => ({ value: t, label: TYPES[t].label }))}
            />
            {f.type === 'entra' && (
              <TextField
                label="Directory (tenant) ID"
                value={f.entraTenant}
                onValue={set('entraTenant')}
                onBlur={blur('entraTenant')}
                error={show('entraTenant')}
                hint="Like contoso.onmicrosoft.com or the tenant's GUID. Or leave it empty and give the authority URL below."
              />
            )}
            <TextField
              label={f.type === 'entra' ? 'Authority URL (optional)' : 'Issuer or discovery URL'}
              value={f.url}
              onValue={set('url')}
              onBlur={blur('url')}
              error={show('url')}
              hint={
                <>
                  {TYPES[f.type].url}; or its discovery document, ending in <code>{WELL_KNOWN}</code>. Gatehouse fetches it when you save.
                </>
              }
            />
            <TextField label="Client ID" value={f.clientId} onValue={set('clientId')} onBlur={blur('clientId')} error={show('clientId')} autoComplete="off" />
            <TextField
              label="Client secret"
              type="password"
              value={f.clientSecret}
              onValue={set('clientSecret')}
              onBlur={blur('clientSecret')}
              error={show('clientSecret')}
              autoComplete="new-password"
              placeholder={up?.hasClientSecret ? 'saved: leave empty to keep it' : undefined}
              hint={
                up?.hasClientSecret
                  ? 'Saved and never shown again. Type a new one to replace it.'
                  : 'The secret the upstream gave for this application; kept encrypted and never shown again. Leave it empty only for an upstream that registered Gatehouse as a public client.'
              }
            />
          </section>

          <section aria-labelledby="routing-h">
            <h2 id="routing-h">Who signs in there</h2>
            <fieldset>
              <legend>Mode</legend>
              {(Object.keys(MODES) as Upstream['mode'][]).map((m) => (
                <div className="field radio" key={m}>
                  <input type="radio" id={`mode-${m}`} name="mode" checked={f.mode === m} onChange={() => set('mode')(m)} aria-describedby={`mode-${m}-hint`} />
                  <label htmlFor={`mode-${m}`}>{MODES[m].label}</label>
                  <span className="hint" id={`mode-${m}-hint`}>
                    {MODES[m].help}
                  </span>
                </div>
              ))}
            </fieldset>
            <TextAreaField
              label="Email domains"
              value={f.domains}
              onValue={set('domains')}
              onBlur={blur('domains')}
              error={show('domains')}
              rows={2}
              hint="One per line: emails at these domains are sent to this upstream."
            />
            <SelectField
              label="Audience"
              value={f.audience}
              onValue={(v) => set('audience')(v as Form['audience'])}
              error={show('audience')}
              options={[
                { value: 'staff', label: 'Staff: only emails at these domains' },
                { value: 'all', label: 'Staff and public: also every email no other upstream claims' },
              ]}
            />
            <TextAreaField
              label="Test users"
              value={f.testUsers}
              onValue={set('testUsers')}
              onBlur={blur('testUsers')}
              error={show('testUsers')}
              rows={2}
              hint="One email per line: in Test mode only they are routed here."
            />
            <CheckboxField
              label="Pass the email on (login_hint)"
              checked={f.loginHint}
              onChecked={set('loginHint')}
              hint="The upstream's sign-in page then shows the email already filled in."
            />
            <CheckboxField
              label="Show a “Sign in with …” button on the sign-in page"
              checked={f.showButton}
              onChecked={set('showButton')}
              hint="In Enabled mode."
            />
          </section>

          <section aria-labelledby="claims-h">
            <h2 id="claims-h">Claims</h2>
            <div className="inline-fields">
              <TextField label="Given name claim" value={f.givenName} onValue={set('givenName')} error={show('givenName')} hint="Default given_name." />
              <TextField label="Family name claim" value={f.familyName} onValue={set('familyName')} error={show('familyName')} hint="Default family_name." />
              <TextField label="Email claim" value={f.email} onValue={set('email')} error={show('email')} hint="Default email." />
            </div>
            <TextField
              label="External ID claim (optional)"
              value={f.externalIdClaim}
              onValue={set('externalIdClaim')}
              error={show('externalIdClaim')}
              hint="A claim with a stable ID (like an employee number): accounts are linked by it too."
            />
            <fieldset>
              <legend>Only let in users whose claim has a value (optional)</legend>
              <div className="inline-fields">
                <TextField label="Claim" value={f.gateClaim} onValue={set('gateClaim')} placeholder="roles" error={show('claimGate')} />
                <TextField label="Value" value={f.gateValue} onValue={set('gateValue')} placeholder="Gatehouse_Access" />
              </div>
              <p className="hint">The claim must equal the value, or be a list that contains it; anyone else is refused (and the refusal logged).</p>
            </fieldset>
            <TextField
              label="Scopes"
              value={f.scopes}
              onValue={set('scopes')}
              onBlur={blur('scopes')}
              error={show('scopes')}
              hint="Separated by spaces. Default: openid profile email."
            />
          </section>
        </fieldset>

        {conflict ? (
          <Banner level="error">
            <p>{error!.message}</p>
            <p>
              <Button variant="secondary" onClick={reload}>
                Reload
              </Button>{' '}
              (your changes here are lost)
            </p>
          </Banner>
        ) : (
          <FormError error={fieldsOnly ? 'Gatehouse could not save it: see the messages next to the fields.' : error} />
        )}
        <div className="actions">
          {manage && (
            <Button type="submit" busy={busy} busyLabel="Checking the upstream…">
              {up ? 'Save' : 'Add upstream directory'}
            </Button>
          )}
          <Button variant="secondary" onClick={() => navigate('/upstreams')}>
            {manage ? 'Cancel' : 'Back'}
          </Button>
          {up && manage && (
            <Button variant="danger" className="push-right" onClick={() => setDeleting(true)}>
              Delete upstream directory
            </Button>
          )}
        </div>
      </form>
      {takeover && (
        <ConfirmDialog
          title="Take over local accounts?"
          confirmLabel="Sign them in through this upstream"
          onClose={() => setTakeover(undefined)}
          onConfirm={() => save(true)}
        >
          <p data-testid="takeover">{takeover}</p>
        </ConfirmDialog>
      )}
      {deleting && up && (
        <ConfirmDialog
          title={`Delete ${up.name}?`}
          confirmLabel="Delete upstream directory"
          onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await api('DELETE', tp(`/upstreams/${enc(up.id)}`));
            notify(`Deleted ${up.name}.`);
            navigate('/upstreams');
          }}
        >
          <p>Its users are no longer sent to {up.name}: they become local users and need a Gatehouse password to sign in. This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
