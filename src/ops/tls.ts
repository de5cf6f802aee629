// Gatehouse serving HTTPS itself (GATEHOUSE_TLS_CERT / GATEHOUSE_TLS_KEY), for sites without a
// TLS-terminating proxy. The PEM files are read at start and again on SIGHUP: the listener's
// secure context is replaced in place (tls.Server.setSecureContext), so a renewed certificate
// (certbot, an internal CA) is picked up by every new connection without closing the port or
// dropping connections already open. A reload that cannot read or match the files keeps the
// certificate in use and says why.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { StartupRefusal } from '../shared/errors.ts';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer /** for the log: subject, expiry, fingerprint */;
  summary: { subject: string; notAfter: string; fingerprint256: string };
}

/** Read and check the pair: both PEM, the key is the certificate's. Throws StartupRefusal with what to fix. */
export function readTls(files: TlsFiles): TlsMaterial {
  const read = (file: string, setting: string) => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new StartupRefusal(
        `${setting} ${file} cannot be read (${(e as NodeJS.ErrnoException).code}). Give a PEM file the user Gatehouse runs as can read.`,
      );
    }
  };
  const cert = read(files.certFile, 'GATEHOUSE_TLS_CERT');
  const key = read(files.keyFile, 'GATEHOUSE_TLS_KEY');
  let x509: crypto.X509Certificate;
  try {
    x509 = new crypto.X509Certificate(cert);
  } catch {
    throw new StartupRefusal(
      `GATEHOUSE_TLS_CERT ${files.certFile} is not a PEM certificate. Give the server certificate (followed by its intermediates) in PEM form ("-----BEGIN CERTIFICATE-----").`,
    );
  }
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey(key);
  } catch {
    throw new StartupRefusal(
      `GATEHOUSE_TLS_KEY ${files.keyFile} is not an unencrypted PEM private key. Give the certificate's private key in PEM form, without a passphrase.`,
    );
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new StartupRefusal(
      `GATEHOUSE_TLS_KEY ${files.keyFile} is not the private key of the certificate in GATEHOUSE_TLS_CERT ${files.certFile}. Give the matching pair (renewals replace both files).`,
    );
  }
  return {
    cert,
    key,
    summary: { subject: x509.subject.replace(/\n/g, ', '), notAfter: new Date(x509.validTo).toISOString(), fingerprint256: x509.fingerprint256 },
  };
}
