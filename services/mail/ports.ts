/**
 * The seam between Azora Mail's delivery engine (outbound queue, DKIM, retries, DSN parsing) and what pays for it
 * (`mail/send` and `mail/campaign` market jobs, quotas bought on chain). The engine implements `MailSender`; the
 * job handlers depend only on this port, so either side can be tested against a real SMTP sink without the other.
 */

/** One message as a sender hands it over: already rendered (templates are applied before this point). */
export interface OutboundMessage {
  /** RFC 5322 address of the sender; its domain must be one the engine signs for (DKIM). */
  from: string;
  /** Envelope recipients (RFC 5321 forward-paths); one report per recipient comes back. */
  to: readonly string[];
  subject: string;
  text?: string;
  html?: string;
  /** Extra headers (no CR/LF in names or values: the engine refuses header injection). */
  headers?: Readonly<Record<string, string>>;
  /** Set by the caller to make retries idempotent (e.g. derived from job id + recipient index); else generated. */
  messageId?: string;
}

/** The final outcome of one recipient: nothing more will happen to it. */
export interface DeliveryReport {
  recipient: string;
  messageId: string;
  /** delivered: the remote MX answered 250 to DATA; bounced: a permanent 5xx (or a DSN came back); failed: gave up after retries. */
  status: "delivered" | "bounced" | "failed";
  /** The remote server's last SMTP reply, verbatim (e.g. "250 2.0.0 OK queued as …"). */
  smtpReply: string;
  /** The MX host that answered, when one did. */
  mx?: string;
  /** Unix milliseconds of the final outcome (from the engine's clock). */
  at: number;
}

export interface MailSender {
  /**
   * Queues the message durably and resolves once every recipient has a final outcome (delivered, bounced or
   * failed after the retry schedule). Calling it again with the same `messageId` after a crash must not send a
   * recipient twice: it resolves with the outcomes already recorded and finishes the rest.
   */
  deliver(message: OutboundMessage): Promise<DeliveryReport[]>;
}
