// The console's overview: counts, recent sign-in failures, and alerts (an IdP certificate
// expiring within 60 days, an app's registered certificate within 90, as in the reference;
// an upstream directory whose discovery check failed; an LDAP directory that is down, a
// connector that is not connected; a user's phone flooded with push requests in the last 24 hours).
import type { z } from 'zod';
import { EXPIRY_WARNING_DAYS } from '../../keys/keys.ts';
import { APP_CERT_WARNING_DAYS } from '../../apps/jwks.ts';
import { route } from '../route.ts';
import { overview, type overviewAlert as alert } from '../shapes.ts';
import { ago } from '../../shared/time.ts';
import { directoryProblem } from '../../directory/health.ts';

const DAY = 24 * 3600_000;
const daysLeft = (ms: number, now: number) => Math.ceil((ms - now) / DAY);
/** Push floods are shown as alerts for a day. */
const PUSH_FLOOD_ALERT_MS = DAY;

/** The audit event types that count as a failed sign-in. */
export const SIGNIN_FAILURES = [
  'signin.failed',
  'signin.throttled',
  'signin.locked',
  'mfa.push_flood',
  'mfa.failed',
  'mfa.throttled',
  'federation.claim_refused',
  'federation.link_refused',
  'federation.error',
  'authorization.not_deployed',
];

export const overviewRoutes = [
  route({
    id: 'getOverview',
    method: 'get',
    path: '/tenants/:slug/overview',
    tag: 'overview',
    access: ['admin', 'helpdesk', 'auditor'],
    summary:
      'Counts, the ten most recent sign-in failures, and alerts (certificates, upstream directories failing their check, directories and connectors down, push floods in the last 24 hours)',
    response: overview,
    async handler({ services, tenant }) {
      const now = Date.now();
      const [users, groups, apps, activeSessions, failures, keys, appCerts, upstreams, checks, directories, connectors, floods] = await Promise.all([
        services.userStore.countUsers(tenant.id),
        services.userStore.countGroups(tenant.id),
        services.appStore.counts(tenant.id),
        services.sessionService.count(tenant.id),
        services.auditStore.query({ tenantId: tenant.id, types: SIGNIN_FAILURES, limit: 10 }),
        services.keyService.expiringSoon(tenant.id, EXPIRY_WARNING_DAYS),
        services.appStore.certificatesExpiringBefore(tenant.id, now + APP_CERT_WARNING_DAYS * DAY),
        services.upstreamStore.list(tenant.id),
        services.upstreamStore.checks(tenant.id),
        services.ldapStore.list(tenant.id),
        services.connectorHub.status(tenant.id),
        services.auditStore.query({ tenantId: tenant.id, type: 'mfa.push_flood', since: now - PUSH_FLOOD_ALERT_MS, limit: 20 }),
      ]);
      const alerts: Array<z.input<typeof alert>> = [];
      for (const k of keys) {
        const expired = k.notAfter <= now;
        alerts.push({
          level: expired ? 'error' : 'warn',
          kind: 'idp_certificate_expiring',
          subject: k.kid,
          expiresAt: k.notAfter,
          message: expired
            ? `The IdP certificate of ${k.status} signing key ${k.kid} (${k.alg}) expired ${ago(k.notAfter, now)}. Rotate the keys now.`
            : `The IdP certificate of ${k.status} signing key ${k.kid} (${k.alg}) expires in ${daysLeft(k.notAfter, now)} days. Rotate the keys before then.`,
        });
      }
      for (const a of appCerts) {
        const at = a.certificateExpiresAt!;
        const expired = at <= now;
        alerts.push({
          level: expired ? 'error' : 'warn',
          kind: 'app_certificate_expiring',
          subject: a.clientId,
          expiresAt: at,
          message: expired
            ? `The certificate ${a.displayName} registered expired ${ago(at, now)}. Register its new keys in the application profile.`
            : `The certificate ${a.displayName} registered expires in ${daysLeft(at, now)} days. Register its new keys in the application profile before then.`,
        });
      }
      // An upstream whose last discovery check failed (hourly, or an administrator's Test):
      // found here rather than by the people who cannot sign in through it.
      for (const u of upstreams) {
        const c = checks.get(u.id);
        if (u.mode === 'disabled' || !c || c.ok) continue;
        alerts.push({
          level: 'error',
          kind: 'upstream_discovery_failed',
          subject: u.id,
          at: c.checkedAt,
          message: `The upstream directory ${u.name} failed its discovery check ${ago(c.checkedAt, now)}: ${c.message} People it signs in cannot sign in until it answers; use Test on its page to check again.`,
        });
      }
      // A directory that is down (its last sync failed, or no connector reaches it), and a
      // connector that dropped: raised here, not only at the bottom of the directory's page.
      const connected = connectors.filter((c) => c.status === 'connected').length;
      for (const d of directories) {
        const [last] = await services.ldapStore.runs(d.id, 1);
        const problem = directoryProblem(d, last, connected, now);
        if (problem)
          alerts.push({ level: 'error', kind: 'directory_down', subject: d.id, message: problem.message, ...(problem.at !== null && { at: problem.at }) });
      }
      for (const c of connectors) {
        if (c.status !== 'disconnected') continue;
        alerts.push({
          level: 'warn',
          kind: 'connector_down',
          subject: c.id,
          ...(c.lastSeenAt !== null && { at: c.lastSeenAt }),
          message: `Connector ${c.name}: ${c.recommendedFix ?? 'not connected.'}`,
        });
      }
      for (const f of floods.items) {
        const message = typeof f.data.message === 'string' ? f.data.message : `Too many approval requests were sent to ${String(f.data.email)}'s phone.`;
        alerts.push({ level: 'warn', kind: 'push_flood', subject: f.userId ?? undefined, at: f.at, message });
      }
      return {
        counts: { users, groups, apps: apps.apps, deployedApps: apps.deployed, activeSessions },
        recentFailures: failures.items,
        alerts,
      };
    },
  }),
];
