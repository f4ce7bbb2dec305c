/**
 * Delivery Status Notifications (RFC 3464): `buildDsn` writes the bounce this server sends back to a sender when a
 * recipient is refused for good or given up on; `parseDsn` reads bounces arriving here (ours or any RFC 3464 MTA's)
 * into per-recipient outcomes, which mark addresses on the suppression list and notify the sender.
 */
import { randomBytes } from "node:crypto";
import { simpleParser } from "mailparser";

export interface DsnRecipient {
  recipient: string;
  /** "failed" for a bounce; "delayed", "delivered", "relayed", "expanded" are the other RFC 3464 actions. */
  action: string;
  /** Enhanced status code, e.g. "5.1.1". */
  status: string;
  /** The remote server's reply (the `smtp;` diagnostic), when one came. */
  diagnostic?: string;
  remoteMta?: string;
}

export interface DsnInput {
  /** The domain this report comes from (Reporting-MTA and the MAILER-DAEMON address). */
  reportingDomain: string;
  /** Who gets the bounce: the original envelope sender. */
  to: string;
  /** The original message's headers block (up to the blank line), quoted back in text/rfc822-headers. */
  originalHeaders: string;
  originalMessageId: string;
  arrivalDate: Date;
  recipients: readonly DsnRecipient[];
  now: Date;
}

const CRLF = "\r\n";

/** The enhanced status in an SMTP reply ("550 5.1.1 …" → "5.1.1"), else the class from the basic code. */
export function enhancedStatusOf(reply: string): string {
  const m = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply);
  if (m !== null) return m[1];
  const code = /^([245])\d\d/.exec(reply);
  return code === null ? "5.0.0" : `${code[1]}.0.0`;
}

/** A multipart/report; report-type=delivery-status message, CRLF line ends, ready for a Maildir or SMTP. */
export function buildDsn(d: DsnInput): string {
  const boundary = `dsn-${randomBytes(12).toString("hex")}`;
  const messageId = `<dsn.${randomBytes(12).toString("hex")}@${d.reportingDomain}>`;
  const human = [
    `This is the mail system at ${d.reportingDomain}.`,
    "",
    "Your message could not be delivered to the following recipients:",
    "",
    ...d.recipients.map((r) => `  <${r.recipient}>: ${r.diagnostic ?? r.status}`),
  ];
  const perRecipient = d.recipients.map((r) =>
    [
      `Final-Recipient: rfc822; ${r.recipient}`,
      `Action: ${r.action}`,
      `Status: ${r.status}`,
      ...(r.remoteMta === undefined ? [] : [`Remote-MTA: dns; ${r.remoteMta}`]),
      ...(r.diagnostic === undefined ? [] : [`Diagnostic-Code: smtp; ${r.diagnostic.replace(/[\r\n]+/g, " ")}`]),
      `Last-Attempt-Date: ${d.now.toUTCString()}`,
    ].join(CRLF),
  );
  const lines = [
    `From: Mail Delivery System <MAILER-DAEMON@${d.reportingDomain}>`,
    `To: <${d.to}>`,
    "Subject: Undelivered Mail Returned to Sender",
    `Date: ${d.now.toUTCString()}`,
    `Message-ID: ${messageId}`,
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "",
    ...human,
    "",
    `--${boundary}`,
    "Content-Type: message/delivery-status",
    "",
    `Reporting-MTA: dns; ${d.reportingDomain}`,
    `Original-Envelope-Id: ${d.originalMessageId}`,
    `Arrival-Date: ${d.arrivalDate.toUTCString()}`,
    "",
    perRecipient.join(CRLF + CRLF),
    "",
    `--${boundary}`,
    "Content-Type: text/rfc822-headers",
    "",
    d.originalHeaders.replace(/\r?\n/g, CRLF).replace(/(\r\n)+$/, ""),
    "",
    `--${boundary}--`,
    "",
  ];
  return lines.join(CRLF);
}

export interface ParsedDsn {
  /** The bounced message's Message-ID (from the quoted headers or Original-Envelope-Id), when present. */
  originalMessageId?: string;
  reportingMta?: string;
  recipients: DsnRecipient[];
}

/** Header-style fields of a delivery-status body, one object per blank-line separated group. */
function fieldGroups(body: string): Record<string, string>[] {
  const unfolded = body.replace(/\r?\n[ \t]+/g, " ");
  return unfolded
    .split(/\r?\n\s*\r?\n/)
    .map((group) => {
      const fields: Record<string, string> = {};
      for (const line of group.split(/\r?\n/)) {
        const i = line.indexOf(":");
        if (i > 0) fields[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      return fields;
    })
    .filter((g) => Object.keys(g).length > 0);
}

const afterType = (v: string | undefined) => (v === undefined ? undefined : v.replace(/^[^;]*;\s*/, "").trim());

/** Null when the message is not a delivery-status report. */
export async function parseDsn(raw: Buffer | string): Promise<ParsedDsn | null> {
  // keepDeliveryStatus: mailparser otherwise folds the message/delivery-status part into the text body.
  const options = { skipHtmlToText: true, skipTextLinks: true, skipImageLinks: true, keepDeliveryStatus: true };
  const mail = await simpleParser(raw, options as Parameters<typeof simpleParser>[1]);
  const ct = mail.headers.get("content-type") as { value?: string; params?: Record<string, string> } | undefined;
  if (
    ct?.value?.toLowerCase() !== "multipart/report" ||
    ct.params?.["report-type"]?.toLowerCase() !== "delivery-status"
  )
    return null;
  const status = mail.attachments.find((a) =>
    ["message/delivery-status", "message/global-delivery-status"].includes(a.contentType.toLowerCase()),
  );
  if (status === undefined) return null;
  const [perMessage, ...perRecipient] = fieldGroups(status.content.toString("utf8"));
  const quoted = mail.attachments.find((a) =>
    ["text/rfc822-headers", "message/rfc822", "message/rfc822-headers"].includes(a.contentType.toLowerCase()),
  );
  const quotedId =
    quoted === undefined ? undefined : /^message-id:\s*(<[^>\r\n]+>)/im.exec(quoted.content.toString("utf8"))?.[1];
  return {
    originalMessageId: quotedId ?? perMessage?.["original-envelope-id"],
    reportingMta: afterType(perMessage?.["reporting-mta"]),
    recipients: perRecipient
      .filter((g) => g["final-recipient"] !== undefined || g["original-recipient"] !== undefined)
      .map((g) => ({
        recipient: (afterType(g["final-recipient"] ?? g["original-recipient"]) ?? "")
          .replace(/^<|>$/g, "")
          .toLowerCase(),
        action: (g.action ?? "").toLowerCase(),
        status: g.status ?? "",
        diagnostic: afterType(g["diagnostic-code"]),
        remoteMta: afterType(g["remote-mta"]),
      })),
  };
}
