// The html tag escapes every interpolation unless it is SafeHtml; the escape hatch is explicit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { html, jsonScript, layout, SafeHtml, unsafeRaw } from '../src/interaction/html.ts';
import { messagePage, launcherPage } from '../src/interaction/pages.ts';

const hostile = `"><img src=x onerror=alert(1)><script>alert(2)</script>'\`=`;

test('html escapes text and attribute interpolations, quotes included', () => {
  const out = html`<p title="${hostile}">${hostile}</p>`.render();
  assert.doesNotMatch(out, /<img|<script|onerror=|"><|'|`/);
  assert.equal(
    out,
    `<p title="&#34;&#62;&#60;img src&#61;x onerror&#61;alert(1)&#62;&#60;script&#62;alert(2)&#60;/script&#62;&#39;&#96;&#61;">&#34;&#62;&#60;img src&#61;x onerror&#61;alert(1)&#62;&#60;script&#62;alert(2)&#60;/script&#62;&#39;&#96;&#61;</p>`,
  );
});

test('html passes nested templates and arrays of them through, escaping their own values once', () => {
  const items = ['<a>', 'b&c'].map((x) => html`<li>${x}</li>`);
  assert.equal(html`<ul>${items}</ul>`.render(), '<ul><li>&#60;a&#62;</li><li>b&#38;c</li></ul>');
  assert.equal(html`${null}${undefined}${false}${0}${[]}`.render(), '0');
  // A plain string that looks like markup is text, however it was built.
  assert.equal(html`${'<b>' + 'x' + '</b>'}`.render(), '&#60;b&#62;x&#60;/b&#62;');
});

test('only the html tag, unsafeRaw and jsonScript make SafeHtml; unsafeRaw wants a reason', () => {
  assert.equal(html`${unsafeRaw('a trusted SVG', '<svg></svg>')}`.render(), '<svg></svg>');
  assert.throws(() => unsafeRaw(' ', '<b>'), /unsafeRaw needs a reason/);
  assert.throws(() => new SafeHtml('<script>', Symbol('SafeHtml')), /made by the html tag/);
  // An object that merely looks like SafeHtml is escaped as text.
  assert.equal(html`${{ toString: () => '<b>' } as unknown as string}`.render(), '&#60;b&#62;');
  // Used as a plain string (a template without the tag, a join) it fails loudly, not silently.
  assert.throws(() => `${html`<b>x</b>`}`, /SafeHtml used as a plain string/);
  assert.throws(() => [html`<li>a</li>`, html`<li>b</li>`].join(''), /SafeHtml used as a plain string/);
});

test('jsonScript keeps a data block from ending its script element early', () => {
  const out = jsonScript('opts', { name: '</script><script>alert(1)</script>' }).render();
  assert.equal((out.match(/<\/script>/g) ?? []).length, 1);
  assert.deepEqual(JSON.parse(out.replace(/^<script[^>]*>|<\/script>$/g, '')), { name: '</script><script>alert(1)</script>' });
});

test('pages escape what they are given: layout title, message, launcher entries', () => {
  const page = messagePage({ title: hostile, message: hostile, detail: hostile, branding: { logoUrl: hostile, stylesheet: hostile } });
  assert.doesNotMatch(page, /<img src=x|<script>alert|onerror=alert/);
  const launcher = launcherPage({ email: hostile, signOutUrl: hostile, apps: [{ name: hostile, url: 'javascript:alert(1)', kind: 'oidc', logo: hostile }] });
  assert.doesNotMatch(launcher, /<img src=x|<script>alert|onerror=alert/);
  assert.equal(layout({ title: 't', body: html`<p>ok</p>` }).includes('<p>ok</p>'), true);
});
