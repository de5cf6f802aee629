// `gatehouse agent`: the reference workstation agent (issue 19). Enrolled once with a
// one-time code (`agent enroll`), it keeps its Ed25519 key in its state file (mode 0600; the
// key never leaves the host) and signs every call (workstations/protocol.ts). It tells
// Gatehouse who signed in to the desktop (`signin`, after checking their password with
// Gatehouse) and who signed out, and opens the browser through a one-time link (`open`).
// Key handling, the state file and the code rules are the connector's (directory/connector/).
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { ensureWritable, FatalConnectorError, isLoopback, readState } from '../directory/connector/agent.ts';
import { newKeyPair, signText, softwareVersion } from '../directory/connector/protocol.ts';
import { AGENT_PREFIX, callText, enrollText, HEADERS } from './protocol.ts';

export interface AgentState {
  url: string;
  tenant: string;
  workstationId: string;
  name: string;
  privateKey: string;
  publicKey: string;
}

/** Refused or impossible: the message says why and what to do (the CLI exits non-zero). */
export class AgentFailure extends FatalConnectorError {}

function baseUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AgentFailure(`--url must be Gatehouse's public URL, like https://sso.example.com; got "${url}".`);
  }
  if (u.protocol === 'http:' && !isLoopback(u))
    throw new AgentFailure(`${url} is not https://. The agent sends desktop passwords: it talks to Gatehouse over TLS except on this machine.`);
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new AgentFailure(`--url must be an https:// URL; got "${url}".`);
  return u.origin;
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-gatehouse-agent-version': softwareVersion(), ...headers },
      body,
    });
  } catch (e) {
    throw new AgentFailure(
      `Cannot reach Gatehouse at ${new URL(url).origin} (${(e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message}). Check the URL and the network.`,
    );
  }
  const text = await res.text();
  let data: { error?: { message?: string } } & Record<string, unknown> = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    /* not JSON: said below */
  }
  if (!res.ok) throw new AgentFailure(data.error?.message ?? `Gatehouse answered ${res.status}. Check the URL: it is Gatehouse's public URL.`);
  return data;
}

export async function enroll(opts: { url: string; code: string; stateFile: string; name: string }): Promise<AgentState> {
  const base = baseUrl(opts.url);
  if (readState(opts.stateFile, 'agent'))
    throw new AgentFailure(`${opts.stateFile} already holds an enrolled workstation. Use another --state file, or delete it to enroll this one again.`);
  // The code works once: make sure the key can be kept before spending it.
  ensureWritable(opts.stateFile, 'agent');
  const keys = newKeyPair();
  const code = opts.code.trim();
  const r = (await post(
    `${base}${AGENT_PREFIX}/enroll`,
    JSON.stringify({ code, name: opts.name, publicKey: keys.publicKey, signature: signText(keys.privateKey, enrollText(code)), version: softwareVersion() }),
  )) as { workstationId: string; tenant: string };
  const state: AgentState = {
    url: base,
    tenant: r.tenant,
    workstationId: r.workstationId,
    name: opts.name,
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
  };
  try {
    fs.writeFileSync(opts.stateFile, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  } catch (e) {
    throw new AgentFailure(
      `Enrolled as ${r.workstationId}, but could not save the key in ${opts.stateFile} (${(e as Error).message}). Revoke ${r.workstationId} in the console and enroll again with a new code.`,
    );
  }
  return state;
}

function load(stateFile: string): AgentState {
  const s = readState<AgentState>(stateFile, 'agent');
  if (!s)
    throw new AgentFailure(
      `${stateFile} does not exist: enroll this workstation first with \`gatehouse agent enroll --url URL --code CODE --state ${stateFile} --name NAME\`.`,
    );
  return s;
}

/** A signed call (workstations/protocol.ts): each carries a fresh timestamp, newer than the last. */
async function call<T>(stateFile: string, op: string, payload: unknown): Promise<T> {
  const s = load(stateFile);
  const path = `${AGENT_PREFIX}/${op}`;
  const body = JSON.stringify(payload);
  const ts = Date.now();
  return post(`${s.url}${path}`, body, {
    [HEADERS.id]: s.workstationId,
    [HEADERS.ts]: String(ts),
    [HEADERS.sig]: signText(s.privateKey, callText('POST', path, ts, body)),
  }) as Promise<T>;
}

export const signin = (stateFile: string, user: string, password: string) =>
  call<{ user: { id: string; email: string }; previousUser: string | null; sessionsEnded: number }>(stateFile, 'signin', { user, password });
export const signout = (stateFile: string) => call<{ sessionsEnded: number }>(stateFile, 'signout', {});
export const link = (stateFile: string, target?: string) => call<{ url: string; expiresAt: number }>(stateFile, 'link', target ? { target } : {});

/** Open a URL in the desktop's browser (not through a shell: the URL is one argument). */
export function openBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['rundll32', ['url.dll,FileProtocolHandler', url]] : ['xdg-open', [url]];
  spawn(cmd, args as string[], { stdio: 'ignore', detached: true })
    .on('error', () => {})
    .unref();
}
