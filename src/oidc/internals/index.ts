// The only place Gatehouse reaches past oidc-provider's public API (see README.md here): each
// file states the assumption it makes about the engine (v9.x), and test/engine-internals.test.ts
// checks each one against the installed engine, failing with the assumption's name.
export { backchannelLogout, issueAcr } from './engine-calls.ts';
export { withSharedContextGetter } from './ctx-getter.ts';
export { engineCookieKeys } from './cookie-keys.ts';
export { isConsumed } from './consumed.ts';
