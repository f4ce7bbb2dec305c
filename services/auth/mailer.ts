/**
 * The `Mailer` port: how Azora Auth sends verification and reset mails. Azora Mail implements it (or any SMTP relay
 * through `createSMTPMailer`); `RecordingMailer` keeps mails in memory for unit tests.
 */
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
