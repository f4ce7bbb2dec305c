/**
 * The two SMTP listeners (smtp-server). The MX takes mail for our domains from anyone: recipients are checked at
 * RCPT (no open relay, unknown users 550), the size at DATA (552), and SPF, DKIM and DMARC are verified with mailauth
 * through the DNS port; the results are prepended as `Authentication-Results` and a DMARC failure is handled as the
 * sender domain's policy says (reject → 550, quarantine → Junk). Submission takes mail from signed-in users (SMTP
 * AUTH PLAIN/LOGIN/XOAUTH2 against Azora Auth), only with their own address as MAIL FROM and From, and queues it.
 */
import { randomBytes } from "node:crypto";
import { authenticate } from "mailauth";
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import type { Logger } from "../../runtime/lib/logger.js";
import type { DnsResolver } from "./dns.js";
import { headerFields, type Mailboxes } from "./mailboxes.js";
import { splitAddress } from "./maildir.js";
import { type DeliveryEngine, mailboxAddress, normalizeMessageId, withoutHeader } from "./outbound.js";

function smtpError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

/** Reads DATA; refuses with 552 once the stream passed the size limit (smtp-server keeps reading to the end). */
function readData(stream: SMTPServerDataStream, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= maxBytes) chunks.push(c);
    });
    stream.on("error", reject);
    stream.on("end", () => {
      if (stream.sizeExceeded || size > maxBytes)
        reject(smtpError(552, `5.3.4 Message too big: ${size} bytes, this server accepts at most ${maxBytes}`));
      else resolve(Buffer.concat(chunks));
    });
  });
}

function receivedHeader(session: SMTPServerSession, by: string, protocol: string, id: string): string {
  const helo = session.hostNameAppearsAs || "unknown";
  return `Received: from ${helo} (${session.clientHostname} [${session.remoteAddress}])\r\n\tby ${by} with ${protocol} id ${id};\r\n\t${new Date().toUTCString()}\r\n`;
}

/** A certificate for STARTTLS; without one the listeners speak plain SMTP (loopback, or TLS terminated in front). */
export interface TlsFiles {
  key: Buffer;
  cert: Buffer;
}

export interface MxOptions {
  hostname: string;
  tls?: TlsFiles;
  maxMessageBytes: number;
  mailboxes: Mailboxes;
  resolver: DnsResolver;
  log: Logger;
  onVerdict?: (v: { dmarc: string; spf: string; dkim: string; action: "accept" | "junk" | "reject" }) => void;
}

export function createMxServer(o: MxOptions): SMTPServer {
  return new SMTPServer({
    name: o.hostname,
    banner: "Azora Mail MX",
    size: o.maxMessageBytes,
    authOptional: true,
    // STARTTLS is offered when the operator gave a certificate; senders choose it (opportunistic, RFC 3207).
    ...(o.tls === undefined ? { disabledCommands: ["AUTH", "STARTTLS"] } : { disabledCommands: ["AUTH"], ...o.tls }),
    // The client's name in Received: is its HELO and IP; no PTR lookup (all DNS goes through the resolver port).
    disableReverseLookup: true,
    logger: false,
    onRcptTo(address, _session, cb) {
      const refused = o.mailboxes.checkRecipient(address.address);
      cb(refused ?? undefined);
    },
    onData(stream, session, cb) {
      void (async () => {
        const raw = await readData(stream, o.maxMessageBytes);
        const id = randomBytes(8).toString("hex");
        const sender = session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address;
        const res = await authenticate(raw, {
          ip: session.remoteAddress,
          helo: session.hostNameAppearsAs,
          sender,
          mta: o.hostname,
          resolver: o.resolver as never,
          disableArc: true,
          disableBimi: true,
        }).catch((e: Error) => {
          o.log.warn("mail: verification failed", { id, err: e.message });
          throw smtpError(451, "4.7.0 Temporary authentication failure, try again later");
        });
        const dmarc = res.dmarc === false ? "none" : (res.dmarc.status?.result ?? "none");
        const policy = res.dmarc === false ? "none" : (res.dmarc as { policy?: string }).policy;
        const dkim = res.dkim.results?.[0]?.status?.result ?? "none";
        const spf = res.spf === false ? "none" : (res.spf.status?.result ?? "none");
        const action =
          dmarc === "fail" && policy === "reject"
            ? "reject"
            : dmarc === "fail" && policy === "quarantine"
              ? "junk"
              : "accept";
        o.onVerdict?.({ dmarc, spf, dkim, action });
        o.log.info("mail: inbound verdict", {
          id,
          sender,
          ip: session.remoteAddress,
          spf,
          dkim,
          dmarc,
          policy,
          action,
        });
        if (action === "reject") {
          const from = headerFields(raw).from ?? "";
          throw smtpError(550, `5.7.1 Rejected by the DMARC policy of the From: domain (${from})`);
        }
        const stamped = Buffer.concat([
          Buffer.from(receivedHeader(session, o.hostname, "ESMTP", id) + res.headers),
          raw,
        ]);
        for (const r of session.envelope.rcptTo)
          await o.mailboxes.store(r.address, stamped, { junk: action === "junk" });
        return `Ok: queued as ${id}`;
      })().then(
        (msg) => cb(null, msg),
        (e: Error) => cb(e),
      );
    },
  });
}

/** Checks SMTP AUTH credentials against Azora Auth; resolves with the signed-in user's email address. */
export interface SubmissionAuth {
  password(username: string, password: string): Promise<string>;
  bearer(username: string, token: string): Promise<string>;
}

export interface SubmissionOptions {
  hostname: string;
  tls?: TlsFiles;
  maxMessageBytes: number;
  maxRecipients: number;
  engine: DeliveryEngine;
  auth: SubmissionAuth;
  log: Logger;
}

export function createSubmissionServer(o: SubmissionOptions): SMTPServer {
  return new SMTPServer({
    name: o.hostname,
    banner: "Azora Mail submission",
    size: o.maxMessageBytes,
    authMethods: ["PLAIN", "LOGIN", "XOAUTH2"],
    // With a certificate, credentials travel only after STARTTLS (538 before it); without one the listener is for
    // loopback or behind the operator's TLS terminator.
    ...(o.tls === undefined
      ? { allowInsecureAuth: true, disabledCommands: ["STARTTLS"] }
      : { allowInsecureAuth: false, ...o.tls }),
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, _session, cb) {
      const check =
        auth.method === "XOAUTH2"
          ? o.auth.bearer(auth.username ?? "", auth.accessToken ?? "")
          : o.auth.password(auth.username ?? "", auth.password ?? "");
      check.then(
        (email) => cb(null, { user: email.toLowerCase() }),
        (e: Error) => {
          o.log.info("mail: submission auth refused", { user: auth.username, method: auth.method, reason: e.message });
          cb(smtpError(535, "5.7.8 Authentication credentials invalid"));
        },
      );
    },
    onMailFrom(address, session, cb) {
      const user = session.user as string | undefined;
      if (user === undefined) return cb(smtpError(530, "5.7.0 Authentication required"));
      if (!o.engine.isOurDomain(splitAddress(user)[1]))
        return cb(smtpError(553, `5.7.1 <${user}>: this server does not send for that domain`));
      if (address.address.toLowerCase() !== user)
        return cb(smtpError(553, `5.7.1 <${address.address}>: sender address is not yours (${user})`));
      cb();
    },
    onRcptTo(_address, session, cb) {
      if (session.envelope.rcptTo.length >= o.maxRecipients)
        return cb(smtpError(452, `4.5.3 Too many recipients (at most ${o.maxRecipients})`));
      cb();
    },
    onData(stream, session, cb) {
      void (async () => {
        let raw = await readData(stream, o.maxMessageBytes);
        const user = session.user as string;
        const head = headerFields(raw);
        let from: string;
        try {
          from = mailboxAddress(head.from ?? "");
        } catch {
          throw smtpError(550, "5.6.0 The message needs exactly one From: address");
        }
        if (from !== user) throw smtpError(553, `5.7.1 From: <${from}> is not your address (${user})`);
        let messageId = head["message-id"];
        if (messageId === undefined) {
          messageId = normalizeMessageId(undefined, splitAddress(user)[1]);
          raw = Buffer.concat([Buffer.from(`Message-ID: ${messageId}\r\n`), raw]);
        }
        const recipients = session.envelope.rcptTo.map((r) => r.address);
        // Bcc recipients are in the envelope; the header would tell every recipient about them.
        raw = withoutHeader(raw, "Bcc");
        const stamped = Buffer.concat([Buffer.from(receivedHeader(session, o.hostname, "ESMTPA", "submission")), raw]);
        o.engine.submitRaw({ messageId: messageId.trim(), envelopeFrom: user, recipients, raw: stamped });
        return `Ok: queued as ${messageId.trim()}`;
      })().then(
        (msg) => cb(null, msg),
        (e: Error) => cb(e),
      );
    },
  });
}
