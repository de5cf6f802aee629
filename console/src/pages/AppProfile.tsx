// Add or edit an application profile (superadmins): names, redirect URIs checked as you type
// (the server's own rules, src/apps/redirect-uris.ts), claims, client credentials shown once,
// the IdP metadata to give the app, deployment, and delete.
import { useEffect, useMemo, useState } from 'react';
import { api, ApiError, enc } from '../api.ts';
import { useTenantPath } from '../App.tsx';
import { navigate, Link } from '../router.tsx';
import { APP_TYPES, type AppType, type AppView, type Claim, type SamlView } from '../types.ts';
import {
  Banner,
  Button,
  CheckboxField,
  ConfirmDialog,
  CopyValue,
  Dialog,
  ErrorBox,
  FormError,
  Loading,
  notify,
  PageTitle,
  SelectField,
  TextAreaField,
  TextField,
  formatDate,
  useAsync,
} from '../ui.tsx';
import { redirectUriProblem } from '../../../src/apps/redirect-uris.ts';
import { DeploymentSummary } from './Apps.tsx';

/** The claims every app gets from its scopes (src/apps/service.ts DEFAULT_CLAIMS). */
const DEFAULT_CLAIMS: Array<[string, string]> = [
  ['sub', "the user's stable ID (openid)"],
  ['email', 'email address (email)'],
  ['email_verified', 'whether the email is verified (email)'],
  ['name', 'full name (profile)'],
  ['given_name', 'given name (profile)'],
  ['family_name', 'family name (profile)'],
  ['preferred_username', 'the email, as user name (profile)'],
  ['groups', 'group names (groups)'],
];
const RESERVED = new Set([
  ...DEFAULT_CLAIMS.map(([n]) => n),
  'iss',
  'aud',
  'exp',
  'iat',
  'nonce',
  'acr',
  'amr',
  'azp',
  'auth_time',
  'at_hash',
  'c_hash',
  'sid',
]);
const ATTRIBUTES = ['email', 'given_name', 'family_name', 'name', 'domain', 'ou', 'groups', 'user_id'];
const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;

const isConfidential = (t: AppType) => t === 'web' || t === 'service' || t === 'handoff';
const usesRedirects = (t: AppType) => t === 'web' || t === 'spa' || t === 'native';

interface ClaimRow {
  name: string;
  source: 'value' | 'attribute';
  value: string;
  attribute: string;
}
interface Form {
  name: string;
  displayName: string;
  redirectUris: string;
  postLogoutRedirectUris: string;
  backchannelLogoutUri: string;
  homeUrl: string;
  initiateLoginUri: string;
  loginRedirectUrl: string;
  refreshTokenMinutes: string;
  outliveSession: boolean;
  requireMfa: boolean;
  deviceSsoGroup: string;
  claims: ClaimRow[];
  /** The app's registered public keys (JSON): private_key_jwt checks its assertions with them; certificate expiry alerts. */
  jwks: string;
  /** Confidential apps: how the app authenticates at the token endpoint. */
  clientAuthMethod: string;
  /** SAML apps (claims rows become the attribute statement). */
  samlMetadata: string;
  samlMetadataUrl: string;
  entityId: string;
  acsUrls: string;
  sloUrl: string;
  sloBinding: string;
  sloBackchannelUrl: string;
  nameIdFormat: string;
  nameIdAttribute: string;
  sign: string;
  encryptAssertion: boolean;
  requireSignedRequests: boolean;
  assertionLifetime: string;
  spCertificates: string;
}

const CLIENT_AUTH = [
  { value: 'client_secret_basic', label: 'Client secret (in the Authorization header or the form: client_secret_basic / _post)' },
  { value: 'client_secret_jwt', label: 'Assertion signed with the client secret (client_secret_jwt)' },
  { value: 'private_key_jwt', label: "Assertion signed with the app's private key (private_key_jwt; checked with its registered keys)" },
];

const lines = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
const toForm = (a?: AppView): Form => ({
  name: a?.name ?? '',
  displayName: a?.displayName ?? '',
  redirectUris: (a?.redirectUris ?? []).join('\n'),
  postLogoutRedirectUris: (a?.postLogoutRedirectUris ?? []).join('\n'),
  backchannelLogoutUri: a?.backchannelLogoutUri ?? '',
  homeUrl: a?.homeUrl ?? '',
  initiateLoginUri: a?.initiateLoginUri ?? '',
  loginRedirectUrl: a?.loginRedirectUrl ?? '',
  refreshTokenMinutes: String(a?.refreshTokenMinutes ?? 480),
  outliveSession: a?.outliveSession ?? false,
  requireMfa: a?.requireMfa ?? false,
  deviceSsoGroup: a?.deviceSsoGroup ?? '',
  claims: (a?.claims ?? []).map((c) => ({
    name: c.name,
    source: c.attribute ? 'attribute' : 'value',
    value: c.value ?? '',
    attribute: c.attribute ?? 'email',
  })),
  jwks: a?.jwks ? JSON.stringify(a.jwks, null, 2) : '',
  clientAuthMethod: a?.clientAuthMethod && a.clientAuthMethod !== 'none' ? a.clientAuthMethod : 'client_secret_basic',
  ...(a?.saml
    ? {
        claims: a.saml.attributes.map((c) => ({
          name: c.name,
          source: c.attribute ? ('attribute' as const) : ('value' as const),
          value: c.value ?? '',
          attribute: c.attribute ?? 'email',
        })),
      }
    : {}),
  samlMetadata: '',
  samlMetadataUrl: '',
  entityId: a?.saml?.entityId ?? '',
  acsUrls: (a?.saml?.acs ?? []).map((x) => x.url).join('\n'),
  sloUrl: a?.saml?.slo?.url ?? '',
  sloBinding: a?.saml?.slo?.binding ?? 'redirect',
  sloBackchannelUrl: a?.saml?.sloBackchannelUrl ?? '',
  nameIdFormat: a?.saml?.nameIdFormat ?? '',
  nameIdAttribute: a?.saml?.nameIdAttribute ?? 'email',
  sign: a?.saml?.sign ?? 'both',
  encryptAssertion: a?.saml?.encryptAssertion ?? false,
  requireSignedRequests: a?.saml?.requireSignedRequests ?? false,
  assertionLifetime: String(a?.saml?.assertionLifetimeSeconds ?? 300),
  spCertificates: (a?.saml?.certificates ?? []).join('\n'),
});

/** PEM blocks in a text area, one certificate each. */
const pemBlocks = (s: string) => s.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];

/** The SAML settings to send: only what the administrator filled in, so metadata fills in the rest (docs/saml.md). */
function samlBody(f: Form, existing: boolean) {
  const attributes = f.claims.map((c) => (c.source === 'value' ? { name: c.name, value: c.value } : { name: c.name, attribute: c.attribute }));
  const given = <T,>(v: T, empty: boolean) => (empty && !existing ? undefined : v);
  return {
    ...(f.samlMetadata.trim() && { metadataXml: f.samlMetadata }),
    ...(f.samlMetadataUrl.trim() && { metadataUrl: f.samlMetadataUrl.trim() }),
    entityId: given(f.entityId.trim(), !f.entityId.trim()) || undefined,
    acs: given(
      lines(f.acsUrls).map((url, index) => ({ url, index })),
      !lines(f.acsUrls).length,
    ),
    slo: given(f.sloUrl.trim() ? { url: f.sloUrl.trim(), binding: f.sloBinding as 'redirect' | 'post' } : null, !f.sloUrl.trim()),
    sloBackchannelUrl: given(f.sloBackchannelUrl.trim() || null, !f.sloBackchannelUrl.trim()),
    ...(f.nameIdFormat && { nameIdFormat: f.nameIdFormat }),
    nameIdAttribute: f.nameIdAttribute,
    sign: f.sign,
    attributes,
    encryptAssertion: f.encryptAssertion,
    ...((existing || f.requireSignedRequests) && { requireSignedRequests: f.requireSignedRequests }),
    assertionLifetimeSeconds: Number(f.assertionLifetime),
    certificates: given(pemBlocks(f.spCertificates), !pemBlocks(f.spCertificates).length),
  };
}

/** The JWKS field: empty, or a JSON object with a "keys" list. */
function parseJwks(text: string): { ok: true; value: { keys: unknown[] } | null } | { ok: false; message: string } {
  if (!text.trim()) return { ok: true, value: null };
  try {
    const v = JSON.parse(text) as { keys?: unknown };
    if (v && Array.isArray(v.keys) && v.keys.length > 0) return { ok: true, value: v as { keys: unknown[] } };
    return { ok: false, message: 'A JWKS is a JSON object with a "keys" list of public keys: { "keys": [ { "kty": ... } ] }.' };
  } catch (e) {
    return { ok: false, message: `This is not valid JSON (${(e as Error).message}).` };
  }
}

const httpUrlProblem = (label: string, v: string) => {
  if (!v) return undefined;
  try {
    const u = new URL(v);
    return /^https?:$/.test(u.protocol) ? undefined : `${label} must start with https:// (or http:// for localhost).`;
  } catch {
    return `${label} is not a URL. Write it in full, like https://app.example.com/.`;
  }
};

/** Field-level messages, as the administrator types. */
function validate(type: AppType, f: Form): Record<string, string> {
  const e: Record<string, string> = {};
  if (!f.name.trim()) e.name = 'Give the profile a name (only administrators see it).';
  if (!f.displayName.trim()) e.displayName = 'Give the application the name your users will see when they sign in.';
  if (usesRedirects(type)) {
    const uris = lines(f.redirectUris);
    const problem = uris.map((u) => redirectUriProblem(type, u)).find(Boolean);
    if (problem) e.redirectUris = problem;
    else if (uris.length === 0) e.redirectUris = "Add at least one redirect URI: the app's sign-in callback, from the app's admin console.";
    const post = lines(f.postLogoutRedirectUris)
      .map((u) => redirectUriProblem(type, u))
      .find(Boolean);
    if (post) e.postLogoutRedirectUris = post;
    const bc = httpUrlProblem('The back-channel logout URI', f.backchannelLogoutUri);
    if (bc) e.backchannelLogoutUri = bc;
    const il = f.initiateLoginUri && redirectUriProblem('web', f.initiateLoginUri);
    if (il) e.initiateLoginUri = il;
  }
  const home = httpUrlProblem('The home URL', f.homeUrl);
  if (home) e.homeUrl = home;
  if (type === 'handoff') {
    const p = f.loginRedirectUrl
      ? redirectUriProblem('web', f.loginRedirectUrl)
      : 'A hand-off app needs its login redirect URL: where the refresh token is POSTed.';
    if (p) e.loginRedirectUrl = p;
    const m = Number(f.refreshTokenMinutes);
    if (!Number.isInteger(m) || m < 1 || m > 525600) e.refreshTokenMinutes = 'Enter whole minutes from 1 to 525600 (a year).';
  }
  if (type === 'saml') {
    const fromMetadata = !!(f.samlMetadata.trim() || f.samlMetadataUrl.trim());
    if (!fromMetadata && !f.entityId.trim()) e.entityId = "Give the SP entity ID (from the application's SAML settings), or paste its metadata above.";
    if (!fromMetadata && !lines(f.acsUrls).length) e.acsUrls = 'Add the Assertion Consumer Service URL (HTTP-POST), or paste the metadata above.';
    const acs = lines(f.acsUrls)
      .map((u) => httpUrlProblem('An ACS URL', u))
      .find(Boolean);
    if (acs) e.acsUrls = acs;
    const m = httpUrlProblem('The metadata URL', f.samlMetadataUrl.trim());
    if (m) e.samlMetadataUrl = m;
    const lt = Number(f.assertionLifetime);
    if (!Number.isInteger(lt) || lt < 60 || lt > 3600) e.assertionLifetime = 'Enter whole seconds from 60 to 3600.';
    if (f.spCertificates.trim() && !pemBlocks(f.spCertificates).length)
      e.spCertificates = 'Paste PEM certificates: -----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----.';
  }
  const jwks = parseJwks(f.jwks);
  if (!jwks.ok) e.jwks = jwks.message;
  else if (isConfidential(type) && f.clientAuthMethod === 'private_key_jwt' && !jwks.value) {
    e.clientAuthMethod = "private_key_jwt checks the app's signed assertions with its public keys: paste its JWKS above first.";
  }
  const seen = new Set<string>();
  f.claims.forEach((c, i) => {
    if (type === 'saml') {
      if (!c.name.trim()) e[`claim${i}`] = 'Give the attribute name, as the application expects it (like mail or urn:oid:0.9.2342.19200300.100.1.3).';
      else if (seen.has(c.name)) e[`claim${i}`] = `“${c.name}” is listed twice.`;
      else if (c.source === 'value' && !c.value) e[`claim${i}`] = 'Enter the value, or map a user attribute instead.';
    } else if (!CLAIM_NAME.test(c.name)) e[`claim${i}`] = 'A claim name starts with a letter or _ and has letters, digits, _ . : - (like department).';
    else if (RESERVED.has(c.name)) e[`claim${i}`] = `“${c.name}” is a standard claim and cannot be redefined.`;
    else if (seen.has(c.name)) e[`claim${i}`] = `“${c.name}” is listed twice.`;
    else if (c.source === 'value' && !c.value) e[`claim${i}`] = 'Enter the value, or map a user attribute instead.';
    seen.add(c.name);
  });
  return e;
}

function body(type: AppType, f: Form, existing = false) {
  if (type === 'saml')
    return { name: f.name.trim(), displayName: f.displayName.trim(), requireMfa: f.requireMfa, homeUrl: f.homeUrl || null, saml: samlBody(f, existing) };
  const claims: Claim[] = f.claims.map((c) => (c.source === 'value' ? { name: c.name, value: c.value } : { name: c.name, attribute: c.attribute }));
  return {
    name: f.name.trim(),
    displayName: f.displayName.trim(),
    claims,
    requireMfa: f.requireMfa,
    homeUrl: f.homeUrl || null,
    jwks: (() => {
      const j = parseJwks(f.jwks);
      return j.ok ? j.value : null;
    })(),
    ...(isConfidential(type) && { clientAuthMethod: f.clientAuthMethod }),
    ...(usesRedirects(type) && {
      redirectUris: lines(f.redirectUris),
      postLogoutRedirectUris: lines(f.postLogoutRedirectUris),
      backchannelLogoutUri: f.backchannelLogoutUri || null,
      initiateLoginUri: f.initiateLoginUri || null,
    }),
    ...(type === 'handoff' && {
      loginRedirectUrl: f.loginRedirectUrl || null,
      refreshTokenMinutes: Number(f.refreshTokenMinutes),
      outliveSession: f.outliveSession,
    }),
    ...(type === 'native' && { deviceSsoGroup: f.deviceSsoGroup.trim() || null }),
  };
}

const randomHex = (n: number) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, '0')).join('');
const randomSecret = () =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

function SecretOnce({ clientId, secret }: { clientId: string; secret: string | null }) {
  return (
    <div className="credentials" data-testid="credentials">
      <CopyValue label="Client ID" value={clientId} />
      {secret && (
        <>
          <CopyValue label="Client secret" value={secret} secret />
          <Banner level="warn">
            <p>
              <strong>Copy the client secret now.</strong> It is shown only this once; Gatehouse keeps it encrypted and cannot show it again. If it is lost,
              generate a new one (the old one then stops working).
            </p>
          </Banner>
        </>
      )}
    </div>
  );
}

function MetadataDialog({ onClose }: { onClose: () => void }) {
  const tp = useTenantPath();
  const meta = useAsync((signal) => api<Record<string, string>>('GET', tp('/metadata'), undefined, { signal }), []);
  const LABELS: Record<string, string> = {
    issuer: 'Issuer',
    discoveryUrl: 'Discovery URL (IdP metadata URL)',
    authorizationEndpoint: 'Authorization endpoint',
    tokenEndpoint: 'Token endpoint',
    userinfoEndpoint: 'UserInfo endpoint',
    jwksUri: 'JWKS URI',
    endSessionEndpoint: 'End session (logout) endpoint',
    introspectionEndpoint: 'Introspection endpoint',
    revocationEndpoint: 'Revocation endpoint',
    pushedAuthorizationRequestEndpoint: 'Pushed authorization request endpoint',
  };
  return (
    <Dialog title="IdP OpenID Connect metadata" onClose={onClose} wide>
      <p>Give these to the application (relying party). Most apps only need the discovery URL; the others are for apps configured by hand.</p>
      {meta.loading && <Loading />}
      {meta.error && <ErrorBox error={meta.error} onRetry={meta.reload} />}
      {meta.data && (
        <>
          {Object.entries(meta.data).map(([k, v]) => (
            <CopyValue key={k} label={LABELS[k] ?? k} value={v} />
          ))}
          <CopyValue label="All, as JSON" value={JSON.stringify(meta.data, null, 2)} />
        </>
      )}
      <div className="actions">
        <Button variant="secondary" onClick={onClose}>
          Close
        </Button>
      </div>
    </Dialog>
  );
}

/** What to configure a SAML application with (the same for every SAML app of the tenant, but its launch link). */
function SamlIdp({ saml, clientId }: { saml?: SamlView; clientId?: string }) {
  if (!saml) return <p className="hint">Save the profile to see the IdP metadata URL, SSO and SLO service URLs to give the application.</p>;
  return (
    <>
      {clientId && <CopyValue label="Client ID (for gatehouse app deploy)" value={clientId} />}
      <CopyValue label="IdP metadata URL (entity ID)" value={saml.idp.metadataUrl} />
      <CopyValue label="Single Sign-On service (HTTP-Redirect, HTTP-POST)" value={saml.idp.ssoUrl} />
      <CopyValue label="Single Logout service (HTTP-Redirect, HTTP-POST)" value={saml.idp.sloUrl} />
      <CopyValue label="IdP-initiated sign-in link" value={saml.idp.launchUrl} />
    </>
  );
}

export function AppProfilePage({ type: newType, clientId }: { type?: AppType; clientId?: string }) {
  const tp = useTenantPath();
  const existing = useAsync(
    (signal) => (clientId ? api<AppView>('GET', tp(`/apps/${enc(clientId)}`), undefined, { signal }) : Promise.resolve(undefined)),
    [clientId],
  );
  if (clientId && existing.loading && !existing.data)
    return (
      <>
        <PageTitle>Application profile</PageTitle>
        <Loading />
      </>
    );
  if (clientId && existing.error)
    return (
      <>
        <PageTitle>Application profile</PageTitle>
        <ErrorBox error={existing.error} onRetry={existing.reload} />
        <p>
          <Link to="/apps">Back to the application profiles</Link>
        </p>
      </>
    );
  const app = existing.data;
  return (
    <ProfileForm
      key={app ? `${app.clientId}:${app.version}` : newType}
      type={app?.type ?? newType!}
      app={app}
      onSaved={(a) => existing.setData(a)}
      reload={existing.reload}
    />
  );
}

function ProfileForm({ type, app, onSaved, reload }: { type: AppType; app?: AppView; onSaved: (a: AppView) => void; reload: () => void }) {
  const tp = useTenantPath();
  const [f, setF] = useState<Form>(() => toForm(app));
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [generated, setGenerated] = useState<{ clientId: string; secret: string | null }>();
  const [shownSecret, setShownSecret] = useState<{ clientId: string; secret: string; next?: string }>();
  const [dialog, setDialog] = useState<'metadata' | 'delete' | 'regenerate'>();
  const errors = useMemo(() => validate(type, f), [type, f]);
  const show = (k: string) => (submitted || touched[k] ? errors[k] : undefined) ?? (error instanceof ApiError ? error.forField(k) : undefined);
  const set =
    <K extends keyof Form>(k: K) =>
    (v: Form[K]) => {
      setF((x) => ({ ...x, [k]: v }));
      setTouched((t) => ({ ...t, [k]: true }));
    };
  const blur = (k: string) => () => setTouched((t) => ({ ...t, [k]: true }));
  const setClaim = (i: number, patch: Partial<ClaimRow>) => {
    setF((x) => ({ ...x, claims: x.claims.map((c, j) => (j === i ? { ...c, ...patch } : c)) }));
    setTouched((t) => ({ ...t, [`claim${i}`]: true }));
  };
  useEffect(() => {
    document.querySelector<HTMLElement>('.field.invalid input, .field.invalid textarea')?.focus();
  }, [submitted]);

  const save = async () => {
    setSubmitted(true);
    if (Object.keys(errors).length) {
      setError(new Error('Some fields need attention: see the messages next to them.'));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      if (app) {
        const updated = await api<AppView>('PATCH', tp(`/apps/${enc(app.clientId)}`), { ...body(type, f, true), version: app.version });
        notify(`Saved ${updated.displayName}.`);
        onSaved(updated);
      } else {
        const created = await api<AppView & { clientSecret: string | null }>('POST', tp('/apps'), {
          ...body(type, f),
          type,
          ...(generated && { clientId: generated.clientId, ...(generated.secret && { clientSecret: generated.secret }) }),
        });
        notify(`Added ${created.displayName}. It is not deployed yet.`);
        if (created.clientSecret && !generated?.secret)
          setShownSecret({ clientId: created.clientId, secret: created.clientSecret, next: `/apps/${enc(created.clientId)}` });
        else navigate(`/apps/${enc(created.clientId)}`, { replace: true });
      }
    } catch (e) {
      setError(e as Error);
      setBusy(false);
      return;
    }
    setBusy(false);
  };

  const conflict = error instanceof ApiError && error.code === 'version_conflict';
  const title = app
    ? `${app.displayName}`
    : `Add application using ${type === 'service' ? 'client credentials' : type === 'handoff' ? 'refresh-token hand-off' : type === 'saml' ? 'SAML 2.0' : 'OpenID Connect'}`;

  return (
    <>
      <p className="breadcrumb">
        <Link to="/apps">Single sign-on application profiles</Link> ›
      </p>
      <PageTitle>{title}</PageTitle>
      <p className="hint">
        {APP_TYPES[type].label}: {APP_TYPES[type].help}
      </p>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
        className="form"
      >
        <section aria-labelledby="names-h">
          <h2 id="names-h">Names</h2>
          <TextField
            label="Profile name"
            value={f.name}
            onValue={set('name')}
            onBlur={blur('name')}
            error={show('name')}
            hint="Only administrators see it."
            maxLength={100}
            required
          />
          <TextField
            label="User-friendly name"
            value={f.displayName}
            onValue={set('displayName')}
            onBlur={blur('displayName')}
            error={show('displayName')}
            hint="The application name your users see when they sign in."
            maxLength={100}
            required
          />
        </section>

        {usesRedirects(type) && (
          <section aria-labelledby="uris-h">
            <h2 id="uris-h">Sign-in addresses</h2>
            <TextAreaField
              label="Redirect URIs"
              value={f.redirectUris}
              onValue={set('redirectUris')}
              error={show('redirectUris')}
              rows={3}
              hint={
                type === 'native'
                  ? 'One per line, from the app: a custom scheme (com.example.app://callback), a universal link (https://…) or loopback (http://127.0.0.1/callback).'
                  : "One per line, exactly as the app sends them (https://app.example.com/callback). If you don't have them yet, get them from the app's admin console."
              }
            />
            <TextAreaField
              label="Post-logout redirect URIs (optional)"
              value={f.postLogoutRedirectUris}
              onValue={set('postLogoutRedirectUris')}
              error={show('postLogoutRedirectUris')}
              rows={2}
              hint="Where the app may send users after they sign out."
            />
            <TextField
              label="Back-channel logout URI (optional)"
              value={f.backchannelLogoutUri}
              onValue={set('backchannelLogoutUri')}
              onBlur={blur('backchannelLogoutUri')}
              error={show('backchannelLogoutUri')}
              hint="Gatehouse tells the app here when a user's session ends."
            />
            <TextField
              label="Initiate login URI (optional)"
              value={f.initiateLoginUri}
              onValue={set('initiateLoginUri')}
              onBlur={blur('initiateLoginUri')}
              error={show('initiateLoginUri')}
              hint="Where the launcher starts a sign-in at the app (OpenID Connect third-party-initiated login)."
            />
            {type === 'native' && (
              <TextField
                label="Device SSO group (optional)"
                value={f.deviceSsoGroup}
                onValue={set('deviceSsoGroup')}
                error={show('deviceSsoGroup')}
                maxLength={64}
                hint="Shared mobile devices: native apps of the same group on one device share the sign-in of the first (OpenID Connect Native SSO, scope device_sso); checking the device in signs out all of them. See docs/mobile.md."
              />
            )}
          </section>
        )}

        {type === 'handoff' && (
          <section aria-labelledby="handoff-h">
            <h2 id="handoff-h">Hand-off</h2>
            <TextField
              label="Login redirect URL"
              value={f.loginRedirectUrl}
              onValue={set('loginRedirectUrl')}
              onBlur={blur('loginRedirectUrl')}
              error={show('loginRedirectUrl')}
              hint="The app's address that receives the refresh token (POST)."
            />
            <TextField
              label="Refresh token lifetime (minutes)"
              type="number"
              inputMode="numeric"
              value={f.refreshTokenMinutes}
              onValue={set('refreshTokenMinutes')}
              error={show('refreshTokenMinutes')}
              hint="Default 480 (8 hours), counted from the launch: refreshing never extends it."
            />
            <CheckboxField
              label="Keep the app signed in after the user signs out of Gatehouse"
              hint="Off (default): signing out of Gatehouse, or an administrator ending the session, revokes what the app was handed."
              checked={f.outliveSession}
              onChecked={(v) => setF((x) => ({ ...x, outliveSession: v }))}
            />
          </section>
        )}

        {type === 'saml' && (
          <section aria-labelledby="sp-h">
            <h2 id="sp-h">Service provider (SAML)</h2>
            <TextAreaField
              label="SP metadata (optional)"
              value={f.samlMetadata}
              onValue={set('samlMetadata')}
              error={show('samlMetadata')}
              rows={4}
              hint="Paste the application's SAML metadata (XML): it fills in the fields below that you leave empty."
            />
            <TextField
              label="SP metadata URL (optional)"
              value={f.samlMetadataUrl}
              onValue={set('samlMetadataUrl')}
              onBlur={blur('samlMetadataUrl')}
              error={show('samlMetadataUrl')}
              hint="Or where Gatehouse fetches it."
            />
            <TextField label="SP entity ID" value={f.entityId} onValue={set('entityId')} onBlur={blur('entityId')} error={show('entityId')} />
            <TextAreaField
              label="Assertion Consumer Service URLs (HTTP-POST)"
              value={f.acsUrls}
              onValue={set('acsUrls')}
              error={show('acsUrls')}
              rows={2}
              hint="One per line; the first is the default."
            />
            <TextField label="Single Logout URL (optional)" value={f.sloUrl} onValue={set('sloUrl')} onBlur={blur('sloUrl')} error={show('sloUrl')} />
            <SelectField
              label="Single Logout binding"
              value={f.sloBinding}
              onValue={set('sloBinding')}
              options={[
                { value: 'redirect', label: 'HTTP-Redirect' },
                { value: 'post', label: 'HTTP-POST' },
              ]}
            />
            <TextField
              label="SOAP Single Logout URL (optional)"
              value={f.sloBackchannelUrl}
              onValue={set('sloBackchannelUrl')}
              onBlur={blur('sloBackchannelUrl')}
              error={show('sloBackchannelUrl')}
              hint="Signing out of Gatehouse logs the user out here, server to server."
            />
            <SelectField
              label="NameID format"
              value={f.nameIdFormat}
              onValue={set('nameIdFormat')}
              options={[
                ...(app ? [] : [{ value: '', label: 'From the SP metadata, else email address' }]),
                { value: 'email', label: 'Email address' },
                { value: 'persistent', label: 'Persistent (stable, opaque, per application)' },
                { value: 'transient', label: 'Transient (one per sign-in)' },
                { value: 'unspecified', label: 'Unspecified' },
              ]}
            />
            <SelectField
              label="NameID value (email and unspecified formats)"
              value={f.nameIdAttribute}
              onValue={set('nameIdAttribute')}
              options={ATTRIBUTES.map((a) => ({ value: a, label: a }))}
            />
            <SelectField
              label="Sign"
              value={f.sign}
              onValue={set('sign')}
              options={[
                { value: 'both', label: 'The response and the assertion' },
                { value: 'assertion', label: 'The assertion' },
                { value: 'response', label: 'The response' },
              ]}
            />
            <CheckboxField
              label="Encrypt the assertion to the SP's certificate (AES-256-GCM, RSA-OAEP)"
              checked={f.encryptAssertion}
              onChecked={(v) => setF((x) => ({ ...x, encryptAssertion: v }))}
            />
            <CheckboxField
              label="Require signed AuthnRequests"
              checked={f.requireSignedRequests}
              onChecked={(v) => setF((x) => ({ ...x, requireSignedRequests: v }))}
            />
            <TextField
              label="Assertion lifetime (seconds)"
              type="number"
              inputMode="numeric"
              value={f.assertionLifetime}
              onValue={set('assertionLifetime')}
              error={show('assertionLifetime')}
              hint="Default 300."
            />
            <TextAreaField
              label="SP certificates (PEM, optional)"
              value={f.spCertificates}
              onValue={set('spCertificates')}
              error={show('spCertificates')}
              rows={3}
              hint="Checks its signed requests; encrypts assertions. The console warns 90 days before one expires."
            />
            {app?.saml?.warnings.map((w) => (
              <Banner key={w} level="warn">
                <p>{w}</p>
              </Banner>
            ))}
          </section>
        )}

        <section aria-labelledby="more-h">
          <h2 id="more-h">Sign-in</h2>
          <TextField
            label="Home URL (optional)"
            value={f.homeUrl}
            onValue={set('homeUrl')}
            onBlur={blur('homeUrl')}
            error={show('homeUrl')}
            hint="What the app launcher opens."
          />
          <CheckboxField
            label="Require two-step verification for this application"
            checked={f.requireMfa}
            onChecked={(v) => setF((x) => ({ ...x, requireMfa: v }))}
          />
        </section>

        {type !== 'service' && (
          <section aria-labelledby="claims-h">
            <h2 id="claims-h">{type === 'saml' ? 'Attributes' : 'Claims'}</h2>
            {type !== 'saml' && (
              <details>
                <summary>Default claims ({DEFAULT_CLAIMS.length}), given by the scopes the app asks for</summary>
                <ul className="defaults">
                  {DEFAULT_CLAIMS.map(([n, d]) => (
                    <li key={n}>
                      <code>{n}</code> — {d}
                    </li>
                  ))}
                </ul>
              </details>
            )}
            {type !== 'saml' && <h3>Custom claims</h3>}
            {f.claims.length === 0 && (
              <p className="hint">None. Add one when the app needs more than the defaults (for example a department or a staff type).</p>
            )}
            {f.claims.map((c, i) => (
              <fieldset key={i} className="claim-row">
                <legend className="visually-hidden">Custom claim {i + 1}</legend>
                <TextField
                  label={type === 'saml' ? 'Attribute name' : 'Claim name'}
                  value={c.name}
                  onValue={(v) => setClaim(i, { name: v })}
                  error={show(`claim${i}`)}
                />
                <SelectField
                  label="Value from"
                  value={c.source}
                  onValue={(v) => setClaim(i, { source: v as ClaimRow['source'] })}
                  options={[
                    { value: 'value', label: 'A fixed value' },
                    { value: 'attribute', label: 'A user attribute' },
                  ]}
                />
                {c.source === 'value' ? (
                  <TextField label="Value" value={c.value} onValue={(v) => setClaim(i, { value: v })} />
                ) : (
                  <SelectField
                    label="Attribute"
                    value={c.attribute}
                    onValue={(v) => setClaim(i, { attribute: v })}
                    options={ATTRIBUTES.map((a) => ({ value: a, label: a }))}
                  />
                )}
                <Button
                  variant="link"
                  aria-label={`Remove claim ${c.name || i + 1}`}
                  onClick={() => setF((x) => ({ ...x, claims: x.claims.filter((_, j) => j !== i) }))}
                >
                  Remove
                </Button>
              </fieldset>
            ))}
            <Button
              variant="secondary"
              onClick={() => setF((x) => ({ ...x, claims: [...x.claims, { name: '', source: 'value', value: '', attribute: 'email' }] }))}
            >
              {type === 'saml' ? 'Add an attribute' : 'Add a custom claim'}
            </Button>
          </section>
        )}

        {type !== 'saml' && (
          <section aria-labelledby="keys-h">
            <h2 id="keys-h">Registered keys and client authentication</h2>
            <TextAreaField
              label="Public keys of the app (JWKS)"
              value={f.jwks}
              onValue={set('jwks')}
              error={show('jwks')}
              rows={4}
              hint="Paste the app's JWKS ({ &quot;keys&quot;: [...] }), public keys only. Certificates in x5c are watched: the console warns 90 days before one expires."
            />
            {isConfidential(type) && (
              <SelectField
                label="Client authentication"
                value={f.clientAuthMethod}
                onValue={set('clientAuthMethod')}
                error={show('clientAuthMethod')}
                options={CLIENT_AUTH}
                hint="How the app proves who it is at the token endpoint. Use what the app's own settings say."
              />
            )}
            {app?.certificateExpiresAt && (
              <p className={app.certificateExpiresSoon ? 'field-error' : 'hint'}>
                The registered certificate expires {formatDate(app.certificateExpiresAt)}
                {app.certificateExpiresSoon ? ": ask the app's owner for its new one." : '.'}
              </p>
            )}
          </section>
        )}
        {type === 'saml' && app?.certificateExpiresAt && (
          <p className={app.certificateExpiresSoon ? 'field-error' : 'hint'}>
            The SP certificate expires {formatDate(app.certificateExpiresAt)}
            {app.certificateExpiresSoon ? ": ask the application's owner for its new one." : '.'}
          </p>
        )}

        {type !== 'saml' && (
          <section aria-labelledby="creds-h">
            <h2 id="creds-h">Client credentials</h2>
            {app ? (
              <>
                <CopyValue label="Client ID" value={app.clientId} />
                {isConfidential(type) ? (
                  <p>
                    <Button variant="secondary" onClick={() => setDialog('regenerate')}>
                      Generate a new client secret
                    </Button>{' '}
                    <span className="hint">The secret was shown once when it was generated.</span>
                  </p>
                ) : (
                  <p className="hint">A public client: no secret. It proves itself with PKCE.</p>
                )}
              </>
            ) : generated ? (
              <SecretOnce clientId={generated.clientId} secret={generated.secret} />
            ) : (
              <>
                <p className="hint">
                  {isConfidential(type)
                    ? 'Generate the client ID and secret to give to the app now, or they are generated when you save.'
                    : 'A public client has a client ID and no secret.'}
                </p>
                <Button variant="secondary" onClick={() => setGenerated({ clientId: randomHex(12), secret: isConfidential(type) ? randomSecret() : null })}>
                  Generate client credentials
                </Button>
              </>
            )}
          </section>
        )}

        <section aria-labelledby="meta-h">
          <h2 id="meta-h">IdP metadata</h2>
          {type === 'saml' ? (
            <SamlIdp saml={app?.saml} clientId={app?.clientId} />
          ) : (
            <Button variant="secondary" onClick={() => setDialog('metadata')}>
              View and copy IdP metadata
            </Button>
          )}
        </section>

        {conflict ? (
          <Banner level="error">
            <p>{error!.message}</p>
            <p>
              <Button variant="secondary" onClick={reload}>
                Reload the profile
              </Button>{' '}
              (your changes here are lost)
            </p>
          </Banner>
        ) : (
          <FormError error={error} />
        )}
        <div className="actions">
          <Button type="submit" busy={busy} busyLabel="Saving…">
            Save
          </Button>
          <Button variant="secondary" onClick={() => navigate('/apps')}>
            Cancel
          </Button>
          {app && (
            <Button variant="danger" className="push-right" onClick={() => setDialog('delete')}>
              Delete profile
            </Button>
          )}
        </div>
      </form>

      {app && <DeploymentSummary app={app} onChanged={reload} />}

      {dialog === 'metadata' && <MetadataDialog onClose={() => setDialog(undefined)} />}
      {dialog === 'delete' && app && (
        <ConfirmDialog
          title={`Delete ${app.displayName}?`}
          confirmLabel="Delete profile"
          onClose={() => setDialog(undefined)}
          onConfirm={async () => {
            await api('DELETE', tp(`/apps/${enc(app.clientId)}`));
            notify(`Deleted ${app.displayName}.`);
            navigate('/apps');
          }}
        >
          <p>
            Users will no longer be able to sign in to <strong>{app.displayName}</strong>, and its client ID and secret stop working. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
      {dialog === 'regenerate' && app && (
        <ConfirmDialog
          title="Generate a new client secret?"
          confirmLabel="Generate new secret"
          onClose={() => setDialog(undefined)}
          onConfirm={async () => {
            const r = await api<{ clientId: string; clientSecret: string }>('POST', tp(`/apps/${enc(app.clientId)}/secret`));
            setShownSecret({ clientId: r.clientId, secret: r.clientSecret });
          }}
        >
          <p>
            The current secret stops working at once: <strong>{app.displayName}</strong> cannot sign users in until it has the new one.
          </p>
        </ConfirmDialog>
      )}
      {shownSecret && (
        <Dialog
          title="Client credentials"
          onClose={() => {
            const next = shownSecret.next;
            setShownSecret(undefined);
            if (next) navigate(next, { replace: true });
          }}
        >
          <SecretOnce clientId={shownSecret.clientId} secret={shownSecret.secret} />
          <div className="actions">
            <Button
              onClick={() => {
                const next = shownSecret.next;
                setShownSecret(undefined);
                if (next) navigate(next, { replace: true });
              }}
            >
              I have copied the secret
            </Button>
          </div>
        </Dialog>
      )}
    </>
  );
}
