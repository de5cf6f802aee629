// Languages in real Chromium (issue 17 point 5): a whole sign-in in Spanish from
// Accept-Language and in German from ui_locales, every step with its <html lang>; the picker
// keeps the step; the user's saved language (account page) beats the browser's once the
// password proved who it is, and never before; the tenant default; the logo's alt. Abuse:
// the picker's way back stays on this server, hostile languages are refused with a 400, the
// saved language needs the account page's form token. Self-service: the reset request page in
// the browser's language, the reset mail in the recipient's saved one. One server (SQLite: storage is not
// what is tested here; the locale column is in the store contract).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, freePort, LOOPBACK_OUTBOUND, type TestServer } from './helpers/server.ts';
import { startSmtp } from './helpers/smtp.ts';
import { waitFor } from './helpers/wait.ts';
import { startTestRp } from './helpers/test-rp.ts';
import { haveChromium, launch } from './helpers/browser.ts';
import { enrollTotp } from './helpers/totp.ts';
import { png } from './helpers/png.ts';

const skip = haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium): browser tests skipped';
let gh: TestServer;
let browser: Browser;
let crm: Awaited<ReturnType<typeof startTestRp>>;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
const issuer = () => `${gh.base}/t/default`;
const people = {
  carmen: { email: 'carmen@example.test', password: 'carmen-password-1' },
  dieter: { email: 'dieter@example.test', password: 'dieter-password-1' },
  paula: { email: 'paula@example.test', password: 'paula-password-1' },
};
/** Each person's recovery codes (a second factor usable once each, whatever the clock). */
const recovery: Record<string, string[]> = {};

before(async () => {
  if (skip) return;
  smtp = await startSmtp();
  gh = await startTestServer({ GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_MAIL_FROM: 'sso@example.test', ...LOOPBACK_OUTBOUND });
  browser = await launch();
  const port = await freePort();
  const r = await gh.api('POST', '/tenants/default/apps', {
    name: 'crm',
    displayName: 'Customer CRM',
    type: 'web',
    redirectUris: [`http://127.0.0.1:${port}/callback`],
  });
  assert.equal(r.status, 201);
  crm = await startTestRp({ issuer: issuer(), clientId: r.body.clientId, clientSecret: r.body.clientSecret, port });
  for (const [name, who] of Object.entries(people)) {
    assert.equal((await gh.api('POST', '/tenants/default/users', who)).status, 201);
    await gh.api('POST', `/tenants/default/apps/${r.body.clientId}/deployment/targets`, { type: 'user', ref: who.email });
    // Two-step verification, set up in English (no Accept-Language from this context).
    const context = await browser.newContext();
    const page = await context.newPage();
    await enrollTotp(page, issuer(), who);
    recovery[name] = await page.locator('#recovery-codes code').allTextContents();
    await context.close();
  }
});
after(async () => {
  await browser?.close();
  await crm?.close();
  await gh?.close();
  await smtp?.close();
});

const inLanguage = (acceptLanguage?: string): Promise<BrowserContext> =>
  browser.newContext(acceptLanguage ? { extraHTTPHeaders: { 'Accept-Language': acceptLanguage } } : {});
const lang = (page: Page) => page.locator('html').getAttribute('lang');
const h1 = async (page: Page) => (await page.locator('h1').textContent())?.trim();

test('Accept-Language: es: every step in Spanish, then the launcher and the account page', { skip }, async () => {
  const context = await inLanguage('es-ES,es;q=0.9,en;q=0.5');
  const page = await context.newPage();
  const csp: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) csp.push(m.text());
  });
  await page.goto(`${crm.base}/login`);
  assert.equal(await lang(page), 'es');
  assert.equal(await h1(page), 'Iniciar sesión');
  assert.match((await page.locator('.app').textContent()) ?? '', /para continuar en Customer CRM/);
  // The tenant takes an email or a username (the default): a name with spaces is neither.
  await page.getByLabel('Correo electrónico').fill('no es un correo');
  await page.getByRole('button', { name: 'Siguiente' }).click();
  assert.match((await page.getByRole('alert').textContent()) ?? '', /Escribe tu dirección de correo electrónico/);
  await page.getByLabel('Correo electrónico').fill(people.carmen.email);
  await page.getByRole('button', { name: 'Siguiente' }).click();
  assert.equal(await lang(page), 'es');
  assert.equal(await h1(page), 'Escribe tu contraseña');
  await page.getByLabel('Contraseña').fill('wrong-password');
  await page.getByRole('button', { name: 'Iniciar sesión' }).click();
  assert.match((await page.getByRole('alert').textContent()) ?? '', /no son correctos/);
  await page.getByLabel('Contraseña').fill(people.carmen.password);
  await page.getByRole('button', { name: 'Iniciar sesión' }).click();
  assert.equal(await lang(page), 'es');
  assert.equal(await h1(page), 'Verificación en dos pasos');
  await page.getByLabel('Código de tu aplicación de autenticación').fill('000000');
  await page.getByRole('button', { name: 'Verificar' }).click();
  assert.match((await page.getByRole('alert').textContent()) ?? '', /Ese código no es correcto/);
  await page.getByLabel('Código de tu aplicación de autenticación').fill(recovery.carmen!.pop()!);
  await page.getByRole('button', { name: 'Verificar' }).click();
  assert.equal(await page.locator('#user').textContent(), `Signed in as ${people.carmen.email}`);

  await page.goto(`${issuer()}/launcher`);
  assert.equal(await lang(page), 'es');
  assert.equal(await h1(page), 'Tus aplicaciones');
  // The app has no launch address, so the list is empty: said in Spanish.
  assert.match((await page.locator('main').textContent()) ?? '', /Todavía no se te ha asignado ninguna aplicación/);
  await page.getByRole('link', { name: 'Tu cuenta' }).click();
  assert.equal(await lang(page), 'es');
  assert.equal(await h1(page), 'Tu cuenta');
  // Dates in the language (Intl): a Spanish month abbreviation, not an ISO date.
  assert.match((await page.locator('#devices .hint').first().textContent()) ?? '', /aplicación de autenticación, añadido el \d{1,2} [a-z]{3,5}\.? \d{4}/);
  assert.deepEqual(csp, []);
  await context.close();
});

test('ui_locales=de: every step in German, whatever the browser says', { skip }, async () => {
  const context = await inLanguage('es');
  const page = await context.newPage();
  await page.goto(`${crm.base}/login?ui_locales=${encodeURIComponent('ja de-AT')}`);
  assert.equal(await lang(page), 'de');
  assert.equal(await h1(page), 'Anmelden');
  await page.getByLabel('E-Mail-Adresse').fill(people.dieter.email);
  await page.getByRole('button', { name: 'Weiter' }).click();
  assert.equal(await lang(page), 'de');
  assert.equal(await h1(page), 'Passwort eingeben');
  await page.getByLabel('Passwort').fill(people.dieter.password);
  await page.getByRole('button', { name: 'Anmelden' }).click();
  assert.equal(await lang(page), 'de');
  assert.equal(await h1(page), 'Bestätigung in zwei Schritten');
  assert.match((await page.locator('.hint').first().textContent()) ?? '', /Telefon verloren\?/);
  await page.getByLabel('Code aus Ihrer Authenticator-App').fill(recovery.dieter!.pop()!);
  await page.getByRole('button', { name: 'Bestätigen' }).click();
  assert.equal(await page.locator('#user').textContent(), `Signed in as ${people.dieter.email}`);
  await context.close();
});

test('the picker keeps the step: password page and second factor switch language in place', { skip }, async () => {
  const context = await inLanguage('es');
  const page = await context.newPage();
  await page.goto(`${crm.base}/login`);
  await page.getByLabel('Correo electrónico').fill(people.paula.email);
  await page.getByRole('button', { name: 'Siguiente' }).click();
  assert.equal(await h1(page), 'Escribe tu contraseña');
  assert.equal(await page.locator('nav.languages [aria-current]').textContent(), 'Español');
  await page.getByRole('link', { name: 'Deutsch' }).click();
  assert.equal(await lang(page), 'de');
  assert.equal(await h1(page), 'Passwort eingeben', 'still the password step, for the same email');
  assert.equal(await page.locator('.who').textContent(), people.paula.email);
  await page.getByLabel('Passwort').fill(people.paula.password);
  await page.getByRole('button', { name: 'Anmelden' }).click();
  assert.equal(await h1(page), 'Bestätigung in zwei Schritten');
  await page.getByRole('link', { name: 'Français' }).click();
  assert.equal(await lang(page), 'fr');
  assert.equal(await h1(page), 'Validation en deux étapes', 'still the second factor');
  await page.getByLabel('Code de votre application d’authentification').fill(recovery.paula!.pop()!);
  await page.getByRole('button', { name: 'Vérifier' }).click();
  assert.equal(await page.locator('#user').textContent(), `Signed in as ${people.paula.email}`);
  // The choice is this browser's for the visit: the account page follows it.
  await page.goto(`${issuer()}/account`);
  assert.equal(await h1(page), 'Votre compte');
  await page.getByRole('link', { name: 'Ajouter une application d’authentification' }).click();
  assert.equal(await h1(page), 'Ajouter une application d’authentification');
  // Signed in, the picker also saves the user's language (a form with the page's token) and
  // stays on the page.
  await page.getByRole('button', { name: 'Deutsch' }).click();
  assert.equal(await lang(page), 'de');
  assert.equal(await h1(page), 'Authenticator-App hinzufügen');
  assert.equal(new URL(page.url()).pathname, '/t/default/account/totp');
  assert.equal((await gh.api('GET', '/tenants/default/users?search=paula')).body.items[0].locale, 'de');
  await context.close();
});

test('the saved language: set on the account page, it beats the browser once the password proved who it is, not before', { skip }, async () => {
  const setter = await inLanguage('en');
  const page = await setter.newPage();
  await page.goto(`${crm.base}/login`);
  await page.getByLabel('Email').fill(people.carmen.email);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Password').fill(people.carmen.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Code from your authenticator app').fill(recovery.carmen!.pop()!);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.goto(`${issuer()}/account`);
  await page.locator('#locale').selectOption('fr');
  await page.getByRole('button', { name: 'Save language' }).click();
  assert.equal(await lang(page), 'fr');
  assert.match((await page.getByRole('status').first().textContent()) ?? '', /Votre langue a été enregistrée/);
  const saved = (await gh.api('GET', '/tenants/default/users?search=carmen')).body.items[0];
  assert.equal(saved.locale, 'fr', 'the admin API shows the saved language');
  const audit = (await gh.api('GET', '/tenants/default/audit?type=account.language_changed')).body;
  assert.ok(JSON.stringify(audit).includes('"locale":"fr"'), 'audited');
  await setter.close();

  const other = await inLanguage('es');
  const p2 = await other.newPage();
  await p2.goto(`${crm.base}/login`);
  await p2.getByLabel('Correo electrónico').fill(people.carmen.email);
  await p2.getByRole('button', { name: 'Siguiente' }).click();
  assert.equal(await h1(p2), 'Escribe tu contraseña', 'typing an email does not reveal its language (nor that the account exists)');
  await p2.getByLabel('Contraseña').fill(people.carmen.password);
  await p2.getByRole('button', { name: 'Iniciar sesión' }).click();
  assert.equal(await lang(p2), 'fr');
  assert.equal(await h1(p2), 'Validation en deux étapes');
  await other.close();

  // An administrator can clear it (and cannot set a language Gatehouse does not have).
  assert.equal((await gh.api('PATCH', `/tenants/default/users/${saved.id}`, { locale: 'xx' })).status, 400);
  const cleared = await gh.api('PATCH', `/tenants/default/users/${saved.id}`, { locale: null });
  assert.equal(cleared.status, 200);
  assert.equal(cleared.body.locale, null);
});

test("the tenant default language and the logo's alt text", { skip }, async () => {
  const b = (await gh.api('GET', '/tenants/default/branding')).body;
  assert.equal(b.defaultLocale, 'en');
  assert.equal((await gh.api('PATCH', '/tenants/default/branding', { defaultLocale: 'klingon', version: b.version })).status, 400);
  const logo = `data:image/png;base64,${png(120, 40).toString('base64')}`;
  const set = await gh.api('PATCH', '/tenants/default/branding', { defaultLocale: 'fr', logo, version: b.version });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  assert.equal(set.body.defaultLocale, 'fr');
  try {
    const context = await inLanguage('ja');
    const page = await context.newPage();
    await page.goto(`${crm.base}/login`);
    assert.equal(await lang(page), 'fr', 'no language of the browser is one Gatehouse has: the tenant default');
    assert.equal(await h1(page), 'Connexion');
    const tenant = (await gh.api('GET', '/tenants/default')).body;
    assert.equal(await page.locator('img.logo').getAttribute('alt'), tenant.name, 'the logo is named by the organization');
    await context.close();
  } finally {
    await gh.api('PATCH', '/tenants/default/branding', { defaultLocale: 'en', logo: null, version: set.body.version });
  }
});

test('abuse: the picker goes back only to this server; hostile languages get a 400; saving needs the form token', { skip }, async () => {
  for (const back of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', '/t/default/x\r\nSet-Cookie: a=b']) {
    const r = await fetch(`${gh.base}/lang?${new URLSearchParams({ set: 'de', back })}`, { redirect: 'manual' });
    assert.equal(r.status, 400, back);
    assert.equal(r.headers.get('location'), null);
    assert.equal(r.headers.get('set-cookie'), null);
  }
  const bad = await fetch(`${gh.base}/lang?set=${encodeURIComponent('<script>')}&back=/`, { redirect: 'manual' });
  assert.equal(bad.status, 400);
  assert.doesNotMatch(await bad.text(), /<script>/);
  const ok = await fetch(`${gh.base}/lang?set=de&back=${encodeURIComponent('/t/default/launcher')}`, { redirect: 'manual' });
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.get('location'), '/t/default/launcher');
  assert.match(ok.headers.get('set-cookie') ?? '', /^gh_lang=de; path=\/; samesite=lax; httponly/);
  // A forged cookie value is ignored, not echoed.
  const forged = await fetch(`${issuer()}/account`, { headers: { cookie: 'gh_lang="><script>', 'accept-language': 'de' }, redirect: 'manual' });
  assert.ok(forged.status < 500);
  // Saving a language without the account page's session and token: refused, nothing saved.
  const post = await fetch(`${issuer()}/account/language`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'locale=de&csrf=x',
    redirect: 'manual',
  });
  assert.equal(post.status, 403);
  // ui_locales that is hostile or absurdly long is just not a language.
  const r = await fetch(`${crm.base}/login?ui_locales=${encodeURIComponent('"><script>'.repeat(200))}`, { redirect: 'manual' });
  const auth = await fetch(r.headers.get('location')!, { redirect: 'manual' });
  assert.ok(auth.status < 500, `authorization answered ${auth.status}`);
});

test("the Gatehouse Authenticator in the browser's language; its requests announced, not their countdown", { skip }, async () => {
  const r = await fetch(`${gh.base}/authenticator/`, { headers: { 'accept-language': 'fr-CA,fr;q=0.9' } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('vary') ?? '', /Accept-Language/);
  const body = await r.text();
  assert.match(body, /<html lang="fr">/);
  assert.match(body, /<label for="setup-code">Code de configuration<\/label>/);
  assert.doesNotMatch(body, /\{\{/, 'every mark filled');
  assert.match(body, /<section id="requests"><\/section>/, 'the requests (with their countdown) are not a live region');
  assert.match(body, /<p id="announce" class="sr-only" role="alert" aria-live="assertive"><\/p>/);
  const strings = JSON.parse(/<script type="application\/json" id="strings">(.*?)<\/script>/s.exec(body)![1]!);
  assert.equal(strings['auth.approve'], 'Approuver');
  assert.equal(strings['auth.tenLeft'], 'Plus que 10 secondes pour répondre à la demande de connexion.');
  assert.ok(
    Object.keys(strings).every((k) => k.startsWith('auth.')),
    "only the app's own texts",
  );
  // In a real browser: the app starts and speaks the page's language.
  const context = await inLanguage('de');
  const page = await context.newPage();
  await page.goto(`${gh.base}/authenticator/`);
  assert.equal(await lang(page), 'de');
  assert.equal(await page.locator('#add h2').textContent(), 'Konto hinzufügen');
  assert.equal(await page.getByLabel('Name dieses Telefons').inputValue(), 'Chrome auf Linux', "app.js uses the page's words");
  await context.close();
});

/** A received mail's subject and text, MIME encodings undone (encoded words, quoted-printable). */
function decoded(m: { subject: string; text: string }) {
  const bytes = (qp: string) =>
    Buffer.from(
      qp.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  const subject = m.subject.replace(/\s*=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_, enc: string, v: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(v, 'base64').toString('utf8') : bytes(v.replace(/_/g, ' ')),
  );
  return { subject: subject.trim(), text: bytes(m.text) };
}

test("self-service in Spanish: the reset request page follows the browser, the reset mail the user's saved language", { skip }, async () => {
  const forgot = `${issuer()}/selfservice/forgot`;
  const page = await fetch(forgot, { headers: { 'accept-language': 'es' } });
  assert.equal(page.status, 200);
  const body = await page.text();
  assert.match(body, /<html lang="es"/);
  assert.match(body, /<h1>Restablece tu contraseña<\/h1>/);
  assert.match(body, /Enviar enlace de restablecimiento/);

  // Rosa saved Spanish; she asks from a German browser: the answer is German, her mail Spanish.
  const rosa = { email: 'rosa@example.test', password: 'rosa-password-1' };
  const created = await gh.api('POST', '/tenants/default/users', rosa);
  assert.equal(created.status, 201);
  assert.equal((await gh.api('PATCH', `/tenants/default/users/${created.body.id}`, { locale: 'es' })).status, 200);
  const asked = await fetch(forgot, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'de' },
    body: new URLSearchParams({ identifier: rosa.email }),
  });
  assert.equal(asked.status, 200);
  const answer = await asked.text();
  assert.match(answer, /<html lang="de"/);
  assert.match(answer, /Prüfen Sie Ihre E-Mails/);
  await waitFor(() => smtp.to(rosa.email).length > 0, { what: "Rosa's reset mail" });
  const mail = decoded(smtp.to(rosa.email)[0]!);
  assert.equal(mail.subject, 'Restablece tu contraseña de Default organization');
  assert.match(mail.text, /Alguien \(esperamos que tú\) ha pedido restablecer la contraseña de tu cuenta/);
  assert.match(mail.text, /Elegir una contraseña nueva: https?:\/\/\S+token=/);
  assert.match(mail.text, /<html lang="es"/);
  assert.doesNotMatch(mail.text, /Someone \(hopefully you\)/);
  // The link's page speaks the browser's language, and offers no picker: its way back would
  // copy the link's secret into another address.
  const link = /https?:\/\/\S+?token=[A-Za-z0-9_-]+/.exec(mail.text)![0];
  const reset = await (await fetch(link, { headers: { 'accept-language': 'es' } })).text();
  assert.match(reset, /<h1>Elige una contraseña nueva<\/h1>/);
  assert.doesNotMatch(reset, /class="languages"/);

  // Hostile input on the Spanish page: a clear 400 in Spanish, never a 5xx.
  const empty = await fetch(forgot, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'es' },
    body: 'identifier=%00%01',
  });
  assert.equal(empty.status, 400);
  assert.match(await empty.text(), /Lo que has escrito contiene caracteres/);
});

test("SAML and workstation pages a person sees follow the browser's language", { skip }, async () => {
  const es = { headers: { 'accept-language': 'es' } };
  const saml = await fetch(`${issuer()}/saml/launch/no-such-app`, es);
  assert.equal(saml.status, 404);
  const samlPage = await saml.text();
  assert.match(samlPage, /<html lang="es"/);
  assert.match(samlPage, /No hay ninguna aplicación SAML que abrir en esta dirección/);
  const ws = await fetch(`${issuer()}/workstation/open/not-a-real-link-token`, { ...es, redirect: 'manual' });
  assert.ok(ws.status >= 400 && ws.status < 500, `a 4xx, not ${ws.status}`);
  const wsPage = await ws.text();
  assert.match(wsPage, /<html lang="es"/);
  assert.match(wsPage, /Vuelve a abrir la aplicación desde el puesto de trabajo o inicia sesión con tu contraseña/);
});
