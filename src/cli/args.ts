// Argument parsing for the `gatehouse` command: the Command shape every noun file declares,
// typed accessors for parsed options (no casts in the commands), and the refusals of bad
// arguments (UsageError: the message and the command's usage go to stderr, exit 2).
import type { ParseArgsConfig } from 'node:util';
import fs from 'node:fs';
import type { Output } from './output.ts';

export type Opts = Record<string, string | boolean | string[] | undefined>;
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  usage: string;
  summary: string;
  options?: OptionSpec;
  positionals?: number; // exactly this many (or, with maxPositionals, at least)
  maxPositionals?: number;
  json?: false; // the command does not print JSON (start)
  run(o: Opts, args: string[], out: Output): Promise<void>;
}

/** Bad arguments: the message and the command's usage go to stderr, exit 2. */
export class UsageError extends Error {}

export const str = { type: 'string' } as const;
export const many = { type: 'string', multiple: true } as const;
export const flag = { type: 'boolean' } as const;
export const tenant = { tenant: str };
/** Lists: one page of at most --limit items after --cursor, instead of all of them. */
export const paging = { limit: str, cursor: str };

/** A string option, or undefined when not given. */
export const opt = (o: Opts, name: string): string | undefined => {
  const v = o[name];
  return typeof v === 'string' ? v : undefined;
};
/** A repeatable option's values, or undefined when not given. */
export const list = (o: Opts, name: string): string[] | undefined => {
  const v = o[name];
  return Array.isArray(v) ? v : undefined;
};
export const has = (o: Opts, name: string): boolean => o[name] !== undefined && o[name] !== false;

export const need = (o: Opts, name: string): string => {
  const v = opt(o, name);
  if (!v) throw new UsageError(`--${name} is required.`);
  return v;
};
export const whole = (o: Opts, name: string): number | undefined => {
  const v = opt(o, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number; got "${v}".`);
  return Number(v);
};
export function oneOf<const T extends string>(o: Opts, name: string, allowed: readonly T[]): T | undefined {
  const v = opt(o, name);
  if (v === undefined) return undefined;
  const found = allowed.find((a) => a === v);
  if (found === undefined) throw new UsageError(`--${name} must be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}; got "${v}".`);
  return found;
}
/** on|off options (a flag alone could not turn a setting off). */
export const onOff = (o: Opts, name: string): boolean | undefined => {
  const v = oneOf(o, name, ['on', 'off']);
  return v === undefined ? undefined : v === 'on';
};

/** A JSON object given inline (`{"a":1}`) or from a file (`@settings.json`). */
export function jsonObject(o: Opts, name: string): Record<string, unknown> | undefined {
  const v = opt(o, name);
  if (v === undefined) return undefined;
  let text = v;
  if (v.startsWith('@')) {
    try {
      text = fs.readFileSync(v.slice(1), 'utf8');
    } catch (e) {
      throw new UsageError(`Cannot read --${name} ${v}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--${name} must be a JSON object (or @FILE holding one); "${v.length > 60 ? `${v.slice(0, 60)}...` : v}" is not JSON.`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--${name} must be a JSON object like {"key": "value"}.`);
  return parsed as Record<string, unknown>;
}

/** The first line of standard input (for secrets given as `-`, so that `ps` does not show them). */
export async function firstLineOfStdin(prompt: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(`${prompt}: `);
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0]!.trim();
}

/**
 * A secret option: `-` reads it from standard input (its first line), else the value, which
 * is visible in the host's process list (`ps`) while the command runs.
 */
export async function secretArg(o: Opts, name: string, what: string): Promise<string | undefined> {
  const v = opt(o, name);
  if (v !== '-') return v;
  const line = await firstLineOfStdin(what[0]!.toUpperCase() + what.slice(1));
  if (!line) throw new UsageError(`--${name} - reads the ${what} from standard input, which was empty. Pipe it in.`);
  return line;
}

/**
 * The connector's provisioning code: `--code -` reads it from standard input (its first
 * line), else GATEHOUSE_CONNECTOR_CODE; `--code CODE` still works but shows the code in the
 * host's process list (`ps`), so the variable is taken out of the environment once read
 * and the documentation recommends the other two.
 */
export async function connectorCode(flagValue: string | undefined): Promise<string | undefined> {
  const fromEnv = process.env.GATEHOUSE_CONNECTOR_CODE?.trim() || undefined;
  delete process.env.GATEHOUSE_CONNECTOR_CODE;
  if (flagValue === '-') {
    const code = await firstLineOfStdin('Provisioning code');
    if (!code)
      throw new UsageError('--code - reads the provisioning code from standard input, which was empty. Pipe the code in, or set GATEHOUSE_CONNECTOR_CODE.');
    return code;
  }
  if (flagValue !== undefined && fromEnv) throw new UsageError('Give the provisioning code once: in GATEHOUSE_CONNECTOR_CODE or with --code, not both.');
  return flagValue ?? fromEnv;
}

/** A date option (2026-12-01 or an ISO time) as epoch ms. */
export function dateArg(o: Opts, name: string): number | undefined {
  const v = opt(o, name);
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`--${name} must be a date like 2026-12-01 or 2026-12-01T08:00Z; got "${v}".`);
  return t;
}
