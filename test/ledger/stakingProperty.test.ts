import { getBytes, hexlify } from "ethers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import devnetJSON from "../../genesis/devnet.json" with { type: "json" };
import { uintWord, wordToBigInt } from "../../runtime/modules/abi.js";
import { storageSlot } from "../../runtime/modules/host.js";
import { SLOTS, V } from "../../runtime/modules/staking/storage.js";
import { type Account, LocalChain } from "./localChain.js";
import { AZR, commitOf, consensusKey, Driver, GOVERNANCE, STAKING, stakingI, WAZR, wazrI } from "./stakingFixture.js";

/**
 * Staking under random action sequences (fast-check) on the runtime: delegations, undelegations,
 * redelegations, withdrawals, tipped transactions, validators missing blocks, double-sign evidence,
 * time jumps. After every block:
 *   - supply: WAZR.totalSupply = genesis + minted (inflation) − burned base fees − slashed,
 *     and = the sum of every account's balance;
 *   - the module holds exactly what it owes: Σ validators (bonded + unbonding pool + delegators'
 *     undistributed rewards + commission) + tips waiting for distribution;
 *   - F1 rewards against a naive reference that credits every delegator of every signing validator
 *     in every block with its exact (rational) share: what the module says a delegator can withdraw
 *     is never more than the exact amount and less by under one wei per settlement.
 */
const STAKING_PARAMS = { ...devnetJSON.modules.staking, inflationBps: 700, communityTaxBps: 200, unbondingPeriod: 400 };
const DELEGATORS = [4, 5, 6, 7, 8, 9];
const VALIDATORS = [0, 2, 3];
const BASE_FEE = 10n ** 9n;
const AMOUNTS = [1n, 10n ** 15n, AZR, 7n * AZR, 40n * AZR];

type Action =
  | { t: "delegate"; d: number; v: number; amount: number }
  | { t: "undelegate" | "redelegate"; d: number; v: number; w: number; part: number }
  | { t: "withdraw"; d: number; v: number }
  | { t: "tip"; d: number }
  | { t: "block"; missing: number; jump: number }
  | { t: "evidence"; v: number };

const i = (max: number) => fc.nat({ max });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant("delegate" as const), d: i(5), v: i(2), amount: i(4) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("undelegate" as const), d: i(5), v: i(2), w: i(2), part: i(3) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("redelegate" as const), d: i(5), v: i(2), w: i(2), part: i(3) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("withdraw" as const), d: i(5), v: i(2) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("tip" as const), d: i(5) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("block" as const), missing: i(7), jump: i(3) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("evidence" as const), v: i(2) }) },
);

/** A rational number (exact rewards of the naive reference). */
interface Q {
  n: bigint;
  d: bigint;
}
const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? (a < 0n ? -a : a) : gcd(b, a % b));
const add = (x: Q, y: Q): Q => {
  const n = x.n * y.d + y.n * x.d;
  const d = x.d * y.d;
  const g = gcd(n, d) || 1n;
  return { n: n / g, d: d / g };
};
const floorQ = (x: Q) => x.n / x.d;

class Run {
  readonly d: Driver;
  burned = 0n;
  private readonly genesisSupply: bigint;
  /** Exact rewards owed per (delegator, validator) by the naive reference, minus what was withdrawn. */
  private readonly owed = new Map<string, Q>();
  /** Settlements per pair (each floors at most one wei away). */
  private readonly settles = new Map<string, number>();
  private evidence: { publicKey: string; height: bigint; time: bigint }[] = [];
  private pending: { from: Account; data: string; value?: bigint; tip?: bigint; to: string; pair?: string }[] = [];
  blocks = 0;

  constructor(
    readonly chain: LocalChain,
    genesisSupply: bigint,
  ) {
    this.d = new Driver(chain, chain.accounts);
    this.genesisSupply = genesisSupply;
  }

  private acct = (n: number) => this.chain.accounts[n];
  private op = (v: number) => this.acct(VALIDATORS[v]).address;
  private key = (d: number, v: number) => `${this.acct(DELEGATORS[d]).address}/${this.op(v)}`;

  async act(a: Action): Promise<void> {
    const from = a.t === "evidence" || a.t === "block" ? null : this.acct(DELEGATORS[a.d]);
    const tx = (data: string, opts: { value?: bigint; tip?: bigint; to?: string; pair?: string } = {}) =>
      this.pending.push({ from: from as Account, data, to: opts.to ?? STAKING, ...opts });
    switch (a.t) {
      case "delegate":
        tx(stakingI.encodeFunctionData("delegate", [this.op(a.v)]), {
          value: AMOUNTS[a.amount],
          pair: this.key(a.d, a.v),
        });
        return;
      case "undelegate":
      case "redelegate": {
        const del = await this.d.delegation((from as Account).address, this.op(a.v));
        const amount = [del.amount / 3n, del.amount / 2n, del.amount, 1n][a.part];
        if (a.t === "undelegate")
          tx(stakingI.encodeFunctionData("undelegate", [this.op(a.v), amount]), { pair: this.key(a.d, a.v) });
        else {
          tx(stakingI.encodeFunctionData("redelegate", [this.op(a.v), this.op(a.w), amount]), {
            pair: this.key(a.d, a.v),
          });
          this.bumpSettle(this.key(a.d, a.w));
        }
        return;
      }
      case "withdraw":
        tx(stakingI.encodeFunctionData("withdrawRewards", [this.op(a.v)]), { pair: this.key(a.d, a.v) });
        return;
      case "tip":
        tx(wazrI.encodeFunctionData("transfer", [this.acct(1).address, 1n]), { to: WAZR, tip: 3n * BASE_FEE });
        return;
      case "evidence": {
        const v = await this.d.validator(this.op(a.v));
        this.evidence.push({ publicKey: v.consensusPubKey, height: this.chain.height, time: this.chain.now });
        return;
      }
      case "block":
        await this.block(a.missing, BigInt([1, 5, 60, 500][a.jump]));
    }
  }

  private bumpSettle(k: string): void {
    this.settles.set(k, (this.settles.get(k) ?? 0) + 1);
  }

  /** Executes the queued transactions as one block (signers: the active set, one missing if `missing` < 3). */
  async block(missing: number, dt: bigint): Promise<void> {
    const set = await this.d.activeSet();
    const skip = missing < set.length ? [set[missing].publicKey] : [];
    const info = commitOf(set, skip, this.evidence);
    const pendingFees = (await this.d.totals()).pendingFees as bigint;
    const minted0 = (await this.d.totals()).minted as bigint;
    const withdrawnBefore = await this.balances();
    this.chain.now += dt;
    const txs = this.pending;
    this.pending = [];
    this.evidence = [];
    const receipts = await this.chain.block(
      txs.map((t) => ({ from: t.from, to: t.to, data: t.data, value: t.value, tip: t.tip })),
      info,
    );
    this.blocks++;
    let tips = 0n;
    for (const [k, r] of receipts.entries()) {
      this.burned += r.gasUsed * BASE_FEE;
      tips += r.gasUsed * (r.effectiveGasPrice - BASE_FEE);
      const t = txs[k];
      if (r.status === 1 && t.pair !== undefined) this.bumpSettle(t.pair);
      // What a withdrawal paid leaves the naive balance too.
      if (r.status === 1 && t.data.startsWith(stakingI.getFunction("withdrawRewards")?.selector ?? "")) {
        const paid = BigInt(hexlify(r.logs[r.logs.length - 1][2]));
        const owed = this.owed.get(t.pair as string) ?? { n: 0n, d: 1n };
        this.owed.set(t.pair as string, add(owed, { n: -paid, d: 1n }));
      }
    }
    void withdrawnBefore;
    // The naive reference: this block's pot split by power over the signers, commission off, the rest
    // to every delegator by its shares (after the block's transactions, as the hook runs after them).
    const minted = ((await this.d.totals()).minted as bigint) - minted0;
    const signers = info.lastCommit.filter((c) => c.signed);
    const signedPower = signers.reduce((s, c) => s + c.validator.votingPower, 0n);
    const total = pendingFees + tips + minted;
    if (signedPower > 0n && total > 0n) {
      const pot = total - (total * 200n) / 10_000n;
      for (const c of signers) {
        const op = (
          await this.d.view(stakingI, "validatorByConsensusAddress", [hexlify(c.validator.address)])
        )[0] as string;
        const v = VALIDATORS.findIndex((n) => this.acct(n).address === op);
        const info = await this.d.validator(op);
        const share = (pot * c.validator.votingPower) / signedPower;
        const toDelegators = share - (share * info.commissionBps) / 10_000n;
        if (info.delegatorShares === 0n) continue;
        for (const [di, dn] of DELEGATORS.entries()) {
          const del = await this.d.delegation(this.acct(dn).address, op);
          if (del.shares === 0n) continue;
          const k = this.key(di, v);
          this.owed.set(
            k,
            add(this.owed.get(k) ?? { n: 0n, d: 1n }, { n: toDelegators * del.shares, d: info.delegatorShares }),
          );
        }
      }
    }
    await this.check();
  }

  private async balances(): Promise<bigint> {
    let sum = 0n;
    for (const a of this.chain.accounts) sum += await this.chain.balance(a.address);
    return sum;
  }

  async check(): Promise<void> {
    const at = `block ${this.chain.height}`;
    const totals = await this.d.totals();
    const supply = (await this.d.view(wazrI, "totalSupply"))[0] as bigint;
    expect(supply, `supply = genesis + minted − burned − slashed at ${at}`).toBe(
      this.genesisSupply + totals.minted - this.burned - totals.slashed,
    );
    const held =
      (await this.balances()) +
      (await this.chain.balance(STAKING)) +
      (await this.chain.balance(GOVERNANCE)) +
      (await this.chain.balance("0x000000000000000000000000000000000000fee0"));
    expect(held, `supply = Σ balances at ${at}`).toBe(supply);
    let owed = totals.pendingFees as bigint;
    for (const op of (await this.d.view(stakingI, "validators"))[0] as string[]) owed += await this.validatorHolds(op);
    for (const n of VALIDATORS) {
      const op = this.acct(n).address;
      if (!((await this.d.view(stakingI, "validators"))[0] as string[]).includes(op))
        owed += await this.validatorHolds(op);
    }
    expect(await this.chain.balance(STAKING), `staking holds what it owes at ${at}`).toBe(owed);
    for (const [di, dn] of DELEGATORS.entries()) {
      for (const [v, vn] of VALIDATORS.entries()) {
        const k = this.key(di, v);
        const exact = floorQ(this.owed.get(k) ?? { n: 0n, d: 1n });
        const shown = (await this.d.delegation(this.acct(dn).address, this.acct(vn).address)).rewards as bigint;
        const slack = BigInt((this.settles.get(k) ?? 0) + 1);
        expect(shown <= exact && shown > exact - slack - 1n, `F1 ${k} at ${at}: ${shown} vs exact ${exact}`).toBe(true);
      }
    }
  }

  /** Bonded + unbonding pool + undistributed rewards + commission of one validator (storage words). */
  private async validatorHolds(op: string): Promise<bigint> {
    const base = wordToBigInt(storageSlot(SLOTS.validators, getBytes(op)));
    const word = (f: number) => this.chain.storage(STAKING, uintWord(base + BigInt(f)));
    return (
      (await word(V.Tokens)) + (await word(V.UnbondTokens)) + (await word(V.RewardPool)) + (await word(V.Commission))
    );
  }
}

describe("staking accounting (property)", () => {
  it("keeps supply, the module's funds and F1 rewards exact under random actions", async () => {
    let blocks = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 20, maxLength: 60 }), async (actions) => {
        const chain = await LocalChain.start({ extra: 8, modules: { staking: STAKING_PARAMS } });
        chain.miner = getBytes(STAKING);
        const genesisSupply = (await new Driver(chain, chain.accounts).view(wazrI, "totalSupply"))[0] as bigint;
        const run = new Run(chain, genesisSupply);
        // Two more validators besides the devnet's, in the set from the first epoch.
        for (const n of [2, 3]) {
          const a = chain.accounts[n];
          const key = consensusKey(n);
          const [r] = await chain.block(
            [
              {
                from: a,
                to: STAKING,
                data: stakingI.encodeFunctionData("createValidator", [key.hex, 300 * n, `v${n}`, key.proof(a.address)]),
                value: BigInt(5 * n) * AZR,
              },
            ],
            commitOf(await run.d.activeSet()),
          );
          run.burned += r.gasUsed * BASE_FEE;
        }
        await run.d.toEpoch(20n);
        for (const a of actions) await run.act(a);
        await run.block(7, 1n);
        blocks += run.blocks;
      }),
      { numRuns: 12, seed: 12_012, endOnFailure: true },
    );
    expect(blocks).toBeGreaterThan(100);
  }, 600_000);
});
