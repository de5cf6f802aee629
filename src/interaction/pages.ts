// One typed render function per page of the sign-in experience.
import { esc, hidden, layout, type Branding } from './html.ts';
import type { MfaCause } from '../policy/acr.ts';

interface Common { branding?: Branding; appName?: string; csrf: string; action: string }

const appLine = (appName?: string) => appName ? `<p class="app">to continue to <strong>${esc(appName)}</strong></p>` : '';
const errorBox = (error?: string) => error ? `<p class="error" role="alert" id="form-error">${esc(error)}</p>` : '';

export interface UpstreamButton { name: string; url: string }

const upstreamButtons = (buttons?: UpstreamButton[]) => buttons?.length
  ? `<div class="upstreams"><p class="or">or</p>${buttons.map((b) => `<a class="button secondary" href="${esc(b.url)}">Sign in with ${esc(b.name)}</a>`).join('\n')}</div>`
  : '';

export function identifierPage(o: Common & { email?: string; error?: string; buttons?: UpstreamButton[]; passkey?: { options: unknown; action: string } }): string {
  const passkey = o.passkey ? `<div class="passwordless"><p class="or">or</p>${passkeyForm({ action: o.passkey.action, csrf: o.csrf, options: o.passkey.options, mode: 'get', button: 'Sign in with a passkey' })}</div>` : '';
  return layout({
    title: 'Sign in', branding: o.branding, body: `
<h1>Sign in</h1>
${appLine(o.appName)}
<form method="post" action="${esc(o.action)}" novalidate>
${hidden('csrf', o.csrf)}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="${esc(o.email)}"${o.error ? ' aria-invalid="true" aria-describedby="form-error"' : ''}>
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
  const password = o.passwordAction ? `
<p class="or">or use your password here</p>
<form method="post" action="${esc(o.passwordAction)}" novalidate>
${hidden('csrf', o.csrf)}${hidden('email', o.email)}
<input type="email" name="username" autocomplete="username" value="${esc(o.email)}" hidden>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${o.error ? ' aria-invalid="true" aria-describedby="form-error"' : ''}>
${errorBox(o.error)}
<button type="submit" class="secondary">Sign in with password</button>
</form>` : errorBox(o.error);
  return layout({
    title: `Sign in with ${o.upstream.name}`, branding: o.branding, body: `
<h1>Sign in with ${esc(o.upstream.name)}</h1>
${appLine(o.appName)}
<p class="who">${esc(o.email)}</p>
<p>Your organization signs you in through <strong>${esc(o.upstream.name)}</strong>.</p>
<a class="button" id="continue-upstream" href="${esc(o.upstream.url)}">Continue with ${esc(o.upstream.name)}</a>
${password}
<p class="links"><a href="${esc(o.restartAction)}">Use another account</a></p>`,
  });
}

export function passwordPage(o: Common & { email: string; error?: string; restartAction: string }): string {
  return layout({
    title: 'Enter your password', branding: o.branding, body: `
<h1>Enter your password</h1>
${appLine(o.appName)}
<p class="who">${esc(o.email)}</p>
<form method="post" action="${esc(o.action)}" novalidate>
${hidden('csrf', o.csrf)}${hidden('email', o.email)}
<input type="email" name="username" autocomplete="username" value="${esc(o.email)}" hidden>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus${o.error ? ' aria-invalid="true" aria-describedby="form-error"' : ''}>
${errorBox(o.error)}
<button type="submit">Sign in</button>
</form>
<p class="links"><a href="${esc(o.restartAction)}">Use another account</a></p>`,
  });
}

export function notDeployedPage(o: Common & { email: string }): string {
  return layout({
    title: 'Application not available', branding: o.branding, body: `
<h1>This application is not available to you</h1>
<p>${o.appName ? `<strong>${esc(o.appName)}</strong> has` : 'This application has'} not been deployed to <strong>${esc(o.email)}</strong>.</p>
<p>If you need it, ask your administrator to deploy it to you or to one of your groups.</p>
<form method="post" action="${esc(o.action)}">
${hidden('csrf', o.csrf)}
<button type="submit">Return to the application</button>
</form>`,
  });
}

export function accountDisabledPage(o: Common & { email: string }): string {
  return layout({
    title: 'Account disabled', branding: o.branding, body: `
<h1>Your account is disabled</h1>
<p class="who">${esc(o.email)}</p>
<p>You cannot sign in while your account is disabled. Contact your administrator to have it enabled.</p>
<form method="post" action="${esc(o.action)}">
${hidden('csrf', o.csrf)}
<button type="submit" class="secondary">Return to the application</button>
</form>`,
  });
}

export function messagePage(o: { title: string; message: string; detail?: string; branding?: Branding }): string {
  return layout({
    title: o.title, branding: o.branding, body: `
<h1>${esc(o.title)}</h1>
<p>${esc(o.message)}</p>
${o.detail ? `<p class="links">${esc(o.detail)}</p>` : ''}`,
  });
}

export function logoutPage(o: { form: string; branding?: Branding; appName?: string }): string {
  // The engine's form carries its own anti-forgery token (xsrf).
  return layout({
    title: 'Sign out', branding: o.branding, body: `
${o.form}
<h1>Sign out</h1>
<p>Do you want to sign out of Gatehouse${o.appName ? ` and ${esc(o.appName)}` : ''}? You will be signed out of the applications you opened with it.</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>
<button type="submit" form="op.logoutForm" class="secondary">Stay signed in</button>`,
  });
}

export function setupPage(o: { action: string; csrf: string; email?: string; error?: string }): string {
  return layout({
    title: 'Create the first administrator', body: `
<h1>Create the first administrator</h1>
<p>This link works once. The account you create here is a superadministrator of Gatehouse.</p>
<form method="post" action="${esc(o.action)}" novalidate>
${hidden('csrf', o.csrf)}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${esc(o.email)}">
<label for="password">Password (at least 12 characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="12">
${errorBox(o.error)}
<button type="submit">Create administrator</button>
</form>`,
  });
}

export interface LauncherEntry { name: string; url: string; kind: string; logo?: string | null }

export function launcherPage(o: { email: string; apps: LauncherEntry[]; branding?: Branding; signOutUrl: string }): string {
  const list = o.apps.length
    ? `<ul class="apps">${o.apps.map((a) => `<li><a class="app-tile" href="${esc(a.url)}">${a.logo ? `<img class="app-logo" src="${esc(a.logo)}" alt="">` : `<span class="app-initial" aria-hidden="true">${esc(a.name.slice(0, 1).toUpperCase())}</span>`}<span>${esc(a.name)}</span></a></li>`).join('\n')}</ul>`
    : '<p>No applications have been deployed to you yet. Ask your administrator if you expected some here.</p>';
  return layout({
    title: 'Your applications', branding: o.branding, body: `
<h1>Your applications</h1>
<p class="who">${esc(o.email)}</p>
${list}
<p class="links"><a href="${esc(o.signOutUrl)}">Sign out</a></p>`,
  });
}

/** Hands a refresh token to an app: a form that submits itself (a button when scripts are off). */
export function handoffPage(o: { appName: string; url: string; fields: Record<string, string>; branding?: Branding }): string {
  return layout({
    title: `Opening ${o.appName}`, branding: o.branding, body: `
<h1>Opening ${esc(o.appName)}</h1>
<form method="post" action="${esc(o.url)}" id="handoff" data-autosubmit>
${Object.entries(o.fields).map(([k, v]) => hidden(k, v)).join('')}
<button type="submit">Continue to ${esc(o.appName)}</button>
</form>
<script src="/assets/autosubmit.js"></script>`,
  });
}

/** Options for a WebAuthn call, as a JSON data block the page's script reads (never executed). */
const jsonBlock = (id: string, value: unknown) => `<script type="application/json" id="${esc(id)}">${JSON.stringify(value).replace(/</g, '\\u003c')}</script>`;

function passkeyForm(o: { action: string; csrf: string; options: unknown; mode: 'create' | 'get'; button: string; label?: boolean }): string {
  return `${jsonBlock('webauthn-options', o.options)}
<form method="post" action="${esc(o.action)}" data-webauthn="${o.mode}" data-options="webauthn-options">
${hidden('csrf', o.csrf)}<input type="hidden" name="credential" value="">
${o.label ? '<label for="passkey-label">Name</label>\n<input id="passkey-label" name="label" type="text" maxlength="60" value="Passkey">' : ''}
<button type="submit" hidden>${esc(o.button)}</button>
<p class="hint" data-webauthn-status role="status"></p>
</form>
<script src="/assets/webauthn.js"></script>`;
}

export interface PushPrompt { number: number | null; statusUrl: string; secondsLeft: number; devices: string[] }

/**
 * The second-factor page: a push request waiting on the user's Gatehouse Authenticator (its
 * 2-digit number, or approve-only), a passkey button, and the code field (authenticator app,
 * the authenticator's token code, or a recovery code, depending on `kinds`).
 */
export function totpPage(o: Common & { email: string; error?: string; restartAction: string; passkeyOptions?: unknown; push?: PushPrompt; kinds?: string[]; rememberDays?: number }): string {
  const kinds = o.kinds ?? ['totp'];
  const push = o.push ? `<section class="push" data-push-status="${esc(o.push.statusUrl)}" data-push-form="push-form" data-seconds="${o.push.secondsLeft}">
<h2>Approve on your phone</h2>
<p>A sign-in request was sent to your Gatehouse Authenticator (${esc(o.push.devices.join(', '))}).</p>
${o.push.number !== null ? `<p>Enter this number in the app:</p>\n<p class="push-number" id="push-number">${o.push.number}</p>` : '<p>Approve the request in the app.</p>'}
<p class="hint" id="push-status" role="status">The request expires in ${o.push.secondsLeft} seconds.</p>
<form method="post" action="${esc(o.action)}" id="push-form">
${hidden('csrf', o.csrf)}${hidden('push', '1')}
<button type="submit" class="secondary" id="push-continue">I approved it, continue</button>
</form>
</section>
<script src="/assets/push.js"></script>` : '';
  const label = kinds.includes('totp') ? 'Code from your authenticator app' : kinds.includes('push') ? 'Token code from your Gatehouse Authenticator' : 'Recovery code';
  const hint = [
    kinds.includes('totp') ? 'Open the authenticator app on your phone and type the 6-digit code it shows for this account.' : '',
    kinds.includes('push') ? 'The Gatehouse Authenticator also shows a 6-digit token code you can type here.' : '',
    'Lost your phone? Type one of your recovery codes instead.',
  ].filter(Boolean).join(' ');
  const others = [o.passkeyOptions && 'passkey', o.push && 'push'].filter(Boolean).length;
  return layout({
    title: 'Two-step verification', branding: o.branding, body: `
<h1>Two-step verification</h1>
${appLine(o.appName)}
<p class="who">${esc(o.email)}</p>
${push}
${o.passkeyOptions ? `${o.push ? '<p class="or">or</p>' : ''}${passkeyForm({ action: o.action, csrf: o.csrf, options: o.passkeyOptions, mode: 'get', button: 'Use your passkey' })}` : ''}
${others ? '<p class="or">or type a code</p>' : ''}
<form method="post" action="${esc(o.action)}" id="code-form" novalidate>
${hidden('csrf', o.csrf)}
<label for="code">${label}</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="20" required${o.push ? '' : ' autofocus'}${o.error ? ' aria-invalid="true" aria-describedby="form-error"' : ''}>
<p class="hint">${hint}</p>
${errorBox(o.error)}
<button type="submit">Verify</button>
</form>
${o.rememberDays ? `<p class="check"><input type="checkbox" id="remember" name="remember" value="1" form="code-form"> <label for="remember">Remember this device for ${o.rememberDays} day${o.rememberDays === 1 ? '' : 's'}</label></p>` : ''}
<p class="links"><a href="${esc(o.restartAction)}">Use another account</a></p>`,
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
    title: 'Sign-in not approved', branding: o.branding, body: `
<h1>Sign-in not approved</h1>
${appLine(o.appName)}
<p id="push-ended">${esc(what[o.reason] ?? what.expired)}</p>
<p>For your security, start signing in again. If it was not you who tried to sign in, change your password and tell your administrator.</p>
<a class="button" href="${esc(o.restartAction)}">Sign in again</a>`,
  });
}

export interface AccountFactor { id: string; label: string; type: string; createdAt: number; lastUsedAt: number | null }
export interface RememberedBrowser { id: string; label: string; createdAt: number; expiresAt: number }
export interface AccountSession { id: string; device: string; ip: string | null; startedAt: number; lastSeenAt: number; expiresAt: number; apps: string[]; current: boolean }

const when = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

const day = (ms: number | null) => (ms ? new Date(ms).toISOString().slice(0, 10) : 'never');
const factorKind: Record<string, string> = { totp: 'authenticator app', webauthn: 'passkey', push: 'Gatehouse Authenticator (push and token codes)' };

export function accountPage(o: {
  email: string; name: string | null; factors: AccountFactor[]; recoveryLeft: number; csrf: string; base: string; notice?: string; branding?: Branding;
  /** Kinds of factor the user's policy lets them add (default: all). */
  allowed?: string[]; remembered?: RememberedBrowser[]; sessions?: AccountSession[];
}): string {
  const allowed = o.allowed ?? ['totp', 'webauthn', 'push'];
  const factors = o.factors.length
    ? `<ul class="factors" id="devices">${o.factors.map((f) => `<li><strong>${esc(f.label)}</strong> <span class="hint">${esc(factorKind[f.type] ?? f.type)}, added ${day(f.createdAt)}, last used ${day(f.lastUsedAt)}</span>
<form method="post" action="${esc(`${o.base}/factors/${f.id}/remove`)}">${hidden('csrf', o.csrf)}<button type="submit" class="secondary">Remove ${esc(f.label)}</button></form></li>`).join('\n')}</ul>
<p class="hint">${o.recoveryLeft} of 10 recovery codes left.</p>`
    : '<p>Two-step verification is off: signing in takes only your password. Add an authenticator to protect your account.</p>';
  const remembered = o.remembered?.length
    ? `<h2>Browsers that skip two-step verification</h2>
<ul class="factors" id="remembered">${o.remembered.map((r) => `<li><strong>${esc(r.label)}</strong> <span class="hint">remembered ${day(r.createdAt)}, until ${day(r.expiresAt)}</span>
<form method="post" action="${esc(`${o.base}/remembered/${r.id}/forget`)}">${hidden('csrf', o.csrf)}<button type="submit" class="secondary">Forget ${esc(r.label)}</button></form></li>`).join('\n')}</ul>`
    : '';
  const sessions = o.sessions ? `<h2>Where you are signed in</h2>
${o.sessions.length ? `<ul class="factors" id="sessions">${o.sessions.map((x) => `<li><strong>${esc(x.device)}</strong>${x.current ? ' <span class="notice">this browser</span>' : ''}
<span class="hint">${x.ip ? `from ${esc(x.ip)}, ` : ''}signed in ${when(x.startedAt)}, last active ${when(x.lastSeenAt)}, ends ${when(x.expiresAt)}${x.apps.length ? `; apps: ${esc(x.apps.join(', '))}` : ''}</span>
<form method="post" action="${esc(`${o.base}/sessions/${encodeURIComponent(x.id)}/end`)}">${hidden('csrf', o.csrf)}<button type="submit" class="secondary">Sign out ${x.current ? 'this browser' : esc(x.device)}</button></form></li>`).join('\n')}</ul>` : '<p>No active sessions.</p>'}` : '';
  const add = [
    allowed.includes('push') && `<a class="button secondary" href="${esc(`${o.base}/push`)}">Add the Gatehouse Authenticator</a>`,
    allowed.includes('totp') && `<a class="button secondary" href="${esc(`${o.base}/totp`)}">Add an authenticator app</a>`,
    allowed.includes('webauthn') && `<a class="button secondary" href="${esc(`${o.base}/passkey`)}">Add a passkey</a>`,
  ].filter(Boolean).join('\n');
  return layout({
    title: 'Your account', branding: o.branding, body: `
<h1>Your account</h1>
<p class="who">${esc(o.name ? `${o.name} · ${o.email}` : o.email)}</p>
${o.notice ? `<p class="notice" role="status">${esc(o.notice)}</p>` : ''}
<h2>Two-step verification</h2>
${factors}
${add}
${remembered}
${sessions}`,
  });
}

/** Adding the Gatehouse Authenticator: the QR code of the setup link, the code as text, and a wait for the phone. */
export function pushEnrollPage(o: { qrSvg: string; link: string; code: string; slug: string; statusUrl: string; doneUrl: string; backUrl: string; notice?: string; branding?: Branding }): string {
  return layout({
    title: 'Add the Gatehouse Authenticator', branding: o.branding, body: `
<h1>Add the Gatehouse Authenticator</h1>
<p>Scan this code with your phone's camera. It opens the Gatehouse Authenticator in the phone's browser (add it to your home screen to install it), which then approves your sign-ins and shows token codes.</p>
${o.notice ? `<p class="notice" role="status">${esc(o.notice)}</p>` : ''}
<div class="qr">${o.qrSvg}</div>
<p class="hint">Can't scan it? On the phone, open <a id="setup-link" href="${esc(o.link)}">the setup link</a>, or open <code>${esc(o.link.slice(0, o.link.indexOf('#')))}</code> and enter the setup code <code id="setup-code">${esc(`${o.slug}/${o.code}`)}</code>. The code works once, for 10 minutes.</p>
<p class="hint" id="enroll-status" role="status" data-enroll-status="${esc(o.statusUrl)}" data-enroll-done="${esc(o.doneUrl)}">Waiting for your phone…</p>
<a class="button" href="${esc(o.doneUrl)}">I added it on my phone</a>
<script src="/assets/push.js"></script>
<p class="links"><a href="${esc(o.backUrl)}">Cancel</a></p>`,
  });
}

export function totpEnrollPage(o: { qrSvg: string; secret: string; csrf: string; action: string; error?: string; backUrl: string; branding?: Branding }): string {
  return layout({
    title: 'Add an authenticator app', branding: o.branding, body: `
<h1>Add an authenticator app</h1>
<p>Scan this code with an authenticator app (such as Google Authenticator, Microsoft Authenticator or 1Password), then type the 6-digit code it shows.</p>
<div class="qr">${o.qrSvg}</div>
<p class="hint">Can't scan it? Enter this key in the app: <code id="totp-secret">${esc(o.secret.replace(/(.{4})/g, '$1 ').trim())}</code></p>
<form method="post" action="${esc(o.action)}" novalidate>
${hidden('csrf', o.csrf)}
<label for="label">Name</label>
<input id="label" name="label" type="text" maxlength="60" value="Authenticator app">
<label for="code">Code from the app</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required${o.error ? ' aria-invalid="true" aria-describedby="form-error"' : ''}>
${errorBox(o.error)}
<button type="submit">Turn on two-step verification</button>
</form>
<p class="links"><a href="${esc(o.backUrl)}">Cancel</a></p>`,
  });
}

export function recoveryCodesPage(o: { codes: string[]; backUrl: string; branding?: Branding }): string {
  return layout({
    title: 'Your recovery codes', branding: o.branding, body: `
<h1>Two-step verification is on</h1>
<p>Keep these recovery codes somewhere safe. Each one signs you in once if you lose your phone. <strong>They are shown only now.</strong></p>
<ul class="codes" id="recovery-codes">${o.codes.map((c) => `<li><code>${esc(c)}</code></li>`).join('')}</ul>
<a class="button" href="${esc(o.backUrl)}">Done</a>`,
  });
}

/** The app needs two-step verification and the user has not set it up yet. */
export function mfaSetupNeededPage(o: Common & { email: string; accountUrl: string; causes: MfaCause[]; acrValues?: string[] }): string {
  const app = o.appName ? `<strong>${esc(o.appName)}</strong>` : 'This application';
  // Say why, as it is: the app's setting, the user's policy, or what the app asked for.
  const why: Record<MfaCause, string> = {
    app: `${app} requires two-step verification: your organization set this for the application.`,
    policy: 'Your organization\'s policy requires two-step verification for your account.',
    acr_values: `${app} asked for two-step verification for this sign-in (acr_values ${esc((o.acrValues ?? []).join(' '))}).`,
    acr_claim: `${app} asked for two-step verification for this sign-in (an essential acr claim: ${esc((o.acrValues ?? []).join(' '))}).`,
  };
  const reasons = o.causes.length ? o.causes.map((c) => `<p class="cause" data-cause="${c}">${why[c]}</p>`).join('\n') : `<p>${app} requires two-step verification.</p>`;
  return layout({
    title: 'Two-step verification needed', branding: o.branding, body: `
<h1>Two-step verification needed</h1>
<p class="who">${esc(o.email)}</p>
${reasons}
<p>Two-step verification is not set up for your account yet.</p>
<a class="button" href="${esc(o.accountUrl)}">Set up two-step verification</a>
<p class="hint">Then open the application again.</p>
<form method="post" action="${esc(o.action)}">
${hidden('csrf', o.csrf)}
<button type="submit" class="secondary">Return to the application</button>
</form>`,
  });
}

export function ssoDisabledPage(o: Common): string {
  return layout({
    title: 'Single sign-on is off', branding: o.branding, body: `
<h1>Single sign-on is turned off for your account</h1>
<p>Your organization's policy does not let your account sign in to applications through Gatehouse.</p>
<p>If you need access, contact your administrator.</p>
<form method="post" action="${esc(o.action)}">
${hidden('csrf', o.csrf)}
<button type="submit" class="secondary">Return to the application</button>
</form>`,
  });
}

export function passkeyEnrollPage(o: { options: unknown; csrf: string; action: string; backUrl: string; error?: string; branding?: Branding }): string {
  return layout({
    title: 'Add a passkey', branding: o.branding, body: `
<h1>Add a passkey</h1>
<p>A passkey lets you confirm your sign-in with this device's screen lock or a security key, instead of typing a code.</p>
${errorBox(o.error)}
${passkeyForm({ action: o.action, csrf: o.csrf, options: o.options, mode: 'create', button: 'Create a passkey', label: true })}
<noscript><p>Passkeys need JavaScript in this browser.</p></noscript>
<p class="links"><a href="${esc(o.backUrl)}">Cancel</a></p>`,
  });
}
