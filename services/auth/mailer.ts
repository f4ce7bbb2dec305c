/**
 * The `Mailer` port: how Azora Auth sends verification and reset mails. `createMailServiceMailer` hands them to
 * Azora Mail (its `POST /v1/deliver`, the `MailSender` port over HTTP, with a deliver token), any SMTP relay takes
 * them through `createSMTPMailer`; `RecordingMailer` keeps mails in memory for unit tests.
 */
import { randomUUID } from "node:crypto";
import nodemailer from "nodemailer";

export interface AuthMail {
  kind: "verify-email" | "reset-password";
  to: string;
  subject: string;
  text: string;
  /** The link the mail carries (also inside `text`). */
  link: string;
}

export interface Mailer {
  send(mail: AuthMail): Promise<void>;
}

export class RecordingMailer implements Mailer {
  readonly sent: AuthMail[] = [];
  async send(mail: AuthMail): Promise<void> {
    this.sent.push(mail);
  }
}

/** Sends over SMTP (no auth, plain or STARTTLS as the server offers) — e.g. to Azora Mail's submission port. */
export function createSMTPMailer(o: { host: string; port: number; from: string }): Mailer {
  const transport = nodemailer.createTransport({
    host: o.host,
    port: o.port,
    secure: false,
    ignoreTLS: o.host === "127.0.0.1" || o.host === "localhost",
  });
  return {
    async send(mail) {
      await transport.sendMail({
        from: o.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        headers: { "X-Azora-Auth": mail.kind },
      });
    },
  };
}

export interface MailServiceMailerOptions {
  /** Azora Mail's HTTP base URL, e.g. http://127.0.0.1:8795. */
  url: string;
  /** One of that service's `deliverTokens`. */
  token: string;
  /** From: of auth mails; its domain must be one the mail service serves (it DKIM-signs with that domain's key). */
  from: string;
}

/**
 * Sends through an Azora Mail service's `POST /v1/deliver`. Auth waits for the durable queue, not for the remote
 * MX (`waitMs: 0`): the service answers 202 once the message is queued and retries with backoff from there, so a
 * sign-up is never held up by a slow or greylisting recipient server; later outcomes (bounces, suppressed addresses)
 * are the mail service's to report. A refusal — a wrong token, a `from` outside its domains — rejects.
 */
export function createMailServiceMailer(o: MailServiceMailerOptions): Mailer {
  const endpoint = `${o.url.replace(/\/$/, "")}/v1/deliver`;
  const domain = /@([^>\s]+)>?\s*$/.exec(o.from)?.[1] ?? "localhost";
  return {
    async send(mail) {
      const res = await fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${o.token}` },
        body: JSON.stringify({
          from: o.from,
          to: [mail.to],
          subject: mail.subject,
          text: mail.text,
          headers: { "X-Azora-Auth": mail.kind },
          // /v1/deliver is idempotent by message-id: a fresh one per mail, so a second link is a second mail.
          messageId: `${mail.kind}.${randomUUID()}@${domain}`,
          waitMs: 0,
        }),
      });
      if (res.status === 200 || res.status === 202) return;
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      throw new Error(
        `Azora Mail refused the mail (HTTP ${res.status} ${body.error?.code ?? ""}): ${body.error?.message ?? res.statusText}`,
      );
    },
  };
}
