// Upstream directories of a tenant and the links from their accounts to local users.
import type { Kysely, Selectable } from 'kysely';
import type { DB, UpstreamsTable } from './schema.ts';
import { newId } from '../shared/crypto.ts';
import { conflict, isUniqueViolation, notFound, assertUpdated } from '../shared/errors.ts';
import { domainOf, normalizeEmail } from './users.ts';

export type UpstreamMode = 'disabled' | 'test' | 'enabled';
export type UpstreamType = 'entra' | 'okta' | 'cognito' | 'oidc';

/** What an administrator configures (besides name, mode and the secret). */
export interface UpstreamSettings {
  type: UpstreamType;
  clientId: string;
  /** The issuer (authority) URL, or a discovery document's URL. */
  discoveryUrl: string;
  /** The issuer the discovery document named when the settings were saved. */
  issuer: string;
  scopes: string[];
  /** Email domains this upstream claims (routing). */
  domains: string[];
  /** 'staff': only emails at `domains`; 'all': also every email no other upstream claims. */
  audience: 'staff' | 'all';
  /** Forward the email typed at Gatehouse as login_hint. */
  loginHint: boolean;
  /** Offer a "Sign in with …" button on the sign-in page (Enabled mode). */
  showButton: boolean;
  /** Test mode routes only these emails. */
  testUsers: string[];
  /** A claim the upstream must send for the user to get in, e.g. roles contains X. */
  claimGate: { claim: string; value: string } | null;
  /** Claim holding a stable external ID (linking), besides issuer + subject. */
  externalIdClaim: string | null;
  claims: { givenName: string; familyName: string; email: string };
}

export interface Upstream {
  id: string;
  tenantId: string;
  name: string;
  mode: UpstreamMode;
  settings: UpstreamSettings;
  clientSecretSealed: string | null;
  createdAt: number;
  updatedAt: number;
  version: number;
}

const toUpstream = (r: Selectable<UpstreamsTable>): Upstream => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  mode: r.mode,
  settings: JSON.parse(r.settings),
  clientSecretSealed: r.client_secret_sealed,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  version: r.version,
});

export interface UpstreamCheck {
  ok: boolean;
  message: string | null;
  checkedAt: number;
}

export interface ProfileFromUpstream {
  email: string;
  givenName: string | null;
  familyName: string | null;
}

export class UpstreamStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async create(
    tenantId: string,
    input: { name: string; mode: UpstreamMode; settings: UpstreamSettings; clientSecretSealed: string | null },
  ): Promise<Upstream> {
    const now = Date.now();
    const row = {
      id: newId('ups_'),
      tenant_id: tenantId,
      name: input.name,
      mode: input.mode,
      settings: JSON.stringify(input.settings),
      client_secret_sealed: input.clientSecretSealed,
      created_at: now,
      updated_at: now,
      version: 1,
    };
    try {
      await this.db.insertInto('upstreams').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`An upstream directory named "${input.name}" already exists in this tenant. Choose another name.`);
      throw e;
    }
    return toUpstream(row);
  }

  async list(tenantId: string): Promise<Upstream[]> {
    return (await this.db.selectFrom('upstreams').selectAll().where('tenant_id', '=', tenantId).orderBy('name').execute()).map(toUpstream);
  }

  async byId(tenantId: string, id: string): Promise<Upstream | undefined> {
    const r = await this.db.selectFrom('upstreams').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return r && toUpstream(r);
  }

  async get(tenantId: string, id: string): Promise<Upstream> {
    const u = await this.byId(tenantId, id);
    if (!u) throw notFound(`Upstream directory ${id}`);
    return u;
  }

  async update(
    tenantId: string,
    id: string,
    version: number | undefined,
    patch: { name?: string; mode?: UpstreamMode; settings?: UpstreamSettings; clientSecretSealed?: string | null },
  ): Promise<Upstream> {
    let q = this.db
      .updateTable('upstreams')
      .set((eb) => ({
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.mode !== undefined && { mode: patch.mode }),
        ...(patch.settings !== undefined && { settings: JSON.stringify(patch.settings) }),
        ...(patch.clientSecretSealed !== undefined && { client_secret_sealed: patch.clientSecretSealed }),
        updated_at: Date.now(),
        version: eb('version', '+', 1),
      }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id);
    if (version !== undefined) q = q.where('version', '=', version);
    try {
      await assertUpdated(await q.executeTakeFirst(), () => this.byId(tenantId, id), 'The upstream directory', `Upstream directory ${id}`);
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`An upstream directory named "${patch.name}" already exists in this tenant. Choose another name.`);
      throw e;
    }
    return this.get(tenantId, id);
  }

  /** Deleting an upstream hands its users back to local management (they keep their accounts). */
  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const res = await trx.deleteFrom('upstreams').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) throw notFound(`Upstream directory ${id}`);
      await trx.deleteFrom('upstream_links').where('upstream_id', '=', id).execute();
      await trx.updateTable('users').set({ upstream_id: null }).where('tenant_id', '=', tenantId).where('upstream_id', '=', id).execute();
    });
  }

  // ---- discovery checks

  /** Record the result of checking an upstream's discovery (one row per upstream: the last). */
  async saveCheck(tenantId: string, upstreamId: string, check: UpstreamCheck): Promise<void> {
    const row = { ok: check.ok ? 1 : 0, message: check.message, checked_at: check.checkedAt };
    try {
      await this.db
        .insertInto('upstream_checks')
        .values({ upstream_id: upstreamId, tenant_id: tenantId, ...row })
        .onConflict((oc) => oc.column('upstream_id').doUpdateSet(row))
        .execute();
    } catch (e) {
      // Deleted while it was being checked: nothing to record.
      if (!/foreign key|violates foreign/i.test((e as Error).message)) throw e;
    }
  }

  /** The last check of each of the tenant's upstreams, by upstream id. */
  async checks(tenantId: string): Promise<Map<string, UpstreamCheck>> {
    const rows = await this.db.selectFrom('upstream_checks').selectAll().where('tenant_id', '=', tenantId).execute();
    return new Map(rows.map((r) => [r.upstream_id, { ok: Number(r.ok) === 1, message: r.message, checkedAt: Number(r.checked_at) }]));
  }

  /** Every upstream of every tenant that is not disabled (the background check). */
  async allLive(): Promise<Upstream[]> {
    return (await this.db.selectFrom('upstreams').selectAll().where('mode', '<>', 'disabled').orderBy('tenant_id').orderBy('name').execute()).map(toUpstream);
  }

  /**
   * Local accounts with a password that an upstream for everyone would take over: not linked
   * to an upstream, and at none of `claimed` (domains upstreams already route).
   */
  async passwordUsersOutside(tenantId: string, claimed: string[]): Promise<number> {
    let q = this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('password_hash', 'is not', null)
      .where('upstream_id', 'is', null);
    if (claimed.length) q = q.where('domain', 'not in', claimed);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  // ---- links

  /** The local user an upstream account signs in as: by subject, else by the external ID. */
  async linkedUser(upstreamId: string, subject: string, externalId: string | null): Promise<string | undefined> {
    const bySub = await this.db
      .selectFrom('upstream_links')
      .select('user_id')
      .where('upstream_id', '=', upstreamId)
      .where('subject', '=', subject)
      .executeTakeFirst();
    if (bySub) return bySub.user_id;
    if (!externalId) return undefined;
    const byExt = await this.db
      .selectFrom('upstream_links')
      .select('user_id')
      .where('upstream_id', '=', upstreamId)
      .where('external_id', '=', externalId)
      .executeTakeFirst();
    return byExt?.user_id;
  }

  /**
   * Link an upstream account to a user: a new user (just-in-time, `userId` undefined) or an
   * existing one; then the upstream keeps the user's names and email. One transaction, so a
   * failure leaves no half-created user.
   */
  async link(up: Upstream, account: { subject: string; externalId: string | null }, profile: ProfileFromUpstream, userId?: string): Promise<string> {
    const now = Date.now();
    const email = normalizeEmail(profile.email);
    try {
      return await this.db.transaction().execute(async (trx) => {
        let id = userId;
        if (!id) {
          id = newId('usr_');
          await trx
            .insertInto('users')
            .values({
              id,
              tenant_id: up.tenantId,
              email,
              domain: domainOf(email),
              given_name: profile.givenName,
              family_name: profile.familyName,
              password_hash: null,
              status: 'active',
              ou_id: null,
              roles: '[]',
              upstream_id: up.id,
              created_at: now,
              updated_at: now,
              version: 1,
            })
            .execute();
          await trx
            .insertInto('domains')
            .values({ id: newId('dom_'), tenant_id: up.tenantId, name: domainOf(email), created_at: now })
            .onConflict((oc) => oc.columns(['tenant_id', 'name']).doNothing())
            .execute();
        } else {
          await trx
            .updateTable('users')
            .set((eb) => ({ upstream_id: up.id, updated_at: now, version: eb('version', '+', 1) }))
            .where('tenant_id', '=', up.tenantId)
            .where('id', '=', id!)
            .execute();
        }
        await trx
          .insertInto('upstream_links')
          .values({ upstream_id: up.id, subject: account.subject, external_id: account.externalId, tenant_id: up.tenantId, user_id: id, created_at: now })
          .onConflict((oc) => oc.columns(['upstream_id', 'subject']).doUpdateSet({ user_id: id!, external_id: account.externalId }))
          .execute();
        return id;
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Another account already uses the email ${email} in this organization.`);
      throw e;
    }
  }

  /** Bring a linked user's names and email in line with what the upstream sent. */
  async syncProfile(tenantId: string, userId: string, profile: ProfileFromUpstream): Promise<boolean> {
    const email = normalizeEmail(profile.email);
    try {
      const res = await this.db
        .updateTable('users')
        .set((eb) => ({
          email,
          domain: domainOf(email),
          given_name: profile.givenName,
          family_name: profile.familyName,
          updated_at: Date.now(),
          version: eb('version', '+', 1),
        }))
        .where('tenant_id', '=', tenantId)
        .where('id', '=', userId)
        .where((eb) =>
          eb.or([eb('email', '<>', email), eb('given_name', 'is distinct from', profile.givenName), eb('family_name', 'is distinct from', profile.familyName)]),
        )
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Another account already uses the email ${email} in this organization.`);
      throw e;
    }
  }
}
