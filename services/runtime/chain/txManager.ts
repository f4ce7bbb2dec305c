/**
 * Sends the worker's transactions: one account, nonces assigned locally in send order, each intent written to
 * the journal (with its signed raw transaction) before it is broadcast, re-broadcast after a restart,
 * re-signed at the same nonce with higher fees when it sits unmined, and settled from receipts. A call that
 * would revert is caught by `eth_estimateGas` before a nonce is spent (`TxError WOULD_REVERT` with the
 * market's decoded custom error), so a lost claim race costs nothing. A nonce whose transaction the node
 * rejects outright is filled with a 0-value self-transfer, so later transactions never wait on a gap.
 */
import { Transaction, type Wallet } from "ethers";
import type { Logger } from "../../../runtime/lib/logger.js";
import { TxError, TxErrorCode } from "../errors.js";
import type { JobRole, Journal, TxRow } from "../journal.js";
import { decodeRevert } from "./market.js";
import { quantity, type RPCClient, RPCError, toQuantity } from "./rpcClient.js";

export interface TxManagerOptions {
  chainId: bigint;
  /** Re-sign with higher fees when a transaction is not mined this long after its last broadcast. */
  feeBumpAfterMs: number;
  /** Each bump raises maxFee and tip by this much (the node's replacement rule needs ≥ 10). */
  feeBumpPercent: number;
  maxFeeBumps: number;
  /** Added to eth_estimateGas's answer. */
  gasMarginPercent: number;
  /** How often pending transactions' receipts are polled besides every new head (a fallback). */
  receiptPollMs: number;
}

export const DEFAULT_TX_OPTIONS: Omit<TxManagerOptions, "chainId"> = {
  feeBumpAfterMs: 6_000,
  feeBumpPercent: 15,
  maxFeeBumps: 8,
  gasMarginPercent: 30,
  receiptPollMs: 1_000,
};

/** Margin on a cached gas limit (calls of one key differ a little: string lengths, first vs later writes). */
const CACHED_GAS_MARGIN_PERCENT = 50n;
/** A transaction not mined this long after its broadcast is checked against the account nonce. */
const NONCE_CHECK_AFTER_MS = 3_000;

export interface TxIntent {
  jobId: bigint | null;
  role: JobRole | null;
  /** Market function (or "fill" for a nonce filler): a bounded label for logs and metrics. */
  action: string;
  to: string;
  data: string;
  value?: bigint;
  /**
   * Calls with the same key cost about the same gas (e.g. "claim/1": a claim on a redundancy-1 job). The first
   * is sized by eth_estimateGas; later ones reuse that limit and are only pre-checked with one eth_call (a
   * binary-searching estimate runs the call several times on the node). Omit for calls whose gas varies.
   */
  gasKey?: string;
  /**
   * Least gas limit. For calls whose cost depends on what lands before them in the same block — the last of three
   * votes runs the tally, the last reveal starts the challenge window — an estimate taken earlier can be too low.
   */
  minGas?: bigint;
  /** A fixed gas limit (batches: a per-item ceiling): no estimate, only the one-eth_call pre-check. */
  gasLimit?: bigint;
  /**
   * With a fixed gasLimit: false sends without the pre-check. For the market's best-effort batches, which skip
   * an item the market refuses instead of reverting: the pre-check would only catch a whole-call revert (a bug),
   * and it is an eth_call — a simulation on the node — per batch, most of the views a busy worker made.
   */
  precheck?: boolean;
}

export interface TxLog {
  address: string;
  topics: string[];
  data: string;
}

export interface TxOutcome {
  seq: number;
  hash: string;
  status: "mined" | "reverted";
  block: number;
  gasUsed: bigint;
  logs: TxLog[];
}

interface Receipt {
  status: string;
  blockNumber: string;
  gasUsed: string;
  transactionHash: string;
  logs: TxLog[];
}

interface Tracked {
  row: TxRow;
  gasKey?: string;
  lastSentMs: number;
  bumps: number;
  waiters: { resolve: (o: TxOutcome) => void; reject: (e: unknown) => void }[];
}

export type TxMetricsHook = (
  action: string,
  outcome: "mined" | "reverted" | "would_revert" | "rejected" | "replaced",
  gasUsed?: bigint,
) => void;

export class TxManager {
  readonly address: string;
  private nextNonce = -1;
  private readonly tracked = new Map<number, Tracked>();
  private sendChain: Promise<unknown> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;
  private fees: { base: bigint; tip: bigint; atMs: number } | undefined;
  private readonly gasByKey = new Map<string, bigint>();

  constructor(
    private readonly opts: TxManagerOptions,
    private readonly mods: {
      rpc: RPCClient;
      wallet: Wallet;
      journal: Journal;
      logger: Logger;
      onTx?: TxMetricsHook;
      nowMs?: () => number;
    },
  ) {
    this.address = mods.wallet.address;
  }

  private now(): number {
    return (this.mods.nowMs ?? Date.now)();
  }

  /** Loads the nonce and resumes every transaction the journal holds as pending (re-broadcasting it). */
  async init(): Promise<void> {
    const chainNonce = Number(
      quantity(await this.mods.rpc.call<string>("eth_getTransactionCount", [this.address, "pending"])),
    );
    const journalNext = (this.mods.journal.maxNonce() ?? -1) + 1;
    this.nextNonce = Math.max(chainNonce, journalNext);
    for (const row of this.mods.journal.pendingTxs()) {
      this.tracked.set(row.seq, { row, lastSentMs: 0, bumps: row.hashes.length - 1, waiters: [] });
      this.mods.logger.info("resuming transaction", { action: row.action, job: row.jobId, nonce: row.nonce });
      await this.broadcast(this.tracked.get(row.seq) as Tracked, row.raw);
    }
    this.schedulePoll();
  }

  /** Pending transactions (for reconciliation after a restart). */
  pending(): TxRow[] {
    return [...this.tracked.values()].map((t) => t.row);
  }

  /** Waits for a tracked transaction (e.g. one resumed from the journal) to settle. */
  wait(seq: number): Promise<TxOutcome> {
    const t = this.tracked.get(seq);
    if (t === undefined) {
      const row = this.mods.journal.getTx(seq);
      if (row === undefined) return Promise.reject(new Error(`unknown tx ${seq}`));
      return Promise.resolve(this.outcomeOfSettled(row));
    }
    return new Promise((resolve, reject) => t.waiters.push({ resolve, reject }));
  }

  /**
   * Simulates, signs, journals and broadcasts; resolves when mined (status "mined" or "reverted").
   * Throws TxError WOULD_REVERT when the simulation reverts (nothing is sent, no nonce is used).
   */
  async send(intent: TxIntent): Promise<TxOutcome> {
    const value = intent.value ?? 0n;
    const cached = intent.gasKey === undefined ? undefined : this.gasByKey.get(intent.gasKey);
    let gasLimit: bigint;
    if (intent.gasLimit !== undefined) {
      if (intent.precheck !== false) await this.precheck(intent, value);
      gasLimit = intent.gasLimit;
    } else if (cached !== undefined) {
      await this.precheck(intent, value);
      gasLimit = cached;
    } else {
      gasLimit = await this.estimate(intent, value);
      if (intent.gasKey !== undefined)
        this.gasByKey.set(
          intent.gasKey,
          (gasLimit * (100n + CACHED_GAS_MARGIN_PERCENT)) / BigInt(100 + this.opts.gasMarginPercent),
        );
    }
    if (intent.minGas !== undefined && gasLimit < intent.minGas) gasLimit = intent.minGas;
    // Nonce assignment, journaling and broadcast are serialized so nonces reach the node in order.
    const row = await this.serial(async () => {
      const fees = await this.currentFees();
      const nonce = this.nextNonce++;
      const { raw, hash } = await this.sign({ ...intent, value, gasLimit, nonce, ...fees });
      const r = this.mods.journal.addTx({
        jobId: intent.jobId,
        role: intent.role,
        action: intent.action,
        nonce,
        hash,
        raw,
        to: intent.to,
        data: intent.data,
        value,
        gasLimit,
        maxFee: fees.maxFee,
        tip: fees.tip,
      });
      const t: Tracked = { row: r, gasKey: intent.gasKey, lastSentMs: 0, bumps: 0, waiters: [] };
      this.tracked.set(r.seq, t);
      await this.broadcast(t, raw);
      return r;
    });
    this.schedulePoll(); // receipts come with the next head (poke) or the fallback timer
    return this.wait(row.seq);
  }

  /** Checks receipts now (called on every new head). */
  poke(): void {
    this.schedulePoll(0);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.pollTimer);
    for (const t of this.tracked.values()) for (const w of t.waiters) w.reject(new Error("transaction manager closed"));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.sendChain.then(fn, fn);
    this.sendChain = run.catch(() => {});
    return run;
  }

  private async estimate(intent: TxIntent, value: bigint): Promise<bigint> {
    try {
      const est = quantity(
        await this.mods.rpc.call<string>("eth_estimateGas", [
          { from: this.address, to: intent.to, data: intent.data, value: toQuantity(value) },
        ]),
      );
      return (est * BigInt(100 + this.opts.gasMarginPercent)) / 100n;
    } catch (e) {
      throw this.wouldRevert(intent, e);
    }
  }

  /** One eth_call of the transaction: throws WOULD_REVERT with the decoded error when it would fail now. */
  private async precheck(intent: TxIntent, value: bigint): Promise<void> {
    try {
      await this.mods.rpc.call<string>("eth_call", [
        { from: this.address, to: intent.to, data: intent.data, value: toQuantity(value) },
        "latest",
      ]);
    } catch (e) {
      throw this.wouldRevert(intent, e);
    }
  }

  private wouldRevert(intent: TxIntent, e: unknown): unknown {
    if (e instanceof RPCError && (e.rpcCode === 3 || /revert/i.test(e.message))) {
      const d = decodeRevert(e.data);
      this.mods.onTx?.(intent.action, "would_revert");
      const error = d?.name ?? "Reverted";
      const args = d?.args ?? [];
      return new TxError(
        { code: TxErrorCode.WOULD_REVERT, action: intent.action, error, args },
        `${intent.action} would revert: ${error}(${args.join(", ")})`,
      );
    }
    return e;
  }

  private async currentFees(): Promise<{ maxFee: bigint; tip: bigint }> {
    const now = this.now();
    if (this.fees === undefined || now - this.fees.atMs > 2_000) {
      const [gasPrice, tip] = await Promise.all([
        this.mods.rpc.call<string>("eth_gasPrice", []),
        this.mods.rpc.call<string>("eth_maxPriorityFeePerGas", []),
      ]);
      const t = quantity(tip);
      this.fees = { base: quantity(gasPrice) - t, tip: t, atMs: now };
    }
    return { maxFee: this.fees.base * 2n + this.fees.tip, tip: this.fees.tip };
  }

  private async sign(tx: {
    to: string;
    data: string;
    value: bigint;
    gasLimit: bigint;
    nonce: number;
    maxFee: bigint;
    tip: bigint;
  }): Promise<{ raw: string; hash: string }> {
    const raw = await this.mods.wallet.signTransaction({
      type: 2,
      chainId: this.opts.chainId,
      nonce: tx.nonce,
      to: tx.to,
      data: tx.data,
      value: tx.value,
      gasLimit: tx.gasLimit,
      maxFeePerGas: tx.maxFee,
      maxPriorityFeePerGas: tx.tip,
    });
    return { raw, hash: Transaction.from(raw).hash as string };
  }

  private async broadcast(t: Tracked, raw: string): Promise<void> {
    t.lastSentMs = this.now();
    try {
      await this.mods.rpc.call("eth_sendRawTransaction", [raw]);
    } catch (e) {
      if (!(e instanceof RPCError) || e.rpcCode === 0) {
        // transport trouble: the poll loop re-broadcasts
        this.mods.logger.warn("broadcast failed; will retry", { action: t.row.action, nonce: t.row.nonce }, e);
        t.lastSentMs = 0;
        return;
      }
      const msg = e.message;
      if (/already known/.test(msg)) return;
      if (/nonce too low/.test(msg)) return; // mined already (or replaced): the poll loop settles it
      if (/replacement transaction underpriced|transaction underpriced|txpool is full|nonce too high/.test(msg)) {
        t.lastSentMs = 0; // retry (with a bump if it stays unmined)
        return;
      }
      // Refused for good (e.g. insufficient funds): fail the intent and fill its nonce.
      this.mods.logger.warn("transaction rejected", { action: t.row.action, nonce: t.row.nonce, reason: msg });
      this.settle(t, { state: "rejected" });
      this.mods.onTx?.(t.row.action, "rejected");
      const err = new TxError({ code: TxErrorCode.REJECTED, action: t.row.action, reason: msg.slice(0, 200) });
      for (const w of t.waiters) w.reject(err);
      t.waiters = [];
      if (t.row.action !== "fill") void this.fillNonce(t.row.nonce);
    }
  }

  private async fillNonce(nonce: number): Promise<void> {
    try {
      const fees = await this.currentFees();
      const { raw, hash } = await this.sign({
        to: this.address,
        data: "0x",
        value: 0n,
        gasLimit: 21_000n,
        nonce,
        maxFee: fees.maxFee * 2n,
        tip: fees.tip * 2n,
      });
      const row = this.mods.journal.addTx({
        jobId: null,
        role: null,
        action: "fill",
        nonce,
        hash,
        raw,
        to: this.address,
        data: "0x",
        value: 0n,
        gasLimit: 21_000n,
        maxFee: fees.maxFee * 2n,
        tip: fees.tip * 2n,
      });
      const t: Tracked = { row, lastSentMs: 0, bumps: 0, waiters: [] };
      this.tracked.set(row.seq, t);
      await this.broadcast(t, raw);
    } catch (e) {
      this.mods.logger.error("could not fill nonce gap", { nonce }, e);
    }
  }

  private settle(t: Tracked, s: { state: TxRow["state"]; minedHash?: string; block?: number; gasUsed?: bigint }): void {
    this.mods.journal.settleTx(t.row.seq, s);
    this.tracked.delete(t.row.seq);
  }

  private outcomeOfSettled(row: TxRow): TxOutcome {
    if (row.state === "mined" || row.state === "reverted")
      return {
        seq: row.seq,
        hash: row.minedHash ?? row.hashes[row.hashes.length - 1],
        status: row.state,
        block: row.block ?? 0,
        gasUsed: row.gasUsed ?? 0n,
        logs: [],
      };
    throw new TxError(
      row.state === "replaced"
        ? { code: TxErrorCode.REPLACED, action: row.action, nonce: row.nonce }
        : { code: TxErrorCode.REJECTED, action: row.action, reason: row.state },
    );
  }

  private schedulePoll(delayMs = this.opts.receiptPollMs): void {
    if (this.closed) return;
    if (this.pollTimer !== undefined && delayMs > 0) return;
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      void this.pollOnce().finally(() => {
        if (this.tracked.size > 0) this.schedulePoll();
      });
    }, delayMs);
  }

  private async pollOnce(): Promise<void> {
    if (this.polling || this.tracked.size === 0) return;
    this.polling = true;
    try {
      const all = [...this.tracked.values()];
      // one batch for every attempt's receipt (newest attempt first)
      const hashes = all.flatMap((t) => [...t.row.hashes].reverse());
      const found = await this.mods.rpc.batch<Receipt | null>(hashes.map((h) => ["eth_getTransactionReceipt", [h]]));
      const byHash = new Map<string, Receipt>();
      hashes.forEach((h, i) => {
        const r = found[i];
        if (r !== null && r !== undefined && !(r instanceof Error)) byHash.set(h, r);
      });
      let accountNonce: number | undefined;
      const now = this.now();
      for (const t of all) {
        const r = t.row.hashes.map((h) => byHash.get(h)).find((x) => x !== undefined);
        if (r !== undefined) {
          this.onReceipt(t, r);
          continue;
        }
        if (t.lastSentMs !== 0 && now - t.lastSentMs < NONCE_CHECK_AFTER_MS) {
          await this.maybeBump(t);
          continue;
        }
        accountNonce ??= Number(
          quantity(await this.mods.rpc.call<string>("eth_getTransactionCount", [this.address, "latest"])),
        );
        if (accountNonce > t.row.nonce) {
          // The nonce is used but by none of our hashes (receipts can lag one poll: look once more first).
          const again = await this.findReceipt(t);
          if (again !== null) this.onReceipt(t, again);
          else this.onReplaced(t);
          continue;
        }
        await this.maybeBump(t);
      }
    } catch (e) {
      this.mods.logger.debug("receipt poll failed", { err: (e as Error).message });
    } finally {
      this.polling = false;
    }
  }

  private async findReceipt(t: Tracked): Promise<Receipt | null> {
    for (const h of [...t.row.hashes].reverse()) {
      const r = await this.mods.rpc.call<Receipt | null>("eth_getTransactionReceipt", [h]);
      if (r !== null) return r;
    }
    return null;
  }

  private onReceipt(t: Tracked, r: Receipt): void {
    const status = quantity(r.status) === 1n ? "mined" : "reverted";
    const outcome: TxOutcome = {
      seq: t.row.seq,
      hash: r.transactionHash,
      status,
      block: Number(quantity(r.blockNumber)),
      gasUsed: quantity(r.gasUsed),
      logs: r.logs,
    };
    this.settle(t, { state: status, minedHash: r.transactionHash, block: outcome.block, gasUsed: outcome.gasUsed });
    // out of gas on a cached limit: size the next call of that key afresh
    if (status === "reverted" && t.gasKey !== undefined && (outcome.gasUsed * 100n) / t.row.gasLimit >= 95n)
      this.gasByKey.delete(t.gasKey);
    this.mods.onTx?.(t.row.action, status, outcome.gasUsed);
    for (const w of t.waiters) w.resolve(outcome);
  }

  private onReplaced(t: Tracked): void {
    this.mods.logger.warn("transaction replaced by another with its nonce", {
      action: t.row.action,
      nonce: t.row.nonce,
    });
    this.settle(t, { state: "replaced" });
    this.mods.onTx?.(t.row.action, "replaced");
    const err = new TxError({ code: TxErrorCode.REPLACED, action: t.row.action, nonce: t.row.nonce });
    for (const w of t.waiters) w.reject(err);
  }

  private async maybeBump(t: Tracked): Promise<void> {
    const now = this.now();
    if (t.lastSentMs === 0) {
      await this.broadcast(t, t.row.raw);
      return;
    }
    if (now - t.lastSentMs < this.opts.feeBumpAfterMs) return;
    if (t.bumps >= this.opts.maxFeeBumps) {
      await this.broadcast(t, t.row.raw); // keep it in the pool; fees are capped
      return;
    }
    const pct = BigInt(100 + this.opts.feeBumpPercent);
    const fees = await this.currentFees();
    const maxFee = max((t.row.maxFee * pct) / 100n + 1n, fees.maxFee);
    const tip = max((t.row.tip * pct) / 100n + 1n, fees.tip);
    const { raw, hash } = await this.sign({ ...t.row, nonce: t.row.nonce, maxFee, tip });
    this.mods.journal.addAttempt(t.row.seq, { hash, raw, maxFee, tip });
    t.row = { ...t.row, hashes: [...t.row.hashes, hash], raw, maxFee, tip };
    t.bumps++;
    this.mods.logger.info("fee bump", { action: t.row.action, nonce: t.row.nonce, maxFee, tip, attempt: t.bumps });
    await this.broadcast(t, raw);
  }
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
