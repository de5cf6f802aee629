// Composition root: stores, services and the per-tenant engines, wired explicitly.
import pino from 'pino';
import type { Redis } from 'ioredis';
import type { Config } from './config/index.ts';
import { openDatabase, type Database } from './storage/db.ts';
import { TenantStore } from './storage/tenants.ts';
import { DirectoryStore } from './storage/directory.ts';
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
import { createMetrics, type Metrics } from './ops/metrics.ts';
import { MemoryThrottle, RedisThrottle, type Throttle } from './ops/ratelimit.ts';
import { SqlThrottle } from './storage/throttle-counters.ts';
import { LocalBus, PostgresBus, RedisBus, type Bus } from './ops/bus.ts';
import { PostgresLeadership, SoleLeader, type Leadership } from './ops/leader.ts';
import { LdapStore } from './storage/ldap.ts';
import { ConnectorStore } from './storage/connectors.ts';
import { Outbound } from './shared/outbound.ts';
import { LdapService } from './directory/ldap/service.ts';
import { ConnectorHub } from './directory/connector/hub.ts';

export interface Context {
  config: Config;
  logger: pino.Logger;
  sealer: Sealer;
  /** Keyed hashes of bearer values kept at rest (tokens, codes, session ids): shared/crypto.ts. */
  tokens: TokenHasher;
  database: Database;
  /** Instance-wide settings kept in the database (storage/instance.ts). */
  instance: InstanceStore;
  /** The instance secret: its check at start and its rotation (keys/instance-secret.ts). */
  instanceSecret: InstanceSecret;
  redis?: Redis;
  tenants: TenantStore;
  directory: DirectoryStore;
  apps: AppStore;
  appService: AppService;
  /** The HTTP client for every request to an address an administrator typed (shared/outbound.ts). */
  outbound: Outbound;
  audit: AuditStore;
  upstreams: UpstreamStore;
  /** Users' second factors (TOTP authenticators, recovery codes). */
  mfa: MfaStore;
  /** User policies: SSO on/off, when MFA is required, ... (policy/policies.ts). */
  policies: PolicyService;
  /** Push approval through the Gatehouse Authenticator (mfa/push.ts). */
  push: PushService;
  /** SSO sessions: listed per user, ended by administrators, users and directory changes. */
  sessions: SessionService;
  /** Upstream directories: routing, sign-in through them, just-in-time accounts. */
  federation: FederationService;
  keys: KeyService;
  engines: EngineCache;
  clients: ClientCache;
  metrics: Metrics;
  /** Sign-in failure counters and lockouts: per account and per address (interaction/lockout.ts). */
  throttles: { account: Throttle; ip: Throttle };
  /** Addresses users signed in from (smart lockout's familiar addresses). */
  signinAddresses: SigninAddressStore;
  /** One-time setup links for the first administrator (tenants/bootstrap.ts). */
  setupLinks: SetupLinkStore;
  /** Change notices between nodes (see ops/bus.ts). */
  bus: Bus;
  /** Whether this node runs the scheduled work (see ops/leader.ts). */
  leadership: Leadership;
  /** LDAP / Active Directory directories: settings, sync, sign-in by bind (directory/ldap/). */
  ldap: LdapService;
  ldapStore: LdapStore;
  /** On-premises connectors: their WebSocket endpoint and request routing (directory/connector/). */
  connectors: ConnectorHub;
  connectorStore: ConnectorStore;
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

export async function createContext(config: Config, logger = pino({ level: config.logLevel })): Promise<Context> {
  const database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  if (database.tightened?.length) logger.warn({ dataDir: config.dataDir, tightened: database.tightened }, `made the data directory private: ${database.tightened.join(', ')}`);
  const instance = new InstanceStore(database.db);
  let sealer: Sealer;
  let instanceSecret: InstanceSecret;
  try {
    // The secret is checked before anything is sealed, opened or listened for.
    const secrets = resolveSecrets(config.secret, config.dataDir, config.secretPrevious);
    sealer = new Sealer(secrets.secret, secrets.others);
    instanceSecret = new InstanceSecret({ sealer, instance, sealed: new SealedStore(database.db), secrets, logger });
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
  const db = database.db;
  // After the secret check: the token-hashing key is stored sealed under the instance secret.
  const tokens = await TokenHasher.load(instance, sealer);
  // Once, at the upgrade that began hashing the engine's artifacts: rewrite the rows kept in
  // clear before it, so refresh tokens (and sessions kept in SQL) survive the upgrade.
  if (!(await instance.get(ARTIFACTS_HASHED))) {
    const n = await rehashLegacyArtifacts(db, tokens);
    if (n) {
      logger.info({ artifacts: n }, 'engine artifacts kept in clear were rewritten as hashes');
      // The deleted rows' bytes would stay in SQLite's free pages and WAL: rebuild the file.
      // (PostgreSQL: see docs/operations.md, upgrade notes.)
      await database.compact?.();
    }
    await instance.set(ARTIFACTS_HASHED, new Date().toISOString());
  }
  const bus: Bus = redis ? await RedisBus.open(redis, config.redisPrefix, logger)
    : database.pg ? await PostgresBus.open(database.pg.pool, database.pg.newClient, logger)
      : new LocalBus();
  const leadership: Leadership = database.pg ? new PostgresLeadership(database.pg.newClient, logger) : new SoleLeader();
  const directory = new DirectoryStore(db);
  const apps = new AppStore(db);
  const clients = new ClientCache(bus, (tenantId, clientId) => apps.byTenantClientId(tenantId, clientId));
  apps.onChange = (tenantId, clientId) => clients.invalidate(tenantId, clientId)
    .catch((err) => logger.error({ err, clientId }, 'could not tell the other nodes that an application changed; they reload it within five minutes'));
  const outbound = new Outbound({ allow: config.outboundAllow });
  const ctx: Context = {
    config,
    logger,
    sealer,
    tokens,
    database,
    instance,
    instanceSecret,
    redis,
    tenants: new TenantStore(db),
    directory,
    apps,
    outbound,
    appService: new AppService(apps, directory, sealer, outbound),
    audit: new AuditStore(db, (n) => logger.warn({ events: n }, 'audit events are kept in memory until the database answers again')),
    upstreams: new UpstreamStore(db),
    mfa: new MfaStore(db),
    policies: undefined as unknown as PolicyService,
    push: undefined as unknown as PushService,
    federation: undefined as unknown as FederationService,
    sessions: undefined as unknown as SessionService,
    keys: new KeyService({ keyStore: new SigningKeyStore(db), tenantStore: new TenantStore(db), sealer }),
    engines: undefined as unknown as EngineCache,
    clients,
    metrics: createMetrics(),
    throttles: redis
      ? { account: new RedisThrottle(redis, config.redisPrefix, 'account', ACCOUNT_THROTTLE), ip: new RedisThrottle(redis, config.redisPrefix, 'ip', IP_THROTTLE) }
      : database.pg
        ? { account: new SqlThrottle(db, 'account', ACCOUNT_THROTTLE), ip: new SqlThrottle(db, 'ip', IP_THROTTLE) }
        : { account: new MemoryThrottle(ACCOUNT_THROTTLE), ip: new MemoryThrottle(IP_THROTTLE) },
    signinAddresses: new SigninAddressStore(db),
    setupLinks: new SetupLinkStore(db),
    bus,
    leadership,
    ldap: undefined as unknown as LdapService,
    ldapStore: new LdapStore(db),
    connectors: undefined as unknown as ConnectorHub,
    connectorStore: new ConnectorStore(db),
    async close() {
      await ctx.ldap.close();
      await ctx.connectors.close();
      await ctx.audit.flush().catch((err) => logger.error({ err }, 'audit events lost at shutdown'));
      await leadership.close();
      await bus.close();
      redis?.disconnect();
      await database.close();
    },
  };
  ctx.engines = new EngineCache(ctx);
  ctx.federation = new FederationService(ctx);
  ctx.policies = new PolicyService(ctx, new PolicyStore(db));
  ctx.push = new PushService(ctx, db);
  ctx.sessions = new SessionService(ctx);
  ctx.ldap = new LdapService(ctx);
  ctx.connectors = new ConnectorHub(ctx);
  bus.subscribe('connector-revoked', (id) => ctx.connectors.dropRevoked(id));
  instanceSecret.listen(bus);
  return ctx;
}
