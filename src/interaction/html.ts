// HTML that escapes by default, and the shared page layout for every server-rendered page.
// Pages are built with the `html` tag: every interpolation is escaped unless it is already
// SafeHtml (a nested `html` template, or an array of them), so a forgotten call cannot open an
// XSS hole. Pages load their scripts from same-origin files (/assets/*.js), never inline, and
// styles from same-origin stylesheets, so the CSP below stays strict.
export const esc = (v: unknown): string => String(v ?? '').replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Markup that is safe to place in a page as is. Only `html`, `unsafeRaw` and `jsonScript` make one. */
export class SafeHtml {
  readonly #value: string;
  constructor(value: string, token: symbol) {
    if (token !== minted) throw new TypeError('SafeHtml is made by the html tag, not constructed');
    this.#value = value;
  }
  /** The markup, for the one place that sends it (layout) and for tests. */
  render(): string {
    return this.#value;
  }
  // Turning SafeHtml into a string by accident (a template without the tag, a .join()) would
  // have it escaped a second time as text, or passed on where nothing checks it: fail loudly.
  toString(): string {
    throw new TypeError('SafeHtml used as a plain string: interpolate it in an html template (arrays are fine, no .join())');
  }
}
const minted = Symbol('SafeHtml');

type Interpolation = SafeHtml | string | number | boolean | null | undefined | false | ReadonlyArray<Interpolation>;

const piece = (v: Interpolation): string =>
  v instanceof SafeHtml ? v.render() : Array.isArray(v) ? v.map(piece).join('') : v === null || v === undefined || v === false ? '' : esc(v);

/** The tag: `html\`<p>${userText}</p>\`` escapes userText; nested html templates pass through. */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += piece(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out, minted);
}

/** The escape hatch: markup trusted as is. `reason` says why at the call site (and in review). */
export function unsafeRaw(reason: string, markup: string): SafeHtml {
  if (!reason.trim()) throw new TypeError('unsafeRaw needs a reason');
  return new SafeHtml(markup, minted);
}

/** A JSON data block a page's script reads (type application/json: never executed). HTML
 *  entities are not decoded inside <script>, so it is encoded for that context instead:
 *  `<` becomes \u003c, so no `</script>` can end the block early. */
export function jsonScript(id: string, value: unknown): SafeHtml {
  return new SafeHtml(`<script type="application/json" id="${esc(id)}">${JSON.stringify(value).replace(/</g, '\\u003c')}</script>`, minted);
}

/** A tenant's branding on its pages (see branding.ts): its stylesheet (background colour), logo and name (the logo's alt text). */
export interface Branding {
  logoUrl?: string;
  stylesheet?: string;
  orgName?: string;
}

import { currentLocale, LOCALE_NAMES, LOCALES, pickerBack, pickerSave, t, type Locale } from '../i18n/index.ts';

// connect-src: the sign-in and account pages' scripts ask Gatehouse whether a push request or a
// phone's enrollment was answered.
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/** The whole document, as the string a route sends. The body must be SafeHtml: a plain string
 *  cannot reach a page unescaped. */
export function layout(opts: { title: string; body: SafeHtml; branding?: Branding }): string {
  const lang = currentLocale();
  return html`<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${t('layout.title', { title: opts.title })}</title>
<link rel="stylesheet" href="/assets/gatehouse.css">
${opts.branding?.stylesheet ? html`<link rel="stylesheet" href="${opts.branding.stylesheet}">` : ''}
</head>
<body>
<main class="card">
${opts.branding?.logoUrl ? html`<img class="logo" alt="${opts.branding.orgName ?? ''}" src="${opts.branding.logoUrl}">` : html`<p class="brand">Gatehouse</p>`}
${opts.body}
${languagePicker(lang)}
</main>
</body>
</html>`.render();
}

/**
 * Inside the card (on its background, whatever the tenant's colour: readable contrast).
 * Links to the same page in each other language (/lang sets the gh_lang cookie and sends the
 * browser back): plain links, no script, so the strict CSP holds. Shown when the step said how
 * to show it again (pickerBack), which every GET page and the POST-rendered steps do.
 */
function languagePicker(lang: Locale): SafeHtml | '' {
  const back = pickerBack();
  if (!back) return '';
  // Signed in on the account pages: the same choice, posted with the page's form token, also
  // becomes the user's saved language.
  const save = pickerSave();
  if (save) {
    return html`<nav class="languages" aria-label="${t('layout.language')}"><form method="post" action="${save.action}"><input type="hidden" name="csrf" value="${save.csrf}"><input type="hidden" name="back" value="${back}"><ul>${LOCALES.map(
      (l) =>
        l === lang
          ? html`<li><span lang="${l}" aria-current="true">${LOCALE_NAMES[l]}</span></li>`
          : html`<li><button type="submit" class="link" name="locale" value="${l}" lang="${l}">${LOCALE_NAMES[l]}</button></li>`,
    )}</ul></form></nav>`;
  }
  return html`<nav class="languages" aria-label="${t('layout.language')}"><ul>${LOCALES.map((l) =>
    l === lang
      ? html`<li><span lang="${l}" aria-current="true">${LOCALE_NAMES[l]}</span></li>`
      : html`<li><a lang="${l}" hreflang="${l}" href="${`/lang?${new URLSearchParams({ set: l, back })}`}">${LOCALE_NAMES[l]}</a></li>`,
  )}</ul></nav>`;
}

export const hidden = (name: string, value: string): SafeHtml => html`<input type="hidden" name="${name}" value="${value}">`;
