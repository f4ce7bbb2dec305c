import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Contract, JsonRpcProvider, NonceManager, parseUnits, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cosine, createAIHandlers, decodeEmbeddings } from "../../ai-oracle/index.js";
import { ILearnAbi } from "../../contracts/artifacts/ILearn.js";
import { MarketClient } from "../../services/client/index.js";
import {
  createBlobServer,
  createFileBlobStore,
  type JobHandler,
  JobStatus,
  LEARN_ADDRESS,
} from "../../services/runtime/index.js";
import { CLI, DEV_CHAIN_ID, DEV_KEYS, type NodeProcess, REPO_ROOT, spawnNode, tempDir } from "../utils/devnode.js";
import { eventually, spawnWorker, type WorkerProcess } from "../utils/workers.js";

/**
 * Issue 8, "Shown by", first part: real processes on a devnet — `azora dev`, an `azora worker` serving the three AI
 * kinds with the shipped models, and a requester using the CLI (`azora job post|accept`) and the typed client. A
 * transcription paid in LEARN settles with exact balances; OCR and embedding jobs in AZR return results that match
 * their hashes and re-run to the same output (or, for float vectors, agree under the kind's rule).
 */

const FIXTURES = join(REPO_ROOT, "test/fixtures/ai");
const REQUESTER = 5;
const WORKER = 1;

let dir: string;
let node: NodeProcess;
let worker: WorkerProcess;
let provider: JsonRpcProvider;
let client: MarketClient;
let learn: Contract;
const local = new Map<string, JobHandler>();

function runCLI(args: string[]): Promise<{ code: number | null; lines: Record<string, unknown>[]; out: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d.toString();
    });
    child.stderr.on("data", (d) => {
      out += d.toString();
    });
    child.once("exit", (code) => {
      const lines = out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      res({ code, lines, out });
    });
  });
}

beforeAll(async () => {
  dir = tempDir("ai-e2e");
  node = await spawnNode(join(dir, "chain"));
  provider = new JsonRpcProvider(node.url, Number(DEV_CHAIN_ID), {
    cacheTimeout: -1,
    batchMaxCount: 1,
    staticNetwork: true,
  });
  provider.pollingInterval = 100;
  client = new MarketClient(new NonceManager(new Wallet(DEV_KEYS[REQUESTER], provider)));
  learn = new Contract(LEARN_ADDRESS, ILearnAbi, provider);
  worker = await spawnWorker({
    kinds: ["ai/transcribe", "ai/ocr", "ai/embed"],
    rpc: node.url,
    devAccount: WORKER,
    dataDir: join(dir, "worker"),
  });
  for (const h of createAIHandlers({ kinds: ["ai/transcribe", "ai/ocr", "ai/embed"] })) {
    await h.init?.();
    local.set(h.kinds[0], h);
  }
}, 300_000);

afterAll(async () => {
  for (const h of local.values()) await h.close?.();
  await worker?.stop();
  provider?.destroy();
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const workerAddress = new Wallet(DEV_KEYS[WORKER]).address;
const requesterAddress = new Wallet(DEV_KEYS[REQUESTER]).address;

describe("AI jobs through the market (real processes)", () => {
  it("a transcription paid in LEARN: worker paid, rewarded and bonded back; requester paid exactly price + fee", async () => {
    const params = await client.params();
    const price = parseUnits("3", 18);
    const fee = (price * BigInt(params.feeBps)) / 10_000n;
    const requesterBefore = (await learn.balanceOf(requesterAddress)) as bigint;
    const workerLearnBefore = (await learn.balanceOf(workerAddress)) as bigint;
    const stakeBefore = await client.worker(workerAddress);
    expect(stakeBefore.locked).toBe(0n);

    // requester: `azora job post` hosts the 188 KB clip itself until a worker has delivered
    const wav = join(FIXTURES, "transfer.wav");
    const posted = await runCLI([
      "job",
      "post",
      "ai/transcribe",
      "--input",
      wav,
      "--content-type",
      "audio/wav",
      "--token",
      "LEARN",
      "--price",
      "3",
      "--rpc",
      node.url,
      "--dev-account",
      String(REQUESTER),
      "--data-dir",
      join(dir, "requester"),
      "--wait",
      "--json",
    ]);
    expect(posted.code, posted.out).toBe(0);
    const ev = posted.lines.find((l) => l.event === "posted") as { id: string; escrowed: string };
    const id = BigInt(ev.id);
    expect(BigInt(ev.escrowed)).toBe(price + fee);
    expect(posted.lines.find((l) => l.event === "status")?.status).toBe("Submitted");
    expect((await learn.balanceOf(requesterAddress)) as bigint).toBe(requesterBefore - price - fee);

    // the result downloads, matches its on-chain hash, and re-running the model gives the same bytes
    const r = await client.result(id);
    expect(r.worker).toBe(workerAddress);
    const text = (JSON.parse(Buffer.from(r.bytes).toString()) as { text: string }).text;
    expect(text.toLowerCase()).toMatch(/transfer/);
    expect(text.toLowerCase()).toMatch(/tokens/);
    expect(text.toLowerCase()).toMatch(/wallet/);
    const again = await (local.get("ai/transcribe") as JobHandler).run(
      { id, kind: "ai/transcribe", spec: {}, input: new Uint8Array(readFileSync(wav)) },
      { signal: new AbortController().signal, progress() {} },
    );
    expect(Buffer.from(again.bytes).equals(Buffer.from(r.bytes))).toBe(true);

    // the requester accepts (CLI); the worker withdraws its LEARN by itself
    const accepted = await runCLI([
      "job",
      "accept",
      String(id),
      "--rpc",
      node.url,
      "--dev-account",
      String(REQUESTER),
      "--json",
    ]);
    expect(accepted.code, accepted.out).toBe(0);
    expect((await client.job(id)).status).toBe(JobStatus.Finalized);
    const expected = workerLearnBefore + price + params.learnRewardPerJob;
    await eventually(
      async () => (((await learn.balanceOf(workerAddress)) as bigint) === expected ? true : undefined),
      "the worker's LEARN payout and reward",
    );
    const after = await client.worker(workerAddress);
    expect(after.locked).toBe(0n); // the claim bond is back
    expect(after.stake).toBe(stakeBefore.stake);
    expect(after.jobsDone).toBe(stakeBefore.jobsDone + 1);
    // nothing more was taken from the requester, nothing is owed back
    expect((await learn.balanceOf(requesterAddress)) as bigint).toBe(requesterBefore - price - fee);
    expect(await client.withdrawable(requesterAddress, "LEARN")).toBe(0n);
  }, 300_000);

  it("OCR and embedding jobs in AZR: results match their hashes, re-run to the same output, rank a paraphrase first", async () => {
    const store = createFileBlobStore(join(dir, "host"));
    const host = await createBlobServer(store, { host: "127.0.0.1", port: 0 });
    try {
      const png = new Uint8Array(readFileSync(join(FIXTURES, "invoice.png")));
      const texts = [
        "How do I get my wallet back if I lost the password?",
        "Reset your wallet password using the recovery phrase.",
        "The cat sat on the warm windowsill all afternoon.",
        "Block rewards are paid to validators every epoch.",
      ];
      const embedInput = new TextEncoder().encode(JSON.stringify({ texts }));
      const price = parseUnits("1", 18);
      const [ocr, embed] = await Promise.all([
        client.post({ kind: "ai/ocr", input: png, contentType: "image/png", price, host: { store, url: host.url } }),
        client.post({
          kind: "ai/embed",
          input: embedInput,
          contentType: "application/json",
          price,
          host: { store, url: host.url },
        }),
      ]);
      for (const p of [ocr, embed])
        await client.waitFor(p.id, (j) => j.status === JobStatus.Submitted, { timeoutMs: 240_000 });

      const ocrResult = await client.result(ocr.id);
      const lines = (JSON.parse(Buffer.from(ocrResult.bytes).toString()) as { lines: { text: string }[] }).lines;
      expect(lines.map((l) => l.text).join("\n")).toMatch(/Invoice No\.? ?4821/);
      const ocrAgain = await (local.get("ai/ocr") as JobHandler).run(
        { id: ocr.id, kind: "ai/ocr", spec: {}, input: png },
        { signal: new AbortController().signal, progress() {} },
      );
      expect(Buffer.from(ocrAgain.bytes).equals(Buffer.from(ocrResult.bytes))).toBe(true);

      const embedResult = await client.result(embed.id);
      const [q, paraphrase, ...unrelated] = decodeEmbeddings(embedResult.bytes);
      for (const u of unrelated) expect(cosine(q, paraphrase)).toBeGreaterThan(cosine(q, u));
      const h = local.get("ai/embed") as JobHandler;
      const job = { id: embed.id, kind: "ai/embed", spec: {}, input: embedInput };
      const own = await h.run(job, { signal: new AbortController().signal, progress() {} });
      expect(h.agrees(own, embedResult.bytes, job)).toBe(true);

      for (const p of [ocr, embed]) await client.accept(p.id);
      for (const p of [ocr, embed]) expect((await client.job(p.id)).status).toBe(JobStatus.Finalized);
    } finally {
      await host.close();
    }
  }, 300_000);
});
