import { AbiCoder, getBytes, hexlify, Interface, type InterfaceAbi, keccak256, toUtf8Bytes, ZeroAddress } from "ethers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadArtifact } from "../../contracts/artifacts.js";
import { credits, workerAmountSlots } from "../../runtime/modules/market/storage.js";
import { type Account, LocalChain, type TxRequest } from "./localChain.js";
import { DEVNET, JobStatus, KIND, LEARN, MARKET, S, SlotStatus, V, W } from "./marketFixture.js";

/**
 * The market's accounting under random action sequences (fast-check), on the runtime itself
 * (LocalChain: no node, chosen block times), 1,000+ jobs in all. Requesters post AZR and LEARN jobs
 * of every verification mode (Retrieval's rounds too: a challenge not upheld returns the job to Submitted)
 * and redundancy; workers claim, deliver honestly or not, commit and
 * reveal (sometimes with a wrong salt), unbond and top up; challengers challenge; verifiers vote or
 * stay silent; the arbiter rules; anyone finalizes, reclaims, cancels, withdraws; time jumps. Most
 * actions are aimed at random jobs and refused, which must leave everything as it was.
 *
 * After every block:
 *   market AZR   = Σ unsettled AZR escrows + Σ stakes + Σ unbonding + Σ open challenge bonds + Σ AZR credits
 *   market LEARN = Σ unsettled LEARN escrows + Σ LEARN credits
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
  | { t: "block" };

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
      case "step": {
        // Steps go to live jobs: a random walk would spend them on jobs long settled.
        const live = [...this.jobs].filter(([, j]) => !TERMINAL.has(j.status)).map(([id]) => id);
        if (live.length > 0) this.step(live[a.job % live.length], a.choice);
        return;
      }
    }
  }

  private account = (address: string) => this.chain.accounts.find((x) => x.address === address)!;

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
      if (slots.length === 1 && !cheat) {
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
    for (const r of await this.chain.block(txs)) {
      for (const [, topics] of r.logs) {
        const name = market.getEvent(hexlify(topics[0]))?.name;
        if (name !== undefined) this.events.set(name, (this.events.get(name) ?? 0) + 1);
      }
    }
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
    await this.flush();
    this.chain.now += DEVNET.unbondingPeriod;
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
async function walk(runs: number, actions: number, maxLive: number) {
  const totals = {
    jobs: 0,
    statuses: new Map<bigint, number>(),
    events: new Map<string, number>(),
    runs: [] as string[],
  };
  const out = await fc.check(
    fc.asyncProperty(fc.array(actionArb, { minLength: actions, maxLength: actions }), async (list) => {
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
    ]) {
      expect(t.events.get(e) ?? 0, `${e} events`).toBeGreaterThan(0);
    }
  }, 1_200_000);
});
