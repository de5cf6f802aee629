// HTTP for the one-time first-administrator link.
import Router from '@koa/router';
import { z } from 'zod';
import type { Services } from '../services.ts';
import { safeEqual } from '../shared/crypto.ts';
import { messagePage, setupPage } from '../interaction/pages.ts';
import { redeemSetupLink, setupLinkValid } from './bootstrap.ts';

const form = z.object({ email: z.email().max(254), password: z.string().min(12).max(256), csrf: z.string() });

export function setupRouter(services: Services): Router {
  const router = new Router();
  const csrfFor = (token: string) => services.sealer.mac(`setup:${token}`);
  const gone = {
    title: 'Link not valid',
    message: 'This setup link has expired or was already used.',
    detail: 'Restart Gatehouse without an administrator to get a new link, or set GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL and GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD.',
  };

  router.get('/setup/:token', async (ctx) => {
    const token = ctx.params.token!;
    if (!(await setupLinkValid(services, token))) {
      ctx.status = 410;
      ctx.body = messagePage(gone);
      return;
    }
    ctx.body = setupPage({ action: `/setup/${token}`, csrf: csrfFor(token) });
  });

  router.post('/setup/:token', async (ctx) => {
    const token = ctx.params.token!;
    const parsed = form.safeParse(ctx.request.body);
    if (!parsed.success || !safeEqual(parsed.data.csrf, csrfFor(token))) {
      ctx.status = 400;
      const body = (ctx.request.body ?? {}) as Record<string, unknown>;
      ctx.body = setupPage({
        action: `/setup/${token}`,
        csrf: csrfFor(token),
        email: typeof body.email === 'string' ? body.email.slice(0, 254) : '',
        error: 'Enter a valid email and a password of at least 12 characters.',
      });
      return;
    }
    if ((await redeemSetupLink(services, token, parsed.data.email, parsed.data.password)) !== 'ok') {
      ctx.status = 410;
      ctx.body = messagePage(gone);
      return;
    }
    ctx.body = messagePage({
      title: 'Administrator created',
      message: `${parsed.data.email} is now a superadministrator of Gatehouse.`,
      detail: `Sign in to the admin console at ${services.config.publicUrl}/console, or use these credentials with the gatehouse CLI (GATEHOUSE_ADMIN_EMAIL / GATEHOUSE_ADMIN_PASSWORD) or the admin API.`,
    });
  });
  return router;
}
