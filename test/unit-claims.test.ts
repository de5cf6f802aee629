// Claim mapping (src/oidc/claims.ts): the standard claims by scope and an app's custom claims
// (static values or user attributes), as pure functions; which lookups a request needs. The
// tokens themselves are checked end to end in test/suites/protocol.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claimLookups, claimsOf } from '../src/oidc/claims.ts';

const ann = { id: 'u-ann', email: 'ann@example.com', givenName: 'Ann', familyName: 'Lee', domain: 'example.com', emailVerified: true };

test('standard claims: sub, email (verified: she confirmed it), names, preferred_username', () => {
  assert.deepEqual(claimsOf(ann, 'openid', [], { groups: [] }), {
    sub: 'u-ann',
    email: 'ann@example.com',
    email_verified: true,
    name: 'Ann Lee',
    given_name: 'Ann',
    family_name: 'Lee',
    preferred_username: 'ann@example.com',
  });
});

test('email_verified: false for a local user until confirmed; true for directory and upstream users; preferred_username is the username when there is one', () => {
  const local = { ...ann, emailVerified: false, username: 'alee' };
  assert.equal(claimsOf(local, 'openid', [], { groups: [] }).email_verified, false);
  assert.equal(claimsOf(local, 'openid', [], { groups: [] }).preferred_username, 'alee');
  assert.equal(claimsOf({ ...local, directoryId: 'dir_1' }, 'openid', [], { groups: [] }).email_verified, true);
  assert.equal(claimsOf({ ...local, upstreamId: 'up_1' }, 'openid', [], { groups: [] }).email_verified, true);
});

test('missing names are left out, never empty strings; name is whichever part exists', () => {
  const c = claimsOf({ ...ann, givenName: null, familyName: null }, 'openid', [], { groups: [] });
  assert.equal(c.name, undefined);
  assert.equal(c.given_name, undefined);
  assert.equal(c.family_name, undefined);
  assert.equal(claimsOf({ ...ann, givenName: null }, 'openid', [], { groups: [] }).name, 'Lee');
  assert.equal(claimsOf({ ...ann, familyName: '' }, 'openid', [], { groups: [] }).name, 'Ann');
});

test('groups: a claim only with the groups scope (the scope is a space-separated list, matched word by word)', () => {
  assert.equal('groups' in claimsOf(ann, 'openid email', [], { groups: ['staff'] }), false);
  assert.deepEqual(claimsOf(ann, 'openid groups', [], { groups: ['staff', 'admins'] }).groups, ['staff', 'admins']);
  assert.equal('groups' in claimsOf(ann, 'openid groupsx', [], { groups: ['staff'] }), false);
  assert.deepEqual(claimsOf(ann, 'groups', [], { groups: [] }).groups, []);
});

test('custom claims: a static value, or a user attribute by name; an unknown attribute gives nothing', () => {
  const c = claimsOf(
    ann,
    'openid',
    [
      { name: 'department', value: 'Radiology' },
      { name: 'mail', attribute: 'email' },
      { name: 'first', attribute: 'given_name' },
      { name: 'last', attribute: 'family_name' },
      { name: 'full', attribute: 'name' },
      { name: 'org_domain', attribute: 'domain' },
      { name: 'urn:example:ou', attribute: 'ou' },
      { name: 'roles', attribute: 'groups' },
      { name: 'uid', attribute: 'user_id' },
      { name: 'nothing', attribute: 'password_hash' },
      { name: 'proto', attribute: '__proto__' },
    ],
    { groups: ['staff'], ou: '/Europe/Paris' },
  );
  assert.equal(c.department, 'Radiology');
  assert.equal(c.mail, 'ann@example.com');
  assert.equal(c.first, 'Ann');
  assert.equal(c.last, 'Lee');
  assert.equal(c.full, 'Ann Lee');
  assert.equal(c.org_domain, 'example.com');
  assert.equal(c['urn:example:ou'], '/Europe/Paris');
  assert.deepEqual(c.roles, ['staff'], 'groups as a custom claim without the groups scope');
  assert.equal('groups' in c, false);
  assert.equal(c.uid, 'u-ann');
  assert.equal(c.nothing, undefined, 'only the listed attributes: nothing else of the user leaks');
  assert.equal(c.proto, undefined, 'no prototype lookups through an attribute name');
});

test('lookups: groups only for the groups scope or a groups claim, the OU only for an ou claim', () => {
  assert.deepEqual(claimLookups('openid email profile', []), { groups: false, ou: false });
  assert.deepEqual(claimLookups('openid groups', []), { groups: true, ou: false });
  assert.deepEqual(claimLookups('openid', [{ name: 'roles', attribute: 'groups' }]), { groups: true, ou: false });
  assert.deepEqual(
    claimLookups('openid', [
      { name: 'unit', attribute: 'ou' },
      { name: 'x', value: 'ou' },
    ]),
    { groups: false, ou: true },
  );
});

test('custom claims may not take the names the sign-in and the token set (acr, amr, sub, aud, email_verified...)', async () => {
  const { customClaim } = await import('../src/admin/shapes.ts');
  for (const name of ['acr', 'amr', 'sub', 'aud', 'iss', 'auth_time', 'sid', 'email_verified', 'nonce']) {
    const r = customClaim.safeParse({ name, value: 'x' });
    assert.equal(r.success, false, name);
    assert.match(r.error!.issues[0]!.message, /set by Gatehouse/);
  }
  assert.equal(customClaim.safeParse({ name: 'department', value: 'x' }).success, true);
  assert.equal(customClaim.safeParse({ name: 'email', attribute: 'email' }).success, true);
});
