import { encodeBytes32String, getBytes, hexlify, ZeroAddress } from "ethers";
import { beforeEach, describe, expect, it } from "vitest";
import devnetJSON from "../../genesis/devnet.json" with { type: "json" };
import { LocalChain } from "./localChain.js";
import {
  AZR,
  commitOf,
  consensusKey,
  DEVNET_VALIDATOR_KEY,
  Driver,
  GOVERNANCE,
  govI,
  STAKING,
  stakingI,
  wazrI,
} from "./stakingFixture.js";

/**
 * The staking module (0x…0A06) on the runtime (LocalChain: blocks at chosen times, with the
 * consensus information a node passes — who signed the parent block, evidence): validators and
 * their keys, delegation and unbonding, rewards, downtime and double-sign slashing, the epoch's set.
 */
const EPOCH = 20n;
const STAKING_PARAMS = { ...devnetJSON.modules.staking, inflationBps: 700, unbondingPeriod: 300 };

let chain: LocalChain;
let d: Driver;
/** Dev account 0: operator of the devnet validator. */
let op0: LocalChain["accounts"][number];

beforeEach(async () => {
  chain = await LocalChain.start({ extra: 8, modules: { staking: STAKING_PARAMS } });
  d = new Driver(chain, chain.accounts);
  op0 = chain.accounts[0];
});

async function create(who: number, key = consensusKey(who), stake = 20n * AZR, commission = 500) {
  const a = chain.accounts[who];
  return d.send(a, stakingI, "createValidator", [key.hex, commission, `validator ${who}`, key.proof(a.address)], {
    value: stake,
  });
}

describe("genesis", () => {
  it("makes the devnet validator a self-staked, active validator of its operator (10 AZR = power 10)", async () => {
    const v = await d.validator(op0.address);
    expect(v.consensusPubKey).toBe(DEVNET_VALIDATOR_KEY);
    expect(v.tokens).toBe(10n * AZR);
    expect(v.selfStake).toBe(10n * AZR);
    expect(v.power).toBe(10n);
    expect(v.active).toBe(true);
    expect(v.commissionBps).toBe(1000n);
    expect((await d.view(stakingI, "activeValidators"))[0]).toEqual([op0.address]);
    const alloc = Object.values(devnetJSON.alloc).reduce((s, a) => s + BigInt(a.balance), 0n);
    const extra = 8n * 10n ** 23n;
    expect((await d.view(wazrI, "totalSupply"))[0]).toBe(alloc + extra + 10n * AZR);
    expect(await chain.balance(STAKING)).toBe(10n * AZR);
  });
});

describe("createValidator", () => {
  it("needs a proof of the consensus key, the minimum self-stake, one validator per operator and per key", async () => {
    const a = chain.accounts[3];
    const key = consensusKey(3);
    const other = consensusKey(4);
    const args = (proof: string, stake = 20n * AZR) => [[key.hex, 500, "v3", proof], stake] as const;
    let [x, v] = args(other.proof(a.address));
    expect((await d.revert(a, stakingI, "createValidator", x as unknown as unknown[], v)).name).toBe("InvalidKeyProof");
    [x, v] = args(key.proof(chain.accounts[4].address)); // signed for another operator
    expect((await d.revert(a, stakingI, "createValidator", x as unknown as unknown[], v)).name).toBe("InvalidKeyProof");
    [x, v] = args(key.proof(a.address), AZR - 1n);
    const low = await d.revert(a, stakingI, "createValidator", x as unknown as unknown[], v);
    expect(low.name).toBe("SelfStakeTooLow");
    expect(low.args).toEqual([AZR - 1n, AZR]);
    expect(
      (await d.revert(a, stakingI, "createValidator", [key.hex, 10_001, "v3", key.proof(a.address)], AZR)).name,
    ).toBe("InvalidCommission");
    expect((await d.revert(a, stakingI, "createValidator", [key.hex, 5, "", key.proof(a.address)], AZR)).name).toBe(
      "InvalidMoniker",
    );
    const r = await create(3, key);
    expect(r.status).toBe(1);
    const log = stakingI.parseLog({ topics: r.logs[0][1].map((t) => hexlify(t)), data: hexlify(r.logs[0][2]) });
    expect(log?.name).toBe("ValidatorCreated");
    expect(
      (await d.revert(a, stakingI, "createValidator", [other.hex, 5, "again", other.proof(a.address)], AZR)).name,
    ).toBe("ValidatorExists");
    const b = chain.accounts[4];
    expect((await d.revert(b, stakingI, "createValidator", [key.hex, 5, "copy", key.proof(b.address)], AZR)).name).toBe(
      "ConsensusKeyInUse",
    );
    // The devnet validator's key is taken too.
    const v3 = await d.validator(a.address);
    expect(v3.tokens).toBe(20n * AZR);
    expect(v3.active).toBe(false);
    expect(getBytes(v3.consensusAddress)).toEqual(key.address);
    expect((await d.view(stakingI, "validatorByConsensusAddress", [hexlify(key.address)]))[0]).toBe(a.address);
  });

  it("joins the active set at the next epoch boundary, with power = stake / 1 AZR, reported to consensus", async () => {
    await create(3);
    await d.blocks(1);
    expect(chain.lastEffects?.validatorUpdates).toEqual([]);
    await d.toEpoch(EPOCH);
    const updates = chain.lastEffects?.validatorUpdates ?? [];
    expect(updates.map((u) => [hexlify(u.publicKey), u.power, hexlify(u.feeRecipient)])).toEqual([
      [consensusKey(3).hex, 20n, STAKING],
    ]);
    const set = await d.activeSet();
    expect(set.map((v) => [v.operator, v.power])).toEqual([
      [chain.accounts[3].address, 20n],
      [op0.address, 10n],
    ]);
    // Nothing changed in the next epoch: no updates.
    await d.toEpoch(EPOCH);
    expect(chain.lastEffects?.validatorUpdates).toEqual([]);
  });

  it("keeps the set at maxValidators, the largest stakes first; a validator below minSelfStake leaves", async () => {
    chain = await LocalChain.start({ extra: 8, modules: { staking: { ...STAKING_PARAMS, maxValidators: 2 } } });
    d = new Driver(chain, chain.accounts);
    await create(3, consensusKey(3), 5n * AZR);
    await create(4, consensusKey(4), 30n * AZR);
    await d.toEpoch(EPOCH);
    expect((await d.activeSet()).map((v) => v.operator)).toEqual([chain.accounts[4].address, op0.address]);
    const removed = (chain.lastEffects?.validatorUpdates ?? []).map((u) => u.power);
    expect(removed.sort()).toEqual([30n]);
    // The operator of validator 4 undelegates below the minimum self-stake: it leaves at the next epoch.
    await d.send(chain.accounts[4], stakingI, "undelegate", [chain.accounts[4].address, 29n * AZR + 1n]);
    await d.toEpoch(EPOCH);
    const set = (await d.activeSet()).map((v) => v.operator);
    expect(set).toEqual([op0.address, chain.accounts[3].address]);
    const u = chain.lastEffects?.validatorUpdates ?? [];
    expect(u.find((x) => hexlify(x.publicKey) === consensusKey(4).hex)?.power).toBe(0n);
  });
});

describe("delegation", () => {
  it("delegates, undelegates into a slashable unbonding pool, and pays back after the unbonding period", async () => {
    const alice = chain.accounts[5];
    await d.send(alice, stakingI, "delegate", [op0.address], { value: 40n * AZR });
    let del = await d.delegation(alice.address, op0.address);
    expect(del.amount).toBe(40n * AZR);
    expect((await d.validator(op0.address)).tokens).toBe(50n * AZR);
    const r = await d.send(alice, stakingI, "undelegate", [op0.address, 15n * AZR]);
    expect(r.status).toBe(1);
    const before = await chain.balance(alice.address);
    del = await d.delegation(alice.address, op0.address);
    expect(del.amount).toBe(25n * AZR);
    expect(del.unbonding).toBe(15n * AZR);
    expect(del.unbondingEntries).toBe(1n);
    // Not before the period ends.
    await d.blocks(2, { dt: 100n });
    expect(await chain.balance(alice.address)).toBe(before);
    await d.blocks(1, { dt: 200n });
    expect(await chain.balance(alice.address)).toBe(before + 15n * AZR);
    del = await d.delegation(alice.address, op0.address);
    expect(del.unbonding).toBe(0n);
    expect(del.unbondingEntries).toBe(0n);
  });

  it("refuses zero, more than delegated, unknown validators, more than 7 unbondings per pair", async () => {
    const alice = chain.accounts[5];
    expect((await d.revert(alice, stakingI, "delegate", [op0.address], 0n)).name).toBe("ZeroAmount");
    expect((await d.revert(alice, stakingI, "delegate", [alice.address], AZR)).name).toBe("ValidatorNotFound");
    await d.send(alice, stakingI, "delegate", [op0.address], { value: 10n * AZR });
    const over = await d.revert(alice, stakingI, "undelegate", [op0.address, 10n * AZR + 1n]);
    expect(over.name).toBe("InsufficientDelegation");
    for (let i = 0; i < 7; i++) await d.send(alice, stakingI, "undelegate", [op0.address, AZR]);
    expect((await d.revert(alice, stakingI, "undelegate", [op0.address, AZR])).name).toBe("TooManyUnbondings");
    expect((await d.revert(alice, stakingI, "redelegate", [op0.address, op0.address, AZR])).name).toBe("SameValidator");
  });

  it("redelegates at once, without unbonding", async () => {
    await create(3);
    const alice = chain.accounts[5];
    const v3 = chain.accounts[3].address;
    await d.send(alice, stakingI, "delegate", [op0.address], { value: 10n * AZR });
    expect((await d.send(alice, stakingI, "redelegate", [op0.address, v3, 4n * AZR])).status).toBe(1);
    expect((await d.delegation(alice.address, op0.address)).amount).toBe(6n * AZR);
    expect((await d.delegation(alice.address, v3)).amount).toBe(4n * AZR);
    expect((await d.validator(v3)).tokens).toBe(24n * AZR);
  });
});

describe("rewards", () => {
  it("pays tips and inflation to the signers by power, commission to the operator, the rest per share", async () => {
    chain.miner = getBytes(STAKING);
    const alice = chain.accounts[5];
    // op0: 10 AZR self + 30 AZR from alice (commission 10 %).
    await d.send(alice, stakingI, "delegate", [op0.address], { value: 30n * AZR });
    await d
      .send(op0, stakingI, "withdrawRewards", [op0.address], { info: commitOf(await d.activeSet()) })
      .catch(() => undefined);
    const treasury0 = await chain.balance(GOVERNANCE);
    const aliceBefore = (await d.delegation(alice.address, op0.address)).rewards;
    // A block with a tipped transaction, then one signed by the set: the tip and 10 s of inflation are paid.
    const minted0 = (await d.totals()).minted as bigint;
    const commission0 = (await d.validator(op0.address)).commission as bigint;
    chain.now += 10n;
    const tipped = await d.send(chain.accounts[6], wazrI, "transfer", [chain.accounts[7].address, 1n], {
      to: "0x0000000000000000000000000000000000000a01",
      tip: 10n ** 9n,
      info: commitOf(await d.activeSet()),
    });
    const tip = tipped.gasUsed * 10n ** 9n;
    const t = await d.totals();
    expect(t.pendingFees).toBe(0n);
    const minted = t.minted - minted0;
    // 10 s of 7 % a year on the supply (as it was before the block's base fees were burned).
    const supply = ((await d.view(wazrI, "totalSupply"))[0] as bigint) + tipped.gasUsed * 10n ** 9n;
    expect(minted).toBe(((supply - minted) * 700n * 10n) / (10_000n * 31_557_600n));
    const total = tip + minted;
    const tax = (total * 200n) / 10_000n;
    const pot = total - tax;
    const commission = (pot * 1000n) / 10_000n;
    const toDelegators = pot - commission;
    const v = await d.validator(op0.address);
    expect(v.commission - commission0).toBe(commission);
    const alice1 = (await d.delegation(alice.address, op0.address)).rewards - aliceBefore;
    // 30 of 40 shares, within one wei (the views floor each settlement).
    const exact = (toDelegators * 3n) / 4n;
    expect(alice1 >= exact - 1n && alice1 <= exact + 1n, `${alice1} ≈ ${exact}`).toBe(true);
    expect((await chain.balance(GOVERNANCE)) - treasury0).toBe(tax);
    // Withdrawals pay exactly what the views show.
    const bal = await chain.balance(alice.address);
    const rewards = (await d.delegation(alice.address, op0.address)).rewards;
    const r = await d.send(alice, stakingI, "withdrawRewards", [op0.address]);
    expect(await chain.balance(alice.address)).toBe(bal + rewards - r.gasUsed * 10n ** 9n);
    expect((await d.revert(alice, stakingI, "withdrawRewards", [op0.address])).name).toBe("NothingToWithdraw");
  });

  it("carries tips over a block nobody is known to have signed (height 1)", async () => {
    chain.miner = getBytes(STAKING);
    const r = await d.send(chain.accounts[6], stakingI, "delegate", [op0.address], {
      value: AZR,
      tip: 10n ** 9n,
      info: commitOf([]),
    });
    expect((await d.totals()).pendingFees).toBe(r.gasUsed * 10n ** 9n);
    await d.blocks(1);
    expect((await d.totals()).pendingFees).toBe(0n);
  });
});

describe("slashing", () => {
  it("starts a validator's downtime window clean when governance changes its length (stale misses would jail it)", async () => {
    await create(3, consensusKey(3), 30n * AZR);
    await d.toEpoch(EPOCH);
    const v3 = chain.accounts[3];
    const key3 = consensusKey(3).hex;
    await d.blocks(60);
    await d.blocks(40, { missing: [key3] }); // 40 of 100: under the 50 % limit
    expect((await d.validator(v3.address)).missedBlocks).toBe(40n);
    // Governance shrinks the window to 50 blocks (a limit of 25 misses), both validators voting Yes.
    const setWindow = [0, encodeBytes32String("slashing.signedBlocksWindow"), 50n, ZeroAddress, ""];
    expect((await d.send(op0, govI, "propose", [[setWindow], "ipfs://window"], { value: 10n * AZR })).status).toBe(1);
    const id = (await d.view(govI, "proposalCount"))[0] as bigint;
    for (const voter of [op0, v3]) expect((await d.send(voter, govI, "vote", [id, 1])).status).toBe(1);
    chain.now += 600n; // the voting period ends with the next block's tally
    await d.blocks(1);
    chain.now += 60n; // the timelock
    expect((await d.send(op0, govI, "execute", [id])).status).toBe(1);
    expect((await d.view(stakingI, "params"))[0].signedBlocksWindow).toBe(50n);
    // v3 signs every block from here: the 40 misses of the old window must not count against the new one.
    await d.blocks(5);
    const after = await d.validator(v3.address);
    expect([after.jailed, after.missedBlocks]).toEqual([false, 0n]);
    // The new window counts from the change: 25 misses of 50 jail.
    await d.blocks(45);
    await d.blocks(24, { missing: [key3] });
    expect((await d.validator(v3.address)).jailed).toBe(false);
    await d.blocks(1, { missing: [key3] });
    expect((await d.validator(v3.address)).jailed).toBe(true);
  });

  it("jails and slashes 1 % for missing half the window, leaves the set at the epoch, returns after unjail", async () => {
    await create(3, consensusKey(3), 30n * AZR);
    await d.toEpoch(EPOCH);
    const alice = chain.accounts[5];
    await d.send(alice, stakingI, "delegate", [chain.accounts[3].address], { value: 10n * AZR });
    const key3 = consensusKey(3).hex;
    // 49 misses of 100: not yet.
    await d.blocks(51);
    await d.blocks(49, { missing: [key3] });
    let v3 = await d.validator(chain.accounts[3].address);
    expect(v3.jailed).toBe(false);
    expect(v3.missedBlocks).toBe(49n);
    await d.blocks(1, { missing: [key3] });
    v3 = await d.validator(chain.accounts[3].address);
    expect(v3.jailed).toBe(true);
    expect(v3.tokens).toBe(40n * AZR - (40n * AZR) / 100n);
    expect((await d.delegation(alice.address, chain.accounts[3].address)).amount).toBe(10n * AZR - AZR / 10n);
    const until = v3.jailedUntil as bigint;
    expect(until).toBe(chain.now + 60n);
    const early = await d.revert(chain.accounts[3], stakingI, "unjail", []);
    expect(early.name).toBe("ValidatorStillJailed");
    // A jailed validator's stake cannot be redelegated (it leaves only through unbonding).
    expect((await d.revert(alice, stakingI, "redelegate", [chain.accounts[3].address, op0.address, AZR])).name).toBe(
      "ValidatorIsJailed",
    );
    await d.toEpoch(EPOCH);
    expect((await d.activeSet()).map((v) => v.operator)).toEqual([op0.address]);
    chain.now += 60n;
    expect((await d.send(chain.accounts[3], stakingI, "unjail", [])).status).toBe(1);
    expect((await d.revert(chain.accounts[3], stakingI, "unjail", [])).name).toBe("ValidatorNotJailed");
    await d.toEpoch(EPOCH);
    expect((await d.activeSet()).map((v) => v.operator)).toContain(chain.accounts[3].address);
  });

  it("slashes 5 % for double signing (bonded and unbonding), tombstones, ignores evidence older than unbonding", async () => {
    await create(3, consensusKey(3), 30n * AZR);
    await d.toEpoch(EPOCH);
    const alice = chain.accounts[5];
    const v3 = chain.accounts[3].address;
    await d.send(alice, stakingI, "delegate", [v3], { value: 20n * AZR });
    await d.send(alice, stakingI, "undelegate", [v3, 10n * AZR]);
    const old = { publicKey: consensusKey(3).hex, height: 1n, time: chain.now - 301n };
    chain.now += 1n;
    await chain.block([], commitOf(await d.activeSet(), [], [old]));
    expect((await d.validator(v3)).tombstoned).toBe(false);
    const supply = (await d.view(wazrI, "totalSupply"))[0] as bigint;
    const minted0 = (await d.totals()).minted as bigint;
    const evidence = { publicKey: consensusKey(3).hex, height: chain.height, time: chain.now };
    chain.now += 1n;
    await chain.block([], commitOf(await d.activeSet(), [], [evidence, evidence]));
    const v = await d.validator(v3);
    expect(v.tombstoned).toBe(true);
    expect(v.jailed).toBe(true);
    expect(v.tokens).toBe(40n * AZR - 2n * AZR);
    expect(v.unbonding).toBe(10n * AZR - AZR / 2n);
    const del = await d.delegation(alice.address, v3);
    expect(del.amount).toBe(10n * AZR - AZR / 2n);
    expect(del.unbonding).toBe(10n * AZR - AZR / 2n);
    expect((await d.totals()).slashed).toBe(2n * AZR + AZR / 2n);
    const minted = ((await d.totals()).minted as bigint) - minted0;
    expect((await d.view(wazrI, "totalSupply"))[0]).toBe(supply + minted - 2n * AZR - AZR / 2n);
    // Out of the candidates at once, out of the set at the epoch; never back.
    expect((await d.view(stakingI, "validators"))[0]).not.toContain(v3);
    await d.toEpoch(EPOCH);
    expect((await d.activeSet()).map((x) => x.operator)).toEqual([op0.address]);
    chain.now += 10_000n;
    expect((await d.revert(chain.accounts[3], stakingI, "unjail", [])).name).toBe("ValidatorTombstoned");
    expect((await d.revert(alice, stakingI, "delegate", [v3], AZR)).name).toBe("ValidatorTombstoned");
    // Its delegators can still leave.
    expect((await d.send(alice, stakingI, "undelegate", [v3, del.amount])).status).toBe(1);
  });
});

describe("editValidator", () => {
  it("changes the commission once a day by at most 1 point up, and the moniker", async () => {
    expect((await d.send(op0, stakingI, "editValidator", [1000, "same commission"])).status).toBe(1);
    expect((await d.send(op0, stakingI, "editValidator", [1050, ""])).status).toBe(1);
    expect((await d.revert(op0, stakingI, "editValidator", [1060, ""])).name).toBe("CommissionChangeRefused");
    chain.now += 86_400n;
    expect((await d.revert(op0, stakingI, "editValidator", [1151, ""])).name).toBe("CommissionChangeRefused");
    expect((await d.send(op0, stakingI, "editValidator", [1100, "renamed"])).status).toBe(1);
    const v = await d.validator(op0.address);
    expect(v.commissionBps).toBe(1100n);
    expect(v.moniker).toBe("renamed");
    chain.now += 86_400n;
    expect((await d.send(op0, stakingI, "editValidator", [900, ""])).status).toBe(1);
  });
});
