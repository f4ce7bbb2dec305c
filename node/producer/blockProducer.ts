import { type CommitCertificate, encodeCommit, hashCommit, verifyCommit } from "../../consensus/commit.js";
import { type SignatureVerifier, type VoteSigner, VoteType, voteSignBytes } from "../../consensus/vote.js";
import { BlockExecution } from "../../runtime/executor.js";
import { nextBaseFee } from "../../runtime/fees.js";
import { assert } from "../../runtime/lib/assert.js";
import type { Logger } from "../../runtime/lib/logger.js";
import { type BlockHeader, hashHeader } from "../../runtime/primitives/block.js";
import { bytesToHex, equalsBytes, hexToBytes, ZERO_HASH } from "../../runtime/primitives/bytes.js";
import type { Validator } from "../../runtime/primitives/validatorSet.js";
import { hashValidatorSet } from "../../runtime/primitives/validatorSet.js";
import type { Chain, CommittedBlock } from "../chain/chain.js";
import type { Mempool } from "../mempool/index.js";
import type { Metrics } from "../metrics.js";

export interface BlockProducerOptions {
  /** Fixed interval between blocks (like `anvil --block-time`); undefined = a block as soon as txs wait. */
  blockTimeMs?: number;
  /** In automatic mode, the longest an idle chain waits before an empty block (genesis parameter). */
  emptyBlockIntervalMs: number;
}

export interface BlockProducerModules {
  chain: Chain;
  mempool: Mempool;
  signer: VoteSigner;
  verifier: SignatureVerifier;
  validators: Validator[];
  log: Logger;
  metrics: Metrics | null;
  nowMs?: () => number;
}

/** Reasons a selected tx is left in the pool instead of dropped (it may fit a later block). */
const TRANSIENT_FAILURES = ["block gas limit reached"];
/** Candidates are selected for this many blocks' worth of gas limits (most txs use far less). */
const SELECTION_OVERSHOOT = 2n;
const MIN_TX_GAS = 21_000n;
/** Longest stretch of block execution before yielding to the event loop. */
const EXECUTION_SLICE_MS = 10;

/**
 * The single-validator block pipeline of `azora dev`: the same steps the BFT network runs, with a
 * validator set of one — propose (select and execute), precommit (sign the block hash), commit
 * (+2/3 of the power signed: a commit certificate), persist (one atomic batch), then notify.
 */
export class BlockProducer {
  private readonly opts: BlockProducerOptions;
  private readonly m: BlockProducerModules;
  private readonly nowMs: () => number;
  private readonly validatorIndex: number;
  private readonly validatorsHash: Uint8Array;
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
  private unsubscribe: (() => void) | null = null;
  /** Milliseconds spent in each step of the last block (logged at debug, exported as metrics). */
  phase = { exec: 0, seal: 0, sign: 0, persist: 0, mempool: 0 };

  constructor(opts: BlockProducerOptions, modules: BlockProducerModules) {
    this.opts = opts;
    this.m = modules;
    this.nowMs = modules.nowMs ?? Date.now;
    this.validatorIndex = modules.validators.findIndex((v) => equalsBytes(v.publicKey, modules.signer.publicKey));
    assert(this.validatorIndex >= 0, "the dev signer is in the validator set");
    this.validatorsHash = hashValidatorSet(modules.validators);
    this.lastBlockAtMs = this.nowMs();
  }

  start(): void {
    assert(!this.running, "producer started twice");
    this.running = true;
    this.unsubscribe = this.m.mempool.onPending(() => {
      if (this.opts.blockTimeMs === undefined) this.wake?.();
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

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const interval = this.opts.blockTimeMs ?? this.opts.emptyBlockIntervalMs;
      const waitMs = this.lastBlockAtMs + interval - this.nowMs();
      const txsWaiting = this.opts.blockTimeMs === undefined && this.hasIncludableTxs();
      if (!txsWaiting && waitMs > 0) {
        await this.sleep(waitMs);
        continue;
      }
      try {
        await this.exclusive(() => this.produceBlock());
      } catch (e) {
        // A failure here is a bug or a storage fault; halting is safer than producing on broken state.
        this.m.log.error("block production failed; stopping the producer", {}, e);
        this.running = false;
        throw e;
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
    const baseFeePerGas = nextBaseFee(chain.head.header, chain.spec.fees);
    return this.m.mempool.selectForBlock({ baseFeePerGas, gasLimit: chain.spec.gasLimit, maxTxs: 1 }).length > 0;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
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

  private async produceBlock(): Promise<CommittedBlock> {
    const startedMs = this.nowMs();
    const startedPerf = performance.now();
    const { chain, mempool } = this.m;
    const parent = chain.head;
    const number = parent.header.number + 1n;
    const baseFeePerGas = nextBaseFee(parent.header, chain.spec.fees);
    const proposer = this.m.validators[this.validatorIndex];
    const env = {
      number,
      timestamp: this.nextBlockTimestamp(parent.header),
      gasLimit: chain.spec.gasLimit,
      baseFeePerGas,
      miner: proposer.feeRecipient,
      parentHash: parent.hash,
    };

    // Propose: select by price and nonce, execute while building (the header commits to the result).
    // Selection reserves each tx's gas *limit*; execution charges gas *used*, so select a
    // generous superset and let the block's real gas decide where it ends.
    const exec = await BlockExecution.begin(chain.headVM, chain.headState, chain.common, env);
    const included: string[] = [];
    const senders = new Set<string>();
    const skippedSenders = new Set<string>();
    const candidates = mempool.selectForBlock({ baseFeePerGas, gasLimit: env.gasLimit * SELECTION_OVERSHOOT });
    let sliceStartedMs = performance.now();
    for (const ptx of candidates) {
      if (exec.gasUsedSoFar + MIN_TX_GAS > env.gasLimit) break;
      // Once one tx of a sender is left out, its later nonces cannot run in this block.
      if (skippedSenders.has(ptx.sender)) continue;
      const r = await exec.apply(ptx.tx, ptx.tx.getSenderAddress(), ptx.raw);
      if (r.included) {
        included.push(ptx.hash);
        senders.add(ptx.sender);
      } else {
        skippedSenders.add(ptx.sender);
        if (!TRANSIENT_FAILURES.includes(r.reason)) mempool.drop(ptx.hash, r.reason);
      }
      // Execution is synchronous CPU work: let RPC requests in between slices of it.
      if (performance.now() - sliceStartedMs > EXECUTION_SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStartedMs = performance.now();
      }
    }
    const tExec = performance.now();
    const executed = await exec.seal();
    const tSeal = performance.now();

    const lastCommit = number === 1n ? new Uint8Array(0) : ((await chain.db.getCommit(parent.header.number)) ?? null);
    assert(lastCommit !== null, "parent commit certificate is stored");
    const header: BlockHeader = {
      parentHash: parent.hash,
      number,
      timestamp: env.timestamp,
      stateRoot: executed.stateRoot,
      transactionsRoot: executed.transactionsRoot,
      receiptsRoot: executed.receiptsRoot,
      logsBloom: executed.logsBloom,
      gasLimit: env.gasLimit,
      gasUsed: executed.gasUsed,
      baseFeePerGas,
      miner: proposer.feeRecipient,
      proposer: proposer.address,
      validatorsHash: this.validatorsHash,
      lastCommitHash: lastCommit.length === 0 ? ZERO_HASH : hashCommit(lastCommit),
    };
    const hash = hashHeader(header);

    // Precommit and commit: the sole validator holds all the power, so its signature is +2/3.
    const commit: CommitCertificate = {
      height: number,
      round: 0,
      blockHash: hash,
      signatures: [
        {
          validatorIndex: this.validatorIndex,
          signature: this.m.signer.sign(voteSignBytes(chain.spec.chainId, VoteType.Precommit, number, 0, hash)),
        },
      ],
    };
    verifyCommit(
      commit,
      { chainId: chain.spec.chainId, height: number, blockHash: hash, validators: this.m.validators },
      this.m.verifier,
    );

    // Persist and notify.
    const block: CommittedBlock = {
      header,
      hash,
      body: { transactions: executed.transactions, lastCommit, evidence: [] },
      receipts: executed.receipts,
      txHashes: included.map((h) => hexToBytes(h as `0x${string}`)),
    };
    const tSign = performance.now();
    await chain.commitBlock(block, encodeCommit(commit));
    const tCommit = performance.now();
    mempool.removeIncluded(included);
    await mempool.onNewHead({ senders });
    const tDone = performance.now();
    this.phase = {
      exec: tExec - startedPerf,
      seal: tSeal - tExec,
      sign: tSign - tSeal,
      persist: tCommit - tSign,
      mempool: tDone - tCommit,
    };
    this.lastBlockAtMs = this.nowMs();
    const ms = this.lastBlockAtMs - startedMs;
    this.m.metrics?.blockCommitted(block, ms / 1000);
    this.m.log.debug("committed block", {
      number: number.toString(),
      txs: included.length,
      hash: bytesToHex(hash),
      ms,
      phase: this.phase,
    });
    return block;
  }
}
