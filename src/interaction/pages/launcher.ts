// The launcher: the user's applications, and the hand-off of a refresh token to one.
import { hidden, html, layout, type Branding } from '../html.ts';

export interface LauncherEntry { name: string; url: string; kind: string; logo?: string | null }

export function launcherPage(o: { email: string; apps: LauncherEntry[]; branding?: Branding; signOutUrl: string }): string {
  const list = o.apps.length
    ? html`<ul class="apps">${o.apps.map((a) => html`<li><a class="app-tile" href="${a.url}">${a.logo ? html`<img class="app-logo" src="${a.logo}" alt="">` : html`<span class="app-initial" aria-hidden="true">${a.name.slice(0, 1).toUpperCase()}</span>`}<span>${a.name}</span></a></li>`)}</ul>`
    : html`<p>No applications have been deployed to you yet. Ask your administrator if you expected some here.</p>`;
  return layout({
    title: 'Your applications', branding: o.branding, body: html`
<h1>Your applications</h1>
<p class="who">${o.email}</p>
${list}
<p class="links"><a href="${o.signOutUrl}">Sign out</a></p>`,
  });
}

/** Hands a refresh token to an app: a form that submits itself (a button when scripts are off). */
export function handoffPage(o: { appName: string; url: string; fields: Record<string, string>; branding?: Branding; signingOut?: boolean }): string {
  // A front-channel logout (saml/routes.ts) goes through the same form: it says what it does.
  const title = o.signingOut ? `Signing you out of ${o.appName}` : `Opening ${o.appName}`;
  return layout({
    title, branding: o.branding, body: html`
<h1>${title}</h1>
<form method="post" action="${o.url}" id="handoff" data-autosubmit>
${Object.entries(o.fields).map(([k, v]) => hidden(k, v))}
<button type="submit">Continue to ${o.appName}</button>
</form>
<script src="/assets/autosubmit.js"></script>`,
  });
}


