// Apache httpd with mod_auth_mellon (Debian's apache2 + libapache2-mod-auth-mellon) as a real
// SAML service provider for tests: a throw-away ServerRoot in a temporary directory, listening
// on 127.0.0.1 on a free port, in the foreground (-X: one process, stopped by its pid at the
// end). /protected/ needs a SAML sign-in; its page (server-side includes) shows the NameID
// and the attributes mod_auth_mellon received.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './server.ts';
import { waitFor } from './wait.ts';
import type { SpKeys } from './saml-sp.ts';

export const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
export const haveMellon = () => fs.existsSync(APACHE) && fs.existsSync(path.join(MODULES, 'mod_auth_mellon.so'));

export interface Mellon {
  base: string;
  entityId: string;
  metadataUrl: string;
  dir: string;
  errorLog(): string;
  stop(): Promise<void>;
}

export async function startMellon(o: { keys: SpKeys; idpMetadataXml: string }): Promise<Mellon> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-mellon-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  fs.chmodSync(dir, 0o755);
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    fs.chmodSync(path.join(dir, name), 0o644);
    return path.join(dir, name);
  };
  write('sp.key', o.keys.keyPem);
  write('sp.crt', o.keys.certPem);
  write('idp.xml', o.idpMetadataXml);
  fs.mkdirSync(path.join(dir, 'htdocs/protected'), { recursive: true });
  fs.chmodSync(path.join(dir, 'htdocs'), 0o755);
  fs.chmodSync(path.join(dir, 'htdocs/protected'), 0o755);
  write('htdocs/index.html', '<!doctype html><title>Public</title><p>public page</p>');
  write(
    'htdocs/protected/index.shtml',
    '<!doctype html><title>Protected</title><p>NameID: <span id="nameid"><!--#echo var="MELLON_NAME_ID" --></span></p><p>mail: <span id="mail"><!--#echo var="MELLON_mail" --></span></p><p>groups: <span id="groups"><!--#echo var="MELLON_groups" --></span></p><p>site: <span id="site"><!--#echo var="MELLON_site" --></span></p>',
  );
  const load = (m: string) => `LoadModule ${m}_module ${MODULES}/mod_${m}.so`;
  write(
    'httpd.conf',
    `
ServerRoot ${dir}
${['mpm_prefork', 'authn_core', 'authz_core', 'authz_user', 'include', 'mime', 'dir', 'setenvif', 'auth_mellon'].map(load).join('\n')}
Listen 127.0.0.1:${port}
ServerName 127.0.0.1:${port}
User www-data
Group www-data
PidFile ${dir}/httpd.pid
ErrorLog ${dir}/error.log
LogLevel warn auth_mellon:debug
DocumentRoot ${dir}/htdocs
DirectoryIndex index.html index.shtml
Mutex file:${dir} default
TypesConfig /dev/null
<Directory ${dir}/htdocs>
  Require all granted
  Options +Includes
  AddOutputFilter INCLUDES .shtml
  AddType text/html .shtml
</Directory>
<Location />
  MellonEnable info
  MellonEndpointPath /mellon
  MellonSPPrivateKeyFile ${dir}/sp.key
  MellonSPCertFile ${dir}/sp.crt
  MellonSPentityId ${base}/mellon/metadata
  MellonIdPMetadataFile ${dir}/idp.xml
  MellonSecureCookie Off
  # Plain http on 127.0.0.1 in tests: Chromium drops SameSite=None cookies that are not Secure; IdP and SP share the site here.
  MellonCookieSameSite lax
  SetEnvIf Request_URI ".*" MELLON_DISABLE_SAMESITE=1
  MellonSignatureMethod rsa-sha256
</Location>
<Location /protected>
  AuthType Mellon
  MellonEnable auth
  Require valid-user
</Location>
`,
  );
  const child: ChildProcess = spawn(APACHE, ['-X', '-f', path.join(dir, 'httpd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const errorLog = () => {
    try {
      return output + fs.readFileSync(path.join(dir, 'error.log'), 'utf8');
    } catch {
      return output;
    }
  };
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`apache2 exited (${code}): ${errorLog()}`))));
  exited.catch(() => {});
  await Promise.race([
    exited,
    waitFor(
      async () => {
        if (child.exitCode !== null) return true;
        try {
          return (await fetch(`${base}/mellon/metadata`)).ok;
        } catch {
          return false;
        }
      },
      { what: 'apache2 with mod_auth_mellon to answer' },
    ),
  ]);
  return {
    base,
    dir,
    entityId: `${base}/mellon/metadata`,
    metadataUrl: `${base}/mellon/metadata`,
    errorLog,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
