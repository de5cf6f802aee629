// What each administrator role may do in the console; the admin API enforces the same rules
// (docs/admin-api.md), so hiding a control is a courtesy, never the protection.
import type { z } from 'zod';
import type { role } from '../../src/admin/shapes.ts';
export type Role = z.output<typeof role>;

export interface Me {
  userId: string;
  email: string;
  tenant: string;
  roles: Role[] /** superadmin of the default tenant: administers every tenant */;
  instanceAdmin?: boolean;
}

const any = (me: Me, ...roles: Role[]) => me.roles.includes('superadmin') || me.roles.some((r) => roles.includes(r));

export const can = {
  configureApps: (me: Me) => me.roles.includes('superadmin'),
  viewApps: (me: Me) => any(me, 'admin', 'helpdesk', 'auditor'),
  deploy: (me: Me) => any(me, 'admin'),
  viewUsers: (me: Me) => any(me, 'admin', 'helpdesk'),
  manageUsers: (me: Me) => any(me, 'admin'),
  grantRoles: (me: Me) => me.roles.includes('superadmin'),
  helpdesk: (me: Me) => any(me, 'admin', 'helpdesk'),
  viewPolicies: (me: Me) => any(me, 'admin', 'helpdesk', 'auditor'),
  managePolicies: (me: Me) => any(me, 'admin'),
  viewLogs: (me: Me) => any(me, 'admin', 'auditor'),
  viewKeys: (me: Me) => any(me, 'admin', 'auditor'),
  rotateKeys: (me: Me) => me.roles.includes('superadmin'),
  branding: (me: Me) => me.roles.includes('superadmin'),
  sessions: (me: Me) => any(me, 'admin', 'helpdesk'),
  /** Workstations: admins, auditors and helpdesk see them; admins enroll, admins and helpdesk revoke. */
  viewWorkstations: (me: Me) => any(me, 'admin', 'auditor', 'helpdesk'),
  manageWorkstations: (me: Me) => any(me, 'admin'),
  revokeWorkstations: (me: Me) => any(me, 'admin', 'helpdesk'),
  /** Kerberos: admins and auditors see it, superadmins change it. */
  viewKerberos: (me: Me) => any(me, 'admin', 'auditor'),
  manageKerberos: (me: Me) => me.roles.includes('superadmin'),
  viewUpstreams: (me: Me) => any(me, 'admin', 'auditor'),
  manageUpstreams: (me: Me) => me.roles.includes('superadmin'),
  /** Check an upstream's discovery now (its Test button). */
  testUpstreams: (me: Me) => any(me, 'admin'),
  /** LDAP / Active Directory directories and connectors: admins and auditors read, admins sync, superadmins change. */
  viewDirectories: (me: Me) => any(me, 'admin', 'auditor'),
  syncDirectories: (me: Me) => any(me, 'admin'),
  manageDirectories: (me: Me) => me.roles.includes('superadmin'),
  /** Superadmins of the default tenant administer every tenant. */
  tenants: (me: Me) => me.instanceAdmin ?? (me.tenant === 'default' && me.roles.includes('superadmin')),
};

export const roleLabel = (roles: Role[]) => (roles.length ? roles.join(', ') : 'no administrator role');
