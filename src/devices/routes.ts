// Check-in by the device (OpenID Connect Native SSO on shared devices): the check-out app (or
// an MDM) POSTs its client_id and the device secret to <issuer>/device/checkin when the device
// is handed back; the device session ends (devices/service.ts). Answers 204, also when the
// session had already ended (a retried check-in is not an error); a secret this tenant never
// issued, or one presented by an app of another device SSO group, is refused.
import Router from '@koa/router';
import type { Services } from '../services.ts';

const MAX_FIELD = 500;

export function deviceRouter(services: Services): Router {
  const router = new Router({ prefix: '/t/:slug' });
  router.post('/device/checkin', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const refuse = (status: number, error: string, description: string) => {
      ctx.status = status;
      ctx.body = { error, error_description: description };
    };
    const tenant = await services.tenantStore.bySlug(ctx.params.slug!);
    if (!tenant) return refuse(404, 'not_found', `There is no organization "${ctx.params.slug}" on this Gatehouse.`);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const clientId = body.client_id,
      secret = body.device_secret;
    if (typeof clientId !== 'string' || typeof secret !== 'string' || !clientId || !secret || clientId.length > MAX_FIELD || secret.length > MAX_FIELD) {
      return refuse(400, 'invalid_request', 'Send client_id and device_secret as form fields (application/x-www-form-urlencoded), once each.');
    }
    const app = await services.clientCache.get(tenant.id, clientId);
    if (app?.type !== 'native' || !app.deviceSsoGroup)
      return refuse(400, 'unauthorized_client', 'This client_id is not a native app in a device SSO group, so it cannot check a device in.');
    const session = await services.deviceSessionService.bySecret(tenant, secret);
    if (!session || session.group !== app.deviceSsoGroup)
      return refuse(
        400,
        'invalid_grant',
        'The device secret is not valid for this app. An administrator can check the device in from the console (Sessions, Devices).',
      );
    await services.deviceSessionService.end(tenant, session.id, { by: `client:${clientId}`, why: 'checkin' });
    ctx.status = 204;
  });
  return router;
}
