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
 * MX: the service answers 202 once the message is queued (it retries with backoff from there), so a sign-up is
 * never held up by a slow or greylisting recipient server. A final outcome that is already known and not
 * `delivered` (e.g. a suppressed address) rejects, as does any refusal of the service.
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
      const body = (await res.json().catch(() => ({}))) as {
        reports?: { status: string; smtpReply?: string }[];
        error?: { code?: string; message?: string };
      };
      if (res.status === 202) return;
      if (res.status === 200) {
        const failed = body.reports?.find((r) => r.status !== "delivered");
        if (failed === undefined) return;
        throw new Error(`Azora Mail could not deliver to ${mail.to}: ${failed.status} (${failed.smtpReply ?? ""})`);
      }
      throw new Error(
        `Azora Mail refused the mail (HTTP ${res.status} ${body.error?.code ?? ""}): ${body.error?.message ?? res.statusText}`,
      );
    },
  };
}
