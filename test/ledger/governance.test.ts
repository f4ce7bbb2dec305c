import { encodeBytes32String, hexlify, Interface, type InterfaceAbi } from "ethers";
import { beforeEach, describe, expect, it } from "vitest";
import { loadArtifact } from "../../contracts/artifacts.js";
import { LocalChain } from "./localChain.js";
import { AZR, Driver, GOVERNANCE, govI, stakingI, wazrI } from "./stakingFixture.js";

/**
 * Governance (0x…0A07) on the runtime: deposits, votes weighted by bonded stake with delegators
 * inheriting their validator's vote unless they vote, Cosmos x/gov's quorum / threshold / veto, the
 * timelock, and every action kind (chain, staking, market and gov parameters; LEARN issuers;
 * treasury spends; upgrade plans) with what the executing block reports to consensus.
 * Devnet parameters: minDeposit 10 AZR, deposit period 600 s, voting 600 s, timelock 60 s.
 */
const learnI = new Interface(loadArtifact("ILearn").abi as InterfaceAbi);
const LEARN = "0x0000000000000000000000000000000000000a02";
const MARKET = "0x0000000000000000000000000000000000000a05";
const marketI = new Interface(loadArtifact("IJobMarket").abi as InterfaceAbi);
const K = encodeBytes32String;
enum Kind {
  SetParam = 0,
  SetLearnIssuer = 1,
  TreasurySpend = 2,
  SoftwareUpgrade = 3,
}
enum Status {
  DepositPeriod = 1,
  VotingPeriod = 2,
  Passed = 3,
  Rejected = 4,
  Vetoed = 5,
  Executed = 6,
  Failed = 7,
  Expired = 8,
}
const ZERO = "0x0000000000000000000000000000000000000000";
const action = (kind: Kind, key: string, value: bigint, target = ZERO, info = "") => [kind, key, value, target, info];
const param = (key: string, value: bigint) => action(Kind.SetParam, K(key), value);

let chain: LocalChain;
let d: Driver;
let op0: LocalChain["accounts"][number];
let alice: LocalChain["accounts"][number];

beforeEach(async () => {
  chain = await LocalChain.start({
    extra: 4,
    edit: (json) => {
      json.alloc[GOVERNANCE] = { balance: (100n * AZR).toString() }; // a treasury to spend
    },
  });
  d = new Driver(chain, chain.accounts);
  op0 = chain.accounts[0];
  alice = chain.accounts[5];
});

const proposal = async (id: bigint) => (await d.view(govI, "proposal", [id]))[0];

async function propose(actions: unknown[], deposit = 10n * AZR, from = op0): Promise<bigint> {
  const r = await d.send(from, govI, "propose", [actions, "ipfs://proposal"], { value: deposit });
  expect(r.status, "propose").toBe(1);
  return (await d.view(govI, "proposalCount"))[0] as bigint;
}

/** Blocks `dt` seconds apart until `seconds` have passed. */
async function wait(seconds: bigint): Promise<void> {
  chain.now += seconds;
  await d.blocks(1);
}

async function passAndExecute(actions: unknown[]): Promise<bigint> {
  const id = await propose(actions);
  await d.send(op0, govI, "vote", [id, 1]);
  await wait(600n);
  expect((await proposal(id)).status).toBe(BigInt(Status.Passed));
  expect((await d.revert(op0, govI, "execute", [id])).name).toBe("ProposalTooEarly");
  chain.now += 60n;
  const r = await d.send(op0, govI, "execute", [id]);
  expect(r.status, "execute").toBe(1);
  return id;
}

describe("a parameter change", () => {
  it("raises the gas limit and lowers the base-fee floor from a stated height, reported in the block's effects", async () => {
    const id = await passAndExecute([
      param("block.gasLimit", 80_000_000n),
      param("fees.minBaseFeePerGas", 5n * 10n ** 8n),
    ]);
    const executedAt = chain.height;
    expect((await proposal(id)).status).toBe(BigInt(Status.Executed));
    expect(chain.lastEffects?.paramChanges).toEqual([
      { height: executedAt + 2n, changes: { gasLimit: 80_000_000n, fees: { minBaseFeePerGas: 5n * 10n ** 8n } } },
    ]);
    const pending = await d.view(govI, "pendingChanges");
    expect(pending[2]).toEqual([executedAt + 2n, executedAt + 2n]);
    await d.blocks(1);
    expect((await d.view(govI, "pendingChanges"))[0]).toEqual([]);
    // The deposit comes back.
    const before = await chain.balance(op0.address);
    const r = await d.send(op0, govI, "claimDeposit", [id]);
    expect(await chain.balance(op0.address)).toBe(before + 10n * AZR - r.gasUsed * 10n ** 9n);
    expect((await d.revert(op0, govI, "claimDeposit", [id])).name).toBe("NothingToClaim");
  });

  it("changes staking, market and governance parameters when executed", async () => {
    await passAndExecute([
      param("staking.maxValidators", 7n),
      param("slashing.downtimeSlashBps", 200n),
      param("market.feeBps", 250n),
      param("gov.votingPeriod", 60n),
    ]);
    const sp = (await d.view(stakingI, "params"))[0];
    expect(sp.maxValidators).toBe(7n);
    expect(sp.downtimeSlashBps).toBe(200n);
    const mp = marketI.decodeFunctionResult(
      "params",
      (await chain.call(op0.address, MARKET, marketI.encodeFunctionData("params"))).data,
    )[0];
    expect(mp.feeBps).toBe(250n);
    expect((await d.view(govI, "params"))[0].votingPeriod).toBe(60n);
    expect(chain.lastEffects?.paramChanges).toEqual([]);
  });
});

describe("votes and tally", () => {
  it("gives delegators their validator's vote unless they vote; counts shares as they change", async () => {
    await d.send(alice, stakingI, "delegate", [op0.address], { value: 30n * AZR });
    const id = await propose([param("block.gasLimit", 70_000_000n)]);
    await d.send(op0, govI, "vote", [id, 1]); // Yes: 10 own + 30 inherited
    let p = await proposal(id);
    expect([p.yes, p.no]).toEqual([40n * AZR, 0n]);
    await d.send(alice, govI, "vote", [id, 2]); // No: alice takes her 30 away
    p = await proposal(id);
    expect([p.yes, p.no]).toEqual([10n * AZR, 30n * AZR]);
    await d.send(alice, stakingI, "undelegate", [op0.address, 10n * AZR]);
    p = await proposal(id);
    expect([p.yes, p.no]).toEqual([10n * AZR, 20n * AZR]);
    await d.send(alice, govI, "vote", [id, 4]); // changes her mind: Abstain
    p = await proposal(id);
    expect([p.yes, p.no, p.abstain]).toEqual([10n * AZR, 0n, 20n * AZR]);
    await d.send(alice, govI, "vote", [id, 2]);
    await wait(600n);
    p = await proposal(id);
    expect(p.status).toBe(BigInt(Status.Rejected)); // 10 Yes of 30 non-abstaining
    expect([p.yes, p.no]).toEqual([10n * AZR, 20n * AZR]);
  });

  it("rejects without quorum, vetoes (burning the deposits), passes on a majority", async () => {
    const noQuorum = await propose([param("block.gasLimit", 70_000_000n)]);
    const vetoed = await propose([param("block.gasLimit", 70_000_000n)]);
    await d.send(op0, govI, "vote", [vetoed, 3]);
    const supply = (await d.view(wazrI, "totalSupply"))[0] as bigint;
    await wait(600n);
    expect((await proposal(noQuorum)).status).toBe(BigInt(Status.Rejected));
    expect((await proposal(vetoed)).status).toBe(BigInt(Status.Vetoed));
    expect((await d.view(wazrI, "totalSupply"))[0]).toBe(supply - 10n * AZR);
    expect((await d.revert(op0, govI, "claimDeposit", [vetoed])).name).toBe("ProposalInvalidState");
    expect((await d.send(op0, govI, "claimDeposit", [noQuorum])).status).toBe(1);
    expect((await d.view(govI, "treasury"))[0]).toBe(100n * AZR);
  });

  it("starts voting when deposits reach the minimum; an underfunded proposal expires and its deposits come back", async () => {
    const id = await propose([param("block.gasLimit", 70_000_000n)], 4n * AZR);
    expect((await proposal(id)).status).toBe(BigInt(Status.DepositPeriod));
    expect((await d.revert(op0, govI, "vote", [id, 1])).name).toBe("ProposalInvalidState");
    await d.send(alice, govI, "deposit", [id], { value: 6n * AZR });
    const p = await proposal(id);
    expect(p.status).toBe(BigInt(Status.VotingPeriod));
    expect(p.totalDeposit).toBe(10n * AZR);
    const late = await propose([param("block.gasLimit", 70_000_000n)], AZR);
    chain.now += 600n;
    expect((await proposal(late)).status).toBe(BigInt(Status.Expired));
    expect((await d.revert(alice, govI, "deposit", [late], AZR)).name).toBe("ProposalTooLate");
    expect((await d.send(op0, govI, "claimDeposit", [late])).status).toBe(1);
  });
});

describe("actions", () => {
  it("spends from the treasury, sets a LEARN issuer, schedules an upgrade", async () => {
    const bob = chain.accounts[6].address;
    const height = chain.height + 1000n;
    const before = await chain.balance(bob);
    await passAndExecute([
      action(Kind.TreasurySpend, K(""), 40n * AZR, bob),
      action(Kind.SetLearnIssuer, K(""), 1n, bob),
      action(Kind.SoftwareUpgrade, K("azora-v2"), height, ZERO, "0.2.0"),
    ]);
    expect(await chain.balance(bob)).toBe(before + 40n * AZR);
    expect((await d.view(govI, "treasury"))[0]).toBe(60n * AZR);
    const learn = learnI.decodeFunctionResult(
      "isIssuer",
      (await chain.call(bob, LEARN, learnI.encodeFunctionData("isIssuer", [bob]))).data,
    );
    expect(learn[0]).toBe(true);
    expect(chain.lastEffects?.upgradePlan).toEqual({ name: "azora-v2", height, version: "0.2.0" });
    expect(await d.view(govI, "upgradePlan")).toEqual(["azora-v2", height, "0.2.0"]);
  });

  it("refuses invalid actions at propose and fails (whole) at execute when one can no longer run", async () => {
    const bad = async (a: unknown[]) => (await d.revert(op0, govI, "propose", [[a], ""], 10n * AZR)).args[1] as string;
    expect(await bad(param("block.gasLimit", 1_000n))).toMatch(/block.gasLimit must be between/);
    expect(await bad(param("no.such.param", 1n))).toMatch(/unknown parameter/);
    expect(await bad(param("market.minWindow", 10_000n))).toMatch(/minWindow must not exceed/);
    expect(await bad(param("slashing.doubleSignSlashBps", 6_000n))).toMatch(/between 0 and 5000/);
    expect(await bad(action(Kind.TreasurySpend, K(""), 101n * AZR, chain.accounts[6].address))).toMatch(
      /treasury holds/,
    );
    expect(await bad(action(Kind.TreasurySpend, K(""), AZR, ZERO))).toMatch(/zero address/);
    expect(await bad(action(Kind.SoftwareUpgrade, K("v2"), chain.height + 100n, ZERO, "two"))).toMatch(
      /MAJOR.MINOR.PATCH/,
    );
    expect(await bad(action(Kind.SoftwareUpgrade, K("v2"), chain.height + 1n, ZERO, "1.0.0"))).toMatch(
      /more than 2 blocks/,
    );
    expect((await d.revert(op0, govI, "propose", [[], ""], 10n * AZR)).name).toBe("NoActions");
    expect((await d.revert(op0, govI, "vote", [1n, 1])).name).toBe("ProposalNotFound");
    // Two spends that fit when proposed; the treasury is spent by another proposal first.
    const a = await propose([action(Kind.TreasurySpend, K(""), 60n * AZR, chain.accounts[6].address)]);
    const b = await propose([action(Kind.TreasurySpend, K(""), 60n * AZR, chain.accounts[7].address)]);
    await d.send(op0, govI, "vote", [a, 1]);
    await d.send(op0, govI, "vote", [b, 1]);
    expect((await d.revert(op0, govI, "vote", [a, 5])).name).toBe("InvalidVoteOption");
    await wait(600n);
    chain.now += 60n;
    expect((await d.send(op0, govI, "execute", [a])).status).toBe(1);
    const r = await d.send(op0, govI, "execute", [b]);
    expect(r.status).toBe(1);
    expect((await proposal(b)).status).toBe(BigInt(Status.Failed));
    const failed = govI.parseLog({ topics: r.logs[0][1].map((t) => hexlify(t)), data: hexlify(r.logs[0][2]) });
    expect(failed?.args.reason).toMatch(/treasury holds 40/);
    expect((await d.revert(op0, govI, "execute", [a])).name).toBe("ProposalInvalidState");
  });
});
