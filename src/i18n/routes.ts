// The language picker's endpoint: GET /lang?set=<language>&back=<path on this server>. It
// keeps the choice in this browser (gh_lang, a session cookie: the person's word for this
// visit) and sends the browser back to the page it came from, in the new language. A plain
// link, so pages need no script. It changes nothing but the language of this browser's pages
// (the saved choice of a signed-in user is changed by the account page's form, with its CSRF
// check), so a forged link can do no more than switch the language.
import Router from '@koa/router';
import type http from 'node:http';
import type { Services } from '../services.ts';
import { messagePage } from '../interaction/pages.ts';
import { isLocale, LOCALE_NAMES, LOCALES, t, type LocaleScope } from './index.ts';

export const PICKED_COOKIE = 'gh_lang';

/** A way back that stays on this server: a path (not `//host` or `/\host`, which browsers read as another host). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters in the path is the point
const CONTROL_OR_BACKSLASH = /[\u0000-\u001f\u007f\\]/;
export const isLocalPath = (v: unknown): v is string => typeof v === 'string' && v.length <= 2000 && /^\/(?![/\\])/.test(v) && !CONTROL_OR_BACKSLASH.test(v);

/** What the request itself says about its language: the picker's cookie and Accept-Language. */
export function requestLocaleInputs(req: http.IncomingMessage): LocaleScope {
  const cookie = /(?:^|;\s*)gh_lang=([a-z]{2})(?:;|$)/.exec(req.headers.cookie ?? '')?.[1];
  const accept = req.headers['accept-language'];
  return { picked: isLocale(cookie) ? cookie : undefined, acceptLanguage: Array.isArray(accept) ? accept.join(',') : accept };
}

export function languageRouter(services: Services): Router {
  const router = new Router();
  router.get('/lang', (ctx) => {
    const { set, back } = ctx.query;
    if (!isLocale(set) || !isLocalPath(back)) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = messagePage({
        title: t('error.language.title'),
        message: t('error.language.message', { languages: LOCALES.map((l) => `${l} (${LOCALE_NAMES[l]})`).join(', ') }),
      });
      return;
    }
    ctx.cookies.set(PICKED_COOKIE, set, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: services.config.publicUrl.startsWith('https:'),
      signed: false,
      overwrite: true,
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(back);
  });
  return router;
}
