// The password rules of issue 17 for every new password a user chooses (reset, change on the
// account page, a required change): the minimum length, not a common or breached password
// (a list shipped with the package), not the user's email or username. Each refusal says
// what to do instead.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../directory/passwords.ts';
import { messages } from './messages.ts';

let common: Set<string> | undefined;
/**
 * The common and breached passwords: zxcvbn-ts's list (about 49,000, ranked from breach
 * corpora; MIT) plus a few this product's users would reach for (common-passwords.txt: the
 * product's and hospitals' words). Loaded on first use, so a server that never checks a
 * password does not hold it.
 */
function commonPasswords(): Set<string> {
  if (!common) {
    const { dictionary } = createRequire(import.meta.url)('@zxcvbn-ts/language-common') as { dictionary: Record<string, string[]> };
    const ours = fs
      .readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    common = new Set([...(dictionary['passwords-common'] ?? []), ...ours].map((p) => p.toLowerCase()));
  }
  return common;
}

/** Is the password (or it without trailing digits and symbols) on the common list? */
export function isCommonPassword(password: string): boolean {
  const lower = password.trim().toLowerCase();
  const base = lower.replace(/[\d\W_]+$/u, '');
  const list = commonPasswords();
  return list.has(lower) || (base.length >= 4 && list.has(base));
}

/** Why a new password is refused, or undefined when it passes. */
export function passwordProblem(password: string, user: { email: string; username: string | null }): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return messages.password.tooShort(MIN_PASSWORD_LENGTH);
  if (password.length > MAX_PASSWORD_LENGTH) return messages.password.tooLong(MAX_PASSWORD_LENGTH);
  const lower = password.trim().toLowerCase();
  const local = user.email.slice(0, user.email.lastIndexOf('@')).toLowerCase();
  if (lower === user.email.toLowerCase() || lower === local || (user.username && lower === user.username.toLowerCase())) return messages.password.personal;
  if (isCommonPassword(password)) return messages.password.common;
  return undefined;
}
