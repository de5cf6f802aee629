// Background work on a timer: signing key lifecycle (fresh next keys, rotation when due,
// retired keys removed once their tokens expired), warn about signing certificates close to
// expiry, and check upstream directories' discovery. It runs on one node of a cluster, the leader
// (see leader.ts), and moves with the leadership. Each run is idempotent, so a run repeated
// by a new leader does no harm.
import type { Services } from '../services.ts';
import { purgeExpired } from '../oidc/adapters/sql.ts';
import { purgeThrottleCounters } from '../storage/throttle-counters.ts';
import { FAMILIAR_ADDRESS_DAYS } from '../interaction/lockout.ts';
import { changedKeys } from '../keys/keys.ts';

const HOUR = 3600_000;

/**
 * The signing key lifecycle for every tenant (keys/keys.ts, maintain): run at start and hourly
 * on the leader. A tenant whose keys fail is logged and retried on the next run; the others go on.
 */
export async function runKeyMaintenance(services: Services): Promise<{ rotated: number; published: number }> {
  let rotated = 0,
    published = 0;
  for (const tenantId of await services.keyService.tenantIds()) {
    try {
      const r = await services.keyService.maintain(tenantId);
      if (!changedKeys(r)) continue;
      rotated += r.activated.length;
      published += r.created.length;
      await services.engineCache.invalidateTenantId(tenantId);
      if (r.activated.length)
        await services.auditStore.record({
          tenantId,
          type: 'keys.rotated',
          subject: r.activated.join(','),
          data: { activated: r.activated, retired: r.retired, created: r.created, automatic: true },
        });
      if (r.removed.length)
        await services.auditStore.record({
          tenantId,
          type: 'keys.next_replaced',
          subject: r.created.join(','),
          data: { removed: r.removed, created: r.created, scheduled: r.scheduled.map((s) => ({ ...s, activatesAt: new Date(s.activatesAt).toISOString() })) },
        });
    } catch (err) {
      services.logger.error({ err, tenantId }, 'the signing key lifecycle failed for a tenant; it will be retried within the hour');
    }
  }
  return { rotated, published };
}

export async function runMaintenance(services: Services): Promise<{ purged: number; keysPurged: number; expiring: number }> {
  const purged = (await purgeExpired(services.database.db)) + (await services.sessionService.store.purgeExpired());
  await purgeThrottleCounters(services.database.db);
  // Shared-device sessions past their shift: tokens revoked, apps told (back-channel logout).
  await services.deviceSessionService
    .endExpired()
    .catch((err: unknown) => services.logger.warn({ err }, 'ending expired device sessions failed; it will be retried'));
  await services.signinAddressStore.purge(Date.now() - FAMILIAR_ADDRESS_DAYS * 24 * HOUR);
  await services.pushService.store.purge(Date.now());
  await services.mfaStore.purgeRemembered();
  await runKeyMaintenance(services);
  await services.samlService.purgeSeen();
  await services.userLinkStore.purge();
  await services.mailService.store.purge(Date.now() - 7 * 24 * HOUR);
  const keysPurged = await services.keyService.purgeRetired();
  const expiring = await services.keyService.expiringSoon();
  for (const k of expiring) {
    await services.auditStore.record({
      tenantId: k.tenantId,
      type: 'keys.certificate_expiring',
      level: 'warn',
      subject: k.kid,
      data: { kid: k.kid, alg: k.alg, notAfter: new Date(k.notAfter).toISOString() },
    });
  }
  if (keysPurged) services.engineCache.invalidate();
  // Upstream directories' discovery, re-checked hourly, so a broken one shows on the overview
  // before people fail to sign in through it.
  await services.federationService
    .checkAll()
    .catch((err: unknown) => services.logger.warn({ err }, 'checking the upstream directories failed; it will be retried'));
  return { purged, keysPurged, expiring: expiring.length };
}

export function startJobs(services: Services): { stop(): void } {
  const run = () => runMaintenance(services).catch((err) => services.logger.warn({ err }, 'maintenance run failed; it will be retried'));
  // Every minute: directory syncs that are due (each directory's own interval), and shared-device
  // sessions whose shift just ended (their tokens revoked and apps told within a minute, not
  // at the next hourly run).
  let ending: Promise<unknown> | undefined;
  const syncs = () => {
    void services.ldapService.scheduled().catch((err) => services.logger.warn({ err }, 'directory sync scheduling failed; it will be retried'));
    // One at a time: a slow back-channel receiver must not have two runs tell it twice.
    if (ending) return;
    ending = services.deviceSessionService
      .endExpired()
      .catch((err: unknown) => services.logger.warn({ err }, 'ending expired device sessions failed; it will be retried'))
      .finally(() => {
        ending = undefined;
      });
  };
  let first: NodeJS.Timeout | undefined;
  let every: NodeJS.Timeout | undefined;
  let directories: NodeJS.Timeout | undefined;
  // Queued mail (and retries that are due) is looked for every 10 seconds; a message queued on
  // the leader is sent at once (selfservice/mail.ts).
  const mail = () => services.mailService.deliverDue().catch((err) => services.logger.warn({ err }, 'sending queued mail failed; it will be retried'));
  let mailer: NodeJS.Timeout | undefined;
  const stopTimers = () => {
    clearTimeout(first);
    clearInterval(every);
    clearInterval(directories);
    clearInterval(mailer);
    first = every = directories = mailer = undefined;
  };
  services.leadership.onChange((leader) => {
    services.metrics.schedulerLeader.set(leader ? 1 : 0);
    stopTimers();
    if (!leader) return;
    // Keys first and at once: a data dir that was stopped for months may hold an active key
    // close to expiry, and its fresh next key's publication period starts when it is published.
    void runKeyMaintenance(services).catch((err) => services.logger.warn({ err }, 'the signing key lifecycle failed; it will be retried'));
    first = setTimeout(run, 5_000);
    every = setInterval(run, HOUR);
    directories = setInterval(syncs, 60_000);
    mailer = setInterval(mail, 10_000);
    mailer.unref();
    void mail();
    first.unref();
    every.unref();
    directories.unref();
  });
  return { stop: stopTimers };
}
