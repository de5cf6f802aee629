// Pieces and pages every audience sees: the app line, the error box, the passkey form, the
// message page, the engine's sign-out page and the first administrator's setup page.
import { hidden, html, jsonScript, layout, unsafeRaw, type Branding, type SafeHtml } from '../html.ts';
import { t, th } from '../../i18n/index.ts';

export interface Common {
  branding?: Branding;
  appName?: string;
  csrf: string;
  action: string;
}

export const appLine = (appName?: string) => (appName ? html`<p class="app">${th('common.appLine', { app: html`<strong>${appName}</strong>` })}</p>` : '');
export const errorBox = (error?: string) => (error ? html`<p class="error" role="alert" id="form-error">${error}</p>` : '');

export function messagePage(o: { title: string; message: string; detail?: string; branding?: Branding }): string {
  return layout({
    title: o.title,
    branding: o.branding,
    body: html`
<h1>${o.title}</h1>
<p>${o.message}</p>
${o.detail ? html`<p class="links">${o.detail}</p>` : ''}`,
  });
}

export function logoutPage(o: { form: string; branding?: Branding; appName?: string }): string {
  // The engine's form carries its own anti-forgery token (xsrf).
  return layout({
    title: t('logout.title'),
    branding: o.branding,
    body: html`
${unsafeRaw("oidc-provider's logoutSource form: the engine's own markup, its action and xsrf value", o.form)}
<h1>${t('logout.title')}</h1>
<p>${o.appName ? t('logout.questionApp', { app: o.appName }) : t('logout.question')}</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes">${t('logout.yes')}</button>
<button type="submit" form="op.logoutForm" class="secondary">${t('logout.no')}</button>`,
  });
}

export function setupPage(o: { action: string; csrf: string; email?: string; error?: string }): string {
  return layout({
    title: 'Create the first administrator',
    body: html`
<h1>Create the first administrator</h1>
<p>This link works once. The account you create here is a superadministrator of Gatehouse.</p>
<form method="post" action="${o.action}" novalidate>
${hidden('csrf', o.csrf)}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${o.email}">
<label for="password">Password (at least 12 characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="12">
${errorBox(o.error)}
<button type="submit">Create administrator</button>
</form>`,
  });
}

export function passkeyForm(o: { action: string; csrf: string; options: unknown; mode: 'create' | 'get'; button: string; label?: boolean }): SafeHtml {
  return html`${jsonScript('webauthn-options', o.options)}
<form method="post" action="${o.action}" data-webauthn="${o.mode}" data-options="webauthn-options" data-not-used="${t('passkey.notUsed')}">
${hidden('csrf', o.csrf)}<input type="hidden" name="credential" value="">
${o.label ? html`<label for="passkey-label">${t('common.name')}</label>\n<input id="passkey-label" name="label" type="text" maxlength="60" value="${t('enroll.passkey.defaultName')}">` : ''}
<button type="submit" hidden>${o.button}</button>
<p class="hint" data-webauthn-status role="status"></p>
</form>
<script type="module" src="/assets/webauthn.js"></script>`;
}
