// The `gatehouse` command. `start` runs the server in this process; `backup` and `restore` work
// on the data directory (a backup is safe while the server runs; a restore makes a new one);
// every other command talks to a running server's admin API (never to the store), so it is
// safe while it runs.
// Exit codes: 0 done, 1 the server refused or could not be reached, 2 bad arguments or settings.
//
// This file only dispatches: commands are declared per noun in commands/ (usage, options and a
// small function each; help is generated from them), the admin API client is client.ts,
// argument helpers args.ts, printing output.ts.
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import { flag, UsageError, type Command, type Opts } from './args.ts';
import { ApiError, DEFAULT_URL, SetupError } from './client.ts';
import { output } from './output.ts';
import { appCommands } from './commands/app.ts';
import { auditCommands } from './commands/audit.ts';
import { backupCommands } from './commands/backup.ts';
import { brandingCommands } from './commands/branding.ts';
import { mailCommands } from './commands/mail.ts';
import { connectorCommands } from './commands/connector.ts';
import { agentCommands, workstationCommands } from './commands/agent.ts';
import { kerberosCommands } from './commands/kerberos.ts';
import { directoryCommands } from './commands/directory.ts';
import { domainCommands, groupCommands, ouCommands } from './commands/group.ts';
import { keyCommands, secretCommands } from './commands/keys.ts';
import { overviewCommands } from './commands/overview.ts';
import { policyCommands } from './commands/policy.ts';
import { sessionCommands } from './commands/session.ts';
import { deviceCommands } from './commands/device.ts';
import { startCommands } from './commands/start.ts';
import { tenantCommands } from './commands/tenant.ts';
import { upstreamCommands } from './commands/upstream.ts';
import { userCommands } from './commands/user.ts';

export { UsageError };

// In the order `gatehouse --help` lists them.
const commands: Record<string, Command> = {
  ...startCommands,
  ...backupCommands,
  ...overviewCommands,
  ...tenantCommands,
  ...userCommands,
  ...groupCommands,
  ...ouCommands,
  ...domainCommands,
  ...appCommands,
  ...keyCommands,
  ...secretCommands,
  ...policyCommands,
  ...upstreamCommands,
  ...directoryCommands,
  ...connectorCommands,
  ...agentCommands,
  ...workstationCommands,
  ...kerberosCommands,
  ...auditCommands,
  ...sessionCommands,
  ...deviceCommands,
  ...brandingCommands,
  ...mailCommands,
};

// ---- help
const groupOf = (prefix: string) => Object.entries(commands).filter(([k]) => k.startsWith(`${prefix} `));
const commandHelp = (c: Command) => `Usage: ${c.usage}\n\n${c.summary}`;

export function help(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  return [
    'Usage: gatehouse COMMAND [options]',
    '',
    ...Object.entries(commands).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`),
    '',
    `Admin commands talk to the running server at GATEHOUSE_URL (default ${DEFAULT_URL}), signing in with`,
    'GATEHOUSE_ADMIN_EMAIL + GATEHOUSE_ADMIN_PASSWORD (GATEHOUSE_ADMIN_TENANT, default "default") or GATEHOUSE_ADMIN_TOKEN.',
    '--json prints one JSON document. Lists print every item unless given --limit N (and --cursor CURSOR for the next page).',
    "`gatehouse help COMMAND` shows a command's usage. Docs: docs/cli.md",
  ].join('\n');
}

function groupHelp(prefix: string): string {
  return `Usage:\n${groupOf(prefix)
    .map(([, c]) => `  ${c.usage}`)
    .join('\n')}\n\n\`gatehouse help ${prefix} SUBCOMMAND\` shows what each does.`;
}

function version(): string {
  return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

// ---- entry point
export async function run(argv: string[]): Promise<void> {
  const [first, second] = argv;
  if (first === undefined || first === '--help' || first === '-h') {
    console.log(help());
    return;
  }
  if (first === '--version' || first === '-v') {
    console.log(version());
    return;
  }
  if (first === 'help') {
    const topic = argv.slice(1).join(' ');
    const c = commands[topic];
    if (!topic) console.log(help());
    else if (c) console.log(commandHelp(c));
    else if (groupOf(topic).length) console.log(groupHelp(topic));
    else {
      console.error(`Unknown command "${topic}".\n\n${help()}`);
      process.exitCode = 2;
    }
    return;
  }
  const name = second !== undefined && commands[`${first} ${second}`] ? `${first} ${second}` : first;
  const cmd = commands[name];
  if (!cmd) {
    const group = groupOf(first).length > 0;
    const what = group && second !== undefined && !second.startsWith('-') ? `${first} ${second}` : first;
    console.error(
      group && (second === undefined || second.startsWith('-'))
        ? `"gatehouse ${first}" needs a subcommand.\n\n${groupHelp(first)}`
        : `Unknown command "${what}".\n\n${group ? groupHelp(first) : help()}`,
    );
    process.exitCode = 2;
    return;
  }
  try {
    let parsed;
    try {
      const options = { help: { type: 'boolean', short: 'h' }, ...(cmd.json === false ? {} : { json: flag }), ...cmd.options } as const;
      parsed = parseArgs({ args: argv.slice(name.split(' ').length), options, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (parsed.values.help) {
      console.log(commandHelp(cmd));
      return;
    }
    const expected = cmd.positionals ?? 0;
    const got = parsed.positionals.length;
    if (got < expected) throw new UsageError(`Missing argument${expected - got > 1 ? 's' : ''}: expected ${expected}, got ${got}.`);
    if (got > (cmd.maxPositionals ?? expected)) throw new UsageError(`Unexpected argument "${parsed.positionals[cmd.maxPositionals ?? expected]}".`);
    const values: Opts = parsed.values;
    await cmd.run(values, parsed.positionals, output(values.json === true));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${e.message}\n\nUsage: ${cmd.usage}\n(\`gatehouse help ${name}\` for details)`);
      process.exitCode = 2;
      return;
    }
    if (e instanceof SetupError) {
      console.error(e.message);
      process.exitCode = 2;
      return;
    }
    if (e instanceof ApiError) {
      console.error(e.message);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}

if (import.meta.main) await run(process.argv.slice(2));
