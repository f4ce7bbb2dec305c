/**
 * A `MailSender` that hands every message to one SMTP relay (a smarthost: the operator's MTA, or a test sink)
 * with nodemailer, one SMTP transaction per recipient so each gets its own reply. Until the delivery engine
 * (MX lookup, DKIM, queue and retries: the rest of services/mail/) is wired in, `azora worker mail/campaign
 * --mail-relay smtp://host:port` runs on this; tests use it against a loopback `smtp-server` sink.
 *
 * Idempotent by message-id, as the port requires: every final outcome is appended to `<dir>/outcomes.jsonl`
 * and fsync'd before `deliver` resolves, and a recorded recipient is never sent again. The window that remains
 * is the one every MTA has: a crash after the relay's 250 and before the append sends that one message again.
 */
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import nodemailer from "nodemailer";
import type { DeliveryReport, MailSender, OutboundMessage } from "../ports.js";

export interface RelaySenderOptions {
  host: string;
  port: number;
  /** Where outcomes are journaled (created). */
  dir: string;
  /** Attempts on a temporary failure (4xx, connection refused) before the recipient is `failed`. */
  attempts?: number;
  retryDelayMs?: number;
  nowMs?: () => number;
}

interface SMTPFailure {
  responseCode?: number;
  response?: string;
  message?: string;
}

const HEADER_SAFE = /^[^\r\n]*$/;

export function createRelaySender(opts: RelaySenderOptions): MailSender & { close(): void } {
  mkdirSync(opts.dir, { recursive: true });
  const file = join(opts.dir, "outcomes.jsonl");
  const now = opts.nowMs ?? (() => Date.now());
  const attempts = opts.attempts ?? 3;
  const retryDelayMs = opts.retryDelayMs ?? 1_000;
  const mx = `${opts.host}:${opts.port}`;
  const done = new Map<string, DeliveryReport>();
  const keyOf = (messageId: string, recipient: string) => `${messageId} ${recipient.toLowerCase()}`;
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    // first run
  }
  for (const line of text.split("\n")) {
    if (line === "") continue;
    try {
      const r = JSON.parse(line) as DeliveryReport;
      done.set(keyOf(r.messageId, r.recipient), r);
    } catch {
      // a torn last line (crash mid-append): that recipient was not recorded, so it is sent again
    }
  }
  const fd = openSync(file, "a");
  const record = (r: DeliveryReport) => {
    appendFileSync(fd, `${JSON.stringify(r)}\n`);
    fsyncSync(fd);
    done.set(keyOf(r.messageId, r.recipient), r);
  };
  const transport = nodemailer.createTransport({
    host: opts.host,
    port: opts.port,
    secure: false,
    ignoreTLS: opts.host === "127.0.0.1" || opts.host === "localhost",
    pool: true,
    maxConnections: 2,
  });

  async function sendTo(msg: OutboundMessage, messageId: string, recipient: string): Promise<DeliveryReport> {
    let last: SMTPFailure = {};
    for (let i = 0; i < attempts; i++) {
      try {
        const info = await transport.sendMail({
          from: msg.from,
          to: recipient,
          envelope: { from: msg.from, to: [recipient] },
          subject: msg.subject,
          text: msg.text,
          html: msg.html,
          headers: msg.headers,
          messageId,
        });
        return { recipient, messageId, status: "delivered", smtpReply: info.response, mx, at: now() };
      } catch (e) {
        last = e as SMTPFailure;
        const code = last.responseCode ?? 0;
        if (code >= 500) {
          return { recipient, messageId, status: "bounced", smtpReply: last.response ?? String(code), mx, at: now() };
        }
        if (i + 1 < attempts) await new Promise((r) => setTimeout(r, retryDelayMs));
      }
    }
    return {
      recipient,
      messageId,
      status: "failed",
      smtpReply: last.response ?? last.message ?? "no reply",
      at: now(),
    };
  }

  return {
    async deliver(msg: OutboundMessage): Promise<DeliveryReport[]> {
      for (const [k, v] of Object.entries(msg.headers ?? {}))
        if (!HEADER_SAFE.test(k) || !HEADER_SAFE.test(v) || k.includes(":"))
          throw new Error("header injection refused");
      const messageId = msg.messageId ?? `<${crypto.randomUUID()}@${msg.from.split("@").pop()?.replace(/>$/, "")}>`;
      const out: DeliveryReport[] = [];
      for (const recipient of msg.to) {
        const known = done.get(keyOf(messageId, recipient));
        if (known !== undefined) {
          out.push(known);
          continue;
        }
        const report = await sendTo(msg, messageId, recipient);
        record(report);
        out.push(report);
      }
      return out;
    },
    close() {
      transport.close();
      closeSync(fd);
    },
  };
}

/** `smtp://host:port` (the relay flag's form). */
export function parseRelayURL(url: string): { host: string; port: number } {
  const u = new URL(url);
  if (u.protocol !== "smtp:" || u.hostname === "" || u.port === "") throw new Error("expected smtp://host:port");
  return { host: u.hostname, port: Number(u.port) };
}
