/**
 * The platform API (`http/platformRoutes.ts`) against an in-process dev node whose staking, governance, escrow and
 * job market were used (`platformChain.ts`), on every backend (SQLite; PostgreSQL when `AZORA_TEST_PG_URL` is set):
 * validators, a proposal's live tally and votes, an escrow's and a job's transitions from the indexed events,
 * search by token name, symbol and proposal number.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nullLogger } from "../../runtime/lib/logger.js";
import { resolveExplorerConfig } from "../../services/explorer/config.js";
import { type ExplorerService, startExplorer } from "../../services/explorer/server.js";
import { startInProcessNode, tempDir } from "../utils/devnode.js";
import { PG_URL } from "./backends.js";
import { MONIKER, makePlatformActivity, type PlatformActivity } from "./platformChain.js";

const AZR = 10n ** 18n;
type Node = Awaited<ReturnType<typeof startInProcessNode>>;
let node: Node;
let activity: PlatformActivity;

beforeAll(async () => {
  node = await startInProcessNode();
  activity = await makePlatformActivity(node.url);
}, 240_000);

afterAll(async () => {
  await node?.cleanup();
});

const backends: { name: string; db: () => string; pgSchema: string }[] = [
  { name: "sqlite", db: () => join(tempDir("explorer-platform"), "explorer.sqlite"), pgSchema: "unused" },
  ...(PG_URL === undefined
    ? []
    : [{ name: "postgres", db: () => PG_URL as string, pgSchema: `azora_explorer_platform_${process.pid}` }]),
];

describe.each(backends)("platform API on $name", (backend) => {
  let svc: ExplorerService;
  const get = async (path: string) => {
    const r = await fetch(`${svc.url}${path}`);
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    const cfg = resolveExplorerConfig(undefined, {
      rpc: node.url,
      db: backend.db(),
      pgSchema: backend.pgSchema,
      http: { port: 0 },
      indexer: { batchBlocks: 16, pollMs: 200 },
    });
    svc = await startExplorer(cfg, { log: nullLogger, version: "test" });
    await svc.indexer?.waitFor(activity.lastBlock);
  }, 240_000);

  afterAll(async () => {
    if (backend.name === "postgres") await svc?.store.db.run(`DROP SCHEMA IF EXISTS ${backend.pgSchema} CASCADE`);
    await svc?.close();
  });

  it("lists validators with self and delegated stake, power, commission and uptime; one validator's history", async () => {
    const { status, body } = await get("/v1/validators");
    expect(status).toBe(200);
    const v = (body.validators as Record<string, unknown>[]).find((x) => x.operator === activity.validator);
    expect(v).toMatchObject({
      selfStake: (10n * AZR).toString(),
      delegated: (30n * AZR).toString(),
      tokens: (40n * AZR).toString(),
      moniker: MONIKER,
      active: true,
      jailed: false,
      tombstoned: false,
    });
    expect(typeof v?.missedBlocks).toBe("number");
    expect(Number((body.params as Record<string, string>).signedBlocksWindow)).toBeGreaterThan(0);

    const one = await get(`/v1/validators/${activity.validator}`);
    expect(one.status).toBe(200);
    const events = one.body.events as { event: string; args: Record<string, unknown> }[];
    expect(events.map((e) => e.event)).toEqual(["ValidatorEdited", "Delegated"]);
    expect(events.find((e) => e.event === "Delegated")?.args).toMatchObject({ amount: (30n * AZR).toString() });
    expect((await get("/v1/validators/0x0000000000000000000000000000000000000001")).status).toBe(404);
  });

  it("shows a proposal's action, deposit, live tally against the bonded stake, and its votes", async () => {
    const { status, body } = await get(`/v1/proposals/${activity.proposalId}`);
    expect(status).toBe(200);
    expect(body.proposal).toMatchObject({
      id: activity.proposalId,
      status: "VotingPeriod",
      descriptionURI: activity.description,
      totalDeposit: (10n * AZR).toString(),
      actions: [{ kind: "SetParam", key: "block.gasLimit", value: "70000000" }],
      // the validator's Yes keeps its own 10 AZR; the delegator's No takes its 30 away (test/ledger/governance)
      tally: { yes: (10n * AZR).toString(), no: (30n * AZR).toString(), noWithVeto: "0", abstain: "0" },
    });
    const events = body.events as { event: string; txHash: string; args: Record<string, unknown> }[];
    expect(events.map((e) => e.event)).toEqual([
      "ProposalSubmitted",
      "DepositAdded",
      "VotingStarted",
      "VoteCast",
      "VoteCast",
    ]);
    expect(events.filter((e) => e.event === "VoteCast").map((e) => [e.txHash, e.args.option])).toEqual([
      [activity.voteTxs[0], "1"],
      [activity.voteTxs[1], "2"],
    ]);
    expect(Number((body.params as Record<string, string>).quorumBps)).toBeGreaterThan(0);
    expect(BigInt(body.bonded as string)).toBeGreaterThan(0n);
    const list = await get("/v1/proposals?limit=5");
    expect((list.body.proposals as { id: number }[]).map((p) => p.id)).toEqual([
      activity.proposalId,
      activity.executedId,
    ]);
    expect((await get("/v1/proposals/999")).status).toBe(404);
  });

  it("shows an executed proposal: passed by the validator's vote (with its delegator's stake), timelock, execution", async () => {
    const { body } = await get(`/v1/proposals/${activity.executedId}`);
    const p = body.proposal as {
      status: string;
      tally: Record<string, string>;
      votingEnd: number;
      executableAt: number;
    };
    expect(p.status).toBe("Executed");
    expect(p.tally.yes).toBe((40n * AZR).toString());
    expect(p.executableAt).toBeGreaterThan(p.votingEnd);
    const events = body.events as { event: string; txHash: string }[];
    expect(events.map((e) => e.event)).toEqual([
      "ProposalSubmitted",
      "DepositAdded",
      "VotingStarted",
      "VoteCast",
      "ProposalExecuted",
    ]);
    expect(events[4].txHash).toBe(activity.executeTx);
  });

  it("draws an escrow's and a job's transitions from the indexed events, with their transactions", async () => {
    const e = await get(`/v1/escrows/${activity.escrowId}`);
    expect(e.status).toBe(200);
    expect(e.body.escrow).toMatchObject({
      status: "Resolved",
      amount: (2n * AZR).toString(),
      payer: activity.requester,
    });
    expect((e.body.events as { event: string; txHash: string }[]).map((x) => [x.event, x.txHash])).toEqual([
      ["EscrowCreated", activity.escrowTxs[0]],
      ["EscrowDisputed", activity.escrowTxs[1]],
      ["EscrowResolved", activity.escrowTxs[2]],
    ]);

    const j = await get(`/v1/jobs/${activity.jobId}`);
    expect(j.status).toBe(200);
    expect(j.body.job).toMatchObject({
      status: "Finalized",
      kind: "ai/onnx",
      requester: activity.requester,
      slots: [{ worker: activity.worker, status: "Paid", resultURI: "ipfs://bafkrei-result" }],
    });
    const names = (j.body.events as { event: string }[]).map((x) => x.event);
    expect(names.slice(0, 4)).toEqual(["JobPosted", "JobClaimed", "ResultSubmitted", "JobAccepted"]);
    expect(names).toContain("JobFinalized");
    const txs = new Set((j.body.events as { txHash: string }[]).map((x) => x.txHash));
    for (const tx of activity.jobTxs) expect(txs.has(tx), tx).toBe(true);
    expect((await get("/v1/jobs?limit=10")).body).toEqual([expect.objectContaining({ id: activity.jobId })]);
    expect((await get("/v1/escrows?limit=10")).body).toEqual([expect.objectContaining({ id: activity.escrowId })]);
    expect((await get("/v1/jobs/999")).status).toBe(404);
  });

  it("searches tokens by name or symbol, a proposal by number; LIKE's wildcards are literal; no full text unconfigured", async () => {
    const byName = await get(`/v1/search?q=${encodeURIComponent("test tok")}`);
    expect(byName.body.tokens).toEqual([expect.objectContaining({ address: activity.token, symbol: "TTK" })]);
    expect((await get("/v1/search?q=ttk")).body.tokens).toEqual([expect.objectContaining({ address: activity.token })]);
    expect((await get(`/v1/search?q=${encodeURIComponent("%")}`)).body.tokens).toEqual([]);
    expect((await get(`/v1/search?q=${encodeURIComponent("t_k")}`)).body.tokens).toEqual([]);
    expect((await get("/v1/search?q=aurora")).body.validators).toEqual([
      { operator: activity.validator, moniker: MONIKER },
    ]);
    const p = await get(`/v1/search?q=${encodeURIComponent(`proposal ${activity.proposalId}`)}`);
    expect(p.body).toMatchObject({
      proposals: [{ id: activity.proposalId, status: "VotingPeriod" }],
      fullText: null,
      fullTextError: null,
    });
    const paths = Object.keys(((await get("/openapi.json")).body as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        "/v1/validators",
        "/v1/validators/{address}",
        "/v1/proposals",
        "/v1/proposals/{id}",
        "/v1/escrows/{id}",
        "/v1/jobs/{id}",
        "/v1/search",
      ]),
    );
  });
});
