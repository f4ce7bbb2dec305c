/**
 * The result of a mail job: its delivery log, one entry per recipient in input order (message-id, final
 * status, the remote server's SMTP reply verbatim, the MX that answered, when). The runtime stores it
 * content-addressed and the market commits its sha256; the requester reads it to accept, or hands it to the
 * job's arbiter to dispute the delivered count the worker claimed (`earnedOf`). Canonical JSON: fixed key
 * order, so the same outcomes give the same bytes.
 */
import type { DeliveryReport } from "../ports.js";

export const DELIVERY_LOG_CONTENT_TYPE = "application/vnd.azora.mail-delivery-log+json";

export interface DeliveryLog {
  azora: "mail/delivery-log";
  v: 1;
  /** Market job id (decimal). */
  job: string;
  kind: string;
  total: number;
  delivered: number;
  entries: DeliveryReport[];
}

export class DeliveryLogError extends Error {
  override readonly name = "DeliveryLogError";
}

export function encodeDeliveryLog(job: bigint, kind: string, reports: readonly DeliveryReport[]): Uint8Array {
  const entries = reports.map((r) => ({
    recipient: r.recipient,
    messageId: r.messageId,
    status: r.status,
    smtpReply: r.smtpReply,
    ...(r.mx === undefined ? {} : { mx: r.mx }),
    at: r.at,
  }));
  const log: DeliveryLog = {
    azora: "mail/delivery-log",
    v: 1,
    job: job.toString(),
    kind,
    total: entries.length,
    delivered: entries.filter((e) => e.status === "delivered").length,
    entries,
  };
  return new TextEncoder().encode(JSON.stringify(log));
}

export function decodeDeliveryLog(bytes: Uint8Array): DeliveryLog {
  let log: DeliveryLog;
  try {
    log = JSON.parse(new TextDecoder().decode(bytes)) as DeliveryLog;
  } catch {
    throw new DeliveryLogError("not a delivery log (JSON)");
  }
  if (log?.azora !== "mail/delivery-log" || log.v !== 1 || !Array.isArray(log.entries))
    throw new DeliveryLogError("not a delivery log");
  if (log.total !== log.entries.length) throw new DeliveryLogError("total does not count the entries");
  const delivered = log.entries.filter((e) => e.status === "delivered").length;
  if (log.delivered !== delivered) throw new DeliveryLogError("delivered does not count the delivered entries");
  return log;
}

/**
 * What the log earns of the job's price: `price × delivered / total` — exact when the requester escrowed
 * `total × price-per-message` (what `azora job post mail/campaign --price-per-message` does).
 */
export function earnedOf(bytes: Uint8Array, price: bigint): bigint {
  const log = decodeDeliveryLog(bytes);
  if (log.total === 0) return 0n;
  return (price * BigInt(log.delivered)) / BigInt(log.total);
}
