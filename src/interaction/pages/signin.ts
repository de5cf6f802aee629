// The sign-in pages: identifier, upstream, password, second factor and the refusals.
import { messages } from '../../selfservice/messages.ts';
import { hidden, html, layout, type Branding, type SafeHtml } from '../html.ts';
import type { MfaCause } from '../../policy/acr.ts';
import { appLine, errorBox, passkeyForm, type Common } from './common.ts';
import { currentLocale, t, th } from '../../i18n/index.ts';

export interface UpstreamButton {
  name: string;
  url: string;
}

const upstreamButtons = (buttons?: UpstreamButton[]) =>
  buttons?.length
    ? html`<div class="upstreams"><p class="or">${t('common.or')}</p>${buttons.map((b) => html`<a class="button secondary" href="${b.url}">${t('signin.withUpstream', { upstream: b.name })}</a>`)}</div>`
    : '';

export function identifierPage(
  o: Common & {
    email?: string;
    error?: string;
    buttons?: UpstreamButton[];
    passkey?: { options: unknown; action: string } /** the label and hint for what the tenant accepts (email, username or either) */;
    words?: { label: string; hint: string; emailOnly: boolean };
  },
): string {
  const words = o.words ?? { label: t('signin.email'), hint: t('signin.hint.email'), emailOnly: true };
  const passkey = o.passkey
    ? html`<div class="passwordless"><p class="or">${t('common.or')}</p>${passkeyForm({ action: o.passkey.action, csrf: o.csrf, options: o.passkey.options, mode: 'get', button: t('signin.withPasskey') })}</div>`
    : '';
  return layout({
    title: t('signin.title'),
    branding: o.branding,
    body: html`
<h1>${t('signin.title')}</h1>
${appLine(o.appName)}
<form method="post" action="${o.action}" novalidate>
${hidden('csrf', o.csrf)}
<label for="email">${words.label}</label>
<input id="email" name="email" type="${words.emailOnly ? 'email' : 'text'}" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus value="${o.email}" aria-describedby="identifier-hint${o.error ? ' form-error' : ''}"${o.error ? html` aria-invalid="true"` : ''}>
<p class="hint" id="identifier-hint">${words.hint}</p>
${errorBox(o.error)}
<button type="submit">${t('signin.next')}</button>
</form>
${passkey}
${upstreamButtons(o.buttons)}`,
  });
}

/**
 * An upstream directory signs this email in. With `passwordAction` (an administrator's
 * fallback, or Test mode) the local password is offered as well.
 */
export function upstreamPage(o: Common & { email: string; upstream: UpstreamButton; restartAction: string; passwordAction?: string; error?: string }): string {
  const password = o.passwordAction
    ? html`
<p class="or">${t('upstream.orPassword')}</p>
<form method="post" action="${o.passwordAction}" novalidate>
${hidden('csrf', o.csrf)}${hidden('email', o.email)}
<input type="email" name="username" autocomplete="username" value="${o.email}" hidden>
<label for="password">${t('common.password')}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${o.error ? html` aria-invalid="true" aria-describedby="form-error"` : ''}>
${errorBox(o.error)}
<button type="submit" class="secondary">${t('upstream.withPassword')}</button>
</form>`
    : errorBox(o.error);
  return layout({
    title: t('signin.withUpstream', { upstream: o.upstream.name }),
    branding: o.branding,
    body: html`
<h1>${t('signin.withUpstream', { upstream: o.upstream.name })}</h1>
${appLine(o.appName)}
<p class="who">${o.email}</p>
<p>${th('upstream.through', { upstream: html`<strong>${o.upstream.name}</strong>` })}</p>
<a class="button" id="continue-upstream" href="${o.upstream.url}">${t('upstream.continue', { upstream: o.upstream.name })}</a>
${password}
<p class="links"><a href="${o.restartAction}">${t('common.useAnotherAccount')}</a></p>`,
  });
}

export function passwordPage(
  o: Common & { email: string; error?: string; restartAction: string /** "Forgot your password?" (selfservice/routes.ts) */; forgotUrl?: string },
): string {
  return layout({
    title: t('password.title'),
    branding: o.branding,
    body: html`
<h1>${t('password.title')}</h1>
${appLine(o.appName)}
<p class="who">${o.email}</p>
<form method="post" action="${o.action}" novalidate>
${hidden('csrf', o.csrf)}${hidden('email', o.email)}
<input type="email" name="username" autocomplete="username" value="${o.email}" hidden>
<label for="password">${t('common.password')}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus${o.error ? html` aria-invalid="true" aria-describedby="form-error"` : ''}>
${errorBox(o.error)}
<button type="submit">${t('password.submit')}</button>
</form>
<p class="links">${o.forgotUrl ? html`<a href="${o.forgotUrl}">${messages.pages.forgotLink}</a> · ` : ''}<a href="${o.restartAction}">${t('common.useAnotherAccount')}</a></p>`,
  });
}

export function notDeployedPage(o: Common & { email: string }): string {
  return layout({
    title: t('notDeployed.title'),
    branding: o.branding,
    body: html`
<h1>${t('notDeployed.heading')}</h1>
<p>${th('notDeployed.message', { app: o.appName ? html`<strong>${o.appName}</strong>` : t('common.thisApp'), email: html`<strong>${o.email}</strong>` })}</p>
<p>${t('notDeployed.detail')}</p>
<form method="post" action="${o.action}">
${hidden('csrf', o.csrf)}
<button type="submit">${t('common.returnToApp')}</button>
</form>`,
  });
}

export function accountDisabledPage(o: Common & { email: string }): string {
  return layout({
    title: t('disabled.title'),
    branding: o.branding,
    body: html`
<h1>${t('disabled.heading')}</h1>
<p class="who">${o.email}</p>
<p>${t('disabled.message')}</p>
<form method="post" action="${o.action}">
${hidden('csrf', o.csrf)}
<button type="submit" class="secondary">${t('common.returnToApp')}</button>
</form>`,
  });
}

export interface PushPrompt {
  number: number | null;
  statusUrl: string;
  secondsLeft: number;
  devices: string[];
}

/**
 * The second-factor page: a push request waiting on the user's Gatehouse Authenticator (its
 * 2-digit number, or approve-only), a passkey button, and the code field (authenticator app,
 * the authenticator's token code, or a recovery code, depending on `kinds`).
 */
export function totpPage(
  o: Common & { email: string; error?: string; restartAction: string; passkeyOptions?: unknown; push?: PushPrompt; kinds?: string[]; rememberDays?: number },
): string {
  const kinds = o.kinds ?? ['totp'];
  const push = o.push
    ? html`<section class="push" data-push-status="${o.push.statusUrl}" data-push-form="push-form" data-seconds="${o.push.secondsLeft}">
<h2>${t('mfa.push.heading')}</h2>
<p>${t('mfa.push.sent', { devices: new Intl.ListFormat(currentLocale()).format(o.push.devices) })}</p>
${o.push.number !== null ? html`<p>${t('mfa.push.enterNumber')}</p>\n<p class="push-number" id="push-number">${o.push.number}</p>` : html`<p>${t('mfa.push.approve')}</p>`}
<p class="hint" id="push-countdown" aria-hidden="true">${t('mfa.push.expiresIn', { seconds: o.push.secondsLeft })}</p>
<p class="sr-only" id="push-status" role="status" aria-live="polite" data-ten-left="${t('mfa.push.tenLeft')}" data-expired="${t('mfa.push.expiredNow')}" data-expires-in="${t('mfa.push.expiresIn')}">${t('mfa.push.expiresIn', { seconds: o.push.secondsLeft })}</p>
<form method="post" action="${o.action}" id="push-form">
${hidden('csrf', o.csrf)}${hidden('push', '1')}
<button type="submit" class="secondary" id="push-continue">${t('mfa.push.continue')}</button>
</form>
</section>
<script type="module" src="/assets/push.js"></script>`
    : '';
  const label = kinds.includes('totp') ? t('mfa.label.totp') : kinds.includes('push') ? t('mfa.label.push') : t('mfa.label.recovery');
  const hint = [kinds.includes('totp') ? t('mfa.hint.totp') : '', kinds.includes('push') ? t('mfa.hint.push') : '', t('mfa.hint.recovery')]
    .filter(Boolean)
    .join(' ');
  const others = [o.passkeyOptions && 'passkey', o.push && 'push'].filter(Boolean).length;
  return layout({
    title: t('mfa.title'),
    branding: o.branding,
    body: html`
<h1>${t('mfa.title')}</h1>
${appLine(o.appName)}
<p class="who">${o.email}</p>
${push}
${o.passkeyOptions ? html`${o.push ? html`<p class="or">${t('common.or')}</p>` : ''}${passkeyForm({ action: o.action, csrf: o.csrf, options: o.passkeyOptions, mode: 'get', button: t('mfa.usePasskey') })}` : ''}
${others ? html`<p class="or">${t('mfa.orCode')}</p>` : ''}
<form method="post" action="${o.action}" id="code-form" novalidate>
${hidden('csrf', o.csrf)}
<label for="code">${label}</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="20" required${o.push ? '' : ' autofocus'}${o.error ? html` aria-invalid="true" aria-describedby="form-error"` : ''}>
<p class="hint">${hint}</p>
${errorBox(o.error)}
<button type="submit">${t('mfa.verify')}</button>
</form>
${o.rememberDays ? html`<p class="check"><input type="checkbox" id="remember" name="remember" value="1" form="code-form"> <label for="remember">${o.rememberDays === 1 ? t('mfa.rememberOne') : t('mfa.remember', { days: o.rememberDays })}</label></p>` : ''}
<p class="links"><a href="${o.restartAction}">${t('common.useAnotherAccount')}</a></p>`,
  });
}

/** A push request was denied, answered with the wrong number, or not answered in time: the sign-in starts over. */
export function pushEndedPage(o: { reason: string; restartAction: string; appName?: string; branding?: Branding }): string {
  const what: Record<string, string> = {
    denied: t('pushEnded.denied'),
    wrong_number: t('pushEnded.wrongNumber'),
    expired: t('pushEnded.expired'),
    used: t('pushEnded.used'),
    withdrawn: t('pushEnded.withdrawn'),
  };
  return layout({
    title: t('pushEnded.title'),
    branding: o.branding,
    body: html`
<h1>${t('pushEnded.title')}</h1>
${appLine(o.appName)}
<p id="push-ended">${what[o.reason] ?? what.expired}</p>
<p>${t('pushEnded.advice')}</p>
<a class="button" href="${o.restartAction}">${t('pushEnded.again')}</a>`,
  });
}

/** The app needs two-step verification and the user has not set it up yet. */
export function mfaSetupNeededPage(o: Common & { email: string; accountUrl: string; causes: MfaCause[]; acrValues?: string[] }): string {
  const app = o.appName ? html`<strong>${o.appName}</strong>` : t('common.thisApp');
  const values = (o.acrValues ?? []).join(' ');
  // Say why, as it is: the app's setting, the user's policy, or what the app asked for.
  const why: Record<MfaCause, SafeHtml> = {
    app: th('mfaSetup.app', { app }),
    policy: th('mfaSetup.policy', {}),
    acr_values: th('mfaSetup.acrValues', { app, values }),
    acr_claim: th('mfaSetup.acrClaim', { app, values }),
  };
  const reasons = o.causes.length
    ? o.causes.map((c) => html`<p class="cause" data-cause="${c}">${why[c]}</p>`)
    : html`<p>${th('mfaSetup.required', { app })}</p>`;
  return layout({
    title: t('mfaSetup.title'),
    branding: o.branding,
    body: html`
<h1>${t('mfaSetup.title')}</h1>
<p class="who">${o.email}</p>
${reasons}
<p>${t('mfaSetup.notSetUp')}</p>
<a class="button" href="${o.accountUrl}">${t('mfaSetup.setUp')}</a>
<p class="hint">${t('mfaSetup.then')}</p>
<form method="post" action="${o.action}">
${hidden('csrf', o.csrf)}
<button type="submit" class="secondary">${t('common.returnToApp')}</button>
</form>`,
  });
}

export function ssoDisabledPage(o: Common): string {
  return layout({
    title: t('sso.title'),
    branding: o.branding,
    body: html`
<h1>${t('sso.heading')}</h1>
<p>${t('sso.message')}</p>
<p>${t('sso.detail')}</p>
<form method="post" action="${o.action}">
${hidden('csrf', o.csrf)}
<button type="submit" class="secondary">${t('common.returnToApp')}</button>
</form>`,
  });
}
