// Signing in to the console: it is a public OIDC client of its tenant (authorization code +
// PKCE). Tokens live in this module's memory only — never in localStorage or sessionStorage —
// so a reload signs in again, silently through the SSO session when there is one. What must
// survive the round trip to the sign-in page (state, nonce, PKCE verifier, where to return)
// is kept in sessionStorage for that round trip only and removed when the browser comes back.
import { settings } from './settings.ts';

const PENDING = 'gatehouse-console:pending-sign-in';

interface Tokens {
  accessToken: string;
  refreshToken?: string;
  idToken: string;
  expiresAt: number;
}
let tokens: Tokens | null = null;
let refreshTimer: number | undefined;
let refreshing: Promise<boolean> | null = null;

export type StartResult =
  | { kind: 'signed-in' }
  | { kind: 'signed-out' }
  | { kind: 'denied'; message: string }
  | { kind: 'failed'; message: string }
  | { kind: 'redirecting' };

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const random = () => b64url(crypto.getRandomValues(new Uint8Array(32)));
const decodePayload = (jwt: string): Record<string, unknown> => {
  const part = jwt.split('.')[1] ?? '';
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))));
};

const redirectUri = () => `${settings.issuer}/console/callback`;

/** Leave for the tenant's sign-in page; come back to `returnTo` (a path under the console). */
export async function signIn(returnTo = location.pathname + location.search): Promise<never> {
  const state = random();
  const nonce = random();
  const verifier = random();
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PENDING, JSON.stringify({ state, nonce, verifier, returnTo: returnTo.startsWith(settings.base) ? returnTo : `${settings.base}/` }));
  const to = new URL(`${settings.issuer}/auth`);
  const params: Record<string, string> = {
    client_id: settings.clientId,
    response_type: 'code',
    scope: settings.scope,
    redirect_uri: redirectUri(),
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    resource: settings.resource,
  };
  for (const [k, v] of Object.entries(params)) to.searchParams.set(k, v);
  location.assign(to.href);
  return new Promise<never>(() => {});
}

async function tokenRequest(params: Record<string, string>): Promise<Tokens> {
  const res = await fetch(`${settings.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: settings.clientId, resource: settings.resource, ...params }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error_description || body.error || `the token endpoint answered ${res.status}`);
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token ?? tokens?.refreshToken,
    idToken: body.id_token ?? tokens?.idToken ?? '',
    expiresAt: Date.now() + Number(body.expires_in ?? 600) * 1000,
  };
}

function keep(t: Tokens): void {
  tokens = t;
  clearTimeout(refreshTimer);
  // Renew a minute before the access token expires, while the SSO session lasts.
  if (t.refreshToken)
    refreshTimer = window.setTimeout(
      () => {
        void refresh();
      },
      Math.max(5_000, t.expiresAt - Date.now() - 60_000),
    );
}

/** Renew the access token with the refresh token; false when the session has ended. */
export function refresh(): Promise<boolean> {
  if (!tokens?.refreshToken) return Promise.resolve(false);
  refreshing ??= tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refreshToken })
    .then(
      (t) => {
        keep(t);
        return true;
      },
      () => {
        tokens = null;
        return false;
      },
    )
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/** Called once at start: finish a sign-in coming back, or start one. */
export async function start(): Promise<StartResult> {
  const url = new URL(location.href);
  if (url.pathname === `${settings.base}/signed-out`) return { kind: 'signed-out' };
  if (url.pathname !== `${settings.base}/callback`) {
    await signIn();
    return { kind: 'redirecting' };
  }

  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as { state: string; nonce: string; verifier: string; returnTo: string } | null;
  sessionStorage.removeItem(PENDING);
  const error = url.searchParams.get('error');
  if (error) {
    history.replaceState(null, '', `${settings.base}/`);
    const description = url.searchParams.get('error_description') ?? '';
    if (error === 'access_denied') return { kind: 'denied', message: description || 'This account may not use the admin console.' };
    return { kind: 'failed', message: description || error };
  }
  if (!pending || pending.state !== url.searchParams.get('state')) {
    history.replaceState(null, '', `${settings.base}/`);
    return { kind: 'failed', message: 'This sign-in was started in another tab or has expired.' };
  }
  try {
    const t = await tokenRequest({
      grant_type: 'authorization_code',
      code: url.searchParams.get('code') ?? '',
      redirect_uri: redirectUri(),
      code_verifier: pending.verifier,
    });
    if (decodePayload(t.idToken).nonce !== pending.nonce) throw new Error('the ID token does not belong to this sign-in');
    keep(t);
  } catch (e) {
    history.replaceState(null, '', `${settings.base}/`);
    return { kind: 'failed', message: (e as Error).message };
  }
  history.replaceState(null, '', pending.returnTo);
  return { kind: 'signed-in' };
}

export const accessToken = () => tokens?.accessToken;

/** Who signed in, from the ID token (the admin API's /me says which roles they hold). */
export function idClaims(): { sub: string; email?: string; name?: string } {
  return tokens?.idToken ? (decodePayload(tokens.idToken) as { sub: string; email?: string }) : { sub: '' };
}

/** End the SSO session at the tenant (RP-initiated logout), then show the signed-out page. */
export async function signOut(): Promise<void> {
  const t = tokens;
  tokens = null;
  clearTimeout(refreshTimer);
  if (t?.refreshToken) {
    await fetch(`${settings.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: settings.clientId, token: t.refreshToken, token_type_hint: 'refresh_token' }),
    }).catch(() => undefined);
  }
  const to = new URL(`${settings.issuer}/session/end`);
  to.searchParams.set('client_id', settings.clientId);
  to.searchParams.set('post_logout_redirect_uri', `${settings.issuer}/console/signed-out`);
  if (t?.idToken) to.searchParams.set('id_token_hint', t.idToken);
  location.assign(to.href);
}
