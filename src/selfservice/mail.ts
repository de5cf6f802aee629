// Outgoing mail (issue 17): messages are queued in the store (storage/mail.ts) and sent by the
// leader's mail job through SMTP (nodemailer), retried with backoff; a request never waits for
// an SMTP server. Every message has a plain-text and an HTML part, the latter with the
// tenant's branding (colour and logo).
import nodemailer, { type Transporter } from 'nodemailer';
import type pino from 'pino';
import type { Config } from '../config/index.ts';
import type { MailStore, OutgoingMail } from '../storage/mail.ts';
import type { Tenant } from '../storage/tenants.ts';
import { brandingOf } from '../interaction/branding.ts';
import { html, type SafeHtml } from '../interaction/html.ts';
import { selfServiceOf } from './settings.ts';
import { messages } from './messages.ts';
import { currentLocale } from '../i18n/index.ts';

/** Wait before each retry: 1 minute, then longer; given up after the last. */
export const RETRY_DELAYS_MS = [60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000, 3 * 3600_000, 6 * 3600_000];
/** How long a sender holds a claimed message before another may try it (a node that died). */
const CLAIM_MS = 2 * 60_000;

export interface MailContent {
  kind: 'test' | 'password_reset' | 'password_changed' | 'verify_email';
  subject: string;
  /** Paragraphs of plain text. */
  paragraphs: string[];
  /** A button (HTML) and a line with the link (text). */
  action?: { label: string; url: string };
  /** Paragraphs after the action. */
  after?: string[];
}

export interface MailServiceDeps {
  config: Pick<Config, 'smtpUrl' | 'mailFrom' | 'publicUrl'>;
  logger: pino.Logger;
  mailStore: MailStore;
  /** Whether this node sends (the leader); others only queue. */
  isLeader: () => boolean;
}

/** Header values must be one line: a CR or LF would start a new header (header injection). */
const oneLine = (s: string) => s.replace(/[\r\n\u2028\u2029]+/g, ' ').trim();

export class MailService {
  readonly store: MailStore;
  readonly #deps: MailServiceDeps;
  #transport: Transporter | undefined;
  #running: Promise<number> | undefined;
  #closed = false;

  constructor(deps: MailServiceDeps) {
    this.#deps = deps;
    this.store = deps.mailStore;
  }

  get configured(): boolean {
    return !!this.#deps.config.smtpUrl;
  }

  /** Queue a message to one address; the leader sends it soon (at once when this node leads). */
  async queue(tenant: Tenant, to: string, content: MailContent): Promise<OutgoingMail> {
    const fromName = oneLine(selfServiceOf(tenant).mailFromName ?? tenant.name);
    const m = await this.store.enqueue({
      tenantId: tenant.id,
      to: oneLine(to),
      fromName,
      subject: oneLine(content.subject),
      kind: content.kind,
      text: renderText(tenant, content),
      html: renderHtml(tenant, content, this.#deps.config.publicUrl).render(),
    });
    if (this.#deps.isLeader()) void this.deliverDue();
    return m;
  }

  /** Send what is due (the leader's job). Runs one at a time on a node; returns how many were sent. */
  deliverDue(): Promise<number> {
    this.#running ??= this.#deliver().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #deliver(): Promise<number> {
    if (!this.configured || this.#closed) return 0;
    let sent = 0;
    for (;;) {
      const batch = await this.store.claimDue(Date.now(), 20, CLAIM_MS);
      if (!batch.length || this.#closed) return sent;
      for (const m of batch) {
        try {
          await this.#send(m);
          await this.store.markSent(m.id);
          sent++;
        } catch (err) {
          const delay = RETRY_DELAYS_MS[m.attempts];
          const message = err instanceof Error ? err.message : String(err);
          await this.store.markFailed(m.id, message, delay === undefined ? null : Date.now() + delay);
          // The recipient's address is not logged with the error (it is personal data); the id finds it.
          this.#deps.logger.warn(
            { mail: m.id, kind: m.kind, attempt: m.attempts + 1, err: message },
            delay === undefined ? 'a message could not be sent and was given up' : 'a message could not be sent; it will be retried',
          );
        }
      }
    }
  }

  async #send(m: OutgoingMail): Promise<void> {
    this.#transport ??= nodemailer.createTransport(this.#deps.config.smtpUrl!);
    await this.#transport.sendMail({
      from: { name: m.fromName ?? '', address: this.#deps.config.mailFrom },
      to: m.to,
      subject: m.subject,
      text: m.text,
      html: m.html,
      // Automatic mail: no auto-replies (RFC 3834).
      headers: { 'Auto-Submitted': 'auto-generated' },
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  /** Stop sending: a delivery under way finishes first (it writes to the store, which closes next). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#running?.catch(() => {});
    this.#transport?.close();
  }
}

function renderText(tenant: Tenant, c: MailContent): string {
  const parts = [...c.paragraphs];
  if (c.action) parts.push(`${c.action.label}: ${c.action.url}`);
  parts.push(...(c.after ?? []), '--', messages.mail.footer(tenant.name));
  return parts.join('\n\n') + '\n';
}

/** The HTML part: inline styles only (mail clients drop stylesheets), the tenant's colour and logo. */
function renderHtml(tenant: Tenant, c: MailContent, publicUrl: string): SafeHtml {
  const b = brandingOf(tenant);
  const colour = b.backgroundColor && /^#[0-9a-f]{6}$/.test(b.backgroundColor) ? b.backgroundColor : '#f4f5f7';
  const logo = b.logo ? `${publicUrl}/t/${tenant.slug}/branding/logo?v=${tenant.version}` : null;
  const p = (t: string) => html`<p style="margin:0 0 16px;line-height:1.5">${t}</p>`;
  return html`<!doctype html><html lang="${currentLocale()}"><head><meta charset="utf-8"><title>${c.subject}</title></head>
<body style="margin:0;padding:24px;background:${colour};font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2230">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:32px">
${logo ? html`<img src="${logo}" alt="${tenant.name}" style="max-height:48px;margin-bottom:24px">` : html`<p style="font-weight:600;margin:0 0 24px">${tenant.name}</p>`}
${c.paragraphs.map(p)}
${c.action ? html`<p style="margin:24px 0"><a href="${c.action.url}" style="display:inline-block;background:#1f5eff;color:#ffffff;padding:12px 20px;border-radius:6px;text-decoration:none">${c.action.label}</a></p><p style="font-size:13px;color:#555;word-break:break-all">${c.action.url}</p>` : ''}
${(c.after ?? []).map(p)}
<p style="font-size:12px;color:#777;margin-top:32px">${messages.mail.footer(tenant.name)}</p>
</div></body></html>`;
}
