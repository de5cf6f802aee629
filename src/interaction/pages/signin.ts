// The sign-in pages: identifier, upstream, password, second factor and the refusals.
import { hidden, html, layout, type Branding, type SafeHtml } from '../html.ts';
import type { MfaCause } from '../../policy/acr.ts';
import { appLine, errorBox, passkeyForm, type Common } from './common.ts';

export interface UpstreamButton { name: string; url: string }

const upstreamButtons = (buttons?: UpstreamButton[]) => buttons?.length
  ? html`<div class="upstreams"><p class="or">or</p>${buttons.map((b) => html`<a class="button secondary" href="${b.url}">Sign in with ${b.name}</a>`)}</div>`
  : '';

export function identifierPage(o: Common & { email?: string; error?: string; buttons?: UpstreamButton[]; passkey?: { options: unknown; action: string } }): string {
  const passkey = o.passkey ? html`<div class="passwordless"><p class="or">or</p>${passkeyForm({ action: o.passkey.action, csrf: o.csrf, options: o.passkey.options, mode: 'get', button: 'Sign in with a passkey' })}</div>` : '';
  return layout({
    title: 'Sign in', branding: o.branding, body: html`
<h1>Sign in</h1>
${appLine(o.appName)}
<form method="post" action="${o.action}" novalidate>
${hidden('csrf', o.csrf)}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="${o.email}"${o.error ? html` aria-invalid="true" aria-describedby="form-error"` : ''}>
${errorBox(o.error)}
<button type="submit">Next</button>
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
  const password = o.passwordAction ? html`
<p class="or">or use your password here</p>
<form method="post" action="${o.passwordAction}" novalidate>
${hidden('csrf', o.csrf)}${hidden('email', o.email)}
<input type="email" name="username" autocomplete="username" value="${o.email}" hidden>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${o.error ? html` aria-invalid="true" aria-describedby="form-error"` : ''}>
${errorBox(o.error)}
<button type="submit" class="secondary">Sign in with password</button>
</form>` : errorBox(o.error);
  return layout({
    title: `Sign in with ${o.upstream.name}`, branding: o.branding, body: html`
<h1>Sign in with ${o.upstream.name}</h1>
${appLine(o.appName)}
<p class="who">${o.email}</p>
<p>Your organization signs you in through <strong>${o.upstream.name}</strong>.</p>
<a class="button" id="continue-upstream" href="${o.upstream.url}">Continue with ${o.upstream.name}</a>
${password}
<p class="links"><a href="${o.restartAction}">Use another account</a></p>`,
  });
}

export function passwordPage(o: Common & { email: string; error?: string; restartAction: string }): string {
  return layout({
    title: 'Enter your password', branding: o.branding, body: html`
<h1>Enter your password</h1>
${appLine(o.appName)}
<p class="who">${o.email}</p>
<form method="post" action="${o.action}" novalidate>
${hidden('csrf', o.csrf)}${hidden('email', o.email)}
<input type="email" name="username" autocomplete="username" value="${o.email}" hidden>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus${o.error ? html` aria-invalid="true" aria-describedby="form-error"` : ''}>
${errorBox(o.error)}
<button type="submit">Sign in</button>
</form>
<p class="links"><a href="${o.restartAction}">Use another account</a></p>`,
  });
}

export function notDeployedPage(o: Common & { email: string }): string {
  return layout({
    title: 'Application not available', branding: o.branding, body: html`
<h1>This application is not available to you</h1>
<p>${o.appName ? html`<strong>${o.appName}</strong> has` : 'This application has'} not been deployed to <strong>${o.email}</strong>.</p>
<p>If you need it, ask your administrator to deploy it to you or to one of your groups.</p>
<form method="post" action="${o.action}">
${hidden('csrf', o.csrf)}
<button type="submit">Return to the application</button>
</form>`,
  });
}

export function accountDisabledPage(o: Common & { email: string }): string {
  return layout({
    title: 'Account disabled', branding: o.branding, body: html`
<h1>Your account is disabled</h1>
<p class="who">${o.email}</p>
<p>You cannot sign in while your account is disabled. Contact your administrator to have it enabled.</p>
<form method="post" action="${o.action}">
${hidden('csrf', o.csrf)}
<button type="submit" class="secondary">Return to the application</button>
</form>`,
  });
}

export interface PushPrompt { number: number | null; statusUrl: string; secondsLeft: number; devices: string[] }

/**
 * The second-factor page: a push request waiting on the user's Gatehouse Authenticator (its
 * 2-digit number, or approve-only), a passkey button, and the code field (authenticator app,
 * the authenticator's token code, or a recovery code, depending on `kinds`).
 */
export function totpPage(o: Common & { email: string; error?: string; restartAction: string; passkeyOptions?: unknown; push?: PushPrompt; kinds?: string[]; rememberDays?: number }): string {
  const kinds = o.kinds ?? ['totp'];
  const push = o.push ? html`<section class="push" data-push-status="${o.push.statusUrl}" data-push-form="push-form" data-seconds="${o.push.secondsLeft}">
<h2>Approve on your phone</h2>
<p>A sign-in request was sent to your Gatehouse Authenticator (${o.push.devices.join(', ')}).</p>
${o.push.number !== null ? html`<p>Enter this number in the app:</p>\n<p class="push-number" id="push-number">${o.push.number}</p>` : html`<p>Approve the request in the app.</p>`}
<p class="hint" id="push-status" role="status">The request expires in ${o.push.secondsLeft} seconds.</p>
<form method="post" action="${o.action}" id="push-form">
${hidden('csrf', o.csrf)}${hidden('push', '1')}
<button type="submit" class="secondary" id="push-continue">I approved it, continue</button>
</form>
</section>
<script type="module" src="/assets/push.js"></script>` : '';
  const label = kinds.includes('totp') ? 'Code from your authenticator app' : kinds.includes('push') ? 'Token code from your Gatehouse Authenticator' : 'Recovery code';
  const hint = [
    kinds.includes('totp') ? 'Open the authenticator app on your phone and type the 6-digit code it shows for this account.' : '',
    kinds.includes('push') ? 'The Gatehouse Authenticator also shows a 6-digit token code you can type here.' : '',
    'Lost your phone? Type one of your recovery codes instead.',
  ].filter(Boolean).join(' ');
  const others = [o.passkeyOptions && 'passkey', o.push && 'push'].filter(Boolean).length;
  return layout({
    title: 'Two-step verification', branding: o.branding, body: html`
<h1>Two-step verification</h1>
${appLine(o.appName)}
<p class="who">${o.email}</p>
${push}
${o.passkeyOptions ? html`${o.push ? html`<p class="or">or</p>` : ''}${passkeyForm({ action: o.action, csrf: o.csrf, options: o.passkeyOptions, mode: 'get', button: 'Use your passkey' })}` : ''}
${others ? html`<p class="or">or type a code</p>` : ''}
<form method="post" action="${o.action}" id="code-form" novalidate>
${hidden('csrf', o.csrf)}
<label for="code">${label}</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="20" required${o.push ? '' : ' autofocus'}${o.error ? html` aria-invalid="true" aria-describedby="form-error"` : ''}>
<p class="hint">${hint}</p>
${errorBox(o.error)}
<button type="submit">Verify</button>
</form>
${o.rememberDays ? html`<p class="check"><input type="checkbox" id="remember" name="remember" value="1" form="code-form"> <label for="remember">Remember this device for ${o.rememberDays} day${o.rememberDays === 1 ? '' : 's'}</label></p>` : ''}
<p class="links"><a href="${o.restartAction}">Use another account</a></p>`,
  });
}

/** A push request was denied, answered with the wrong number, or not answered in time: the sign-in starts over. */
export function pushEndedPage(o: { reason: string; restartAction: string; appName?: string; branding?: Branding }): string {
  const what: Record<string, string> = {
    denied: 'The sign-in was denied in your Gatehouse Authenticator.',
    wrong_number: 'The number entered in your Gatehouse Authenticator did not match the one shown here.',
    expired: 'The request was not approved within 30 seconds.',
    used: 'This approval was already used.',
    withdrawn: 'This request was withdrawn: the sign-in ended another way.',
  };
  return layout({
    title: 'Sign-in not approved', branding: o.branding, body: html`
<h1>Sign-in not approved</h1>
${appLine(o.appName)}
<p id="push-ended">${what[o.reason] ?? what.expired}</p>
<p>For your security, start signing in again. If it was not you who tried to sign in, change your password and tell your administrator.</p>
<a class="button" href="${o.restartAction}">Sign in again</a>`,
  });
}

/** The app needs two-step verification and the user has not set it up yet. */
export function mfaSetupNeededPage(o: Common & { email: string; accountUrl: string; causes: MfaCause[]; acrValues?: string[] }): string {
  const app = o.appName ? html`<strong>${o.appName}</strong>` : 'This application';
  // Say why, as it is: the app's setting, the user's policy, or what the app asked for.
  const why: Record<MfaCause, SafeHtml> = {
    app: html`${app} requires two-step verification: your organization set this for the application.`,
    policy: html`Your organization's policy requires two-step verification for your account.`,
    acr_values: html`${app} asked for two-step verification for this sign-in (acr_values ${(o.acrValues ?? []).join(' ')}).`,
    acr_claim: html`${app} asked for two-step verification for this sign-in (an essential acr claim: ${(o.acrValues ?? []).join(' ')}).`,
  };
  const reasons = o.causes.length ? o.causes.map((c) => html`<p class="cause" data-cause="${c}">${why[c]}</p>`) : html`<p>${app} requires two-step verification.</p>`;
  return layout({
    title: 'Two-step verification needed', branding: o.branding, body: html`
<h1>Two-step verification needed</h1>
<p class="who">${o.email}</p>
${reasons}
<p>Two-step verification is not set up for your account yet.</p>
<a class="button" href="${o.accountUrl}">Set up two-step verification</a>
<p class="hint">Then open the application again.</p>
<form method="post" action="${o.action}">
${hidden('csrf', o.csrf)}
<button type="submit" class="secondary">Return to the application</button>
</form>`,
  });
}

export function ssoDisabledPage(o: Common): string {
  return layout({
    title: 'Single sign-on is off', branding: o.branding, body: html`
<h1>Single sign-on is turned off for your account</h1>
<p>Your organization's policy does not let your account sign in to applications through Gatehouse.</p>
<p>If you need access, contact your administrator.</p>
<form method="post" action="${o.action}">
${hidden('csrf', o.csrf)}
<button type="submit" class="secondary">Return to the application</button>
</form>`,
  });
}

