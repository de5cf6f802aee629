// Audit log exports: CSV (one row per event, for spreadsheets) and JSON (an array), written
// as they are read so that a large export does not sit in memory.
import type { AuditEvent } from '../storage/audit.ts';

export const CSV_COLUMNS = ['id', 'time', 'level', 'type', 'actor', 'subject', 'userId', 'clientId', 'ip', 'message', 'data'] as const;

/**
 * One CSV cell (RFC 4180 quoting). A cell that a spreadsheet would read as a formula (=, +,
 * -, @, tab, carriage return) gets a leading apostrophe, so an exported log cannot run one.
 */
export function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function* csvLines(events: AsyncIterable<Omit<AuditEvent, 'tenantId'>>): AsyncGenerator<string> {
  yield CSV_COLUMNS.join(',') + '\r\n';
  for await (const e of events) {
    const { message, ...rest } = e.data as { message?: unknown };
    const row = [e.id, new Date(e.at).toISOString(), e.level, e.type, e.actor, e.subject, e.userId, e.clientId, e.ip, message ?? '', JSON.stringify(rest)];
    yield row.map(csvCell).join(',') + '\r\n';
  }
}

export async function* jsonArray<T>(items: AsyncIterable<T>): AsyncGenerator<string> {
  yield '[';
  let first = true;
  for await (const item of items) {
    yield (first ? '\n' : ',\n') + JSON.stringify(item);
    first = false;
  }
  yield first ? ']\n' : '\n]\n';
}
