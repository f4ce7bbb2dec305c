import type { Block } from "../../runtime/primitives/block.js";
import type { Validator } from "../../runtime/primitives/validatorSet.js";
import type { TimeoutParams } from "../core/types.js";
import type { ValidatorSet } from "../core/validatorSet.js";
import type { ValidatorSchedule } from "../validatorSchedule.js";

/**
 * The consensus driver's ports: everything it needs from the world, and nothing else. node/ passes
 * LevelDB, libp2p, the WAL and signer files and the wall clock (node/consensus/adapters.ts);
 * test/sim/ passes a virtual clock, a simulated network, in-memory WAL and signer that survive a
 * simulated crash, and a deterministic app. The driver never reads a clock, sets a timer or does I/O
 * except through these.
 */

/** Time and timers. `nowMs` is monotonic enough for intervals; block timestamps come from it too. */
export interface ClockPort {
  nowMs(): number;
  /** Calls `fn` once after `ms`; the returned function cancels it (a no-op once fired). */
  setTimer(ms: number, fn: () => void): () => void;
}

export type ConsensusTopic = "proposal" | "vote" | "evidence";

/** Sending consensus messages. Receiving: the network calls `ConsensusDriver.receive`. */
export interface NetworkPort {
  /** Gossip to every peer (relayed by peers that accept it). */
  publish(topic: ConsensusTopic, data: Uint8Array): Promise<void>;
  /** To one peer only (re-sends to a peer that missed messages); delivered to its `receive` like gossip. */
  sendDirect(peer: string, topic: ConsensusTopic, data: Uint8Array): Promise<void>;
  /** Ids of the connected peers. */
  peers(): string[];
}

/** What the network does with a received message: relay it, drop it, or drop it and blame the sender. */
export type InboundVerdict =
  | { action: "accept" }
  | { action: "ignore"; code: string; reason: string }
  | { action: "reject"; code: string; reason: string };

export type ValueVerdict = { valid: true } | { valid: false; reason: string };

/**
 * The application (CometBFT's ABCI PrepareProposal / ProcessProposal / FinalizeBlock): builds and
 * validates blocks by executing them, and commits the decided one. Validator-set and parameter changes
 * the block's execution asks for are the app's to persist with the block; the driver reads their
 * result through `ValidatorSchedulePort` and `ParamsPort` when it enters the next height.
 */
export interface AppPort {
  /** Height of the last committed block. */
  headHeight(): bigint;
  /** The commit certificate stored with committed `height` (the next block carries it), if any. */
  commitAt(height: bigint): Promise<Uint8Array | undefined>;
  /** True when transactions wait for a block (a height starts at once instead of after the empty-block interval). */
  hasPendingWork(): boolean;
  /** Calls `cb` when transactions start waiting; returns the unsubscribe function. */
  onPendingWork(cb: () => void): () => void;
  /** Builds (and executes) this node's block for `height`, spending at most `budgetMs` on transactions. */
  buildValue(req: {
    height: bigint;
    round: number;
    proposer: Validator;
    timestamp: bigint;
    lastCommit: Uint8Array;
    budgetMs: number;
  }): Promise<Block>;
  /** Tendermint's valid(v): checks and executes a peer's block for the next height, named for `proposer`. */
  validateValue(block: Block, proposer: Validator): Promise<ValueVerdict>;
  /**
   * Commits the decided `block` with its encoded commit certificate (executing it first if not done).
   * Rejects only on a local fault (a block with +2/3 of the validators' precommits that does not
   * execute here); the driver then stops.
   */
  finalize(block: Block, commit: Uint8Array, proposer: Validator): Promise<void>;
  /** Verified equivocation evidence for the app to record in a later block. */
  addEvidence(encoded: Uint8Array): void;
  /** Drops any open execution (stop, or a height abandoned for block sync). */
  reset(): Promise<void>;
  /**
   * Why this node must not process `height` (a software upgrade it does not run), or null. Asked
   * before every height; a reason stops the driver before it signs or executes anything there.
   */
  haltReason(height: bigint): string | null;
}

/** The validators of each height, settled by committed blocks (consensus/validators/history.ts). */
export interface ValidatorSchedulePort extends ValidatorSchedule {
  /** The consensus view of a settled height's validators, with its proposer priorities. */
  setAt(height: bigint): ValidatorSet;
}

/** Consensus timing of one height. */
export interface HeightTiming {
  timeouts: TimeoutParams;
  /** A height starts when transactions wait, or after this long without (an idle chain's block rate). */
  emptyBlockIntervalMs: number;
}

/** The chain parameters in force at a height (genesis, then governance changes), as consensus needs them. */
export interface ParamsPort {
  timing(height: bigint): HeightTiming;
}

/** Consensus write-ahead log (node/consensus/wal.ts; the simulator keeps one in memory). */
export interface WALPort {
  /** Appends a record; with `sync`, returns once it is durable. */
  append(record: Uint8Array, opts?: { sync?: boolean }): Promise<void>;
  /** Makes everything appended so far durable. */
  sync(): Promise<void>;
  /** Starts the log of `height` (a no-op for the height already started). */
  startHeight(height: bigint): Promise<void>;
  /** The newest height's records (after a restart). */
  replay(): Promise<{ height: bigint | null; records: Uint8Array[] }>;
}

/** The double-sign guard (node/consensus/signer.ts): refuses (throws) anything that conflicts with what it signed. */
export interface SignerPort {
  readonly publicKey: Uint8Array;
  signVote(
    chainId: bigint,
    type: number,
    height: bigint,
    round: number,
    blockHash: Uint8Array | null,
  ): Promise<Uint8Array>;
  signProposal(
    chainId: bigint,
    height: bigint,
    round: number,
    blockHash: Uint8Array,
    polRound: number,
  ): Promise<Uint8Array>;
  lastSigned(): { height: bigint };
}

/** A block with a verified commit certificate, fetched by block sync. */
export interface SyncedBlock {
  block: Block;
  /** The encoded commit certificate. */
  commit: Uint8Array;
  /** The round of the certificate. */
  round: number;
  /**
   * The validators the certificate was verified against. Sync verifies blocks whose validators are not settled yet
   * (block H settles H + 2) against the newest settled ones, a guess: the block is applied only if the guess verifies
   * commits exactly as its height's validators do (`verifiesCommitsAlike`); else the run stops before it and sync
   * verifies it again. Absent: verified against its height's validators.
   */
  verifiedWith?: readonly Validator[];
}

/** Catching up with peers that are ahead (node/sync/blockSync.ts), beside consensus. */
export interface BlockSyncPort {
  /** True while a sync run fetches or applies blocks (consensus does not start heights meanwhile). */
  readonly active: boolean;
  /** Asks peers whether they are ahead (when a height stalls). */
  poll(): void;
  /** `peer` relayed a verified message from heights ahead: ask it now. */
  hint(peer: string): void;
  stop(): Promise<void>;
}

/**
 * Builds the block sync port once the driver exists: sync hands verified blocks to `apply` (the
 * driver commits them in its input queue) and calls `onIdle` when a run ends.
 */
export type BlockSyncFactory = (hooks: {
  apply(blocks: SyncedBlock[]): Promise<void>;
  onIdle(): void;
}) => BlockSyncPort;

/** What the driver reports (node/metrics.ts implements it with prom-client). */
export interface ConsensusMetrics {
  step(height: bigint, round: number, step: string, nowMs: number): void;
  decided(round: number, validatorCount: number, signers: number[]): void;
  signed(height: bigint): void;
  /** Messages and bytes held for heights above ours (`FutureBuffer`). */
  futureBuffer?(messages: number, bytes: number): void;
}
