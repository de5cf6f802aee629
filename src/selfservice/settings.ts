// A tenant's self-service settings (issue 17): what people sign in with, which Windows
// (NetBIOS) domains and userPrincipalName suffixes name which directory, and the name mail is
// sent from. Kept on the tenant (settings.selfService) so a change carries the tenant's
// version and reaches every node with it, like the branding.
import { z } from 'zod';
import type { Tenant } from '../storage/tenants.ts';
import { text } from '../shared/input.ts';

export type SignInWith = 'email' | 'username' | 'either';

export interface SelfServiceSettings {
  /** What the identifier step accepts: an email, a username, or either (the default). */
  signInWith: SignInWith;
  /**
   * NetBIOS domain names ("CORP", for CORP\jsmith) and userPrincipalName suffixes
   * ("corp.example.org", for jsmith@corp.example.org), each naming the LDAP directory whose
   * usernames they qualify. Keys are kept upper-case (NetBIOS) or lower-case (DNS names).
   */
  domains: Record<string, string>;
  /** The display name of this tenant's mail ("Example Hospital" <no-reply@...>); null: the tenant's name. */
  mailFromName: string | null;
}

export const DEFAULT_SELF_SERVICE: SelfServiceSettings = { signInWith: 'either', domains: {}, mailFromName: null };

export function selfServiceOf(t: Tenant): SelfServiceSettings {
  const s = (t.settings.selfService ?? {}) as Partial<SelfServiceSettings>;
  return {
    signInWith: s.signInWith === 'email' || s.signInWith === 'username' ? s.signInWith : 'either',
    domains: s.domains && typeof s.domains === 'object' ? s.domains : {},
    mailFromName: typeof s.mailFromName === 'string' && s.mailFromName ? s.mailFromName : null,
  };
}

/** A domain key as it is stored: a DNS name (has a dot) lower-case, a NetBIOS name upper-case. */
export const domainKey = (name: string) => (name.includes('.') ? name.trim().toLowerCase() : name.trim().toUpperCase());

const netbiosOrDns = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(
    /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*$/,
    'must be a NetBIOS domain name like CORP or a DNS suffix like corp.example.org',
  );

/** The admin API's shape of the settings (also its answers). */
export const selfServiceShape = z.object({
  signInWith: z.enum(['email', 'username', 'either']).describe('what users sign in with: email, username, or either (default)'),
  domains: z
    .record(netbiosOrDns, z.string().min(1).max(100))
    .refine((m) => Object.keys(m).length <= 50, 'at most 50 domains')
    .describe('NetBIOS domain names (CORP) and userPrincipalName suffixes (corp.example.org), each mapped to the id of an LDAP directory'),
  // No CR/LF or angle brackets: the name goes into a mail header.
  mailFromName: text()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[^<>"\r\n]*$/, 'must not contain <, >, " or line breaks')
    .nullable()
    .describe("the name mail from this tenant is sent as; null: the tenant's name"),
});

export function withSelfService(t: Tenant, patch: Partial<SelfServiceSettings>): Record<string, unknown> {
  const next = { ...selfServiceOf(t), ...patch };
  if (patch.domains) next.domains = Object.fromEntries(Object.entries(patch.domains).map(([k, v]) => [domainKey(k), v]));
  return { ...t.settings, selfService: next };
}
