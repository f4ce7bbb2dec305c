/**
 * Azora Mail throughput on loopback, two mail domains in this process (alpha.test sends, beta.test receives; DNS
 * from a static zone with alpha's SPF, DKIM key and DMARC policy):
 * - accepted: DKIM-signed messages sent straight to beta's MX by pooled SMTP clients — each is size-checked,
 *   verified (SPF + DKIM + DMARC with mailauth), stamped and fsynced into a Maildir before its 250;
 * - delivered: messages queued in alpha's delivery engine (SQLite, synchronous=FULL) and worked to beta's MX
 *   (one SMTP transaction per recipient, DKIM-signed per attempt, every outcome recorded) until all are final.
 */
import { mkdtempSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { nullLogger } from "../runtime/lib/logger.js";
import {
  dnsRecordsFor,
  loadOrCreateDkimKey,
  type MailService,
  resolveMailConfig,
  startMailService,
  staticResolver,
  type ZoneRecords,
} from "../services/mail/index.js";
import { markdownTable } from "./script.js";

export interface MailBenchOptions {
  messages?: number;
  /** SMTP clients at once for the accepted figure, and the engine's concurrency for the delivered one. */
  concurrency?: number;
  log?: (line: string) => void;
}

export interface MailBenchResult {
  date: string;
  machine: string;
  loadAverage: number[];
  messages: number;
  concurrency: number;
  bodyBytes: number;
  accepted: { seconds: number; perSecond: number };
  delivered: { seconds: number; perSecond: number };
}

const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `azora-${prefix}-`));
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

export async function mailBench(o: MailBenchOptions = {}): Promise<MailBenchResult> {
  const n = o.messages ?? 500;
  const concurrency = o.concurrency ?? 8;
  const log = o.log ?? (() => {});
  const dirs = { a: tempDir("bench-mail-a"), b: tempDir("bench-mail-b") };
  const key = loadOrCreateDkimKey(dirs.a, "alpha.test", "azora");
  const zone: ZoneRecords = { TXT: {} };
  for (const r of dnsRecordsFor(key, { spfMechanisms: ["ip4:127.0.0.1"], dmarcPolicy: "reject" }))
    (zone.TXT as Record<string, unknown[]>)[r.name] = [r.value];
  const resolver = staticResolver(zone);
  const noTokens = async (): Promise<never> => {
    throw new Error("no sign-in in the bench");
  };
  const common = {
    mx: { port: 0 },
    submission: { enabled: false },
    http: { enabled: false },
    imap: { enabled: false },
  };
  let a: MailService | null = null;
  const b = await startMailService(
    resolveMailConfig(undefined, {
      ...common,
      dataDir: dirs.b,
      hostname: "mx.beta.test",
      domains: ["beta.test"],
      users: [{ address: "bob@beta.test" }],
    }),
    { log: nullLogger, version: "bench", resolver, verifyToken: noTokens },
  );
  try {
    a = await startMailService(
      resolveMailConfig(undefined, {
        ...common,
        mx: { enabled: false },
        dataDir: dirs.a,
        hostname: "mx.alpha.test",
        domains: ["alpha.test"],
        users: [{ address: "alice@alpha.test" }],
        outbound: { routes: { "beta.test": `127.0.0.1:${b.mxPort}` }, concurrency },
      }),
      { log: nullLogger, version: "bench", resolver, verifyToken: noTokens },
    );
    const body = "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n".repeat(32);

    log(`accepted: ${n} DKIM-signed messages to beta's MX, ${concurrency} SMTP connections`);
    const client = nodemailer.createTransport({
      pool: true,
      maxConnections: concurrency,
      maxMessages: Number.POSITIVE_INFINITY,
      host: "127.0.0.1",
      port: b.mxPort as number,
      secure: false,
      ignoreTLS: true,
      name: "mx.alpha.test",
      dkim: { domainName: "alpha.test", keySelector: "azora", privateKey: key.privateKeyPem },
    });
    let t0 = performance.now();
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        client.sendMail({ from: "alice@alpha.test", to: "bob@beta.test", subject: `bench ${i}`, text: body }),
      ),
    );
    const acceptedS = (performance.now() - t0) / 1000;
    client.close();

    log(`delivered: ${n} messages queued at alpha, worked to beta's MX`);
    const engine = a.engine;
    const composed = [];
    for (let i = 0; i < n; i++)
      composed.push(
        await engine.compose({ from: "alice@alpha.test", to: ["bob@beta.test"], subject: `q ${i}`, text: body }),
      );
    t0 = performance.now();
    for (const c of composed) engine.submitRaw({ ...c, recipients: ["bob@beta.test"] });
    const ids = composed.map((c) => c.messageId);
    const reports = (await Promise.all(ids.map((id) => engine.finalReports(id)))).flat();
    const deliveredS = (performance.now() - t0) / 1000;
    const notDelivered = reports.filter((r) => r.status !== "delivered");
    if (notDelivered.length > 0) throw new Error(`${notDelivered.length} not delivered: ${notDelivered[0].smtpReply}`);
    return {
      date: new Date().toISOString(),
      machine: `${cpus().length} x ${cpus()[0]?.model ?? "?"}, node ${process.version}`,
      loadAverage: loadavg().map((l) => round(l, 1)),
      messages: n,
      concurrency,
      bodyBytes: Buffer.byteLength(body),
      accepted: { seconds: round(acceptedS, 2), perSecond: round(n / acceptedS) },
      delivered: { seconds: round(deliveredS, 2), perSecond: round(n / deliveredS) },
    };
  } finally {
    await a?.close();
    await b.close();
  }
}

export function mailTable(r: MailBenchResult): string {
  return markdownTable(
    ["figure", "messages", "seconds", "messages/s"],
    [
      [
        "accepted by the MX (SPF+DKIM+DMARC, Maildir fsync)",
        String(r.messages),
        String(r.accepted.seconds),
        String(r.accepted.perSecond),
      ],
      [
        "delivered (SQLite queue → remote MX, DKIM-signed)",
        String(r.messages),
        String(r.delivered.seconds),
        String(r.delivered.perSecond),
      ],
    ],
  );
}
