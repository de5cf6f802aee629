// The password rules of issue 17 for every new password a user chooses (reset, change on the
// account page, a required change): the minimum length, not a common or breached password
// (a list shipped with the package), not the user's email or username. Each refusal says
// what to do instead.
import fs from 'node:fs';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../directory/passwords.ts';
import { messages } from './messages.ts';

let common: Set<string> | undefined;
/** The bundled list, read once on first use. */
function commonPasswords(): Set<string> {
  common ??= new Set(
    fs
      .readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
      .split('\n')
      .map((l) => l.trim().toLowerCase())
      .filter((l) => l && !l.startsWith('#')),
  );
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
