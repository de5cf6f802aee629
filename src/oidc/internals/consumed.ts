// Engine assumption (oidc-provider 9.x, lib/models/authorization_code.js): a found
// AuthorizationCode that was consumed carries `consumed` (epoch seconds); the type does not
// declare it. Checked by test/engine-internals.test.ts ("consumed").

/** Whether the engine already consumed this code (or other consumable artifact). */
export function isConsumed(artifact: object): boolean {
  return !!(artifact as { consumed?: number }).consumed;
}
