/**
 * The delivery engine — Azora Mail's `MailSender`. Messages are composed once (nodemailer's MailComposer, a fixed
 * Message-ID and Date), stored in the queue, and sent one SMTP transaction per recipient to the recipient domain's
 * MX (through the DNS port, or a per-domain route for loopback), DKIM-signed per attempt with the sender domain's
 * key. 250 → delivered; a permanent 5xx → bounced; 4xx or no answer → retried on the backoff schedule until
 * `maxAttempts` (→ failed). Recipients in our own domains are delivered locally. Every final bounce/failure of a
 * sender in our domains produces a DSN back to that sender.
 */
import { randomBytes } from "node:crypto";
import nodemailer, { type Transporter } from "nodemailer";
import addressparser from "nodemailer/lib/addressparser";
import MailComposer from "nodemailer/lib/mail-composer";
import type { Logger } from "../../runtime/lib/logger.js";
import type { DkimKey } from "./dkim.js";
import { type DnsResolver, lookupMx } from "./dns.js";
import { buildDsn, enhancedStatusOf } from "./dsn.js";
import { MailError, MailErrorCode } from "./errors.js";
import { splitAddress } from "./maildir.js";
import type { DeliveryReport, MailSender, OutboundMessage } from "./ports.js";
import { backoffMs, type MailQueue, type QueuedRecipient, type RetryPolicy } from "./queue.js";

export interface Route {
  host: string;
  port: number;
}

/** Local delivery: resolves with the reply to record ("250 …") or throws an error with an SMTP `responseCode`. */
export type LocalDeliver = (recipient: string, raw: Buffer, envelopeFrom: string) => Promise<string>;

export interface DeliveryEngineOptions {
  queue: MailQueue;
  resolver: DnsResolver;
  /** DKIM keys by sender domain; these are also "our" domains (senders allowed, recipients local). */
  keys: ReadonlyMap<string, DkimKey>;
  /** Our name in EHLO and in DSNs. */
  hostname: string;
  /** Per-domain next hop that replaces the MX lookup (e.g. "beta.test" → 127.0.0.1:2526). */
  routes: ReadonlyMap<string, Route>;
  /** Port of MX hosts found in DNS (25; tests never use it). */
  mxPort: number;
  retry: RetryPolicy;
  connectTimeoutMs: number;
  /** Recipients handled at once. */
  concurrency: number;
  deliverLocal: LocalDeliver;
  log: Logger;
  now?: () => number;
  onFinal?: (r: DeliveryReport) => void;
}

const ADDRESS =
  /^[^\s@<>()[\],;:"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const HEADER_NAME = /^[!-9;-~]+$/;

export function isAddress(a: string): boolean {
  return a.length <= 254 && ADDRESS.test(a);
}

/** The bare address of an RFC 5322 mailbox ("Ann <ann@a.test>" → "ann@a.test"); throws on none or several. */
export function mailboxAddress(mailbox: string): string {
  const list = addressparser(mailbox, { flatten: true });
  if (list.length !== 1 || !isAddress(list[0].address))
    throw new MailError({ code: MailErrorCode.BAD_MESSAGE, reason: `not one address: ${JSON.stringify(mailbox)}` });
  return list[0].address.toLowerCase();
}

export function normalizeMessageId(id: string | undefined, domain: string): string {
  const bare = (id ?? `${Date.now().toString(36)}.${randomBytes(12).toString("hex")}@${domain}`).replace(/^<|>$/g, "");
  if (!/^[^\s<>@]+@[^\s<>@]+$/.test(bare))
    throw new MailError({ code: MailErrorCode.BAD_MESSAGE, reason: `bad Message-ID ${JSON.stringify(id)}` });
  return `<${bare}>`;
}

/** Refuses CR/LF anywhere a header is made from caller input (the header-injection guard). */
export function assertNoHeaderInjection(m: OutboundMessage): void {
  const bad = (what: string) => {
    throw new MailError({ code: MailErrorCode.BAD_MESSAGE, reason: `${what} contains CR/LF or is malformed` });
  };
  if (/[\r\n]/.test(m.from)) bad("from");
  if (/[\r\n]/.test(m.subject)) bad("subject");
  for (const t of m.to) if (/[\r\n]/.test(t) || !isAddress(t)) bad(`recipient ${JSON.stringify(t)}`);
  if (m.messageId !== undefined && /[\r\n]/.test(m.messageId)) bad("messageId");
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    if (!HEADER_NAME.test(k)) bad(`header name ${JSON.stringify(k)}`);
    if (/[\r\n]/.test(v)) bad(`header ${k}`);
  }
}

/** The header block of a raw message (for DSNs), up to the first blank line. */
export function headerBlock(raw: Buffer): string {
  const s = raw.subarray(0, 64 * 1024).toString("utf8");
  const end = s.search(/\r?\n\r?\n/);
  return end < 0 ? s : s.slice(0, end);
}

/** The message without a top-level header field (every occurrence, folded lines included), e.g. Bcc at submission. */
export function withoutHeader(raw: Buffer, name: string): Buffer {
  const s = raw.toString("latin1");
  const m = /\r?\n\r?\n/.exec(s);
  // The header block ends after its last line's line break (the blank line stays with the body).
  const end = m === null ? s.length : m.index + (s[m.index] === "\r" ? 2 : 1);
  const lines = s.slice(0, end).split(/(?<=\n)/);
  const kept: string[] = [];
  let dropping = false;
  const field = new RegExp(`^${name}:`, "i");
  for (const line of lines) {
    if (/^[ \t]/.test(line)) {
      if (!dropping) kept.push(line);
      continue;
    }
    dropping = field.test(line);
    if (!dropping) kept.push(line);
  }
  return Buffer.from(kept.join("") + s.slice(end), "latin1");
}

interface SmtpFailure {
  responseCode?: number;
  response?: string;
  message: string;
}

export class DeliveryEngine implements MailSender {
  private readonly o: DeliveryEngineOptions;
  private readonly now: () => number;
  private readonly transports = new Map<string, Transporter>();
  private readonly waiters = new Map<string, (() => void)[]>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(o: DeliveryEngineOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
  }

  /** Starts (or resumes, after a restart) working the queue. */
  start(): void {
    this.stopped = false;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    while (this.running) await new Promise((r) => setTimeout(r, 20));
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
  }

  isOurDomain(domain: string): boolean {
    return this.o.keys.has(domain.toLowerCase());
  }

  /** Composes a message into its unsigned RFC 5322 form; validates every caller-given header first. */
  async compose(m: OutboundMessage): Promise<{ messageId: string; envelopeFrom: string; raw: Buffer }> {
    assertNoHeaderInjection(m);
    const envelopeFrom = mailboxAddress(m.from);
    const domain = splitAddress(envelopeFrom)[1];
    if (!this.isOurDomain(domain))
      throw new MailError({
        code: MailErrorCode.SENDER_NOT_ALLOWED,
        sender: envelopeFrom,
        reason: "not a domain this server signs for",
      });
    if (m.to.length === 0) throw new MailError({ code: MailErrorCode.BAD_MESSAGE, reason: "no recipients" });
    const messageId = normalizeMessageId(m.messageId, domain);
    const raw = await new MailComposer({
      from: m.from,
      to: m.to.join(", "),
      subject: m.subject,
      text: m.text,
      html: m.html,
      headers: m.headers === undefined ? undefined : { ...m.headers },
      messageId,
      date: new Date(this.now()),
    })
      .compile()
      .build();
    return { messageId, envelopeFrom, raw };
  }

  /** Queues a composed (or submitted) message; false when that Message-ID is already queued (idempotent). */
  submitRaw(m: { messageId: string; envelopeFrom: string; recipients: readonly string[]; raw: Buffer }): boolean {
    const recipients = [...new Set(m.recipients.map((r) => r.toLowerCase()))];
    const added = this.o.queue.enqueue(
      { messageId: m.messageId, envelopeFrom: m.envelopeFrom, raw: m.raw, createdAt: this.now() },
      recipients,
    );
    this.kick();
    return added;
  }

  async deliver(message: OutboundMessage): Promise<DeliveryReport[]> {
    const c = await this.compose(message);
    this.submitRaw({ ...c, recipients: message.to });
    return this.finalReports(c.messageId);
  }

  /** Resolves once every recipient of the message has a final outcome. */
  async finalReports(messageId: string): Promise<DeliveryReport[]> {
    for (;;) {
      const rows = this.o.queue.recipients(messageId);
      if (rows.length === 0)
        throw new MailError({ code: MailErrorCode.NOT_FOUND, what: `queued message ${messageId}` });
      if (rows.every((r) => r.status !== "queued")) return rows.map(reportOf);
      await new Promise<void>((resolve) => {
        const list = this.waiters.get(messageId) ?? [];
        list.push(resolve);
        this.waiters.set(messageId, list);
      });
    }
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.running = true;
    void this.work().finally(() => {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.kick();
      } else this.scheduleNext();
    });
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    const next = this.o.queue.nextDue();
    if (next === null) return;
    this.timer = setTimeout(() => this.kick(), Math.max(0, next - this.now()));
    this.timer.unref?.();
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      const due = this.o.queue.due(this.now(), this.o.concurrency * 4);
      if (due.length === 0) return;
      let i = 0;
      const lanes = Array.from({ length: Math.min(this.o.concurrency, due.length) }, async () => {
        while (i < due.length && !this.stopped) await this.attempt(due[i++]);
      });
      await Promise.all(lanes);
    }
  }

  private async attempt(r: QueuedRecipient): Promise<void> {
    const msg = this.o.queue.message(r.messageId);
    if (msg === undefined) return;
    const at = this.now();
    const suppressed = this.o.queue.suppression(r.recipient);
    if (suppressed !== undefined) {
      this.finish(r, "bounced", `550 5.1.1 <${r.recipient}> is on the suppression list (${suppressed.reason})`, null);
      return;
    }
    const [, domain] = splitAddress(r.recipient);
    if (this.isOurDomain(domain)) {
      try {
        const reply = await this.o.deliverLocal(r.recipient, msg.raw, msg.envelopeFrom);
        this.finish(r, "delivered", reply, this.o.hostname);
      } catch (e) {
        const f = e as SmtpFailure;
        this.failed(r, f.responseCode ?? 451, replyText(f), this.o.hostname, at);
      }
      return;
    }
    let hops: Route[];
    const route = this.o.routes.get(domain);
    try {
      hops =
        route !== undefined
          ? [route]
          : (await lookupMx(this.o.resolver, domain)).map((mx) => ({ host: mx.exchange, port: this.o.mxPort }));
    } catch (e) {
      this.failed(r, 451, `451 4.4.3 MX lookup for ${domain} failed: ${(e as Error).message}`, null, at);
      return;
    }
    let last: { code: number; reply: string; mx: string | null } = { code: 451, reply: "451 4.4.1 no MX", mx: null };
    for (const hop of hops) {
      const key = this.o.keys.get(splitAddress(msg.envelopeFrom)[1]);
      try {
        const info = await this.transport(hop).sendMail({
          envelope: { from: msg.envelopeFrom, to: [r.recipient] },
          raw: msg.raw,
          dkim:
            key === undefined
              ? undefined
              : { domainName: key.domain, keySelector: key.selector, privateKey: key.privateKeyPem },
        });
        this.finish(r, "delivered", String(info.response), hop.host);
        return;
      } catch (e) {
        const f = e as SmtpFailure;
        last = { code: f.responseCode ?? 0, reply: replyText(f), mx: hop.host };
        if (last.code >= 500) break; // permanent: the next MX would give the same answer
      }
    }
    this.failed(r, last.code, last.reply, last.mx, at);
  }

  private transport(hop: Route): Transporter {
    const key = `${hop.host}:${hop.port}`;
    let t = this.transports.get(key);
    if (t === undefined) {
      t = nodemailer.createTransport({
        pool: true,
        maxConnections: this.o.concurrency,
        host: hop.host,
        port: hop.port,
        secure: false,
        name: this.o.hostname,
        // Opportunistic STARTTLS as MX-to-MX mail works: unauthenticated TLS beats plain text, and MX certificates
        // are not checked by senders unless MTA-STS/DANE says so (not implemented here).
        tls: { rejectUnauthorized: false },
        connectionTimeout: this.o.connectTimeoutMs,
        greetingTimeout: this.o.connectTimeoutMs,
        socketTimeout: 5 * 60_000,
      });
      this.transports.set(key, t);
    }
    return t;
  }

  private failed(r: QueuedRecipient, code: number, reply: string, mx: string | null, at: number): void {
    if (code >= 500) {
      this.finish(r, "bounced", reply, mx);
      return;
    }
    if (r.attempts + 1 >= this.o.retry.maxAttempts) {
      this.finish(r, "failed", reply, mx);
      return;
    }
    const nextAt = at + backoffMs(r.attempts + 1, this.o.retry);
    this.o.queue.record({ ...r, status: "queued", nextAt, lastReply: reply, mx, at, attempted: true });
    this.o.log.info("mail: temporary failure, will retry", {
      messageId: r.messageId,
      rcpt: r.recipient,
      reply,
      nextAt,
    });
  }

  private finish(r: QueuedRecipient, status: DeliveryReport["status"], reply: string, mx: string | null): void {
    const at = this.now();
    this.o.queue.record({ ...r, status, nextAt: r.nextAt, lastReply: reply, mx, at, attempted: true });
    const report: DeliveryReport = {
      recipient: r.recipient,
      messageId: r.messageId,
      status,
      smtpReply: reply,
      mx: mx ?? undefined,
      at,
    };
    this.o.log.info(`mail: ${status}`, { ...report });
    this.o.onFinal?.(report);
    if (status !== "delivered") this.bounceToSender(r, report);
    const all = this.o.queue.recipients(r.messageId);
    if (all.every((x) => x.status !== "queued")) {
      const ws = this.waiters.get(r.messageId) ?? [];
      this.waiters.delete(r.messageId);
      for (const w of ws) w();
    }
  }

  /** A DSN to the envelope sender, when it is one of our users (never for a bounce itself: null sender). */
  private bounceToSender(r: QueuedRecipient, report: DeliveryReport): void {
    const msg = this.o.queue.message(r.messageId);
    if (msg === undefined || msg.envelopeFrom === "") return;
    const [, senderDomain] = splitAddress(msg.envelopeFrom);
    if (!this.isOurDomain(senderDomain)) return;
    const dsn = buildDsn({
      reportingDomain: senderDomain,
      to: msg.envelopeFrom,
      originalHeaders: headerBlock(msg.raw),
      originalMessageId: msg.messageId,
      arrivalDate: new Date(msg.createdAt),
      recipients: [
        {
          recipient: r.recipient,
          action: "failed",
          status: enhancedStatusOf(report.smtpReply),
          diagnostic: report.smtpReply,
          remoteMta: report.mx,
        },
      ],
      now: new Date(report.at),
    });
    this.o
      .deliverLocal(msg.envelopeFrom, Buffer.from(dsn), "")
      .catch((e) => this.o.log.warn("mail: could not store a DSN for the sender", { err: e, to: msg.envelopeFrom }));
  }
}

function replyText(f: SmtpFailure): string {
  if (typeof f.response === "string" && /^\d{3}/.test(f.response)) return f.response.replace(/\r?\n/g, " ");
  return `451 4.4.1 ${f.message.replace(/\r?\n/g, " ")}`;
}

function reportOf(r: QueuedRecipient): DeliveryReport {
  return {
    recipient: r.recipient,
    messageId: r.messageId,
    status: r.status as DeliveryReport["status"],
    smtpReply: r.lastReply,
    mx: r.mx ?? undefined,
    at: r.at,
  };
}
