/**
 * The outbound queue survives kill -9: the built `azora mail serve` process works a queued message to five
 * recipients through a real SMTP sink (the next hop of beta.test); the sink holds the third recipient's DATA
 * unanswered, the test kills the process (SIGKILL), and a new process resumes. Every recipient is accepted (250)
 * exactly once: the two whose 250 was recorded are not sent again, the interrupted one is retried. Also the CLI's
 * --help and `azora mail dns-records`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadOrCreateDkimKey } from "../../services/mail/dkim.js";
import { openMailQueue } from "../../services/mail/queue.js";
import { CLI, runCLI, tempDir } from "../utils/devnode.js";
import { eventually } from "../utils/workers.js";

const dataDir = tempDir("mail-crash");
const RCPTS = [1, 2, 3, 4, 5].map((i) => `r${i}@beta.test`);
/** Recipients the sink answered 250 for, in order. */
const accepted: string[] = [];
let hold: string | null = "r3@beta.test";
let held = false;
let sink: SMTPServer;
let sinkPort: number;
let proc: ChildProcess | null = null;

function serve(): ChildProcess {
  const p = spawn(process.execPath, [CLI, "mail", "serve", "-c", join(dataDir, "mail.json"), "--log-format", "json"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  p.stdout?.resume();
  p.stderr?.resume();
  return p;
}

beforeAll(async () => {
  sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, cb) {
      stream.resume();
      stream.on("end", () => {
        const rcpt = session.envelope.rcptTo[0].address;
        if (rcpt === hold) {
          held = true; // never answer: the sender is killed while waiting for our reply
          return;
        }
        accepted.push(rcpt);
        cb(null, "OK sunk");
      });
    },
  });
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
  sinkPort = (sink.server.address() as { port: number }).port;
  writeFileSync(
    join(dataDir, "mail.json"),
    JSON.stringify({
      dataDir,
      domains: ["alpha.test"],
      users: [{ address: "alice@alpha.test" }],
      mx: { enabled: false },
      submission: { enabled: false },
      http: { enabled: false },
      imap: { enabled: false },
      auth: { url: "http://127.0.0.1:9" },
      dns: { zone: {} },
      outbound: { routes: { "beta.test": `127.0.0.1:${sinkPort}` }, concurrency: 1, baseDelayMs: 100 },
    }),
  );
  // What a submission leaves behind: one durable message with five recipients.
  const q = openMailQueue(join(dataDir, "queue.sqlite"));
  q.enqueue(
    {
      messageId: "<crash-1@alpha.test>",
      envelopeFrom: "alice@alpha.test",
      raw: Buffer.from(
        "From: alice@alpha.test\r\nTo: many\r\nSubject: crash\r\nMessage-ID: <crash-1@alpha.test>\r\n\r\nbody\r\n",
      ),
      createdAt: Date.now(),
    },
    RCPTS,
  );
  q.close();
}, 60_000);

afterAll(async () => {
  if (proc !== null && proc.exitCode === null && proc.pid !== undefined) process.kill(proc.pid, "SIGKILL");
  await new Promise<void>((r) => sink.close(() => r()));
});

it("resumes after SIGKILL without sending a recorded recipient twice", async () => {
  proc = serve();
  await eventually(async () => (held ? true : undefined), "the sink holding r3's DATA", 120_000);
  expect(accepted).toEqual(["r1@beta.test", "r2@beta.test"]);
  const killed = new Promise((r) => proc?.once("exit", r));
  process.kill(proc.pid as number, "SIGKILL");
  await killed;
  hold = null;
  proc = serve();
  const statuses = await eventually(
    async () => {
      const db = new Database(join(dataDir, "queue.sqlite"), { readonly: true });
      try {
        const rows = db.prepare("SELECT recipient, status FROM recipients ORDER BY rowid").all() as {
          recipient: string;
          status: string;
        }[];
        return rows.every((r) => r.status !== "queued") ? rows : undefined;
      } finally {
        db.close();
      }
    },
    "every recipient final after the restart",
    120_000,
  );
  expect(statuses).toEqual(RCPTS.map((recipient) => ({ recipient, status: "delivered" })));
  expect(accepted).toEqual(RCPTS);
  const exited = new Promise((r) => proc?.once("exit", r));
  process.kill(proc.pid as number, "SIGTERM");
  await exited;
}, 300_000);

it("azora mail serve --help lists its flags; dns-records prints the records of the domain's key", async () => {
  const help = await runCLI(["mail", "serve", "--help"]);
  expect(help.code).toBe(0);
  for (const flag of [
    "--config",
    "--domain",
    "--user",
    "--route",
    "--auth-url",
    "--push-url",
    "--no-imap",
    "--mx-port",
  ])
    expect(help.output).toContain(flag);
  const keysDir = tempDir("mail-dns");
  const r = await runCLI([
    "mail",
    "dns-records",
    "alpha.test",
    "--data-dir",
    keysDir,
    "--spf",
    "ip4:203.0.113.7",
    "--dmarc-policy",
    "reject",
    "--json",
  ]);
  expect(r.code).toBe(0);
  const key = loadOrCreateDkimKey(keysDir, "alpha.test", "azora"); // the key the command created
  expect(JSON.parse(r.output)).toEqual([
    { name: "alpha.test", type: "TXT", value: "v=spf1 ip4:203.0.113.7 -all" },
    { name: "azora._domainkey.alpha.test", type: "TXT", value: `v=DKIM1; k=rsa; p=${key.publicKeyB64}` },
    { name: "_dmarc.alpha.test", type: "TXT", value: "v=DMARC1; p=reject; adkim=s; aspf=r" },
  ]);
});
