// HTTP for the sign-in experience, one file per step under steps/ (Kerberos, identifier-first,
// password, a password change the administrator requires, passwordless passkeys, the second factor, upstream directories, turning back from
// a refusal), sharing what flow.ts holds. Rules live in signin.ts, mfa/ and
// federation/upstreams.ts. A new step is a file in steps/ registered below.
import Router from '@koa/router';
import type { Services } from '../services.ts';
import { createFlow } from './flow.ts';
import { registerNegotiate } from './steps/negotiate.ts';
import { registerIdentify } from './steps/identify.ts';
import { registerPassword } from './steps/password.ts';
import { registerPasskey } from './steps/passkey.ts';
import { registerSecondFactor } from './steps/second-factor.ts';
import { registerUpstream } from './steps/upstream.ts';
import { registerAbort } from './steps/abort.ts';
import { registerChangePassword } from './steps/change-password.ts';

export function interactionRouter(services: Services): Router {
  const router = new Router({ prefix: '/t/:slug/interaction/:uid' });
  const flow = createFlow(services);
  // Negotiate first: it answers the start page's request itself, or wraps identify's answer.
  for (const step of [
    registerNegotiate,
    registerIdentify,
    registerPassword,
    registerPasskey,
    registerSecondFactor,
    registerUpstream,
    registerAbort,
    registerChangePassword,
  ])
    step(router, flow);
  return router;
}
