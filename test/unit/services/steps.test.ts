import { ZeroAddress } from "ethers";
import { describe, expect, it } from "vitest";
import { nullLogger } from "../../../runtime/lib/logger.js";
import {
  AZR_TOKEN,
  JobStatus,
  type JobView,
  type MarketParams,
  SlotStatus,
  Verification,
} from "../../../services/runtime/chain/market.js";
import type { TxOutcome } from "../../../services/runtime/chain/txManager.js";
import { type JobRow, type JobState, Journal } from "../../../services/runtime/journal.js";
import { type DriverContext, stepVerify, stepWork } from "../../../services/runtime/worker/steps.js";
import type { WorkerOptions } from "../../../services/runtime/worker/worker.js";

/**
 * Reconciliation: each step reads the market's view first and moves the journal to what the chain says, so a
 * restart at any point (or a requester faster than the worker) never repeats or strands an action. The market and
 * the transaction manager are fakes here; the e2e tests run the same steps against a real node.
 */

const ME = "0x1111111111111111111111111111111111111111";
const OTHER = "0x2222222222222222222222222222222222222222";
const HASH = `0x${"ab".repeat(32)}`;

const params = { minWorkerStake: 10n, claimBondBps: 1000, minClaimBond: 1n } as MarketParams;

function view(over: Partial<JobView> = {}, slots: Partial<JobView["slots"][number]>[] = []): JobView {
  return {
    id: 1n,
    requester: OTHER,
    status: JobStatus.Open,
    postedAt: 100,
    challengeEnds: 0,
    fee: 0n,
    challenger: ZeroAddress,
    challengeBond: 0n,
    verifiers: [],
    disputeEnds: 0,
    revealEnds: 0,
    votes: [],
    voted: [],
    spec: {
      kind: "test/sha256",
      specURI: "data:,",
      inputHash: HASH,
      token: AZR_TOKEN,
      price: 100n,
      redundancy: 1,
      claimWindow: 600,
      deliverWindow: 600,
      challengeWindow: 600,
      verification: Verification.RequesterAccept,
      arbiter: ZeroAddress,
    },
    ...over,
    slots: slots.map((s) => ({
      worker: ME,
      status: SlotStatus.Claimed,
      claimedAt: 100,
      deliverBy: 700,
      bond: 10n,
      commitment: HASH,
      resultHash: HASH,
      resultURI: "",
      ...s,
    })),
  };
}

function harness(v: JobView, now = 200) {
  const journal = new Journal(":memory:");
  const sent: { action: string; args: readonly unknown[] }[] = [];
  const ctx: DriverContext = {
    address: ME,
    params,
    opts: { maxJobs: 4, reclaim: true, maxRuns: 3 } as WorkerOptions,
    deps: {
      market: { job: async () => v, worker: async () => ({ stake: 100n, locked: 0n }) } as never,
      txm: { pending: () => [] } as never,
      journal,
      blobs: {} as never,
      metrics: null,
    },
    logger: nullLogger,
    nowSec: () => now,
    activeWorkJobs: () => 0,
    handlerFor: () => undefined,
    wake: () => {},
    trackRun: () => {},
    isStopping: () => false,
    requestWithdraw: () => {},
    freeStake: async () => 100n,
    noteBond: () => {},
    takePaid: () => false,
    endpointOf: async () => undefined,
    sendMarketTx: async (_row, action, args) => {
      sent.push({ action, args });
      return { seq: 1, hash: "0x", status: "mined", block: 1, gasUsed: 1n, logs: [] } as TxOutcome;
    },
  };
  const row = (state: JobState, role: "work" | "verify" = "work"): JobRow => {
    journal.addJob({ id: 1n, role, kind: "test/sha256", state, foundBlock: 1 });
    journal.updateJob(1n, role, { resultHash: HASH, resultCID: "bafk", salt: null });
    return journal.getJob(1n, role) as JobRow;
  };
  return { ctx, journal, sent, row };
}

describe("job steps reconcile with the chain", () => {
  it("candidate the chain says we hold → claimed (a claim mined before a crash is not sent again)", async () => {
    const h = harness(view({ status: JobStatus.Claimed }, [{}]));
    expect(await stepWork(h.ctx, h.row("candidate"))).toBe("again");
    expect(h.journal.getJob(1n, "work")?.state).toBe("claimed");
    expect(h.sent).toEqual([]);
  });

  it("claiming with no pending transaction and no slot: back to candidate while open, else watching", async () => {
    const open = harness(view());
    await stepWork(open.ctx, open.row("claiming"));
    expect(open.journal.getJob(1n, "work")?.state).toBe("candidate");
    const taken = harness(view({ status: JobStatus.Claimed }, [{ worker: OTHER }]));
    await stepWork(taken.ctx, taken.row("claiming"));
    expect(taken.journal.getJob(1n, "work")?.state).toBe("watching");
  });

  it("computed but already delivered on chain → delivered, no second submit", async () => {
    const h = harness(view({ status: JobStatus.Submitted, challengeEnds: 900 }, [{ status: SlotStatus.Revealed }]));
    expect(await stepWork(h.ctx, h.row("computed"))).toBe("again");
    expect(h.journal.getJob(1n, "work")?.state).toBe("delivered");
    expect(h.sent).toEqual([]);
  });

  it("computed but already accepted and paid (a fast requester) → done, paid", async () => {
    const h = harness(view({ status: JobStatus.Finalized }, [{ status: SlotStatus.Paid }]));
    expect(await stepWork(h.ctx, h.row("computed"))).toBe("wait");
    expect(h.journal.getJob(1n, "work")).toMatchObject({ state: "done", outcome: "paid" });
  });

  it("delivered and a scanned WorkerPaid names it → done, paid, without reading the job's view", async () => {
    const h = harness(view({ status: JobStatus.Submitted, challengeEnds: 900 }, [{ status: SlotStatus.Revealed }]));
    let reads = 0;
    const market = h.ctx.deps.market as unknown as { job: () => Promise<JobView> };
    const real = market.job;
    market.job = () => {
      reads++;
      return real();
    };
    const paid = new Set([1n]);
    const ctx = { ...h.ctx, takePaid: (id: bigint) => paid.delete(id) };
    expect(await stepWork(ctx, h.row("delivered"))).toBe("wait");
    expect(h.journal.getJob(1n, "work")).toMatchObject({ state: "done", outcome: "paid" });
    expect(reads).toBe(0);
    // not paid (yet): the view decides, and here it says wait for the challenge window
    const w = harness(view({ status: JobStatus.Submitted, challengeEnds: 900 }, [{ status: SlotStatus.Revealed }]));
    expect(await stepWork(w.ctx, w.row("delivered"))).toBe("wait");
    expect(w.journal.getJob(1n, "work")?.state).toBe("delivered");
  });

  it("computed and still claimed → submit (redundancy 1) with the journaled hash and a blob URI", async () => {
    const h = harness(view({ status: JobStatus.Claimed }, [{}]));
    h.ctx.opts.endpoint = "http://w:1";
    await stepWork(h.ctx, h.row("computed"));
    expect(h.sent).toEqual([{ action: "submit", args: [1n, HASH, "http://w:1/blobs/bafk"] }]);
  });

  it("computed by a metered handler → submitMetered with what meter() reads off the stored result", async () => {
    const h = harness(view({ status: JobStatus.Claimed }, [{}]));
    h.ctx.opts.endpoint = "http://w:1";
    const stored = new TextEncoder().encode("9 of 10");
    const asked: string[] = [];
    h.ctx.deps.blobs = {
      get: async (cid: string) => {
        asked.push(cid);
        return { bytes: stored, info: {} };
      },
    } as never;
    h.ctx.handlerFor = () =>
      ({
        meter: (bytes: Uint8Array, price: bigint) =>
          new TextDecoder().decode(bytes) === "9 of 10" ? (price * 9n) / 10n : 0n,
      }) as never;
    await stepWork(h.ctx, h.row("computed"));
    expect(asked).toEqual(["bafk"]);
    expect(h.sent).toEqual([{ action: "submitMetered", args: [1n, HASH, "http://w:1/blobs/bafk", 90n] }]);
  });

  it("committed before reveals open → waits; delivered past the challenge window → finalize", async () => {
    const c = harness(
      view({ status: JobStatus.Open }, [{ status: SlotStatus.Committed }, { status: SlotStatus.Empty }]),
    );
    expect(await stepWork(c.ctx, c.row("committed"))).toBe("wait");
    expect(c.sent).toEqual([]);
    const d = harness(view({ status: JobStatus.Submitted, challengeEnds: 150 }, [{ status: SlotStatus.Revealed }]));
    await stepWork(d.ctx, d.row("delivered"));
    expect(d.sent.map((s) => s.action)).toEqual(["finalize"]);
  });

  it("watching a claim past its deadline → reclaim", async () => {
    const h = harness(view({ status: JobStatus.Claimed }, [{ worker: OTHER, deliverBy: 150 }]));
    await stepWork(h.ctx, h.row("watching"));
    expect(h.sent.map((s) => s.action)).toEqual(["reclaim"]);
    expect(h.journal.getJob(1n, "work")?.state).toBe("candidate");
  });

  it("a verifier that already voted (journal lost the vote) does not vote again", async () => {
    const h = harness(
      view(
        { status: JobStatus.Challenged, verifiers: [OTHER, ME, OTHER], voted: [false, true, false], disputeEnds: 900 },
        [{ worker: OTHER, status: SlotStatus.Revealed }],
      ),
    );
    await stepVerify(h.ctx, h.row("assigned", "verify"));
    expect(h.journal.getJob(1n, "verify")).toMatchObject({ state: "done", outcome: "voted" });
    expect(h.sent).toEqual([]);
  });

  it("retrieval rounds: a vote computed for an earlier round is computed again, never cast in this one", async () => {
    const retrieval = { ...view().spec, verification: Verification.Retrieval };
    const h = harness(
      view(
        { status: JobStatus.Challenged, spec: retrieval, verifiers: [OTHER, ME, OTHER], voted: [false, false, false] },
        [{ worker: OTHER, status: SlotStatus.Revealed }],
      ),
    );
    // a round ended at 900; this one ends at 1800 (the view's disputeEnds)
    (h.ctx.deps.market as unknown as { job: () => Promise<JobView> }).job = async () =>
      view(
        {
          status: JobStatus.Challenged,
          spec: retrieval,
          verifiers: [OTHER, ME, OTHER],
          voted: [false, false, false],
          disputeEnds: 1800,
        },
        [{ worker: OTHER, status: SlotStatus.Revealed }],
      );
    const row = h.row("computed", "verify");
    h.journal.updateJob(1n, "verify", { voteHash: HASH, round: 900 });
    expect(await stepVerify(h.ctx, { ...row, voteHash: HASH, round: 900 })).toBe("again");
    expect(h.journal.getJob(1n, "verify")).toMatchObject({ state: "assigned", voteHash: null, round: null });
    expect(h.sent).toEqual([]);
    // computed for this round: cast
    h.journal.updateJob(1n, "verify", { state: "computed", voteHash: HASH, round: 1800 });
    await stepVerify(h.ctx, h.journal.getJob(1n, "verify") as JobRow);
    expect(h.sent).toEqual([{ action: "vote", args: [1n, HASH] }]);
  });

  it("a new round reassigns a verifier whose row is done", () => {
    const journal = new Journal(":memory:");
    expect(journal.reassignVerifier(1n, 5)).toBe(false);
    journal.addJob({ id: 1n, role: "verify", kind: "storage/pin", state: "assigned", foundBlock: 3 });
    journal.updateJob(1n, "verify", { state: "done", outcome: "voted", voteHash: HASH, round: 900, runs: 1 });
    expect(journal.reassignVerifier(1n, 5)).toBe(true);
    expect(journal.getJob(1n, "verify")).toMatchObject({
      state: "assigned",
      outcome: null,
      voteHash: null,
      round: null,
      runs: 0,
      foundBlock: 5,
    });
  });
});
