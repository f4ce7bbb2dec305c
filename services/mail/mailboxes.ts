/**
 * Local mailboxes: which addresses exist, storing a message into one (Maildir, or its `.Junk` folder when DMARC
 * says quarantine), and what happens after — an arriving DSN marks the bounced addresses on the suppression list
 * and tells the sender; every stored message is announced (`onNewMail`: WebSocket, Azora Push).
 */
import { join } from "node:path";
import type { Logger } from "../../runtime/lib/logger.js";
import { type ParsedDsn, parseDsn } from "./dsn.js";
import { deliverToMaildir, type MaildirOwner, maildirOf, splitAddress } from "./maildir.js";
import type { MailQueue } from "./queue.js";

export interface NewMail {
  mailbox: string;
  /** The file name in the Maildir (the id the JSON API uses). */
  id: string;
  folder: "INBOX" | "Junk";
  from: string;
  subject: string;
  /** Present when the message is a delivery-status report. */
  dsn?: ParsedDsn;
}

export interface MailboxesOptions {
  /** Root of `<domain>/<user>/Maildir`. */
  root: string;
  domains: readonly string[];
  users: readonly string[];
  queue: MailQueue;
  /** Owner of mailbox files (see `MaildirOwner`); null = the service's own user. */
  owner?: MaildirOwner | null;
  log: Logger;
  now?: () => number;
  onNewMail?: (m: NewMail) => void;
  onBounce?: (mailbox: string, dsn: ParsedDsn) => void;
}

function smtpError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

export class Mailboxes {
  private readonly users: Set<string>;
  private readonly domains: Set<string>;
  private readonly o: MailboxesOptions;

  constructor(o: MailboxesOptions) {
    this.o = o;
    this.users = new Set(o.users.map((u) => u.toLowerCase()));
    this.domains = new Set(o.domains.map((d) => d.toLowerCase()));
  }

  servesDomain(domain: string): boolean {
    return this.domains.has(domain.toLowerCase());
  }

  has(address: string): boolean {
    return this.users.has(address.toLowerCase());
  }

  maildir(address: string): string {
    return maildirOf(this.o.root, address);
  }

  /** The RCPT TO decision as an SMTP error (null = accept): no open relay, no unknown users. */
  checkRecipient(address: string): Error | null {
    const [, domain] = splitAddress(address);
    if (!this.servesDomain(domain)) return smtpError(550, `5.7.1 <${address}>: relay access denied`);
    if (!this.has(address)) return smtpError(550, `5.1.1 <${address}>: no such user here`);
    return null;
  }

  /** Stores one message for one local recipient; returns the 250 reply. `raw` already carries trace headers. */
  async store(recipient: string, raw: Buffer, o: { junk?: boolean } = {}): Promise<string> {
    const refused = this.checkRecipient(recipient);
    if (refused !== null) throw refused;
    const base = this.maildir(recipient);
    const dir = o.junk === true ? join(base, ".Junk") : base;
    const id = deliverToMaildir(dir, raw, (this.o.now ?? Date.now)(), this.o.owner ?? null, this.o.root);
    const head = headerFields(raw);
    const dsn = head["content-type"]?.toLowerCase().includes("multipart/report") ? await parseDsn(raw) : null;
    if (dsn !== null) {
      // Only a bounce of a message this mailbox sent through us suppresses addresses: anyone can mail a DSN, and a
      // forged one must not switch off delivery to an address.
      const sent = dsn.originalMessageId === undefined ? undefined : this.o.queue.message(dsn.originalMessageId);
      const ours = sent !== undefined && sent.envelopeFrom === recipient.toLowerCase();
      if (ours)
        for (const r of dsn.recipients)
          if (r.action === "failed")
            this.o.queue.suppress({
              address: r.recipient,
              reason: `${r.status} ${r.diagnostic ?? ""}`.trim(),
              at: (this.o.now ?? Date.now)(),
            });
      this.o.log.info(ours ? "mail: bounce received; addresses suppressed" : "mail: bounce of an unknown message", {
        mailbox: recipient,
        dsn,
      });
      this.o.onBounce?.(recipient, dsn);
    }
    this.o.onNewMail?.({
      mailbox: recipient.toLowerCase(),
      id,
      folder: o.junk === true ? "Junk" : "INBOX",
      from: head.from ?? "",
      subject: head.subject ?? "",
      dsn: dsn ?? undefined,
    });
    return `250 2.0.0 Ok: stored as ${id}`;
  }
}

/** The top-level header fields (unfolded, lower-case names, first occurrence) of a raw message. */
export function headerFields(raw: Buffer): Record<string, string> {
  const s = raw.subarray(0, 64 * 1024).toString("utf8");
  const end = s.search(/\r?\n\r?\n/);
  const block = (end < 0 ? s : s.slice(0, end)).replace(/\r?\n[ \t]+/g, " ");
  const out: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    if (out[name] === undefined) out[name] = line.slice(i + 1).trim();
  }
  return out;
}
