// The bare-engine peer for the benchmark: oidc-provider with an in-memory adapter,
// the same client, token and cookie settings as Gatehouse's engine (src/oidc/engine.ts), the
// same issuer shape (<url>/t/default) and the same sign-in steps (identifier page, then
// password page), but no store, no directory, no audit, no metrics, no Koa around it.
//
//   PORT=4100 HOST=127.0.0.1 node bench/peer.ts
//
// Prints "peer is running at <url>" when it listens; GET /readyz answers 200.
// PEER_PASSWORD_CHECK=argon2 (default) verifies the password with argon2id and the same
// parameters as Gatehouse (src/directory/passwords.ts) so that sign-ins cost the same hash;
// PEER_PASSWORD_CHECK=plain compares the string instead (the engine alone, no hashing).
import http from 'node:http';
import crypto from 'node:crypto';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { hash, verify } from '@node-rs/argon2';
import { BENCH } from './settings.ts';

const PORT = Number(process.env.PORT ?? 4100);
const HOST = process.env.HOST ?? '127.0.0.1';
const publicUrl = `http://${HOST}:${PORT}`;
const issuer = `${publicUrl}/t/default`;
const passwordCheck = process.env.PEER_PASSWORD_CHECK === 'plain' ? 'plain' : 'argon2';
const OWASP = { algorithm: 2 /* Argon2id */, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

// Keys like Gatehouse's: RS256 (2048) and ES256, each an active and a published next key; RS256 first.
function jwk(alg: 'RS256' | 'ES256') {
  const { privateKey } =
    alg === 'RS256' ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }) : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg, use: 'sig' };
}
const jwks = { keys: [jwk('RS256'), jwk('RS256'), jwk('ES256'), jwk('ES256')] };

const USER = { id: 'bench-user-0001', ...BENCH.user };
const passwordHash = passwordCheck === 'argon2' ? await hash(USER.password, OWASP) : '';
const checkPassword = (pw: string) =>
  passwordCheck === 'argon2'
    ? verify(passwordHash, pw).catch(() => false)
    : Promise.resolve(pw.length === USER.password.length && crypto.timingSafeEqual(Buffer.from(pw), Buffer.from(USER.password)));

// In-memory storage. oidc-provider's built-in memory adapter keeps at most 1000 entries
// (an LRU: under load it forgets live refresh tokens and grants, which breaks refresh chains
// and would flatter the peer's memory) and recomputes a grant's member list on every write
// (O(tokens per grant)). This one is a plain Map with expiry and a Set per grant: the cheapest
// correct store, so the peer shows the engine's own cost. Payloads are kept serialized, as
// any real store keeps them (and millions of live token objects would make every young-
// generation GC slow, which is the memory store's cost, not the engine's).
type Payload = Record<string, unknown> & { grantId?: string; uid?: string; userCode?: string; consumed?: number };
const store = new Map<string, { json: string; grantId?: string; uid?: string; userCode?: string; expiresAt: number }>();
const byGrant = new Map<string, Set<string>>();
const byUid = new Map<string, string>();
const byUserCode = new Map<string, string>();
setInterval(() => {
  const now = Date.now();
  for (const [k, e] of store)
    if (e.expiresAt <= now) {
      store.delete(k);
      if (e.grantId) byGrant.get(e.grantId)?.delete(k);
    }
  for (const [g, set] of byGrant) if (set.size === 0) byGrant.delete(g);
}, 10_000).unref();
class MapAdapter {
  model: string;
  constructor(model: string) {
    this.model = model;
  }
  key(id: string) {
    return `${this.model}:${id}`;
  }
  #get(key: string): Payload | undefined {
    const e = store.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return JSON.parse(e.json) as Payload;
  }
  async upsert(id: string, payload: Payload, expiresIn?: number) {
    const key = this.key(id);
    store.set(key, {
      json: JSON.stringify(payload),
      grantId: payload.grantId,
      uid: payload.uid,
      userCode: payload.userCode,
      expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity,
    });
    if (payload.grantId) {
      let s = byGrant.get(payload.grantId);
      if (!s) byGrant.set(payload.grantId, (s = new Set()));
      s.add(key);
    }
    if (this.model === 'Session' && payload.uid) byUid.set(payload.uid, id);
    if (payload.userCode) byUserCode.set(payload.userCode, id);
  }
  async find(id: string) {
    return this.#get(this.key(id));
  }
  async findByUid(uid: string) {
    const id = byUid.get(uid);
    return id ? this.find(id) : undefined;
  }
  async findByUserCode(code: string) {
    const id = byUserCode.get(code);
    return id ? this.find(id) : undefined;
  }
  async consume(id: string) {
    const e = store.get(this.key(id));
    if (e) e.json = JSON.stringify({ ...JSON.parse(e.json), consumed: Math.floor(Date.now() / 1000) });
  }
  async destroy(id: string) {
    const key = this.key(id);
    const p = store.get(key);
    store.delete(key);
    if (p?.grantId) byGrant.get(p.grantId)?.delete(key);
    if (p?.uid && byUid.get(p.uid) === id) byUid.delete(p.uid);
    if (p?.userCode && byUserCode.get(p.userCode) === id) byUserCode.delete(p.userCode);
  }
  async revokeByGrantId(grantId: string) {
    for (const key of byGrant.get(grantId) ?? []) store.delete(key);
    byGrant.delete(grantId);
  }
}

const SCOPES = ['openid', 'offline_access', 'email', 'profile', 'groups'];
const cookieOpts = { httpOnly: true, sameSite: 'lax' as const, secure: false, path: '/t/default' };

// The same client metadata Gatehouse's clients.ts derives for a "web" and a "service" app.
const clients = [
  {
    client_id: BENCH.web.clientId,
    client_secret: BENCH.web.clientSecret,
    client_name: BENCH.web.displayName,
    token_endpoint_auth_method: 'client_secret_basic',
    application_type: 'web',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [BENCH.redirectUri],
    post_logout_redirect_uris: [],
  },
  {
    client_id: BENCH.service.clientId,
    client_secret: BENCH.service.clientSecret,
    client_name: BENCH.service.displayName,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  },
];

const configuration: Configuration = {
  adapter: MapAdapter as unknown as Configuration['adapter'],
  clients: clients as Configuration['clients'],
  jwks: jwks as Configuration['jwks'],
  async findAccount(_ctx, sub) {
    if (sub !== USER.id) return undefined;
    return {
      accountId: USER.id,
      claims: async (_use, scope) => {
        const scopes = new Set(String(scope).split(' '));
        return {
          sub: USER.id,
          email: USER.email,
          email_verified: true,
          name: `${USER.givenName} ${USER.familyName}`,
          given_name: USER.givenName,
          family_name: USER.familyName,
          preferred_username: USER.email,
          ...(scopes.has('groups') && { groups: [] }),
        };
      },
    };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: SCOPES,
  acrValues: ['urn:gatehouse:loa:pwd'],
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url')],
    names: { session: 'gh_session', interaction: 'gh_interaction', resume: 'gh_resume' },
    long: { ...cookieOpts },
    short: { ...cookieOpts },
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    pushedAuthorizationRequests: { enabled: true },
    dPoP: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  interactions: { url: (_ctx, interaction) => `/t/default/interaction/${interaction.uid}` },
  pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
  rotateRefreshToken: true,
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  async loadExistingGrant(ctx: KoaContextWithOIDC) {
    // As Gatehouse: administrator-registered apps, consent implied, one grant per session and client.
    const session = ctx.oidc.session!;
    const client = ctx.oidc.client!;
    if (!session.accountId) return undefined;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    const grant = existing ?? new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope([...(ctx.oidc.requestParamScopes ?? [])].filter((s) => SCOPES.includes(s)).join(' '));
    const claims = [...(ctx.oidc.requestParamClaims ?? [])];
    if (claims.length) grant.addOIDCClaims(claims);
    await grant.save();
    return grant;
  },
  ttl: {
    AccessToken: 3600,
    ClientCredentials: 3600,
    IdToken: 3600,
    RefreshToken: 14 * 24 * 3600,
    AuthorizationCode: 60,
    Interaction: 3600,
    Session: 60 * 60 * 24 * 30,
    Grant: 365 * 24 * 3600,
    PushedAuthorizationRequest: 60,
    DeviceCode: 600,
    BackchannelAuthenticationRequest: 600,
  },
  enabledJWA: {
    idTokenSigningAlgValues: ['RS256', 'ES256'],
    userinfoSigningAlgValues: ['RS256', 'ES256'],
    introspectionSigningAlgValues: ['RS256', 'ES256'],
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx: unknown, err: Error) => console.error('peer engine server error', err));
const engine = provider.callback();

// ---- the minimal sign-in: identifier page, password page, finish ----
const cookieSecret = crypto.randomBytes(32);
const csrfFor = (uid: string) => crypto.createHmac('sha256', cookieSecret).update(`csrf:${uid}`).digest('base64url');
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
const page = (title: string, action: string, fields: Record<string, string>, visible: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>` +
  `<form method="post" action="${esc(action)}">` +
  Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${k}" value="${esc(v)}">`)
    .join('') +
  `${visible}<button type="submit">Continue</button></form></body></html>`;

function send(res: http.ServerResponse, status: number, body: string, type = 'text/html; charset=utf-8') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 16384) throw new Error('too large');
    chunks.push(c as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function interaction(req: http.IncomingMessage, res: http.ServerResponse, uid: string, step: string) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    return send(res, 400, 'Sign-in expired');
  }
  if (details.uid !== uid) return send(res, 400, 'Sign-in expired');
  const base = `/t/default/interaction/${uid}`;
  const csrf = csrfFor(uid);
  if (req.method === 'GET' && step === '') {
    if (details.prompt.name !== 'login') {
      // Consent is implied (loadExistingGrant); only reached if the grant went missing.
      const to = await provider.interactionResult(req, res, {}, { mergeWithLastSubmission: false });
      res.writeHead(303, { location: to }).end();
      return;
    }
    return send(res, 200, page('Sign in', `${base}/identify`, { csrf }, '<input type="email" name="email">'));
  }
  if (req.method !== 'POST') return send(res, 405, 'Method not allowed');
  const form = await readForm(req);
  if (form.get('csrf') !== csrf) return send(res, 403, 'Form expired');
  const email = String(form.get('email') ?? '')
    .trim()
    .toLowerCase();
  if (step === '/identify') return send(res, 200, page('Enter your password', `${base}/password`, { csrf, email }, '<input type="password" name="password">'));
  if (step === '/password') {
    const ok = email === USER.email && (await checkPassword(String(form.get('password') ?? '')));
    if (!ok)
      return send(
        res,
        401,
        page('Enter your password', `${base}/password`, { csrf, email }, '<p>The email or password is incorrect.</p><input type="password" name="password">'),
      );
    const to = await provider.interactionResult(
      req,
      res,
      { login: { accountId: USER.id, amr: ['pwd'], acr: 'urn:gatehouse:loa:pwd', remember: true } },
      { mergeWithLastSubmission: false },
    );
    res.writeHead(303, { location: to }).end();
    return;
  }
  send(res, 404, 'Not found');
}

const INTERACTION = /^\/t\/default\/interaction\/([A-Za-z0-9_-]+)(\/identify|\/password)?\/?$/;
const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  const path = url.split('?')[0]!;
  if (path === '/readyz' || path === '/healthz') return send(res, 200, '{"status":"ready"}', 'application/json');
  const m = INTERACTION.exec(path);
  if (m) {
    interaction(req, res, m[1]!, m[2] ?? '').catch((err) => {
      console.error(err);
      if (!res.headersSent) send(res, 500, 'error');
      else res.end();
    });
    return;
  }
  if (path === '/t/default' || path.startsWith('/t/default/')) {
    // Mounted the way Gatehouse mounts it: the engine learns its prefix from req.originalUrl.
    (req as typeof req & { originalUrl?: string }).originalUrl = url;
    req.url = url.slice('/t/default'.length) || '/';
    engine(req, res);
    return;
  }
  send(res, 404, 'Not found');
});
server.keepAliveTimeout = 65_000;
server.listen(PORT, HOST, () => {
  process.stdout.write(`peer is running at ${publicUrl} (issuer ${issuer}, password check: ${passwordCheck})\n`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 3000).unref();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
