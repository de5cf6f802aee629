// LDAP operations through `ldapts`, the same code whether Gatehouse runs them itself or a
// connector runs them next to the directory: test a connection, search in pages, check a
// user's password by binding as them. ldapts is loaded on first use (most servers never
// talk LDAP; the idle footprint is a target).
import net from 'node:net';
import type { Client, Entry } from 'ldapts';
import type { Connection, DirectoryKind } from './settings.ts';
import { guidToString, PERMANENT_LOCK, UAC, type PlainEntry } from './mapping.ts';

const lib = () => import('ldapts');

export type LdapProblem = 'unreachable' | 'tls' | 'starttls' | 'service_bind' | 'timeout' | 'base_dn' | 'search' | 'no_connector' | 'connector';

/** Why the directory could not be used, and what to do about it. Travels over connectors as { problem, message, fix }. */
export class LdapError extends Error {
  readonly problem: LdapProblem;
  readonly fix: string;
  constructor(problem: LdapProblem, message: string, fix: string) {
    super(message);
    this.problem = problem;
    this.fix = fix;
  }
}

const BINARY = ['objectGUID', 'objectSid'];

function plain(e: Entry): PlainEntry {
  const attrs: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'dn') continue;
    const list = Array.isArray(v) ? v : [v];
    attrs[k] = list.map((x) => (Buffer.isBuffer(x) ? (k.toLowerCase() === 'objectguid' ? guidToString(x) : x.toString('base64')) : String(x)));
  }
  return { dn: e.dn, attrs };
}

const UNTRUSTED = /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE|CERT_CHAIN_TOO_LONG/;

/** An error from a socket or ldapts, in an administrator's words (`caGiven`: the settings hold a caCertificate). */
export function explain(url: string, e: unknown, caGiven = false): LdapError {
  if (e instanceof LdapError) return e;
  const err = e as { code?: string | number; message?: string };
  const code = String(err.code ?? '');
  const msg = err.message ?? String(e);
  const host = (() => {
    try {
      return new URL(url).hostname;
    } catch {
      return url;
    }
  })();
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /altnames/i.test(msg))
    return new LdapError(
      'tls',
      `The certificate of ${url} is not issued for ${host} (${msg}).`,
      `Use the host name the directory's certificate is issued for in the URL, or have the certificate reissued with ${host} among its subject alternative names.`,
    );
  if (UNTRUSTED.test(code) || /self[- ]signed|unable to (verify|get (local )?issuer)/i.test(msg))
    return new LdapError(
      'tls',
      `Gatehouse does not trust the certificate of ${url} (${msg}).`,
      caGiven
        ? 'The caCertificate in the directory settings is not the authority that issued this certificate: give the PEM certificate of the one that did (for Active Directory, usually the enterprise root CA; `openssl s_client -connect HOST:636 -showcerts` shows the chain).'
        : "Put the PEM certificate of the authority that issued the directory's certificate in caCertificate in the directory settings (for Active Directory, usually the enterprise root CA).",
    );
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return new LdapError(
      'tls',
      `The certificate of ${url} is not valid now (${msg}).`,
      "Renew the directory's certificate (and check the clocks of the directory and of the machine making the connection).",
    );
  if (url.startsWith('ldaps://') && (code === 'ECONNRESET' || /before secure TLS connection|wrong version number|packet length too long/i.test(msg)))
    return new LdapError(
      'tls',
      `${url} closed the connection during the TLS handshake (${code || msg}).`,
      "Check that the port is the directory's LDAPS port (usually 636). For a plain LDAP port (usually 389) use an ldap:// URL, which Gatehouse upgrades with StartTLS.",
    );
  // ldapts: "<Request>: Operation timed out" when the directory accepted the connection but never answered.
  if (/timed out/i.test(msg) || code === 'ETIMEDOUT')
    return new LdapError(
      'timeout',
      `${url} accepted the connection but did not answer in time (${msg}).`,
      'Check that the directory server is running and not overloaded or paused; raise timeoutSeconds in the directory settings if it is only slow.',
    );
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ECONNRESET|EAI_AGAIN/.test(code) || /Connection timeout/.test(msg))
    return new LdapError(
      'unreachable',
      `Could not reach ${url} (${code || msg}).`,
      `Check the URL and port, and that the machine making the connection can reach the directory (firewall, DNS).`,
    );
  if (/CERT|SSL|TLS|ERR_TLS/i.test(code) || /certificate|handshake/i.test(msg))
    return new LdapError(
      'tls',
      `The TLS connection to ${url} failed: ${msg}.`,
      "Check the directory's certificate and caCertificate in the directory settings, and that the certificate names the host in the URL.",
    );
  return new LdapError('search', `${url}: ${msg}`, 'Check the directory settings (base DNs, filters) and the directory server log.');
}

/** Connect to the first URL that answers, StartTLS on ldap:// when asked, and bind as the service account unless `bind` is false. */
export async function open(conn: Connection, bind = true): Promise<{ client: Client; url: string }> {
  const { Client, InvalidCredentialsError } = await lib();
  let last: LdapError | undefined;
  for (const url of conn.urls) {
    if (url.startsWith('ldap://') && !conn.startTls && !conn.allowPlain) {
      throw new LdapError(
        'tls',
        `${url} would send passwords unencrypted (plain LDAP, StartTLS off), which the directory settings do not allow.`,
        'Use ldaps:// (on a connector: in --ldap-url too), or turn startTls on in the directory settings.',
      );
    }
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    const ca = !!conn.caCertificate;
    // servername is for SNI and must not be an IP address.
    const tlsOptions = { ...(conn.caCertificate && { ca: conn.caCertificate }), ...(!net.isIP(host) && { servername: host }) };
    // tlsOptions on the client only for ldaps://: ldapts opens any URL with TLS options as implicit TLS (which an ldap:// port resets).
    const client = new Client({
      url,
      timeout: conn.timeoutSeconds * 1000,
      connectTimeout: conn.timeoutSeconds * 1000,
      ...(url.startsWith('ldaps://') && { tlsOptions }),
      strictDN: false,
    });
    try {
      if (url.startsWith('ldap://') && conn.startTls) {
        // StartTLS upgrades the open socket: without `host`, Node would check the certificate against "localhost".
        try {
          await client.startTLS({ ...tlsOptions, host });
        } catch (e) {
          const ex = explain(url, e, ca);
          // A directory that never answers did not refuse anything: say it timed out. Advice
          // never suggests turning encryption off (that would send every password in the clear).
          if (ex.problem === 'unreachable' || ex.problem === 'timeout' || ex.problem === 'tls') throw ex;
          throw new LdapError(
            'starttls',
            `${url} refused StartTLS (${(e as Error).message}).`,
            'Turn on TLS at the directory (a certificate for its host name), or use its ldaps:// URL (usually port 636).',
          );
        }
      }
      if (bind) {
        try {
          await client.bind(conn.bindDn, conn.bindPassword);
        } catch (e) {
          if (e instanceof InvalidCredentialsError)
            throw new LdapError(
              'service_bind',
              `${url} refused the bind DN ${conn.bindDn} and its password.`,
              'Check the bind DN and password in the directory settings (the service account may be locked or its password changed).',
            );
          throw e;
        }
      }
      return { client, url };
    } catch (e) {
      await client.unbind().catch(() => {});
      last = explain(url, e, ca);
      if (last.problem !== 'unreachable' && last.problem !== 'timeout') throw last; // the server answered: another URL would say the same
    }
  }
  throw last!;
}

export interface SearchRequest {
  base: string;
  filter: string;
  attributes: string[];
  pageSize: number;
}

/** Paged search (RFC 2696): one array of entries per page. */
export async function* searchPages(conn: Connection, req: SearchRequest): AsyncGenerator<PlainEntry[]> {
  const { NoSuchObjectError } = await lib();
  const { client, url } = await open(conn);
  try {
    const pages = client.searchPaginated(req.base, {
      scope: 'sub',
      filter: req.filter,
      attributes: req.attributes,
      paged: { pageSize: req.pageSize },
      explicitBufferAttributes: BINARY,
    });
    try {
      for await (const page of pages) yield page.searchEntries.map(plain);
    } catch (e) {
      if (e instanceof NoSuchObjectError)
        throw new LdapError('base_dn', `The base DN ${req.base} does not exist at ${url}.`, 'Check the base DNs in the directory settings.');
      throw explain(url, e);
    }
  } finally {
    await client.unbind().catch(() => {});
  }
}

export interface TestReport {
  url: string;
  bases: Array<{ dn: string; users: number; groups: number; sample: Array<{ dn: string; email: string | null }>; problem?: string }>;
}

/** Connect, bind, and count what the filters find under each base DN (the first 1,000 of each). */
export async function testConnection(
  conn: Connection,
  q: { baseDns: string[]; userFilter: string; groupFilter: string; emailAttributes: string[] },
): Promise<TestReport> {
  const { NoSuchObjectError, SizeLimitExceededError } = await lib();
  const { client, url } = await open(conn);
  const count = async (base: string, filter: string, attributes: string[]) => {
    try {
      return (await client.search(base, { scope: 'sub', filter, attributes, sizeLimit: 1000, paged: { pageSize: 500 } })).searchEntries;
    } catch (e) {
      if (e instanceof SizeLimitExceededError) return Array.from({ length: 1000 }) as Entry[];
      throw e;
    }
  };
  try {
    const bases: TestReport['bases'] = [];
    for (const dn of q.baseDns) {
      try {
        const users = await count(dn, q.userFilter, q.emailAttributes);
        const groups = await count(dn, q.groupFilter, ['cn']);
        const sample = users
          .filter((u) => u?.dn)
          .slice(0, 5)
          .map((u) => {
            const p = plain(u);
            const email =
              q.emailAttributes.map((a) => Object.entries(p.attrs).find(([k]) => k.toLowerCase() === a.toLowerCase())?.[1][0]).find(Boolean) ?? null;
            return { dn: u.dn, email };
          });
        bases.push({ dn, users: users.length, groups: groups.length, sample });
      } catch (e) {
        bases.push({
          dn,
          users: 0,
          groups: 0,
          sample: [],
          problem: e instanceof NoSuchObjectError ? `${dn} does not exist in the directory.` : explain(url, e).message,
        });
      }
    }
    return { url, bases };
  } finally {
    await client.unbind().catch(() => {});
  }
}

export type BindResult = 'ok' | 'bad_credentials' | 'locked' | 'expired' | 'must_change' | 'disabled' | 'account_expired' | 'restricted';

/**
 * Active Directory's reason in a failed bind's diagnostic message, e.g. "80090308: LdapErr:
 * DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v2580" (the Win32 error in hex).
 */
const AD_REASONS: Record<string, BindResult> = {
  '525': 'bad_credentials', // ERROR_NO_SUCH_USER: answered like a wrong password (no account enumeration)
  '52e': 'bad_credentials', // ERROR_LOGON_FAILURE: wrong password
  '530': 'restricted', // ERROR_INVALID_LOGON_HOURS: not permitted to sign in at this time
  '531': 'restricted', // ERROR_INVALID_WORKSTATION: not permitted to sign in from this workstation
  '532': 'expired', // ERROR_PASSWORD_EXPIRED
  '533': 'disabled', // ERROR_ACCOUNT_DISABLED
  '701': 'account_expired', // ERROR_ACCOUNT_EXPIRED
  '773': 'must_change', // ERROR_PASSWORD_MUST_CHANGE (reset by an administrator, or pwdLastSet = 0)
  '775': 'locked', // ERROR_ACCOUNT_LOCKED_OUT
};
export const adReason = (message: string): BindResult | undefined => AD_REASONS[/\bdata ([0-9a-f]{3})\b/i.exec(message)?.[1]?.toLowerCase() ?? ''];

/** ppolicy (draft-behera) error codes on a bind. */
const PPOLICY: Record<number, BindResult> = { 0: 'expired', 1: 'locked', 2: 'must_change' };

const STATE_ATTRS: Record<DirectoryKind, string[]> = {
  ad: ['userAccountControl', 'msDS-User-Account-Control-Computed', 'pwdLastSet', 'lockoutTime', 'accountExpires'],
  openldap: ['pwdReset', 'pwdAccountLockedTime'],
};

/** What the account's own attributes say (for directories that let the bind through, or after a refusal). */
export function accountState(kind: DirectoryKind, a: Record<string, string[]>, now = Date.now()): BindResult | undefined {
  const v = (n: string) => Object.entries(a).find(([k]) => k.toLowerCase() === n.toLowerCase())?.[1][0];
  if (kind === 'ad') {
    const uac = Number(v('userAccountControl') ?? 0) | Number(v('msDS-User-Account-Control-Computed') ?? 0);
    if (uac & UAC.ACCOUNTDISABLE) return 'disabled';
    if (uac & UAC.LOCKOUT || Number(v('lockoutTime') ?? 0) > 0) return 'locked';
    const expires = v('accountExpires');
    // Windows file time (100 ns since 1601); 0 and 2^63-1 mean never.
    if (expires && expires !== '0' && expires !== '9223372036854775807' && Number(BigInt(expires) / 10000n) - 11644473600000 < now) return 'account_expired';
    if (uac & UAC.PASSWORD_EXPIRED) return 'expired';
    if (v('pwdLastSet') === '0') return 'must_change';
    return undefined;
  }
  const locked = v('pwdAccountLockedTime');
  if (locked) return locked === PERMANENT_LOCK ? 'disabled' : 'locked';
  if (v('pwdReset')?.toUpperCase() === 'TRUE') return 'must_change';
  return undefined;
}

/**
 * Does the directory confirm this password without a bind? For an account whose every bind
 * is refused (locked by ppolicy or by Active Directory, which refuse a right password and a
 * wrong one alike), an LDAP compare of userPassword by the service account is the only
 * check left. It answers true only where the directory can compare the value (a hashed
 * userPassword compares false, and AD refuses compares of passwords): then the person is
 * told the usual "incorrect" message, which leaks nothing.
 */
async function passwordConfirmed(conn: Connection, dn: string, password: string): Promise<boolean> {
  let svc: Awaited<ReturnType<typeof open>> | undefined;
  try {
    svc = await open(conn);
    return await svc.client.compare(dn, 'userPassword', password);
  } catch {
    return false;
  } finally {
    await svc?.client.unbind().catch(() => {});
  }
}

/**
 * Check a password by binding as the user (it is never stored); say why a refused account
 * cannot sign in, but only once the password is known to be right: the state of an account
 * (locked, disabled) is not told to whoever merely knows its email.
 */
export async function authenticate(conn: Connection, kind: DirectoryKind, dn: string, password: string): Promise<BindResult> {
  if (!password) return 'bad_credentials'; // an empty password is an anonymous bind, which "succeeds"
  const { InvalidCredentialsError, PasswordPolicyControl } = await lib();
  const { client, url } = await open(conn, false);
  const policy = new PasswordPolicyControl();
  try {
    try {
      await client.bind(dn, password, policy);
    } catch (e) {
      if (!(e instanceof InvalidCredentialsError)) throw explain(url, e);
      // AD's reasons other than 52e/525 and 775 (locked), and ppolicy's expired / must-change,
      // are given only after the directory checked the password: they may be told.
      const reason = adReason((e as Error).message) ?? (policy.value?.error !== undefined ? PPOLICY[policy.value.error] : undefined);
      if (reason && reason !== 'locked') return reason;
      // A lock is reported whatever the password, and some directories say only "invalid
      // credentials" for a locked account (and a lock may be an administrator's: disabled):
      // ask the service account what the entry says, and tell it only if the password is right.
      let state: BindResult | undefined = reason;
      const svc = await open(conn).catch(() => undefined);
      if (svc) {
        try {
          const { searchEntries } = await svc.client.search(dn, { scope: 'base', attributes: STATE_ATTRS[kind] });
          const s = searchEntries[0] && accountState(kind, plain(searchEntries[0]).attrs);
          if (s === 'locked' || s === 'disabled') state = s;
        } catch {
          /* the entry's state is unknown: the bind's word stands */
        } finally {
          await svc.client.unbind().catch(() => {});
        }
      }
      if (state !== 'locked' && state !== 'disabled') return 'bad_credentials';
      return (await passwordConfirmed(conn, dn, password)) ? state : 'bad_credentials';
    }
    if (policy.value?.error !== undefined && PPOLICY[policy.value.error]) return PPOLICY[policy.value.error]!;
    try {
      const { searchEntries } = await client.search(dn, { scope: 'base', attributes: STATE_ATTRS[kind] });
      return (searchEntries[0] && accountState(kind, plain(searchEntries[0]).attrs)) ?? 'ok';
    } catch {
      return 'ok';
    } // the user may not read their own entry: the bind said yes
  } finally {
    await client.unbind().catch(() => {});
  }
}
