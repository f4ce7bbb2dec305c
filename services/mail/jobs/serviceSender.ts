/**
 * `MailSender` through an Azora Mail service (`POST /v1/deliver` with a deliver token): the service's delivery
 * engine signs with its domain's DKIM key, queues durably, retries with backoff and resolves each recipient at the
 * recipient's own MX — so a campaign's delivery log holds the remote servers' replies, not a relay's "queued".
 * The message-id makes a repeated post idempotent: after a worker restart, or while the service answers 202
 * (still queued), posting the same message again waits for the same outcomes and sends nobody twice.
 */
import type { DeliveryReport, MailSender, OutboundMessage } from "../ports.js";

export interface ServiceSenderOptions {
  /** The mail service's HTTP base URL, e.g. http://127.0.0.1:8795. */
  url: string;
  /** One of the service's `deliverTokens`. */
  token: string;
  /** How long one request waits for the final outcomes before the service answers 202 (default 25 s). */
  waitMs?: number;
  /** Consecutive unreachable attempts before `deliver` gives up (default 10, 1 s → 30 s apart). */
  maxUnreachable?: number;
}

export class MailServiceError extends Error {
  override readonly name = "MailServiceError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function createServiceSender(o: ServiceSenderOptions): MailSender {
  const endpoint = `${o.url.replace(/\/$/, "")}/v1/deliver`;
  const maxUnreachable = o.maxUnreachable ?? 10;
  return {
    async deliver(message: OutboundMessage): Promise<DeliveryReport[]> {
      if (message.messageId === undefined) throw new Error("createServiceSender: a messageId makes retries safe");
      let unreachable = 0;
      for (;;) {
        let res: Response;
        try {
          res = await fetch(endpoint, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${o.token}` },
            body: JSON.stringify({ ...message, waitMs: o.waitMs ?? 25_000 }),
          });
        } catch (e) {
          if (++unreachable >= maxUnreachable) throw e;
          await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** (unreachable - 1))));
          continue;
        }
        unreachable = 0;
        const body = (await res.json().catch(() => ({}))) as {
          reports?: DeliveryReport[];
          error?: { code?: string; message?: string };
        };
        if (res.status === 200 && Array.isArray(body.reports)) return body.reports;
        if (res.status === 202) continue;
        throw new MailServiceError(
          res.status,
          body.error?.code ?? "MAIL_SERVICE_ERROR",
          `mail service refused the delivery (${res.status}): ${body.error?.message ?? res.statusText}`,
        );
      }
    },
  };
}
