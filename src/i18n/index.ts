// Languages of the pages people see: the catalogs (catalogs/<lang>.ts, one per language, all
// with the keys of en.ts), the negotiation of a request's language, and formatting with Intl.
//
// A page takes its strings with t('key', { placeholder }) (plain text, escaped by the html tag
// like any other interpolation) or th('key', { placeholder: html`…` }) when a placeholder is
// markup (a <strong> name). The language is the request's: each request runs in a locale
// scope (withLocaleScope, entered in http.ts) that holds what negotiation needs, and the code
// that learns more (the interaction's ui_locales, the tenant, the signed-in user) adds it with
// noteLocale. A scope rather than a parameter because page helpers (errors, waits, the
// layout) are called from deep inside services and steps; threading a language through every
// one of them would touch every signature and be forgotten in new ones.
import { AsyncLocalStorage } from 'node:async_hooks';
import { html, type SafeHtml } from '../interaction/html.ts';
import { en, type MessageKey } from './catalogs/en.ts';
import { es } from './catalogs/es.ts';
import { fr } from './catalogs/fr.ts';
import { de } from './catalogs/de.ts';

export type { MessageKey } from './catalogs/en.ts';
export type Catalog = Record<MessageKey, string>;

export const LOCALES = ['en', 'es', 'fr', 'de'] as const;
export type Locale = (typeof LOCALES)[number];
export const CATALOGS: Record<Locale, Catalog> = { en, es, fr, de };
/** Each language's name in itself, for the picker. */
export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', es: 'Español', fr: 'Français', de: 'Deutsch' };

export const isLocale = (v: unknown): v is Locale => typeof v === 'string' && (LOCALES as readonly string[]).includes(v);

/** The supported language a BCP 47 tag names (`es-MX` -> es), or undefined. */
export function localeOf(tag: string | null | undefined): Locale | undefined {
  const primary = String(tag ?? '')
    .trim()
    .toLowerCase()
    .split(/[-_]/)[0];
  return isLocale(primary) ? primary : undefined;
}

/** The first supported language of an Accept-Language header, by quality (RFC 9110 12.5.4). */
export function fromAcceptLanguage(header: string | null | undefined): Locale | undefined {
  if (!header) return undefined;
  const ranges = header
    .slice(0, 1000)
    .split(',')
    .map((part, i) => {
      const [tag, ...params] = part.split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      return { tag: tag!.trim(), q: q === undefined ? 1 : Number(q), i };
    })
    .filter((r) => r.tag && r.q > 0 && Number.isFinite(r.q));
  ranges.sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranges) {
    const l = localeOf(r.tag);
    if (l) return l;
  }
  return undefined;
}

/** The first supported language of an OIDC ui_locales value (space-separated tags, in order). */
export const fromUiLocales = (v: unknown): Locale | undefined => (typeof v === 'string' ? v.slice(0, 500).split(/\s+/).map(localeOf).find(Boolean) : undefined);

/** What a request tells about its language; each source may be missing. */
export interface LocaleInputs {
  /** The picker's choice in this browser (gh_lang cookie). */
  picked?: string | null;
  /** The OIDC authorization request's ui_locales. */
  uiLocales?: unknown;
  /** The signed-in user's saved language. */
  user?: string | null;
  acceptLanguage?: string | null;
  /** The tenant's default language (its branding settings). */
  tenantDefault?: string | null;
}

/**
 * The language of a page. The picker comes first: it is the person's own word on this very
 * page, and without it a page opened with ui_locales could never be switched. Then the issue's
 * order: ui_locales, the user's saved choice, Accept-Language, the tenant default, English.
 */
export function negotiate(i: LocaleInputs): Locale {
  return (
    (isLocale(i.picked) ? i.picked : undefined) ??
    fromUiLocales(i.uiLocales) ??
    (isLocale(i.user) ? i.user : undefined) ??
    fromAcceptLanguage(i.acceptLanguage) ??
    (isLocale(i.tenantDefault) ? i.tenantDefault : undefined) ??
    'en'
  );
}

/** A request's scope: what negotiation knows so far, and where the picker sends the browser back to. */
export interface LocaleScope extends LocaleInputs {
  /** A GET address showing the same step again (the picker's way back); none: no picker. */
  back?: string;
  /** Signed in (the account page): the picker is a form that also saves the user's language, with that page's CSRF token. */
  save?: { action: string; csrf: string };
}

const scopes = new AsyncLocalStorage<LocaleScope>();

/** Runs fn (a request) with its own locale scope. */
export const withLocaleScope = <T>(init: LocaleScope, fn: () => T): T => scopes.run({ ...init }, fn);

/**
 * Runs fn in `locale` whatever the request around it says: a mail is written in its
 * recipient's language, not in the language of the browser that caused it.
 */
export const inLocale = <T>(locale: Locale, fn: () => T): T => scopes.run({ picked: locale }, fn);

/** Adds what this request has learnt (the tenant, ui_locales, the user, the picker's way back). */
export function noteLocale(patch: Partial<LocaleScope>): void {
  const s = scopes.getStore();
  if (s) Object.assign(s, patch);
}

/** The picker's way back for this page, if any, and where a signed-in user's choice is saved. */
export const pickerBack = (): string | undefined => scopes.getStore()?.back;
export const pickerSave = (): LocaleScope['save'] => scopes.getStore()?.save;

/** The current request's language (English outside a request). */
export function currentLocale(): Locale {
  const s = scopes.getStore();
  return s ? negotiate(s) : 'en';
}

const fill = (text: string, vars: Record<string, string | number> = {}) =>
  text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));

/** A message of the current language, placeholders filled (numbers formatted for the language). */
export function t(key: MessageKey, vars: Record<string, string | number> = {}, locale: Locale = currentLocale()): string {
  const formatted = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, typeof v === 'number' ? formatNumber(v, locale) : v]));
  return fill(CATALOGS[locale][key] ?? en[key], formatted);
}

/** A message as markup: its text escaped, its placeholders given as html templates (or text). */
export function th(key: MessageKey, vars: Record<string, SafeHtml | string | number>, locale: Locale = currentLocale()): SafeHtml {
  const text = CATALOGS[locale][key] ?? en[key];
  const parts: Array<SafeHtml | string> = [];
  let last = 0;
  for (const m of text.matchAll(/\{(\w+)\}/g)) {
    parts.push(text.slice(last, m.index));
    const v = vars[m[1]!];
    parts.push(v === undefined ? m[0] : typeof v === 'number' ? formatNumber(v, locale) : v);
    last = m.index! + m[0].length;
  }
  parts.push(text.slice(last));
  return html`${parts}`;
}

export const formatNumber = (n: number, locale: Locale = currentLocale()): string => new Intl.NumberFormat(locale).format(n);

/** A day and time in the page's language (UTC: the server does not know the browser's zone, so it says so). */
export const formatDateTime = (ms: number, locale: Locale = currentLocale()): string =>
  `${new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(ms)} UTC`; // dateStyle excludes timeZoneName

export const formatDate = (ms: number, locale: Locale = currentLocale()): string =>
  new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' }).format(ms);

/** A wait, as words ("30 seconds", "2 Minuten"), rounded up to minutes past one minute. */
export function formatWait(seconds: number, locale: Locale = currentLocale()): string {
  const [value, unit] = seconds < 60 ? [seconds, 'second'] : [Math.ceil(seconds / 60), 'minute'];
  return new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(value);
}

/** The placeholders of a message, sorted (the catalogs' test compares them across languages). */
export const placeholdersOf = (text: string): string[] => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
