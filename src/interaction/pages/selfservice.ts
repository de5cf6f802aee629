// Self-service pages (issue 17): forgot password, choose a new password from a reset link,
// confirm an email address. Their words live in selfservice/messages.ts.
import { hidden, html, layout, type Branding } from '../html.ts';
import { errorBox } from './common.ts';
import { messages } from '../../selfservice/messages.ts';
import { MIN_PASSWORD_LENGTH } from '../../directory/passwords.ts';

const t = messages.pages;

export function forgotPage(o: { branding?: Branding; action: string; back?: string; identifier?: string; error?: string }): string {
  return layout({
    title: t.forgot.title,
    branding: o.branding,
    body: html`
<h1>${t.forgot.title}</h1>
<p>${t.forgot.intro}</p>
<form method="post" action="${o.action}" novalidate>
<label for="identifier">${t.forgot.label}</label>
<input id="identifier" name="identifier" type="text" autocomplete="username" required autofocus value="${o.identifier ?? ''}">
${errorBox(o.error)}
<button type="submit">${t.forgot.button}</button>
</form>
${o.back ? html`<p class="links"><a href="${o.back}">${t.forgot.back}</a></p>` : ''}`,
  });
}

export function forgotSentPage(o: { branding?: Branding; again: string }): string {
  return layout({
    title: t.forgot.sentTitle,
    branding: o.branding,
    body: html`
<h1>${t.forgot.sentTitle}</h1>
<p>${t.forgot.sent}</p>
<p class="links">${t.forgot.sentDetail} <a href="${o.again}">${t.forgot.button}</a></p>`,
  });
}

/** The new-password form: from a reset link (token), or a change the administrator requires (csrf). */
export function newPasswordPage(o: {
  branding?: Branding;
  action: string;
  token?: string;
  csrf?: string;
  who?: string;
  error?: string;
  intro?: string;
}): string {
  const invalid = o.error ? html` aria-invalid="true" aria-describedby="form-error rules"` : html` aria-describedby="rules"`;
  return layout({
    title: t.reset.title,
    branding: o.branding,
    body: html`
<h1>${t.reset.title}</h1>
${o.intro ? html`<p>${o.intro}</p>` : ''}
${o.who ? html`<p class="who">${o.who}</p>` : ''}
<form method="post" action="${o.action}" novalidate>
${o.token ? hidden('token', o.token) : ''}${o.csrf ? hidden('csrf', o.csrf) : ''}
${o.who ? html`<input type="text" name="username" autocomplete="username" value="${o.who}" hidden>` : ''}
<label for="password">${t.reset.newLabel}</label>
<input id="password" name="password" type="password" autocomplete="new-password" required autofocus minlength="${MIN_PASSWORD_LENGTH}"${invalid}>
<p class="hint" id="rules">${t.reset.rules(MIN_PASSWORD_LENGTH)}</p>
<label for="confirm">${t.reset.confirmLabel}</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" required>
${errorBox(o.error)}
<button type="submit">${t.reset.button}</button>
</form>`,
  });
}

export function verifyPage(o: { branding?: Branding; action: string; token: string; email: string }): string {
  return layout({
    title: t.verify.title,
    branding: o.branding,
    body: html`
<h1>${t.verify.title}</h1>
<p>${t.verify.intro}</p>
<p class="who">${o.email}</p>
<form method="post" action="${o.action}">
${hidden('token', o.token)}
<button type="submit">${t.verify.button}</button>
</form>`,
  });
}
