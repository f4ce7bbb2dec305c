/**
 * A loopback SMTP sink (smtp-server on 127.0.0.1) for the mail jobs' tests: accepts some recipients and refuses
 * others with 550 at RCPT TO, records each message it answered 250 to (its Message-ID and recipients), and can
 * hold the answer to the n-th message until the test lets it go — so a test can kill a worker with a message in
 * flight, deterministically, and the held message is never recorded (the sender saw no 250).
 */
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface SinkMessage {
  messageId: string;
  to: string[];
  subject: string;
}

export interface MailSink {
  host: string;
  port: number;
  url: string;
  /** Messages answered 250, in order. */
  received: SinkMessage[];
  /** Holds the message number `n` (1-based, counting every DATA, held or not) until `release()`. */
  holdAt(n: number): { reached: Promise<void>; release(): void };
  close(): Promise<void>;
}

const header = (raw: string, name: string) =>
  new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, "im")
    .exec(raw)?.[1]
    .replace(/\r?\n[ \t]/g, " ")
    .trim() ?? "";

export async function startMailSink(refuse: (recipient: string) => boolean): Promise<MailSink> {
  const received: SinkMessage[] = [];
  let dataCount = 0;
  let hold: { n: number; reached: () => void; gate: Promise<void> } | undefined;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onRcptTo(address, _session, cb) {
      if (refuse(address.address)) {
        const e = new Error("5.1.1 mailbox unavailable") as Error & { responseCode: number };
        e.responseCode = 550;
        cb(e);
      } else cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", async () => {
        dataCount++;
        const raw = Buffer.concat(chunks).toString("utf8");
        if (hold !== undefined && dataCount === hold.n) {
          hold.reached();
          await hold.gate;
          const e = new Error("4.3.0 held by the test") as Error & { responseCode: number };
          e.responseCode = 451;
          cb(e);
          return;
        }
        received.push({
          messageId: header(raw, "Message-ID"),
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: header(raw, "Subject"),
        });
        cb(null, `2.0.0 OK queued as m${received.length}`);
      });
    },
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    host: "127.0.0.1",
    port,
    url: `smtp://127.0.0.1:${port}`,
    received,
    holdAt(n) {
      let reached!: () => void;
      let release!: () => void;
      const reachedP = new Promise<void>((r) => {
        reached = r;
      });
      const gate = new Promise<void>((r) => {
        release = r;
      });
      hold = { n, reached, gate };
      return { reached: reachedP, release };
    },
    close: () => new Promise<void>((res) => server.close(() => res())),
  };
}
