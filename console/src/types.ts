// Shapes of what the admin API returns (docs/admin-api.md), as the console uses them.
import type { Role } from './roles.ts';

export type AppType = 'web' | 'native' | 'spa' | 'service' | 'handoff';
export type TargetType = 'user' | 'group' | 'ou' | 'domain';
export interface Target { type: TargetType; id: string; label: string }
export interface Claim { name: string; value?: string; attribute?: string }

export interface AppView {
  clientId: string; name: string; displayName: string; type: AppType;
  redirectUris: string[]; postLogoutRedirectUris: string[]; backchannelLogoutUri: string | null; homeUrl: string | null;
  initiateLoginUri: string | null; loginRedirectUrl: string | null; refreshTokenMinutes?: number; passwordGrant: boolean; requireMfa: boolean;
  claims: Claim[]; logo: string | null; hasSecret: boolean; deployed: boolean; deployment: { all: boolean; targets: Target[] };
  metadata: Record<string, string>; launchUrl: string; version: number;
  certificateExpiresAt?: number | null; certificateExpiresSoon?: boolean; jwks?: { keys: Array<Record<string, unknown>> } | null;
}

export interface User {
  id: string; email: string; givenName: string | null; familyName: string | null; status: 'active' | 'disabled';
  ouId: string | null; roles: Role[]; upstreamId: string | null; createdAt: number; updatedAt: number; version: number;
  ou?: string | null; groups?: string[];
}
export interface Group { id: string; name: string; description: string | null; memberCount?: number; version?: number }
export interface Ou { id: string; path: string; parentId: string | null; name?: string }

export interface AuditEvent { id: string; at: number; type: string; level: 'info' | 'warn' | 'error'; actor: string | null; subject: string | null; userId?: string | null; clientId?: string | null; ip: string | null; data: Record<string, unknown> }

export interface SessionView { id: string; userId: string; email: string; device: string; ip: string | null; startedAt: number; lastSeenAt: number; expiresAt: number; apps: Array<{ clientId: string; name: string }> }

export interface KeyInfo { kid: string; alg: string; status: 'next' | 'active' | 'retired'; notAfter: number; createdAt: number; activatedAt: number | null; retiredAt: number | null; expiresSoon: boolean }

export const APP_TYPES: Record<AppType, { label: string; menu: string; help: string }> = {
  web: { label: 'Web application (OpenID Connect)', menu: 'Web application using OpenID Connect', help: 'A server-side web app: it keeps a client secret and signs users in with the authorization code flow.' },
  spa: { label: 'Single-page app (OpenID Connect)', menu: 'Single-page application (SPA) using OpenID Connect', help: 'A browser app: a public client (no secret) that uses authorization code + PKCE.' },
  native: { label: 'Native / mobile app (OpenID Connect)', menu: 'Native or mobile app using OpenID Connect', help: 'An installed app: a public client with custom-scheme, universal-link or loopback redirect URIs.' },
  service: { label: 'Service (client credentials)', menu: 'Service (machine to machine)', help: 'A program acting on its own behalf: client credentials grant, no users and no redirect URIs.' },
  handoff: { label: 'Hand-off app (refresh token)', menu: 'Hand-off application (refresh token)', help: 'Launched from the app launcher: Gatehouse POSTs a refresh token to its login redirect URL.' },
};
