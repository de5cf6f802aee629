// Web app login configuration: the sign-in pages' colour and logo, the session lifetime.
import fs from 'node:fs';
import { opt, str, tenant, whole, UsageError, type Command } from '../args.ts';
import { inTenant, request } from '../client.ts';
import { table } from '../output.ts';
import type { Branding } from '../types.ts';

export const brandingCommands: Record<string, Command> = {
  'branding show': {
    usage: 'gatehouse branding show --tenant SLUG [--json]',
    summary: "Show the sign-in pages' background colour and logo, and the session lifetime.",
    options: tenant,
    async run(o, _a, out) {
      const b = await request<Branding>('GET', `${inTenant(o)}/branding`);
      out.print(
        table(
          [
            ['background colour', b.backgroundColor ?? "none (Gatehouse's own)"],
            ['logo', b.logo ? `${b.logo.slice(5, b.logo.indexOf(';'))}, ${Math.round((b.logo.length * 0.75) / 1024)} KB` : 'none'],
            ['session lifetime', b.sessionLifetimeMinutes ? `${b.sessionLifetimeMinutes} minutes` : 'off'],
          ],
          '',
        ),
        b,
      );
    },
  },
  'branding set': {
    usage: 'gatehouse branding set --tenant SLUG [--background-color #RRGGBB|none] [--logo FILE|none] [--session-lifetime MINUTES] [--json]',
    summary:
      "Change the sign-in pages' background colour or logo (PNG, GIF or JPG, at most 250 KB and 200 x 150 pixels), or the session lifetime (0 = off, or 30-5760 minutes).",
    options: { ...tenant, 'background-color': str, logo: str, 'session-lifetime': str },
    async run(o, _a, out) {
      const body: Record<string, unknown> = {};
      const color = opt(o, 'background-color');
      if (color !== undefined) body.backgroundColor = color === 'none' ? null : color;
      const logo = opt(o, 'logo');
      if (logo !== undefined) {
        if (logo === 'none') body.logo = null;
        else {
          let bytes: Buffer;
          try {
            bytes = fs.readFileSync(logo);
          } catch (e) {
            throw new UsageError(`Cannot read --logo ${logo}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
          }
          // The server checks the real type from the bytes; the declared one is only a label.
          body.logo = `data:image/png;base64,${bytes.toString('base64')}`;
        }
      }
      if (opt(o, 'session-lifetime') !== undefined) body.sessionLifetimeMinutes = whole(o, 'session-lifetime');
      if (Object.keys(body).length === 0) throw new UsageError('Give at least one of --background-color, --logo, --session-lifetime.');
      const b = await request<Branding>('PATCH', `${inTenant(o)}/branding`, body);
      out.print('Saved. The sign-in pages show it now.', b);
    },
  },
};
