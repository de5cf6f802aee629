// Building blocks for text and URLs that people send: every admin API body and query, the
// import file, and the account page go through them.
//
// Text: control characters (C0 other than tab and line breaks, DEL, C1) have no business in
// names and settings and make logs, CSV exports and other systems' parsers misbehave; single-line
// fields (names) refuse line breaks and tabs too. Invalid UTF-8 cannot be seen after the body
// parser has decoded it: it has become U+FFFD (the replacement character), so U+FFFD is refused
// with a message saying the text was probably not sent as UTF-8. Lone surrogates (from \ud800
// escapes in JSON) are not text either.
//
// URLs: https only, plain http only for loopback hosts (development on this machine): no
// javascript:, data:, file: or other schemes in fields that browsers open or servers fetch.
import { z } from 'zod';

// eslint-disable-next-line no-control-regex
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this rule's job
const CONTROL_ANY = /[\u0000-\u001F\u007F-\u009F]/;
// eslint-disable-next-line no-control-regex
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this rule's job
const CONTROL_MULTILINE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const codePoint = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** What is wrong with this text, or undefined. `multiline`: tab and line breaks are allowed. */
export function textProblem(s: string, multiline = false): string | undefined {
  const control = (multiline ? CONTROL_MULTILINE : CONTROL_ANY).exec(s);
  if (control) {
    return `contains the control character ${codePoint(control[0])}${multiline ? '' : ' (line breaks and tabs included)'} at position ${control.index + 1}; remove it`;
  }
  if (s.includes('\uFFFD')) return 'contains U+FFFD, the replacement character that invalid UTF-8 turns into; send the text encoded as UTF-8';
  if (LONE_SURROGATE.test(s)) return 'contains a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text; send valid Unicode';
  return undefined;
}

/**
 * Every string in a parsed body or file (object keys included), with the path of each problem.
 * Tab and line breaks are allowed here (certificates, descriptions); single-line fields use `text`.
 */
export function textProblems(value: unknown, path: string[] = [], out: Array<{ field: string; message: string }> = []) {
  if (out.length >= 20) return out;
  if (typeof value === 'string') {
    const p = textProblem(value, true);
    if (p) out.push({ field: path.join('.'), message: p });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      textProblems(v, [...path, String(i)], out);
    });
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const kp = textProblem(k, false);
      if (kp) out.push({ field: [...path, '(key)'].join('.'), message: `a field name ${kp}` });
      else textProblems(v, [...path, k], out);
    }
  }
  return out;
}

/** A single-line text field (names, display names): no control characters at all. */
export const text = () =>
  z.string().superRefine((s, ctx) => {
    const p = textProblem(s, false);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  });

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
export const isLoopbackHost = (hostname: string) => LOOPBACK_HOSTS.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);

/** Why this is not an acceptable web address (https, or http on loopback), or undefined. */
export function webUrlProblem(raw: string): string | undefined {
  const u = URL.parse(raw);
  if (!u) return 'is not a URL; write it in full, like https://app.example.com/';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:')
    return isLoopbackHost(u.hostname) ? undefined : 'must use https (plain http is allowed only for localhost / 127.0.0.1 during development)';
  return `must be an https:// address (${u.protocol} is not allowed)`;
}

/** A web address field: https only, http only on loopback hosts. */
export const webUrl = () =>
  z
    .string()
    .trim()
    .min(1)
    .max(2000)
    .superRefine((s, ctx) => {
      const p = textProblem(s, false) ?? webUrlProblem(s);
      if (p) ctx.addIssue({ code: 'custom', message: p });
    });
