// The directory rules that need no server: Active Directory's bind refusals as AD words them
// ("... AcceptSecurityContext error, data 775, v2580"), what an AD entry's own attributes say
// about the account (with the clock given), and DNs to OU paths and domains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { InvalidCredentialsError } from 'ldapts';
import { accountState, adReason } from '../src/directory/ldap/client.ts';
import { domainOfDn, guidToString, normalizeDn, ouPathOf } from '../src/directory/ldap/mapping.ts';

// Diagnostic messages as Active Directory sends them (Windows Server 2008 R2 to 2022 builds;
// AD ends them with a NUL), and what the person signing in is told.
const AD_REFUSALS: Array<[string, string]> = [
  ['80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 525, v3839\0', 'bad_credentials'],
  ['80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v2580\0', 'bad_credentials'],
  ['80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 530, v1db1\0', 'restricted'],
  ['80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 531, v1db1\0', 'restricted'],
  ['80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 532, v2580\0', 'expired'],
  ['80090308: LdapErr: DSID-0C090447, comment: AcceptSecurityContext error, data 533, v3839\0', 'disabled'],
  ['80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 701, v2580\0', 'account_expired'],
  ['80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 773, v4563\0', 'must_change'],
  ['80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v2580\0', 'locked'],
  // Upper-case hex, as some proxies and older builds write it.
  ['80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52E, v1db1', 'bad_credentials'],
];

test('Active Directory bind refusals: each "data NNN" code, as ldapts reports the server\'s message, gives its reason', () => {
  for (const [diagnostic, want] of AD_REFUSALS) {
    // What the client code sees: ldapts' error for result code 49 with the server's message.
    const e = new InvalidCredentialsError(diagnostic);
    assert.match(e.message, /Code: 0x31$/);
    assert.equal(adReason(e.message), want, diagnostic);
  }
});

test("messages without an AD reason give none (the account's attributes are asked instead)", () => {
  for (const m of [
    'Invalid credentials during a bind operation. Code: 0x31',
    '80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 0, v2580',
    'data 999 is not a code',
    'metadata 775 is not one either',
    '',
  ])
    assert.equal(adReason(m), undefined, m);
});

test("an AD entry's attributes: disabled, locked, expired account (file time, against the given clock), password expired, must change", () => {
  const now = Date.UTC(2026, 0, 15);
  // Windows file time: 100-ns intervals since 1601-01-01.
  const fileTime = (ms: number) => String(BigInt(ms + 11644473600000) * 10000n);
  const ad = (a: Record<string, string>) => accountState('ad', Object.fromEntries(Object.entries(a).map(([k, v]) => [k, [v]])), now);
  assert.equal(ad({ userAccountControl: '512' }), undefined, 'a normal account');
  assert.equal(ad({ userAccountControl: '514' }), 'disabled');
  assert.equal(ad({ userAccountControl: '512', lockoutTime: '133500000000000000' }), 'locked');
  assert.equal(ad({ userAccountControl: '512', lockoutTime: '0' }), undefined, 'lockoutTime 0: unlocked');
  assert.equal(ad({ userAccountControl: '512', 'msDS-User-Account-Control-Computed': '16' }), 'locked');
  assert.equal(ad({ userAccountControl: '512', accountExpires: fileTime(now - 60_000) }), 'account_expired');
  assert.equal(ad({ userAccountControl: '512', accountExpires: fileTime(now + 86_400_000) }), undefined, 'expires tomorrow');
  assert.equal(ad({ userAccountControl: '512', accountExpires: '9223372036854775807' }), undefined, 'never expires');
  assert.equal(ad({ userAccountControl: '512', accountExpires: '0' }), undefined, 'never expires');
  assert.equal(ad({ userAccountControl: String(512 | 0x800000) }), 'expired');
  assert.equal(ad({ userAccountControl: '512', pwdLastSet: '0' }), 'must_change');
  assert.equal(ad({ userAccountControl: '66048', pwdLastSet: '133500000000000000' }), undefined, 'password never expires flag, password set');
});

test('DNs: OU path, domain, one spelling for comparing; objectGUID as text', () => {
  assert.equal(ouPathOf('CN=Alice Liddell,OU=EMEA,OU=Sales,DC=corp,DC=example'), '/Sales/EMEA');
  assert.equal(ouPathOf('CN=svc,CN=Users,DC=corp,DC=example'), null, 'CN=Users is a container, not an OU');
  assert.equal(ouPathOf('uid=x,ou=R\\2CD,dc=example,dc=test'), '/R,D', 'escaped comma');
  assert.equal(domainOfDn('CN=Alice,OU=Sales,DC=Corp,DC=Example,DC=com'), 'corp.example.com');
  assert.equal(domainOfDn('uid=x,o=Example'), null);
  assert.equal(normalizeDn('CN=Alice Liddell , OU=Sales,DC=corp, DC=example'), normalizeDn('cn=alice liddell,ou=sales,dc=corp,dc=example'));
  assert.equal(guidToString(Buffer.from('4cb8e5e1f4a8b44d9b1f1e2d3c4b5a69', 'hex')), 'e1e5b84c-a8f4-4db4-9b1f-1e2d3c4b5a69');
});

test('no message anywhere advises turning directory encryption off (startTls: false, allowPlain)', () => {
  const root = path.resolve(import.meta.dirname, '..');
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'dist') walk(p);
        continue;
      }
      if (!/\.(ts|tsx)$/.test(e.name)) continue;
      fs.readFileSync(p, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          // Advice lives in strings: a quote, then a suggestion to set either switch.
          if (/['"`][^'"`]*(startTls: false|allowPlain: true|set allowPlain)/.test(line)) offenders.push(`${path.relative(root, p)}:${i + 1}`);
        });
    }
  };
  walk(path.join(root, 'src'));
  walk(path.join(root, 'console/src'));
  assert.deepEqual(offenders, []);
});
