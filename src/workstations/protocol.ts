// The workstation agent's HTTP protocol (issue 19). Every call after enrollment is signed
// with the agent's Ed25519 key, pinned at enrollment:
//   x-gatehouse-workstation: the workstation id
//   x-gatehouse-timestamp:   milliseconds since the epoch; must be within CLOCK_SKEW_MS of
//                            Gatehouse's clock and newer than every call accepted before
//                            (a captured call cannot be replayed, not even within the window)
//   x-gatehouse-signature:   Ed25519 over callText(method, path, timestamp, body), base64url
// Enrollment proves possession of the new key by signing enrollText(code).
// The key and the one-time code rules are the connector's (directory/connector/protocol.ts).
import crypto from 'node:crypto';

export const AGENT_PREFIX = '/agent/v1';
export const CLOCK_SKEW_MS = 5 * 60_000;
/** A link opens the browser once, within this long (the reference: 30 seconds). */
export const LINK_TTL_MS = 30_000;
export const HEADERS = { id: 'x-gatehouse-workstation', ts: 'x-gatehouse-timestamp', sig: 'x-gatehouse-signature' } as const;

const bodyHash = (body: string) => crypto.createHash('sha256').update(body).digest('base64url');
export const callText = (method: string, path: string, ts: number, body: string) =>
  `gatehouse-agent.v1\n${method.toUpperCase()}\n${path}\n${ts}\n${bodyHash(body)}`;
export const enrollText = (code: string) => `gatehouse-agent.v1\nenroll\n${code}`;

/** Why Gatehouse refused an agent's call: the agent prints the message and stops. */
export type AgentRefusal =
  | 'code_unknown'
  | 'code_expired'
  | 'code_used'
  | 'bad_signature'
  | 'unknown_workstation'
  | 'revoked'
  | 'replayed'
  | 'clock_skew'
  | 'bad_request'
  | 'signin_failed';
