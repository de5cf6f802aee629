// A small relying-party web app for browser tests: /login starts code + PKCE with
// openid-client, /callback finishes it and shows who signed in, /logout starts RP-initiated logout.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';

export async function startTestRp(opts: { issuer: string; clientId: string; clientSecret: string; port?: number }) {
  const pending = new Map<string, { verifier: string; nonce: string }>();
  let config: oidc.Configuration | undefined;
  let base = '';
  let lastIdToken = '';
  let lastClaims: Record<string, unknown> = {};
  let lastInitiate: Record<string, string> | undefined;
  const cfg = async () =>
    (config ??= await oidc.discovery(new URL(opts.issuer), opts.clientId, undefined, oidc.ClientSecretBasic(opts.clientSecret), {
      execute: [oidc.allowInsecureRequests],
    }));
  const html = (res: http.ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'text/html' }).end(`<!doctype html><title>Test RP</title><body>${body}</body>`);
  };
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url!, base);
      // Third-party-initiated login (OpenID Connect Core 4): only for our own issuer.
      if (url.pathname === '/initiate') {
        if (url.searchParams.get('iss') !== opts.issuer) return html(res, 400, '<h1 id="error">unknown issuer</h1>');
        lastInitiate = Object.fromEntries(url.searchParams);
        const hint = url.searchParams.get('login_hint');
        res.writeHead(302, { location: `${base}/login${hint ? `?login_hint=${encodeURIComponent(hint)}` : ''}` }).end();
        return;
      }
      if (url.pathname === '/login') {
        const verifier = oidc.randomPKCECodeVerifier();
        const state = oidc.randomState();
        const nonce = oidc.randomNonce();
        pending.set(state, { verifier, nonce });
        const extra = Object.fromEntries(url.searchParams);
        const to = oidc.buildAuthorizationUrl(await cfg(), {
          redirect_uri: `${base}/callback`,
          scope: 'openid email profile',
          state,
          nonce,
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          ...extra,
        });
        res.writeHead(302, { location: to.href }).end();
        return;
      }
      if (url.pathname === '/callback') {
        if (url.searchParams.get('error')) return html(res, 200, `<h1 id="error">${url.searchParams.get('error')}</h1>`);
        const p = pending.get(url.searchParams.get('state') ?? '');
        if (!p) return html(res, 400, '<h1>unknown state</h1>');
        const tokens = await oidc.authorizationCodeGrant(await cfg(), url, {
          pkceCodeVerifier: p.verifier,
          expectedState: url.searchParams.get('state')!,
          expectedNonce: p.nonce,
        });
        lastIdToken = tokens.id_token!;
        lastClaims = tokens.claims()!;
        return html(res, 200, `<h1 id="user">Signed in as ${tokens.claims()!.email}</h1>`);
      }
      if (url.pathname === '/logout') {
        const to = oidc.buildEndSessionUrl(await cfg(), { id_token_hint: lastIdToken, post_logout_redirect_uri: `${base}/bye` });
        res.writeHead(302, { location: to.href }).end();
        return;
      }
      if (url.pathname === '/bye') return html(res, 200, '<h1 id="bye">Signed out of the app</h1>');
      html(res, 404, 'not found');
    } catch (e) {
      html(res, 500, `<pre id="rp-error">${String((e as Error).message)}</pre>`);
    }
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    idTokenClaims: () => lastClaims,
    initiated: () => lastInitiate,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
