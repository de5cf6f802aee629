// The acr rule (src/policy/acr.ts): which requested class a sign-in satisfies, which one the
// tokens carry, and when a second factor is asked for (OpenID Connect Core 3.1.2.1, 5.5.1.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACR_FED,
  ACR_FED_MFA,
  ACR_MFA,
  ACR_PWD,
  ACR_VALUES,
  acrClaimProblem,
  acrRequestOf,
  decideAcr,
  hasSecondFactor,
  mfaCauses,
  satisfies,
} from '../src/policy/acr.ts';
import { abortDescription } from '../src/interaction/abort.ts';

const listed = (...values: string[]) => ({ values, essential: false, source: 'acr_values' as const });

test("every supported class listed (the conformance suite's request): a password sign-in succeeds with the password class, no step-up", () => {
  assert.deepEqual(decideAcr(ACR_PWD, listed(...ACR_VALUES)), { kind: 'satisfied', acr: ACR_PWD });
  assert.deepEqual(mfaCauses({ signedIn: ACR_PWD, request: listed(...ACR_VALUES), appRequiresMfa: false, policyRequiresMfa: false }), []);
});

test("the tokens carry the best listed class satisfied: the sign-in's own class when listed, whatever the order", () => {
  assert.deepEqual(decideAcr(ACR_MFA, listed(...ACR_VALUES)), { kind: 'satisfied', acr: ACR_MFA });
  assert.deepEqual(decideAcr(ACR_MFA, listed(ACR_PWD, ACR_MFA)), { kind: 'satisfied', acr: ACR_MFA });
  assert.deepEqual(decideAcr(ACR_FED_MFA, listed(ACR_PWD, ACR_FED, ACR_MFA, ACR_FED_MFA)), { kind: 'satisfied', acr: ACR_FED_MFA });
  // Not listed itself: the most specific listed class it satisfies, the earlier among equals.
  assert.deepEqual(decideAcr(ACR_MFA, listed(ACR_PWD)), { kind: 'satisfied', acr: ACR_PWD });
  assert.deepEqual(decideAcr(ACR_FED_MFA, listed(ACR_PWD, ACR_FED, ACR_MFA)), { kind: 'satisfied', acr: ACR_FED });
  assert.deepEqual(decideAcr(ACR_FED_MFA, listed(ACR_MFA, ACR_FED)), { kind: 'satisfied', acr: ACR_MFA });
});

test('step-up only when no listed class can be met without a second factor', () => {
  assert.deepEqual(decideAcr(ACR_PWD, listed(ACR_MFA)), { kind: 'step_up' });
  assert.deepEqual(decideAcr(ACR_PWD, listed(ACR_MFA, ACR_FED_MFA)), { kind: 'step_up' });
  assert.deepEqual(decideAcr(ACR_FED, listed(ACR_MFA)), { kind: 'step_up' }, 'a second factor here makes an mfa sign-in');
  assert.deepEqual(decideAcr(ACR_MFA, listed(ACR_MFA)), { kind: 'satisfied', acr: ACR_MFA });
  assert.deepEqual(decideAcr(ACR_FED_MFA, listed(ACR_MFA)), { kind: 'satisfied', acr: ACR_MFA }, 'a second factor at the upstream directory counts');
});

test('classes a second factor cannot reach, and unknown classes, are unmet (not step-up)', () => {
  assert.deepEqual(decideAcr(ACR_PWD, listed(ACR_FED)), { kind: 'unmet' });
  assert.deepEqual(decideAcr(ACR_PWD, listed(ACR_FED_MFA)), { kind: 'unmet' });
  assert.deepEqual(decideAcr(ACR_MFA, listed('urn:example:other')), { kind: 'unmet' });
  assert.deepEqual(decideAcr(undefined, listed(ACR_PWD)), { kind: 'step_up' }, 'no known class: a second factor makes one');
  assert.equal(satisfies('urn:example:other', ACR_PWD), false);
  assert.deepEqual(decideAcr(ACR_PWD, undefined), { kind: 'none' });
});

test('the request: an essential acr claim (value or values) first, then acr_values, then a voluntary claim', () => {
  const claims = (acr: unknown) => JSON.stringify({ id_token: { acr } });
  assert.deepEqual(acrRequestOf({ acr_values: `${ACR_PWD} ${ACR_MFA}` }), { values: [ACR_PWD, ACR_MFA], essential: false, source: 'acr_values' });
  assert.deepEqual(acrRequestOf({ claims: claims({ essential: true, values: [ACR_MFA] }) }), { values: [ACR_MFA], essential: true, source: 'claims' });
  assert.deepEqual(acrRequestOf({ claims: claims({ essential: true, value: ACR_MFA }), acr_values: ACR_PWD }), {
    values: [ACR_MFA],
    essential: true,
    source: 'claims',
  });
  assert.deepEqual(acrRequestOf({ claims: claims({ values: [ACR_MFA] }) }), { values: [ACR_MFA], essential: false, source: 'claims' });
  assert.equal(acrRequestOf({ claims: '{not json' }), undefined);
  assert.equal(acrRequestOf({}), undefined);
  // A malformed acr request is refused (invalid_request), never silently ignored.
  assert.match(acrClaimProblem({ claims: claims({ essential: true, values: ACR_MFA }) })!, /values must be an array/);
  assert.match(acrClaimProblem({ claims: claims({ essential: true, value: [ACR_MFA] }) })!, /value must be a string/);
  assert.match(acrClaimProblem({ claims: claims('mfa') })!, /must be an object/);
  assert.equal(acrClaimProblem({ claims: claims({ essential: true, values: [ACR_MFA] }) }), undefined);
  assert.equal(acrClaimProblem({ claims: JSON.stringify({ userinfo: { email: null } }) }), undefined);
});

test("the causes of a step-up are named: the app's profile, the user's policy, the request", () => {
  assert.deepEqual(mfaCauses({ signedIn: ACR_PWD, request: undefined, appRequiresMfa: true, policyRequiresMfa: false }), ['app']);
  assert.deepEqual(mfaCauses({ signedIn: ACR_PWD, request: undefined, appRequiresMfa: false, policyRequiresMfa: true }), ['policy']);
  assert.deepEqual(mfaCauses({ signedIn: ACR_PWD, request: listed(ACR_MFA), appRequiresMfa: false, policyRequiresMfa: false }), ['acr_values']);
  assert.deepEqual(
    mfaCauses({ signedIn: ACR_PWD, request: { values: [ACR_MFA], essential: true, source: 'claims' }, appRequiresMfa: false, policyRequiresMfa: false }),
    ['acr_claim'],
  );
  assert.deepEqual(mfaCauses({ signedIn: ACR_MFA, request: listed(ACR_MFA), appRequiresMfa: true, policyRequiresMfa: true }), [], 'already two-step');
  assert.match(abortDescription('mfa:acr_values', listed(ACR_MFA)), /acr_values \(urn:gatehouse:loa:mfa\)/);
  assert.match(abortDescription('mfa:policy', undefined), /the user's policy requires it/);
  assert.doesNotMatch(abortDescription('not_deployed', undefined), /not allowed/);
  for (const r of ['not_deployed', 'sso_disabled', 'account_disabled', 'mfa:app,policy,acr_values', undefined]) {
    assert.match(abortDescription(r, listed(ACR_MFA)), /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/, 'RFC 6749 error_description characters');
  }
});

test('a sign-in at an upstream directory: the fed classes are selected for it, and never for a local one', () => {
  assert.deepEqual(decideAcr(ACR_FED, listed(ACR_PWD, ACR_FED)), { kind: 'satisfied', acr: ACR_FED });
  assert.deepEqual(decideAcr(ACR_FED, listed(ACR_FED_MFA)), { kind: 'unmet' }, 'a second factor here does not make it fed-mfa: the upstream decides');
  assert.deepEqual(decideAcr(ACR_MFA, listed(ACR_FED, ACR_FED_MFA)), { kind: 'unmet' });
  assert.equal(satisfies(ACR_FED_MFA, ACR_PWD), true);
  assert.equal(satisfies(ACR_PWD, ACR_FED), false);
  for (const [acr, two] of [
    [ACR_PWD, false],
    [ACR_FED, false],
    [ACR_MFA, true],
    [ACR_FED_MFA, true],
    [undefined, false],
    ['urn:example:mfa', false],
  ] as const) {
    assert.equal(hasSecondFactor(acr), two, String(acr));
  }
});

test('hostile or odd requests: nothing asked is nothing selected, and malformed parts are ignored or refused, never thrown', () => {
  assert.deepEqual(decideAcr(ACR_PWD, { values: [], essential: true, source: 'claims' }), { kind: 'none' });
  assert.deepEqual(acrRequestOf({ acr_values: `  ${ACR_MFA}   ${ACR_PWD} ` }), { values: [ACR_MFA, ACR_PWD], essential: false, source: 'acr_values' });
  assert.equal(acrRequestOf({ acr_values: '   ' }), undefined);
  assert.equal(acrRequestOf({ acr_values: ['urn:gatehouse:loa:mfa'] }), undefined, 'only a string is a parameter value');
  for (const claims of ['null', '[]', '"acr"', '{"id_token":null}', '{"id_token":{"acr":null}}', '{"id_token":{"acr":"mfa"}}']) {
    assert.equal(acrRequestOf({ claims }), undefined, claims);
  }
  // An essential claim with no usable value is not enforced: acr_values (voluntary) decide.
  assert.deepEqual(acrRequestOf({ claims: JSON.stringify({ id_token: { acr: { essential: true, values: [1, 2] } } }), acr_values: ACR_PWD }), {
    values: [ACR_PWD],
    essential: false,
    source: 'acr_values',
  });
  assert.equal(acrClaimProblem({ claims: 'null' }), undefined);
  assert.equal(acrClaimProblem({ claims: '{"id_token":{"acr":null}}' }), undefined);
  assert.match(acrClaimProblem({ claims: JSON.stringify({ id_token: { acr: ['a'] } }) })!, /must be an object/);
  assert.match(acrClaimProblem({ claims: JSON.stringify({ id_token: { acr: { values: ['a', 3] } } }) })!, /values must be an array of acr values/);
});
