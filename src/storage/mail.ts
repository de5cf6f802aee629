// The mail outbox: every message is written here first and sent by the leader's mail job
// (selfservice/mail.ts), so a request never waits for an SMTP server and a message survives a
// restart. A message is claimed before it is sent (a conditional update), so one node sends it
// even when two look at once.
import type { Kysely, Selectable } from 'kysely';
import type { DB, MailOutboxTable } from './schema.ts';
import { newId } from '../shared/crypto.ts';

export interface OutgoingMail {
  id: string;
  tenantId: string | null;
  to: string;
  fromName: string | null;
  subject: string;
  text: string;
  html: string;
  kind: string;
  attempts: number;
  nextAttemptAt: number;
  sentAt: number | null;
  failedAt: number | null;
  lastError: string | null;
  createdAt: number;
}

const toMail = (r: Selectable<MailOutboxTable>): OutgoingMail => ({
  id: r.id,
  tenantId: r.tenant_id,
  to: r.to_address,
  fromName: r.from_name,
  subject: r.subject,
  text: r.text_body,
  html: r.html_body,
  kind: r.kind,
  attempts: r.attempts,
  nextAttemptAt: Number(r.next_attempt_at),
  sentAt: r.sent_at === null ? null : Number(r.sent_at),
  failedAt: r.failed_at === null ? null : Number(r.failed_at),
  lastError: r.last_error,
  createdAt: Number(r.created_at),
});

export class MailStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async enqueue(m: {
    tenantId: string | null;
    to: string;
    fromName: string | null;
    subject: string;
    text: string;
    html: string;
    kind: string;
  }): Promise<OutgoingMail> {
    const now = Date.now();
    const row = {
      id: newId('mail_'),
      tenant_id: m.tenantId,
      to_address: m.to,
      from_name: m.fromName,
      subject: m.subject,
      text_body: m.text,
      html_body: m.html,
      kind: m.kind,
      attempts: 0,
      next_attempt_at: now,
      claimed_until: null,
      sent_at: null,
      failed_at: null,
      last_error: null,
      created_at: now,
    };
    await this.db.insertInto('mail_outbox').values(row).execute();
    return toMail(row);
  }

  async byId(id: string): Promise<OutgoingMail | undefined> {
    const r = await this.db.selectFrom('mail_outbox').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toMail(r);
  }

  /** Messages due now, claimed for `holdMs` by this sender; another sender skips them meanwhile. */
  async claimDue(now: number, limit: number, holdMs: number): Promise<OutgoingMail[]> {
    const due = await this.db
      .selectFrom('mail_outbox')
      .selectAll()
      .where('sent_at', 'is', null)
      .where('failed_at', 'is', null)
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
      .orderBy('next_attempt_at')
      .limit(limit)
      .execute();
    const claimed: OutgoingMail[] = [];
    for (const r of due) {
      const res = await this.db
        .updateTable('mail_outbox')
        .set({ claimed_until: now + holdMs })
        .where('id', '=', r.id)
        .where('sent_at', 'is', null)
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) claimed.push(toMail(r));
    }
    return claimed;
  }

  async markSent(id: string): Promise<void> {
    await this.db
      .updateTable('mail_outbox')
      .set((eb) => ({ sent_at: Date.now(), claimed_until: null, attempts: eb('attempts', '+', 1), last_error: null }))
      .where('id', '=', id)
      .execute();
  }

  /** A failed attempt: retried at `retryAt`, or given up (null). */
  async markFailed(id: string, error: string, retryAt: number | null): Promise<void> {
    const now = Date.now();
    await this.db
      .updateTable('mail_outbox')
      .set((eb) => ({
        attempts: eb('attempts', '+', 1),
        claimed_until: null,
        last_error: error.slice(0, 1000),
        ...(retryAt === null ? { failed_at: now } : { next_attempt_at: retryAt }),
      }))
      .where('id', '=', id)
      .execute();
  }

  /** Sent and given-up messages older than `before` go (their bodies hold links). */
  async purge(before: number): Promise<number> {
    const res = await this.db
      .deleteFrom('mail_outbox')
      .where('created_at', '<', before)
      .where((eb) => eb.or([eb('sent_at', 'is not', null), eb('failed_at', 'is not', null)]))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
