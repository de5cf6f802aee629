// The legacy password grant (RFC 6749 section 4.3) for API clients that cannot do better:
// off unless an application profile opts in (its engine client then lists the grant), and
// refused for users an Enabled upstream directory signs in, except administrators, as in the
// reference. Same password rules as the sign-in page: throttling, audit, disabled accounts.
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { Services } from '../services.ts';
import type { Tenant } from '../storage/tenants.ts';
import { passwordSignIn, signInSucceeded } from '../interaction/signin.ts';
import { impliedGrant, SCOPES } from './grants.ts';
import { PASSWORD_GRANT } from './clients.ts';
import { policyRequiresMfa } from '../policy/policies.ts';

/** invalid_grant whose description the client sees (the engine's default is a generic one). */
const refused = (message: string) => Object.assign(new errors.InvalidGrant(message), { error_description: message });

export function registerPasswordGrant(
  services: Pick<
    Services,
    | 'appService'
    | 'auditStore'
    | 'clientCache'
    | 'config'
    | 'federationService'
    | 'ldapService'
    | 'metrics'
    | 'mfaStore'
    | 'policyService'
    | 'sealer'
    | 'signinAddressStore'
    | 'throttles'
    | 'userLinkStore'
    | 'userStore'
  >,
  tenant: Tenant,
  provider: Provider,
): void {
  provider.registerGrantType(
    PASSWORD_GRANT,
    async (ctx) => {
      const client = ctx.oidc.client!;
      const params = ctx.oidc.params as Record<string, string | undefined>;
      // username: the user's email, or their username in any form the tenant accepts (jsmith, CORP\\jsmith, a userPrincipalName).
      const identifier = String(params.username ?? '').trim();
      const password = String(params.password ?? '');
      if (!identifier || !password) throw new errors.InvalidRequest("send username (the user's email or username) and password");
      const origin = { ip: ctx.ip };
      const signIn = await passwordSignIn(services, tenant, identifier, password, origin);
      if (!signIn.ok) throw refused(signIn.message);
      const user = signIn.user;
      const email = user.email;
      // A legacy client cannot ask for the second factor: the grant would bypass it.
      if ((await services.mfaStore.factors(tenant.id, user.id)).length)
        throw refused(`${email} has two-step verification on, which the password grant cannot check. Sign in through the application's sign-in page instead.`);
      const profileMfa = (client as unknown as { gatehouse_require_mfa?: boolean }).gatehouse_require_mfa;
      if (profileMfa || policyRequiresMfa(await services.policyService.settingsFor(user), { ip: ctx.ip, clientId: client.clientId })) {
        throw refused(
          `Two-step verification is required for ${email} here, which the password grant cannot ask for. Sign in through the application's sign-in page instead.`,
        );
      }
      const up = await services.federationService.route(tenant.id, email);
      if (up && !services.federationService.passwordAllowed(up, user)) {
        throw refused(`${email} signs in through ${up.name}, so the password grant is not available for this account. Sign in through ${up.name} instead.`);
      }
      const profile = await services.clientCache.get(tenant.id, client.clientId);
      if (!profile || !(await services.appService.isDeployedTo(profile, user)))
        throw refused(`${profile?.displayName ?? 'This application'} is not deployed to ${email}.`);
      const requested = String(params.scope ?? 'openid')
        .split(' ')
        .filter((s) => SCOPES.includes(s));
      const scope = [...new Set(['openid', ...requested])].join(' ');
      const grant = await impliedGrant(provider, { clientId: client.clientId, accountId: user.id, scope });
      const at = new provider.AccessToken({ accountId: user.id, client, grantId: grant.jti!, scope, gty: PASSWORD_GRANT } as ConstructorParameters<
        typeof provider.AccessToken
      >[0]);
      ctx.oidc.entity('AccessToken', at);
      const accessToken = await at.save();
      let refreshToken: string | undefined;
      if (scope.split(' ').includes('offline_access') && client.grantTypeAllowed('refresh_token')) {
        const rt = new provider.RefreshToken({
          accountId: user.id,
          client,
          grantId: grant.jti!,
          scope,
          gty: PASSWORD_GRANT,
          expiresWithSession: false,
          amr: ['pwd'],
        } as ConstructorParameters<typeof provider.RefreshToken>[0]);
        refreshToken = await rt.save();
      }
      await signInSucceeded(services, tenant, user, origin, { clientId: client.clientId, amr: ['pwd'], via: 'password_grant' });
      ctx.body = {
        access_token: accessToken,
        expires_in: at.expiration,
        token_type: at.tokenType,
        scope,
        ...(refreshToken && { refresh_token: refreshToken }),
      };
    },
    ['username', 'password', 'scope'],
  );
}
