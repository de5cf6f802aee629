// The catalogs are complete (every language has exactly English's keys, with the same
// placeholders, and no empty text), negotiation follows the documented order, and the pages
// carry the language they show. Pure functions: well under a second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CATALOGS,
  fromAcceptLanguage,
  fromUiLocales,
  LOCALES,
  negotiate,
  placeholdersOf,
  t,
  formatDate,
  formatDateTime,
  formatWait,
  withLocaleScope,
  noteLocale,
  currentLocale,
} from '../src/i18n/index.ts';
import { locale as localeShape } from '../src/admin/shapes.ts';
import { isLocalPath } from '../src/i18n/routes.ts';
import { identifierPage, totpPage } from '../src/interaction/pages.ts';

const en = CATALOGS.en;

test('every catalog has exactly the English keys, the same placeholders, and no empty or untranslated-looking text', () => {
  for (const lang of LOCALES) {
    const cat = CATALOGS[lang] as Record<string, string>;
    const missing = Object.keys(en).filter((k) => !(k in cat));
    const extra = Object.keys(cat).filter((k) => !(k in en));
    assert.deepEqual(missing, [], `${lang} misses keys`);
    assert.deepEqual(extra, [], `${lang} has keys English does not`);
    for (const [k, v] of Object.entries(en)) {
      assert.ok(cat[k]!.trim(), `${lang} ${k} is empty`);
      assert.deepEqual(placeholdersOf(cat[k]!), placeholdersOf(v), `${lang} ${k}: placeholders differ from English`);
    }
  }
});

test('the other languages are translated, not copies of English', () => {
  for (const lang of LOCALES.filter((l) => l !== 'en')) {
    const cat = CATALOGS[lang] as Record<string, string>;
    // Brand names and the page title pattern stay as they are; most text must differ.
    const same = Object.keys(en).filter((k) => cat[k] === (en as Record<string, string>)[k]);
    assert.ok(same.length < Object.keys(en).length * 0.05, `${lang}: ${same.length} texts are identical to English: ${same.join(', ')}`);
  }
});

test("the admin API offers exactly the catalogs' languages", () => {
  assert.deepEqual([...localeShape.options].sort(), [...LOCALES].sort());
});

test('negotiation: picker, then ui_locales, then the saved choice, then Accept-Language, then the tenant default, then English', () => {
  assert.equal(negotiate({}), 'en');
  assert.equal(negotiate({ tenantDefault: 'fr' }), 'fr');
  assert.equal(negotiate({ tenantDefault: 'fr', acceptLanguage: 'es-MX,es;q=0.9,en;q=0.5' }), 'es');
  assert.equal(negotiate({ tenantDefault: 'fr', acceptLanguage: 'es', user: 'de' }), 'de');
  assert.equal(negotiate({ tenantDefault: 'fr', acceptLanguage: 'es', user: 'de', uiLocales: 'ja fr-CA' }), 'fr');
  assert.equal(negotiate({ tenantDefault: 'fr', acceptLanguage: 'es', user: 'de', uiLocales: 'fr', picked: 'en' }), 'en');
  // Unknown or hostile values fall through to the next source.
  assert.equal(negotiate({ picked: 'xx', uiLocales: 'zz', user: 'klingon', acceptLanguage: '*', tenantDefault: 'nope' }), 'en');
  assert.equal(fromAcceptLanguage('en;q=0.1, de;q=0.8, fr;q=0'), 'de');
  assert.equal(fromAcceptLanguage('fr;q=0, ja'), undefined);
  assert.equal(fromAcceptLanguage('a'.repeat(100_000)), undefined);
  assert.equal(fromUiLocales({ not: 'a string' }), undefined);
  assert.equal(fromUiLocales('de-AT es'), 'de');
});

test('messages fill placeholders and format numbers and waits in the language', () => {
  assert.equal(t('mfa.remember', { days: 30 }, 'de'), 'Dieses Gerät 30 Tage lang merken');
  assert.equal(t('account.recoveryLeft', { left: 1000 }, 'de'), 'Noch 1.000 von 10 Wiederherstellungscodes übrig.');
  assert.equal(formatWait(30, 'en'), '30 seconds');
  assert.equal(formatWait(1, 'en'), '1 second');
  assert.equal(formatWait(90, 'en'), '2 minutes');
  assert.equal(formatWait(90, 'es'), '2 minutos');
  assert.equal(formatWait(30, 'fr').replace(/\s/g, ' '), '30 secondes', 'French puts a no-break space before the unit');
});

test("a page carries <html lang> of the language it shows, and only the picker's local way back", () => {
  const page = withLocaleScope({ acceptLanguage: 'fr', back: '/t/acme/interaction/abc' }, () => identifierPage({ csrf: 'x', action: '/a' }));
  assert.match(page, /<html lang="fr">/);
  assert.match(page, /<h1>Connexion<\/h1>/);
  assert.match(page, /href="\/lang\?set&#61;de&#38;back&#61;%2Ft%2Facme%2Finteraction%2Fabc"/);
  assert.match(page, /<span lang="fr" aria-current="true">Français<\/span>/);
  // Outside a request: English, no picker.
  const plain = identifierPage({ csrf: 'x', action: '/a' });
  assert.match(plain, /<html lang="en">/);
  assert.doesNotMatch(plain, /\/lang\?/);
  for (const bad of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '/ok\r\nSet-Cookie: x', '', '/' + 'a'.repeat(3000)])
    assert.equal(isLocalPath(bad), false, bad);
  assert.equal(isLocalPath('/t/acme/interaction/abc/identify?email=a%40b.c'), true);
});

test('a route learns the language as it goes (noteLocale) and the page follows', () => {
  withLocaleScope({ acceptLanguage: 'es' }, () => {
    assert.equal(currentLocale(), 'es');
    noteLocale({ uiLocales: 'de' });
    assert.equal(currentLocale(), 'de');
  });
});

test('the push countdown is not a live region; one separate status speaks at the start and at 10 seconds', () => {
  const page = withLocaleScope({ acceptLanguage: 'es' }, () =>
    totpPage({
      csrf: 'x',
      action: '/a',
      email: 'a@b.c',
      restartAction: '/r',
      kinds: ['push'],
      push: { number: 42, statusUrl: '/s', secondsLeft: 30, devices: ['Pixel', 'iPhone'] },
    }),
  );
  assert.match(page, /<p class="hint" id="push-countdown" aria-hidden="true">La solicitud caduca dentro de 30 segundos\.<\/p>/);
  assert.match(page, /id="push-status" role="status" aria-live="polite" data-ten-left="Quedan 10 segundos para aprobar la solicitud\."/);
  assert.match(page, /\(Pixel e iPhone\)/, 'lists in the language (Intl.ListFormat: "y" becomes "e" before an i)');
});

test('dates are formatted per language, in UTC, said so', () => {
  const ms = Date.UTC(2026, 11, 7, 14, 5);
  assert.equal(formatDateTime(ms, 'en'), 'Dec 7, 2026, 2:05 PM UTC');
  assert.equal(formatDateTime(ms, 'de'), '07.12.2026, 14:05 UTC');
  assert.match(formatDate(ms, 'es'), /^7 dic 2026$/);
});

test("a mail is written in the recipient's language: their saved one, else the tenant default, never the request's", async () => {
  const { mailLocale } = await import('../src/selfservice/service.ts');
  const { inLocale } = await import('../src/i18n/index.ts');
  const { messages } = await import('../src/selfservice/messages.ts');
  const tenant = (defaultLocale?: string) => ({ settings: { branding: defaultLocale ? { defaultLocale } : {} } }) as never;
  assert.equal(mailLocale(tenant('fr'), { locale: 'es' }), 'es');
  assert.equal(mailLocale(tenant('fr'), { locale: null }), 'fr');
  assert.equal(mailLocale(tenant(), { locale: null }), 'en');
  assert.equal(mailLocale(tenant('de'), { locale: 'xx' }), 'de', 'a stored value that is not a language falls through');
  // Inside a Spanish browser's request, inLocale still writes German.
  withLocaleScope({ acceptLanguage: 'es' }, () => {
    assert.equal(messages.mail.reset.action, 'Elegir una contraseña nueva');
    assert.equal(
      inLocale('de', () => messages.mail.reset.action),
      'Neues Passwort wählen',
    );
    assert.equal(currentLocale(), 'es', 'the request keeps its language afterwards');
  });
});
