// The store layer's writes of records people edit: a name (or other unique key) another row
// already holds is a 409 saying so rather than a driver error, and an update made against a
// version someone else has since changed is refused (optimistic locking).
import { sql, type UpdateQueryBuilder, type UpdateResult } from 'kysely';
import { assertUpdated, conflict, isUniqueViolation } from '../shared/errors.ts';

/** Run a write that may hit a unique constraint; that case is a 409 with `taken` (what to do next). */
export async function unlessTaken<T>(write: () => Promise<T>, taken: string): Promise<T> {
  try {
    return await write();
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict(taken);
    throw e;
  }
}

/**
 * Run an update of one row (the query already narrows it to the row and bumps its `version`):
 * with `version`, only while the row is still at it. Nothing updated is a 409 (stale, `what`) or
 * a 404 (`missing`), per assertUpdated; a unique key held by another row is a 409 with `taken`.
 */
export async function updateVersioned<DB, TB extends keyof DB>(
  q: UpdateQueryBuilder<DB, TB, TB, UpdateResult>,
  version: number | undefined,
  o: { exists: () => Promise<unknown>; what: string; missing: string; taken?: string },
): Promise<void> {
  // A raw reference: the builder's table is generic here, so its column names are not known to the type checker.
  const checked = version === undefined ? q : q.where(sql<boolean>`${sql.ref('version')} = ${version}`);
  const run = async () => assertUpdated(await checked.executeTakeFirst(), o.exists, o.what, o.missing);
  await (o.taken === undefined ? run() : unlessTaken(run, o.taken));
}
