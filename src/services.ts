// Composition root: stores, then services, then the per-tenant engines, wired explicitly in
// createServices below. Nothing else constructs a store or a service.
import { SamlService } from './saml/service.ts';
import { SamlRequestStore } from './storage/saml-requests.ts';
import pino from 'pino';
import type { Redis } from 'ioredis';
import type { Config } from './config/index.ts';
import { openDatabase, type Database } from './storage/db.ts';
import { TenantStore } from './storage/tenants.ts';
import { UserStore } from './storage/users.ts';
import { AppStore } from './storage/apps.ts';
import { AuditStore } from './storage/audit.ts';
import { UpstreamStore } from './storage/upstreams.ts';
import { MfaStore } from './storage/mfa.ts';
import { InstanceStore } from './storage/instance.ts';
import { SigninAddressStore } from './storage/signin-addresses.ts';
import { SetupLinkStore } from './storage/setup-links.ts';
import { PolicyService } from './policy/policies.ts';
import { PolicyStore } from './storage/policies.ts';
import { PushService } from './mfa/push.ts';
import { DeviceSessionService } from './devices/service.ts';
import { DeviceSessionStore } from './storage/device-sessions.ts';
import { SessionService } from './sessions/sessions.ts';
import { FederationService } from './federation/upstreams.ts';
import { AppService } from './apps/service.ts';
import { KeyService } from './keys/keys.ts';
import { SigningKeyStore } from './storage/signing-keys.ts';
import { EngineCache } from './tenants/engines.ts';
import { ClientCache } from './oidc/clients.ts';
import { Sealer, TokenHasher, resolveSecrets } from './shared/crypto.ts';
import { SealedStore } from './storage/sealed.ts';
import { InstanceSecret } from './keys/instance-secret.ts';
import { rehashLegacyArtifacts } from './oidc/adapters/sql.ts';
import { createMetrics, registerCertificateGauge, type Metrics } from './ops/metrics.ts';
import { MemoryThrottle, RedisThrottle, type Throttle } from './ops/ratelimit.ts';
import { SqlThrottle } from './storage/throttle-counters.ts';
import { LocalBus, PostgresBus, RedisBus, type Bus } from './ops/bus.ts';
import { PostgresLeadership, SoleLeader, type Leadership } from './ops/leader.ts';
import { LdapStore } from './storage/ldap.ts';
import { ConnectorStore } from './storage/connectors.ts';
import { Outbound } from './shared/outbound.ts';
import { LdapService } from './directory/ldap/service.ts';
import { PushStore } from './storage/push.ts';
import { SessionStore } from './storage/sessions.ts';
import { buildEngine } from './oidc/engine.ts';
import { ConnectorHub } from './directory/connector/hub.ts';
import { MailStore } from './storage/mail.ts';
import { UserLinkStore } from './storage/user-links.ts';
import { MailService } from './selfservice/mail.ts';
import { SelfServiceService } from './selfservice/service.ts';
import { createAuditStream, type AuditStream } from './ops/audit-stream.ts';
import { WorkstationStore } from './storage/workstations.ts';
import { WorkstationService } from './workstations/service.ts';
import { KerberosStore } from './storage/kerberos.ts';
import { KerberosService } from './kerberos/service.ts';

/**
 * Everything the composition root builds, by name. The HTTP edge (route registration, the
 * server, jobs, tests) receives this record; domain services never do: each constructor
 * takes only the named dependencies it uses (see each service's `...Deps`).
 */
export interface Services {
  config: Config;
  logger: pino.Logger;
  sealer: Sealer;
  /** Keyed hashes of bearer values kept at rest (tokens, codes, session ids): shared/crypto.ts. */
  tokenHasher: TokenHasher;
  database: Database;
  redis?: Redis;
  metrics: Metrics;
  /** Change notices between nodes (see ops/bus.ts). */
  bus: Bus;
  /** Whether this node runs the scheduled work (see ops/leader.ts). */
  leadership: Leadership;
  /** The HTTP client for every request to an address an administrator typed (shared/outbound.ts). */
  outbound: Outbound;
  /** Where audit events go besides the database (GATEHOUSE_AUDIT_STREAM); fed by auditStore. */
  auditStream?: AuditStream;
  /** Sign-in failure counters and lockouts: per account and per address (interaction/lockout.ts). */
  throttles: { account: Throttle; ip: Throttle };

  // ---- stores (src/storage): SQL, one per aggregate
  /** Instance-wide settings kept in the database (storage/instance.ts). */
  instanceStore: InstanceStore;
  tenantStore: TenantStore;
  /** Local users, groups, OUs and domains. */
  userStore: UserStore;
  appStore: AppStore;
  auditStore: AuditStore;
  upstreamStore: UpstreamStore;
  /** Users' second factors (TOTP authenticators, passkeys, recovery codes). */
  mfaStore: MfaStore;
  /** Addresses users signed in from (smart lockout's familiar addresses). */
  signinAddressStore: SigninAddressStore;
  /** One-time setup links for the first administrator (tenants/bootstrap.ts). */
  setupLinkStore: SetupLinkStore;
  ldapStore: LdapStore;
  connectorStore: ConnectorStore;
  /** Single-use links sent by email: password reset, email verification (storage/user-links.ts). */
  userLinkStore: UserLinkStore;
  /** Workstation agents, their links and the sessions bound to them. */
  workstationStore: WorkstationStore;
  kerberosStore: KerberosStore;

  // ---- services (domain rules)
  /** The instance secret: its check at start and its rotation (keys/instance-secret.ts). */
  instanceSecret: InstanceSecret;
  keyService: KeyService;
  samlService: SamlService;
  appService: AppService;
  /** User policies: SSO on/off, when MFA is required, ... (policy/policies.ts). */
  policyService: PolicyService;
  /** Push approval through the Gatehouse Authenticator (mfa/push.ts). */
  pushService: PushService;
  /** SSO sessions: listed per user, ended by administrators, users and directory changes. */
  sessionService: SessionService;
  /** Shared mobile devices (OpenID Connect Native SSO): device sessions, check-in (devices/service.ts). */
  deviceSessionService: DeviceSessionService;
  /** Upstream directories: routing, sign-in through them, just-in-time accounts. */
  federationService: FederationService;
  /** LDAP / Active Directory directories: settings, sync, sign-in by bind (directory/ldap/). */
  ldapService: LdapService;
  /** On-premises connectors: their WebSocket endpoint and request routing (directory/connector/). */
  connectorHub: ConnectorHub;
  /** Outgoing mail: queued in the store, sent by the leader through SMTP (selfservice/mail.ts). */
  mailService: MailService;
  /** Password reset and change, email verification (selfservice/service.ts). */
  selfService: SelfServiceService;
  /** Workstation agents and the user switch (workstations/). */
  workstationService: WorkstationService;
  /** Desktop SSO with Kerberos / SPNEGO (kerberos/). */
  kerberosService: KerberosService;

  // ---- engines (one oidc-provider per tenant) and what they read through
  clientCache: ClientCache;
  engineCache: EngineCache;
  close(): Promise<void>;
}

/**
 * The throttles' own rules, for callers that give none (push requests, tests). Sign-in
 * lockouts give the user policy's numbers and the address limit from the configuration
 * (interaction/lockout.ts).
 */
export const ACCOUNT_THROTTLE = { limit: 5, windowSeconds: 15 * 60 };
export const IP_THROTTLE = { limit: 50, windowSeconds: 15 * 60 };

/** instance_settings: when the engine's artifacts kept in clear were rewritten as hashes. */
const ARTIFACTS_HASHED = 'artifacts_hashed_at';

/**
 * The composition root: stores, then services, then engines, in one visible order. The HTTP
 * layer (http.ts) is built from the returned record by the server (server.ts).
 */
export async function createServices(config: Config, logger = pino({ level: config.logLevel })): Promise<Services> {
  const database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  if (database.tightened?.length)
    logger.warn({ dataDir: config.dataDir, tightened: database.tightened }, `made the data directory private: ${database.tightened.join(', ')}`);
  const db = database.db;
  const instanceStore = new InstanceStore(db);
  let sealer: Sealer;
  let instanceSecret: InstanceSecret;
  try {
    // The secret is checked before anything is sealed, opened or listened for.
    const secrets = resolveSecrets(config.secret, config.dataDir, config.secretPrevious);
    sealer = new Sealer(secrets.secret, secrets.others);
    instanceSecret = new InstanceSecret({ sealer, instance: instanceStore, sealed: new SealedStore(db), secrets, logger });
    for (const note of await instanceSecret.verify()) logger.info(note);
  } catch (e) {
    await database.close();
    throw e;
  }
  let redis: Redis | undefined;
  if (config.redisUrl) {
    const { Redis } = await import('ioredis'); // only when configured: keeps the embedded footprint small
    redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: true });
    redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection problem'));
    await redis.connect();
  }
  // After the secret check: the token-hashing key is stored sealed under the instance secret.
  const tokenHasher = await TokenHasher.load(instanceStore, sealer);
  // Once, at the upgrade that began hashing the engine's artifacts: rewrite the rows kept in
  // clear before it, so refresh tokens (and sessions kept in SQL) survive the upgrade.
  if (!(await instanceStore.get(ARTIFACTS_HASHED))) {
    const n = await rehashLegacyArtifacts(db, tokenHasher);
    if (n) {
      logger.info({ artifacts: n }, 'engine artifacts kept in clear were rewritten as hashes');
      // The deleted rows' bytes would stay in SQLite's free pages and WAL: rebuild the file.
      // (PostgreSQL: see docs/operations.md, upgrade notes.)
      await database.compact?.();
    }
    await instanceStore.set(ARTIFACTS_HASHED, new Date().toISOString());
  }
  const bus: Bus = redis
    ? await RedisBus.open(redis, config.redisPrefix, logger)
    : database.pg
      ? await PostgresBus.open(database.pg.pool, database.pg.newClient, logger)
      : new LocalBus();
  const leadership: Leadership = database.pg ? new PostgresLeadership(database.pg.newClient, logger) : new SoleLeader();
  const outbound = new Outbound({ allow: config.outboundAllow });
  const throttles = redis
    ? {
        account: new RedisThrottle(redis, config.redisPrefix, 'account', ACCOUNT_THROTTLE),
        ip: new RedisThrottle(redis, config.redisPrefix, 'ip', IP_THROTTLE),
      }
    : database.pg
      ? { account: new SqlThrottle(db, 'account', ACCOUNT_THROTTLE), ip: new SqlThrottle(db, 'ip', IP_THROTTLE) }
      : { account: new MemoryThrottle(ACCOUNT_THROTTLE), ip: new MemoryThrottle(IP_THROTTLE) };

  // ---- stores
  const tenantStore = new TenantStore(db);
  const userStore = new UserStore(db);
  const appStore = new AppStore(db);
  const auditStore = new AuditStore(db, (n) => logger.warn({ events: n }, 'audit events are kept in memory until the database answers again'));
  // Every recorded event is also handed to the stream, in this process only: each worker of
  // `gatehouse start --workers N` streams the events it records, so each goes out once.
  const auditStream = createAuditStream(config.auditStream, {
    logger,
    webhookSecret: config.auditWebhookSecret,
    // Its own client: a receiver that hangs gets five seconds, then the batch is retried later.
    outbound: new Outbound({ allow: config.outboundAllow, timeoutMs: 5000 }),
  });
  if (auditStream) auditStore.onRecord = (e) => auditStream.send(e);
  const upstreamStore = new UpstreamStore(db);
  const mfaStore = new MfaStore(db);
  const signinAddressStore = new SigninAddressStore(db);
  const setupLinkStore = new SetupLinkStore(db);
  const ldapStore = new LdapStore(db);
  const connectorStore = new ConnectorStore(db);
  const policyStore = new PolicyStore(db);
  const pushStore = new PushStore(db);
  const sessionStore = new SessionStore(db);
  const mailStore = new MailStore(db);
  const userLinkStore = new UserLinkStore(db);
  const deviceSessionStore = new DeviceSessionStore(db);
  const samlRequestStore = new SamlRequestStore(db);
  const workstationStore = new WorkstationStore(db);
  const kerberosStore = new KerberosStore(db);

  // ---- caches the engines read through; a changed app profile is reloaded on every node
  const clientCache = new ClientCache(bus, (tenantId, clientId) => appStore.byTenantClientId(tenantId, clientId));
  appStore.onChange = (tenantId, clientId) =>
    clientCache
      .invalidate(tenantId, clientId)
      .catch((err) => logger.error({ err, clientId }, 'could not tell the other nodes that an application changed; they reload it within five minutes'));

  // ---- engines: built per tenant on first use. `build` reads the finished record (`services`,
  // below): an engine uses the services (sessions, policies) and the session service uses this
  // cache, so the cycle is broken by binding the builder late; nothing is built before the
  // record exists (the first request, or bootstrap, comes after createServices returns).
  let services: Services | undefined;
  const engineCache = new EngineCache({
    tenantStore,
    bus,
    logger,
    build: (tenant) => {
      if (!services) throw new Error('An engine was asked for before the services were composed.');
      return buildEngine(services, tenant);
    },
  });

  // ---- services
  // A moved clock only in tests (config: GATEHOUSE_TEST_CLOCK_OFFSET_MS, refused outside NODE_ENV=test).
  const keyService = new KeyService({
    keyStore: new SigningKeyStore(db),
    tenantStore,
    sealer,
    policy: config.keys,
    ...(config.testClockOffsetMs !== undefined && { now: () => Date.now() + (config.testClockOffsetMs ?? 0) }),
  });
  const appService = new AppService({ appStore, userStore, sealer, outbound });
  const policyService = new PolicyService({ policyStore, userStore, appService, bus });
  const pushService = new PushService({ config, logger, sealer, tokenHasher, bus, pushStore, userStore, mfaStore, auditStore, policyService, throttles });
  const sessionService = new SessionService({ logger, sessionStore, auditStore, clientCache, engineCache });
  const deviceSessionService = new DeviceSessionService({ logger, deviceSessionStore, tenantStore, auditStore, tokenHasher, engineCache, sessionService });
  const federationService = new FederationService({ config, logger, sealer, bus, outbound, upstreamStore, userStore, auditStore });
  const connectorHub = new ConnectorHub({
    config,
    logger,
    sealer,
    tokenHasher,
    bus,
    tenantStore,
    connectorStore,
    auditStore,
    throttles,
    sharedStore: !!database.pg,
  });
  const samlService = new SamlService({ keyService, userStore, samlRequestStore, sealer });
  const ldapService = new LdapService({ logger, sealer, tenantStore, userStore, ldapStore, auditStore, sessionService, connectorHub });
  const mailService = new MailService({ config, logger, mailStore, isLeader: () => leadership.isLeader });
  const selfService = new SelfServiceService({ config, logger, tokenHasher, userStore, userLinkStore, auditStore, mailService, sessionService, throttles });
  const workstationService = new WorkstationService({ logger, tokenHasher, tenantStore, userStore, workstationStore, auditStore, sessionService });
  const kerberosService = new KerberosService({ logger, sealer, kerberosStore, userStore, auditStore });
  bus.subscribe('connector-revoked', (id) => connectorHub.dropRevoked(id));
  instanceSecret.listen(bus);

  const metrics = createMetrics();
  registerCertificateGauge(
    metrics,
    async () => {
      const slugs = new Map((await tenantStore.list()).map((t) => [t.id, t.slug]));
      const [keys, apps] = await Promise.all([keyService.activeKeys(), appStore.registeredCertificates()]);
      return [
        ...keys.map((k) => ({ tenant: slugs.get(k.tenantId) ?? k.tenantId, kind: 'idp' as const, kid: k.kid, expiresAt: k.notAfter })),
        ...apps.map((a) => ({ tenant: a.tenantSlug, kind: 'app' as const, clientId: a.clientId, expiresAt: a.expiresAt })),
      ];
    },
    (err) => logger.warn({ err }, 'reading certificate expiry for /metrics failed; the gauge is left out of this scrape'),
  );

  services = {
    config,
    logger,
    sealer,
    tokenHasher,
    database,
    redis,
    metrics,
    bus,
    leadership,
    outbound,
    throttles,
    auditStream,
    instanceStore,
    tenantStore,
    userStore,
    appStore,
    auditStore,
    upstreamStore,
    mfaStore,
    signinAddressStore,
    setupLinkStore,
    ldapStore,
    connectorStore,
    userLinkStore,
    workstationStore,
    kerberosStore,
    instanceSecret,
    keyService,
    appService,
    policyService,
    pushService,
    sessionService,
    deviceSessionService,
    federationService,
    ldapService,
    connectorHub,
    samlService,
    mailService,
    selfService,
    workstationService,
    kerberosService,
    clientCache,
    engineCache,
    async close() {
      await ldapService.close();
      await connectorHub.close();
      await mailService.close();
      kerberosService.close();
      await auditStore.flush().catch((err) => logger.error({ err }, 'audit events lost at shutdown'));
      await auditStream?.close();
      await leadership.close();
      await bus.close();
      redis?.disconnect();
      await database.close();
    },
  };
  return services;
}
