// The app launcher's rules: which apps a signed-in user can open, and what opening one does.
// OpenID Connect apps start their own sign-in (third-party-initiated login, OpenID Connect
// Core section 4) or open at their home URL; hand-off apps receive a refresh token, issued to
// them for this user, by a POST to their login redirect URL.
import type Provider from 'oidc-provider';
import type { Services } from '../services.ts';
import type { App } from '../storage/apps.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { UserWithSecret } from '../storage/users.ts';
import { isOidcApp } from './service.ts';
import { impliedGrant } from '../oidc/grants.ts';
import { issuerFor } from '../oidc/engine.ts';
import type { SignedIn } from '../interaction/whoami.ts';

export type Launch = { kind: 'redirect'; url: string } | { kind: 'post'; url: string; fields: Record<string, string> } | { kind: 'session_ended' };

export function launchable(a: App): boolean {
  if (a.type === 'saml') return !!a.saml; // IdP-initiated sign-in (saml/routes.ts)
  if (a.type === 'handoff') return !!a.loginRedirectUrl;
  return isOidcApp(a.type) && !!(a.initiateLoginUri || a.homeUrl);
}

/** The apps this user sees in the launcher: deployed to them and launchable, by name. */
export async function launcherApps(services: Pick<Services, 'appService' | 'appStore'>, tenant: Tenant, user: UserWithSecret): Promise<App[]> {
  const out: App[] = [];
  for (const a of await services.appStore.list(tenant.id)) if (launchable(a) && (await services.appService.isDeployedTo(a, user))) out.push(a);
  return out.sort((x, y) => x.displayName.localeCompare(y.displayName));
}

/** Scopes of a handed-over refresh token: enough for the profile the app will ask for. */
const HANDOFF_SCOPE = 'openid offline_access email profile';

export async function launch(services: Pick<Services, 'auditStore' | 'config'>, tenant: Tenant, provider: Provider, a: App, who: SignedIn): Promise<Launch> {
  if (a.type === 'handoff') {
    const client = await provider.Client.find(a.clientId);
    if (!client) throw new Error(`engine has no client ${a.clientId}`);
    // The grant belongs to the SSO session the user launched from (one per app and session),
    // so signing out of Gatehouse, or an administrator ending the session, revokes it, as the
    // engine does for the apps signed in to through the session; unless the profile says the
    // app outlives the session.
    const session = !a.outliveSession && who.sessionUid ? await provider.Session.findByUid(who.sessionUid) : undefined;
    const grant = await impliedGrant(provider, {
      grantId: session?.grantIdFor(a.clientId),
      clientId: a.clientId,
      accountId: who.user.id,
      scope: HANDOFF_SCOPE,
    });
    if (session && session.grantIdFor(a.clientId) !== grant.jti) {
      session.ensureClientContainer(a.clientId);
      session.grantIdFor(a.clientId, grant.jti!);
      await session.persist();
    }
    // Signed out (elsewhere) between the sign-in and now: no token that nothing would revoke.
    if (!a.outliveSession && !session) return { kind: 'session_ended' };
    // Lives for the app's refresh token lifetime from this launch (rotation never extends it,
    // oidc/engine.ts): when it ends, the user signs in to Gatehouse again (the next launch).
    const token = new provider.RefreshToken({
      client,
      accountId: who.user.id,
      grantId: grant.jti!,
      scope: HANDOFF_SCOPE,
      gty: 'authorization_code',
      authTime: who.authTime,
      amr: who.amr,
      acr: who.acr,
      expiresWithSession: false,
    } as ConstructorParameters<typeof provider.RefreshToken>[0]);
    const refreshToken = await token.save();
    await services.auditStore.record({
      tenantId: tenant.id,
      type: 'app.launched',
      subject: who.user.id,
      data: {
        clientId: a.clientId,
        app: a.displayName,
        method: 'handoff',
        message: `${who.user.email} opened ${a.displayName}; a refresh token was handed over.`,
      },
    });
    return { kind: 'post', url: a.loginRedirectUrl!, fields: { refresh_token: refreshToken } };
  }
  if (a.type === 'saml') {
    // IdP-initiated SAML sign-in; the profile's home URL, if any, is the RelayState (where the SP lands the user).
    await services.auditStore.record({
      tenantId: tenant.id,
      type: 'app.launched',
      subject: who.user.id,
      data: { clientId: a.clientId, app: a.displayName, method: 'saml', message: `${who.user.email} opened ${a.displayName}.` },
    });
    const u = new URL(`${issuerFor(services.config.publicUrl, tenant.slug)}/saml/launch/${encodeURIComponent(a.clientId)}`);
    if (a.homeUrl) u.searchParams.set('RelayState', a.homeUrl);
    return { kind: 'redirect', url: u.href };
  }
  await services.auditStore.record({
    tenantId: tenant.id,
    type: 'app.launched',
    subject: who.user.id,
    data: {
      clientId: a.clientId,
      app: a.displayName,
      method: a.initiateLoginUri ? 'initiate_login_uri' : 'home_url',
      message: `${who.user.email} opened ${a.displayName}.`,
    },
  });
  if (a.initiateLoginUri) {
    const u = new URL(a.initiateLoginUri);
    u.searchParams.set('iss', issuerFor(services.config.publicUrl, tenant.slug));
    u.searchParams.set('login_hint', who.user.email);
    if (a.homeUrl) u.searchParams.set('target_link_uri', a.homeUrl);
    return { kind: 'redirect', url: u.href };
  }
  return { kind: 'redirect', url: a.homeUrl! };
}
