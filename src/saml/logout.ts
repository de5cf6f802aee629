// Gatehouse-initiated Single Logout: when a Gatehouse session ends (the user signs out, an
// administrator ends it, an SP's LogoutRequest ends it), the engine sends back-channel logout
// to every app signed in to through it. For a SAML app with a SOAP Single Logout service its
// logout token arrives here, in-process (oidc/engine.ts's fetch hook), and becomes a signed
// SAML LogoutRequest sent to the SP over SOAP through the outbound rules.
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

/** A logout token the engine is sending to a SAML app, handled here; answers as the SP did (200, or 400 with why). */
export async function samlBackchannelLogout(services: Services, tenant: Tenant, url: string, init: RequestInit): Promise<Response> {
  const issuer = issuerFor(services.config.publicUrl, tenant.slug);
  const clientId = decodeURIComponent(url.slice(`${issuer}/saml/backchannel/`.length));
  const audit = (level: 'info' | 'warn', data: Record<string, unknown>) =>
    services.auditStore.record({ tenantId: tenant.id, type: 'saml.logout', level, data: { clientId, initiatedBy: 'idp', ...data } }).catch(() => {});
  // The token was minted by this engine a moment ago and never left the process: its claims are read, not verified.
  const token = new URLSearchParams(String(init.body ?? '')).get('logout_token') ?? '';
  let claims: { sub?: string; sid?: string } = {};
  try { claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as typeof claims; } catch { /* below */ }
  const app = await services.appStore.byTenantClientId(tenant.id, clientId);
  const user = claims.sub ? await services.userStore.userById(tenant.id, claims.sub) : undefined;
  if (!app?.saml?.sloBackchannelUrl || !user || !claims.sid) return new Response('nothing to log out', { status: 400 });
  if ((askedBy.get(askKey(tenant.id, clientId, user.id)) ?? 0) > Date.now()) return new Response('', { status: 200 }); // it asked: it is answered by its LogoutResponse
  const { signing } = await services.samlService.keys(tenant.id);
  const { nameId, format } = await services.samlService.nameIdFor(app, user, claims.sid);
  const req = buildLogoutRequest({ issuer, app, key: signing, nameId, nameIdFormat: format, destination: app.saml.sloBackchannelUrl });
  // The signed request goes into the SOAP body as it is: its signature covers it, not the envelope.
  const envelope = `<?xml version="1.0" encoding="UTF-8"?><soap-env:Envelope xmlns:soap-env="${SOAP_ENV}"><soap-env:Body>${req.xml}</soap-env:Body></soap-env:Envelope>`;
  try {
    const res = await services.outbound.fetch(app.saml.sloBackchannelUrl, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: 'http://www.oasis-open.org/committees/security' }, body: envelope, redirect: 'manual' });
    const body = await res.text();
    let status: string | undefined;
    try {
      const env = parseXml(body, 'The SP\'s SOAP answer').documentElement!;
      const lr = child(child(env, SOAP_ENV, 'Body') ?? env, NS.samlp, 'LogoutResponse');
      status = lr && child(child(lr, NS.samlp, 'Status') ?? lr, NS.samlp, 'StatusCode')?.getAttribute('Value') || undefined;
    } catch { /* reported below */ }
    const ok = res.ok && status === STATUS.success;
    await audit(ok ? 'info' : 'warn', { app: app.displayName, subject: user.email, requestId: req.id, httpStatus: res.status, status: status ?? null, message: ok ? `${user.email} was logged out of ${app.displayName} (SAML SOAP logout).` : `${app.displayName} did not confirm the SAML logout of ${user.email} (HTTP ${res.status}, status ${status ?? 'none'}).` });
    return new Response(ok ? '' : `SP answered ${res.status} ${status ?? ''}`, { status: ok ? 200 : 502 });
  } catch (e) {
    await audit('warn', { app: app.displayName, subject: user.email, message: `The SAML logout could not reach ${app.displayName}: ${(e as Error).message}` });
    return new Response((e as Error).message, { status: 502 });
  }
}
