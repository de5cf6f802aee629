// First start: the default tenant, signing keys for every tenant, and the first administrator
// (from GATEHOUSE_BOOTSTRAP_ADMIN_*, or else a one-time setup link).
import crypto from 'node:crypto';
import type { Services } from '../services.ts';
import { hashPassword } from '../directory/passwords.ts';

export const DEFAULT_TENANT = 'default';
const SETUP_LINK_TTL_MS = 24 * 3600 * 1000;

// Setup links are kept as keyed hashes (docs/security.md, "Secrets at rest"); a link issued
// before they were (a plain SHA-256) is replaced at the next start, as every unused link is.
const hashToken = (services: Pick<Services, 'tokenHasher'>, t: string) => services.tokenHasher.hash(t, 'setup-link');

export interface BootstrapResult {
  setupUrl?: string;
  adminEmail?: string;
  adminCreated: boolean;
}

export async function bootstrap(
  services: Pick<Services, 'auditStore' | 'config' | 'keyService' | 'setupLinkStore' | 'tenantStore' | 'tokenHasher' | 'userStore'>,
): Promise<BootstrapResult> {
  let tenant = await services.tenantStore.bySlug(DEFAULT_TENANT);
  if (!tenant) {
    try {
      tenant = await services.tenantStore.create({ slug: DEFAULT_TENANT, name: 'Default organization' });
    } catch {
      tenant = await services.tenantStore.getBySlug(DEFAULT_TENANT); // another node created it first
    }
  }
  for (const t of await services.tenantStore.list()) await services.keyService.ensureKeys(t.id);

  const boot = services.config.bootstrapAdmin;
  if (boot) {
    const existing = await services.userStore.userByEmail(tenant.id, boot.email);
    if (!existing) {
      await services.userStore
        .createUser({ tenantId: tenant.id, email: boot.email, passwordHash: await hashPassword(boot.password), roles: ['superadmin'] })
        .catch(async (e) => {
          if (!(await services.userStore.userByEmail(tenant.id, boot.email))) throw e;
        });
      await services.auditStore.record({ tenantId: tenant.id, type: 'admin.bootstrapped', subject: boot.email, data: { email: boot.email } });
      return { adminEmail: boot.email, adminCreated: true };
    }
    return { adminEmail: boot.email, adminCreated: false };
  }
  if (await hasSuperadmin(services, tenant.id)) return { adminCreated: false };
  // Nobody can administer this instance yet: issue a fresh one-time link (older ones stop working).
  const token = crypto.randomBytes(24).toString('base64url');
  await services.setupLinkStore.replaceAll({ tokenHash: hashToken(services, token), tenantId: tenant.id, expiresAt: Date.now() + SETUP_LINK_TTL_MS });
  return { setupUrl: `${services.config.publicUrl}/setup/${token}`, adminCreated: false };
}

export async function hasSuperadmin(services: Pick<Services, 'userStore'>, tenantId: string): Promise<boolean> {
  return services.userStore.hasUserWithRole(tenantId, 'superadmin');
}

/** Redeem a setup link: creates the first superadministrator. Works once. */
export async function redeemSetupLink(
  services: Pick<Services, 'auditStore' | 'setupLinkStore' | 'tenantStore' | 'tokenHasher' | 'userStore'>,
  token: string,
  email: string,
  password: string,
): Promise<'ok' | 'invalid'> {
  if (!(await services.setupLinkStore.redeem(hashToken(services, token), Date.now()))) return 'invalid';
  const tenant = await services.tenantStore.getBySlug(DEFAULT_TENANT);
  await services.userStore.createUser({ tenantId: tenant.id, email, passwordHash: await hashPassword(password), roles: ['superadmin'] });
  await services.auditStore.record({ tenantId: tenant.id, type: 'admin.setup_completed', subject: email, data: { email } });
  return 'ok';
}

export async function setupLinkValid(services: Pick<Services, 'setupLinkStore' | 'tokenHasher'>, token: string): Promise<boolean> {
  return services.setupLinkStore.valid(hashToken(services, token), Date.now());
}
