// Versioned, portable migrations. Kysely's migrator takes a lock (an advisory lock on
// PostgreSQL), so two nodes starting at once apply each migration exactly once.
// Never edit a migration that has shipped: add a new one.
import { type Kysely, type Migration, PostgresAdapter, sql } from 'kysely';

const stamps = (t: any) =>
  t
    .addColumn('created_at', 'bigint', (c: any) => c.notNull())
    .addColumn('updated_at', 'bigint', (c: any) => c.notNull())
    .addColumn('version', 'integer', (c: any) => c.notNull().defaultTo(1));

// The declared order is the applied order: this list is checked to be in strictly increasing
// name order (see inDeclaredOrder). Names are recorded in databases in the field, so a shipped
// name never changes; append new migrations at the end with a name that sorts last.
export const migrationList: ReadonlyArray<Migration & { name: string }> = [
  {
    name: '0001_core',
    async up(db: Kysely<any>) {
      await stamps(
        db.schema
          .createTable('tenants')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('slug', 'text', (c) => c.notNull().unique())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('session_lifetime_minutes', 'integer', (c) => c.notNull().defaultTo(120))
          .addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}')),
      ).execute();

      await db.schema
        .createTable('ous')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('parent_id', 'text', (c) => c.references('ous.id').onDelete('cascade'))
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .addUniqueConstraint('ous_tenant_path', ['tenant_id', 'path'])
        .execute();

      await stamps(
        db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('email', 'text', (c) => c.notNull())
          .addColumn('domain', 'text', (c) => c.notNull())
          .addColumn('given_name', 'text')
          .addColumn('family_name', 'text')
          .addColumn('password_hash', 'text')
          .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
          .addColumn('ou_id', 'text', (c) => c.references('ous.id').onDelete('set null'))
          .addColumn('roles', 'text', (c) => c.notNull().defaultTo('[]'))
          .addUniqueConstraint('users_tenant_email', ['tenant_id', 'email']),
      ).execute();
      await db.schema.createIndex('users_tenant_domain').on('users').columns(['tenant_id', 'domain']).execute();

      await stamps(
        db.schema
          .createTable('groups')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text')
          .addUniqueConstraint('groups_tenant_name', ['tenant_id', 'name']),
      ).execute();

      await db.schema
        .createTable('group_members')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'user_id'])
        .execute();
      await db.schema.createIndex('group_members_user').on('group_members').column('user_id').execute();

      await db.schema
        .createTable('domains')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('domains_tenant_name', ['tenant_id', 'name'])
        .execute();

      await stamps(
        db.schema
          .createTable('apps')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('client_id', 'text', (c) => c.notNull().unique())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('display_name', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('redirect_uris', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('backchannel_logout_uri', 'text')
          .addColumn('home_url', 'text')
          .addColumn('secret_sealed', 'text')
          .addColumn('claims', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('token_ttls', 'text', (c) => c.notNull().defaultTo('{}'))
          .addColumn('deploy_all', 'integer', (c) => c.notNull().defaultTo(0))
          .addUniqueConstraint('apps_tenant_name', ['tenant_id', 'name']),
      ).execute();

      await db.schema
        .createTable('app_deployments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
        .addColumn('target_type', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('app_deployments_target', ['app_id', 'target_type', 'target_id'])
        .execute();

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('private_sealed', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('cert_pem', 'text', (c) => c.notNull())
        .addColumn('not_after', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('activated_at', 'bigint')
        .addColumn('retired_at', 'bigint')
        .execute();
      await db.schema.createIndex('signing_keys_tenant').on('signing_keys').column('tenant_id').execute();

      await db.schema
        .createTable('oidc_artifacts')
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('grant_id', 'text')
        .addColumn('user_code', 'text')
        .addColumn('uid', 'text')
        .addColumn('expires_at', 'bigint')
        .addColumn('consumed_at', 'bigint')
        .addPrimaryKeyConstraint('oidc_artifacts_pk', ['model', 'id'])
        .execute();
      // Partial indexes: most artifacts (client-credentials tokens, codes) have no uid, user code
      // or grant, and an insert that touches fewer indexes writes fewer pages.
      await db.schema.createIndex('oidc_artifacts_grant').on('oidc_artifacts').columns(['grant_id']).where(sql.ref('grant_id'), 'is not', null).execute();
      await db.schema.createIndex('oidc_artifacts_uid').on('oidc_artifacts').columns(['uid']).where(sql.ref('uid'), 'is not', null).execute();
      await db.schema.createIndex('oidc_artifacts_user_code').on('oidc_artifacts').columns(['user_code']).where(sql.ref('user_code'), 'is not', null).execute();
      await db.schema.createIndex('oidc_artifacts_expires').on('oidc_artifacts').columns(['expires_at']).execute();

      await db.schema
        .createTable('audit_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text')
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('actor', 'text')
        .addColumn('subject', 'text')
        .addColumn('ip', 'text')
        .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema.createIndex('audit_events_tenant_at').on('audit_events').columns(['tenant_id', 'at']).execute();

      await db.schema
        .createTable('setup_links')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
    },
  },
  {
    name: '0002_throttle_counters',
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('throttle_counters')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('reset_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('throttle_counters_reset').on('throttle_counters').column('reset_at').execute();
    },
  },
  {
    name: '0003_session_expiry_unindexed',
    // A session's expiry moves on every save (each authorization extends it), and moving its
    // entry in the expiry index wrote two more pages per save. Sessions are purged by scanning
    // the Session rows (the primary key starts with the model); the index serves the rest.
    async up(db: Kysely<any>) {
      await db.schema.dropIndex('oidc_artifacts_expires').execute();
      await db.schema.createIndex('oidc_artifacts_expires').on('oidc_artifacts').columns(['expires_at']).where(sql.ref('model'), '<>', 'Session').execute();
    },
  },
  {
    name: '0004_upstreams',
    // Upstream directories (federation/): settings as JSON, the secret sealed; a link per
    // upstream account (issuer + subject) to the local user it signs in as.
    async up(db: Kysely<any>) {
      await stamps(
        db.schema
          .createTable('upstreams')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull())
          .addColumn('settings', 'text', (c) => c.notNull())
          .addColumn('client_secret_sealed', 'text')
          .addUniqueConstraint('upstreams_tenant_name', ['tenant_id', 'name']),
      ).execute();
      await db.schema
        .createTable('upstream_links')
        .addColumn('upstream_id', 'text', (c) => c.notNull().references('upstreams.id').onDelete('cascade'))
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('upstream_links_pk', ['upstream_id', 'subject'])
        .execute();
      await db.schema
        .createIndex('upstream_links_external')
        .on('upstream_links')
        .columns(['upstream_id', 'external_id'])
        .where(sql.ref('external_id'), 'is not', null)
        .execute();
      await db.schema.createIndex('upstream_links_user').on('upstream_links').column('user_id').execute();
      // Set on users an upstream keeps: their names and email come from it and are read-only here.
      await db.schema.alterTable('users').addColumn('upstream_id', 'text').execute();
    },
  },
  {
    name: '0005_launch',
    // Launching apps: third-party-initiated login, hand-off apps, the opt-in password grant.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('apps').addColumn('initiate_login_uri', 'text').execute();
      await db.schema.alterTable('apps').addColumn('login_redirect_url', 'text').execute();
      await db.schema
        .alterTable('apps')
        .addColumn('password_grant', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('apps').addColumn('logo', 'text').execute();
    },
  },
  {
    name: '0006_mfa',
    // Second factors (mfa/): TOTP authenticators, with the last time step used (replays are
    // refused), and one-time recovery codes, stored hashed.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('mfa_factors')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('secret_sealed', 'text', (c) => c.notNull())
        .addColumn('last_step', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .execute();
      await db.schema.createIndex('mfa_factors_user').on('mfa_factors').column('user_id').execute();
      await db.schema
        .createTable('recovery_codes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('recovery_codes_user').on('recovery_codes').column('user_id').execute();
    },
  },
  {
    name: '0007_app_requires_mfa',
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('apps')
        .addColumn('require_mfa', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  {
    name: '0008_user_policies',
    // User policies (policy/): the first by priority whose targets match a user applies.
    async up(db: Kysely<any>) {
      await stamps(
        db.schema
          .createTable('user_policies')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('priority', 'integer', (c) => c.notNull())
          .addColumn('targets', 'text', (c) => c.notNull())
          .addColumn('settings', 'text', (c) => c.notNull())
          .addUniqueConstraint('user_policies_tenant_name', ['tenant_id', 'name']),
      ).execute();
    },
  },
  {
    name: '0009_sso_sessions',
    // The SSO session registry (storage/sessions.ts): listed per user and by recent activity.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('sso_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('apps', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('amr', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('acr', 'text')
        .execute();
      await db.schema.createIndex('sso_sessions_user').on('sso_sessions').columns(['tenant_id', 'user_id']).execute();
      await db.schema.createIndex('sso_sessions_recent').on('sso_sessions').columns(['tenant_id', 'last_seen_at']).execute();
      await db.schema.createIndex('sso_sessions_expires').on('sso_sessions').column('expires_at').execute();
    },
  },
  {
    name: '0010_directory_sync',
    // LDAP / Active Directory sync (directory/ldap/) and the on-premises connectors
    // (directory/connector/). Synced users and groups keep their directory, stable external
    // ID (objectGUID, entryUUID) and DN; the DN gives their OU and domain.
    async up(db: Kysely<any>) {
      await stamps(
        db.schema
          .createTable('ldap_directories')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('settings', 'text', (c) => c.notNull())
          .addColumn('bind_password_sealed', 'text')
          .addColumn('sync_marks', 'text', (c) => c.notNull().defaultTo('{}'))
          .addColumn('last_full_sync_at', 'bigint')
          .addColumn('last_sync_at', 'bigint')
          .addUniqueConstraint('ldap_directories_tenant_name', ['tenant_id', 'name']),
      ).execute();
      await db.schema
        .createTable('directory_sync_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('directory_id', 'text', (c) => c.notNull().references('ldap_directories.id').onDelete('cascade'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('progress', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('errors', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('message', 'text')
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .execute();
      await db.schema.createIndex('directory_sync_runs_dir').on('directory_sync_runs').columns(['directory_id', 'started_at']).execute();
      for (const t of ['users', 'groups']) {
        await db.schema.alterTable(t).addColumn('directory_id', 'text').execute();
        await db.schema.alterTable(t).addColumn('external_id', 'text').execute();
        await db.schema.alterTable(t).addColumn('dn', 'text').execute();
        await db.schema
          .createIndex(`${t}_directory_external`)
          .unique()
          .on(t)
          .columns(['directory_id', 'external_id'])
          .where(sql.ref('directory_id'), 'is not', null)
          .execute();
        await db.schema.createIndex(`${t}_directory_dn`).on(t).columns(['directory_id', 'dn']).where(sql.ref('directory_id'), 'is not', null).execute();
      }
      await db.schema.alterTable('users').addColumn('directory_seen_at', 'bigint').execute();

      await db.schema
        .createTable('connectors')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('software_version', 'text')
        .addColumn('address', 'text')
        .addColumn('node_id', 'text')
        .addColumn('connected', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('connected_at', 'bigint')
        .addColumn('last_seen_at', 'bigint')
        .addColumn('latency_ms', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('last_error_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('connectors_tenant').on('connectors').column('tenant_id').execute();
      await db.schema
        .createTable('connector_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('connector_id', 'text')
        .execute();
    },
  },
  {
    name: '0020_push_and_remembered_devices',
    // Push approval (mfa/push.ts): a device is an mfa_factors row of type 'push'; enrollments
    // wait here for the phone (10 minutes), sign-in requests for its answer (30 seconds).
    // Remembered devices skip the second factor for a policy's number of days.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('push_enrollments')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('recovery_hashes', 'text')
        .addColumn('factor_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('push_challenges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('uid', 'text', (c) => c.notNull())
        .addColumn('number', 'integer')
        .addColumn('client_id', 'text')
        .addColumn('app_name', 'text')
        .addColumn('ip', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('decided_at', 'bigint')
        .addColumn('consumed_at', 'bigint')
        .execute();
      await db.schema.createIndex('push_challenges_user').on('push_challenges').columns(['user_id', 'status']).execute();
      await db.schema.createIndex('push_challenges_created').on('push_challenges').column('created_at').execute();
      await db.schema
        .createTable('mfa_remembered')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mfa_remembered_user').on('mfa_remembered').column('user_id').execute();
    },
  },
  {
    name: '0030_admin_api',
    // Audit events name the user and the application they are about, so the log can be
    // filtered by either (indexed, newest first); events already stored are filled in from
    // their subject and data. The log's own order (newest first within a tenant) gets its index.
    // Apps may register their public keys (JWKS); the earliest certificate expiry is kept for alerts.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('audit_events').addColumn('user_id', 'text').execute();
      await db.schema.alterTable('audit_events').addColumn('client_id', 'text').execute();
      await db
        .updateTable('audit_events')
        .set({ user_id: sql.ref('subject') })
        .where(sql`substr(subject, 1, 4)`, '=', 'usr_')
        .execute();
      const clientIdInData = db.getExecutor().adapter instanceof PostgresAdapter ? sql`(data::jsonb ->> 'clientId')` : sql`json_extract(data, '$.clientId')`;
      await db.updateTable('audit_events').set({ client_id: clientIdInData }).where(clientIdInData, 'is not', null).execute();
      await db
        .updateTable('audit_events')
        .set({ client_id: sql.ref('subject') })
        .where('type', 'like', 'admin.app.%')
        .where('client_id', 'is', null)
        .execute();
      await db.schema.createIndex('audit_events_tenant_id').on('audit_events').columns(['tenant_id', 'id']).execute();
      await db.schema.createIndex('audit_events_user').on('audit_events').columns(['user_id', 'id']).where(sql.ref('user_id'), 'is not', null).execute();
      await db.schema.createIndex('audit_events_client').on('audit_events').columns(['client_id', 'id']).where(sql.ref('client_id'), 'is not', null).execute();
      await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor', 'id']).where(sql.ref('actor'), 'is not', null).execute();
      await db.schema.alterTable('apps').addColumn('jwks', 'text').execute();
      await db.schema.alterTable('apps').addColumn('certificate_expires_at', 'bigint').execute();
    },
  },
  {
    name: '0031_connector_relay',
    // Connectors of any node serve every node (directory/connector/relay.ts): the nodes that
    // hold connector connections beat here, so a dead node's connections are not trusted, and
    // relayed messages too large for a change notice (LISTEN/NOTIFY carries 8,000 bytes) wait
    // here, sealed, for the node they are meant for.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('connector_nodes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('connector_relay')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('connector_relay_expires').on('connector_relay').column('expires_at').execute();
    },
  },
  {
    name: '0032_client_auth_method',
    // How a confidential app authenticates at the token endpoint; null is client_secret_basic,
    // what every app used before. private_key_jwt uses the keys the app registered (jwks).
    async up(db: Kysely<any>) {
      await db.schema.alterTable('apps').addColumn('client_auth_method', 'text').execute();
    },
  },
  {
    name: '0040_instance_settings',
    // Instance-wide values that travel with the database (not with one node's environment):
    // the instance secret's check value, the sealed token-hashing key. Values are text; secret
    // values are stored sealed under the instance secret.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('instance_settings')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  {
    name: '0050_signin_addresses',
    // Addresses each user signed in from successfully, with the last time: an address used
    // within 30 days is familiar to the account (smart lockout, interaction/lockout.ts), so
    // failures from strangers elsewhere never lock the user out there.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('signin_addresses')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('last_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('signin_addresses_pk', ['tenant_id', 'user_id', 'ip'])
        .execute();
      await db.schema.createIndex('signin_addresses_last_at').on('signin_addresses').column('last_at').execute();
    },
  },
  {
    name: '0055_outlive_session',
    // Hand-off apps: whether the refresh token handed over at a launch survives the user's
    // sign-out of Gatehouse (default 0: signing out, or an administrator ending the session,
    // revokes it).
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('apps')
        .addColumn('outlive_session', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  {
    name: '0060_upstream_checks',
    // The last background check of each upstream's discovery (hourly on the leader, and an
    // administrator's "Test"), kept in the store so that every node's overview shows it.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('upstream_checks')
        .addColumn('upstream_id', 'text', (c) => c.primaryKey().references('upstreams.id').onDelete('cascade'))
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('ok', 'integer', (c) => c.notNull())
        .addColumn('message', 'text')
        .addColumn('checked_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('upstream_checks_tenant').on('upstream_checks').column('tenant_id').execute();
    },
  },
  {
    name: '0100_signing_key_schedule',
    // Key lifecycle (keys/keys.ts): when each key was first published in the JWKS, and when an
    // operator asked for a next key to start signing (`keys rotate`; null: on the automatic
    // schedule). Existing keys were published when they were created, and their next keys
    // follow the automatic schedule.
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('signing_keys')
        .addColumn('published_at', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('signing_keys').addColumn('activates_at', 'bigint').execute();
      await db.updateTable('signing_keys').set({ published_at: sql`created_at` }).execute();
    },
  },
  {
    name: '0130_self_service',
    // Issue 17: usernames (unique per tenant; kept lowercased, so the unique index makes them
    // case-insensitive), email verification, a required password change, the mail outbox and
    // the single-use links sent by email (password reset, email verification).
    // Existing users get email_verified = 1: until now every local user's email_verified claim
    // was true, and applications may already rely on it (account linking, access rules); taking
    // it away at an upgrade would lock people out of those apps without them doing anything.
    // Users created from now on start unverified until they follow a link or an administrator
    // marks them verified.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('users').addColumn('username', 'text').execute();
      await db.schema
        .alterTable('users')
        .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('users')
        .addColumn('must_change_password', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.updateTable('users').set({ email_verified: 1 }).execute();
      await db.schema.createIndex('users_tenant_username').on('users').columns(['tenant_id', 'username']).unique().execute();

      await db.schema
        .createTable('mail_outbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.references('tenants.id').onDelete('cascade'))
        .addColumn('to_address', 'text', (c) => c.notNull())
        .addColumn('from_name', 'text')
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('text_body', 'text', (c) => c.notNull())
        .addColumn('html_body', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('claimed_until', 'bigint')
        .addColumn('sent_at', 'bigint')
        .addColumn('failed_at', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mail_outbox_due').on('mail_outbox').columns(['sent_at', 'next_attempt_at']).execute();

      await db.schema
        .createTable('user_links')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('user_links_user').on('user_links').columns(['user_id', 'purpose']).execute();
    },
  },
  {
    name: '0150_saml_apps',
    // SAML application profiles keep their SAML settings (SP entity ID, ACS URLs, NameID,
    // attributes, signing, certificates) as one JSON document beside the shared profile
    // columns: they are read whole with the profile and never queried field by field. The SP
    // entity ID is also a column, unique per tenant, because the SSO service looks the
    // profile up by it (the Issuer of an AuthnRequest).
    async up(db: Kysely<any>) {
      await db.schema.alterTable('apps').addColumn('saml', 'text').execute();
      await db.schema.alterTable('apps').addColumn('saml_entity_id', 'text').execute();
      await db.schema.createIndex('apps_saml_entity').on('apps').columns(['tenant_id', 'saml_entity_id']).unique().execute();
      // AuthnRequest and LogoutRequest IDs seen, until they could no longer be accepted: a
      // replayed request is refused on every node. The key is (tenant, SP, request ID).
      await db.schema
        .createTable('saml_seen_requests')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sp', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('saml_seen_requests_pk', ['tenant_id', 'sp', 'request_id'])
        .execute();
      await db.schema.createIndex('saml_seen_requests_expiry').on('saml_seen_requests').column('expires_at').execute();
    },
  },
  {
    name: '0160_workstations',
    // Workstation agents (issue 19): enrolled once with a one-time code, then each call is
    // signed with the agent's pinned Ed25519 key. `last_call_ts` is the newest signed
    // timestamp accepted: a call must be newer, so a captured call cannot be replayed. One-time
    // links (kept as keyed hashes) start an SSO session for the desktop user, and the sessions
    // so started are bound to the workstation so the next user's sign-in can end them.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('workstations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('software_version', 'text')
        .addColumn('address', 'text')
        .addColumn('current_user_id', 'text')
        .addColumn('current_since', 'bigint')
        .addColumn('last_seen_at', 'bigint')
        .addColumn('last_call_ts', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('workstations_tenant').on('workstations').column('tenant_id').execute();
      await db.schema
        .createTable('workstation_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('workstation_id', 'text')
        .execute();
      await db.schema
        .createTable('workstation_links')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('workstation_id', 'text', (c) => c.notNull().references('workstations.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema
        .createTable('workstation_sessions')
        .addColumn('session_id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('workstation_id', 'text', (c) => c.notNull().references('workstations.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('workstation_sessions_ws').on('workstation_sessions').columns(['workstation_id', 'user_id']).execute();
    },
  },
  {
    name: '0161_kerberos_settings',
    // Desktop SSO with Kerberos (SPNEGO) per tenant: the service principal, its keytab (sealed
    // under the instance secret, never returned), how principals map to users, and the
    // address ranges Negotiate is offered to (JSON; empty: every address).
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('kerberos_settings')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('realm', 'text', (c) => c.notNull())
        .addColumn('principal', 'text', (c) => c.notNull())
        .addColumn('keytab', 'text', (c) => c.notNull())
        .addColumn('mapping', 'text', (c) => c.notNull())
        .addColumn('negotiate_from', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  {
    name: '0170_device_sessions',
    // Shared mobile devices (OpenID Connect Native SSO): an app profile may join a device SSO
    // group; each device secret handed out is a device session (one shift of one user on one
    // device) with the apps that exchanged into it; check-outs remember the device a check-out
    // app reported on its authorization request until its code is redeemed.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('apps').addColumn('device_sso_group', 'text').execute();
      await db.schema
        .createTable('device_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('group_name', 'text', (c) => c.notNull())
        .addColumn('device_name', 'text')
        .addColumn('device_id', 'text')
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('ds_hash', 'text', (c) => c.notNull())
        .addColumn('sid', 'text', (c) => c.notNull())
        .addColumn('session_uid', 'text')
        .addColumn('checkout_client_id', 'text', (c) => c.notNull())
        .addColumn('amr', 'text', (c) => c.notNull())
        .addColumn('acr', 'text')
        .addColumn('auth_time', 'bigint')
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .addColumn('end_reason', 'text')
        .execute();
      await db.schema.createIndex('device_sessions_tenant_started').on('device_sessions').columns(['tenant_id', 'started_at']).execute();
      await db.schema.createIndex('device_sessions_device').on('device_sessions').columns(['tenant_id', 'device_id']).execute();
      await db.schema
        .createTable('device_session_apps')
        .addColumn('device_session_id', 'text', (c) => c.notNull().references('device_sessions.id').onDelete('cascade'))
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('grant_id', 'text', (c) => c.notNull())
        .addColumn('joined_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('device_session_apps_pk', ['device_session_id', 'client_id'])
        .execute();
      await db.schema.createIndex('device_session_apps_grant').on('device_session_apps').columns(['tenant_id', 'grant_id']).execute();
      await db.schema
        .createTable('device_checkouts')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('session_uid', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('device_name', 'text')
        .addColumn('device_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('device_checkouts_pk', ['tenant_id', 'session_uid', 'client_id'])
        .execute();
    },
  },
  {
    // The language a user chose for Gatehouse's pages (issue 17: i18n negotiate, after ui_locales).
    name: '0180_user_locale',
    async up(db) {
      await db.schema.alterTable('users').addColumn('locale', 'text').execute();
    },
  },
];

type Named = Migration & { name: string };

/** Kysely (0.28) applies migrations in the names' code-unit sort order and takes no
 *  comparator for that, so the declared order is made the applied order by refusing a list
 *  whose names do not strictly increase (a misnamed migration would otherwise run out of its
 *  place, silently). Thrown at load, before anything runs. */
export function inDeclaredOrder(list: ReadonlyArray<Named>): Record<string, Migration> {
  for (let i = 1; i < list.length; i++) {
    const prev = list[i - 1]!.name,
      cur = list[i]!.name;
    if (!(prev < cur)) {
      throw new Error(
        `Migration ${cur} is declared after ${prev} but ${prev === cur ? 'has the same name' : 'sorts before it'}: ` +
          'migrations are applied in name order, so give a new migration a name that sorts after every earlier one.',
      );
    }
  }
  return Object.fromEntries(list.map(({ name, ...m }) => [name, m]));
}

/** The shipped migrations by name, for kysely's provider, checked as the module loads. */
export const migrations: Record<string, Migration> = inDeclaredOrder(migrationList);
