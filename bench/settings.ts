// What both servers are seeded with: one user, a confidential web app (authorization code +
// refresh token, client_secret_basic) and a service app (client_credentials). Gatehouse gets
// these through `--import` (src/tenants/import.ts); the peer declares them in its configuration.
// A Gatehouse app is either "web" (code + refresh) or "service" (client_credentials), never
// both, so the peer registers the same two clients.
export const BENCH = {
  user: { email: 'bench.user@example.test', password: 'bench-password-0123456789', givenName: 'Bench', familyName: 'User' },
  admin: { email: 'bench.admin@example.test', password: 'bench-admin-password-0123' },
  redirectUri: 'http://127.0.0.1:9/cb',
  web: { clientId: 'bench-web-client', clientSecret: 'bench-web-secret-0123456789abcdefghijklmnop', displayName: 'Bench web app' },
  service: { clientId: 'bench-service-client', clientSecret: 'bench-service-secret-0123456789abcdefghijkl', displayName: 'Bench service' },
  scope: 'openid email profile',
} as const;

/** The `--import` document for Gatehouse. */
export function importDocument() {
  return {
    tenants: [
      {
        slug: 'default',
        users: [{ email: BENCH.user.email, password: BENCH.user.password, givenName: BENCH.user.givenName, familyName: BENCH.user.familyName }],
        apps: [
          {
            name: 'bench-web',
            displayName: BENCH.web.displayName,
            type: 'web',
            clientId: BENCH.web.clientId,
            clientSecret: BENCH.web.clientSecret,
            redirectUris: [BENCH.redirectUri],
            deploy: ['all'],
          },
          {
            name: 'bench-service',
            displayName: BENCH.service.displayName,
            type: 'service',
            clientId: BENCH.service.clientId,
            clientSecret: BENCH.service.clientSecret,
            deploy: ['all'],
          },
        ],
      },
    ],
  };
}
