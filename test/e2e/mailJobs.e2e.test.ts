import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JsonRpcProvider, NonceManager, parseUnits, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MarketClient } from "../../services/client/index.js";
import { decodeDeliveryLog, encodeMailInput } from "../../services/mail/jobs/index.js";
import { marketInterface } from "../../services/runtime/chain/market.js";
import { JobStatus, MARKET_ADDRESS } from "../../services/runtime/index.js";
import { DEV_CHAIN_ID, DEV_KEYS, runCLI, startInProcessNode, tempDir } from "../utils/devnode.js";
import { type MailSink, startMailSink } from "../utils/mailSink.js";
import { eventually, spawnWorker, type WorkerProcess } from "../utils/workers.js";

/**
 * Issue 11, "Shown by": a campaign job to 100 recipients settles on chain, paid per delivered message, and the
 * undeliverable ones are not paid. A real dev node, a real `azora worker mail/campaign` process delivering through
 * a loopback SMTP sink that refuses 10 of the recipients with 550, and the requester's `azora job post`: the worker
 * claims 90 × price-per-message (`submitMetered`), the requester accepts, the worker is paid 90 × price and the
 * requester refunded 10 × price (and that share of the fee); the delivery log's hash on chain matches the stored log.
 * Then a worker killed with kill -9 while a message is in flight resumes the campaign and sends no recipient twice.
 */

const REQUESTER = 5;
const WORKER = 6;
const ARBITER = 7;
const PER_MESSAGE = parseUnits("0.01", 18);
const addr = (i: number) => new Wallet(DEV_KEYS[i]).address;

let dir: string;
let node: Awaited<ReturnType<typeof startInProcessNode>>;
let provider: JsonRpcProvider;
let client: MarketClient;
let sink: MailSink;
let worker: WorkerProcess;

const spawnMailWorker = (port?: number) =>
  spawnWorker({
    kinds: ["mail/campaign", "mail/send"],
    rpc: node.url,
    devAccount: WORKER,
    dataDir: join(dir, "worker"),
    port,
    // 10 AZR (the market minimum, which the worker registers with) × 100,000 an hour: no pacing in the test
    extra: ["--mail-relay", sink.url, "--mail-rate-per-azr", "100000"],
  });

async function eventsOf(event: string, id: bigint) {
  const topic = marketInterface.getEvent(event)?.topicHash as string;
  const logs = await provider.getLogs({
    address: MARKET_ADDRESS,
    fromBlock: 0,
    toBlock: "latest",
    topics: [topic, `0x${id.toString(16).padStart(64, "0")}`],
  });
  return logs.map((l) => marketInterface.parseLog(l)?.args as unknown as unknown[]);
}

function campaignFile(name: string, n: number, refusedEvery: number): string {
  const file = join(dir, name);
  const recipients = Array.from({ length: n }, (_, i) => ({
    to: i % refusedEvery === refusedEvery - 1 ? `nobody${i}@b.example` : `user${i}@b.example`,
    vars: { name: `Learner ${i}` },
  }));
  writeFileSync(
    file,
    encodeMailInput("mail/campaign", {
      from: "Azora Academy <news@a.example>",
      template: {
        subject: "Welcome, {{name}}",
        text: "Hello {{name}}, {{course}} starts Monday.",
        html: "<p>{{name}}</p>",
      },
      vars: { course: "Solidity 101" },
      recipients,
    }),
  );
  return file;
}

const postArgs = (file: string) => [
  "job",
  "post",
  "mail/campaign",
  "--rpc",
  node.url,
  "--dev-account",
  String(REQUESTER),
  "--input",
  file,
  "--price-per-message",
  "0.01",
  "--verification",
  "arbiter",
  "--arbiter",
  addr(ARBITER),
  "--data-dir",
  join(dir, "requester"),
  "--json",
];

const postedId = (output: string) => {
  const line = output.split("\n").find((l) => l.includes('"event":"posted"'));
  if (line === undefined) throw new Error(`no posted line:\n${output}`);
  return BigInt(JSON.parse(line).id);
};

beforeAll(async () => {
  dir = tempDir("mail-jobs-e2e");
  node = await startInProcessNode();
  provider = new JsonRpcProvider(node.url, Number(DEV_CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 });
  provider.pollingInterval = 100;
  client = new MarketClient(new NonceManager(new Wallet(DEV_KEYS[REQUESTER], provider)));
  sink = await startMailSink((rcpt) => rcpt.startsWith("nobody"));
  worker = await spawnMailWorker();
}, 300_000);

afterAll(async () => {
  await worker?.stop();
  await sink?.close();
  provider?.destroy();
  await node?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe("mail/campaign on a dev node (real worker process, loopback SMTP)", () => {
  it("100 recipients, 10 refused with 550: the worker is paid 90 × price, the requester refunded 10 × price", async () => {
    const file = campaignFile("campaign100.json", 100, 10);
    // `job post` escrows 100 × 0.01 + fee, serves the input, and returns once a worker has delivered
    const run = await runCLI(postArgs(file), 600_000);
    expect(run.code, run.output).toBe(0);
    const id = postedId(run.output);
    const job = await client.waitFor(id, (j) => j.status === JobStatus.Submitted, { timeoutMs: 120_000 });
    expect(job.slots[0].worker).toBe(addr(WORKER));
    const price = job.spec.price;
    expect(price).toBe(PER_MESSAGE * 100n);

    // the delivery log: stored content-addressed, its sha256 is the result hash on chain
    const result = await client.result(id);
    expect(`0x${createHash("sha256").update(result.bytes).digest("hex")}`).toBe(job.slots[0].resultHash);
    const log = decodeDeliveryLog(result.bytes);
    expect(log.total).toBe(100);
    expect(log.delivered).toBe(90);
    for (const e of log.entries) {
      if (e.recipient.startsWith("nobody")) {
        expect(e.status, e.recipient).toBe("bounced");
        expect(e.smtpReply, e.recipient).toMatch(/^550 /);
      } else {
        expect(e.status, e.recipient).toBe("delivered");
        expect(e.smtpReply, e.recipient).toMatch(/^250 2\.0\.0 OK queued as m\d+/);
        expect(e.mx).toBe(`127.0.0.1:${sink.port}`);
      }
    }
    // each delivered message reached the sink once, under the message-id the log names
    const ids = sink.received.map((m) => m.messageId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(
      log.entries
        .filter((e) => e.status === "delivered")
        .map((e) => e.messageId)
        .sort(),
    );
    expect(sink.received.find((m) => m.to[0] === "user0@b.example")?.subject).toBe("Welcome, Learner 0");

    // the worker claimed 90 of the 100 messages
    expect((await eventsOf("ResultMetered", id)).map((a) => a[2])).toEqual([PER_MESSAGE * 90n]);

    const creditBefore = await client.withdrawable(addr(REQUESTER));
    await client.accept(id);
    const settled = await client.job(id);
    expect(settled.status).toBe(JobStatus.Finalized);
    const paid = await eventsOf("WorkerPaid", id);
    expect(paid.map((a) => [a[1], a[2]])).toEqual([[addr(WORKER), PER_MESSAGE * 90n]]);
    const fee = job.fee;
    const feeRefund = fee - (fee * 90n) / 100n;
    expect((await eventsOf("JobRefunded", id)).map((a) => a[2])).toEqual([PER_MESSAGE * 10n + feeRefund]);
    expect((await client.withdrawable(addr(REQUESTER))) - creditBefore).toBe(PER_MESSAGE * 10n + feeRefund);
    // the worker withdraws what it was paid by itself
    await eventually(
      async () => ((await eventsOf("JobFinalized", id)).length === 1 ? true : undefined),
      "the job finalized",
    );
  }, 900_000);

  it("the requester disputes the count: the arbiter reads the log and rules delivered/total (azora job challenge / resolve)", async () => {
    const file = campaignFile("campaign20.json", 20, 10);
    const run = await runCLI(postArgs(file), 600_000);
    expect(run.code, run.output).toBe(0);
    const id = postedId(run.output);
    const job = await client.waitFor(id, (j) => j.status === JobStatus.Submitted, { timeoutMs: 120_000 });
    const cli = (args: string[], who?: number) =>
      runCLI(
        ["job", ...args, "--rpc", node.url, ...(who === undefined ? [] : ["--dev-account", String(who)]), "--json"],
        120_000,
      );
    const challenged = await cli(["challenge", String(id), "--evidence", job.slots[0].resultURI], REQUESTER);
    expect(challenged.code, challenged.output).toBe(0);
    // the arbiter downloads the log (checked against its hash) and counts
    const out = join(dir, "log20.json");
    const got = await cli(["result", String(id), "--out", out]);
    expect(got.code, got.output).toBe(0);
    const log = decodeDeliveryLog(new Uint8Array(readFileSync(out)));
    expect([log.delivered, log.total]).toEqual([18, 20]);
    const bps = (log.delivered * 10_000) / log.total;
    const ruled = await cli(["resolve", String(id), "--worker-bps", String(bps)], ARBITER);
    expect(ruled.code, ruled.output).toBe(0);
    const paid = await eventsOf("WorkerPaid", id);
    expect(paid.map((a) => a[2])).toEqual([PER_MESSAGE * 18n]);
    expect((await eventsOf("DisputeResolved", id)).map((a) => [a[2], a[3], a[4]])).toEqual([
      [9_000n, PER_MESSAGE * 18n, PER_MESSAGE * 2n],
    ]);
    expect((await client.job(id)).status).toBe(JobStatus.Finalized);
  }, 900_000);

  it("a worker killed with kill -9 mid-campaign resumes it without sending a recipient twice", async () => {
    const before = sink.received.length;
    const file = campaignFile("campaign40.json", 40, 8);
    // the 20th message's 250 is held: the worker dies with it in flight, so the sink never accepted it
    const held = sink.holdAt(sink.received.length + 20);
    const posting = runCLI(postArgs(file), 600_000);
    await held.reached;
    await worker.kill9();
    held.release();
    expect(sink.received.length - before).toBe(19);
    worker = await spawnMailWorker(worker.port);
    const run = await posting;
    expect(run.code, run.output).toBe(0);
    const id = postedId(run.output);
    const job = await client.waitFor(id, (j) => j.status === JobStatus.Submitted, { timeoutMs: 120_000 });
    const log = decodeDeliveryLog((await client.result(id)).bytes);
    expect(log.total).toBe(40);
    expect(log.delivered).toBe(35);
    const mine = sink.received.slice(before);
    const ids = mine.map((m) => m.messageId);
    expect(new Set(ids).size, "no message-id twice").toBe(ids.length);
    expect(ids.length).toBe(35);
    const rcpts = mine.map((m) => m.to[0]);
    expect(new Set(rcpts).size, "no recipient twice").toBe(35);
    expect((await eventsOf("JobClaimed", id)).length).toBe(1);
    expect((await eventsOf("ResultMetered", id)).map((a) => a[2])).toEqual([(job.spec.price * 35n) / 40n]);
  }, 900_000);
});
