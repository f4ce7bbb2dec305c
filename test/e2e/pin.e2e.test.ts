import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JsonRpcProvider, type LogDescription, NonceManager, parseUnits, Wallet } from "ethers";
import type { CID } from "multiformats/cid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MarketClient } from "../../services/client/index.js";
import { decodeNode, evidenceURI, spanOf } from "../../services/pin/index.js";
import { claimBondFor, marketInterface } from "../../services/runtime/chain/market.js";
import { JobStatus, MARKET_ADDRESS, SlotStatus, Verification } from "../../services/runtime/index.js";
import type { StorageService } from "../../services/storage/index.js";
import { seededBytes, startStorage } from "../storage/fixtures.js";
import { DEV_CHAIN_ID, DEV_KEYS, type NodeProcess, REPO_ROOT, runCLI, spawnNode, tempDir } from "../utils/devnode.js";
import { eventually, spawnWorker, type WorkerProcess } from "../utils/workers.js";

/**
 * Issue 9, `storage/pin` end to end with real processes: a devnet, four `azora worker storage/pin` processes with
 * their own IPFS nodes, a requester whose content lives in its own IPFS node. `azora job post storage/pin` posts a
 * pin in the market's Retrieval mode; the worker fetches the DAG over bitswap and holds it. A challenge at a
 * random position (`azora job challenge --position random`) is answered — three verifier workers fetch the
 * worker's proof and check it against the root — and the job is Submitted again with the same deadline. The
 * worker's blocks are then deleted from its disk: the next challenge fails, the worker is slashed, the requester
 * refunded the custody time it paid for and did not get, and the worker unpins.
 *
 * Who pins is decided by price: the three others take no job below 1,000 AZR, so they only verify.
 */

const REQUESTER = 5;
const PINNER = 1;
const VERIFIERS = [3, 4, 6];
const DURATION = 3000;
const addr = (i: number) => new Wallet(DEV_KEYS[i]).address;

let dir: string;
let node: NodeProcess;
let provider: JsonRpcProvider;
let storage: StorageService;
let content: CID;
let dagBytes: bigint;
const workers = new Map<number, WorkerProcess>();

async function logsOf(event: string, id: bigint) {
  const topic = marketInterface.getEvent(event)?.topicHash as string;
  const logs = await provider.getLogs({
    address: MARKET_ADDRESS,
    fromBlock: 0,
    toBlock: "latest",
    topics: [topic, `0x${id.toString(16).padStart(64, "0")}`],
  });
  return logs.map((l) => ({ args: (marketInterface.parseLog(l) as LogDescription).args, blockNumber: l.blockNumber }));
}

const blockTime = async (n: number) => BigInt((await provider.getBlock(n))?.timestamp ?? 0);

/** `azora job …` as the requester, JSON lines out. */
async function cli(args: string[]) {
  const run = await runCLI([...args, "--rpc", node.url, "--dev-account", String(REQUESTER), "--json"], 300_000);
  expect(run.code, run.output).toBe(0);
  return run.output
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, string>);
}

const workerLogs = () =>
  [...workers.entries()].map(([i, w]) => `--- worker ${i}\n${w.output().slice(-3000)}`).join("\n");

beforeAll(async () => {
  dir = tempDir("pin-e2e");
  // the requester's own IPFS node holds the content (3 MiB: a root over three 1 MiB leaves)
  storage = await startStorage({}, join(dir, "requester-ipfs"));
  content = await storage.backend.addFile(seededBytes(3 * 1024 * 1024, "pin-e2e"));
  await storage.backend.pin(content);
  dagBytes = spanOf(decodeNode(content, await storage.backend.getBlock(content)));

  // the devnet with a 15-minute dispute window: three verifiers on a CI machine busy with the whole suite must
  // not miss their vote for lack of time (unbonding stays above its bound)
  const genesis = JSON.parse(readFileSync(join(REPO_ROOT, "genesis/devnet.json"), "utf8"));
  genesis.modules.market.disputeWindow = 900;
  genesis.modules.market.unbondingPeriod = 4 * genesis.modules.market.maxWindow + 900 + 1;
  writeFileSync(join(dir, "genesis.json"), JSON.stringify(genesis));
  node = await spawnNode(join(dir, "chain"), ["--genesis", join(dir, "genesis.json")]);
  provider = new JsonRpcProvider(node.url, Number(DEV_CHAIN_ID), {
    cacheTimeout: -1,
    batchMaxCount: 1,
    staticNetwork: true,
  });
  provider.pollingInterval = 100;
  const spawn = (i: number, extra: string[]) =>
    spawnWorker({ kinds: ["storage/pin"], rpc: node.url, devAccount: i, dataDir: join(dir, `w${i}`), extra });
  const started = await Promise.all([spawn(PINNER, []), ...VERIFIERS.map((i) => spawn(i, ["--price", "1000"]))]);
  for (const [k, i] of [PINNER, ...VERIFIERS].entries()) workers.set(i, started[k]);
}, 300_000);

afterAll(async () => {
  for (const w of workers.values()) await w.stop();
  provider?.destroy();
  await node?.stop();
  await storage?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("storage/pin on a devnet (real processes)", () => {
  it("a pin is held; a passed challenge keeps it Submitted; a worker that deleted the content is slashed and the requester gets the remainder", async () => {
    const pinner = workers.get(PINNER) as WorkerProcess;
    const price = parseUnits("3", 18);

    // post: the root's size comes from the requester's gateway; the worker fetches the DAG from its IPFS node
    const lines = await cli([
      ...["job", "post", "storage/pin", "--cid", content.toString(), "--gateway", storage.url],
      ...["--provider", storage.backend.addresses()[0], "--duration", String(DURATION), "--price", "3", "--wait"],
      ...["--data-dir", join(dir, "requester")],
    ]);
    const id = BigInt(lines.find((l) => l.event === "posted")?.id as string);
    expect(lines.find((l) => l.event === "status")?.status).toBe("Submitted");
    const client = new MarketClient(new NonceManager(new Wallet(DEV_KEYS[REQUESTER], provider)));
    const held = await client.job(id);
    expect(held.spec.verification).toBe(Verification.Retrieval);
    expect(held.spec.challengeWindow).toBe(DURATION);
    expect(held.slots[0].worker).toBe(addr(PINNER));
    const [submitted] = await logsOf("ResultSubmitted", id);
    const start = await blockTime(submitted.blockNumber);
    expect(BigInt(held.challengeEnds)).toBe(start + BigInt(DURATION));
    const pinned = await pinner.waitForLog((l) => l.msg === "pinned", "pinned");
    expect(pinned).toMatchObject({ cid: content.toString(), blocks: 4 });
    expect(String(pinned.dagBytes)).toBe(dagBytes.toString());

    // a challenge at a random position: the three verifiers fetch the proof and confirm it; custody goes on
    await cli(["job", "challenge", String(id), "--position", "random"]);
    await eventually(
      async () => ((await logsOf("JobResumed", id)).length === 1 ? true : undefined),
      "round 1",
      600_000,
    );
    const resumed = await client.job(id);
    expect(resumed.status, workerLogs()).toBe(JobStatus.Submitted);
    expect(resumed.challengeEnds).toBe(held.challengeEnds);
    expect(resumed.verifiers).toEqual([]);
    const [round1] = await logsOf("DisputeResolved", id);
    expect(round1.args.workerWon).toBe(true);
    expect(await logsOf("WorkerSlashed", id)).toEqual([]);
    const voters = (await logsOf("VerifierVoted", id)).map((v) => v.args.verifier).sort();
    expect(voters).toEqual(VERIFIERS.map(addr).sort());
    for (const i of VERIFIERS)
      await (workers.get(i) as WorkerProcess).waitForLog((l) => l.msg === "retrieval challenge answered", "answered");

    // the worker loses the content: its blocks are deleted from disk (its IPFS node keeps running)
    const blocks = join(pinner.dataDir, "ipfs", "blocks");
    rmSync(blocks, { recursive: true, force: true });
    mkdirSync(blocks, { recursive: true });
    const pinnerBefore = await client.worker(addr(PINNER));
    const creditBefore = await client.withdrawable(addr(REQUESTER), "AZR");
    const challenge = await client.challenge(id, evidenceURI(dagBytes - 1n));
    const challengedAt = await blockTime(challenge.blockNumber);
    const settled = await client.waitFor(
      id,
      (j) => j.status !== JobStatus.Submitted && j.status !== JobStatus.Challenged,
      {
        timeoutMs: 600_000,
      },
    );
    expect(settled.status, workerLogs()).toBe(JobStatus.Finalized);
    expect(settled.slots[0].status).toBe(SlotStatus.Slashed);

    // the worker keeps the price of the custody it gave up to the challenge; the requester gets the rest
    const params = await client.params();
    const bond = claimBondFor(price, params);
    const paid = (price * (challengedAt - start)) / BigInt(DURATION);
    const [slash] = await logsOf("WorkerSlashed", id);
    expect([slash.args.worker, slash.args.amount, slash.args.beneficiary]).toEqual([
      addr(PINNER),
      bond,
      addr(REQUESTER),
    ]);
    const [, round2] = await logsOf("DisputeResolved", id);
    expect([round2.args.workerWon, round2.args.toWorkers, round2.args.toRequester]).toEqual([
      false,
      paid,
      price - paid,
    ]);
    const burned = (bond * BigInt(params.slashBurnBps)) / 10_000n;
    // the requester (also the challenger): the remainder, its challenge bond back, the slashed bond's unburned share
    expect(await client.withdrawable(addr(REQUESTER), "AZR")).toBe(
      creditBefore + (price - paid) + params.challengeBond + bond - burned,
    );
    const pinnerAfter = await client.worker(addr(PINNER));
    expect(pinnerAfter.stake).toBe(pinnerBefore.stake - bond);
    expect(pinnerAfter.jobsSlashed).toBe(pinnerBefore.jobsSlashed + 1);
    // the verifiers saw the proof fail; the slashed worker let go of the pin
    const failed = (await workers
      .get(VERIFIERS[0])
      ?.waitForLog(
        (l) => l.msg === "spot check done" && Array.isArray(l.rejected) && l.rejected.length > 0,
        "rejected",
      )) as Record<string, unknown>;
    expect(String(failed.rejected)).toMatch(/HTTP 404/);
    await pinner.waitForLog((l) => l.msg === "unpinned", "unpinned");
  }, 1_200_000);
});
