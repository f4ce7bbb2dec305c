import { type CommitCertificate, encodeCommit, hasQuorum, totalVotingPower } from "../../consensus/commit.js";
import { type SignatureVerifier, VoteType } from "../../consensus/vote.js";
import { nextBaseFee } from "../../runtime/fees.js";
import { assert } from "../../runtime/lib/assert.js";
import type { Logger } from "../../runtime/lib/logger.js";
import type { BlockHeader } from "../../runtime/primitives/block.js";
import { bytesToHex, equalsBytes } from "../../runtime/primitives/bytes.js";
import type { Chain, CommittedBlock, HeadInfo } from "../chain/chain.js";
import { UpgradeRequiredError } from "../chain/upgrades.js";
import { ChainApp } from "../consensus/app.js";
import type { Mempool } from "../mempool/index.js";
import type { Metrics } from "../metrics.js";
import { OwnCommitCheck } from "./ownCommit.js";

export interface BlockProducerOptions {
  /** Fixed interval between blocks (like `anvil --block-time`); undefined = a block as soon as txs wait. */
  blockTimeMs?: number;
}

/**
 * The dev validator's signer: the double-sign guard (`GuardedSigner`), whose last-signed state on disk
 * lets a restarted dev node see which height it already signed, like a network validator.
 */
export interface PrecommitSigner {
  readonly publicKey: Uint8Array;
  signVote(
    chainId: bigint,
    type: VoteType,
    height: bigint,
    round: number,
    blockHash: Uint8Array | null,
  ): Promise<Uint8Array>;
  lastSigned(): { height: bigint; round: number };
}

export interface BlockProducerModules {
  chain: Chain;
  mempool: Mempool;
  signer: PrecommitSigner;
  verifier: SignatureVerifier;
  log: Logger;
  metrics: Metrics | null;
  nowMs?: () => number;
  /** Called once when block production fails and stops (a storage failure or a bug): the node stops. */
  onFatal?: (e: unknown) => void;
  /** Dev mode: impersonated senders, whose transactions may come from a contract account. */
  isImpersonated?: (sender: string) => boolean;
}

/**
 * The single-validator block pipeline of `azora dev`: the same steps the BFT network runs, with a
 * validator set of one — propose (select and execute), precommit (sign the block hash), commit
 * (+2/3 of the power signed: a commit certificate), persist (one atomic batch), then notify.
 */
export class BlockProducer {
  /** Interval mining (`--block-time`, `evm_setIntervalMining`); undefined = automatic. */
  private blockTimeMs: number | undefined;
  /** `evm_setAutomine(false)`: without interval mining, blocks come only from `mineNow`. */
  private automine = true;
  private readonly m: BlockProducerModules;
  private readonly nowMs: () => number;
  private readonly app: ChainApp;
  /** Checks each certificate it builds; its own key's signature is verified once, not per block. */
  private readonly ownCommit: OwnCommitCheck;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  /** Serialises block production between the loop and `mineNow` (evm_mine). */
  private lock: Promise<unknown> = Promise.resolve();
  private lastBlockAtMs: number;
  /** evm_increaseTime: seconds added to the wall clock for block timestamps. */
  timeOffsetSeconds = 0n;
  /** evm_setNextBlockTimestamp: used once for the next block. */
  nextTimestamp: bigint | null = null;
  /** anvil_setNextBlockBaseFeePerGas: used once for the next block. */
  nextBaseFeePerGas: bigint | null = null;
  private unsubscribe: (() => void) | null = null;
  /**
   * The commit certificate of the last block this producer made, by that block's hash: the next
   * block's `lastCommit`, without a LevelDB read per block. After a restart or a rewind the head is
   * another block, and its commit is read from the database.
   */
  private lastMade: { hash: Uint8Array; commit: Uint8Array } | null = null;

  constructor(opts: BlockProducerOptions, modules: BlockProducerModules) {
    this.blockTimeMs = opts.blockTimeMs;
    this.m = modules;
    this.nowMs = modules.nowMs ?? Date.now;
    this.ownCommit = new OwnCommitCheck(modules.verifier);
    this.app = new ChainApp({
      chain: modules.chain,
      mempool: modules.mempool,
      verifier: modules.verifier,
      log: modules.log,
      isImpersonated: modules.isImpersonated,
      // One validator by design: the dev key signs every block alone.
      fixedValidators: true,
      stages: modules.metrics?.txStages,
    });
    this.lastBlockAtMs = this.nowMs();
  }

  start(): void {
    assert(!this.running, "producer started twice");
    this.running = true;
    this.unsubscribe = this.m.mempool.onPending(() => {
      if (this.blockTimeMs === undefined && this.automine) this.wake?.();
    });
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.wake?.();
    await this.loopDone;
    await this.lock;
  }

  /** Produces one block now, whatever the mode (evm_mine). */
  mineNow(): Promise<CommittedBlock> {
    return this.exclusive(() => this.produceBlock());
  }

  /**
   * Mining modes of dev mode: `automine` (a block as soon as transactions wait, and an empty block
   * every `emptyBlockIntervalMs`) and interval mining (a block every `intervalMs`; undefined or 0
   * turns it off). With both off, blocks come only from `mineNow` (evm_mine, anvil_mine).
   */
  setMining(mode: { automine?: boolean; intervalMs?: number }): void {
    if (mode.automine !== undefined) this.automine = mode.automine;
    if (mode.intervalMs !== undefined) this.blockTimeMs = mode.intervalMs > 0 ? mode.intervalMs : undefined;
    this.lastBlockAtMs = this.nowMs();
    this.wake?.();
  }

  get mining(): { automine: boolean; intervalMs: number | undefined } {
    return { automine: this.automine, intervalMs: this.blockTimeMs };
  }

  /** After a dev chain rewind: the block interval counts from now. */
  restartClock(): void {
    this.lastBlockAtMs = this.nowMs();
    this.nextTimestamp = null;
    this.nextBaseFeePerGas = null;
  }

  /** Runs `fn` alone: no block is built while it runs (dev cheats edit the head state in it). */
  runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.exclusive(fn);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      // In automatic mode an idle chain waits the empty-block interval in force (a chain parameter).
      const next = this.m.chain.head.header.number + 1n;
      const emptyBlockIntervalMs = this.m.chain.params.at(next).consensus.emptyBlockIntervalMs;
      const interval = this.blockTimeMs ?? (this.automine ? emptyBlockIntervalMs : Number.POSITIVE_INFINITY);
      const waitMs = this.lastBlockAtMs + interval - this.nowMs();
      const txsWaiting = this.blockTimeMs === undefined && this.automine && this.hasIncludableTxs();
      if (!txsWaiting && waitMs > 0) {
        await this.sleep(waitMs);
        continue;
      }
      try {
        await this.exclusive(() => this.produceBlock());
      } catch (e) {
        // A failure here is a bug or a storage fault; halting is safer than producing on broken state.
        // Reported, not thrown: nobody awaits this loop until shutdown (an unhandled rejection).
        if (e instanceof UpgradeRequiredError)
          this.m.log.warn("software upgrade required: stopping", { reason: e.message });
        else this.m.log.error("block production failed; stopping the producer", {}, e);
        this.running = false;
        this.m.onFatal?.(e);
        return;
      }
    }
  }

  /**
   * Pending txs whose fee cap is below the next base fee stay pooled but cannot be included;
   * waking for them would make empty blocks back to back.
   */
  private hasIncludableTxs(): boolean {
    if (this.m.mempool.stats().pending === 0) return false;
    const { chain } = this.m;
    const params = chain.params.at(chain.head.header.number + 1n);
    const baseFeePerGas = this.nextBaseFeePerGas ?? nextBaseFee(chain.head.header, params.fees);
    return this.m.mempool.selectForBlock({ baseFeePerGas, gasLimit: params.gasLimit, maxTxs: 1 }).length > 0;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      // No timer for an infinite wait (automine and interval mining off): only `wake` ends it.
      const timer = Number.isFinite(ms) ? setTimeout(done, Math.min(ms, 2 ** 31 - 1)) : undefined;
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  private nextBlockTimestamp(parent: BlockHeader): bigint {
    const fromClock = BigInt(Math.floor(this.nowMs() / 1000)) + this.timeOffsetSeconds;
    let ts = this.nextTimestamp ?? fromClock;
    this.nextTimestamp = null;
    if (ts < parent.timestamp) ts = parent.timestamp; // timestamps never go backwards
    return ts;
  }

  /**
   * One block; with metrics, its CPU time outside what `ChainApp` times itself (execution, seal,
   * persist) counts as the `block_other` stage: selection, header, signature, mempool update, listeners.
   */
  private produceBlock(): Promise<CommittedBlock> {
    const stages = this.m.metrics?.txStages;
    return stages === undefined ? this.makeBlock() : stages.time("block_other", () => this.makeBlock());
  }

  /**
   * The commit certificate of the head block: kept from making it, else read from the database.
   * The read is a wait for LevelDB's thread pool, during which the node serves RPC requests; their
   * CPU is not block work (`outside`), as for the block's batch write.
   */
  private async parentCommit(parent: HeadInfo): Promise<Uint8Array> {
    if (this.lastMade !== null && equalsBytes(this.lastMade.hash, parent.hash)) return this.lastMade.commit;
    const { chain } = this.m;
    const stages = this.m.metrics?.txStages;
    const read = () => chain.db.getCommit(parent.header.number);
    const stored = await (stages === undefined ? read() : stages.outside(read));
    assert(stored !== undefined, "parent commit certificate is stored");
    return stored;
  }

  private async makeBlock(): Promise<CommittedBlock> {
    const startedMs = this.nowMs();
    const { chain } = this.m;
    const parent = chain.head;
    const number = parent.header.number + 1n;
    chain.upgrades.check(number);
    // The validators of this height (they may change on chain): the dev key must hold +2/3 alone.
    const validators = chain.validators.validators(number);
    assert(validators !== null, "the validators of the next height are settled");
    const validatorIndex = validators.findIndex((v) => equalsBytes(v.publicKey, this.m.signer.publicKey));
    if (validatorIndex < 0 || !hasQuorum(validators[validatorIndex].votingPower, totalVotingPower(validators))) {
      throw new Error(
        `the dev validator no longer holds more than two thirds of the voting power at height ${number}: ` +
          "a dev node cannot make blocks alone",
      );
    }
    const proposer = validators[validatorIndex];

    // Propose: the app selects, executes and builds the block on the head state.
    const lastCommit = number === 1n ? new Uint8Array(0) : await this.parentCommit(parent);

    const baseFeePerGas = this.nextBaseFeePerGas ?? undefined;
    this.nextBaseFeePerGas = null;
    const proposal = await this.app.buildProposal({
      proposer,
      timestamp: this.nextBlockTimestamp(parent.header),
      lastCommit,
      baseFeePerGas,
    });

    // Precommit and commit: the sole validator holds all the power, so its signature is +2/3. A
    // precommit already signed at this height never became a committed block (the start-up check
    // refuses a database below the highest-committed record), so it never left the node: sign in
    // the next round, as a network validator would, and the guard never signs one round twice.
    const last = this.m.signer.lastSigned();
    const round = last.height === number ? last.round + 1 : 0;
    const signature = await this.m.signer.signVote(
      chain.spec.chainId,
      VoteType.Precommit,
      number,
      round,
      proposal.hash,
    );
    const commit: CommitCertificate = {
      height: number,
      round,
      blockHash: proposal.hash,
      signatures: [{ validatorIndex, signature }],
    };
    this.ownCommit.check(
      commit,
      { chainId: chain.spec.chainId, height: number, blockHash: proposal.hash, validators },
      this.m.signer.publicKey,
    );

    // Finalize: one atomic batch, then the mempool and listeners learn about it.
    const encodedCommit = encodeCommit(commit);
    const block = await this.app.finalize(proposal.block, encodedCommit, proposer);
    this.lastMade = { hash: block.hash, commit: encodedCommit };
    this.lastBlockAtMs = this.nowMs();
    const ms = this.lastBlockAtMs - startedMs;
    this.m.metrics?.blockCommitted(block, ms / 1000);
    this.m.log.debug("committed block", {
      number: number.toString(),
      txs: block.txHashes.length,
      hash: bytesToHex(block.hash),
      ms,
    });
    return block;
  }
}
