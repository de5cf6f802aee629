// An independent OpenID provider to federate to: oidc-provider itself (not Gatehouse's code),
// with its own keys, one confidential client and a few accounts, and a bare sign-in form
// (id "upstream-login") that takes an email and a password and shows the login_hint it got.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

export interface UpstreamAccount {
  sub: string;
  email: string;
  password: string;
  given_name?: string;
  family_name?: string;
  email_verified?: boolean;
  roles?: string[];
  /** Sent as the ID token's amr (what the upstream says it checked). */
  amr?: string[];
  [claim: string]: unknown;
}

export interface TestUpstream {
  issuer: string;
  clientId: string;
  clientSecret: string;
  accounts: Map<string, UpstreamAccount>;
  /** Serve a JWKS of another key, so ID tokens no longer verify. */
  tamperJwks(on: boolean): void;
  /** Drop every connection to the token endpoint (unreachable for Gatehouse, not for browsers). */
  dropTokenRequests(on: boolean): void;
  /** login_hint values the sign-in form received. */
  hints: string[];
  stop(): Promise<void>;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startUpstream(opts: { redirectUri: string; accounts: UpstreamAccount[]; idTokenClaims?: boolean; name?: string }): Promise<TestUpstream> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const accounts = new Map(opts.accounts.map((a) => [a.sub, a]));
  const clientId = `gatehouse-${Math.random().toString(36).slice(2, 8)}`;
  const clientSecret = `secret-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
  const key = { ...(await exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const other = { ...(await exportJWK((await generateKeyPair('RS256', { extractable: true })).publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let tamper = false;
  let dropToken = false;
  const hints: string[] = [];

  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [opts.redirectUri], token_endpoint_auth_method: 'client_secret_post' }],
    jwks: { keys: [key] },
    pkce: { required: () => true },
    claims: { openid: ['sub', 'acr', 'amr'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name', 'roles', 'groups', 'employee_id'] },
    conformIdTokenClaims: opts.idTokenClaims === false,
    findAccount: async (_ctx, sub) => {
      const a = accounts.get(sub);
      if (!a) return undefined;
      return {
        accountId: sub,
        claims: async () => {
          const { password: _p, amr: _a, ...claims } = a;
          return claims;
        },
      };
    },
    // Consent is implied in this test directory.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
    interactions: { url: (_ctx, interaction) => `/login/${interaction.uid}` },
    cookies: { keys: ['upstream-test-cookie-key'] },
    features: { devInteractions: { enabled: false } },
  });

  provider.use(async (ctx, next) => {
    if (ctx.path === '/jwks' && tamper) {
      ctx.body = { keys: [other] };
      return;
    }
    if (ctx.path === '/token' && dropToken) {
      ctx.req.socket.destroy();
      ctx.respond = false;
      return;
    }
    const m = /^\/login\/([\w-]+)$/.exec(ctx.path);
    if (!m) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (ctx.method === 'GET') {
      const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : '';
      hints.push(hint);
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>${esc(opts.name ?? 'Upstream')} sign-in</title><h1>${esc(opts.name ?? 'Upstream')}</h1>
<form id="upstream-login" method="post"><input id="login" name="login" value="${esc(hint)}"><input id="password" name="password" type="password"><button type="submit">Sign in upstream</button></form>`;
      return;
    }
    const body = await new Promise<string>((resolve) => {
      let s = '';
      ctx.req.on('data', (c) => {
        s += c;
      });
      ctx.req.on('end', () => resolve(s));
    });
    const form = new URLSearchParams(body);
    const account = [...accounts.values()].find((a) => a.email === form.get('login') && a.password === form.get('password'));
    if (!account) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = '<h1 id="upstream-error">wrong email or password</h1>';
      return;
    }
    await provider.interactionFinished(
      ctx.req,
      ctx.res,
      { login: { accountId: account.sub, amr: account.amr ?? ['pwd'] } },
      { mergeWithLastSubmission: false },
    );
    ctx.respond = false;
  });
  server.on('request', provider.callback());

  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    hints,
    tamperJwks: (on) => {
      tamper = on;
    },
    dropTokenRequests: (on) => {
      dropToken = on;
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
