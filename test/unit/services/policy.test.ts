import { ZeroAddress } from "ethers";
import { describe, expect, it } from "vitest";
import {
  AZR_TOKEN,
  JobStatus,
  type JobView,
  LEARN_ADDRESS,
  type MarketParams,
  SlotStatus,
  Verification,
} from "../../../services/runtime/chain/market.js";
import { decide, type PricePolicy, type WorkerLoad } from "../../../services/runtime/worker/policy.js";

const ME = "0x1111111111111111111111111111111111111111";
const OTHER = "0x2222222222222222222222222222222222222222";
const E18 = 10n ** 18n;

const params: MarketParams = {
  minWorkerStake: 10n * E18,
  claimBondBps: 1000,
  minClaimBond: E18 / 10n,
  feeBps: 100,
  challengeBond: E18,
  disputeWindow: 60,
  unbondingPeriod: 3600,
  maxWindow: 86400,
  maxRedundancy: 5,
  slashBurnBps: 5000,
  learnRewardPerJob: E18,
  minWindow: 1,
  feeRecipient: ZeroAddress,
};

function job(over: Partial<JobView> = {}, spec: Partial<JobView["spec"]> = {}): JobView {
  return {
    id: 1n,
    requester: OTHER,
    status: JobStatus.Open,
    postedAt: 1000,
    challengeEnds: 0,
    fee: 0n,
    slots: [],
    challenger: ZeroAddress,
    challengeBond: 0n,
    verifiers: [],
    disputeEnds: 0,
    revealEnds: 0,
    votes: [],
    voted: [],
    ...over,
    spec: {
      kind: "test/sha256",
      specURI: "data:,",
      inputHash: `0x${"00".repeat(32)}`,
      token: AZR_TOKEN,
      price: 2n * E18,
      redundancy: 1,
      claimWindow: 60,
      deliverWindow: 60,
      challengeWindow: 60,
      verification: Verification.RequesterAccept,
      arbiter: ZeroAddress,
      ...spec,
    },
  };
}

const policy: PricePolicy = {
  minPrice: new Map([
    [AZR_TOKEN.toLowerCase(), E18],
    [LEARN_ADDRESS.toLowerCase(), 3n * E18],
  ]),
  minDeliverWindowSec: 10,
};
const load: WorkerLoad = { address: ME, freeStake: 10n * E18, active: 0, maxJobs: 2 };

describe("worker policy", () => {
  it("takes a well-priced open job, bonding max(price × bps, min)", () => {
    expect(decide(job(), params, policy, load, 1010)).toEqual({ take: true, bond: (2n * E18) / 10n });
    expect(decide(job({}, { price: E18 }), params, policy, load, 1010)).toEqual({ take: true, bond: E18 / 10n });
  });

  const cases: [string, JobView, Partial<WorkerLoad>, number, string, boolean][] = [
    ["not open", job({ status: JobStatus.Claimed }), {}, 1010, "not_open", false],
    ["own job", job({ requester: ME }), {}, 1010, "own_job", false],
    [
      "already in it",
      job({ slots: [{ worker: ME, status: SlotStatus.Claimed } as JobView["slots"][number]] }, { redundancy: 2 }),
      {},
      1010,
      "already_in_job",
      false,
    ],
    ["claim window over", job(), {}, 1060, "claim_window_over", false],
    ["unknown token", job({}, { token: OTHER }), {}, 1010, "token_not_accepted", false],
    ["AZR under price", job({}, { price: E18 - 1n }), {}, 1010, "price_too_low", false],
    ["LEARN under its price", job({}, { token: LEARN_ADDRESS, price: 2n * E18 }), {}, 1010, "price_too_low", false],
    ["deliver window too short", job({}, { deliverWindow: 9 }), {}, 1010, "deliver_window_too_short", false],
    ["under-bonded (later)", job(), { freeStake: E18 / 10n }, 1010, "under_bonded", true],
    ["at capacity (later)", job(), { active: 2 }, 1010, "at_capacity", true],
  ];
  for (const [name, j, l, now, reason, later] of cases) {
    it(`declines: ${name}`, () => {
      expect(decide(j, params, policy, { ...load, ...l }, now)).toEqual({ take: false, reason, later });
    });
  }
});
