// From directory entries to what Gatehouse keeps: DNs to OU paths and domains, AD's binary
// GUIDs to text, account-control bits to a status, attributes to a profile.
import type { AttributeMap, DirectoryKind } from './settings.ts';

/** An entry as it travels (also over a connector): the DN and every value as text. */
export interface PlainEntry {
  dn: string;
  attrs: Record<string, string[]>;
}

/** The RDNs of a DN, outermost last: [["cn","Alice"],["ou","Sales"],["dc","example"]]. Handles \, escapes. */
export function parseDn(dn: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let cur = '';
  const push = () => {
    const i = cur.indexOf('=');
    if (i > 0) out.push([cur.slice(0, i).trim().toLowerCase(), unescapeValue(cur.slice(i + 1).trim())]);
    cur = '';
  };
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (c === '\\' && i + 1 < dn.length) {
      cur += c + dn[i + 1];
      i++;
      continue;
    }
    if (c === ',' || c === ';') {
      push();
      continue;
    }
    cur += c;
  }
  push();
  return out;
}

function unescapeValue(v: string): string {
  return v.replace(/\\([0-9a-fA-F]{2}|.)/g, (_m, g: string) => (g.length === 2 ? String.fromCharCode(parseInt(g, 16)) : g));
}

/** One spelling per DN, for comparing and looking up: lower case, no spaces around separators. */
export function normalizeDn(dn: string): string {
  return parseDn(dn)
    .map(([t, v]) => `${t}=${v.toLowerCase().replace(/([,+"\\<>;=])/g, '\\$1')}`)
    .join(',');
}

/** OU path from a DN: ou=EMEA,ou=Sales,dc=example → /Sales/EMEA (null outside any OU). */
export function ouPathOf(dn: string): string | null {
  const ous = parseDn(dn)
    .filter(([t]) => t === 'ou')
    .map(([, v]) => v.replace(/\//g, '-').trim())
    .filter(Boolean)
    .reverse();
  return ous.length ? '/' + ous.join('/') : null;
}

/** The DNS domain named by a DN's dc= components: dc=corp,dc=example,dc=com → corp.example.com. */
export function domainOfDn(dn: string): string | null {
  const dcs = parseDn(dn)
    .filter(([t]) => t === 'dc')
    .map(([, v]) => v.toLowerCase());
  return dcs.length >= 2 ? dcs.join('.') : null;
}

/** AD's objectGUID (16 bytes, the first three groups little-endian) as its usual text form. */
export function guidToString(b: Buffer): string {
  if (b.length !== 16) return b.toString('hex');
  const h = (s: number, e: number, rev: boolean) => {
    const x = b.subarray(s, e);
    return Buffer.from(rev ? [...x].reverse() : x).toString('hex');
  };
  return `${h(0, 4, true)}-${h(4, 6, true)}-${h(6, 8, true)}-${h(8, 10, false)}-${h(10, 16, false)}`;
}

/** userAccountControl bits (MS-ADTS 2.2.16). */
export const UAC = { ACCOUNTDISABLE: 0x2, LOCKOUT: 0x10, PASSWORD_EXPIRED: 0x800000 } as const;
/** OpenLDAP ppolicy: this lock time means "locked by an administrator until unlocked" (disabled). */
export const PERMANENT_LOCK = '000001010000Z';

const first = (e: PlainEntry, name: string | null) => {
  if (!name) return undefined;
  const k = Object.keys(e.attrs).find((a) => a.toLowerCase() === name.toLowerCase());
  const v = k ? e.attrs[k]![0]?.trim() : undefined;
  return v || undefined;
};
export const values = (e: PlainEntry, name: string | null): string[] => {
  if (!name) return [];
  const k = Object.keys(e.attrs).find((a) => a.toLowerCase() === name.toLowerCase());
  return k ? e.attrs[k]! : [];
};
export const firstValue = first;

/** Is the account turned off in the directory? */
export function isDisabled(kind: DirectoryKind, e: PlainEntry): boolean {
  if (kind === 'ad') return (Number(first(e, 'userAccountControl') ?? 0) & UAC.ACCOUNTDISABLE) !== 0;
  return first(e, 'pwdAccountLockedTime') === PERMANENT_LOCK;
}

export interface DirectoryProfile {
  externalId: string;
  dn: string;
  email: string | null;
  username: string | null;
  givenName: string | null;
  familyName: string | null;
  disabled: boolean;
  ouPath: string | null;
  domain: string | null;
  memberOf: string[];
  change: string | undefined;
}

export function userProfile(kind: DirectoryKind, map: AttributeMap, e: PlainEntry): DirectoryProfile | { problem: string } {
  const externalId = first(e, map.externalId);
  if (!externalId) return { problem: `has no ${map.externalId} (the stable ID Gatehouse links users by)` };
  const email = (first(e, map.email) ?? first(e, map.emailFallback))?.toLowerCase() ?? null;
  return {
    externalId,
    dn: normalizeDn(e.dn),
    email,
    username: first(e, map.username) ?? null,
    givenName: first(e, map.givenName) ?? null,
    familyName: first(e, map.familyName) ?? null,
    disabled: isDisabled(kind, e),
    ouPath: ouPathOf(e.dn),
    domain: domainOfDn(e.dn),
    memberOf: values(e, map.memberOf).map(normalizeDn),
    change: first(e, map.changeMarker),
  };
}

/** Attributes to ask for: the mapping, what tells the account state, and the change marker. */
export function userAttributes(kind: DirectoryKind, map: AttributeMap): string[] {
  const state = kind === 'ad' ? ['userAccountControl'] : ['pwdAccountLockedTime'];
  return [
    ...new Set(
      [map.externalId, map.username, map.email, map.emailFallback, map.givenName, map.familyName, map.memberOf, map.changeMarker, ...state].filter(
        (a): a is string => !!a,
      ),
    ),
  ];
}

/** A value inside a search filter (RFC 4515): what people type cannot widen or break the filter. */
export const escapeFilterValue = (v: string): string => v.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** The later of two change markers (numbers for uSNChanged, generalized time for modifyTimestamp). */
export function laterMark(marker: AttributeMap['changeMarker'], a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  if (marker === 'uSNChanged') return BigInt(a) >= BigInt(b) ? a : b;
  return a >= b ? a : b; // YYYYMMDDHHMMSSZ sorts as text
}

/** "Changed since the mark": uSNChanged is a counter (strictly after), modifyTimestamp has one-second steps (the same second again). */
export function changedSince(marker: AttributeMap['changeMarker'], mark: string): string {
  const safe = mark.replace(/[^0-9A-Za-z.+-]/g, '');
  return marker === 'uSNChanged' ? `(uSNChanged>=${(BigInt(safe) + 1n).toString()})` : `(modifyTimestamp>=${safe})`;
}
