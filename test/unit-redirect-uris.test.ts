// Redirect URI rules per application type (src/apps/redirect-uris.ts): what an administrator
// may register, and that each refusal names the URI and says what to write instead. Pure
// rules, no server (the admin API suites check that the answers reach the administrator).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRedirectUris, redirectUriProblem, type AppType } from '../src/apps/redirect-uris.ts';

const BROWSER_TYPES: AppType[] = ['web', 'spa', 'service', 'handoff'];

test('web and SPA apps: https anywhere; plain http only on this machine (localhost, 127.0.0.1, [::1])', () => {
  for (const type of BROWSER_TYPES) {
    for (const ok of [
      'https://app.example.com/callback',
      'https://app.example.com:8443/cb?x=1',
      'http://localhost:3000/cb',
      'http://127.0.0.1/cb',
      'http://[::1]:8080/cb',
      'HTTPS://APP.EXAMPLE.COM/cb',
    ]) {
      assert.equal(redirectUriProblem(type, ok), undefined, `${type} ${ok}`);
    }
    const p = redirectUriProblem(type, 'http://app.example.com/callback');
    assert.match(p!, /"http:\/\/app\.example\.com\/callback": use https/);
  }
});

test('hostile or careless URIs are refused with a reason: look-alike loopback hosts, other schemes, fragments, not a URL', () => {
  for (const [uri, reason] of [
    ['http://localhost.evil.example/cb', /use https/],
    ['http://127.0.0.1.evil.example/cb', /use https/],
    ['javascript:alert(1)', /use https/],
    ['data:text/html,<script>alert(1)</script>', /use https/],
    ['file:///etc/passwd', /use https/],
    ['https://app.example.com/cb#token', /has a fragment/],
    ['https://app.example.com/cb#', /has a fragment/],
    ['/callback', /is not a URL. Write it in full/],
    ['', /is not a URL/],
    ['app.example.com/callback', /is not a URL/],
  ] as const) {
    const p = redirectUriProblem('web', uri);
    assert.ok(p, `${uri} refused`);
    assert.match(p, reason, uri);
    assert.ok(p.includes(`"${uri}"`), `the problem names the URI: ${p}`);
  }
});

test('native apps (RFC 8252): https app links, http only to a loopback address, private-use schemes as reverse domain names', () => {
  for (const ok of [
    'https://app.example.com/oauth',
    'http://127.0.0.1/cb',
    'http://127.0.0.1:49152/cb',
    'http://[::1]/cb',
    'http://localhost/cb',
    'com.example.app:/oauth2redirect',
    'com.example.app://callback',
  ]) {
    assert.equal(redirectUriProblem('native', ok), undefined, ok);
  }
  assert.match(redirectUriProblem('native', 'http://app.example.com/cb')!, /a native app may use http only for a loopback address/);
  assert.match(
    redirectUriProblem('native', 'myapp://callback')!,
    /"myapp:\/\/callback": a custom scheme must be a reverse domain name such as com\.example\.app/,
  );
  assert.match(redirectUriProblem('native', 'javascript:alert(1)')!, /custom scheme must be a reverse domain name/);
  assert.match(redirectUriProblem('native', 'com.example.app://cb#frag')!, /has a fragment/);
});

test('checkRedirectUris: one problem per wrong URI, in the order given; none when all are right', () => {
  assert.deepEqual(checkRedirectUris('web', ['https://a.example/cb', 'http://localhost/cb']), []);
  const problems = checkRedirectUris('spa', ['http://a.example/cb', 'https://b.example/cb', 'not a url']);
  assert.equal(problems.length, 2);
  assert.match(problems[0]!, /^"http:\/\/a\.example\/cb"/);
  assert.match(problems[1]!, /^"not a url" is not a URL/);
  assert.deepEqual(checkRedirectUris('native', []), []);
});
