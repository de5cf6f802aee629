// Settings: every one documented in docs/configuration.md with its default.
// Read once at start; a bad value stops start-up with a message naming the setting.
import { z } from 'zod';
import path from 'node:path';
import { parseCidrs } from '../shared/outbound.ts';
import { DEFAULT_KEY_POLICY, KEY_POLICY_LIMITS, type KeyPolicy } from '../keys/keys.ts';
import { parseAuditStream, type AuditStreamTarget } from '../ops/audit-stream.ts';

const port = z.coerce.number().int().min(0).max(65535);
const url = z.url({ protocol: /^https?$/ });

export const settingsSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  GATEHOUSE_PUBLIC_URL: url.optional(),
  GATEHOUSE_DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  GATEHOUSE_REDIS_PREFIX: z.string().default('gh:'),
  GATEHOUSE_SECRET: z.string().min(32, 'must be at least 32 characters (use `openssl rand -base64 48`)').optional(),
  GATEHOUSE_SECRET_PREVIOUS: z.string().min(32, 'must be at least 32 characters: the instance secret before GATEHOUSE_SECRET, during its rotation').optional(),
  GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: z.email().optional(),
  GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  GATEHOUSE_TLS_CERT: z.string().min(1).optional(),
  GATEHOUSE_TLS_KEY: z.string().min(1).optional(),
  GATEHOUSE_TRUST_PROXY: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  GATEHOUSE_SECURE_COOKIES: z.enum(['auto', 'true', 'false']).default('auto'),
  GATEHOUSE_SIGNIN_ADDRESS_LIMIT: z.coerce.number().int().min(2, 'must be 2 or more').max(100_000).default(50),
  GATEHOUSE_WORKERS: z.coerce.number().int().min(1, 'must be 1 or more').max(256).optional(),
  GATEHOUSE_STRICT_API_RESPONSES: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  GATEHOUSE_OUTBOUND_ALLOW: z
    .string()
    .default('')
    .superRefine((v, ctx) => {
      const { problem } = parseCidrs(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  GATEHOUSE_KEY_PUBLISH_DAYS: z.coerce
    .number()
    .int()
    .min(KEY_POLICY_LIMITS.publishDays.min, `must be ${KEY_POLICY_LIMITS.publishDays.min} or more: relying parties need time to fetch the JWKS`)
    .max(KEY_POLICY_LIMITS.publishDays.max)
    .default(DEFAULT_KEY_POLICY.publishDays),
  GATEHOUSE_KEY_ROTATE_BEFORE_DAYS: z.coerce
    .number()
    .int()
    .min(
      KEY_POLICY_LIMITS.rotateBeforeDays.min,
      `must be ${KEY_POLICY_LIMITS.rotateBeforeDays.min} or more, so that rotation happens before the 60-day expiry warning`,
    )
    .max(KEY_POLICY_LIMITS.rotateBeforeDays.max)
    .default(DEFAULT_KEY_POLICY.rotateBeforeDays),
  GATEHOUSE_SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL, like smtp://user:password@mail.example.com:587' }).optional(),
  GATEHOUSE_MAIL_FROM: z.email('must be an email address, like no-reply@sso.example.com').optional(),
  GATEHOUSE_AUDIT_STREAM: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      const r = v === undefined ? undefined : parseAuditStream(v);
      if (r && 'problem' in r) ctx.addIssue({ code: 'custom', message: r.problem });
    }),
  GATEHOUSE_AUDIT_WEBHOOK_SECRET: z
    .string()
    .min(32, "must be at least 32 characters (use `openssl rand -hex 32`); receivers check each batch's signature with it")
    .optional(),
  GATEHOUSE_ACCESS_LOG: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  GATEHOUSE_METRICS_PORT: port.optional(),
  GATEHOUSE_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  GATEHOUSE_METRICS_TOKEN: z
    .string()
    .min(32, 'must be at least 32 characters (use `openssl rand -hex 32`)')
    .regex(/^[\x21-\x7e]+$/, 'must be printable characters without spaces (it is sent in an Authorization header)')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Settings = z.infer<typeof settingsSchema>;

export interface Config {
  port: number;
  host: string;
  publicUrl: string; // no trailing slash
  /** The public URL's host[:port], the Host the engine builds its URLs from. */
  publicHost: string;
  dataDir: string; // absolute
  databaseUrl?: string;
  redisUrl?: string;
  redisPrefix: string;
  secret?: string;
  /** During a rotation of the instance secret: the old one, to open values not yet re-sealed. */
  secretPrevious?: string;
  bootstrapAdmin?: { email: string; password: string };
  trustProxy: boolean;
  secureCookies: boolean;
  /** Serve HTTPS with these PEM files (absolute paths), reloaded on SIGHUP; else plain HTTP (behind a TLS proxy). */
  tls?: { certFile: string; keyFile: string };
  /** Failed sign-ins from one address in 15 minutes before it is slowed, then refused for the accounts it failed on (interaction/lockout.ts). */
  signinAddressLimit: number;
  logLevel: Settings['LOG_LEVEL'];
  /** Worker processes for `gatehouse start` (default: one per core with DATABASE_URL and REDIS_URL, else 1). */
  workers?: number;
  /** An admin API answer that does not match its schema is answered 500 (else logged and sent); for tests and development. */
  strictApiResponses: boolean;
  /** Loopback and private ranges outbound requests may reach (comma-separated CIDRs; see src/shared/outbound.ts). */
  outboundAllow: string;
  /** Where outgoing mail goes (smtp:// or smtps://, credentials in the URL); unset: mail is queued but not sent. */
  smtpUrl?: string;
  /** The address mail is sent from; each tenant chooses the name shown with it. */
  mailFrom: string;
  /** Where audit events go besides the database (ops/audit-stream.ts); undefined: stored only. */
  auditStream?: AuditStreamTarget;
  /** HMAC key that signs the audit webhook's batches (required with a webhook stream). */
  auditWebhookSecret?: string;
  /** One JSON line per HTTP request on standard output (ops/access-log.ts). */
  accessLog: boolean;
  /** /metrics on a listener of its own (host, port); undefined: only on the main port, see ops/metrics-access.ts. */
  metricsListener?: { host: string; port: number };
  /** Bearer token that opens /metrics on the main port from anywhere. */
  metricsToken?: string;
  /** Signing key lifecycle (keys/keys.ts). */
  keys: KeyPolicy;
  /**
   * Tests only (NODE_ENV=test): the signing key lifecycle's clock runs this far ahead of the
   * real one. Read on every use, so a test holding the config may move it while running.
   */
  testClockOffsetMs?: number;
}

/**
 * GATEHOUSE_TEST_CLOCK_OFFSET_MS moves the clock that signing key decisions use, so that tests
 * can age keys without waiting; it is refused outside NODE_ENV=test, where a moved clock would
 * rotate keys early or keep expired ones.
 */
function testClockOffset(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.GATEHOUSE_TEST_CLOCK_OFFSET_MS;
  if (v === undefined || v === '') return undefined;
  if (env.NODE_ENV !== 'test') throw new ConfigError('Invalid configuration:\n  GATEHOUSE_TEST_CLOCK_OFFSET_MS: only for tests (NODE_ENV=test); unset it.');
  if (!/^-?\d+$/.test(v)) throw new ConfigError('Invalid configuration:\n  GATEHOUSE_TEST_CLOCK_OFFSET_MS: must be a whole number of milliseconds.');
  return Number(v);
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(settingsSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}\nFix these settings (see docs/configuration.md) and start again.`);
  }
  const s = parsed.data;
  if (!!s.GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL !== !!s.GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD) {
    throw new ConfigError('Invalid configuration:\n  GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL and GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD must be set together.');
  }
  if (s.DATABASE_URL && !s.GATEHOUSE_SECRET) {
    throw new ConfigError(
      'Invalid configuration:\n  GATEHOUSE_SECRET: required when DATABASE_URL is set, so that every node can decrypt the keys and secrets they share.',
    );
  }
  if (s.GATEHOUSE_SECRET_PREVIOUS && !s.GATEHOUSE_SECRET) {
    throw new ConfigError(
      'Invalid configuration:\n  GATEHOUSE_SECRET_PREVIOUS: only with GATEHOUSE_SECRET (the new secret); it holds the old one during a rotation (see docs/operations.md).',
    );
  }
  if (s.GATEHOUSE_SECRET_PREVIOUS && s.GATEHOUSE_SECRET_PREVIOUS === s.GATEHOUSE_SECRET) {
    throw new ConfigError(
      'Invalid configuration:\n  GATEHOUSE_SECRET_PREVIOUS: is the same as GATEHOUSE_SECRET; give the old secret, or unset it once the rotation is done.',
    );
  }
  if (s.GATEHOUSE_PUBLIC_URL && (new URL(s.GATEHOUSE_PUBLIC_URL).pathname.replace(/\/+$/, '') || new URL(s.GATEHOUSE_PUBLIC_URL).search)) {
    throw new ConfigError(
      'Invalid configuration:\n  GATEHOUSE_PUBLIC_URL: give scheme, host and port only (like https://sso.example.com); a path prefix is not supported.',
    );
  }
  const auditStream = s.GATEHOUSE_AUDIT_STREAM === undefined ? undefined : (parseAuditStream(s.GATEHOUSE_AUDIT_STREAM) as AuditStreamTarget);
  if (auditStream?.kind === 'webhook' && !s.GATEHOUSE_AUDIT_WEBHOOK_SECRET) {
    throw new ConfigError(
      'Invalid configuration:\n  GATEHOUSE_AUDIT_WEBHOOK_SECRET: required when GATEHOUSE_AUDIT_STREAM is a webhook, so the receiver can tell batches really come from Gatehouse (use `openssl rand -hex 32`; see docs/operations.md).',
    );
  }
  if (!!s.GATEHOUSE_TLS_CERT !== !!s.GATEHOUSE_TLS_KEY) {
    throw new ConfigError(
      'Invalid configuration:\n  GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY must be set together (the certificate chain and its private key, PEM files), or neither to serve plain HTTP behind a TLS proxy.',
    );
  }
  const tls = s.GATEHOUSE_TLS_CERT ? { certFile: path.resolve(s.GATEHOUSE_TLS_CERT), keyFile: path.resolve(s.GATEHOUSE_TLS_KEY!) } : undefined;
  const publicUrl = (s.GATEHOUSE_PUBLIC_URL ?? `${tls ? 'https' : 'http'}://localhost:${s.PORT}`).replace(/\/+$/, '');
  const secureCookies = s.GATEHOUSE_SECURE_COOKIES === 'auto' ? publicUrl.startsWith('https:') : s.GATEHOUSE_SECURE_COOKIES === 'true';
  return {
    port: s.PORT,
    host: s.HOST,
    publicUrl,
    publicHost: new URL(publicUrl).host,
    dataDir: path.resolve(s.GATEHOUSE_DATA_DIR),
    databaseUrl: s.DATABASE_URL,
    redisUrl: s.REDIS_URL,
    redisPrefix: s.GATEHOUSE_REDIS_PREFIX,
    secret: s.GATEHOUSE_SECRET,
    secretPrevious: s.GATEHOUSE_SECRET_PREVIOUS,
    bootstrapAdmin: s.GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL
      ? { email: s.GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL.toLowerCase(), password: s.GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD! }
      : undefined,
    trustProxy: s.GATEHOUSE_TRUST_PROXY,
    secureCookies,
    tls,
    signinAddressLimit: s.GATEHOUSE_SIGNIN_ADDRESS_LIMIT,
    logLevel: s.LOG_LEVEL,
    workers: s.GATEHOUSE_WORKERS,
    strictApiResponses: s.GATEHOUSE_STRICT_API_RESPONSES,
    outboundAllow: s.GATEHOUSE_OUTBOUND_ALLOW,
    keys: { publishDays: s.GATEHOUSE_KEY_PUBLISH_DAYS, rotateBeforeDays: s.GATEHOUSE_KEY_ROTATE_BEFORE_DAYS },
    ...(testClockOffset(env) !== undefined && { testClockOffsetMs: testClockOffset(env) }),
    smtpUrl: s.GATEHOUSE_SMTP_URL,
    mailFrom: s.GATEHOUSE_MAIL_FROM ?? `no-reply@${new URL(publicUrl).hostname.replace(/^localhost$/, 'localhost.localdomain')}`,
    auditStream,
    auditWebhookSecret: s.GATEHOUSE_AUDIT_WEBHOOK_SECRET,
    accessLog: s.GATEHOUSE_ACCESS_LOG,
    metricsListener: s.GATEHOUSE_METRICS_PORT === undefined ? undefined : { host: s.GATEHOUSE_METRICS_HOST, port: s.GATEHOUSE_METRICS_PORT },
    metricsToken: s.GATEHOUSE_METRICS_TOKEN,
  };
}
