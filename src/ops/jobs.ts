// Background work on a timer: purge expired engine artifacts and old retired keys, and warn
// about signing certificates close to expiry. Each run is idempotent, so a missed or doubled
// run does no harm.
import type { Context } from '../context.ts';
import { purgeExpired } from '../oidc/adapters/sql.ts';

const HOUR = 3600_000;

export async function runMaintenance(app: Context): Promise<{ purged: number; keysPurged: number; expiring: number }> {
  const purged = await purgeExpired(app.database.db);
  const keysPurged = await app.keys.purgeRetired();
  const expiring = await app.keys.expiringSoon();
  for (const k of expiring) {
    await app.audit.record({ tenantId: k.tenantId, type: 'keys.certificate_expiring', level: 'warn', subject: k.kid, data: { kid: k.kid, alg: k.alg, notAfter: new Date(k.notAfter).toISOString() } });
  }
  if (keysPurged) app.engines.invalidate();
  return { purged, keysPurged, expiring: expiring.length };
}

export function startJobs(app: Context): { stop(): void } {
  const run = () => runMaintenance(app).catch((err) => app.logger.warn({ err }, 'maintenance run failed; it will be retried'));
  const first = setTimeout(run, 5_000);
  const every = setInterval(run, HOUR);
  first.unref();
  every.unref();
  return { stop: () => { clearTimeout(first); clearInterval(every); } };
}
