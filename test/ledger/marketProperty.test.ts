import { AbiCoder, getBytes, hexlify, Interface, type InterfaceAbi, keccak256, toUtf8Bytes, ZeroAddress } from "ethers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadArtifact } from "../../contracts/artifacts.js";
import { depositBalanceSlot } from "../../runtime/modules/market/payments.js";
import { credits, workerAmountSlots } from "../../runtime/modules/market/storage.js";
import { type Account, LocalChain, type TxRequest } from "./localChain.js";
import { DEVNET, JobStatus, KIND, LEARN, MARKET, S, SlotStatus, V, W } from "./marketFixture.js";
import { signVoucher } from "./paymentsHelpers.js";

/**
 * The market's accounting under random action sequences (fast-check), on the runtime itself
 * (LocalChain: no node, chosen block times), 1,000+ jobs in all. Requesters post AZR and LEARN jobs
 * of every verification mode (Retrieval's rounds too: a challenge not upheld returns the job to Submitted)
 * and redundancy; workers claim, deliver honestly or not, commit and
 * reveal (sometimes with a wrong salt), unbond and top up; challengers challenge; verifiers vote or
 * stay silent; the arbiter rules; anyone finalizes, reclaims, cancels, withdraws; time jumps. Most
 * actions are aimed at random jobs and refused, which must leave everything as it was.
 *
 * Every other RequesterAccept or Arbiter job of redundancy 1 is delivered metered (`submitMetered`, a claim of
 * 0…5/4 of its price: paid by the unit, as mail campaigns are; over the price it is refused).
 *
 * Payers also deposit for workers (metered payments), thaw, withdraw, and sign vouchers that workers
 * redeem — sometimes for more than the deposit holds, which must refuse the whole batch.
 *
 * After every block:
 *   market AZR   = Σ unsettled AZR escrows + Σ stakes + Σ unbonding + Σ open challenge bonds + Σ AZR credits
 *                  + Σ AZR deposits
 *   market LEARN = Σ unsettled LEARN escrows + Σ LEARN credits + Σ LEARN deposits
 *   and every worker's locked bonds ≤ its stake + unbonding.
 * At the end, time alone (with reclaim/finalize, callable by anyone) brings every job to a terminal
 * state — no escrow is stuck — with no bond left locked; once everyone withdrew and unbonded, the
 * market holds nothing.
 */
const market = new Interface(loadArtifact("IJobMarket").abi as InterfaceAbi);
const learn = new Interface(loadArtifact("ILearn").abi as InterfaceAbi);
const coder = AbiCoder.defaultAbiCoder();

const REQUESTERS = [1, 2, 3];
const WORKERS = [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
const CHALLENGERS = [16, 17];
const ARBITER = 18;
const TREASURY = 0;
const PRICES = [1n, 5n * 10n ** 17n, 3n * 10n ** 18n, 50n * 10n ** 18n];
const WINDOWS = [20n, 300n, 3600n];
const JUMPS = [1n, 5n, 20n, 60n, 600n];
/** Payers of metered payments (the requesters and challengers) and what they deposit or owe at a time. */
const PAYERS = [...REQUESTERS, ...CHALLENGERS];
const DEPOSITS = [1n, 10n ** 17n, 5n * 10n ** 18n];
const SALT = `0x${"5a".repeat(32)}`;
const TERMINAL = new Set<bigint>([JobStatus.Finalized, JobStatus.Refunded, JobStatus.Cancelled]);

type Action =
  | { t: "post"; r: number; learn: boolean; price: number; redundancy: number; mode: number; windows: number[] }
  | { t: "claim" | "deliver" | "cheat"; w: number; job: number }
  | { t: "accept" | "finalize" | "reclaim" | "cancel"; job: number; by: number }
  | { t: "challenge"; c: number; job: number }
  | { t: "vote"; job: number; k: number; honest: boolean }
  | { t: "resolve"; job: number; bps: number }
  | { t: "withdraw"; a: number; learn: boolean }
  | { t: "unbond"; w: number; part: number }
  | { t: "withdrawUnbonded" | "addStake"; w: number }
  | { t: "time"; jump: number }
  | { t: "step"; job: number; choice: number }
  | { t: "deposit"; p: number; q: number; learn: boolean; amount: number }
  | { t: "thaw"; p: number; q: number; learn: boolean; part: number }
  | { t: "withdrawDeposit"; p: number; q: number; learn: boolean }
  | { t: "redeem"; p: number; q: number; learn: boolean; add: number; batch: boolean }
  | { t: "block" }
  // batch calls (the third walk): random items, and "stepMany" — the next move of many jobs at once
  | { t: "postMany"; r: number; n: number; learn: boolean; mode: number }
  | { t: "claimMany" | "submitMany"; w: number; jobs: number[]; cheat: boolean }
  | { t: "acceptMany"; jobs: number[] }
  | { t: "stepMany"; choice: number };

const idx = fc.nat({ max: 1_000 });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 11,
    arbitrary: fc.record({
      t: fc.constant("post" as const),
      r: fc.nat({ max: REQUESTERS.length - 1 }),
      learn: fc.boolean(),
      price: fc.nat({ max: PRICES.length - 1 }),
      redundancy: fc.integer({ min: 1, max: 3 }),
      mode: fc.nat({ max: 3 }),
      windows: fc.array(fc.nat({ max: WINDOWS.length - 1 }), { minLength: 3, maxLength: 3 }),
    }),
  },
  { weight: 8, arbitrary: fc.record({ t: fc.constant("claim" as const), w: idx, job: idx }) },
  { weight: 8, arbitrary: fc.record({ t: fc.constant("deliver" as const), w: idx, job: idx }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("cheat" as const), w: idx, job: idx }) },
  ...(["accept", "finalize", "reclaim", "cancel"] as const).map((t) => ({
    weight: t === "cancel" ? 1 : 3,
    arbitrary: fc.record({ t: fc.constant(t), job: idx, by: idx }),
  })),
  { weight: 2, arbitrary: fc.record({ t: fc.constant("challenge" as const), c: idx, job: idx }) },
  {
    weight: 4,
    arbitrary: fc.record({ t: fc.constant("vote" as const), job: idx, k: fc.nat({ max: 2 }), honest: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("resolve" as const), job: idx, bps: fc.nat({ max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("withdraw" as const), a: idx, learn: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("unbond" as const), w: idx, part: fc.nat({ max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("withdrawUnbonded" as const), w: idx }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("addStake" as const), w: idx }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("time" as const), jump: fc.nat({ max: JUMPS.length - 1 }) }) },
  { weight: 5, arbitrary: fc.constant({ t: "block" as const }) },
  { weight: 24, arbitrary: fc.record({ t: fc.constant("step" as const), job: idx, choice: fc.nat({ max: 99 }) }) },
  ...(["deposit", "thaw", "withdrawDeposit", "redeem"] as const).map((t) => ({
    weight: t === "redeem" ? 3 : t === "deposit" ? 2 : 1,
    arbitrary: fc.record({
      t: fc.constant(t),
      p: idx,
      q: idx,
      learn: fc.boolean(),
      amount: fc.nat({ max: DEPOSITS.length - 1 }),
      part: fc.nat({ max: 2 }),
      add: fc.nat({ max: DEPOSITS.length - 1 }),
      batch: fc.boolean(),
    }) as fc.Arbitrary<Action>,
  })),
);

/** The walk with the batch calls mixed in: postMany, claimMany, submitMany, acceptMany (random and as lifecycle moves). */
const batchActionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 20, arbitrary: actionArb },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("postMany" as const),
      r: fc.nat({ max: REQUESTERS.length - 1 }),
      n: fc.integer({ min: 1, max: 5 }),
      learn: fc.boolean(),
      mode: fc.nat({ max: 1 }),
    }),
  },
  ...(["claimMany", "submitMany"] as const).map((t) => ({
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant(t),
      w: idx,
      jobs: fc.array(idx, { minLength: 1, maxLength: 6 }),
      cheat: fc.boolean(),
    }),
  })),
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant("acceptMany" as const),
      jobs: fc.array(idx, { minLength: 1, maxLength: 6 }),
    }),
  },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("stepMany" as const), choice: fc.nat({ max: 99 }) }) },
);

const resultOf = (job: bigint) => keccak256(toUtf8Bytes(`result of ${job}`));
const lieOf = (job: bigint, worker: string) => keccak256(toUtf8Bytes(`lie of ${job} by ${worker}`));
const commitmentOf = (hash: string, worker: string, salt = SALT) =>
  keccak256(coder.encode(["bytes32", "address", "bytes32"], [hash, worker, salt]));

interface JobState {
  status: bigint;
  learn: boolean;
  escrow: bigint;
  challengeBond: bigint;
  view: unknown[];
}

/** One run: a fresh chain, the actions in blocks, the invariants after each block, the drain at the end. */
class Run {
  private pending: TxRequest[] = [];
  private touched = new Set<bigint>();
  readonly jobs = new Map<bigint, JobState>();
  /** What each (job, worker) committed to, so its reveal can match (or deliberately not). */
  private committed = new Map<string, string>();
  /** Per (payer, payee, token): the valueAggregate of the payer's last voucher (what it has owed so far). */
  private owed = new Map<string, bigint>();
  blocks = 0;
  txs = 0;

  constructor(
    readonly chain: LocalChain,
    /** Most jobs in flight at once (a post beyond it lets time pass instead). */
    private readonly maxLive: number,
    /** Market events seen, by name (what the walk covered). */
    private readonly events: Map<string, number>,
  ) {}

  acct = (i: number): Account => this.chain.accounts[i];
  private pick = <T>(xs: T[], i: number) => xs[i % xs.length];
  /** Mostly one of the 12 newest jobs (where the action is), sometimes any job at all. */
  private jobId = (i: number) => {
    const n = this.jobs.size;
    if (n === 0) return 1n;
    if (i % 8 === 0) return BigInt((i % n) + 1);
    const back = i % 12;
    return BigInt(n > back ? n - back : 1);
  };

  private send(from: Account, data: string, value = 0n, to = MARKET) {
    this.pending.push({ from, to, data, value });
  }

  private async view(fn: string, args: unknown[]): Promise<unknown[]> {
    const r = await this.chain.call(ZeroAddress, MARKET, market.encodeFunctionData(fn, args));
    if (!r.ok) throw new Error(`view ${fn} reverted`);
    return plain(market.decodeFunctionResult(fn, r.data)) as unknown[];
  }

  async setup(): Promise<void> {
    for (const w of WORKERS) {
      const stake = DEVNET.minWorkerStake * BigInt(1 + (w % 4));
      this.send(this.acct(w), market.encodeFunctionData("registerWorker", [[KIND], `https://w${w}.example`]), stake);
    }
    await this.flush();
  }

  async apply(a: Action): Promise<void> {
    switch (a.t) {
      case "post": {
        if ([...this.jobs.values()].filter((j) => !TERMINAL.has(j.status)).length >= this.maxLive) {
          return this.flush();
        }
        const from = this.acct(this.pick(REQUESTERS, a.r));
        const price = PRICES[a.price];
        // Arbiter and Retrieval jobs have one worker (a three-worker Retrieval post is refused: covered too)
        const redundancy = a.mode === 2 || (a.mode === 3 && a.redundancy !== 3) ? 1n : BigInt(a.redundancy);
        const [cw, dw, chw] = a.windows.map((i) => WINDOWS[i]);
        const fee = (price * redundancy * DEVNET.feeBps) / 10_000n;
        const escrow = price * redundancy + fee;
        const spec = [
          KIND,
          `ipfs://spec-${this.txs}`,
          `0x${"ab".repeat(32)}`,
          a.learn ? LEARN : ZeroAddress,
          price,
          redundancy,
          cw,
          dw,
          chw,
          BigInt(a.mode),
          a.mode === 2 ? this.acct(ARBITER).address : ZeroAddress,
        ];
        if (a.learn)
          this.pending.push({ from, to: LEARN, data: learn.encodeFunctionData("approve", [MARKET, escrow]) });
        this.send(from, market.encodeFunctionData("post", [spec]), a.learn ? 0n : escrow);
        this.touched.add(BigInt(this.jobs.size + 1));
        // Posts land in the next block: register the id now so later actions in this block can aim at it.
        this.jobs.set(BigInt(this.jobs.size + 1), {
          status: JobStatus.None,
          learn: a.learn,
          escrow: 0n,
          challengeBond: 0n,
          view: [],
        });
        return;
      }
      case "claim":
        return this.onJob(a.job, (id) =>
          this.send(this.acct(this.pick(WORKERS, a.w)), market.encodeFunctionData("claim", [id])),
        );
      case "deliver":
      case "cheat": {
        // Mostly a worker that holds a slot on the job (from its last view), sometimes anyone.
        const id = this.jobId(a.job);
        const holders = ((this.jobs.get(id)?.view[V.slots] as unknown[][] | undefined) ?? [])
          .map((s) => s[S.worker] as string)
          .filter((w) => w !== ZeroAddress);
        const w =
          holders.length > 0 && a.w % 5 !== 0
            ? this.chain.accounts.find((x) => x.address === holders[a.w % holders.length])!
            : this.acct(this.pick(WORKERS, a.w));
        return this.deliver(w, id, a.t === "cheat");
      }
      case "accept": {
        const id = this.jobId(a.job);
        const requester = (this.jobs.get(id)?.view[V.requester] as string) ?? this.acct(REQUESTERS[0]).address;
        const from = this.chain.accounts.find((x) => x.address === requester) ?? this.acct(REQUESTERS[0]);
        return this.onJob(a.job, () => this.send(from, market.encodeFunctionData("accept", [id])));
      }
      case "cancel": {
        const id = this.jobId(a.job);
        const requester = this.jobs.get(id)?.view[V.requester] as string | undefined;
        const from = this.chain.accounts.find((x) => x.address === requester) ?? this.acct(this.pick(REQUESTERS, a.by));
        return this.onJob(a.job, () => this.send(from, market.encodeFunctionData("cancel", [id])));
      }
      case "finalize":
      case "reclaim":
        return this.onJob(a.job, (id) =>
          this.send(this.acct(a.by % this.chain.accounts.length), market.encodeFunctionData(a.t, [id])),
        );
      case "challenge":
        return this.onJob(a.job, (id) =>
          this.send(
            this.acct(this.pick(CHALLENGERS, a.c)),
            market.encodeFunctionData("challenge", [id, "ipfs://evidence"]),
            DEVNET.challengeBond,
          ),
        );
      case "vote": {
        const id = this.jobId(a.job);
        const verifiers = (this.jobs.get(id)?.view[V.verifiers] as string[] | undefined) ?? [];
        const v = verifiers[a.k];
        const from =
          v === undefined ? this.acct(this.pick(WORKERS, a.k)) : this.chain.accounts.find((x) => x.address === v)!;
        const hash = a.honest ? resultOf(id) : lieOf(id, from.address);
        return this.onJob(a.job, () => this.send(from, market.encodeFunctionData("vote", [id, hash])));
      }
      case "resolve":
        return this.onJob(a.job, (id) =>
          this.send(this.acct(ARBITER), market.encodeFunctionData("resolve", [id, [0n, 3000n, 10_000n][a.bps]])),
        );
      case "withdraw": {
        const from = this.acct(a.a % this.chain.accounts.length);
        return this.send(from, market.encodeFunctionData("withdraw", [a.learn ? LEARN : ZeroAddress]));
      }
      case "unbond": {
        const w = this.acct(this.pick(WORKERS, a.w));
        const amount = [1n, DEVNET.minWorkerStake / 2n, DEVNET.minWorkerStake, 10n ** 30n][a.part];
        return this.send(w, market.encodeFunctionData("beginUnbond", [amount]));
      }
      case "withdrawUnbonded":
        return this.send(this.acct(this.pick(WORKERS, a.w)), market.encodeFunctionData("withdrawUnbonded", []));
      case "addStake":
        return this.send(
          this.acct(this.pick(WORKERS, a.w)),
          market.encodeFunctionData("addStake", []),
          DEVNET.minWorkerStake,
        );
      case "time":
        await this.flush();
        this.chain.now += JUMPS[a.jump];
        return;
      case "block":
        return this.flush();
      case "deposit":
      case "thaw":
      case "withdrawDeposit":
      case "redeem":
        return this.payment(a);
      case "step": {
        // Steps go to live jobs: a random walk would spend them on jobs long settled.
        const live = [...this.jobs].filter(([, j]) => !TERMINAL.has(j.status)).map(([id]) => id);
        if (live.length > 0) this.step(live[a.job % live.length], a.choice);
        return;
      }
      case "postMany": {
        const from = this.acct(this.pick(REQUESTERS, a.r));
        const specs: unknown[][] = [];
        let total = 0n;
        for (let i = 0; i < a.n; i++) {
          const price = PRICES[(a.r + i) % PRICES.length];
          total += price + (price * DEVNET.feeBps) / 10_000n;
          specs.push([
            KIND,
            `ipfs://spec-${this.txs}-${i}`,
            `0x${"ab".repeat(32)}`,
            a.learn ? LEARN : ZeroAddress,
            price,
            1n,
            WINDOWS[i % 2],
            WINDOWS[(i + 1) % 2],
            WINDOWS[1],
            BigInt(a.mode),
            ZeroAddress,
          ]);
        }
        if (a.learn) this.pending.push({ from, to: LEARN, data: learn.encodeFunctionData("approve", [MARKET, total]) });
        this.send(from, market.encodeFunctionData("postMany", [specs]), a.learn ? 0n : total);
        for (let i = 0; i < a.n; i++) {
          this.touched.add(BigInt(this.jobs.size + 1));
          this.jobs.set(BigInt(this.jobs.size + 1), {
            status: JobStatus.None,
            learn: a.learn,
            escrow: 0n,
            challengeBond: 0n,
            view: [],
          });
        }
        return;
      }
      case "claimMany":
      case "submitMany": {
        const w = this.acct(this.pick(WORKERS, a.w));
        const ids = a.jobs.map((j) => this.jobId(j));
        for (const id of ids) this.touched.add(id);
        if (a.t === "claimMany") return this.send(w, market.encodeFunctionData("claimMany", [ids]));
        const hashes = ids.map((id) => (a.cheat ? lieOf(id, w.address) : resultOf(id)));
        return this.send(w, market.encodeFunctionData("submitMany", [ids, hashes, ids.map((id) => `ipfs://r${id}`)]));
      }
      case "acceptMany": {
        const ids = a.jobs.map((j) => this.jobId(j));
        for (const id of ids) this.touched.add(id);
        const requester = this.jobs.get(ids[0])?.view[V.requester] as string | undefined;
        const from = this.chain.accounts.find((x) => x.address === requester) ?? this.acct(REQUESTERS[0]);
        return this.send(from, market.encodeFunctionData("acceptMany", [ids]));
      }
      case "stepMany":
        return this.stepMany(a.choice);
    }
  }

  /**
   * The next move of many live jobs at once, in batches: one worker claims every open job it may; each
   * claimer of a redundancy-1 job submits all of its results in one submitMany (`choice` < 15: lies);
   * each requester accepts all of its submitted requester-accept jobs in one acceptMany.
   */
  private stepMany(choice: number) {
    const live = [...this.jobs].filter(([, j]) => !TERMINAL.has(j.status) && j.view.length > 0);
    const worker = this.acct(this.pick(WORKERS, choice));
    const open = live.filter(([, j]) => j.status === JobStatus.Open).map(([id]) => id);
    if (open.length > 0) this.send(worker, market.encodeFunctionData("claimMany", [open.slice(0, 64)]));
    const byWorker = new Map<string, bigint[]>();
    const byRequester = new Map<string, bigint[]>();
    for (const [id, j] of live) {
      const slots = j.view[V.slots] as unknown[][];
      if (j.status === JobStatus.Claimed && slots.length === 1 && slots[0][S.status] === SlotStatus.Claimed) {
        const w = slots[0][S.worker] as string;
        byWorker.set(w, [...(byWorker.get(w) ?? []), id]);
      }
      if (j.status === JobStatus.Submitted && (j.view[V.spec] as unknown[])[9] === 0n) {
        const r = j.view[V.requester] as string;
        byRequester.set(r, [...(byRequester.get(r) ?? []), id]);
      }
    }
    for (const [w, ids] of byWorker) {
      const hashes = ids.map((id) => (choice < 15 ? lieOf(id, w) : resultOf(id)));
      this.send(
        this.account(w),
        market.encodeFunctionData("submitMany", [ids, hashes, ids.map((id) => `ipfs://r${id}`)]),
      );
    }
    for (const [r, ids] of byRequester) this.send(this.account(r), market.encodeFunctionData("acceptMany", [ids]));
    for (const [id] of live) this.touched.add(id);
  }

  private account = (address: string) => this.chain.accounts.find((x) => x.address === address)!;

  /** A metered-payment action between a payer and a worker (deposit, thaw, withdraw, or a voucher redeemed). */
  private async payment(a: Extract<Action, { t: "deposit" | "thaw" | "withdrawDeposit" | "redeem" }>) {
    const payer = this.acct(this.pick(PAYERS, a.p));
    const payee = this.acct(this.pick(WORKERS, a.q));
    const token = a.learn ? LEARN : ZeroAddress;
    if (a.t === "deposit") {
      const amount = DEPOSITS[a.amount];
      if (a.learn)
        this.pending.push({ from: payer, to: LEARN, data: learn.encodeFunctionData("approve", [MARKET, amount]) });
      return this.send(
        payer,
        market.encodeFunctionData("deposit", [payee.address, token, amount]),
        a.learn ? 0n : amount,
      );
    }
    if (a.t === "thaw") {
      const amount = [0n, 1n, 10n ** 30n][a.part]; // cancel, a little, more than any balance (refused)
      return this.send(payer, market.encodeFunctionData("thaw", [payee.address, token, amount]));
    }
    if (a.t === "withdrawDeposit") {
      return this.send(payer, market.encodeFunctionData("withdrawDeposit", [payee.address, token]));
    }
    // A voucher for a little more than the last, or (the last draw) far more than any deposit.
    const key = `${payer.address}:${payee.address}:${token}`;
    const value = (this.owed.get(key) ?? 0n) + DEPOSITS[a.add] / 2n + 1n;
    const v = await signVoucher(payer.key, this.chain.common.chainId(), {
      payer: payer.address,
      payee: payee.address,
      token,
      valueAggregate: value,
      timestampMs: BigInt(this.txs),
    });
    const vs = [v];
    if (a.batch) {
      // A second payer's voucher in the same batch: refused together when either is underfunded.
      const p2 = this.acct(this.pick(PAYERS, a.p + 1));
      const k2 = `${p2.address}:${payee.address}:${token}`;
      const v2 = await signVoucher(p2.key, this.chain.common.chainId(), {
        payer: p2.address,
        payee: payee.address,
        token,
        valueAggregate: (this.owed.get(k2) ?? 0n) + 1n,
        timestampMs: BigInt(this.txs),
      });
      if (p2.address !== payer.address) vs.push(v2);
    }
    this.send(payee, market.encodeFunctionData("redeemVouchers", [vs.map((x) => x.tuple), vs.map((x) => x.signature)]));
    this.pendingVouchers.push(vs.map((x) => [`${x.tuple[0]}:${payee.address}:${token}`, x.tuple[3]] as const));
  }

  /** Vouchers sent in the pending block: their aggregates are recorded only if the batch was redeemed. */
  private pendingVouchers: (readonly (readonly [string, bigint])[])[] = [];

  async depositsHeld(): Promise<{ azr: bigint; learn: bigint }> {
    let azr = 0n;
    let learnHeld = 0n;
    for (const p of PAYERS) {
      for (const w of WORKERS) {
        for (const l of [false, true]) {
          const v = await this.chain.storage(
            MARKET,
            depositBalanceSlot(getBytes(this.acct(p).address), getBytes(this.acct(w).address), l),
          );
          if (l) learnHeld += v;
          else azr += v;
        }
      }
    }
    return { azr, learn: learnHeld };
  }

  /**
   * The next sensible move on a job, from its last view (a lifecycle rather than a random walk, so
   * most jobs get worked on): a free worker claims; a claimer delivers (submits, or commits and later
   * reveals; 15% lie); a delivered job is accepted, challenged or finalized; verifiers vote (80%
   * honestly) and the arbiter rules. `choice` (0..99) picks among the options.
   */
  private step(id: bigint, choice: number) {
    const j = this.jobs.get(id);
    if (j === undefined || j.view.length === 0) return;
    this.touched.add(id);
    const v = j.view;
    const spec = v[V.spec] as unknown[];
    const mode = spec[9] as bigint;
    const slots = v[V.slots] as unknown[][];
    const requester = this.account(v[V.requester] as string);
    switch (j.status) {
      case JobStatus.Open: {
        const taken = new Set(slots.map((s) => s[S.worker] as string));
        const free = WORKERS.map((w) => this.acct(w)).filter((w) => !taken.has(w.address));
        return this.send(this.pick(free, choice), market.encodeFunctionData("claim", [id]));
      }
      case JobStatus.Claimed: {
        const pending = slots.filter((s) => s[S.status] === SlotStatus.Claimed || s[S.status] === SlotStatus.Committed);
        if (pending.length === 0) return;
        const s = this.pick(pending, choice);
        return this.deliver(this.account(s[S.worker] as string), id, choice < 15);
      }
      case JobStatus.Submitted: {
        // a Retrieval job is challenged round after round while its custody lasts: mostly challenge it
        const [accept, challenge] = mode === 3n ? [10, 80] : [35, 70];
        if (choice < accept) return this.send(requester, market.encodeFunctionData("accept", [id]));
        if (choice < challenge && mode !== 0n) {
          return this.send(
            this.acct(this.pick(CHALLENGERS, choice)),
            market.encodeFunctionData("challenge", [id, "ipfs://evidence"]),
            DEVNET.challengeBond,
          );
        }
        return this.send(this.acct(TREASURY), market.encodeFunctionData("finalize", [id]));
      }
      case JobStatus.Challenged: {
        if (mode === 2n) {
          if (choice < 80) {
            const bps = [0n, 3000n, 10_000n][choice % 3];
            return this.send(this.acct(ARBITER), market.encodeFunctionData("resolve", [id, bps]));
          }
          return this.send(this.acct(TREASURY), market.encodeFunctionData("finalize", [id]));
        }
        const verifiers = v[V.verifiers] as string[];
        const voted = v[V.voted] as boolean[];
        const open = verifiers.filter((_, k) => !voted[k]);
        if (open.length === 0 || choice >= 90)
          return this.send(this.acct(TREASURY), market.encodeFunctionData("finalize", [id]));
        const verifier = this.account(this.pick(open, choice));
        const hash = choice < 80 ? resultOf(id) : lieOf(id, verifier.address);
        return this.send(verifier, market.encodeFunctionData("vote", [id, hash]));
      }
    }
  }

  private onJob(i: number, f: (id: bigint) => void): void {
    const id = this.jobId(i);
    this.touched.add(id);
    f(id);
  }

  /** Submits, commits or reveals, whatever the worker's slot on the job needs next (from the last view). */
  private deliver(w: Account, id: bigint, cheat: boolean): void {
    this.touched.add(id);
    const v = this.jobs.get(id)?.view;
    const slots = (v?.[V.slots] as unknown[][] | undefined) ?? [];
    const slot = slots.find((s) => s[S.worker] === w.address);
    const hash = cheat ? lieOf(id, w.address) : resultOf(id);
    const key = `${id}:${w.address}`;
    if (slot === undefined || slot[S.status] === SlotStatus.Claimed) {
      const spec = v?.[V.spec] as unknown[] | undefined;
      const mode = spec?.[9] as bigint | undefined;
      if (slots.length === 1 && !cheat && spec !== undefined && (mode === 0n || mode === 2n) && id % 2n === 0n) {
        // Metered (paid by the unit, as mail campaigns) on RequesterAccept and Arbiter jobs: claims k/4 of the
        // price, k = 0…4 (k = 5: one wei over the price, refused without a trace).
        const price = spec[4] as bigint;
        const k = (id / 2n) % 6n;
        this.send(
          w,
          market.encodeFunctionData("submitMetered", [id, hash, `ipfs://r${id}`, (price * k) / 4n + k / 5n]),
        );
      } else if (slots.length === 1 && !cheat) {
        this.send(w, market.encodeFunctionData("submit", [id, hash, `ipfs://r${id}`]));
      } else {
        this.committed.set(key, hash);
        this.send(w, market.encodeFunctionData("commit", [id, commitmentOf(hash, w.address)]));
      }
    } else {
      const committed = this.committed.get(key) ?? hash;
      // A cheat reveals with the wrong salt: refused with JobRevealMismatch.
      const salt = cheat ? `0x${"00".repeat(32)}` : SALT;
      this.send(w, market.encodeFunctionData("reveal", [id, committed, `ipfs://r${id}`, salt]));
    }
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const txs = this.pending;
    this.pending = [];
    const vouchers = this.pendingVouchers;
    this.pendingVouchers = [];
    const redeemed = new Map<string, bigint>();
    for (const r of await this.chain.block(txs)) {
      for (const [, topics, data] of r.logs) {
        const name = market.getEvent(hexlify(topics[0]))?.name;
        if (name !== undefined) this.events.set(name, (this.events.get(name) ?? 0) + 1);
        if (name === "VoucherRedeemed") {
          const e = market.parseLog({ topics: topics.map((t) => hexlify(t)), data: hexlify(data) })!;
          redeemed.set(`${e.args.payer}:${e.args.payee}:${e.args.token}`, e.args.valueAggregate as bigint);
        }
      }
    }
    for (const batch of vouchers) for (const [k] of batch) if (redeemed.has(k)) this.owed.set(k, redeemed.get(k)!);
    this.blocks++;
    this.txs += txs.length;
    await this.check();
  }

  private async refreshJob(id: bigint): Promise<void> {
    const view = (await this.view("job", [id]))[0] as unknown[];
    const status = view[V.status] as bigint;
    if (status === JobStatus.None) {
      this.jobs.delete(id); // a post that was refused (e.g. replay without enough workers): ids stay dense
      return;
    }
    const spec = view[V.spec] as unknown[];
    const learnJob = spec[3] === LEARN;
    const open = !TERMINAL.has(status);
    this.jobs.set(id, {
      status,
      learn: learnJob,
      escrow: open ? (spec[4] as bigint) * (spec[5] as bigint) + (view[V.fee] as bigint) : 0n,
      challengeBond: status === JobStatus.Challenged ? (view[V.challengeBond] as bigint) : 0n,
      view,
    });
  }

  /** The accounting invariant, from the module's own views and the two balances. */
  async check(): Promise<void> {
    const count = (await this.view("jobCount", []))[0] as bigint;
    // Jobs registered optimistically but refused at post: drop ids past the real count.
    for (const id of [...this.jobs.keys()]) if (id > count) this.jobs.delete(id);
    for (let id = 1n; id <= count; id++) if (!this.jobs.has(id)) this.touched.add(id);
    for (const id of this.touched) if (id <= count) await this.refreshJob(id);
    this.touched.clear();

    let azr = 0n;
    let learnOwed = 0n;
    for (const j of this.jobs.values()) {
      if (j.learn) learnOwed += j.escrow;
      else azr += j.escrow;
      azr += j.challengeBond;
    }
    // Bonded amounts and credits straight from their storage words (what `worker` and `withdrawable`
    // read; checked equal to the views in `drain`): 60 EVM calls per block would be most of the time.
    for (const w of WORKERS) {
      const { stake, locked, unbonding } = await this.amounts(this.acct(w).address);
      expect(locked, `worker ${w}: locked bonds covered`).toBeLessThanOrEqual(stake + unbonding);
      azr += stake + unbonding;
    }
    for (const a of this.chain.accounts) {
      azr += await this.credit(a.address, false);
      learnOwed += await this.credit(a.address, true);
    }
    const deposits = await this.depositsHeld();
    azr += deposits.azr;
    learnOwed += deposits.learn;
    expect(await this.chain.balance(MARKET), `AZR held = AZR owed (block ${this.blocks})`).toBe(azr);
    expect(await this.learnBalance(MARKET), `LEARN held = LEARN owed (block ${this.blocks})`).toBe(learnOwed);
  }

  async amounts(worker: string) {
    const slots = workerAmountSlots(getBytes(worker));
    return {
      stake: await this.chain.storage(MARKET, slots.stake),
      locked: await this.chain.storage(MARKET, slots.locked),
      unbonding: await this.chain.storage(MARKET, slots.unbonding),
    };
  }

  credit(account: string, learnToken: boolean): Promise<bigint> {
    return this.chain.storage(MARKET, credits.slot(getBytes(account), learnToken));
  }

  async learnBalance(who: string): Promise<bigint> {
    const r = await this.chain.call(ZeroAddress, LEARN, learn.encodeFunctionData("balanceOf", [who]));
    return learn.decodeFunctionResult("balanceOf", r.data)[0] as bigint;
  }

  /**
   * No escrow is stuck: with nothing but time and anyone's reclaim/finalize, every job reaches a
   * terminal state, and then no bond is locked. Then everybody withdraws and unbonds: the market is empty.
   */
  async drain(): Promise<void> {
    await this.flush();
    for (let round = 0; round < 6; round++) {
      this.chain.now += 4n * DEVNET.maxWindow + DEVNET.disputeWindow;
      for (const [id, j] of this.jobs) {
        if (TERMINAL.has(j.status)) continue;
        this.send(this.acct(TREASURY), market.encodeFunctionData("reclaim", [id]));
        this.send(this.acct(TREASURY), market.encodeFunctionData("finalize", [id]));
        this.touched.add(id);
      }
      await this.flush();
    }
    for (const [id, j] of this.jobs)
      expect(TERMINAL.has(j.status), `job ${id} terminal (status ${j.status})`).toBe(true);
    for (const w of WORKERS) {
      const info = (await this.view("worker", [this.acct(w).address]))[0] as unknown[];
      const direct = await this.amounts(this.acct(w).address);
      expect([info[W.stake], info[W.locked], info[W.unbonding]], "worker() reads the amount words").toEqual([
        direct.stake,
        direct.locked,
        direct.unbonding,
      ]);
      expect(info[W.locked], `worker ${w}: no bond left locked`).toBe(0n);
      if ((info[W.stake] as bigint) > 0n)
        this.send(this.acct(w), market.encodeFunctionData("beginUnbond", [info[W.stake]]));
    }
    for (const a of this.chain.accounts) {
      for (const token of [ZeroAddress, LEARN]) {
        const owed = (await this.view("withdrawable", [a.address, token]))[0] as bigint;
        expect(owed, "withdrawable() reads the credit word").toBe(await this.credit(a.address, token === LEARN));
        if (owed > 0n) {
          this.send(a, market.encodeFunctionData("withdraw", [token]));
        }
      }
    }
    // Every payer thaws what it deposited (redeemable meanwhile), and takes it back after the thaw period.
    for (const p of PAYERS) {
      for (const w of WORKERS) {
        for (const token of [ZeroAddress, LEARN]) {
          const [d] = (await this.view("deposits", [this.acct(p).address, this.acct(w).address, token])) as bigint[][];
          if ((d[0] as bigint) > 0n) {
            this.send(this.acct(p), market.encodeFunctionData("thaw", [this.acct(w).address, token, d[0]]));
          }
        }
      }
    }
    await this.flush();
    this.chain.now += DEVNET.unbondingPeriod;
    for (const p of PAYERS) {
      for (const w of WORKERS) {
        for (const token of [ZeroAddress, LEARN]) {
          const [d] = (await this.view("deposits", [this.acct(p).address, this.acct(w).address, token])) as bigint[][];
          if ((d[1] as bigint) > 0n) {
            this.send(this.acct(p), market.encodeFunctionData("withdrawDeposit", [this.acct(w).address, token]));
          }
        }
      }
    }
    for (const w of WORKERS) {
      const info = (await this.view("worker", [this.acct(w).address]))[0] as unknown[];
      if ((info[W.unbonding] as bigint) > 0n)
        this.send(this.acct(w), market.encodeFunctionData("withdrawUnbonded", []));
    }
    await this.flush();
    expect(await this.chain.balance(MARKET)).toBe(0n);
    expect(await this.learnBalance(MARKET)).toBe(0n);
  }
}

function plain(v: unknown): unknown {
  if (Array.isArray(v)) return Array.from(v as unknown[], plain);
  return v;
}

const SEED = 20261205;

/** `runs` chains of `actions` random actions each; a failure names the seed and path that reproduce it. */
async function walk(runs: number, actions: number, maxLive: number, arb: fc.Arbitrary<Action> = actionArb) {
  const totals = {
    jobs: 0,
    statuses: new Map<bigint, number>(),
    events: new Map<string, number>(),
    runs: [] as string[],
  };
  const out = await fc.check(
    fc.asyncProperty(fc.array(arb, { minLength: actions, maxLength: actions }), async (list) => {
      const run = new Run(await LocalChain.start({ extra: 9 }), maxLive, totals.events);
      await run.setup();
      for (const a of list) await run.apply(a);
      await run.flush();
      await run.drain();
      totals.jobs += run.jobs.size;
      for (const j of run.jobs.values()) totals.statuses.set(j.status, (totals.statuses.get(j.status) ?? 0) + 1);
      totals.runs.push(`${run.jobs.size} jobs, ${run.txs} txs in ${run.blocks} blocks`);
    }),
    // No shrinking: each try replays a whole chain. The seed and path reproduce a failure exactly.
    { numRuns: runs, seed: SEED, endOnFailure: true },
  );
  if (out.failed) {
    throw new Error(`reproduce with seed ${out.seed}, path "${out.counterexamplePath}": ${String(out.errorInstance)}`);
  }
  console.log(`market walk: ${totals.runs.join("; ")}; events ${JSON.stringify(Object.fromEntries(totals.events))}`);
  return totals;
}

describe("market accounting under random actions", () => {
  it("escrowed funds equal open obligations after every block; 1,000+ jobs all reach a terminal state", async () => {
    const t = await walk(4, 2_200, Number.POSITIVE_INFINITY);
    expect(t.jobs).toBeGreaterThanOrEqual(1_000);
    for (const s of [JobStatus.Finalized, JobStatus.Refunded, JobStatus.Cancelled]) {
      expect(t.statuses.get(s) ?? 0, `jobs ending ${s}`).toBeGreaterThan(10);
    }
  }, 1_200_000);

  it("the same with at most 12 jobs in flight, so most jobs are worked through to disputes and rulings", async () => {
    const t = await walk(2, 2_000, 12);
    for (const e of [
      "RevealOpened",
      "JobAccepted",
      "JobChallenged",
      "VerifierVoted",
      "DisputeResolved",
      "ChallengerSlashed",
      "WorkerSlashed",
      "ClaimExpired",
      "JobCancelled",
      "JobResumed",
      "UnbondWithdrawn",
      "Withdrawn",
      "DepositAdded",
      "ThawStarted",
      "DepositWithdrawn",
      "VoucherRedeemed",
      "ResultMetered",
    ]) {
      expect(t.events.get(e) ?? 0, `${e} events`).toBeGreaterThan(0);
    }
  }, 1_200_000);

  it("the same with the batch calls mixed in (postMany, claimMany, submitMany, acceptMany; skipped items undone)", async () => {
    const t = await walk(1, 2_000, 16, batchActionArb);
    for (const e of [
      "JobPosted",
      "JobClaimed",
      "ResultSubmitted",
      "JobAccepted",
      "BatchItemSkipped",
      "JobChallenged",
    ]) {
      expect(t.events.get(e) ?? 0, `${e} events`).toBeGreaterThan(0);
    }
  }, 1_200_000);
});
