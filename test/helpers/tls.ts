// Throw-away certificates for TLS tests, made with Debian's openssl: a CA, and a server
// certificate it issues for the given names (IP addresses and DNS names).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface TestCa {
  caPem: string;
  certFile: string;
  keyFile: string;
  caFile: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** In `dir`: a CA named `name` and a server certificate for `altNames` (like ['IP:127.0.0.1']), valid one day. */
export function makeTestCa(dir: string, name: string, altNames: string[]): TestCa {
  fs.mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${name}-ca.key`,
      '-out',
      `${name}-ca.pem`,
      '-days',
      '1',
      '-subj',
      `/CN=${name} Test CA`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  openssl(['req', ...ec, '-keyout', `${name}-server.key`, '-out', `${name}-server.csr`, '-subj', '/CN=directory'], dir);
  fs.writeFileSync(
    path.join(dir, `${name}-ext.cnf`),
    `subjectAltName=${altNames.join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n`,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}-server.csr`,
      '-CA',
      `${name}-ca.pem`,
      '-CAkey',
      `${name}-ca.key`,
      '-CAcreateserial',
      '-out',
      `${name}-server.pem`,
      '-days',
      '1',
      '-extfile',
      `${name}-ext.cnf`,
    ],
    dir,
  );
  return {
    caPem: fs.readFileSync(path.join(dir, `${name}-ca.pem`), 'utf8'),
    certFile: path.join(dir, `${name}-server.pem`),
    keyFile: path.join(dir, `${name}-server.key`),
    caFile: path.join(dir, `${name}-ca.pem`),
  };
}
