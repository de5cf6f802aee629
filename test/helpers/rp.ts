// Relying-party side of protocol tests: openid-client v6 configured for a Gatehouse tenant.
import * as oidc from 'openid-client';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Agent } from './agent.ts';
import { GENEROUS_MS } from './wait.ts';

export async function rpConfig(issuer: string, clientId: string, secret?: string): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(issuer), clientId, secret, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), { execute: [oidc.allowInsecureRequests] });
}

/** Run a full authorization code + PKCE flow through the agent; returns the token response. */
export async function codeFlow(
  config: oidc.Configuration,
  agent: Agent,
  opts: { redirectUri: string; email: string; password: string; scope?: string; extra?: Record<string, string> },
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: opts.redirectUri,
    scope: opts.scope ?? 'openid email profile',
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...opts.extra,
  });
  const callback = await agent.signIn(url.href, opts.redirectUri, opts.email, opts.password);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  return { tokens, callback };
}

/** A tiny relying party endpoint that records back-channel logout tokens it receives. */
export async function backchannelReceiver() {
  const received: string[] = [];
  const waiters: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token');
      if (token) received.push(token);
      res.writeHead(200).end();
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel`;
  return {
    url,
    received,
    /** Resolves when a logout token has arrived (or after `ms`, whichever first: generous, the callers then assert). */
    next: (ms = GENEROUS_MS) =>
      new Promise<void>((resolve) => {
        if (received.length) return resolve();
        const t = setTimeout(resolve, ms);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
