// "Return to the application" from a refusal page: the engine's interaction ends with
// access_denied, described by the reason the page signed (../abort.ts), or neutrally when the
// signature does not match.
import type Router from '@koa/router';
import { safeEqual } from '../../shared/crypto.ts';
import { acrRequestOf } from '../../policy/acr.ts';
import { abortDescription } from '../abort.ts';
import type { Flow } from '../flow.ts';

export function registerAbort(router: Router, flow: Flow): void {
  router.post('/abort', async (ctx) => {
    const it = await flow.load(ctx);
    if (!it || !flow.checkCsrf(ctx)) return;
    const reason = typeof ctx.query.reason === 'string' ? ctx.query.reason : '';
    const sig = typeof ctx.query.sig === 'string' ? ctx.query.sig : '';
    const signed = reason !== '' && safeEqual(sig, flow.abortSig(it.details.uid, reason));
    await flow.finish(ctx, it.provider, {
      error: 'access_denied',
      error_description: abortDescription(signed ? reason : undefined, acrRequestOf(it.details.params)),
    });
  });
}
