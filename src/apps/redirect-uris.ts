// Redirect URI rules per application type, checked before the engine sees them so the
// administrator gets a message that says which URI is wrong and why.
// Matching at authorization time is exact (the engine's job), except RFC 8252 loopback
// redirects of native apps, where any port is accepted.
import type { AppType } from './kinds.ts';

export type { AppType };

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

export function redirectUriProblem(type: AppType, uri: string): string | undefined {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return `"${uri}" is not a URL. Write it in full, like https://app.example.com/callback.`;
  }
  // A trailing '#' leaves URL.hash empty, yet is a fragment component (RFC 6749 3.1.2: none allowed).
  if (u.hash || uri.includes('#')) return `"${uri}" has a fragment (#...); redirect URIs must not contain one.`;
  const scheme = u.protocol.slice(0, -1);
  if (type === 'native') {
    if (scheme === 'https') return undefined; // universal / app link
    if (scheme === 'http')
      return LOOPBACK.has(u.hostname) ? undefined : `"${uri}": a native app may use http only for a loopback address (http://127.0.0.1/...).`;
    // Private-use scheme: RFC 8252 7.1 asks for a reverse domain name (com.example.app).
    if (!scheme.includes('.')) return `"${uri}": a custom scheme must be a reverse domain name such as com.example.app://callback.`;
    return undefined;
  }
  if (scheme === 'https') return undefined;
  if (scheme === 'http' && LOOPBACK.has(u.hostname)) return undefined; // development on this machine
  return `"${uri}": use https (plain http is allowed only for localhost during development).`;
}

export function checkRedirectUris(type: AppType, uris: string[]): string[] {
  return uris.map((u) => redirectUriProblem(type, u)).filter((p): p is string => !!p);
}
