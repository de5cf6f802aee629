// Shapes of what the admin API returns (docs/admin-api.md), as the console uses them: taken
// from the server's own zod schemas (src/admin/shapes.ts) with z.output, so a change on the
// server is a type error here rather than a hand copy gone stale. `import type` only: the
// schemas and zod never reach the console's bundle (Vite erases type imports).
import type { z } from 'zod';
import type * as shapes from '../../src/admin/shapes.ts';

type Out<T extends z.ZodType> = z.output<T>;

export type AppType = Out<typeof shapes.appType>;
export type Target = Out<typeof shapes.deploymentTarget>;
export type TargetType = Target['type'];
export type Claim = Out<typeof shapes.customClaim>;
export type AppView = Out<typeof shapes.app>;
/** SAML apps: the service provider, and the IdP addresses to configure it with (docs/saml.md). */
export type SamlView = Out<typeof shapes.samlApp>;

/** A page of a list (any list: the items are the only part that differs). */
export type Page<T> = Omit<Out<ReturnType<typeof shapes.page<z.ZodUnknown>>>, 'items'> & { items: T[] };

export type Policy = Out<typeof shapes.policy>;
export type PolicySettings = Policy['settings'];

/** A user as listed; a user's own page adds their OU path and groups. */
export type User = Out<typeof shapes.userSummary> & { ou?: string | null; groups?: string[] };
export type Group = Out<typeof shapes.group>;
export type Ou = Out<typeof shapes.ou>;
export type AuditEvent = Out<typeof shapes.auditEvent>;
export type SessionView = Out<typeof shapes.sessionView>;
export type DeviceSessionView = Out<typeof shapes.deviceSessionView>;
export type Overview = Out<typeof shapes.overview>;
export type Tenant = Out<typeof shapes.tenant>;
export type Branding = Out<typeof shapes.branding>;
export type OverviewAlert = Out<typeof shapes.overviewAlert>;

export type KeyInfo = Out<typeof shapes.signingKey>;
export type Factor = Out<typeof shapes.mfaFactor>;

export const APP_TYPES: Record<AppType, { label: string; menu: string; help: string }> = {
  web: {
    label: 'Web application (OpenID Connect)',
    menu: 'Web application using OpenID Connect',
    help: 'A server-side web app: it keeps a client secret and signs users in with the authorization code flow.',
  },
  spa: {
    label: 'Single-page app (OpenID Connect)',
    menu: 'Single-page application (SPA) using OpenID Connect',
    help: 'A browser app: a public client (no secret) that uses authorization code + PKCE.',
  },
  native: {
    label: 'Native / mobile app (OpenID Connect)',
    menu: 'Native or mobile app using OpenID Connect',
    help: 'An installed app: a public client with custom-scheme, universal-link or loopback redirect URIs.',
  },
  service: {
    label: 'Service (client credentials)',
    menu: 'Service (machine to machine)',
    help: 'A program acting on its own behalf: client credentials grant, no users and no redirect URIs.',
  },
  saml: {
    label: 'SAML 2.0 application',
    menu: 'Web application using SAML 2.0',
    help: 'An application that signs users in with SAML 2.0 (Gatehouse is the identity provider): from its metadata, or its entity ID and ACS URL.',
  },
  handoff: {
    label: 'Hand-off app (refresh token)',
    menu: 'Hand-off application (refresh token)',
    help: 'Launched from the app launcher: Gatehouse POSTs a refresh token to its login redirect URL.',
  },
};

// ---------- directories (LDAP / Active Directory), connectors, upstreams ----------

export type Directory = Out<typeof shapes.directory>;
export type DirectorySettings = Directory['settings'];
export type DirectoryKind = DirectorySettings['kind'];
export type AttributeMap = DirectorySettings['attributes'];
export interface KindDefaults {
  userFilter: string;
  groupFilter: string;
  attributes: AttributeMap;
}
export type SyncRun = Out<typeof shapes.syncRun>;
export type SyncStatus = Out<typeof shapes.syncStatus>;
export type TestReport = Out<typeof shapes.directoryTest>;
export type Connector = Out<typeof shapes.connector>;
export type ProvisioningCode = Out<typeof shapes.provisioningCode>;
export type Workstation = Out<typeof shapes.workstation>;
export type WorkstationCode = Out<typeof shapes.workstationCode>;
export type KerberosSettings = Out<typeof shapes.kerberosSettings>;

export type Upstream = Out<typeof shapes.upstream>;
export type UpstreamType = Upstream['type'];
export type UpstreamCheck = Out<typeof shapes.upstreamCheck>;
