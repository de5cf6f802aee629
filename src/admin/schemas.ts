// Schemas several admin route files share: lists (search, cursor, limit -> items, nextCursor),
// versions, and the records that appear in more than one resource.
import { z } from 'zod';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../storage/paging.ts';

export const listQuery = z.object({
  search: z.string().max(200).optional().describe('case-insensitive text to find (which fields: see the list)'),
  cursor: z.string().max(1000).optional().describe('nextCursor of the page before'),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE).describe(`page size, 1-${MAX_PAGE_SIZE}`),
});

/** In bodies of versioned edits: the version last seen (or send If-Match). */
export const version = z.number().int().min(0).optional().describe('the version you last saw; a stale one is refused with 409 version_conflict');

// The response shapes moved to shapes.ts (which the console and the CLI import types from);
// re-exported here for the route files.
export { auditEvent, deploymentTarget, epochMs, page, role, userSummary } from './shapes.ts';
