// Table shapes shared by the SQLite and PostgreSQL stores. Time is epoch milliseconds,
// booleans are 0/1 integers and JSON is text, so one query layer serves both dialects.
import type { ColumnType, Generated } from 'kysely';
export interface TenantsTable {
  id: string;
  slug: string;
  name: string;
  session_lifetime_minutes: number; // 0 = off (no timeout beyond the browser session cap)
  settings: string; // JSON: branding and tenant options
  created_at: number;
  updated_at: number;
  version: number;
}

export interface UsersTable {
  id: string;
  tenant_id: string;
  email: string;
  domain: string;
  given_name: string | null;
  family_name: string | null;
  password_hash: string | null;
  status: 'active' | 'disabled';
  ou_id: string | null;
  roles: string; // JSON array of admin roles
  upstream_id: string | null; // set while an upstream directory keeps this user's names and email
  directory_id: string | null; // set while an LDAP directory keeps this user (directory/ldap/)
  external_id: string | null; // the directory's stable ID (objectGUID, entryUUID)
  dn: string | null; // normalised distinguished name in the directory
  directory_seen_at: number | null; // start of the last full sync that saw this user
  username: string | null; // lowercased sign-in name, unique per tenant (directory: sAMAccountName, uid)
  email_verified: Generated<number>; // 0/1: the user proved the address, an administrator marked it, or a trusted directory gave it
  must_change_password: Generated<number>; // 0/1: an administrator requires a new password at the next sign-in
  locale: ColumnType<string | null, string | null | undefined, string | null>; // the user's language for Gatehouse's pages (0180); optional on insert
  created_at: number;
  updated_at: number;
  version: number;
}

export interface GroupsTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  directory_id: string | null;
  external_id: string | null;
  dn: string | null;
  created_at: number;
  updated_at: number;
  version: number;
}

export interface GroupMembersTable {
  tenant_id: string;
  group_id: string;
  user_id: string;
}

export interface OusTable {
  id: string;
  tenant_id: string;
  name: string;
  parent_id: string | null;
  path: string; // "/Sales/EMEA"
  created_at: number;
  updated_at: number;
  version: number;
}

export interface DomainsTable {
  id: string;
  tenant_id: string;
  name: string;
  created_at: number;
}

export interface AppsTable {
  id: string;
  tenant_id: string;
  client_id: string;
  name: string;
  display_name: string;
  type: 'web' | 'native' | 'spa' | 'service' | 'handoff' | 'saml';
  redirect_uris: string; // JSON
  post_logout_redirect_uris: string; // JSON
  backchannel_logout_uri: string | null;
  home_url: string | null;
  initiate_login_uri: string | null; // third-party-initiated login (OIDC Core 4)
  login_redirect_url: string | null; // hand-off apps: where the refresh token is POSTed
  password_grant: number; // 0/1: the legacy password grant is allowed
  logo: string | null; // data: URL (PNG, GIF or JPEG), shown in the launcher
  require_mfa: number; // 0/1: signing in to this app needs two-step verification
  secret_sealed: string | null;
  claims: string; // JSON: custom claims
  token_ttls: string; // JSON
  deploy_all: number;
  jwks: string | null; // JSON: the app's registered public keys (JWKS), x5c certificates included
  certificate_expires_at: number | null; // the earliest expiry of those certificates (alerts)
  client_auth_method: string | null; // confidential apps: how they authenticate at the token endpoint; null = client_secret_basic
  outlive_session: number; // 0/1: hand-off apps: the handed-over grant survives the user's sign-out of Gatehouse
  device_sso_group: string | null; // native apps: the device SSO group (OpenID Connect Native SSO) it shares sign-ins with
  saml?: string | null; // JSON: SAML apps' settings (saml/settings.ts); null for OpenID Connect apps
  saml_entity_id?: string | null; // SAML apps: the SP entity ID (unique per tenant; the SSO service looks it up)
  created_at: number;
  updated_at: number;
  version: number;
}

export interface AppDeploymentsTable {
  id: string;
  tenant_id: string;
  app_id: string;
  target_type: 'user' | 'group' | 'ou' | 'domain';
  target_id: string;
  created_at: number;
}

export interface SigningKeysTable {
  kid: string;
  tenant_id: string;
  alg: 'RS256' | 'ES256';
  status: 'next' | 'active' | 'retired';
  private_sealed: string;
  public_jwk: string;
  cert_pem: string;
  not_after: number;
  created_at: number;
  activated_at: number | null;
  retired_at: number | null;
  /** When the key first appeared in the JWKS (0100). */
  published_at: number;
  /** A next key: when an operator asked it to start signing; null follows the automatic schedule (0100). */
  activates_at: number | null;
}

export interface OidcArtifactsTable {
  model: string;
  id: string;
  tenant_id: string;
  payload: string;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: number | null;
  consumed_at: number | null;
}

export interface AuditEventsTable {
  id: string; // time-ordered: sortable by id
  tenant_id: string | null;
  at: number;
  type: string;
  level: 'info' | 'warn' | 'error';
  actor: string | null;
  subject: string | null;
  ip: string | null;
  data: string;
  user_id: string | null; // the user the event is about, for filtering by user
  client_id: string | null; // the application it is about, for filtering by app
}

export interface SetupLinksTable {
  token_hash: string;
  tenant_id: string;
  expires_at: number;
  used_at: number | null;
}

/** Sign-in failure counters when there is no Redis (see ops/ratelimit.ts). */
export interface ThrottleCountersTable {
  key: string;
  count: number;
  reset_at: number;
}

export interface UpstreamsTable {
  id: string;
  tenant_id: string;
  name: string;
  mode: 'disabled' | 'test' | 'enabled';
  settings: string; // JSON: see federation/upstreams.ts
  client_secret_sealed: string | null;
  created_at: number;
  updated_at: number;
  version: number;
}

/** The last check of an upstream's discovery document (federation/upstreams.ts check). */
export interface UpstreamChecksTable {
  upstream_id: string;
  tenant_id: string;
  ok: number; // 1: discovery answered as when saved; 0: it failed (message says what)
  message: string | null;
  checked_at: number;
}

export interface UpstreamLinksTable {
  upstream_id: string;
  subject: string;
  external_id: string | null;
  tenant_id: string;
  user_id: string;
  created_at: number;
}

export interface MfaFactorsTable {
  id: string;
  tenant_id: string;
  user_id: string;
  type: 'totp' | 'webauthn' | 'push';
  label: string;
  secret_sealed: string; // TOTP: the key; webauthn: credential ID, public key, counter (JSON); push: public key and token-code key (JSON)
  last_step: number; // the last TOTP time step accepted: codes of it or earlier are refused
  created_at: number;
  last_used_at: number | null;
}

export interface RecoveryCodesTable {
  id: string;
  tenant_id: string;
  user_id: string;
  code_hash: string;
  used_at: number | null;
}

export interface UserPoliciesTable {
  id: string;
  tenant_id: string;
  name: string;
  priority: number; // 1 is considered first
  targets: string; // JSON: [{ type: all|user|group|ou|domain, id }]
  settings: string; // JSON: see policy/policies.ts
  created_at: number;
  updated_at: number;
  version: number;
}

/** A Gatehouse Authenticator waiting to be added (mfa/push.ts). */
export interface PushEnrollmentsTable {
  code_hash: string;
  tenant_id: string;
  user_id: string;
  recovery_hashes: string | null; // JSON: given to the user if this is their first factor
  factor_id: string | null; // set when the phone finished
  created_at: number;
  expires_at: number;
}

/** A sign-in waiting for approval on the user's Gatehouse Authenticator. */
export interface PushChallengesTable {
  id: string;
  tenant_id: string;
  user_id: string;
  uid: string; // the engine interaction it belongs to
  number: number | null; // the 2-digit number to match; null with number matching off
  client_id: string | null;
  app_name: string | null;
  ip: string | null;
  status: 'pending' | 'approved' | 'denied' | 'wrong_number' | 'withdrawn'; // withdrawn: the sign-in ended another way
  device_id: string | null; // the device that answered
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  consumed_at: number | null; // the sign-in used the approval
}

/** A browser that skips the second factor until expires_at (a policy's rememberDeviceDays). */
export interface MfaRememberedTable {
  id: string;
  tenant_id: string;
  user_id: string;
  label: string;
  created_at: number;
  expires_at: number;
}

/** LDAP / Active Directory connections of a tenant (directory/ldap/settings.ts). */
export interface LdapDirectoriesTable {
  id: string;
  tenant_id: string;
  name: string;
  enabled: number; // 0/1: scheduled syncs and directory sign-in
  settings: string; // JSON: see directory/ldap/settings.ts
  bind_password_sealed: string | null;
  sync_marks: string; // JSON: the high-water marks of the last sync (modifyTimestamp / uSNChanged)
  last_full_sync_at: number | null;
  last_sync_at: number | null;
  created_at: number;
  updated_at: number;
  version: number;
}

export interface DirectorySyncRunsTable {
  id: string;
  tenant_id: string;
  directory_id: string;
  mode: 'full' | 'incremental';
  trigger: 'schedule' | 'admin';
  status: 'running' | 'succeeded' | 'failed';
  progress: string; // JSON counts
  errors: string; // JSON: the first problems, each { dn, message }
  message: string | null;
  started_at: number;
  heartbeat_at: number;
  finished_at: number | null;
}

/** On-premises connectors (directory/connector/): each pinned by its public key. */
export interface ConnectorsTable {
  id: string;
  tenant_id: string;
  name: string;
  public_key: string; // SPKI PEM (Ed25519)
  status: 'active' | 'revoked';
  software_version: string | null;
  address: string | null;
  node_id: string | null; // the Gatehouse process it is connected to
  connected: number;
  connected_at: number | null;
  last_seen_at: number | null;
  latency_ms: number | null;
  last_error: string | null;
  last_error_at: number | null;
  created_at: number;
  revoked_at: number | null;
}

/** Gatehouse nodes holding connector connections, with their heartbeat (directory/connector/relay.ts). */
export interface ConnectorNodesTable {
  id: string;
  host: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
}

/** A relayed message too large for a change notice, sealed, until its node takes it. */
export interface ConnectorRelayTable {
  id: string;
  body: string;
  expires_at: number;
}

export interface ConnectorCodesTable {
  code_hash: string;
  tenant_id: string;
  created_by: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  connector_id: string | null;
}

/** Workstation agents (storage/workstations.ts). */
export interface WorkstationsTable {
  id: string;
  tenant_id: string;
  name: string;
  public_key: string; // SPKI PEM (Ed25519)
  status: 'active' | 'revoked';
  software_version: string | null;
  address: string | null;
  current_user_id: string | null;
  current_since: number | null;
  last_seen_at: number | null;
  last_call_ts: number; // the newest signed timestamp accepted (replay guard)
  created_at: number;
  revoked_at: number | null;
}

export interface WorkstationCodesTable {
  code_hash: string;
  tenant_id: string;
  created_by: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  workstation_id: string | null;
}

export interface WorkstationLinksTable {
  token_hash: string;
  tenant_id: string;
  workstation_id: string;
  user_id: string;
  target: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface WorkstationSessionsTable {
  session_id: string; // the engine session's uid
  tenant_id: string;
  workstation_id: string;
  user_id: string;
  created_at: number;
}

/** Desktop SSO with Kerberos per tenant (storage/kerberos.ts). */
export interface KerberosSettingsTable {
  tenant_id: string;
  enabled: number;
  realm: string;
  principal: string;
  keytab: string; // sealed (base64 of the keytab file)
  mapping: string; // JSON
  negotiate_from: string; // JSON array of CIDRs
  updated_at: number;
}

/** SSO sessions as people and administrators see them (see storage/sessions.ts). */
export interface SsoSessionsTable {
  id: string; // the engine session's uid (stable for the session's life; not the cookie value)
  tenant_id: string;
  user_id: string;
  started_at: number;
  last_seen_at: number;
  expires_at: number;
  ip: string | null;
  user_agent: string | null;
  apps: string; // JSON: client IDs signed in to through this session
  amr: string; // JSON
  acr: string | null;
}

export interface InstanceSettingsTable {
  name: string;
  value: string;
  updated_at: number;
}

/** Addresses a user signed in from successfully (smart lockout's familiar addresses). */
export interface SigninAddressesTable {
  tenant_id: string;
  user_id: string;
  ip: string;
  last_at: number;
}

export interface MailOutboxTable {
  id: string;
  tenant_id: string | null;
  to_address: string;
  from_name: string | null;
  subject: string;
  text_body: string;
  html_body: string;
  kind: string; // test | password_reset | password_changed | verify_email
  attempts: number;
  next_attempt_at: number;
  claimed_until: number | null; // a sender holds the message until then (one send per cluster)
  sent_at: number | null;
  failed_at: number | null; // given up after the last retry
  last_error: string | null;
  created_at: number;
}

export interface UserLinksTable {
  id_hash: string; // keyed hash of the link's secret (never the secret itself)
  tenant_id: string;
  user_id: string;
  purpose: 'reset' | 'verify';
  email: string; // the address it was sent to (a changed email voids it)
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

/** Shared-device sign-ins (OpenID Connect Native SSO): one device secret each (see storage/device-sessions.ts). */
export interface DeviceSessionsTable {
  id: string;
  tenant_id: string;
  user_id: string;
  group_name: string;
  device_name: string | null;
  device_id: string | null;
  secret_hash: string; // keyed hash of the device secret (TokenHasher); the secret itself is never kept
  ds_hash: string; // the ID tokens' ds_hash claim (half a SHA-256 of the secret)
  sid: string;
  session_uid: string | null; // the engine session the check-out signed in with
  checkout_client_id: string;
  amr: string; // JSON
  acr: string | null;
  auth_time: number | null; // seconds
  started_at: number;
  expires_at: number;
  ended_at: number | null;
  end_reason: string | null;
}

export interface DeviceSessionAppsTable {
  device_session_id: string;
  tenant_id: string;
  client_id: string;
  grant_id: string;
  joined_at: number;
}

export interface DeviceCheckoutsTable {
  tenant_id: string;
  session_uid: string;
  client_id: string;
  device_name: string | null;
  device_id: string | null;
  created_at: number;
}

export interface DB {
  mail_outbox: MailOutboxTable;
  user_links: UserLinksTable;
  device_sessions: DeviceSessionsTable;
  device_session_apps: DeviceSessionAppsTable;
  device_checkouts: DeviceCheckoutsTable;
  signin_addresses: SigninAddressesTable;
  instance_settings: InstanceSettingsTable;
  push_enrollments: PushEnrollmentsTable;
  push_challenges: PushChallengesTable;
  mfa_remembered: MfaRememberedTable;
  sso_sessions: SsoSessionsTable;
  workstations: WorkstationsTable;
  kerberos_settings: KerberosSettingsTable;
  workstation_codes: WorkstationCodesTable;
  workstation_links: WorkstationLinksTable;
  workstation_sessions: WorkstationSessionsTable;
  ldap_directories: LdapDirectoriesTable;
  directory_sync_runs: DirectorySyncRunsTable;
  connectors: ConnectorsTable;
  connector_codes: ConnectorCodesTable;
  connector_nodes: ConnectorNodesTable;
  connector_relay: ConnectorRelayTable;
  user_policies: UserPoliciesTable;
  mfa_factors: MfaFactorsTable;
  recovery_codes: RecoveryCodesTable;
  upstreams: UpstreamsTable;
  upstream_checks: UpstreamChecksTable;
  upstream_links: UpstreamLinksTable;
  tenants: TenantsTable;
  users: UsersTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  ous: OusTable;
  domains: DomainsTable;
  apps: AppsTable;
  app_deployments: AppDeploymentsTable;
  signing_keys: SigningKeysTable;
  oidc_artifacts: OidcArtifactsTable;
  audit_events: AuditEventsTable;
  setup_links: SetupLinksTable;
  throttle_counters: ThrottleCountersTable;
  saml_seen_requests: SamlSeenRequestsTable;
}

export interface SamlSeenRequestsTable {
  tenant_id: string;
  sp: string; // the SP's entity ID
  request_id: string;
  expires_at: number;
}
