import { createTxFromRLP, type TypedTransaction } from "@ethereumjs/tx";
import { Address } from "@ethereumjs/util";
import { decodeCommit, hashCommit, verifyCommit } from "../../consensus/commit.js";
import { type SignatureVerifier, voteSignBytes } from "../../consensus/vote.js";
import { type DuplicateVoteEvidence, decodeEvidence, isConflictingPair } from "../../consensus/wire.js";
import type { BlockInfo } from "../../runtime/effects.js";
import { BlockExecution, type ExecutedBlock } from "../../runtime/executor.js";
import { nextBaseFee } from "../../runtime/fees.js";
import { assert } from "../../runtime/lib/assert.js";
import type { Logger } from "../../runtime/lib/logger.js";
import { type Block, type BlockHeader, hashEvidence, hashHeader } from "../../runtime/primitives/block.js";
import { bytesToHex, equalsBytes, hexToBytes, ZERO_HASH } from "../../runtime/primitives/bytes.js";
import { keccak256 } from "../../runtime/primitives/hash.js";
import type { Validator } from "../../runtime/primitives/validatorSet.js";
import type { Chain, CommittedBlock } from "../chain/chain.js";
import { withKnownSender } from "../mempool/decode.js";
import { type FastDecodedTx, tryFastDecode } from "../mempool/fastDecode.js";
import type { Mempool } from "../mempool/index.js";
import type { TxStageClock } from "../txStages.js";

/** Candidates are selected for this many blocks' worth of gas limits (most txs use far less). */
const SELECTION_OVERSHOOT = 2n;
const MIN_TX_GAS = 21_000n;
/** Longest stretch of block execution before yielding to the event loop (RPC stays responsive). */
const EXECUTION_SLICE_MS = 10;
/** A proposal's timestamp may run ahead of this node's clock by at most this much. */
const MAX_FUTURE_DRIFT_SECONDS = 30n;
/** Reasons a selected tx is left in the pool instead of dropped (it may fit a later block). */
const TRANSIENT_FAILURES = ["block gas limit reached"];
/** Evidence items kept for inclusion, and the most one block carries. */
const MAX_PENDING_EVIDENCE = 64;
const MAX_EVIDENCE_PER_BLOCK = 16;
/** Transactions decoded ahead (`rememberDecoded`) kept at most: a few responses of full blocks; oldest dropped. */
const MAX_PREDECODED = 32_768;

export interface ExecutedProposal {
  block: Block;
  hash: Uint8Array;
  executed: ExecutedBlock;
  /** Mempool hashes and senders of the included txs (builder only). */
  txHashes: Uint8Array[];
  senders: Set<string>;
}

export type ProcessResult = { valid: true; hash: Uint8Array } | { valid: false; reason: string };

/**
 * The application side of consensus (CometBFT's ABCI PrepareProposal / ProcessProposal /
 * FinalizeBlock): builds a proposal by executing it, validates a peer's proposal by executing it,
 * and persists the decided block. At most one execution is open at a time on the head state;
 * executing another block first aborts it, and only the decided block is committed.
 */
export class ChainApp {
  private open: (ExecutedProposal & { exec: BlockExecution }) | null = null;
  /** Verified equivocation evidence waiting to be included in a block (bounded, deduplicated). */
  private readonly pendingEvidence = new Map<string, Uint8Array>();
  private readonly committedEvidence = new Set<string>();
  /** Transactions block sync decoded on its worker (senders recovered), by hex keccak of their raw bytes. */
  private readonly predecoded = new Map<string, FastDecodedTx>();

  constructor(
    private readonly m: {
      chain: Chain;
      mempool: Mempool;
      verifier: SignatureVerifier;
      log: Logger;
      nowSeconds?: () => bigint;
      /** Dev mode: senders whose transactions may come from a contract account (impersonation). */
      isImpersonated?: (sender: string) => boolean;
      /**
       * Dev mode: the dev key stays the only validator. Validator updates the staking module reports are
       * kept in its state but not applied to consensus: a validator created on a dev chain would
       * otherwise take the voting power from the one node that signs, and the chain would stop.
       */
      fixedValidators?: boolean;
      /** Adds execution, seal and persist times to the node's per-stage figures. */
      stages?: TxStageClock;
    },
  ) {}

  /** Lets RPC requests run mid-block; their CPU counts to no block stage. */
  private yieldToEventLoop(): Promise<void> {
    const wait = () => new Promise<void>((resolve) => setImmediate(resolve));
    return this.m.stages === undefined ? wait() : this.m.stages.outside(wait);
  }

  /** `fn`, timed as `stage` when the node keeps per-stage figures. */
  private timed<T>(stage: "execution" | "seal" | "persist", fn: () => Promise<T>): Promise<T> {
    return this.m.stages === undefined ? fn() : this.m.stages.time(stage, fn);
  }

  private now(): bigint {
    return this.m.nowSeconds?.() ?? BigInt(Math.floor(Date.now() / 1000));
  }

  private async dropOpen(): Promise<void> {
    if (this.open !== null) {
      const { exec } = this.open;
      this.open = null;
      await exec.abort();
    }
  }

  /**
   * The header fields every block at the next height shares (all but the proposer's): gas limit and
   * fee rules are the parameters in force at that height, the validators those it settled.
   */
  private nextEnvBase() {
    const { chain } = this.m;
    const parent = chain.head;
    const number = parent.header.number + 1n;
    const params = chain.params.at(number);
    const validators = chain.validators.at(number);
    assert(validators !== undefined, "the validators of the next height are settled");
    return {
      parent,
      number,
      params,
      validators,
      baseFeePerGas: nextBaseFee(parent.header, params.fees),
      gasLimit: params.gasLimit,
    };
  }

  /**
   * What the modules' end-block hooks learn about the block (runtime/effects.ts): its validators, its
   * proposer, who signed the commit it carries for the parent, the equivocations it records.
   */
  private async blockInfo(
    block: { proposer: Uint8Array; lastCommit: Uint8Array; evidence: readonly Uint8Array[] },
    env: ReturnType<ChainApp["nextEnvBase"]>,
  ): Promise<BlockInfo> {
    const lastCommit: { validator: Validator; signed: boolean }[] = [];
    if (block.lastCommit.length > 0) {
      const parentValidators = this.m.chain.validators.validators(env.number - 1n);
      assert(parentValidators !== null, "the parent's validators are in memory");
      const signers = new Set(decodeCommit(block.lastCommit).signatures.map((x) => x.validatorIndex));
      for (const [i, validator] of parentValidators.entries()) lastCommit.push({ validator, signed: signers.has(i) });
    }
    const misbehavior: { validator: Validator; height: bigint; time?: bigint }[] = [];
    for (const raw of block.evidence) {
      const e = decodeEvidence(raw);
      const validator = (await this.m.chain.validatorsAt(e.a.height))?.[e.a.validatorIndex];
      // The time of the block at the double-signed height (staking ignores evidence older than its
      // unbonding period); evidence may name the height being decided, which has no block yet.
      const time = (await this.m.chain.getHeaderByNumber(e.a.height))?.header.timestamp;
      if (validator !== undefined) misbehavior.push({ validator, height: e.a.height, time });
    }
    return {
      validators: env.validators.validators,
      proposer: block.proposer,
      lastCommit,
      misbehavior,
      params: env.params,
    };
  }

  /**
   * Proposer: selects by price and nonce, executes while building (the header commits to the
   * result), and keeps the execution open until the block is decided or dropped.
   */
  async buildProposal(opts: {
    proposer: Validator;
    timestamp: bigint;
    lastCommit: Uint8Array;
    /**
     * Wall-clock budget for executing transactions (ms). The other validators wait only
     * `timeoutPropose` for the proposal: a proposer that fills a block from a deep backlog for
     * longer than that makes every round fail, and the backlog grows (the chain stalled for
     * seconds at 400 tx/s before this). Leaving txs for the next block is always valid.
     */
    budgetMs?: number;
    /** Dev mode (`anvil_setNextBlockBaseFeePerGas`): this block's base fee instead of the computed one. */
    baseFeePerGas?: bigint;
  }): Promise<ExecutedProposal> {
    await this.dropOpen();
    const { chain, mempool } = this.m;
    const base = this.nextEnvBase();
    const { parent, number, gasLimit } = base;
    const baseFeePerGas = opts.baseFeePerGas ?? base.baseFeePerGas;
    const timestamp = opts.timestamp < parent.header.timestamp ? parent.header.timestamp : opts.timestamp;
    const env = {
      number,
      timestamp,
      gasLimit,
      baseFeePerGas,
      miner: opts.proposer.feeRecipient,
      parentHash: parent.hash,
    };
    const exec = await BlockExecution.begin(chain.headVM, chain.headState, chain.common, env);
    const txHashes: Uint8Array[] = [];
    const senders = new Set<string>();
    const skippedSenders = new Set<string>();
    let sliceStarted = performance.now();
    const deadline = opts.budgetMs === undefined ? Number.POSITIVE_INFINITY : sliceStarted + opts.budgetMs;
    // Timed per block (a CPU-time read costs microseconds); the mid-block yields count to no stage.
    await this.timed("execution", async () => {
      for (const ptx of mempool.selectForBlock({ baseFeePerGas, gasLimit: gasLimit * SELECTION_OVERSHOOT })) {
        if (exec.gasUsedSoFar + MIN_TX_GAS > gasLimit) break;
        if (performance.now() > deadline) break;
        // Once one tx of a sender is left out, its later nonces cannot run in this block.
        if (skippedSenders.has(ptx.sender)) continue;
        // The pool's lazy ethereumjs object: a plain value transfer runs without it (BlockExecution.apply).
        const r = await exec.apply(() => ptx.tx, new Address(hexToBytes(ptx.sender as `0x${string}`)), ptx.raw, {
          allowContractSender: this.m.isImpersonated?.(ptx.sender) === true,
        });
        if (r.included) {
          txHashes.push(hexToBytes(ptx.hash as `0x${string}`)); // keccak256 of the raw bytes, from decoding
          senders.add(ptx.sender);
        } else {
          skippedSenders.add(ptx.sender);
          if (!TRANSIENT_FAILURES.includes(r.reason)) mempool.drop(ptx.hash, r.reason);
        }
        if (performance.now() - sliceStarted > EXECUTION_SLICE_MS) {
          await this.yieldToEventLoop();
          sliceStarted = performance.now();
        }
      }
    });
    const evidence = await this.evidenceForBlock();
    const info = await this.blockInfo({ proposer: opts.proposer.address, lastCommit: opts.lastCommit, evidence }, base);
    const executed = await this.timed("seal", () => exec.seal(info));
    const header: BlockHeader = {
      parentHash: parent.hash,
      number,
      timestamp,
      stateRoot: executed.stateRoot,
      transactionsRoot: executed.transactionsRoot,
      receiptsRoot: executed.receiptsRoot,
      logsBloom: executed.logsBloom,
      gasLimit,
      gasUsed: executed.gasUsed,
      baseFeePerGas,
      miner: opts.proposer.feeRecipient,
      proposer: opts.proposer.address,
      validatorsHash: base.validators.hash,
      lastCommitHash: opts.lastCommit.length === 0 ? ZERO_HASH : hashCommit(opts.lastCommit),
      evidenceHash: hashEvidence(evidence),
    };
    const block: Block = {
      header,
      body: { transactions: executed.transactions, lastCommit: opts.lastCommit, evidence },
    };
    const proposal = { block, hash: hashHeader(header), executed, txHashes, senders, exec };
    this.open = proposal;
    return proposal;
  }

  /**
   * Validator: checks a proposal against the chain (parent, number, time, fees, proposer, validator
   * set, the parent's commit certificate), executes it and compares every root. A block whose
   * roots do not match is never voted for. The execution stays open for `finalize`.
   */
  async processProposal(block: Block, expectedProposer: Validator): Promise<ProcessResult> {
    const hash = hashHeader(block.header);
    if (this.open !== null && equalsBytes(this.open.hash, hash)) return { valid: true, hash };
    await this.dropOpen();
    const { chain } = this.m;
    const h = block.header;
    const base = this.nextEnvBase();
    const { parent, number, baseFeePerGas, gasLimit } = base;
    const fail = (reason: string): ProcessResult => ({ valid: false, reason });
    if (!equalsBytes(h.parentHash, parent.hash) || h.number !== number) return fail("not on top of the head");
    if (h.timestamp < parent.header.timestamp) return fail("timestamp before the parent's");
    if (h.timestamp > this.now() + MAX_FUTURE_DRIFT_SECONDS) return fail("timestamp too far in the future");
    if (h.baseFeePerGas !== baseFeePerGas || h.gasLimit !== gasLimit) return fail("wrong base fee or gas limit");
    if (!equalsBytes(h.proposer, expectedProposer.address) || !equalsBytes(h.miner, expectedProposer.feeRecipient)) {
      return fail("wrong proposer or fee recipient");
    }
    if (!equalsBytes(h.validatorsHash, base.validators.hash)) return fail("wrong validator set");
    if (block.body.evidence.length > MAX_EVIDENCE_PER_BLOCK) return fail("too much evidence");
    if (!equalsBytes(h.evidenceHash, hashEvidence(block.body.evidence))) return fail("evidenceHash mismatch");
    const evidenceKeys = new Set<string>();
    for (const e of block.body.evidence) {
      const why = await this.checkEvidence(e);
      if (why !== null) return fail(`invalid evidence: ${why}`);
      const key = evidenceKey(e);
      if (evidenceKeys.has(key)) return fail("invalid evidence: recorded twice");
      evidenceKeys.add(key);
    }
    const lastCommitOk = this.checkLastCommit(block);
    if (lastCommitOk !== null) return fail(lastCommitOk);

    const env = { number, timestamp: h.timestamp, gasLimit, baseFeePerGas, miner: h.miner, parentHash: parent.hash };
    const exec = await BlockExecution.begin(chain.headVM, chain.headState, chain.common, env);
    let reason: string | null = null;
    let sliceStarted = performance.now();
    const txHashes: Uint8Array[] = [];
    await this.timed("execution", async () => {
      for (const raw of block.body.transactions) {
        const hash = keccak256(raw);
        txHashes.push(hash);
        // A tx this node already holds was decoded and its sender recovered on admission: the same
        // bytes (equal hash) are the same tx, so skip the second decode and ecrecover.
        const key = bytesToHex(hash);
        const pooled = this.m.mempool.get(key);
        let tx: TypedTransaction | (() => TypedTransaction);
        let sender: Address;
        const fast =
          pooled === undefined ? (this.takeDecoded(key) ?? tryFastDecode(raw, chain.spec.chainId)) : undefined;
        if (pooled !== undefined) {
          tx = pooled.tx;
          sender = tx.getSenderAddress();
        } else if (fast !== undefined) {
          // A tx this node never saw (a synced block's, a peer's proposal): the mempool's fast decoder
          // accepts only what ethereumjs accepts, with the same sender (its differential test), and reads
          // the fields from `raw`, so a value transfer never builds the ethereumjs object; anything it
          // does not accept is decoded below exactly as before, and fails there when it is bad.
          sender = new Address(fast.sender);
          tx = () => withKnownSender(raw, chain.common, hash, fast.sender);
        } else {
          try {
            tx = createTxFromRLP(raw, { common: chain.common });
            sender = tx.getSenderAddress();
          } catch {
            reason = "undecodable transaction";
            break;
          }
        }
        const r = await exec.apply(tx, sender, raw);
        if (!r.included) {
          reason = `invalid transaction: ${r.reason}`;
          break;
        }
        if (performance.now() - sliceStarted > EXECUTION_SLICE_MS) {
          await this.yieldToEventLoop();
          sliceStarted = performance.now();
        }
      }
    });
    if (reason !== null) {
      await exec.abort();
      return fail(reason);
    }
    const info = await this.blockInfo(
      { proposer: h.proposer, lastCommit: block.body.lastCommit, evidence: block.body.evidence },
      base,
    );
    const executed = await this.timed("seal", () => exec.seal(info));
    const matches =
      executed.gasUsed === h.gasUsed &&
      equalsBytes(executed.stateRoot, h.stateRoot) &&
      equalsBytes(executed.transactionsRoot, h.transactionsRoot) &&
      equalsBytes(executed.receiptsRoot, h.receiptsRoot) &&
      equalsBytes(executed.logsBloom, h.logsBloom);
    if (!matches) {
      await exec.abort();
      return fail("execution result does not match the header");
    }
    this.open = { block, hash, executed, txHashes, senders: new Set(), exec };
    return { valid: true, hash };
  }

  /**
   * Block sync: transactions of blocks it fetched, decoded by the fast decoder on its worker (their senders
   * recovered there, off this thread). `processProposal` takes an entry for the raw bytes whose keccak it is
   * keyed by, i.e. the same bytes the fast decoder would decode here to the same result; the rest is decoded in
   * its turn as before. Bounded: the oldest entries go first.
   */
  rememberDecoded(txs: readonly FastDecodedTx[]): void {
    for (const tx of txs) this.predecoded.set(bytesToHex(tx.hash), tx);
    for (const key of this.predecoded.keys()) {
      if (this.predecoded.size <= MAX_PREDECODED) break;
      this.predecoded.delete(key);
    }
  }

  private takeDecoded(key: string): FastDecodedTx | undefined {
    const tx = this.predecoded.get(key);
    if (tx !== undefined) this.predecoded.delete(key);
    return tx;
  }

  /** null when `encoded` proves a validator of its height signed two different votes at one height/round/type. */
  private async checkEvidence(encoded: Uint8Array): Promise<string | null> {
    let e: DuplicateVoteEvidence;
    try {
      e = decodeEvidence(encoded);
    } catch {
      return "undecodable";
    }
    if (!isConflictingPair(e)) return "votes do not conflict";
    if (e.a.height > this.m.chain.head.header.number + 1n) return "evidence from the future";
    const v = (await this.m.chain.validatorsAt(e.a.height))?.[e.a.validatorIndex];
    if (v === undefined) return "unknown validator";
    for (const vote of [e.a, e.b]) {
      const msg = voteSignBytes(this.m.chain.spec.chainId, vote.type, vote.height, vote.round, vote.blockHash);
      if (!this.m.verifier.verify(v.publicKey, msg, vote.signature)) return "bad signature";
    }
    return null;
  }

  /** null when the block carries a valid certificate for its parent (nothing at height 1). */
  private checkLastCommit(block: Block): string | null {
    const { chain } = this.m;
    const parent = chain.head;
    if (parent.header.number === 0n) {
      return block.body.lastCommit.length === 0 && equalsBytes(block.header.lastCommitHash, ZERO_HASH)
        ? null
        : "height 1 carries no last commit";
    }
    if (!equalsBytes(block.header.lastCommitHash, hashCommit(block.body.lastCommit))) return "lastCommitHash mismatch";
    try {
      const c = decodeCommit(block.body.lastCommit);
      const validators = chain.validators.validators(parent.header.number);
      assert(validators !== null, "the parent's validators are in memory");
      verifyCommit(
        c,
        { chainId: chain.spec.chainId, height: parent.header.number, blockHash: parent.hash, validators },
        this.m.verifier,
      );
      return null;
    } catch (e) {
      return `invalid last commit: ${(e as Error).message}`;
    }
  }

  /**
   * Persists the decided block with its commit certificate (one atomic batch) and updates the
   * mempool. The block is executed first if this node has not executed it (e.g. it missed the
   * proposal and learned the decision from peers).
   */
  async finalize(block: Block, commit: Uint8Array, expectedProposer: Validator): Promise<CommittedBlock> {
    const hash = hashHeader(block.header);
    if (this.open === null || !equalsBytes(this.open.hash, hash)) {
      const r = await this.processProposal(block, expectedProposer);
      if (!r.valid) throw new Error(`decided block ${bytesToHex(hash)} does not execute: ${r.reason}`);
    }
    const open = this.open;
    assert(open !== null && equalsBytes(open.hash, hash), "the decided block is the open execution");
    this.open = null;
    const committed: CommittedBlock = {
      header: block.header,
      hash,
      body: block.body,
      receipts: open.executed.receipts,
      txHashes: open.txHashes,
    };
    const { effects } = open.executed;
    const applied = this.m.fixedValidators === true ? { ...effects, validatorUpdates: [] } : effects;
    await this.timed("persist", async () => {
      await open.exec.commit();
      await this.m.chain.commitBlock(committed, commit, applied);
    });
    for (const e of block.body.evidence) {
      const key = evidenceKey(e);
      this.pendingEvidence.delete(key);
      this.committedEvidence.add(key);
    }
    const { mempool } = this.m;
    mempool.removeIncluded(open.txHashes.map((h) => bytesToHex(h)));
    // What the block changed: its senders (the receipts name them, the builder's set adds nothing
    // new but costs nothing) and every account its execution wrote.
    const accounts = new Set(open.executed.writtenAccounts);
    for (const s of open.senders) accounts.add(s);
    for (const r of open.executed.receipts) accounts.add(bytesToHex(r.from));
    await mempool.onNewHead({ accounts });
    return committed;
  }

  /**
   * Queues verified evidence (an encoded DuplicateVoteEvidence) for the next proposals; it is
   * recorded on chain in the next block this node proposes, and accepted in others' blocks.
   */
  addEvidence(encoded: Uint8Array): void {
    const key = evidenceKey(encoded);
    if (this.committedEvidence.has(key) || this.pendingEvidence.has(key)) return;
    if (this.pendingEvidence.size >= MAX_PENDING_EVIDENCE) return;
    this.pendingEvidence.set(key, encoded);
  }

  /** Pending evidence for a block this node builds: still valid, at most MAX_EVIDENCE_PER_BLOCK. */
  private async evidenceForBlock(): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const [key, e] of [...this.pendingEvidence]) {
      if (out.length >= MAX_EVIDENCE_PER_BLOCK) break;
      if ((await this.checkEvidence(e)) === null) out.push(e);
      else this.pendingEvidence.delete(key);
    }
    return out;
  }

  get evidenceCount(): number {
    return this.pendingEvidence.size;
  }

  /** Drops any open execution (shutdown, or a height abandoned for block sync). */
  async reset(): Promise<void> {
    await this.dropOpen();
  }
}

/**
 * One equivocation, whoever reported it and in whichever vote order: validator, height, round and
 * vote type (nodes that saw the two votes in a different order encode different bytes for it).
 */
function evidenceKey(encoded: Uint8Array): string {
  try {
    const { a } = decodeEvidence(encoded);
    return `${a.validatorIndex}/${a.height}/${a.round}/${a.type}`;
  } catch {
    return bytesToHex(keccak256(encoded));
  }
}
