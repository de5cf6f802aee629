// A throw-away OpenLDAP server (Debian's slapd) for a test file: two directories loaded from
// LDIF, an OpenLDAP one (dc=example,dc=test, with the ppolicy overlay) and an Active
// Directory style one (dc=corp,dc=example, with test/fixtures/ldap/ad.schema), listening on
// 127.0.0.1 on a free port; stopped by its pid.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './server.ts';
import { GENEROUS_MS } from './wait.ts';
import type { TestCa } from './tls.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/ldap');
export const SLAPD = '/usr/sbin/slapd';
export const haveSlapd = () => fs.existsSync(SLAPD) && fs.existsSync('/usr/sbin/slapadd');

export const OPENLDAP = {
  base: 'dc=example,dc=test',
  rootDn: 'cn=admin,dc=example,dc=test',
  rootPw: 'root-secret',
  bindDn: 'cn=gatehouse,ou=Services,dc=example,dc=test',
  bindPassword: 'service-secret',
};
export const AD = {
  base: 'dc=corp,dc=example',
  rootDn: 'cn=admin,dc=corp,dc=example',
  rootPw: 'root-secret',
  bindDn: 'cn=svc-gatehouse,cn=Users,dc=corp,dc=example',
  bindPassword: 'ad-service-secret',
};

export interface Slapd {
  url: string;
  port: number;
  dir: string /** With `tls`: ldaps://127.0.0.1:PORT (and url takes StartTLS). */;
  ldapsUrl?: string;
  stop(): void;
}

/** Start slapd with the fixtures (plus `extraLdif` appended to the OpenLDAP directory); with `tls`, also on ldaps:// and with StartTLS. */
export async function startSlapd(opts: { extraLdif?: string; tls?: TestCa } = {}): Promise<Slapd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-slapd-'));
  fs.mkdirSync(path.join(dir, 'db1'));
  fs.mkdirSync(path.join(dir, 'db2'));
  const conf = path.join(dir, 'slapd.conf');
  fs.writeFileSync(
    conf,
    `
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include ${FIXTURES}/ad.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile ${dir}/slapd.pid
sizelimit unlimited
${opts.tls ? `TLSCACertificateFile ${opts.tls.caFile}\nTLSCertificateFile ${opts.tls.certFile}\nTLSCertificateKeyFile ${opts.tls.keyFile}\n` : ''}
database mdb
maxsize 1073741824
suffix "${OPENLDAP.base}"
rootdn "${OPENLDAP.rootDn}"
rootpw ${OPENLDAP.rootPw}
directory ${dir}/db1
index objectClass eq
index entryUUID eq
overlay ppolicy
ppolicy_default "cn=default,ou=Policies,${OPENLDAP.base}"
ppolicy_use_lockout

database mdb
maxsize 104857600
suffix "${AD.base}"
rootdn "${AD.rootDn}"
rootpw ${AD.rootPw}
directory ${dir}/db2
`,
  );
  const load = (db: number, file: string) => {
    const r = spawnSync('/usr/sbin/slapadd', ['-q', '-f', conf, '-n', String(db), '-l', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`slapadd ${file}: ${r.stderr}`);
  };
  let openldap = path.join(FIXTURES, 'openldap.ldif');
  if (opts.extraLdif) {
    openldap = path.join(dir, 'openldap.ldif');
    fs.writeFileSync(openldap, fs.readFileSync(path.join(FIXTURES, 'openldap.ldif'), 'utf8') + '\n' + opts.extraLdif);
  }
  load(1, openldap);
  load(2, path.join(FIXTURES, 'ad.ldif'));
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = opts.tls ? `ldaps://127.0.0.1:${await freePort()}` : undefined;
  const r = spawnSync(
    SLAPD,
    [
      '-f',
      conf,
      '-h',
      [url, ldapsUrl]
        .filter(Boolean)
        .map((u) => `${u}/`)
        .join(' '),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`slapd did not start: ${r.stderr}`);
  const pid = Number(fs.readFileSync(path.join(dir, 'slapd.pid'), 'utf8'));
  // slapd daemonizes before it answers: wait (generously: a busy machine) until an LDAP request succeeds.
  const { Client } = await import('ldapts');
  for (const deadline = Date.now() + GENEROUS_MS; ; ) {
    const c = new Client({ url, connectTimeout: 1000, timeout: 1000 });
    try {
      await c.bind(OPENLDAP.rootDn, OPENLDAP.rootPw);
      await c.unbind();
      break;
    } catch (e) {
      await c.unbind().catch(() => {});
      if (Date.now() > deadline) {
        try {
          process.kill(pid);
        } catch {
          /* gone */
        }
        throw new Error(`slapd does not answer at ${url}: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    port,
    dir,
    ldapsUrl,
    stop() {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Change the directory as its administrator would (ldapts as the root DN). */
export async function modifyEntry(url: string, who: { rootDn: string; rootPw: string }, dn: string, replace: Record<string, string[]>): Promise<void> {
  const { Client, Change, Attribute } = await import('ldapts');
  const c = new Client({ url });
  try {
    await c.bind(who.rootDn, who.rootPw);
    await c.modify(
      dn,
      Object.entries(replace).map(
        ([type, values]) => new Change({ operation: values.length ? 'replace' : 'delete', modification: new Attribute({ type, values }) }),
      ),
    );
  } finally {
    await c.unbind();
  }
}

export async function addEntry(url: string, who: { rootDn: string; rootPw: string }, dn: string, attrs: Record<string, string | string[]>): Promise<void> {
  const { Client } = await import('ldapts');
  const c = new Client({ url });
  try {
    await c.bind(who.rootDn, who.rootPw);
    await c.add(dn, attrs);
  } finally {
    await c.unbind();
  }
}
