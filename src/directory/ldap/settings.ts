// What an administrator configures for an LDAP / Active Directory connection, with the
// defaults of each kind of directory. Checked as a whole whenever any field changes.
import crypto from 'node:crypto';
import { z } from 'zod';
import { textProblem } from '../../shared/input.ts';
import { invalid } from '../../shared/errors.ts';

export type DirectoryKind = 'ad' | 'openldap';

/** Which directory attribute holds each thing Gatehouse keeps. */
export interface AttributeMap {
  /** Stable ID that survives renames and moves (AD objectGUID, OpenLDAP entryUUID). */
  externalId: string;
  /** The sign-in name in the directory (sAMAccountName, uid): shown to administrators. */
  username: string;
  email: string;
  /** Used when `email` is empty (AD: userPrincipalName). */
  emailFallback: string | null;
  givenName: string;
  familyName: string;
  /** On users: the groups they belong to (AD memberOf). */
  memberOf: string | null;
  /** On groups: their members' DNs (member). */
  member: string;
  groupName: string;
  /** Changes since the last sync: AD uSNChanged (a counter), else modifyTimestamp. */
  changeMarker: 'uSNChanged' | 'modifyTimestamp';
}

export const DEFAULTS: Record<DirectoryKind, { userFilter: string; groupFilter: string; attributes: AttributeMap }> = {
  ad: {
    userFilter: '(&(objectClass=user)(!(objectClass=computer)))',
    groupFilter: '(objectClass=group)',
    attributes: {
      externalId: 'objectGUID',
      username: 'sAMAccountName',
      email: 'mail',
      emailFallback: 'userPrincipalName',
      givenName: 'givenName',
      familyName: 'sn',
      memberOf: 'memberOf',
      member: 'member',
      groupName: 'cn',
      changeMarker: 'uSNChanged',
    },
  },
  openldap: {
    userFilter: '(objectClass=inetOrgPerson)',
    groupFilter: '(objectClass=groupOfNames)',
    attributes: {
      externalId: 'entryUUID',
      username: 'uid',
      email: 'mail',
      emailFallback: null,
      givenName: 'givenName',
      familyName: 'sn',
      memberOf: null,
      member: 'member',
      groupName: 'cn',
      changeMarker: 'modifyTimestamp',
    },
  },
};

const attr = z
  .string()
  .trim()
  .regex(/^[A-Za-z][A-Za-z0-9-]{0,99}$/, 'must be an LDAP attribute name');
const dn = z.string().trim().min(3).max(1000).regex(/=/, 'must be a distinguished name like dc=example,dc=com');
/** A balanced LDAP filter in parentheses (the directory checks the rest). */
const filter = z
  .string()
  .trim()
  .max(2000)
  .refine((f) => {
    if (!f.startsWith('(') || !f.endsWith(')')) return false;
    let depth = 0;
    for (let i = 0; i < f.length; i++) {
      if (f[i] === '\\') {
        i++;
        continue;
      }
      if (f[i] === '(') depth++;
      if (f[i] === ')' && --depth < 0) return false;
    }
    return depth === 0;
  }, 'must be an LDAP filter in parentheses, like (objectClass=user)');
const ldapUrl = z
  .string()
  .trim()
  .max(500)
  .refine((u) => {
    try {
      const x = new URL(u);
      return (x.protocol === 'ldap:' || x.protocol === 'ldaps:') && !!x.hostname && (x.pathname === '' || x.pathname === '/');
    } catch {
      return false;
    }
  }, 'must be an ldaps:// or ldap:// URL with host and optional port only, like ldaps://dc1.example.com:636');

export const settingsInput = z.object({
  kind: z.enum(['ad', 'openldap']),
  /** direct: Gatehouse reaches the directory itself; connector: through the tenant's connected connectors. */
  via: z.enum(['direct', 'connector']).default('direct'),
  /** Tried in order: the first that answers is used (several domain controllers). */
  urls: z.array(ldapUrl).min(1).max(10),
  /** ldap:// URLs upgrade with StartTLS unless this is false (then plain LDAP, only with allowPlain). */
  startTls: z.boolean().default(true),
  /** Plain LDAP sends passwords in the clear: allowed only when set explicitly. */
  allowPlain: z.boolean().default(false),
  /** PEM certificate(s) of the directory's certificate authority, when it is not publicly trusted. */
  caCertificate: z
    .string()
    .max(50_000)
    .regex(/-----BEGIN CERTIFICATE-----/, 'must be a PEM certificate (-----BEGIN CERTIFICATE----- ...)')
    .superRefine((pem, ctx) => {
      // Each certificate must parse: a broken one would only fail later, at every connection.
      const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
      if (!blocks.length) return ctx.addIssue({ code: 'custom', message: 'must be a PEM certificate; its -----END CERTIFICATE----- line is missing' });
      blocks.forEach((b, i) => {
        try {
          new crypto.X509Certificate(b);
        } catch {
          ctx.addIssue({ code: 'custom', message: `certificate ${i + 1} is not a valid PEM certificate (copy the whole block, BEGIN and END lines included)` });
        }
      });
    })
    .nullable()
    .default(null),
  bindDn: dn,
  baseDns: z.array(dn).min(1).max(20),
  userFilter: filter.optional(),
  groupFilter: filter.optional(),
  attributes: z
    .object({
      externalId: attr,
      username: attr,
      email: attr,
      emailFallback: attr.nullable(),
      givenName: attr,
      familyName: attr,
      memberOf: attr.nullable(),
      member: attr,
      groupName: attr,
      changeMarker: z.enum(['uSNChanged', 'modifyTimestamp']),
    })
    .partial()
    .default({}),
  /** Minutes between incremental syncs (0: only on demand). */
  syncIntervalMinutes: z.number().int().min(0).max(1440).default(15),
  /** Hours between full syncs, which also find users deleted from the directory. */
  fullSyncHours: z.number().int().min(1).max(168).default(24),
  pageSize: z.number().int().min(10).max(5000).default(500),
  timeoutSeconds: z.number().int().min(1).max(120).default(10),
  /** Where this directory's users change their password (a URL or a short instruction): the account page shows it. */
  passwordHelp: z
    .string()
    .trim()
    .max(300)
    .refine((s) => textProblem(s) === undefined, 'must be one line of text or a URL')
    .nullable()
    .default(null),
});
export type SettingsInput = z.input<typeof settingsInput>;

export interface DirectorySettings {
  kind: DirectoryKind;
  via: 'direct' | 'connector';
  urls: string[];
  startTls: boolean;
  allowPlain: boolean;
  caCertificate: string | null;
  bindDn: string;
  baseDns: string[];
  userFilter: string;
  groupFilter: string;
  attributes: AttributeMap;
  syncIntervalMinutes: number;
  fullSyncHours: number;
  pageSize: number;
  timeoutSeconds: number;
  /** Where users change their password (URL or one line of text); absent on directories saved before it existed. */
  passwordHelp?: string | null;
}

/** Validated input to stored settings: the kind's defaults filled in, the transport checked. */
export function prepareSettings(input: unknown): DirectorySettings {
  const r = settingsInput.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
    throw invalid(`Invalid directory settings: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}.`, { problems });
  }
  const s = r.data;
  const d = DEFAULTS[s.kind];
  const plain = s.urls.filter((u) => u.startsWith('ldap://'));
  if (plain.length && !s.startTls && !s.allowPlain) {
    throw invalid(`${plain.join(', ')} would send passwords unencrypted (plain LDAP, StartTLS off). Use ldaps://, or keep startTls on.`);
  }
  return {
    kind: s.kind,
    via: s.via,
    urls: s.urls,
    startTls: s.startTls,
    allowPlain: s.allowPlain,
    caCertificate: s.caCertificate,
    bindDn: s.bindDn,
    baseDns: s.baseDns,
    userFilter: s.userFilter ?? d.userFilter,
    groupFilter: s.groupFilter ?? d.groupFilter,
    attributes: { ...d.attributes, ...s.attributes },
    syncIntervalMinutes: s.syncIntervalMinutes,
    fullSyncHours: s.fullSyncHours,
    pageSize: s.pageSize,
    timeoutSeconds: s.timeoutSeconds,
    passwordHelp: s.passwordHelp || null,
  };
}

/** What a connector (or Gatehouse itself) needs to open a connection: sent with each request, never stored by connectors. */
export interface Connection {
  urls: string[];
  startTls: boolean;
  /** Checked again where the connection is made: a connector's own --ldap-url may be plain ldap://. */
  allowPlain: boolean;
  caCertificate: string | null;
  bindDn: string;
  bindPassword: string;
  timeoutSeconds: number;
}
