import { describe, expect, it } from "vitest";
import { snippetRuns } from "../../../../services/explorer/fullText.js";
import {
  escrowTransitions,
  jobTransitions,
  proposalTransitions,
} from "../../../../services/explorer/web/lifecycles.js";
import type { ModuleEvent } from "../../../../services/explorer/web/platformApi.js";
import { percent } from "../../../../services/explorer/web/platformFormat.js";

const ev = (event: string, n = 0): ModuleEvent => ({
  txHash: `0x${String(n).padStart(64, "0")}`,
  blockNumber: n,
  logIndex: 0,
  timestamp: null,
  event,
  args: {},
});
const states = (ts: { to: string | null }[]) => ts.map((t) => t.to);

describe("explorer platform lifecycles", () => {
  it("a job of three workers is Claimed at its third claim and Submitted at its third delivery", () => {
    const events = [
      "JobPosted",
      "JobClaimed",
      "JobClaimed",
      "JobClaimed",
      "ResultCommitted",
      "ResultCommitted",
      "ResultCommitted",
      "RevealOpened",
      "ResultSubmitted",
      "ResultSubmitted",
      "ResultSubmitted",
      "JobChallenged",
      "VerifierVoted",
      "DisputeResolved",
      "JobFinalized",
      "WorkerPaid",
    ].map((e, i) => ev(e, i));
    expect(states(jobTransitions(3, events))).toEqual([
      "Open",
      null,
      null,
      "Claimed",
      null,
      null,
      null,
      null,
      null,
      null,
      "Submitted",
      "Challenged",
      null,
      null,
      "Finalized",
      null,
    ]);
    // a retrieval challenge rejected: back to Submitted; an unclaimed job refunded; a cancelled one
    expect(states(jobTransitions(1, [ev("JobChallenged"), ev("JobResumed")]))).toEqual(["Challenged", "Submitted"]);
    expect(states(jobTransitions(1, [ev("JobPosted"), ev("ClaimExpired"), ev("JobRefunded")]))).toEqual([
      "Open",
      null,
      "Refunded",
    ]);
    expect(states(jobTransitions(2, [ev("JobPosted"), ev("JobCancelled")]))).toEqual(["Open", "Cancelled"]);
  });

  it("escrows and proposals move on their own events; deposits and votes move nothing", () => {
    expect(
      states(escrowTransitions([ev("EscrowCreated"), ev("EscrowDisputed"), ev("EscrowReleased"), ev("Other")])),
    ).toEqual(["Active", "Disputed", "Released", null]);
    expect(
      states(
        proposalTransitions([
          ev("ProposalSubmitted"),
          ev("DepositAdded"),
          ev("VotingStarted"),
          ev("ProposalExecuted"),
          ev("DepositClaimed"),
        ]),
      ),
    ).toEqual(["DepositPeriod", null, "VotingPeriod", "Executed", null]);
  });

  it("tally shares are exact on 256-bit stakes", () => {
    expect(percent("10000000000000000000", "40000000000000000000")).toBe("25 %");
    expect(percent("1", "3")).toBe("33.33 %");
    expect(percent("5", "0")).toBe("0 %");
    expect(percent((2n ** 255n).toString(), (2n ** 256n).toString())).toBe("50 %");
  });

  it("splits Azora Search's highlighted excerpt into marked runs, never reading markup from the text", () => {
    expect(snippetRuns("raise the \u0002gas\u0003 limit to <em>x</em> \u0002seventy\u0003")).toEqual([
      { text: "raise the ", match: false },
      { text: "gas", match: true },
      { text: " limit to <em>x</em> ", match: false },
      { text: "seventy", match: true },
    ]);
    expect(snippetRuns("\u0002all\u0003")).toEqual([{ text: "all", match: true }]);
    expect(snippetRuns("")).toEqual([]);
  });
});
