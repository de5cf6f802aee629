// Schemas several admin route files share: lists (search, cursor, limit -> items, nextCursor),
// versions, and the records that appear in more than one resource.
import { z } from 'zod';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../storage/paging.ts';

export const listQuery = z.object({
  search: z.string().max(200).optional().describe('case-insensitive text to find (which fields: see the list)'),
  cursor: z.string().max(1000).optional().describe('nextCursor of the page before'),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE).describe(`page size, 1-${MAX_PAGE_SIZE}`),
});

export const page = <T extends z.ZodType>(item: T) => z.object({
  items: z.array(item),
  nextCursor: z.string().nullable().describe('pass as ?cursor= for the next page; null on the last page'),
});

/** In bodies of versioned edits: the version last seen (or send If-Match). */
export const version = z.number().int().min(0).optional().describe('the version you last saw; a stale one is refused with 409 version_conflict');

export const epochMs = z.number().int().describe('epoch milliseconds');

export const role = z.enum(['superadmin', 'admin', 'helpdesk', 'auditor']);

export const userSummary = z.object({
  id: z.string(),
  tenantId: z.string(),
  email: z.string(),
  domain: z.string(),
  givenName: z.string().nullable(),
  familyName: z.string().nullable(),
  status: z.enum(['active', 'disabled']),
  ouId: z.string().nullable(),
  roles: z.array(role),
  hasPassword: z.boolean(),
  upstreamId: z.string().nullable().describe('the upstream directory that keeps this user\'s names and email'),
  directoryId: z.string().nullable().describe('the LDAP directory that keeps this user (they sign in with its password)'),
  createdAt: epochMs,
  updatedAt: epochMs,
  version: z.number().int(),
  mayManage: z.boolean().describe('whether you may change, disable, delete, unlock this account, reset its password or two-step verification, end its sessions or change its groups: false when it holds a role you do not hold (see "Who may act on whom")'),
});

export const deploymentTarget = z.object({
  type: z.enum(['user', 'group', 'ou', 'domain']),
  id: z.string(),
  label: z.string().describe('the email, group name, OU path or domain'),
});

export const auditEvent = z.object({
  id: z.string(),
  at: epochMs,
  type: z.string(),
  level: z.enum(['info', 'warn', 'error']),
  actor: z.string().nullable().describe('the administrator who made the change'),
  subject: z.string().nullable(),
  userId: z.string().nullable(),
  clientId: z.string().nullable(),
  ip: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
});
