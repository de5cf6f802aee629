// The instance itself (superadministrators of the default tenant): rotating the instance secret.
import { z } from 'zod';
import { route } from '../route.ts';

export const instanceRoutes = [
  route({
    id: 'rotateInstanceSecret',
    method: 'post',
    path: '/instance/secret/rotate',
    tag: 'instance',
    access: 'instance',
    summary:
      "Re-seal every stored secret (signing keys, client secrets, bind passwords, second factors, ...) under the new instance secret and make it the instance's; see docs/operations.md",
    response: z.object({
      resealed: z.record(z.string(), z.number().int()).describe('values re-sealed, by table.column'),
      unreadable: z.number().int().describe('values no secret held could open, left as they were (the log names them)'),
      source: z
        .enum(['env', 'file'])
        .describe('env: GATEHOUSE_SECRET (the old one in GATEHOUSE_SECRET_PREVIOUS); file: the generated secret.key, replaced by a new one'),
      next: z.string().describe('what to do now'),
    }),
    async handler({ services, audit }) {
      const result = await services.instanceSecret.rotate(services.bus);
      const total = Object.values(result.resealed).reduce((a, b) => a + b, 0);
      await audit('admin.instance_secret.rotated', null, { source: result.source, resealed: total, unreadable: result.unreadable });
      return result;
    },
  }),
];
