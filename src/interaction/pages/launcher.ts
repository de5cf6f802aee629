// The launcher: the user's applications, and the hand-off of a refresh token to one.
import { hidden, html, layout, type Branding } from '../html.ts';
import { t } from '../../i18n/index.ts';

export interface LauncherEntry {
  name: string;
  url: string;
  kind: string;
  logo?: string | null;
}

export function launcherPage(o: { email: string; apps: LauncherEntry[]; branding?: Branding; signOutUrl: string; accountUrl?: string }): string {
  const list = o.apps.length
    ? html`<ul class="apps">${o.apps.map((a) => html`<li><a class="app-tile" href="${a.url}">${a.logo ? html`<img class="app-logo" src="${a.logo}" alt="">` : html`<span class="app-initial" aria-hidden="true">${a.name.slice(0, 1).toUpperCase()}</span>`}<span>${a.name}</span></a></li>`)}</ul>`
    : html`<p>${t('launcher.none')}</p>`;
  return layout({
    title: t('launcher.title'),
    branding: o.branding,
    body: html`
<h1>${t('launcher.title')}</h1>
<p class="who">${o.email}</p>
${list}
<p class="links">${o.accountUrl ? html`<a href="${o.accountUrl}">${t('launcher.account')}</a> · ` : ''}<a href="${o.signOutUrl}">${t('launcher.signOut')}</a></p>`,
  });
}

/** Hands a refresh token to an app: a form that submits itself (a button when scripts are off). */
export function handoffPage(o: { appName: string; url: string; fields: Record<string, string>; branding?: Branding; signingOut?: boolean }): string {
  // A front-channel logout (saml/routes.ts) goes through the same form: it says what it does.
  const title = o.signingOut ? t('launcher.signingOut', { app: o.appName }) : t('launcher.opening', { app: o.appName });
  return layout({
    title,
    branding: o.branding,
    body: html`
<h1>${title}</h1>
<form method="post" action="${o.url}" id="handoff" data-autosubmit>
${Object.entries(o.fields).map(([k, v]) => hidden(k, v))}
<button type="submit">${t('launcher.continueTo', { app: o.appName })}</button>
</form>
<script src="/assets/autosubmit.js"></script>`,
  });
}
