// Gatehouse-initiated Single Logout: when a Gatehouse session ends (the user signs out, an
// administrator ends it, an SP's LogoutRequest ends it), the engine sends back-channel logout
// to every app signed in to through it. For a SAML app with a SOAP Single Logout service its
// logout token arrives here, in-process (oidc/engine.ts's fetch hook), and becomes a signed
// SAML LogoutRequest sent to the SP over SOAP through the outbound rules. An SP with only a
// front-channel (HTTP-Redirect or HTTP-POST) Single Logout service cannot be reached from the
// server: when the session ends in the browser (the engine's end_session), the apps are
// collected here and the browser is taken through each SP's SLO endpoint in turn
// (frontChannelLogout below, saml/routes.ts /slo/next), as Keycloak and Shibboleth do.
import { AsyncLocalStorage } from 'node:async_hooks';
import type Koa from 'koa';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import { issuerFor } from '../oidc/engine.ts';
import { STATUS, buildLogoutRequest } from './idp.ts';
import { NS, child, parseXml } from './xml.ts';

const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';

/**
 * Sessions being ended because an SP asked (its LogoutRequest, saml/routes.ts): that SP is not
 * sent a LogoutRequest of its own while it waits for Gatehouse's LogoutResponse. In-process is
 * enough: the session is ended by the node that received the request, during that request.
 */
const askedBy = new Map<string, number>();
const askKey = (tenantId: string, clientId: string, accountId: string) => `${tenantId}\n${clientId}\n${accountId}`;
export function spAskedForLogout(tenantId: string, clientId: string, accountId: string): () => void {
  const key = askKey(tenantId, clientId, accountId);
  askedBy.set(key, Date.now() + 60_000);
  return () => askedBy.delete(key);
}

/** An SP to take the browser through: its client ID, the user, and the engine's per-app sid (its NameID may derive from it). */
export interface FrontChannelStop {
  c: string;
  u: string;
  s: string;
}
/** The front-channel logouts still to do, sealed in a cookie between the SPs: no server state, and only this browser has it. */
export interface LogoutChain {
  t: string;
  apps: FrontChannelStop[];
  done: string;
  exp: number;
}

/** The SPs collected during one end_session request (the engine awaits its back-channel calls inside it). */
const collecting = new AsyncLocalStorage<FrontChannelStop[]>();
const CHAIN_COOKIE = 'gh_saml_slo';
const CHAIN_MS = 10 * 60_000;

function chainCookie(issuer: string, value: string, maxAgeSeconds: number): string {
  // An SP answering by HTTP-POST comes back cross-site: the cookie must then be SameSite=None,
  // which browsers accept only with Secure (https). Plain http is development on one host.
  const secure = issuer.startsWith('https:');
  return `${CHAIN_COOKIE}=${value}; Path=${new URL(issuer).pathname}/saml; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=${secure ? 'None; Secure' : 'Lax'}`;
}

/** Write the chain (or clear it: null) on the response. */
export function writeLogoutChain(services: Services, ctx: Koa.Context, issuer: string, chain: LogoutChain | null): void {
  ctx.append('Set-Cookie', chain ? chainCookie(issuer, services.sealer.seal(JSON.stringify(chain)), CHAIN_MS / 1000) : chainCookie(issuer, '', 0));
}

/** The chain this browser carries for this tenant, if any and not expired. */
export function readLogoutChain(services: Services, ctx: Koa.Context, tenant: Tenant): LogoutChain | undefined {
  const raw = ctx.cookies.get(CHAIN_COOKIE);
  if (!raw) return undefined;
  try {
    const chain = JSON.parse(services.sealer.openUncached(raw)) as LogoutChain;
    return chain.t === tenant.id && chain.exp > Date.now() && Array.isArray(chain.apps) ? chain : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Engine middleware: around the end_session confirmation, collect the front-channel SAML SPs
 * the session signed in to; when there are some, the browser goes to /saml/slo/next first, and
 * to where the engine was sending it (the RP's post_logout_redirect_uri, or the signed-out
 * page) after the last SP answered.
 */
export function frontChannelLogout(services: Services, tenant: Tenant): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || !ctx.path.endsWith('/session/end/confirm')) return next();
    const stops: FrontChannelStop[] = [];
    await collecting.run(stops, next);
    const done = ctx.response.get('Location');
    if (!stops.length || ctx.status !== 303 || !done) return;
    const issuer = issuerFor(services.config.publicUrl, tenant.slug);
    writeLogoutChain(services, ctx, issuer, { t: tenant.id, apps: stops, done, exp: Date.now() + CHAIN_MS });
    ctx.redirect(`${issuer}/saml/slo/next`);
    ctx.status = 303;
  };
}

/** A logout token the engine is sending to a SAML app, handled here; answers as the SP did (200, or 400 with why). */
export async function samlBackchannelLogout(services: Services, tenant: Tenant, url: string, init: RequestInit): Promise<Response> {
  const issuer = issuerFor(services.config.publicUrl, tenant.slug);
  const clientId = decodeURIComponent(url.slice(`${issuer}/saml/backchannel/`.length));
  const audit = (level: 'info' | 'warn', data: Record<string, unknown>) =>
    services.auditStore.record({ tenantId: tenant.id, type: 'saml.logout', level, data: { clientId, initiatedBy: 'idp', ...data } }).catch(() => {});
  // The token was minted by this engine a moment ago and never left the process: its claims are read, not verified.
  const token = new URLSearchParams(String(init.body ?? '')).get('logout_token') ?? '';
  let claims: { sub?: string; sid?: string } = {};
  try {
    claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as typeof claims;
  } catch {
    /* below */
  }
  const app = await services.appStore.byTenantClientId(tenant.id, clientId);
  const user = claims.sub ? await services.userStore.userById(tenant.id, claims.sub) : undefined;
  if (!app?.saml || !user || !claims.sid) return new Response('nothing to log out', { status: 400 });
  if ((askedBy.get(askKey(tenant.id, clientId, user.id)) ?? 0) > Date.now()) return new Response('', { status: 200 }); // it asked: it is answered by its LogoutResponse
  if (!app.saml.sloBackchannelUrl) {
    // Front-channel only: the browser is taken there when it is the one signing out.
    const stops = collecting.getStore();
    if (stops) stops.push({ c: clientId, u: user.id, s: claims.sid });
    else
      await audit('info', {
        app: app.displayName,
        subject: user.email,
        message: `${app.displayName} has only a browser (front-channel) Single Logout service; the session was not ended in a browser, so it could not be told. Its own session ends when it expires.`,
      });
    return new Response('', { status: 200 });
  }
  const signing = await services.samlService.signingKey(tenant.id);
  const { nameId, format } = await services.samlService.nameIdFor(app, user, claims.sid);
  const req = buildLogoutRequest({ issuer, app, key: signing, nameId, nameIdFormat: format, destination: app.saml.sloBackchannelUrl });
  // The signed request goes into the SOAP body as it is: its signature covers it, not the envelope.
  const envelope = `<?xml version="1.0" encoding="UTF-8"?><soap-env:Envelope xmlns:soap-env="${SOAP_ENV}"><soap-env:Body>${req.xml}</soap-env:Body></soap-env:Envelope>`;
  try {
    const res = await services.outbound.fetch(app.saml.sloBackchannelUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: 'http://www.oasis-open.org/committees/security' },
      body: envelope,
      redirect: 'manual',
    });
    const body = await res.text();
    let status: string | undefined;
    try {
      const env = parseXml(body, "The SP's SOAP answer").documentElement!;
      const lr = child(child(env, SOAP_ENV, 'Body') ?? env, NS.samlp, 'LogoutResponse');
      status = (lr && child(child(lr, NS.samlp, 'Status') ?? lr, NS.samlp, 'StatusCode')?.getAttribute('Value')) || undefined;
    } catch {
      /* reported below */
    }
    const ok = res.ok && status === STATUS.success;
    await audit(ok ? 'info' : 'warn', {
      app: app.displayName,
      subject: user.email,
      requestId: req.id,
      httpStatus: res.status,
      status: status ?? null,
      message: ok
        ? `${user.email} was logged out of ${app.displayName} (SAML SOAP logout).`
        : `${app.displayName} did not confirm the SAML logout of ${user.email} (HTTP ${res.status}, status ${status ?? 'none'}).`,
    });
    return new Response(ok ? '' : `SP answered ${res.status} ${status ?? ''}`, { status: ok ? 200 : 502 });
  } catch (e) {
    await audit('warn', { app: app.displayName, subject: user.email, message: `The SAML logout could not reach ${app.displayName}: ${(e as Error).message}` });
    return new Response((e as Error).message, { status: 502 });
  }
}
