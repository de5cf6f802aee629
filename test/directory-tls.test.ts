// Directories over TLS, against a real slapd with a certificate authority and a server
// certificate (for "localhost") made by the test: ldaps:// and ldap:// with StartTLS work with
// the CA certificate in the settings (test connection, sync, a sign-in bind); a missing or
// wrong CA, a certificate for another host, an ldaps:// URL on the plain port and a directory
// without StartTLS are answered 502 with what to fix; a broken CA certificate is 400; plain
// LDAP is refused unless allowPlain (by the settings, and again where the connection is made).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as oidc from 'openid-client';
import { startTestServer, freePort, type TestServer } from './helpers/server.ts';
import { OPENLDAP, haveSlapd, startSlapd, type Slapd } from './helpers/slapd.ts';
import { makeTestCa, type TestCa } from './helpers/tls.ts';
import { Agent, text } from './helpers/agent.ts';
import { rpConfig } from './helpers/rp.ts';
import { testConnection, type LdapError } from '../src/directory/ldap/client.ts';

const skip = !haveSlapd() ? 'slapd is not installed (apt-get install -y slapd ldap-utils)' : false;
const T = '/tenants/default';
let gh: TestServer;
let tlsLdap: Slapd;
let plainLdap: Slapd;
let ca: TestCa;
let otherCa: TestCa;
let certDir: string;
/** ldaps://localhost:PORT and ldap://localhost:PORT: the names the server certificate is issued for. */
let ldaps: string;
let ldap: string;

before(async () => {
  if (skip) return;
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-tls-'));
  ca = makeTestCa(certDir, 'corp', ['DNS:localhost']);
  otherCa = makeTestCa(certDir, 'other', ['DNS:localhost']);
  [tlsLdap, plainLdap, gh] = await Promise.all([startSlapd({ tls: ca }), startSlapd(), startTestServer()]);
  ldaps = tlsLdap.ldapsUrl!.replace('127.0.0.1', 'localhost');
  ldap = tlsLdap.url.replace('127.0.0.1', 'localhost');
});
after(async () => {
  await gh?.close();
  tlsLdap?.stop();
  plainLdap?.stop();
  if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
});

const settings = (over: Record<string, unknown>) => ({ kind: 'openldap', bindDn: OPENLDAP.bindDn, baseDns: [OPENLDAP.base], ...over });
const tryIt = (over: Record<string, unknown>) => gh.api('POST', `${T}/directories/test`, { settings: settings(over), bindPassword: OPENLDAP.bindPassword });

test('ldaps:// and ldap:// with StartTLS, trusting the CA certificate in the settings: test connection, sync, and a sign-in bind over TLS', {
  skip,
}, async () => {
  const overLdaps = await tryIt({ urls: [ldaps], caCertificate: ca.caPem });
  assert.equal(overLdaps.status, 200, JSON.stringify(overLdaps.body));
  assert.equal(overLdaps.body.ok, true);
  assert.match(overLdaps.body.message, /Connected to ldaps:\/\/localhost:\d+ and bound as .*found 7 users/);
  const overStartTls = await tryIt({ urls: [ldap], caCertificate: ca.caPem }); // startTls is on by default
  assert.equal(overStartTls.status, 200, JSON.stringify(overStartTls.body));
  assert.equal(overStartTls.body.ok, true);
  // The certificate authority is checked on StartTLS too: another CA's certificate is not trusted.
  assert.equal((await tryIt({ urls: [ldap], caCertificate: otherCa.caPem })).status, 502);

  const d = await gh.api('POST', `${T}/directories`, {
    name: 'TLS LDAP',
    bindPassword: OPENLDAP.bindPassword,
    settings: settings({ urls: [ldap], caCertificate: ca.caPem }),
  });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  assert.equal(d.body.settings.caCertificate, ca.caPem);
  const run = await gh.api('POST', `${T}/directories/${d.body.id}/sync`, { mode: 'full', wait: true });
  assert.equal(run.body.status, 'succeeded', run.body.message);
  assert.equal(run.body.users.created, 6);

  const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  const a = await gh.api('POST', `${T}/apps`, { name: 'wiki', displayName: 'Wiki', type: 'web', redirectUris: [redirectUri] });
  await gh.api('PUT', `${T}/apps/${a.body.clientId}/deployment`, { all: true });
  const config = await rpConfig(`${gh.base}/t/default`, a.body.clientId, a.body.clientSecret);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    state: 's',
    code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
    code_challenge_method: 'S256',
  });
  const agent = new Agent();
  await agent.signIn(url.href, redirectUri, 'alice@example.test', 'alice-directory-pw');

  // The directory's certificate authority changes (a new CA issued its certificate): sign-in says the directory cannot be reached, the audit says why.
  assert.equal((await gh.api('PATCH', `${T}/directories/${d.body.id}`, { settings: { caCertificate: otherCa.caPem } })).status, 200);
  const refused = new Agent();
  await assert.rejects(refused.signIn(url.href, redirectUri, 'alice@example.test', 'alice-directory-pw'));
  assert.equal(refused.lastStatus, 503);
  assert.match(text(refused.lastBody), /cannot reach your organization's directory/);
  const audit = await gh.api('GET', `${T}/audit?type=directory.unavailable`);
  assert.match(
    JSON.stringify(audit.body.items[0]),
    /does not trust the certificate of ldap:\/\/localhost.*caCertificate in the directory settings is not the authority/,
  );
});

test('a missing or wrong CA, a certificate for another host, LDAPS on the plain port and a directory without StartTLS: 502 naming the fix; a broken CA certificate: 400', {
  skip,
}, async () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [
      { urls: [ldaps] },
      /does not trust the certificate of ldaps:\/\/localhost.*Put the PEM certificate of the authority that issued the directory's certificate in caCertificate/,
    ],
    [{ urls: [ldap] }, /does not trust the certificate of ldap:\/\/localhost.*in caCertificate/],
    [{ urls: [ldaps], caCertificate: otherCa.caPem }, /The caCertificate in the directory settings is not the authority that issued this certificate/],
    // Issued for localhost, reached as 127.0.0.1: over LDAPS, and over StartTLS (checked against the URL's host, not "localhost").
    [
      { urls: [tlsLdap.ldapsUrl], caCertificate: ca.caPem },
      /certificate of ldaps:\/\/127\.0\.0\.1:\d+ is not issued for 127\.0\.0\.1.*reissued with 127\.0\.0\.1 among its subject alternative names/,
    ],
    [{ urls: [tlsLdap.url], caCertificate: ca.caPem }, /certificate of ldap:\/\/127\.0\.0\.1:\d+ is not issued for 127\.0\.0\.1/],
    [{ urls: [ldap.replace('ldap:', 'ldaps:')], caCertificate: ca.caPem }, /closed the connection during the TLS handshake.*LDAPS port \(usually 636\)/],
  ];
  for (const [over, want] of cases) {
    const r = await tryIt(over);
    assert.equal(r.status, 502, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'directory_tls', JSON.stringify(r.body));
    assert.match(r.body.error.message, want);
  }
  const noStartTls = await tryIt({ urls: [plainLdap.url] });
  assert.equal(noStartTls.status, 502);
  assert.equal(noStartTls.body.error.code, 'directory_starttls');
  assert.match(noStartTls.body.error.message, /refused StartTLS.*Turn on TLS at the directory.*ldaps:\/\//);
  assert.doesNotMatch(noStartTls.body.error.message, /allowPlain|startTls: false/, 'no advice to turn encryption off');

  const broken = await tryIt({ urls: [ldaps], caCertificate: '-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n' });
  assert.equal(broken.status, 400);
  assert.match(broken.body.error.message, /caCertificate: certificate 1 is not a valid PEM certificate/);
  const cut = await tryIt({ urls: [ldaps], caCertificate: ca.caPem.slice(0, 200) });
  assert.equal(cut.status, 400);
  assert.match(cut.body.error.message, /END CERTIFICATE----- line is missing/);
});

test('plain LDAP (StartTLS off) is refused unless allowPlain, on create, test and update; nothing is changed by a refused update', { skip }, async () => {
  const plain = { urls: [plainLdap.url], startTls: false };
  const t = await tryIt(plain);
  assert.equal(t.status, 400);
  assert.match(t.body.error.message, /would send passwords unencrypted.*Use ldaps:\/\/, or keep startTls on/);
  assert.doesNotMatch(t.body.error.message, /allowPlain/, 'no advice to turn encryption off');
  assert.equal((await gh.api('POST', `${T}/directories`, { name: 'Plain', bindPassword: OPENLDAP.bindPassword, settings: settings(plain) })).status, 400);
  assert.equal(
    (await gh.api('GET', `${T}/directories`)).body.items.some((x: { name: string }) => x.name === 'Plain'),
    false,
  );

  const d = await gh.api('POST', `${T}/directories`, {
    name: 'Was TLS',
    bindPassword: OPENLDAP.bindPassword,
    settings: settings({ urls: [ldap], caCertificate: ca.caPem }),
  });
  assert.equal(d.status, 201);
  const off = await gh.api('PATCH', `${T}/directories/${d.body.id}`, { settings: { startTls: false } });
  assert.equal(off.status, 400);
  assert.match(off.body.error.message, /unencrypted/);
  assert.equal((await gh.api('GET', `${T}/directories/${d.body.id}`)).body.settings.startTls, true, 'the refused update changed nothing');
  // Only when asked for explicitly.
  const allowed = await tryIt({ ...plain, allowPlain: true });
  assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
  assert.equal(allowed.body.ok, true);

  // Checked again where the connection is made (the code a connector runs): settings with ldaps://
  // and StartTLS off are valid, but a connector's own --ldap-url ldap://... must not go plain.
  const q = { baseDns: [OPENLDAP.base], userFilter: '(objectClass=inetOrgPerson)', groupFilter: '(objectClass=groupOfNames)', emailAttributes: ['mail'] };
  const conn = {
    urls: [plainLdap.url],
    startTls: false,
    allowPlain: false,
    caCertificate: null,
    bindDn: OPENLDAP.bindDn,
    bindPassword: OPENLDAP.bindPassword,
    timeoutSeconds: 5,
  };
  await assert.rejects(
    testConnection(conn, q),
    (e: LdapError) => e.problem === 'tls' && /would send passwords unencrypted/.test(e.message) && /--ldap-url/.test(e.fix),
  );
  assert.equal((await testConnection({ ...conn, allowPlain: true }, q)).bases[0]!.users, 7);
});
