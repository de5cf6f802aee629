// Whether a directory (LDAP / Active Directory) is down, as the console's directory list and
// the overview's alerts say it: its last sync failed, or it is reached through connectors and
// none is connected. Found here, at the top, rather than by scrolling to the bottom of the
// directory's page or by the people who cannot sign in.
import type { LdapDirectory, SyncRun } from '../storage/ldap.ts';
import { ago } from '../shared/time.ts';

export interface DirectoryProblem {
  kind: 'no_connector' | 'sync_failed';
  /** What is wrong and what to do, in an administrator's words. */
  message: string;
  /** When it was seen (the failed sync's end); null for a state that holds now. */
  at: number | null;
}

/**
 * The problem a directory has, or null. `lastRun`: its latest sync run; `connected`: how many
 * of the tenant's connectors are connected now (read only for directories reached through them).
 */
export function directoryProblem(
  d: Pick<LdapDirectory, 'name' | 'enabled' | 'settings'>,
  lastRun: Pick<SyncRun, 'status' | 'message' | 'finishedAt' | 'startedAt'> | null | undefined,
  connected: number,
  now = Date.now(),
): DirectoryProblem | null {
  if (!d.enabled) return null; // switched off on purpose: nothing to raise
  if (d.settings.via === 'connector' && connected === 0) {
    return {
      kind: 'no_connector',
      at: null,
      message: `No connector is connected, so ${d.name} (reached through connectors) cannot be reached: no sync runs and its users cannot sign in with their directory password. Start \`gatehouse connector\` on a host next to the directory, or see Connectors for why one stopped.`,
    };
  }
  if (lastRun?.status === 'failed') {
    const at = lastRun.finishedAt ?? lastRun.startedAt;
    return { kind: 'sync_failed', at, message: `The last sync of ${d.name} failed ${ago(at, now)}: ${lastRun.message ?? 'no reason was recorded.'}` };
  }
  return null;
}
