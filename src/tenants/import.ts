// `gatehouse start --import FILE`: declare tenants, users, groups, OUs, apps and deployments
// in JSON or YAML. Applying the same file twice changes nothing: every entry is created when
// missing and brought to the declared state when present.
import fs from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import type { Services } from '../services.ts';
import { hashPassword, verifyPassword, MIN_PASSWORD_LENGTH } from '../directory/passwords.ts';
import { SLUG_RE } from '../storage/tenants.ts';
import { USERNAME_PATTERN } from '../storage/users.ts';
import { DEFAULT_TENANT } from './bootstrap.ts';
import { text as line, textProblems, webUrl } from '../shared/input.ts';
import { samlInputSchema } from '../admin/routes/apps.ts';

const target = z.union([
  z.literal('all'),
  z.object({ user: z.string() }),
  z.object({ group: z.string() }),
  z.object({ ou: z.string() }),
  z.object({ domain: z.string() }),
]);
const appSchema = z
  .object({
    name: line().min(1).max(100),
    displayName: line().min(1).max(100),
    type: z.enum(['web', 'native', 'spa', 'service', 'handoff', 'saml']),
    clientId: z.string().regex(/^[A-Za-z0-9._~-]{8,128}$/),
    clientSecret: z.string().min(32).optional(),
    redirectUris: z.array(z.string()).default([]),
    postLogoutRedirectUris: z.array(z.string()).default([]),
    backchannelLogoutUri: webUrl().nullable().default(null),
    homeUrl: webUrl().nullable().default(null),
    initiateLoginUri: webUrl().nullable().default(null),
    loginRedirectUrl: webUrl().nullable().default(null),
    passwordGrant: z.boolean().default(false),
    deviceSsoGroup: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/)
      .nullable()
      .default(null),
    claims: z.array(z.object({ name: z.string(), value: z.string().optional(), attribute: z.string().optional() })).default([]),
    tokenTtls: z
      .object({
        accessToken: z.number().int().min(60).max(86400).optional(),
        idToken: z.number().int().min(60).max(86400).optional(),
        refreshToken: z
          .number()
          .int()
          .min(60)
          .max(365 * 86400)
          .optional(),
      })
      .default({}),
    // SAML apps: the same settings as the admin API, metadata pasted (metadataXml) but never
    // fetched: start-up must not depend on an SP answering.
    saml: samlInputSchema.omit({ metadataUrl: true }).strict().optional(),
    deploy: z.array(target).default([]),
  })
  .strict();
const tenantSchema = z
  .object({
    slug: z.string().regex(SLUG_RE),
    name: line().max(200).optional(),
    sessionLifetimeMinutes: z.number().int().optional(),
    ous: z.array(z.string()).default([]),
    groups: z.array(z.string()).default([]),
    users: z
      .array(
        z
          .object({
            email: z.email(),
            username: z.string().trim().regex(USERNAME_PATTERN, 'must be 1 to 64 letters, digits, dots, hyphens, underscores or $ (no @ or \\)').optional(),
            emailVerified: z.boolean().optional(),
            password: z.string().min(MIN_PASSWORD_LENGTH).optional(),
            givenName: line().max(100).optional(),
            familyName: line().max(100).optional(),
            status: z.enum(['active', 'disabled']).default('active'),
            ou: z.string().optional(),
            groups: z.array(z.string()).default([]),
            roles: z.array(z.enum(['superadmin', 'admin', 'helpdesk', 'auditor'])).default([]),
          })
          .strict(),
      )
      .default([]),
    apps: z.array(appSchema).default([]),
  })
  .strict();
export const importSchema = z.object({ tenants: z.array(tenantSchema).min(1) }).strict();

/** JSON with object keys sorted: stored settings and the file's may list them in another order. */
const stable = (v: unknown) =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x,
  );

export class ImportError extends Error {
  override name = 'ImportError';
}

export async function importFile(
  services: Pick<Services, 'appService' | 'appStore' | 'auditStore' | 'engineCache' | 'keyService' | 'sealer' | 'tenantStore' | 'userStore'>,
  file: string,
) {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ImportError(`Cannot read import file ${file}: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (e) {
    throw new ImportError(`Import file ${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
  // Control characters and invalid UTF-8 (read as U+FFFD) are refused as in the admin API.
  const bad = textProblems(data);
  if (bad.length) throw new ImportError(`Import file ${file} is invalid:\n${bad.map((p) => `  ${p.field}: ${p.message}`).join('\n')}`);
  const parsed = importSchema.safeParse(data);
  if (!parsed.success) {
    throw new ImportError(`Import file ${file} is invalid:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  return applyImport(services, parsed.data);
}

export async function applyImport(
  services: Pick<Services, 'appService' | 'appStore' | 'auditStore' | 'engineCache' | 'keyService' | 'sealer' | 'tenantStore' | 'userStore'>,
  doc: z.infer<typeof importSchema>,
) {
  const changes: string[] = [];
  for (const t of doc.tenants) {
    let tenant = await services.tenantStore.bySlug(t.slug);
    if (!tenant) {
      tenant = await services.tenantStore.create({ slug: t.slug, name: t.name, sessionLifetimeMinutes: t.sessionLifetimeMinutes });
      changes.push(`tenant ${t.slug} created`);
    } else if ((t.name && t.name !== tenant.name) || (t.sessionLifetimeMinutes !== undefined && t.sessionLifetimeMinutes !== tenant.sessionLifetimeMinutes)) {
      tenant = await services.tenantStore.update(tenant.id, undefined, { name: t.name, sessionLifetimeMinutes: t.sessionLifetimeMinutes });
      changes.push(`tenant ${t.slug} updated`);
    }
    await services.keyService.ensureKeys(tenant.id);
    const tid = tenant.id;
    for (const path of t.ous) await services.userStore.ensureOu(tid, path);
    const groupId = async (name: string) => {
      const found = await services.userStore.groupByName(tid, name);
      if (found) return found.id;
      changes.push(`group ${name} created`);
      return (await services.userStore.createGroup(tid, name)).id;
    };
    for (const g of t.groups) await groupId(g);
    for (const u of t.users) {
      const ouId = u.ou ? (await services.userStore.ensureOu(tid, u.ou)).id : null;
      let user = await services.userStore.userByEmail(tid, u.email);
      if (!user) {
        await services.userStore.createUser({
          tenantId: tid,
          email: u.email,
          passwordHash: u.password ? await hashPassword(u.password) : null,
          givenName: u.givenName,
          familyName: u.familyName,
          status: u.status,
          ouId,
          roles: u.roles,
          username: u.username,
          emailVerified: u.emailVerified,
        });
        user = (await services.userStore.userByEmail(tid, u.email))!;
        changes.push(`user ${u.email} created`);
      } else {
        const samePassword = !u.password || (await verifyPassword(user.passwordHash, u.password));
        const same =
          samePassword &&
          user.givenName === (u.givenName ?? null) &&
          user.familyName === (u.familyName ?? null) &&
          user.status === u.status &&
          user.ouId === ouId &&
          JSON.stringify(user.roles) === JSON.stringify(u.roles) &&
          (u.username === undefined || user.username === u.username.toLowerCase()) &&
          (u.emailVerified === undefined || user.emailVerified === u.emailVerified);
        if (!same) {
          await services.userStore.updateUser(tid, user.id, undefined, {
            givenName: u.givenName ?? null,
            familyName: u.familyName ?? null,
            status: u.status,
            ouId,
            roles: u.roles,
            username: u.username,
            emailVerified: u.emailVerified,
            ...(samePassword ? {} : { passwordHash: await hashPassword(u.password!) }),
          });
          changes.push(`user ${u.email} updated`);
        }
      }
      for (const g of u.groups) await services.userStore.addMember(tid, await groupId(g), user.id);
    }
    for (const a of t.apps) {
      const { deploy, clientId, clientSecret, saml, ...rest } = a;
      let existing = await services.appStore.byTenantClientId(tid, clientId);
      // A SAML app's settings as the admin API resolves them: from the defaults (not the stored
      // ones, so that the file says all of it), its metadata, then the fields given.
      const input = { ...rest, ...(saml && { saml: await services.appService.resolveSaml(saml) }) };
      if (!existing) {
        existing = (await services.appService.create(tid, input, { clientId, clientSecret })).app;
        changes.push(`app ${a.name} created`);
      } else {
        await services.appService.validate(input);
        const current = {
          name: existing.name,
          displayName: existing.displayName,
          type: existing.type,
          redirectUris: existing.redirectUris,
          postLogoutRedirectUris: existing.postLogoutRedirectUris,
          backchannelLogoutUri: existing.backchannelLogoutUri,
          homeUrl: existing.homeUrl,
          initiateLoginUri: existing.initiateLoginUri,
          loginRedirectUrl: existing.loginRedirectUrl,
          passwordGrant: existing.passwordGrant,
          deviceSsoGroup: existing.deviceSsoGroup,
          claims: existing.claims,
          tokenTtls: existing.tokenTtls,
          ...(existing.saml && { saml: existing.saml }),
        };
        const secretSame = !clientSecret || services.appService.clientSecretOf(existing) === clientSecret;
        // Compared key-order-free, without what validate() derives (the certificates' expiry).
        const { certificateExpiresAt: _derived, ...given } = input as typeof input & { certificateExpiresAt?: unknown };
        if (stable(current) !== stable(given) || !secretSame) {
          existing = await services.appStore.update(tid, clientId, undefined, {
            ...input,
            ...(secretSame ? {} : { secretSealed: services.sealer.seal(clientSecret!) }),
          });
          changes.push(`app ${a.name} updated`);
        }
      }
      const wantAll = deploy.includes('all');
      if (wantAll !== existing.deployAll) {
        await services.appStore.update(tid, clientId, undefined, { deployAll: wantAll });
        changes.push(`app ${a.name} deployment changed`);
      }
      for (const d of deploy) {
        if (d === 'all') continue;
        const [type, ref] = Object.entries(d)[0] as ['user' | 'group' | 'ou' | 'domain', string];
        await services.appStore.addTarget(tid, existing.id, await services.appService.resolveTarget(tid, type, ref));
      }
    }
    if (t.slug !== DEFAULT_TENANT || changes.length) services.engineCache.invalidate(t.slug);
  }
  if (changes.length) await services.auditStore.record({ tenantId: null, type: 'import.applied', actor: 'import', data: { changes } });
  return { changes };
}
