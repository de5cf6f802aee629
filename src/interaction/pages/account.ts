// The account pages: factors, sessions and remembered browsers, and adding a factor.
import { hidden, html, layout, unsafeRaw, type Branding } from '../html.ts';
import { errorBox, passkeyForm } from './common.ts';

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
    ? html`<ul class="factors" id="devices">${o.factors.map((f) => html`<li><strong>${f.label}</strong> <span class="hint">${factorKind[f.type] ?? f.type}, added ${day(f.createdAt)}, last used ${day(f.lastUsedAt)}</span>
<form method="post" action="${`${o.base}/factors/${f.id}/remove`}">${hidden('csrf', o.csrf)}<button type="submit" class="secondary">Remove ${f.label}</button></form></li>`)}</ul>
<p class="hint">${o.recoveryLeft} of 10 recovery codes left.</p>`
    : html`<p>Two-step verification is off: signing in takes only your password. Add an authenticator to protect your account.</p>`;
  const remembered = o.remembered?.length
    ? html`<h2>Browsers that skip two-step verification</h2>
<ul class="factors" id="remembered">${o.remembered.map((r) => html`<li><strong>${r.label}</strong> <span class="hint">remembered ${day(r.createdAt)}, until ${day(r.expiresAt)}</span>
<form method="post" action="${`${o.base}/remembered/${r.id}/forget`}">${hidden('csrf', o.csrf)}<button type="submit" class="secondary">Forget ${r.label}</button></form></li>`)}</ul>`
    : '';
  const sessions = o.sessions ? html`<h2>Where you are signed in</h2>
${o.sessions.length ? html`<ul class="factors" id="sessions">${o.sessions.map((x) => html`<li><strong>${x.device}</strong>${x.current ? html` <span class="notice">this browser</span>` : ''}
<span class="hint">${x.ip ? `from ${x.ip}, ` : ''}signed in ${when(x.startedAt)}, last active ${when(x.lastSeenAt)}, ends ${when(x.expiresAt)}${x.apps.length ? `; apps: ${x.apps.join(', ')}` : ''}</span>
<form method="post" action="${`${o.base}/sessions/${encodeURIComponent(x.id)}/end`}">${hidden('csrf', o.csrf)}<button type="submit" class="secondary">Sign out ${x.current ? 'this browser' : x.device}</button></form></li>`)}</ul>` : html`<p>No active sessions.</p>`}` : '';
  const add = [
    allowed.includes('push') && html`<a class="button secondary" href="${`${o.base}/push`}">Add the Gatehouse Authenticator</a>`,
    allowed.includes('totp') && html`<a class="button secondary" href="${`${o.base}/totp`}">Add an authenticator app</a>`,
    allowed.includes('webauthn') && html`<a class="button secondary" href="${`${o.base}/passkey`}">Add a passkey</a>`,
  ];
  return layout({
    title: 'Your account', branding: o.branding, body: html`
<h1>Your account</h1>
<p class="who">${o.name ? `${o.name} · ${o.email}` : o.email}</p>
${o.notice ? html`<p class="notice" role="status">${o.notice}</p>` : ''}
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
    title: 'Add the Gatehouse Authenticator', branding: o.branding, body: html`
<h1>Add the Gatehouse Authenticator</h1>
<p>Scan this code with your phone's camera. It opens the Gatehouse Authenticator in the phone's browser (add it to your home screen to install it), which then approves your sign-ins and shows token codes.</p>
${o.notice ? html`<p class="notice" role="status">${o.notice}</p>` : ''}
<div class="qr">${unsafeRaw('the QR code is an SVG the qrcode library drew from our own link or secret', o.qrSvg)}</div>
<p class="hint">Can't scan it? On the phone, open <a id="setup-link" href="${o.link}">the setup link</a>, or open <code>${o.link.slice(0, o.link.indexOf('#'))}</code> and enter the setup code <code id="setup-code">${`${o.slug}/${o.code}`}</code>. The code works once, for 10 minutes.</p>
<p class="hint" id="enroll-status" role="status" data-enroll-status="${o.statusUrl}" data-enroll-done="${o.doneUrl}">Waiting for your phone…</p>
<a class="button" href="${o.doneUrl}">I added it on my phone</a>
<script type="module" src="/assets/push.js"></script>
<p class="links"><a href="${o.backUrl}">Cancel</a></p>`,
  });
}

export function totpEnrollPage(o: { qrSvg: string; secret: string; csrf: string; action: string; error?: string; backUrl: string; branding?: Branding }): string {
  return layout({
    title: 'Add an authenticator app', branding: o.branding, body: html`
<h1>Add an authenticator app</h1>
<p>Scan this code with an authenticator app (such as Google Authenticator, Microsoft Authenticator or 1Password), then type the 6-digit code it shows.</p>
<div class="qr">${unsafeRaw('the QR code is an SVG the qrcode library drew from our own link or secret', o.qrSvg)}</div>
<p class="hint">Can't scan it? Enter this key in the app: <code id="totp-secret">${o.secret.replace(/(.{4})/g, '$1 ').trim()}</code></p>
<form method="post" action="${o.action}" novalidate>
${hidden('csrf', o.csrf)}
<label for="label">Name</label>
<input id="label" name="label" type="text" maxlength="60" value="Authenticator app">
<label for="code">Code from the app</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required${o.error ? html` aria-invalid="true" aria-describedby="form-error"` : ''}>
${errorBox(o.error)}
<button type="submit">Turn on two-step verification</button>
</form>
<p class="links"><a href="${o.backUrl}">Cancel</a></p>`,
  });
}

export function recoveryCodesPage(o: { codes: string[]; backUrl: string; branding?: Branding }): string {
  return layout({
    title: 'Your recovery codes', branding: o.branding, body: html`
<h1>Two-step verification is on</h1>
<p>Keep these recovery codes somewhere safe. Each one signs you in once if you lose your phone. <strong>They are shown only now.</strong></p>
<ul class="codes" id="recovery-codes">${o.codes.map((c) => html`<li><code>${c}</code></li>`)}</ul>
<a class="button" href="${o.backUrl}">Done</a>`,
  });
}

export function passkeyEnrollPage(o: { options: unknown; csrf: string; action: string; backUrl: string; error?: string; branding?: Branding }): string {
  return layout({
    title: 'Add a passkey', branding: o.branding, body: html`
<h1>Add a passkey</h1>
<p>A passkey lets you confirm your sign-in with this device's screen lock or a security key, instead of typing a code.</p>
${errorBox(o.error)}
${passkeyForm({ action: o.action, csrf: o.csrf, options: o.options, mode: 'create', button: 'Create a passkey', label: true })}
<noscript><p>Passkeys need JavaScript in this browser.</p></noscript>
<p class="links"><a href="${o.backUrl}">Cancel</a></p>`,
  });
}
