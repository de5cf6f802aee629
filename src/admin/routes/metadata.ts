// The IdP metadata an application is configured with ("View and copy IdP metadata").
import type { z } from 'zod';
import type { Services } from '../../services.ts';
import type { Tenant } from '../../storage/tenants.ts';
import { issuerFor } from '../../oidc/engine.ts';
import { route } from '../route.ts';
import { idpMetadata as metadataSchema } from '../shapes.ts';

export { metadataSchema };

export function idpMetadata(services: Services, tenant: Tenant): z.input<typeof metadataSchema> {
  const issuer = issuerFor(services.config.publicUrl, tenant.slug);
  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    authorizationEndpoint: `${issuer}/auth`,
    tokenEndpoint: `${issuer}/token`,
    userinfoEndpoint: `${issuer}/me`,
    jwksUri: `${issuer}/jwks`,
    endSessionEndpoint: `${issuer}/session/end`,
    introspectionEndpoint: `${issuer}/token/introspection`,
    revocationEndpoint: `${issuer}/token/revocation`,
    pushedAuthorizationRequestEndpoint: `${issuer}/request`,
  };
}

export const metadataRoutes = [
  route({
    id: 'getMetadata',
    method: 'get',
    path: '/tenants/:slug/metadata',
    tag: 'apps',
    access: ['admin', 'helpdesk', 'auditor'],
    summary: 'The IdP metadata an application needs: issuer, discovery URL, endpoints',
    response: metadataSchema,
    async handler({ services, tenant }) {
      return idpMetadata(services, tenant);
    },
  }),
];
