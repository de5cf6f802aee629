// What the admin API answers, as the CLI reads it: the types come from the server's own zod
// schemas (type-only imports, erased at run time, so the CLI loads no server code), so a
// changed answer breaks the CLI's type check instead of its output.
import type { z } from 'zod';
import type { domainSchema } from '../admin/routes/domains.ts';
import type { keySchema } from '../admin/routes/keys.ts';
// The answers the console reads too (src/admin/shapes.ts: one set of types for server, console and CLI).
import type {
  branding as brandingSchema,
  connector as connectorSchema,
  directory as directorySchema,
  directoryTest as testSchema,
  deviceSessionView as deviceSessionSchema,
  group as groupSchema,
  mfaFactor as factor,
  ou as ouSchema,
  sessionView as sessionSchema,
  syncRun as runSchema,
  tenant as tenantSchema,
  upstream as upstreamSchema,
  upstreamCheck as checkSchema,
  app as appSchema,
  policy as policySchema,
  page,
  provisioningCode,
  syncStatus,
  workstation as workstationSchema,
  workstationCode as workstationCodeSchema,
  kerberosSettings as kerberosSchema,
} from '../admin/shapes.ts';
import type { userDetail } from '../admin/routes/users.ts';
import type { auditEvent, userSummary } from '../admin/schemas.ts';

/** A page of a list (any list: the items are the only part that differs). */
export type Page<T> = Omit<z.output<ReturnType<typeof page<z.ZodUnknown>>>, 'items'> & { items: T[] };

export type Tenant = z.output<typeof tenantSchema>;
export type User = z.output<typeof userSummary>;
export type UserDetail = z.output<typeof userDetail>;
export type Factor = z.output<typeof factor>;
export type Group = z.output<typeof groupSchema>;
export type Ou = z.output<typeof ouSchema>;
export type Domain = z.output<typeof domainSchema>;
export type App = z.output<typeof appSchema>;
export type CreatedApp = App & { clientSecret: string | null };
export interface AppSecret {
  clientId: string;
  clientSecret: string;
}
export type Key = z.output<typeof keySchema>;
export interface Rotation {
  activated: string[];
  retired: string[];
  created: string[];
  removed: string[];
  scheduled: Array<{ kid: string; alg: string; activatesAt: number }>;
}
export interface SecretRotation {
  resealed: Record<string, number>;
  unreadable: number;
  source: 'env' | 'file';
  next: string;
}
export type Directory = z.output<typeof directorySchema>;
export type SyncRun = z.output<typeof runSchema>;
export type DirectoryTest = z.output<typeof testSchema>;
export type SyncStatus = z.output<typeof syncStatus>;
export type Connector = z.output<typeof connectorSchema>;
export type ConnectorCode = z.output<typeof provisioningCode>;
export type Workstation = z.output<typeof workstationSchema>;
export type KerberosSettings = z.output<typeof kerberosSchema>;
export type WorkstationCode = z.output<typeof workstationCodeSchema>;
export type AuditEvent = z.output<typeof auditEvent>;
export type Session = z.output<typeof sessionSchema>;
export type DeviceSession = z.output<typeof deviceSessionSchema>;
export type Branding = z.output<typeof brandingSchema>;
export type Policy = z.output<typeof policySchema>;
export type PolicySettings = Policy['settings'];
export interface EffectivePolicy {
  policy: Policy | null;
  settings: PolicySettings;
}
export type Upstream = z.output<typeof upstreamSchema>;
export type UpstreamCheck = z.output<typeof checkSchema>;
