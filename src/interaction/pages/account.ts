// The account pages: factors, sessions and remembered browsers, and adding a factor.
import { hidden, html, layout, unsafeRaw, type Branding } from '../html.ts';
import { errorBox, passkeyForm } from './common.ts';
import { formatDate, formatDateTime, LOCALE_NAMES, LOCALES, t, th, type Locale } from '../../i18n/index.ts';
import { messages } from '../../selfservice/messages.ts';
import { MIN_PASSWORD_LENGTH } from '../../directory/passwords.ts';

export interface AccountFactor {
  id: string;
  label: string;
  type: string;
  createdAt: number;
  lastUsedAt: number | null;
}
export interface RememberedBrowser {
  id: string;
  label: string;
  createdAt: number;
  expiresAt: number;
}
export interface AccountSession {
  id: string;
  device: string;
  ip: string | null;
  startedAt: number;
  lastSeenAt: number;
  expiresAt: number;
  apps: string[];
  current: boolean;
}

const when = (ms: number) => formatDateTime(ms);

const day = (ms: number | null) => (ms ? formatDate(ms) : t('account.never'));
const factorKind = (type: string) =>
  type === 'totp' ? t('account.kind.totp') : type === 'webauthn' ? t('account.kind.webauthn') : type === 'push' ? t('account.kind.push') : type;

export type AccountPassword = { kind: 'local' } | { kind: 'directory'; help: string | null } | { kind: 'upstream'; name: string; url: string | null };

export function accountPage(o: {
  email: string;
  name: string | null;
  factors: AccountFactor[];
  recoveryLeft: number;
  csrf: string;
  base: string;
  notice?: string;
  branding?: Branding;
  /** Kinds of factor the user's policy lets them add (default: all). */
  allowed?: string[];
  remembered?: RememberedBrowser[];
  sessions?: AccountSession[];
  /** The user's saved language (null: none saved). */
  locale?: Locale | null;
  /** Issue 17: how the user's password is kept (change form, or where to change it), and their email's state. */
  password?: AccountPassword;
  emailVerified?: boolean;
  error?: string;
}): string {
  const m = messages.pages.account;
  const pw = o.password;
  const passwordPart = !pw
    ? ''
    : html`<h2>${m.passwordHeading}</h2>
${
  pw.kind === 'local'
    ? html`<form method="post" action="${`${o.base}/password`}" novalidate>${hidden('csrf', o.csrf)}
<input type="text" name="username" autocomplete="username" value="${o.email}" hidden>
<label for="current">${m.currentLabel}</label>
<input id="current" name="current" type="password" autocomplete="current-password" required>
<label for="password">${messages.pages.reset.newLabel}</label>
<input id="password" name="password" type="password" autocomplete="new-password" required aria-describedby="rules">
<p class="hint" id="rules">${messages.pages.reset.rules(MIN_PASSWORD_LENGTH)}</p>
<label for="confirm">${messages.pages.reset.confirmLabel}</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" required>
${errorBox(o.error)}
<button type="submit">${m.changeButton}</button></form>`
    : pw.kind === 'directory'
      ? html`<p id="password-managed">${m.directory}</p>${pw.help ? html`<p class="hint">${m.directoryWhere} ${/^https:\/\//.test(pw.help) ? html`<a href="${pw.help}">${pw.help}</a>` : pw.help}</p>` : ''}`
      : html`<p id="password-managed">${m.upstream(pw.name)}</p>${pw.url ? html`<p><a class="button secondary" href="${pw.url}">${m.upstreamLink(pw.name)}</a></p>` : ''}`
}`;
  const emailPart =
    o.emailVerified === undefined
      ? ''
      : html`<h2>${m.emailHeading}</h2>
${o.emailVerified ? html`<p>${m.verified}</p>` : html`<p>${m.unverified}</p><form method="post" action="${`${o.base}/verify-email`}">${hidden('csrf', o.csrf)}<button type="submit" class="secondary">${m.sendVerification}</button></form>`}`;
  const allowed = o.allowed ?? ['totp', 'webauthn', 'push'];
  const factors = o.factors.length
    ? html`<ul class="factors" id="devices">${o.factors.map(
        (
          f,
        ) => html`<li><strong>${f.label}</strong> <span class="hint">${t('account.factorLine', { kind: factorKind(f.type), added: day(f.createdAt), used: day(f.lastUsedAt) })}</span>
<form method="post" action="${`${o.base}/factors/${f.id}/remove`}">${hidden('csrf', o.csrf)}<button type="submit" class="secondary">${t('account.remove', { label: f.label })}</button></form></li>`,
      )}</ul>
<p class="hint">${t('account.recoveryLeft', { left: o.recoveryLeft })}</p>`
    : html`<p>${t('account.mfaOff')}</p>`;
  const remembered = o.remembered?.length
    ? html`<h2>${t('account.remembered')}</h2>
<ul class="factors" id="remembered">${o.remembered.map(
        (
          r,
        ) => html`<li><strong>${r.label}</strong> <span class="hint">${t('account.rememberedLine', { since: day(r.createdAt), until: day(r.expiresAt) })}</span>
<form method="post" action="${`${o.base}/remembered/${r.id}/forget`}">${hidden('csrf', o.csrf)}<button type="submit" class="secondary">${t('account.forget', { label: r.label })}</button></form></li>`,
      )}</ul>`
    : '';
  const sessions = o.sessions
    ? html`<h2>${t('account.sessions')}</h2>
${
  o.sessions.length
    ? html`<ul class="factors" id="sessions">${o.sessions.map(
        (x) => html`<li><strong>${x.device}</strong>${x.current ? html` <span class="notice">${t('account.thisBrowser')}</span>` : ''}
<span class="hint">${x.ip ? t('account.sessionFrom', { ip: x.ip }) : ''}${t('account.sessionLine', { started: when(x.startedAt), seen: when(x.lastSeenAt), ends: when(x.expiresAt) })}${x.apps.length ? t('account.sessionApps', { apps: x.apps.join(', ') }) : ''}</span>
<form method="post" action="${`${o.base}/sessions/${encodeURIComponent(x.id)}/end`}">${hidden('csrf', o.csrf)}<button type="submit" class="secondary">${x.current ? t('account.signOutThis') : t('account.signOutDevice', { device: x.device })}</button></form></li>`,
      )}</ul>`
    : html`<p>${t('account.noSessions')}</p>`
}`
    : '';
  const add = [
    allowed.includes('push') && html`<a class="button secondary" href="${`${o.base}/push`}">${t('account.addPush')}</a>`,
    allowed.includes('totp') && html`<a class="button secondary" href="${`${o.base}/totp`}">${t('account.addTotp')}</a>`,
    allowed.includes('webauthn') && html`<a class="button secondary" href="${`${o.base}/passkey`}">${t('account.addPasskey')}</a>`,
  ];
  return layout({
    title: t('account.title'),
    branding: o.branding,
    body: html`
<h1>${t('account.title')}</h1>
<p class="who">${o.name ? `${o.name} · ${o.email}` : o.email}</p>
${o.notice ? html`<p class="notice" role="status">${o.notice}</p>` : ''}
${passwordPart}
${emailPart}
<h2>${t('account.mfa')}</h2>
${factors}
${add}
${remembered}
${sessions}
<h2>${t('account.language')}</h2>
<form method="post" action="${`${o.base}/language`}" id="language-form">
${hidden('csrf', o.csrf)}
<label for="locale">${t('account.language')}</label>
<select id="locale" name="locale">${LOCALES.map((l) => html`<option value="${l}" lang="${l}"${l === o.locale ? html` selected` : ''}>${LOCALE_NAMES[l]}</option>`)}</select>
<p class="hint">${t('account.languageHint')}</p>
<button type="submit" class="secondary">${t('account.languageSave')}</button>
</form>`,
  });
}

/** Adding the Gatehouse Authenticator: the QR code of the setup link, the code as text, and a wait for the phone. */
export function pushEnrollPage(o: {
  qrSvg: string;
  link: string;
  code: string;
  slug: string;
  statusUrl: string;
  doneUrl: string;
  backUrl: string;
  notice?: string;
  branding?: Branding;
}): string {
  return layout({
    title: t('enroll.push.title'),
    branding: o.branding,
    body: html`
<h1>${t('enroll.push.title')}</h1>
<p>${t('enroll.push.scan')}</p>
${o.notice ? html`<p class="notice" role="status">${o.notice}</p>` : ''}
<div class="qr">${unsafeRaw('the QR code is an SVG the qrcode library drew from our own link or secret', o.qrSvg)}</div>
<p class="hint">${th('enroll.push.cantScan', { link: html`<a id="setup-link" href="${o.link}">${t('enroll.push.setupLink')}</a>`, address: html`<code>${o.link.slice(0, o.link.indexOf('#'))}</code>`, code: html`<code id="setup-code">${`${o.slug}/${o.code}`}</code>` })}</p>
<p class="hint" id="enroll-status" role="status" data-enroll-status="${o.statusUrl}" data-enroll-done="${o.doneUrl}">${t('enroll.push.waiting')}</p>
<a class="button" href="${o.doneUrl}">${t('enroll.push.added')}</a>
<script type="module" src="/assets/push.js"></script>
<p class="links"><a href="${o.backUrl}">${t('common.cancel')}</a></p>`,
  });
}

export function totpEnrollPage(o: {
  qrSvg: string;
  secret: string;
  csrf: string;
  action: string;
  error?: string;
  backUrl: string;
  branding?: Branding;
}): string {
  return layout({
    title: t('enroll.totp.title'),
    branding: o.branding,
    body: html`
<h1>${t('enroll.totp.title')}</h1>
<p>${t('enroll.totp.scan')}</p>
<div class="qr">${unsafeRaw('the QR code is an SVG the qrcode library drew from our own link or secret', o.qrSvg)}</div>
<p class="hint">${t('enroll.totp.cantScan')} <code id="totp-secret">${o.secret.replace(/(.{4})/g, '$1 ').trim()}</code></p>
<form method="post" action="${o.action}" novalidate>
${hidden('csrf', o.csrf)}
<label for="label">${t('common.name')}</label>
<input id="label" name="label" type="text" maxlength="60" value="${t('enroll.totp.defaultName')}">
<label for="code">${t('enroll.totp.code')}</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required${o.error ? html` aria-invalid="true" aria-describedby="form-error"` : ''}>
${errorBox(o.error)}
<button type="submit">${t('enroll.totp.submit')}</button>
</form>
<p class="links"><a href="${o.backUrl}">${t('common.cancel')}</a></p>`,
  });
}

export function recoveryCodesPage(o: { codes: string[]; backUrl: string; branding?: Branding }): string {
  return layout({
    title: t('enroll.recovery.title'),
    branding: o.branding,
    body: html`
<h1>${t('enroll.recovery.heading')}</h1>
<p>${t('enroll.recovery.keep')} <strong>${t('enroll.recovery.once')}</strong></p>
<ul class="codes" id="recovery-codes">${o.codes.map((c) => html`<li><code>${c}</code></li>`)}</ul>
<a class="button" href="${o.backUrl}">${t('common.done')}</a>`,
  });
}

export function passkeyEnrollPage(o: { options: unknown; csrf: string; action: string; backUrl: string; error?: string; branding?: Branding }): string {
  return layout({
    title: t('enroll.passkey.title'),
    branding: o.branding,
    body: html`
<h1>${t('enroll.passkey.title')}</h1>
<p>${t('enroll.passkey.intro')}</p>
${errorBox(o.error)}
${passkeyForm({ action: o.action, csrf: o.csrf, options: o.options, mode: 'create', button: t('enroll.passkey.create'), label: true })}
<noscript><p>${t('enroll.passkey.noScript')}</p></noscript>
<p class="links"><a href="${o.backUrl}">${t('common.cancel')}</a></p>`,
  });
}
