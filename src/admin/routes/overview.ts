// The console's overview: counts, recent sign-in failures, and alerts (an IdP certificate
// expiring within 60 days, an app's registered certificate within 90, as in the reference;
// an upstream directory whose discovery check failed; a user's phone flooded with push requests
// in the last 24 hours).
import { z } from 'zod';
import { EXPIRY_WARNING_DAYS } from '../../keys/keys.ts';
import { APP_CERT_WARNING_DAYS } from '../../apps/jwks.ts';
import { auditEvent } from '../schemas.ts';
import { route } from '../route.ts';

const DAY = 24 * 3600_000;
/** Push floods are shown as alerts for a day. */
const PUSH_FLOOD_ALERT_MS = DAY;
const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const daysLeft = (ms: number, now: number) => Math.ceil((ms - now) / DAY);

/** The audit event types that count as a failed sign-in. */
export const SIGNIN_FAILURES = ['signin.failed', 'signin.throttled', 'signin.locked', 'mfa.push_flood', 'mfa.failed', 'mfa.throttled', 'federation.claim_refused', 'federation.link_refused', 'federation.error', 'authorization.not_deployed'];

const alert = z.object({
  level: z.enum(['warn', 'error']).describe('error: already expired'),
  kind: z.enum(['idp_certificate_expiring', 'app_certificate_expiring', 'upstream_discovery_failed', 'push_flood']),
  message: z.string(),
  subject: z.string().optional().describe('the key ID, the app\'s client ID, the upstream\'s ID, or the user ID (push_flood)'),
  at: z.number().int().optional().describe('when it happened (push_flood)'),
  expiresAt: z.number().int().optional(),
});

export const overviewRoutes = [
  route({
    id: 'getOverview', method: 'get', path: '/tenants/:slug/overview', tag: 'overview', access: ['admin', 'helpdesk', 'auditor'],
    summary: 'Counts, the ten most recent sign-in failures, and alerts (certificates expiring, upstream directories failing their check, push floods in the last 24 hours)',
    response: z.object({
      counts: z.object({ users: z.number().int(), groups: z.number().int(), apps: z.number().int(), deployedApps: z.number().int(), activeSessions: z.number().int() }),
      recentFailures: z.array(auditEvent),
      alerts: z.array(alert),
    }),
    async handler({ services, tenant }) {
      const now = Date.now();
      const [users, groups, apps, activeSessions, failures, keys, appCerts, upstreams, checks, floods] = await Promise.all([
        services.userStore.countUsers(tenant.id), services.userStore.countGroups(tenant.id), services.appStore.counts(tenant.id), services.sessionService.count(tenant.id),
        services.auditStore.query({ tenantId: tenant.id, types: SIGNIN_FAILURES, limit: 10 }),
        services.keyService.expiringSoon(tenant.id, EXPIRY_WARNING_DAYS),
        services.appStore.certificatesExpiringBefore(tenant.id, now + APP_CERT_WARNING_DAYS * DAY),
        services.upstreamStore.list(tenant.id), services.upstreamStore.checks(tenant.id),
        services.auditStore.query({ tenantId: tenant.id, type: 'mfa.push_flood', since: now - PUSH_FLOOD_ALERT_MS, limit: 20 }),
      ]);
      const alerts: Array<z.input<typeof alert>> = [];
      for (const k of keys) {
        const expired = k.notAfter <= now;
        alerts.push({
          level: expired ? 'error' : 'warn', kind: 'idp_certificate_expiring', subject: k.kid, expiresAt: k.notAfter,
          message: expired
            ? `The IdP certificate of ${k.status} signing key ${k.kid} (${k.alg}) expired on ${dateOf(k.notAfter)}. Rotate the keys now.`
            : `The IdP certificate of ${k.status} signing key ${k.kid} (${k.alg}) expires on ${dateOf(k.notAfter)}, in ${daysLeft(k.notAfter, now)} days. Rotate the keys before then.`,
        });
      }
      for (const a of appCerts) {
        const at = a.certificateExpiresAt!;
        const expired = at <= now;
        alerts.push({
          level: expired ? 'error' : 'warn', kind: 'app_certificate_expiring', subject: a.clientId, expiresAt: at,
          message: expired
            ? `The certificate ${a.displayName} registered expired on ${dateOf(at)}. Register its new keys in the application profile.`
            : `The certificate ${a.displayName} registered expires on ${dateOf(at)}, in ${daysLeft(at, now)} days. Register its new keys in the application profile before then.`,
        });
      }
      // An upstream whose last discovery check failed (hourly, or an administrator's Test):
      // found here rather than by the people who cannot sign in through it.
      for (const u of upstreams) {
        const c = checks.get(u.id);
        if (u.mode === 'disabled' || !c || c.ok) continue;
        alerts.push({
          level: 'error', kind: 'upstream_discovery_failed', subject: u.id,
          message: `The upstream directory ${u.name} failed its discovery check at ${new Date(c.checkedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC: ${c.message} People it signs in cannot sign in until it answers; use Test on its page to check again.`,
        });
      }
      for (const f of floods.items) {
        alerts.push({ level: 'warn', kind: 'push_flood', subject: f.userId ?? undefined, at: f.at, message: `${typeof f.data.message === 'string' ? f.data.message : `Too many approval requests were sent to ${String(f.data.email)}'s phone.`} (${new Date(f.at).toISOString().slice(0, 16).replace('T', ' ')} UTC)` });
      }
      return {
        counts: { users, groups, apps: apps.apps, deployedApps: apps.deployed, activeSessions },
        recentFailures: failures.items,
        alerts,
      };
    },
  }),
];
