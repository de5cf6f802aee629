// HTTP for the SAML 2.0 identity provider of each tenant, under <issuer>/saml/:
//   metadata            the IdP metadata (entity ID = this URL)
//   sso                 the SSO service, HTTP-Redirect and HTTP-POST bindings (SP-initiated)
//   launch/<clientId>   IdP-initiated sign-in (the launcher), with RelayState
//   callback            back from the engine: the SAML Response is built and POSTed to the SP
//   slo                 Single Logout: an SP's LogoutRequest ends the Gatehouse session
//
// Why through the engine: a SAML sign-in is run as an internal authorization request of the
// tenant's oidc-provider for the SAML profile's client_id (oidc/clients.ts), redirected to
// Gatehouse's own callback. So the SSO session, the sign-in pages, deployments ("not deployed"
// page), user policies, MFA and acr step-up, and session tracking are the OIDC side's own,
// not re-implemented; the callback turns the result (the authorization code, redeemed
// in-process) into a signed SAML Response.
import crypto from 'node:crypto';
import Router from '@koa/router';
import type Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { App } from '../storage/apps.ts';
import { handoffPage, messagePage } from '../interaction/pages.ts';
import { noteTenantLocale, pageBranding } from '../interaction/branding.ts';
import { t as msg } from '../i18n/index.ts';
import { issuerFor } from '../oidc/engine.ts';
import { isConsumed } from '../oidc/internals/index.ts';
import { SamlError } from './xml.ts';
import { readLogoutChain, spAskedForLogout, writeLogoutChain } from './logout.ts';
import {
  REQUEST_MAX_AGE_MS,
  STATUS,
  buildLogoutRequest,
  buildLogoutResponse,
  buildResponse,
  classRefFor,
  idpMetadataXml,
  incomingMessage,
  peekIssuer,
  readAuthnRequest,
  readLogoutRequest,
  redirectUrl,
  samlCallbackUri,
  type Incoming,
} from './idp.ts';

type Ctx = Koa.ParameterizedContext<Koa.DefaultState, Koa.DefaultContext & { params: Record<string, string> }>;

/** A sign-in in progress, carried sealed in the engine's `state` (so parallel sign-ins in one browser do not clash). */
interface Pending {
  c: string; // the SAML app's client ID
  r: string | null; // the AuthnRequest ID (null: IdP-initiated)
  a: string; // the ACS URL, checked against the profile
  rs: string | undefined; // RelayState
  v: string; // the PKCE verifier
  cls: string[]; // requested AuthnContextClassRefs
  p: boolean; // IsPassive
  exp: number;
}

/** RelayState is at most 80 bytes (SAML bindings 3.4.3); a little slack for SPs that overstep. */
const MAX_RELAY_STATE = 512;
const SIGN_IN_MS = 30 * 60_000;

export function samlRouter(services: Services): Router {
  const router = new Router({ prefix: '/t/:slug/saml' });
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '512kb' });

  const page = (ctx: Ctx, status: number, title: string, message: string, detail?: string, tenant?: Tenant) => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = messagePage({ title, message, detail, branding: tenant && pageBranding(tenant) });
  };
  const audit = (tenant: Tenant, ctx: Ctx, type: string, data: Record<string, unknown>, level: 'info' | 'warn' = 'info', subject?: string) =>
    services.auditStore.record({ tenantId: tenant.id, type, level, ip: ctx.ip, subject: subject ?? (data.clientId as string | undefined) ?? null, data });

  async function tenantOf(ctx: Ctx): Promise<Tenant | undefined> {
    const tenant = await services.tenantStore.bySlug(ctx.params.slug!);
    if (!tenant) page(ctx, 404, msg('error.unknownOrg.title'), msg('error.unknownOrg.message', { slug: ctx.params.slug! }), msg('saml.unknownOrg.detail'));
    else noteTenantLocale(tenant);
    return tenant;
  }
  const issuerOf = (tenant: Tenant) => issuerFor(services.config.publicUrl, tenant.slug);

  /** A refused SAML message: a page for the person, an audit event for the administrator. */
  async function refuse(ctx: Ctx, tenant: Tenant, e: unknown, app?: App) {
    if (!(e instanceof SamlError)) throw e;
    await audit(tenant, ctx, 'saml.request_refused', { clientId: app?.clientId, app: app?.displayName, message: e.message }, 'warn');
    // The message itself stays as the SAML layer wrote it (English): it is for an administrator.
    page(
      ctx,
      e.status,
      msg('saml.refused.title'),
      e.message,
      app ? msg('saml.refused.detail', { app: app.displayName }) : msg('saml.refused.detailNoApp'),
      tenant,
    );
  }

  /** POST a SAML message to the SP (HTTP-POST binding) through an auto-submitting form. */
  function postTo(ctx: Ctx, app: App, url: string, fields: Record<string, string | undefined>, signingOut = false) {
    ctx.type = 'html';
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = handoffPage({
      appName: app.displayName,
      url,
      fields: Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined)),
      signingOut,
    });
  }

  async function sendResponse(
    ctx: Ctx,
    tenant: Tenant,
    app: App,
    t: Pick<Pending, 'r' | 'a' | 'rs'>,
    status: { code: string; sub?: string; message?: string },
  ) {
    const signing = await services.samlService.signingKey(tenant.id);
    const xml = await buildResponse({ issuer: issuerOf(tenant), app, key: signing, inResponseTo: t.r ?? undefined, acsUrl: t.a, status });
    postTo(ctx, app, t.a, { SAMLResponse: Buffer.from(xml).toString('base64'), RelayState: t.rs });
  }

  /** Into the engine as the SAML app's client (see the top of this file). */
  function startSignIn(ctx: Ctx, tenant: Tenant, p: Omit<Pending, 'v' | 'exp'>, o: { forceAuthn?: boolean; acrs?: string[] } = {}) {
    const v = crypto.randomBytes(32).toString('base64url');
    const state = services.sealer.seal(JSON.stringify({ ...p, v, exp: Date.now() + SIGN_IN_MS } satisfies Pending));
    const to = new URL(`${issuerOf(tenant)}/auth`);
    const params: Record<string, string> = {
      client_id: p.c,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: samlCallbackUri(issuerOf(tenant)),
      state,
      code_challenge: crypto.createHash('sha256').update(v).digest('base64url'),
      code_challenge_method: 'S256',
    };
    if (p.p) params.prompt = 'none';
    else if (o.forceAuthn) params.prompt = 'login';
    // RequestedAuthnContext as an essential acr claim: the engine's step-up rules (policy/acr.ts) apply.
    if (o.acrs?.length) params.claims = JSON.stringify({ id_token: { acr: { essential: true, values: o.acrs } } });
    for (const [k, val] of Object.entries(params)) to.searchParams.set(k, val);
    ctx.status = 303;
    ctx.redirect(to.href);
  }

  router.get('/metadata', async (ctx) => {
    const tenant = await tenantOf(ctx);
    if (!tenant) return;
    const published = await services.samlService.publishedCertificates(tenant.id);
    ctx.type = 'application/samlmetadata+xml';
    ctx.set('Cache-Control', 'max-age=300');
    ctx.body = idpMetadataXml({ issuer: issuerOf(tenant), certificates: published });
  });

  async function sso(ctx: Ctx) {
    const tenant = await tenantOf(ctx);
    if (!tenant) return;
    let app: App | undefined;
    try {
      const inc = incomingMessage('SAMLRequest', ctx.method, ctx.querystring, (ctx.request as { body?: Record<string, unknown> }).body ?? {});
      if (inc.relayState && inc.relayState.length > MAX_RELAY_STATE) throw new SamlError(`The RelayState is longer than ${MAX_RELAY_STATE} characters.`);
      const { doc, issuer } = peekIssuer(inc, 'AuthnRequest');
      app = await services.appStore.bySamlEntityId(tenant.id, issuer);
      if (app?.type !== 'saml' || !app.saml)
        throw new SamlError(
          `The service provider ${issuer} is not registered with this organization's Gatehouse. The administrator adds it as a SAML application (with this entity ID).`,
        );
      const req = readAuthnRequest(inc, doc, app, issuerOf(tenant));
      if (!(await services.samlService.firstUse(tenant.id, app.saml.entityId, req.id, Date.now() + REQUEST_MAX_AGE_MS + 60_000))) {
        throw new SamlError(
          `This AuthnRequest (ID ${req.id}) was already used. Each sign-in needs a new request: go back to ${app.displayName} and sign in again.`,
        );
      }
      await audit(tenant, ctx, 'saml.authn_request', {
        clientId: app.clientId,
        app: app.displayName,
        requestId: req.id,
        binding: inc.binding,
        signed: req.signed,
        acsUrl: req.acsUrl,
      });
      const pending = { c: app.clientId, r: req.id, a: req.acsUrl, rs: inc.relayState, cls: req.requestedClasses, p: req.isPassive };
      if (req.requestedClasses.length && !req.acrs.length) {
        // Answered to the SP (its request and ACS are verified): it can say so to the user.
        return sendResponse(ctx, tenant, app, pending, {
          code: STATUS.responder,
          sub: STATUS.noAuthnContext,
          message: `Gatehouse does not offer the authentication context ${req.requestedClasses.join(', ')}.`,
        });
      }
      startSignIn(ctx, tenant, pending, { forceAuthn: req.forceAuthn, acrs: req.acrs });
    } catch (e) {
      await refuse(ctx, tenant, e, app);
    }
  }
  router.get('/sso', sso);
  router.post('/sso', forms, sso);

  // IdP-initiated: the launcher (and any link an organization publishes) opens a SAML app.
  router.get('/launch/:clientId', async (ctx) => {
    const tenant = await tenantOf(ctx);
    if (!tenant) return;
    const app = await services.appStore.byTenantClientId(tenant.id, ctx.params.clientId!);
    if (app?.type !== 'saml' || !app.saml)
      return page(ctx, 404, msg('launcher.notFound.title'), msg('saml.notFound.message'), msg('launcher.notFound.detail'), tenant);
    const rs = typeof ctx.query.RelayState === 'string' ? ctx.query.RelayState : undefined;
    if (rs && rs.length > MAX_RELAY_STATE)
      return page(ctx, 400, msg('saml.relayState.title'), msg('saml.relayState.message', { max: MAX_RELAY_STATE }), msg('saml.relayState.detail'), tenant);
    startSignIn(ctx, tenant, { c: app.clientId, r: null, a: app.saml.acs[0]!.url, rs, cls: [], p: false });
  });

  router.get('/callback', async (ctx) => {
    const tenant = await tenantOf(ctx);
    if (!tenant) return;
    const again = msg('saml.again');
    let t: Pending | undefined;
    try {
      const s = typeof ctx.query.state === 'string' && ctx.query.state.length < 4096 ? ctx.query.state : '';
      t = JSON.parse(services.sealer.openUncached(s)) as Pending;
    } catch {
      /* below */
    }
    if (!t || t.exp < Date.now()) return page(ctx, 400, msg('error.expired.title'), msg('saml.expired.notOurs'), again, tenant);
    const app = await services.appStore.byTenantClientId(tenant.id, t.c);
    if (app?.type !== 'saml' || !app.saml || !app.saml.acs.some((a) => a.url === t.a))
      return page(ctx, 400, msg('saml.changed.title'), msg('saml.changed.message'), again, tenant);
    if (typeof ctx.query.error === 'string') {
      const err = ctx.query.error;
      const description = typeof ctx.query.error_description === 'string' ? ctx.query.error_description : err;
      await audit(tenant, ctx, 'saml.response_error', { clientId: app.clientId, app: app.displayName, error: err, message: description }, 'warn');
      const sub =
        t.p && /login_required|interaction_required|consent_required/.test(err)
          ? STATUS.noPassive
          : /acr|authentication context/i.test(description)
            ? STATUS.noAuthnContext
            : STATUS.requestDenied;
      return sendResponse(ctx, tenant, app, t, { code: STATUS.responder, sub, message: description });
    }
    const entry = await services.engineCache.get(tenant.slug);
    const code = typeof ctx.query.code === 'string' && ctx.query.code.length < 512 ? await entry!.provider.AuthorizationCode.find(ctx.query.code) : undefined;
    const challenge = crypto.createHash('sha256').update(t.v).digest('base64url');
    if (
      !code ||
      code.clientId !== app.clientId ||
      code.redirectUri !== samlCallbackUri(issuerOf(tenant)) ||
      isConsumed(code) ||
      code.codeChallenge !== challenge
    ) {
      return page(ctx, 400, msg('error.expired.title'), msg('saml.expired.used'), again, tenant);
    }
    await code.consume();
    const user = await services.userStore.userById(tenant.id, code.accountId!);
    if (user?.status !== 'active') return page(ctx, 403, msg('disabled.title'), msg('password.disabled'), msg('roundtrip.disabled.detail'), tenant);
    // The engine decided deployment at this authorization; asked again here so that an
    // undeploy between the two cannot slip through.
    if (!(await services.appService.isDeployedTo(app, user))) {
      await audit(
        tenant,
        ctx,
        'authorization.not_deployed',
        { clientId: app.clientId, email: user.email, message: `${user.email} tried to open an application not deployed to them.` },
        'warn',
        user.id,
      );
      return page(
        ctx,
        403,
        msg('notDeployed.title'),
        msg('notDeployed.message', { app: app.displayName, email: user.email }),
        msg('notDeployed.detail'),
        tenant,
      );
    }
    const classRef = classRefFor(code.acr, t.cls);
    // The SessionIndex names the Gatehouse session, sealed: an SP's LogoutRequest can end the
    // session it was given, and nothing else (the uid is not shown, and cannot be forged).
    const sessionIndex = code.sessionUid ? services.sealer.seal(JSON.stringify({ u: code.sessionUid, c: app.clientId })) : `_${crypto.randomUUID()}`;
    const facts = await services.samlService.facts(app, user, {
      authnInstant: (code.authTime ?? Math.floor(Date.now() / 1000)) * 1000,
      classRef,
      sessionIndex,
      sid: code.sid ?? sessionIndex,
    });
    const signing = await services.samlService.signingKey(tenant.id);
    const xml = await buildResponse({ issuer: issuerOf(tenant), app, key: signing, inResponseTo: t.r ?? undefined, acsUrl: t.a, assertion: facts });
    await audit(
      tenant,
      ctx,
      'saml.signed_in',
      {
        clientId: app.clientId,
        app: app.displayName,
        email: user.email,
        initiatedBy: t.r ? 'sp' : 'idp',
        requestId: t.r,
        nameIdFormat: app.saml.nameIdFormat,
        acr: code.acr,
        authnContext: classRef,
        message: `${user.email} signed in to ${app.displayName} (SAML).`,
      },
      'info',
      user.id,
    );
    postTo(ctx, app, t.a, { SAMLResponse: Buffer.from(xml).toString('base64'), RelayState: t.rs });
  });

  // Single Logout from an SP: its (signed) LogoutRequest ends the Gatehouse session it names,
  // which sends back-channel logout to the session's OpenID Connect apps.
  async function slo(ctx: Ctx) {
    const tenant = await tenantOf(ctx);
    if (!tenant) return;
    let app: App | undefined;
    try {
      const body = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
      const isResponse = ctx.method === 'GET' ? /(^|&)SAMLResponse=/.test(ctx.querystring) : typeof body.SAMLResponse === 'string';
      if (isResponse) {
        // The SP's answer to a logout Gatehouse started: nothing is left to do but say so.
        const inc = incomingMessage('SAMLResponse', ctx.method, ctx.querystring, body);
        const { issuer } = peekIssuer(inc, 'LogoutResponse');
        app = await services.appStore.bySamlEntityId(tenant.id, issuer);
        // In a front-channel logout chain: on to the next SP (or where the sign-out ends).
        if (readLogoutChain(services, ctx, tenant)) {
          ctx.status = 303;
          return ctx.redirect(`${issuerOf(tenant)}/saml/slo/next`);
        }
        return page(
          ctx,
          200,
          msg('logout.done.title'),
          app ? msg('saml.signedOut.app', { app: app.displayName }) : msg('logout.done.message'),
          undefined,
          tenant,
        );
      }
      const inc: Incoming = incomingMessage('SAMLRequest', ctx.method, ctx.querystring, body);
      const { doc, issuer } = peekIssuer(inc, 'LogoutRequest');
      app = await services.appStore.bySamlEntityId(tenant.id, issuer);
      if (app?.type !== 'saml' || !app.saml) throw new SamlError(`The service provider ${issuer} is not registered with this organization's Gatehouse.`);
      const req = readLogoutRequest(inc, doc, app, issuerOf(tenant));
      if (!(await services.samlService.firstUse(tenant.id, app.saml.entityId, req.id, Date.now() + REQUEST_MAX_AGE_MS + 60_000))) {
        throw new SamlError(`This LogoutRequest (ID ${req.id}) was already used.`);
      }
      const ended = await endSessionsOf(tenant, app, req.sessionIndexes);
      await audit(tenant, ctx, 'saml.logout', {
        clientId: app.clientId,
        app: app.displayName,
        requestId: req.id,
        sessionsEnded: ended,
        initiatedBy: 'sp',
        message: `${app.displayName} asked to sign the user out (SAML Single Logout); ${ended} Gatehouse session${ended === 1 ? '' : 's'} ended.`,
      });
      const slo = app.saml.slo;
      if (!slo) return page(ctx, 200, msg('logout.done.title'), msg('logout.done.message'), undefined, tenant);
      const signing = await services.samlService.signingKey(tenant.id);
      const xml = buildLogoutResponse({ issuer: issuerOf(tenant), app, key: signing, inResponseTo: req.id, destination: slo.url });
      if (slo.binding === 'redirect') {
        ctx.status = 303;
        return ctx.redirect(redirectUrl(slo.url, 'SAMLResponse', xml, signing, app.saml.signatureAlgorithm, inc.relayState));
      }
      postTo(ctx, app, slo.url, { SAMLResponse: Buffer.from(xml).toString('base64'), RelayState: inc.relayState });
    } catch (e) {
      await refuse(ctx, tenant, e, app);
    }
  }

  /** End the Gatehouse sessions the SP's SessionIndexes name (the per-app sid the assertion carried). */
  async function endSessionsOf(tenant: Tenant, app: App, sessionIndexes: string[]): Promise<number> {
    let ended = 0;
    const entry = await services.engineCache.get(tenant.slug);
    for (const index of sessionIndexes.slice(0, 10)) {
      let named: { u?: string; c?: string } = {};
      try {
        named = JSON.parse(services.sealer.openUncached(index)) as typeof named;
      } catch {
        continue;
      }
      if (named.c !== app.clientId || !named.u) continue;
      const session = await entry!.provider.Session.findByUid(named.u);
      // Only a session this SP was signed in to through.
      if (!session?.authorizations?.[app.clientId]) continue;
      const done = spAskedForLogout(tenant.id, app.clientId, session.accountId ?? '');
      try {
        if (await services.sessionService.end(tenant, named.u, { by: `saml:${app.clientId}`, why: `SAML Single Logout from ${app.displayName}` })) ended++;
      } finally {
        done();
      }
    }
    return ended;
  }
  // Front-channel Single Logout, after the Gatehouse session ended in this browser
  // (saml/logout.ts frontChannelLogout): one SP at a time, a signed LogoutRequest by the SP's
  // binding; its LogoutResponse comes back to /slo, which sends the browser here again; after
  // the last, where the sign-out was going (the RP's post-logout redirect or the signed-out page).
  router.get('/slo/next', async (ctx) => {
    const tenant = await tenantOf(ctx);
    if (!tenant) return;
    ctx.set('Cache-Control', 'no-store');
    const chain = readLogoutChain(services, ctx, tenant);
    if (!chain) return page(ctx, 200, msg('logout.done.title'), msg('logout.done.message'), undefined, tenant);
    for (let stop = chain.apps.shift(); stop; stop = chain.apps.shift()) {
      const app = await services.appStore.byTenantClientId(tenant.id, stop.c);
      const user = await services.userStore.userById(tenant.id, stop.u);
      const slo = app?.saml?.slo;
      if (!app?.saml || !slo || !user) continue; // removed or changed since: nothing to tell
      const signing = await services.samlService.signingKey(tenant.id);
      const { nameId, format } = await services.samlService.nameIdFor(app, user, stop.s);
      const req = buildLogoutRequest({ issuer: issuerOf(tenant), app, key: signing, nameId, nameIdFormat: format, destination: slo.url });
      writeLogoutChain(services, ctx, issuerOf(tenant), chain);
      await audit(
        tenant,
        ctx,
        'saml.logout',
        {
          clientId: app.clientId,
          app: app.displayName,
          subject: user.email,
          requestId: req.id,
          initiatedBy: 'idp',
          binding: slo.binding,
          message: `${user.email} is being logged out of ${app.displayName} (SAML front-channel logout through the browser).`,
        },
        'info',
        user.id,
      );
      if (slo.binding === 'redirect') {
        ctx.status = 303;
        return ctx.redirect(redirectUrl(slo.url, 'SAMLRequest', req.xml, signing, app.saml.signatureAlgorithm));
      }
      return postTo(ctx, app, slo.url, { SAMLRequest: Buffer.from(req.xml).toString('base64') }, true);
    }
    writeLogoutChain(services, ctx, issuerOf(tenant), null);
    ctx.status = 303;
    ctx.redirect(chain.done);
  });
  router.get('/slo', slo);
  router.post('/slo', forms, slo);

  return router;
}
