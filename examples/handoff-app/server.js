#!/usr/bin/env node
// A small third-party "client application" of the kind Gatehouse hands refresh tokens to:
// Gatehouse POSTs refresh_token to /gatehouse/login; the app trades it at the token endpoint
// (grant_type=refresh_token, with its own client credentials) for an access token, calls
// Gatehouse's profile endpoint with it, and shows who the user is. No dependencies.
//
//   GATEHOUSE_ISSUER=http://localhost:3000/t/default CLIENT_ID=... CLIENT_SECRET=... PORT=4000 node server.js
//
// Register it in Gatehouse as a hand-off app with login redirect URL http://localhost:4000/gatehouse/login.
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><meta charset="utf-8"><title>Member Portal</title><body>${body}</body>`);
};

export async function startHandoffApp({ issuer, clientId, clientSecret, port = 0, host = '127.0.0.1' }) {
  const basic = 'Basic ' + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
  /** The refresh token of the last visit, kept so /refresh can show a later trade. */
  let latest = null;

  async function trade(refreshToken) {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
    });
    const body = await res.json();
    if (!res.ok) throw Object.assign(new Error(body.error_description ?? body.error), { error: body.error, status: res.status });
    latest = body.refresh_token ?? refreshToken;
    const profile = await fetch(`${issuer}/api/profile`, { headers: { authorization: `Bearer ${body.access_token}` } });
    if (!profile.ok) throw Object.assign(new Error(`profile endpoint answered ${profile.status}`), { error: 'profile_failed', status: profile.status });
    return profile.json();
  }

  const show = (res, who) =>
    page(res, 200, `<h1 id="hello">Hello ${esc(who.name)}</h1><p id="email">${esc(who.email)}</p><p><a href="/refresh">Refresh</a></p>`);
  const fail = (res, e) =>
    page(res, 401, `<h1>Could not sign you in</h1><p id="error">${esc(e.error ?? 'error')}: ${esc(e.message)}</p><p>Open this app from Gatehouse again.</p>`);

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://app');
    try {
      if (req.method === 'POST' && url.pathname === '/gatehouse/login') {
        let raw = '';
        for await (const chunk of req) {
          raw += chunk;
          if (raw.length > 16384) return page(res, 413, 'too large');
        }
        const refreshToken = new URLSearchParams(raw).get('refresh_token');
        if (!refreshToken) return page(res, 400, '<p id="error">no refresh_token was posted</p>');
        return show(res, await trade(refreshToken));
      }
      if (url.pathname === '/refresh') {
        if (!latest) return page(res, 400, '<p id="error">not signed in</p>');
        return show(res, await trade(latest));
      }
      if (url.pathname === '/') return page(res, 200, '<h1>Member Portal</h1><p>Open this app from your Gatehouse launcher.</p>');
      page(res, 404, 'not found');
    } catch (e) {
      fail(res, e);
    }
  });
  await new Promise((resolve) => server.listen(port, host, resolve));
  const base = `http://${host}:${server.address().port}`;
  return {
    base,
    loginUrl: `${base}/gatehouse/login`,
    /** The refresh token the app holds now (tests use it to check expiry). */
    refreshToken: () => latest,
    trade,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { GATEHOUSE_ISSUER, CLIENT_ID, CLIENT_SECRET, PORT = '4000' } = process.env;
  if (!GATEHOUSE_ISSUER || !CLIENT_ID || !CLIENT_SECRET) {
    console.error('Set GATEHOUSE_ISSUER, CLIENT_ID and CLIENT_SECRET (and PORT, default 4000).');
    process.exit(2);
  }
  const app = await startHandoffApp({ issuer: GATEHOUSE_ISSUER, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, port: Number(PORT), host: 'localhost' });
  console.log(`Hand-off app at ${app.base}; register ${app.loginUrl} as the login redirect URL.`);
}
