// Application profiles: create (the secret shown once), list, show, deploy, undeploy, secret.
import fs from 'node:fs';
import { flag, has, list, many, need, oneOf, onOff, opt, paging, str, tenant, whole, UsageError, type Command } from '../args.ts';
import { enc, inTenant, listing, request } from '../client.ts';
import { printList, table } from '../output.ts';
import type { App, AppSecret, CreatedApp } from '../types.ts';

const deployedTo = (a: App) => (a.deployment.all ? 'all users' : a.deployment.targets.map((t) => `${t.type} ${t.label}`).join(', ') || 'nobody (not deployed)');
function readJwks(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`Cannot read --jwks ${file} as a JSON JWKS: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
  }
}
const TARGETS = ['all', 'user', 'group', 'ou', 'domain'] as const;
function readText(flagName: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`Cannot read --${flagName} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
  }
}
const SAML_USAGE =
  '[--entity-id ID] [--acs-url URL]... [--metadata FILE | --metadata-url URL] [--slo-url URL] [--slo-binding redirect|post] [--nameid-format email|persistent|transient|unspecified] [--nameid-attribute ATTR] [--sign response|assertion|both] [--require-signed-requests on|off] [--sp-cert FILE]... [--assertion-lifetime SECONDS]';
const SAML_OPTIONS = {
  'entity-id': str,
  'acs-url': many,
  metadata: str,
  'metadata-url': str,
  'slo-url': str,
  'slo-binding': str,
  'nameid-format': str,
  'nameid-attribute': str,
  sign: str,
  'require-signed-requests': str,
  'sp-cert': many,
  'assertion-lifetime': str,
};
/** The SAML settings given on the command line (only those given: the server fills in the rest from metadata or defaults). */
function samlOptions(o: Parameters<typeof opt>[0]) {
  const metadata = opt(o, 'metadata');
  const acs = list(o, 'acs-url');
  const slo = opt(o, 'slo-url');
  const certs = list(o, 'sp-cert');
  const body = {
    entityId: opt(o, 'entity-id'),
    acs: acs?.map((url, index) => ({ url, index })),
    metadataXml: metadata === undefined ? undefined : readText('metadata', metadata),
    metadataUrl: opt(o, 'metadata-url'),
    slo: slo === undefined ? undefined : slo === 'none' ? null : { url: slo, binding: oneOf(o, 'slo-binding', ['redirect', 'post']) ?? 'redirect' },
    nameIdFormat: oneOf(o, 'nameid-format', ['email', 'persistent', 'transient', 'unspecified']),
    nameIdAttribute: opt(o, 'nameid-attribute'),
    sign: oneOf(o, 'sign', ['response', 'assertion', 'both']),
    requireSignedRequests: onOff(o, 'require-signed-requests'),
    certificates: certs?.map((f) => readText('sp-cert', f)),
    assertionLifetimeSeconds: whole(o, 'assertion-lifetime'),
  };
  return Object.values(body).some((v) => v !== undefined) ? body : undefined;
}

export const appCommands: Record<string, Command> = {
  'app create': {
    usage:
      'gatehouse app create --tenant SLUG --name NAME --display-name NAME --type web|native|spa|service|handoff|saml ' +
      SAML_USAGE +
      ' [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--backchannel-logout-uri URI] [--home-url URL] [--initiate-login-uri URI] [--login-redirect-url URL] [--refresh-token-minutes N] [--outlive-session] [--password-grant] [--device-sso-group NAME] [--jwks FILE] [--client-auth client_secret_basic|client_secret_jwt|private_key_jwt] [--client-id ID] [--client-secret SECRET] [--json]',
    summary: 'Create an application profile (superadministrators). The client secret is shown once. SAML apps: --metadata FILE, or --entity-id and --acs-url.',
    options: {
      ...tenant,
      ...SAML_OPTIONS,
      name: str,
      'display-name': str,
      type: str,
      'redirect-uri': many,
      'post-logout-redirect-uri': many,
      'backchannel-logout-uri': str,
      'home-url': str,
      'initiate-login-uri': str,
      'login-redirect-url': str,
      'refresh-token-minutes': str,
      'outlive-session': flag,
      'password-grant': flag,
      'device-sso-group': str,
      jwks: str,
      'client-auth': str,
      'client-id': str,
      'client-secret': str,
    },
    async run(o, _a, out) {
      const type = oneOf(o, 'type', ['web', 'native', 'spa', 'service', 'handoff', 'saml']) ?? need(o, 'type');
      const saml = samlOptions(o);
      if (type === 'saml' && !saml?.metadataXml && !saml?.metadataUrl && !(saml?.entityId && saml.acs))
        throw new UsageError('A SAML app needs --metadata FILE (or --metadata-url URL), or --entity-id ID and --acs-url URL.');
      if (type !== 'saml' && saml) throw new UsageError('The SAML options (--entity-id, --acs-url, --metadata, ...) are for --type saml only.');
      const clientAuthMethod = oneOf(o, 'client-auth', ['client_secret_basic', 'client_secret_jwt', 'private_key_jwt']);
      const jwksFile = opt(o, 'jwks');
      const jwks = jwksFile === undefined ? undefined : readJwks(jwksFile);
      const minutesText = opt(o, 'refresh-token-minutes');
      const minutes = minutesText === undefined ? undefined : Number(minutesText);
      const body = {
        name: need(o, 'name'),
        displayName: need(o, 'display-name'),
        type,
        redirectUris: list(o, 'redirect-uri') ?? [],
        postLogoutRedirectUris: list(o, 'post-logout-redirect-uri') ?? [],
        backchannelLogoutUri: opt(o, 'backchannel-logout-uri') ?? null,
        homeUrl: opt(o, 'home-url') ?? null,
        initiateLoginUri: opt(o, 'initiate-login-uri') ?? null,
        loginRedirectUrl: opt(o, 'login-redirect-url') ?? null,
        refreshTokenMinutes: minutes,
        ...(has(o, 'outlive-session') && { outliveSession: true }),
        passwordGrant: has(o, 'password-grant'),
        deviceSsoGroup: opt(o, 'device-sso-group') ?? null,
        clientId: opt(o, 'client-id'),
        clientSecret: opt(o, 'client-secret'),
        jwks,
        clientAuthMethod,
        saml,
      };
      const a = await request<CreatedApp>('POST', `${inTenant(o)}/apps`, body);
      const human = [
        `Created ${a.type} app ${a.name} (${a.displayName}). It is not deployed yet: see \`gatehouse app deploy\`.`,
        `client_id:     ${a.clientId}`,
      ];
      if (a.clientSecret)
        human.push(`client_secret: ${a.clientSecret}`, 'WARNING: copy the client secret now: it is shown only once (`gatehouse app secret` makes a new one).');
      if (a.saml)
        human.push(
          `SP entity ID:  ${a.saml.entityId}`,
          `IdP metadata:  ${a.saml.idp.metadataUrl}`,
          `SSO service:   ${a.saml.idp.ssoUrl}`,
          `SLO service:   ${a.saml.idp.sloUrl}`,
          `launch link:   ${a.saml.idp.launchUrl}`,
          ...a.saml.warnings.map((w) => `WARNING: ${w}`),
        );
      else human.push(`issuer:        ${a.metadata.issuer}`, `discovery:     ${a.metadata.discoveryUrl}`, `launch link:   ${a.launchUrl}`);
      out.print(human.join('\n'), { ...a, client_id: a.clientId, client_secret: a.clientSecret ?? null });
    },
  },
  'app update': {
    usage:
      'gatehouse app update --tenant SLUG CLIENT_ID ' +
      SAML_USAGE +
      ' [--name NAME] [--display-name NAME] [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--backchannel-logout-uri URI|none] [--home-url URL|none] [--initiate-login-uri URI|none] [--login-redirect-url URL|none] [--refresh-token-minutes N] [--outlive-session on|off] [--password-grant on|off] [--require-mfa on|off] [--device-sso-group NAME|none] [--jwks FILE|none] [--client-auth client_secret_basic|client_secret_jwt|private_key_jwt] [--json]',
    summary:
      'Change an application profile (superadministrators): only what is given changes; --redirect-uri and --post-logout-redirect-uri replace the lists.',
    options: {
      ...tenant,
      ...SAML_OPTIONS,
      name: str,
      'display-name': str,
      'redirect-uri': many,
      'post-logout-redirect-uri': many,
      'backchannel-logout-uri': str,
      'home-url': str,
      'initiate-login-uri': str,
      'login-redirect-url': str,
      'refresh-token-minutes': str,
      'outlive-session': str,
      'password-grant': str,
      'require-mfa': str,
      'device-sso-group': str,
      jwks: str,
      'client-auth': str,
    },
    positionals: 1,
    async run(o, [id], out) {
      const orNull = (name: string) => {
        const v = opt(o, name);
        return v === 'none' ? null : v;
      };
      const jwksFile = opt(o, 'jwks');
      const body = {
        name: opt(o, 'name'),
        displayName: opt(o, 'display-name'),
        redirectUris: list(o, 'redirect-uri'),
        postLogoutRedirectUris: list(o, 'post-logout-redirect-uri'),
        backchannelLogoutUri: orNull('backchannel-logout-uri'),
        homeUrl: orNull('home-url'),
        initiateLoginUri: orNull('initiate-login-uri'),
        loginRedirectUrl: orNull('login-redirect-url'),
        refreshTokenMinutes: whole(o, 'refresh-token-minutes'),
        outliveSession: onOff(o, 'outlive-session'),
        passwordGrant: onOff(o, 'password-grant'),
        requireMfa: onOff(o, 'require-mfa'),
        deviceSsoGroup: orNull('device-sso-group'),
        jwks: jwksFile === undefined ? undefined : jwksFile === 'none' ? null : readJwks(jwksFile),
        clientAuthMethod: oneOf(o, 'client-auth', ['client_secret_basic', 'client_secret_jwt', 'private_key_jwt']),
        saml: samlOptions(o),
      };
      if (Object.values(body).every((v) => v === undefined)) throw new UsageError('Give at least one change.');
      const a = await request<App>('PATCH', `${inTenant(o)}/apps/${enc(id!)}`, body);
      out.print(`Saved ${a.name} (${a.displayName}).`, a);
    },
  },
  'app list': {
    usage: 'gatehouse app list --tenant SLUG [--limit N] [--cursor CURSOR] [--json]',
    summary: 'List application profiles with their deployment status.',
    options: { ...tenant, ...paging },
    async run(o, _a, out) {
      printList(
        out,
        await listing<App>(o, `${inTenant(o)}/apps`),
        (a) => [a.clientId, a.name, a.displayName, a.type, a.deployed ? 'Deployed' : 'Not deployed'],
        'No applications.',
      );
    },
  },
  'app show': {
    usage: 'gatehouse app show --tenant SLUG CLIENT_ID [--json]',
    summary: 'Show an application profile, its deployment and the IdP metadata to configure it with.',
    options: tenant,
    positionals: 1,
    async run(o, [id], out) {
      const a = await request<App>('GET', `${inTenant(o)}/apps/${enc(id!)}`);
      out.print(
        table(
          [
            ['client_id', a.clientId],
            ['name', a.name],
            ['display name', a.displayName],
            ['type', a.type],
            ['client secret', a.hasSecret ? 'set (shown only when created or regenerated)' : 'none'],
            ['client authentication', a.clientAuthMethod],
            ['redirect URIs', a.redirectUris.join(', ') || '-'],
            ['post-logout URIs', a.postLogoutRedirectUris.join(', ') || '-'],
            ['back-channel logout', a.backchannelLogoutUri ?? '-'],
            ['deployed to', deployedTo(a)],
            ...(a.saml
              ? ([
                  ['SP entity ID', a.saml.entityId],
                  ['ACS URLs', a.saml.acs.map((x) => x.url).join(', ')],
                  ['NameID', `${a.saml.nameIdFormat} (${a.saml.nameIdAttribute})`],
                  ['signs', `${a.saml.sign} (${a.saml.signatureAlgorithm})`],
                  ['IdP metadata', a.saml.idp.metadataUrl],
                  ['SSO service', a.saml.idp.ssoUrl],
                  ['SLO service', a.saml.idp.sloUrl],
                  ...a.saml.warnings.map((w) => ['WARNING', w]),
                ] as Array<[string, string]>)
              : ([
                  ['issuer', a.metadata.issuer],
                  ['discovery', a.metadata.discoveryUrl],
                ] as Array<[string, string]>)),
          ],
          '',
        ),
        a,
      );
    },
  },
  'app deploy': {
    usage: 'gatehouse app deploy --tenant SLUG CLIENT_ID (--all | --user EMAIL | --group NAME | --ou PATH | --domain NAME) [--json]',
    summary: 'Deploy an app to all users, or add a user, group, OU or email domain to its deployment.',
    options: { ...tenant, all: flag, user: str, group: str, ou: str, domain: str },
    positionals: 1,
    async run(o, [id], out) {
      const picked = TARGETS.filter((k) => has(o, k));
      if (picked.length !== 1) throw new UsageError('Give exactly one of --all, --user, --group, --ou, --domain.');
      const k = picked[0]!;
      const a = await request<App>('POST', `${inTenant(o)}/apps/${enc(id!)}/deployment/targets`, k === 'all' ? { all: true } : { type: k, ref: opt(o, k) });
      out.print(`${a.name} is deployed to ${deployedTo(a)}.`, a);
    },
  },
  'app undeploy': {
    usage: 'gatehouse app undeploy --tenant SLUG CLIENT_ID [--json]',
    summary: 'Undeploy an app from everyone (effective at the next authorization).',
    options: tenant,
    positionals: 1,
    async run(o, [id], out) {
      const a = await request<App>('DELETE', `${inTenant(o)}/apps/${enc(id!)}/deployment`);
      out.print(`${a.name} is not deployed.`, a);
    },
  },
  'app delete': {
    usage: 'gatehouse app delete --tenant SLUG CLIENT_ID [--json]',
    summary: 'Delete an application profile and its deployment (superadministrators).',
    options: tenant,
    positionals: 1,
    async run(o, [id], out) {
      await request<void>('DELETE', `${inTenant(o)}/apps/${enc(id!)}`);
      out.print(`Deleted application ${id}.`, { clientId: id, deleted: true });
    },
  },
  'app secret': {
    usage: 'gatehouse app secret --tenant SLUG CLIENT_ID [--json]',
    summary: 'Generate a new client secret (the old one stops working at once).',
    options: tenant,
    positionals: 1,
    async run(o, [id], out) {
      const r = await request<AppSecret>('POST', `${inTenant(o)}/apps/${enc(id!)}/secret`);
      out.print(`client_secret: ${r.clientSecret}\nWARNING: copy it now: it is shown only once.`, {
        ...r,
        client_id: r.clientId ?? id,
        client_secret: r.clientSecret,
      });
    },
  },
};
