// Background work on a timer: purge expired engine artifacts and old retired keys, warn
// about signing certificates close to expiry, and check upstream directories' discovery. It runs on one node of a cluster, the leader
// (see leader.ts), and moves with the leadership. Each run is idempotent, so a run repeated
// by a new leader does no harm.
import type { Services } from '../services.ts';
import { purgeExpired } from '../oidc/adapters/sql.ts';
import { purgeThrottleCounters } from '../storage/throttle-counters.ts';
import { FAMILIAR_ADDRESS_DAYS } from '../interaction/lockout.ts';

const HOUR = 3600_000;

export async function runMaintenance(app: Services): Promise<{ purged: number; keysPurged: number; expiring: number }> {
  const purged = await purgeExpired(app.database.db) + await app.sessionService.store.purgeExpired();
  await purgeThrottleCounters(app.database.db);
  await app.signinAddressStore.purge(Date.now() - FAMILIAR_ADDRESS_DAYS * 24 * HOUR);
  await app.pushService.store.purge(Date.now());
  await app.mfaStore.purgeRemembered();
  const keysPurged = await app.keyService.purgeRetired();
  const expiring = await app.keyService.expiringSoon();
  for (const k of expiring) {
    await app.auditStore.record({ tenantId: k.tenantId, type: 'keys.certificate_expiring', level: 'warn', subject: k.kid, data: { kid: k.kid, alg: k.alg, notAfter: new Date(k.notAfter).toISOString() } });
  }
  if (keysPurged) app.engineCache.invalidate();
  // Upstream directories' discovery, re-checked hourly, so a broken one shows on the overview
  // before people fail to sign in through it.
  await app.federationService.checkAll().catch((err: unknown) => app.logger.warn({ err }, 'checking the upstream directories failed; it will be retried'));
  return { purged, keysPurged, expiring: expiring.length };
}

export function startJobs(app: Services): { stop(): void } {
  const run = () => runMaintenance(app).catch((err) => app.logger.warn({ err }, 'maintenance run failed; it will be retried'));
  // Directory syncs that are due (each directory's own interval) are looked for every minute.
  const syncs = () => app.ldapService.scheduled().catch((err) => app.logger.warn({ err }, 'directory sync scheduling failed; it will be retried'));
  let first: NodeJS.Timeout | undefined;
  let every: NodeJS.Timeout | undefined;
  let directories: NodeJS.Timeout | undefined;
  const stopTimers = () => { clearTimeout(first); clearInterval(every); clearInterval(directories); first = every = directories = undefined; };
  app.leadership.onChange((leader) => {
    app.metrics.schedulerLeader.set(leader ? 1 : 0);
    stopTimers();
    if (!leader) return;
    first = setTimeout(run, 5_000);
    every = setInterval(run, HOUR);
    directories = setInterval(syncs, 60_000);
    first.unref();
    every.unref();
    directories.unref();
  });
  return { stop: stopTimers };
}
