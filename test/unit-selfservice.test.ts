// The self-service rules that need no server (issue 17): the password rules, the bundled
// common-password list, and what the identifier field accepts under each tenant setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCommonPassword, passwordProblem } from '../src/selfservice/passwords.ts';
import { checkIdentifier, identifierKind } from '../src/selfservice/identifiers.ts';
import type { Tenant } from '../src/storage/tenants.ts';

const jane = { email: 'jane.smith@hospital.test', username: 'jsmith' };
const tenant = (signInWith?: string): Tenant => ({
  id: 't',
  slug: 't',
  name: 'T',
  sessionLifetimeMinutes: 120,
  settings: signInWith ? { selfService: { signInWith } } : {},
  createdAt: 0,
  updatedAt: 0,
  version: 1,
});

test('password rules: length, common (also with digits and symbols appended), not the email, its local part or the username', () => {
  assert.match(passwordProblem('short', jane)!, /at least 8 characters/);
  assert.match(passwordProblem('x'.repeat(257), jane)!, /at most 256/);
  for (const p of ['password', 'Password123!', 'QWERTY123', 'letmein!!', '12345678']) assert.match(passwordProblem(p, jane) ?? '', /most common passwords/, p);
  for (const p of ['jane.smith@hospital.test', 'JANE.SMITH']) assert.match(passwordProblem(p, jane)!, /email address or username/, p);
  assert.match(passwordProblem('pharmacist', { email: 'x@hospital.test', username: 'Pharmacist' })!, /email address or username/);
  assert.match(passwordProblem('Jane.Smith@Hospital.test', jane)!, /email address or username/);
  assert.equal(passwordProblem('ward-seven-night-shift', jane), undefined);
  assert.equal(isCommonPassword('correct horse battery staple'), false);
  // The breach-ranked list is the whole of it, not its head: entries far down are refused too.
  for (const p of ['angelo1', 'jiggas123', 'Sunshine1!', 'iloveyou2']) assert.equal(isCommonPassword(p), true, p);
});

test('identifiers: what each setting accepts, and what kind each form is', () => {
  assert.equal(identifierKind('CORP\\jsmith'), 'down-level');
  assert.equal(identifierKind('jsmith@corp.example.org'), 'email');
  assert.equal(identifierKind('jsmith'), 'username');
  assert.deepEqual(checkIdentifier(tenant(), ' JSmith '), { ok: true, value: 'JSmith' });
  assert.deepEqual(checkIdentifier(tenant(), 'Jane.Smith@Hospital.test'), { ok: true, value: 'jane.smith@hospital.test' });
  assert.equal(checkIdentifier(tenant(), 'CORP\\jsmith').ok, true);
  const emailOnly = checkIdentifier(tenant('email'), 'jsmith');
  assert.equal(emailOnly.ok, false);
  assert.match(!emailOnly.ok ? emailOnly.message : '', /Enter your email address, like name@example.com/);
  for (const bad of ['', '   ', 'has space', 'a@b', 'x\u0000y', 'x'.repeat(255)]) assert.equal(checkIdentifier(tenant(), bad).ok, false, JSON.stringify(bad));
  const u = checkIdentifier(tenant('username'), '');
  assert.match(!u.ok ? u.message : '', /Enter your username, like jsmith or CORP\\jsmith/);
});
