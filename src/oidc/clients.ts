// The engine's Client model, read from application profiles: apps are registered by
// administrators (never by dynamic registration), so the engine only ever reads them.
import type { App } from '../storage/apps.ts';
import type { AppService } from '../apps/service.ts';
import { isConfidential } from '../apps/service.ts';

export function clientMetadata(app: App, secret: string | undefined): Record<string, unknown> {
  const base = {
    client_id: app.clientId,
    client_name: app.displayName,
    gatehouse_ttls: app.tokenTtls,
    gatehouse_claims: app.claims,
  };
  if (app.type === 'service') {
    return { ...base, client_secret: secret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' };
  }
  return {
    ...base,
    ...(isConfidential(app.type) ? { client_secret: secret, token_endpoint_auth_method: 'client_secret_basic' } : { token_endpoint_auth_method: 'none' }),
    application_type: app.type === 'native' ? 'native' : 'web',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: app.redirectUris,
    post_logout_redirect_uris: app.postLogoutRedirectUris,
    ...(app.backchannelLogoutUri && { backchannel_logout_uri: app.backchannelLogoutUri, backchannel_logout_session_required: true }),
  };
}

/** An engine adapter for the Client model that reads this tenant's application profiles. */
export function clientAdapter(apps: AppService, tenantId: string) {
  const readOnly = async () => { throw new Error('clients are managed through application profiles'); };
  return {
    async find(id: string) {
      if (typeof id !== 'string' || id.length > 200) return undefined;
      const app = await apps.apps.byTenantClientId(tenantId, id);
      return app ? clientMetadata(app, apps.clientSecretOf(app)) : undefined;
    },
    upsert: readOnly,
    destroy: readOnly,
    consume: readOnly,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
    revokeByGrantId: async () => undefined,
  };
}
