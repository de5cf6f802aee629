// Shared mobile devices (OpenID Connect Native SSO): list device sessions, check one in.
import { flag, has, paging, tenant, type Command } from '../args.ts';
import { enc, inTenant, listing, request } from '../client.ts';
import { minute, printList } from '../output.ts';
import type { DeviceSession } from '../types.ts';

const deviceRow = (s: DeviceSession) => [
  s.id,
  s.deviceName ?? s.deviceId ?? '(unnamed device)',
  s.email ?? s.userId,
  s.group,
  s.status,
  `started ${minute(s.startedAt)}`,
  s.endedAt ? `ended ${minute(s.endedAt)} (${s.endReason})` : `ends ${minute(s.expiresAt)}`,
  s.apps.map((a) => a.name).join(', ') || '-',
];

export const deviceCommands: Record<string, Command> = {
  'device list': {
    usage: 'gatehouse device list --tenant SLUG [--all] [--limit N] [--cursor CURSOR] [--json]',
    summary: 'List shared-device sessions (Native SSO), newest first: device, user, group, shift start and end, apps. --all includes ended ones.',
    options: { ...tenant, all: flag, ...paging },
    async run(o, _a, out) {
      printList(
        out,
        await listing<DeviceSession>(o, `${inTenant(o)}/devices${has(o, 'all') ? '?all=true' : ''}`),
        deviceRow,
        has(o, 'all') ? 'No device sessions.' : 'No checked-out devices.',
      );
    },
  },
  'device checkin': {
    usage: 'gatehouse device checkin --tenant SLUG [--json] [--] DEVICE_SESSION_ID',
    summary: 'Check a device in (see device list): its tokens are revoked in every app and its apps get back-channel logout.',
    options: tenant,
    positionals: 1,
    async run(o, [id], out) {
      const r = await request<{ checkedIn: boolean }>('POST', `${inTenant(o)}/devices/${enc(id!)}/checkin`);
      out.print(r.checkedIn ? `Checked in ${id}: its sign-in ended in every app.` : `${id} had already ended; nothing to do.`, r);
    },
  },
};
