// An MIT Kerberos KDC from Debian's packages (krb5-kdc, krb5-admin-server, krb5-user) for
// tests: a realm created with kdb5_util in a temporary folder, the KDC on 127.0.0.1 at a free
// port, principals and keytabs made with kadmin.local, ticket caches with kinit. Everything
// is found through KRB5_CONFIG / KRB5_KDC_PROFILE pointing at the temporary files.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './server.ts';
import { waitFor } from './wait.ts';

export const REALM = 'EXAMPLE.TEST';
const KDB5_UTIL = '/usr/sbin/kdb5_util';
const KRB5KDC = '/usr/sbin/krb5kdc';
const KADMIN_LOCAL = '/usr/sbin/kadmin.local';
export const haveKdc = () => [KDB5_UTIL, KRB5KDC, KADMIN_LOCAL, '/usr/bin/kinit'].every((f) => fs.existsSync(f));

export interface Kdc {
  dir: string;
  /** KRB5_CONFIG and KRB5_KDC_PROFILE for the commands and for the processes that use the realm. */
  env: Record<string, string>;
  principal(name: string, opts?: { keytab?: string }): Promise<void>;
  /** A keytab with the principal's current keys (kadmin.local ktadd -norandkey). */
  keytab(name: string, file: string): Promise<void>;
  /** A ticket cache for the principal, from its keytab; `lifetime` like "5s". */
  kinit(name: string, keytab: string, cache: string, lifetime?: string): Promise<void>;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    }),
  );
}

export async function startKdc(): Promise<Kdc> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-kdc-'));
  const port = await freePort();
  const conf = path.join(dir, 'krb5.conf');
  const kdcConf = path.join(dir, 'kdc.conf');
  // clockskew 1 s: a ticket that just expired is refused at once (the default tolerates 5 minutes).
  fs.writeFileSync(
    conf,
    `[libdefaults]
  default_realm = ${REALM}
  dns_lookup_kdc = false
  dns_lookup_realm = false
  rdns = false
  dns_canonicalize_hostname = false
  udp_preference_limit = 1
  clockskew = 1
[realms]
  ${REALM} = {
    kdc = 127.0.0.1:${port}
  }
[domain_realm]
  localhost = ${REALM}
  .localhost = ${REALM}
`,
  );
  fs.writeFileSync(
    kdcConf,
    `[kdcdefaults]
  kdc_listen = 127.0.0.1:${port}
  kdc_tcp_listen = 127.0.0.1:${port}
[realms]
  ${REALM} = {
    database_name = ${dir}/principal
    key_stash_file = ${dir}/stash
    acl_file = ${dir}/kadm5.acl
    max_life = 10h
  }
[logging]
  kdc = FILE:${dir}/kdc.log
`,
  );
  fs.writeFileSync(path.join(dir, 'kadm5.acl'), '');
  const env = { KRB5_CONFIG: conf, KRB5_KDC_PROFILE: kdcConf };
  await run(KDB5_UTIL, ['create', '-s', '-r', REALM, '-P', 'master-password-for-tests'], env);
  const kdc: ChildProcess = spawn(KRB5KDC, ['-n', '-r', REALM], { env: { ...process.env, ...env }, stdio: 'ignore' });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    { what: 'the KDC to listen' },
  );
  const kadmin = (q: string) => run(KADMIN_LOCAL, ['-r', REALM, '-q', q], env);
  return {
    dir,
    env,
    async principal(name) {
      await kadmin(`addprinc -randkey ${name}`);
    },
    async keytab(name, file) {
      await kadmin(`ktadd -norandkey -k ${file} ${name}`);
    },
    async kinit(name, keytab, cache, lifetime) {
      await run('/usr/bin/kinit', ['-k', '-t', keytab, '-c', cache, ...(lifetime ? ['-l', lifetime] : []), name], env);
    },
    async stop() {
      kdc.kill();
      await new Promise((r) => (kdc.exitCode !== null ? r(null) : kdc.once('exit', r)));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
