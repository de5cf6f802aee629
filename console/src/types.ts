// Shapes of what the admin API returns (docs/admin-api.md), as the console uses them.
import type { Role } from './roles.ts';

export type AppType = 'web' | 'native' | 'spa' | 'service' | 'handoff';
export type TargetType = 'user' | 'group' | 'ou' | 'domain';
export interface Target { type: TargetType; id: string; label: string }
export interface Claim { name: string; value?: string; attribute?: string }

export interface AppView {
  clientId: string; name: string; displayName: string; type: AppType;
  redirectUris: string[]; postLogoutRedirectUris: string[]; backchannelLogoutUri: string | null; homeUrl: string | null;
  initiateLoginUri: string | null; loginRedirectUrl: string | null; refreshTokenMinutes?: number; outliveSession?: boolean; passwordGrant: boolean; requireMfa: boolean;
  claims: Claim[]; logo: string | null; hasSecret: boolean; deployed: boolean; deployment: { all: boolean; targets: Target[] };
  metadata: Record<string, string>; launchUrl: string; version: number;
  certificateExpiresAt?: number | null; certificateExpiresSoon?: boolean; jwks?: { keys: Array<Record<string, unknown>> } | null;
  /** none for public apps (spa, native). */
  clientAuthMethod?: 'client_secret_basic' | 'client_secret_jwt' | 'private_key_jwt' | 'none';
}

export interface User {
  id: string; email: string; givenName: string | null; familyName: string | null; status: 'active' | 'disabled';
  ouId: string | null; roles: Role[]; upstreamId: string | null; /** the LDAP directory that keeps this user */ directoryId?: string | null; createdAt: number; updatedAt: number; version: number;
  ou?: string | null; groups?: string[];
  /** false: the account holds a role the signed-in administrator does not hold; the API refuses any change to it (docs/admin-api.md, Who may act on whom) */
  mayManage: boolean;
}
export interface Group { id: string; name: string; description: string | null; memberCount?: number; version?: number }
export interface Ou { id: string; path: string; parentId: string | null; name?: string }

export interface AuditEvent { id: string; at: number; type: string; level: 'info' | 'warn' | 'error'; actor: string | null; subject: string | null; userId?: string | null; clientId?: string | null; ip: string | null; data: Record<string, unknown> }

export interface SessionView { id: string; userId: string; email: string; device: string; ip: string | null; startedAt: number; lastSeenAt: number; expiresAt: number; apps: Array<{ clientId: string; name: string }>; /** false: its user holds a role the signed-in administrator does not hold */ mayEnd: boolean }

export interface KeyInfo { kid: string; alg: string; status: 'next' | 'active' | 'retired'; notAfter: number; createdAt: number; activatedAt: number | null; retiredAt: number | null; expiresSoon: boolean }

export const APP_TYPES: Record<AppType, { label: string; menu: string; help: string }> = {
  web: { label: 'Web application (OpenID Connect)', menu: 'Web application using OpenID Connect', help: 'A server-side web app: it keeps a client secret and signs users in with the authorization code flow.' },
  spa: { label: 'Single-page app (OpenID Connect)', menu: 'Single-page application (SPA) using OpenID Connect', help: 'A browser app: a public client (no secret) that uses authorization code + PKCE.' },
  native: { label: 'Native / mobile app (OpenID Connect)', menu: 'Native or mobile app using OpenID Connect', help: 'An installed app: a public client with custom-scheme, universal-link or loopback redirect URIs.' },
  service: { label: 'Service (client credentials)', menu: 'Service (machine to machine)', help: 'A program acting on its own behalf: client credentials grant, no users and no redirect URIs.' },
  handoff: { label: 'Hand-off app (refresh token)', menu: 'Hand-off application (refresh token)', help: 'Launched from the app launcher: Gatehouse POSTs a refresh token to its login redirect URL.' },
};

// ---------- directories (LDAP / Active Directory), connectors, upstreams ----------

export type DirectoryKind = 'ad' | 'openldap';
export interface AttributeMap {
  externalId: string; username: string; email: string; emailFallback: string | null; givenName: string; familyName: string;
  memberOf: string | null; member: string; groupName: string; changeMarker: 'uSNChanged' | 'modifyTimestamp';
}
export interface DirectorySettings {
  kind: DirectoryKind; via: 'direct' | 'connector'; urls: string[]; startTls: boolean; allowPlain: boolean; caCertificate: string | null;
  bindDn: string; baseDns: string[]; userFilter: string; groupFilter: string; attributes: AttributeMap;
  syncIntervalMinutes: number; fullSyncHours: number; pageSize: number; timeoutSeconds: number;
}
export interface KindDefaults { userFilter: string; groupFilter: string; attributes: AttributeMap }
export interface SyncRun {
  id: string; mode: 'full' | 'incremental'; trigger: 'schedule' | 'admin'; status: 'running' | 'succeeded' | 'failed';
  phase: 'users' | 'groups' | 'memberships' | 'cleanup' | 'done';
  users: { seen: number; created: number; updated: number; unchanged: number; disabled: number; skipped: number };
  groups: { seen: number; created: number; updated: number }; memberships: { added: number; removed: number };
  errorCount: number; errors: Array<{ dn: string; message: string }>; message: string | null; startedAt: number; finishedAt: number | null;
}
export interface Directory {
  id: string; name: string; enabled: boolean; settings: DirectorySettings; hasBindPassword: boolean;
  lastSyncAt: number | null; lastFullSyncAt: number | null; lastRun: SyncRun | null; createdAt: number; updatedAt: number; version: number;
}
export interface TestReport { ok: boolean; message: string; url: string; via: string; bases: Array<{ dn: string; users: number; groups: number; sample: Array<{ dn: string; email: string | null }>; problem?: string }> }

export interface Connector {
  id: string; name: string; status: 'connected' | 'disconnected' | 'revoked'; lastSeenAt: number | null; connectedAt: number | null;
  version: string | null; latencyMs: number | null; address: string | null; lastError: string | null; lastErrorAt: number | null; recommendedFix: string | null; createdAt: number;
}
export interface ProvisioningCode { enterpriseId: string; code: string; expiresAt: number; validSeconds: number; url: string }

export type UpstreamType = 'entra' | 'okta' | 'cognito' | 'oidc';
export interface Upstream {
  id: string; name: string; mode: 'disabled' | 'test' | 'enabled'; type: UpstreamType; clientId: string; scopes: string[]; domains: string[];
  audience: 'staff' | 'all'; loginHint: boolean; showButton: boolean; testUsers: string[]; claimGate: { claim: string; value: string } | null;
  externalIdClaim: string | null; claims: { givenName: string; familyName: string; email: string }; discoveryUrl: string; issuer: string;
  hasClientSecret: boolean; redirectUrl: string; createdAt: number; updatedAt: number; version: number;
  /** The last check of its discovery (hourly, or Test); null before the first. */
  lastCheck: UpstreamCheck | null;
}
export interface UpstreamCheck { ok: boolean; message: string | null; checkedAt: number }
