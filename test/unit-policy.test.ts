// Policy precedence and the rules of a policy's settings (src/policy/policies.ts), as pure
// functions: which policy applies to a user, when it requires a second factor, what a trusted
// network is, and what the settings refuse. The service and the admin API around them are
// covered by test/suites/policies.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SETTINGS,
  inNetworks,
  passwordlessAllowed,
  policyFor,
  policyRequiresMfa,
  policySettings,
  type PolicySettings,
  type PolicyTarget,
  type UserPolicy,
} from '../src/policy/policies.ts';

let n = 0;
const policy = (priority: number, targets: PolicyTarget[], settings: Partial<PolicySettings> = {}): UserPolicy => {
  n++;
  return {
    id: `p${n}`,
    tenantId: 't',
    name: `policy ${n}`,
    priority,
    targets,
    settings: { ...DEFAULT_SETTINGS, ...settings },
    version: 1,
    createdAt: 0,
    updatedAt: 0,
  };
};
const ann = { id: 'u-ann', domain: 'example.com' };
/** The policy that applies, when no lookup is asked for. */
const applies = (...args: Parameters<typeof policyFor>) => {
  const r = policyFor(...args);
  assert.ok('policy' in r, `decided without a lookup (asked for ${'needs' in r ? r.needs : ''})`);
  return r.policy;
};

test('the first policy by priority (1 first) with a matching target applies, whatever order the list is in', () => {
  const everyone = policy(10, [{ type: 'all', id: '*' }]);
  const annOnly = policy(2, [{ type: 'user', id: 'u-ann' }]);
  const domain = policy(5, [{ type: 'domain', id: 'example.com' }]);
  assert.equal(applies([everyone, domain, annOnly], ann), annOnly);
  assert.equal(applies([everyone, domain], ann), domain);
  assert.equal(applies([everyone, domain, annOnly], { id: 'u-bob', domain: 'example.org' }), everyone);
  // A policy matches through any one of its targets.
  const either = policy(1, [
    { type: 'user', id: 'u-zed' },
    { type: 'domain', id: 'example.com' },
  ]);
  assert.equal(applies([everyone, either], ann), either);
});

test('no policy matches: none applies (the defaults); an empty list needs no lookup', () => {
  assert.deepEqual(policyFor([], ann), { policy: undefined });
  assert.deepEqual(policyFor([policy(1, [{ type: 'user', id: 'u-bob' }]), policy(2, [{ type: 'domain', id: 'example.org' }])], ann), { policy: undefined });
  assert.deepEqual(policyFor([policy(1, [{ type: 'group', id: 'g1' }])], { ...ann, groupIds: [] }), { policy: undefined });
});

test('a target that names someone else does not match on look-alike values (ids and domains compare exactly)', () => {
  const p = policy(1, [
    { type: 'domain', id: 'example.com' },
    { type: 'user', id: 'u-ann' },
  ]);
  assert.equal(applies([p], { id: 'U-ANN', domain: 'sub.example.com' }), undefined);
  assert.equal(applies([p], { id: 'u-ann2', domain: 'example.com.evil' }), undefined);
});

test('group and OU memberships are looked up only when a policy reached before any match targets one', () => {
  const byUser = policy(1, [{ type: 'user', id: 'u-ann' }]);
  const byGroup = policy(2, [{ type: 'group', id: 'g-admins' }]);
  const byOu = policy(3, [{ type: 'ou', id: 'ou-emea' }]);
  // Decided before the group policy: no lookup asked.
  assert.equal(applies([byGroup, byUser, byOu], ann), byUser);
  // Otherwise the caller is asked for what it must look up, then asks again with it.
  const bob = { id: 'u-bob', domain: 'example.com' };
  assert.deepEqual(policyFor([byGroup, byOu], bob), { needs: 'groupIds' });
  assert.equal(applies([byGroup, byOu], { ...bob, groupIds: ['g-admins'] }), byGroup);
  assert.deepEqual(policyFor([byGroup, byOu], { ...bob, groupIds: ['g-other'] }), { needs: 'ouIds' });
  // The OU chain runs from the user's OU up to the root: a policy on a parent OU applies.
  assert.equal(applies([byGroup, byOu], { ...bob, groupIds: [], ouIds: ['ou-paris', 'ou-emea'] }), byOu);
  assert.equal(applies([byGroup, byOu], { ...bob, groupIds: [], ouIds: [] }), undefined);
});

test('policyRequiresMfa: never, always, outside trusted networks (IPv4, IPv6, IPv4-mapped), selected apps', () => {
  const at = (ip: string, clientId?: string) => ({ ip, clientId });
  const s = (mfa: Partial<PolicySettings['mfa']>): PolicySettings => ({ ...DEFAULT_SETTINGS, mfa: { ...DEFAULT_SETTINGS.mfa, ...mfa } });
  assert.equal(policyRequiresMfa(DEFAULT_SETTINGS, at('203.0.113.5')), false);
  assert.equal(policyRequiresMfa(s({ required: 'always' }), at('10.0.0.1')), true);
  const office = s({ required: 'outside_trusted_networks', trustedNetworks: ['10.0.0.0/8', '2001:db8::/32'] });
  assert.equal(policyRequiresMfa(office, at('10.1.2.3')), false);
  assert.equal(policyRequiresMfa(office, at('::ffff:10.1.2.3')), false, 'an IPv4-mapped address is its IPv4 address');
  assert.equal(policyRequiresMfa(office, at('2001:db8::1')), false);
  assert.equal(policyRequiresMfa(office, at('11.0.0.1')), true);
  assert.equal(policyRequiresMfa(office, at('2001:db9::1')), true);
  assert.equal(
    policyRequiresMfa(s({ required: 'outside_trusted_networks', trustedNetworks: [] }), at('10.0.0.1')),
    true,
    'no trusted network: everywhere is outside',
  );
  const apps = s({ required: 'selected_apps', apps: ['payroll'] });
  assert.equal(policyRequiresMfa(apps, at('10.0.0.1', 'payroll')), true);
  assert.equal(policyRequiresMfa(apps, at('10.0.0.1', 'wiki')), false);
  assert.equal(policyRequiresMfa(apps, at('10.0.0.1')), false, 'no app (the account page): not a selected app');
});

test('inNetworks: hostile addresses and networks never match by accident', () => {
  assert.equal(inNetworks('not-an-ip', ['0.0.0.0/0']), false);
  assert.equal(inNetworks('', ['0.0.0.0/0']), false);
  assert.equal(inNetworks('10.0.0.1', ['10.0.0.0/33', 'garbage', '10.0.0.0']), false, 'malformed networks are ignored, not widened');
  assert.equal(inNetworks('10.0.0.1', ['0.0.0.0/0']), true);
  assert.equal(inNetworks('::1', ['0.0.0.0/0']), false, 'an IPv6 address is not in an IPv4 network');
  assert.equal(inNetworks('192.168.1.255', ['192.168.1.0/24']), true);
  assert.equal(inNetworks('192.168.2.0', ['192.168.1.0/24']), false);
});

test('the settings: defaults for what is left out, and a clear refusal for what is wrong', () => {
  assert.deepEqual(policySettings.parse({}), DEFAULT_SETTINGS);
  assert.equal(DEFAULT_SETTINGS.ssoEnabled, true);
  assert.equal(DEFAULT_SETTINGS.mfa.required, 'never');
  assert.deepEqual(DEFAULT_SETTINGS.lockout, { threshold: 5, durationMinutes: 1, maxDurationMinutes: 60 });
  const problem = (input: unknown) => {
    const r = policySettings.safeParse(input);
    assert.equal(r.success, false, JSON.stringify(input));
    return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  };
  assert.match(
    problem({ mfa: { required: 'outside_trusted_networks', trustedNetworks: ['10.0.0.0/99'] } }),
    /mfa\.trustedNetworks\.0: must be a network like 10\.0\.0\.0\/8/,
  );
  assert.match(problem({ mfa: { trustedNetworks: ['<script>'] } }), /must be a network/);
  assert.match(
    problem({ lockout: { durationMinutes: 30, maxDurationMinutes: 10 } }),
    /lockout\.maxDurationMinutes: maxDurationMinutes must be at least durationMinutes/,
  );
  assert.match(problem({ allowedFactors: [] }), /allowedFactors/);
  assert.match(problem({ allowedFactors: ['sms'] }), /allowedFactors/);
  assert.match(problem({ rememberDeviceDays: 91 }), /rememberDeviceDays/);
  assert.match(problem({ sessionLifetimeMinutes: 10 }), /sessionLifetimeMinutes/);
  assert.match(problem({ mfa: { required: 'sometimes' } }), /mfa\.required/);
});

test('passwordless passkeys apply only when passkeys are an allowed factor', () => {
  assert.equal(passwordlessAllowed(DEFAULT_SETTINGS), false);
  assert.equal(passwordlessAllowed({ ...DEFAULT_SETTINGS, passwordlessPasskeys: true }), true);
  assert.equal(passwordlessAllowed({ ...DEFAULT_SETTINGS, passwordlessPasskeys: true, allowedFactors: ['totp'] }), false);
});
