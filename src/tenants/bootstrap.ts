// First start: the default tenant, signing keys for every tenant, and the first administrator
// (from GATEHOUSE_BOOTSTRAP_ADMIN_*, or else a one-time setup link).
import crypto from 'node:crypto';
import type { Context } from '../context.ts';
import { hashPassword } from '../directory/passwords.ts';

export const DEFAULT_TENANT = 'default';
const SETUP_LINK_TTL_MS = 24 * 3600 * 1000;

// Setup links are kept as keyed hashes (docs/security.md, "Secrets at rest"); a link issued
// before they were (a plain SHA-256) is replaced at the next start, as every unused link is.
const hashToken = (app: Context, t: string) => app.tokens.hash(t, 'setup-link');

export interface BootstrapResult { setupUrl?: string; adminEmail?: string; adminCreated: boolean }

export async function bootstrap(app: Context): Promise<BootstrapResult> {
  let tenant = await app.tenants.bySlug(DEFAULT_TENANT);
  if (!tenant) {
    try {
      tenant = await app.tenants.create({ slug: DEFAULT_TENANT, name: 'Default organization' });
    } catch {
      tenant = await app.tenants.getBySlug(DEFAULT_TENANT); // another node created it first
    }
  }
  for (const t of await app.tenants.list()) await app.keys.ensureKeys(t.id);

  const boot = app.config.bootstrapAdmin;
  if (boot) {
    const existing = await app.directory.userByEmail(tenant.id, boot.email);
    if (!existing) {
      await app.directory.createUser({ tenantId: tenant.id, email: boot.email, passwordHash: await hashPassword(boot.password), roles: ['superadmin'] })
        .catch(async (e) => { if (!(await app.directory.userByEmail(tenant.id, boot.email))) throw e; });
      await app.audit.record({ tenantId: tenant.id, type: 'admin.bootstrapped', subject: boot.email, data: { email: boot.email } });
      return { adminEmail: boot.email, adminCreated: true };
    }
    return { adminEmail: boot.email, adminCreated: false };
  }
  if (await hasSuperadmin(app, tenant.id)) return { adminCreated: false };
  // Nobody can administer this instance yet: issue a fresh one-time link (older ones stop working).
  const token = crypto.randomBytes(24).toString('base64url');
  await app.setupLinks.replaceAll({ tokenHash: hashToken(app, token), tenantId: tenant.id, expiresAt: Date.now() + SETUP_LINK_TTL_MS });
  return { setupUrl: `${app.config.publicUrl}/setup/${token}`, adminCreated: false };
}

export async function hasSuperadmin(app: Context, tenantId: string): Promise<boolean> {
  return app.directory.hasUserWithRole(tenantId, 'superadmin');
}

/** Redeem a setup link: creates the first superadministrator. Works once. */
export async function redeemSetupLink(app: Context, token: string, email: string, password: string): Promise<'ok' | 'invalid'> {
  if (!(await app.setupLinks.redeem(hashToken(app, token), Date.now()))) return 'invalid';
  const tenant = await app.tenants.getBySlug(DEFAULT_TENANT);
  await app.directory.createUser({ tenantId: tenant.id, email, passwordHash: await hashPassword(password), roles: ['superadmin'] });
  await app.audit.record({ tenantId: tenant.id, type: 'admin.setup_completed', subject: email, data: { email } });
  return 'ok';
}

export async function setupLinkValid(app: Context, token: string): Promise<boolean> {
  return app.setupLinks.valid(hashToken(app, token), Date.now());
}
