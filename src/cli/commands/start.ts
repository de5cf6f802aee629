// `gatehouse start` runs the server in this process; `gatehouse token` prints an admin token.
import { opt, str, whole, UsageError, type Command } from '../args.ts';
import { token } from '../client.ts';

export const startCommands: Record<string, Command> = {
  start: {
    usage: 'gatehouse start [--import FILE] [--workers N]',
    summary: 'Start the server in the foreground (settings from the environment; see docs/configuration.md).',
    options: { import: str, workers: str },
    json: false,
    async run(o) {
      const workers = whole(o, 'workers');
      if (workers !== undefined && workers < 1) throw new UsageError('--workers must be at least 1.');
      await (await import('../../main.ts')).main({ importFile: opt(o, 'import'), workers });
    },
  },
  token: {
    usage: 'gatehouse token [--json]',
    summary: 'Print an admin access token (use it as GATEHOUSE_ADMIN_TOKEN; valid 1 hour).',
    async run(_o, _a, out) {
      const t = await token();
      out.print(t, { access_token: t });
    },
  },
};
