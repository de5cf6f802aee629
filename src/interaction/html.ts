// Escaping and the shared page layout for every server-rendered page. Pages carry no
// script; styles come from one same-origin stylesheet, so the CSP can stay strict.
export const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A tenant's branding on its pages (see branding.ts): its stylesheet (background colour) and logo. */
export interface Branding { logoUrl?: string; stylesheet?: string }

// connect-src: the sign-in and account pages' scripts ask Gatehouse whether a push request or a
// phone's enrollment was answered.
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

export function layout(opts: { title: string; body: string; branding?: Branding }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(opts.title)} · Gatehouse</title>
<link rel="stylesheet" href="/assets/gatehouse.css">
${opts.branding?.stylesheet ? `<link rel="stylesheet" href="${esc(opts.branding.stylesheet)}">` : ''}
</head>
<body>
<main class="card">
${opts.branding?.logoUrl ? `<img class="logo" alt="" src="${esc(opts.branding.logoUrl)}">` : '<p class="brand">Gatehouse</p>'}
${opts.body}
</main>
</body>
</html>`;
}

export const hidden = (name: string, value: string) => `<input type="hidden" name="${esc(name)}" value="${esc(value)}">`;
