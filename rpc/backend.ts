import type { TypedTransaction } from "@ethereumjs/tx";
import type { BlockHeader } from "../runtime/primitives/block.js";
import type { Log, Receipt } from "../runtime/primitives/receipt.js";
import type { PlannedBlock } from "./simulate.js";
import type { TraceCallRequest, TraceRequest } from "./trace.js";
import type {
  AccessListEntry,
  BlockTagOrHash,
  CallRequest,
  FilterCriteria,
  RequestBudget,
  StateOverride,
} from "./types.js";

/**
 * What the Ethereum JSON-RPC methods need from a node. The interface lives with its consumer
 * (rpc/); `node/` implements it. Everything returned is committed (final) data, except where a
 * method says "pending".
 */
export interface BlockRef {
  header: BlockHeader;
  hash: Uint8Array;
}

export interface TxView {
  tx: TypedTransaction;
  hash: Uint8Array;
  from: Uint8Array;
  /**
   * The recipient when the backend can tell it without decoding `tx` (null: a contract creation);
   * undefined: read `tx.to`. A receipt needs no other field of the transaction.
   */
  to?: Uint8Array | null;
  /** Present once included in a block. */
  location?: {
    blockHash: Uint8Array;
    blockNumber: bigint;
    blockTimestamp: bigint;
    index: number;
    baseFeePerGas: bigint;
  };
}

export interface BlockWithTxs extends BlockRef {
  transactions: TxView[];
  /** Encoded size in bytes (header + body). */
  size: number;
}

/** A log with its position, as eth_getLogs and subscriptions return it. */
export interface LogView {
  log: Log;
  blockNumber: bigint;
  blockHash: Uint8Array;
  transactionHash: Uint8Array;
  transactionIndex: number;
  /** Index of the log within its block. */
  logIndex: number;
}

export interface ReceiptView {
  receipt: Receipt;
  tx: TxView;
  blockHash: Uint8Array;
  blockNumber: bigint;
  transactionIndex: number;
  /** Block-wide index of this receipt's first log. */
  firstLogIndex: number;
}

export interface AccountState {
  nonce: bigint;
  balance: bigint;
  codeHash: Uint8Array;
  storageRoot: Uint8Array;
}

export interface CallOutcome {
  /** Return data, or revert data when `reverted`. */
  returnValue: Uint8Array;
  reverted: boolean;
  /** Set when execution failed for another reason than REVERT (out of gas, invalid opcode, …). */
  error?: string;
  gasUsed: bigint;
}

export interface AccessListResult {
  accessList: AccessListEntry[];
  gasUsed: bigint;
  /** Why the run with the returned list failed (`execution reverted`, `out of gas`, …). */
  error?: string;
}

export interface AccountProof {
  address: string;
  balance: bigint;
  nonce: bigint;
  codeHash: string;
  storageHash: string;
  accountProof: string[];
  storageProof: { key: string; value: bigint; proof: string[] }[];
}

export interface FeeHistory {
  oldestBlock: bigint;
  baseFeePerGas: bigint[];
  gasUsedRatio: number[];
  reward?: bigint[][];
}

export interface SimulateOptions {
  validation: boolean;
  returnFullTransactions: boolean;
}

/** One fork's configuration as EIP-7910 (eth_config) describes it. */
export interface ForkConfig {
  /** Unix seconds at which it activated; 0 for a fork active since genesis. */
  activationTime: number;
  chainId: bigint;
  /** EIP-6122 FORK_HASH (4 bytes): CRC32 of the genesis hash and the activations past genesis. */
  forkId: Uint8Array;
  blobSchedule: { target: number; max: number; baseFeeUpdateFraction: number };
  /** Precompile name → address, native modules included. */
  precompiles: Record<string, Uint8Array>;
  /** System contract name → address (the ones the block processing calls). */
  systemContracts: Record<string, Uint8Array>;
}

export interface NodeStatus {
  [key: string]: unknown;
}

export interface EthBackend {
  readonly chainId: bigint;
  readonly clientVersion: string;

  headNumber(): bigint;
  /** undefined for an unknown hash or a number above the head. "pending" resolves to the head. */
  resolveBlock(selector: BlockTagOrHash): Promise<BlockRef | undefined>;
  getBlockWithTxs(ref: BlockRef): Promise<BlockWithTxs>;
  getReceipts(ref: BlockRef): Promise<ReceiptView[]>;
  /** A committed transaction, or a pooled one (no `location`). */
  getTransaction(hash: Uint8Array): Promise<TxView | undefined>;
  getReceipt(hash: Uint8Array): Promise<ReceiptView | undefined>;

  getAccount(ref: BlockRef, address: Uint8Array): Promise<AccountState>;
  getCode(ref: BlockRef, address: Uint8Array): Promise<Uint8Array>;
  getStorage(ref: BlockRef, address: Uint8Array, slot: Uint8Array): Promise<Uint8Array>;
  getProof(ref: BlockRef, address: Uint8Array, slots: Uint8Array[]): Promise<AccountProof>;
  /** Next nonce including pooled executable transactions. */
  pendingNonce(address: Uint8Array): Promise<bigint>;

  // Simulations run off the consensus thread, each within the gas cap and the EVM time budget;
  // `budget` bounds how long the request may wait for a free simulation slot.
  call(ref: BlockRef, req: CallRequest, overrides?: StateOverride, budget?: RequestBudget): Promise<CallOutcome>;
  /** Smallest gas limit with which `req` succeeds; throws ExecutionRevertedError / RPCError. */
  estimateGas(ref: BlockRef, req: CallRequest, overrides?: StateOverride, budget?: RequestBudget): Promise<bigint>;
  createAccessList(ref: BlockRef, req: CallRequest, budget?: RequestBudget): Promise<AccessListResult>;
  /**
   * eth_simulateV1 (geth's semantics): `blocks` (from `planBlocks`) run on `base`'s state; the answer's JSON text.
   * Throws SimulationError with the spec's codes for a block or call it refuses.
   */
  simulateV1(base: BlockRef, blocks: PlannedBlock[], opts: SimulateOptions, budget?: RequestBudget): Promise<string>;
  /** eth_config (EIP-7910): the fork configuration the node runs. */
  forkConfig(): Promise<ForkConfig>;

  /** Validates and pools a signed transaction; throws TxRejectedError with geth's message. */
  sendRawTransaction(raw: Uint8Array): Promise<Uint8Array>;

  /** Base fee of the next block. */
  nextBaseFee(): bigint;
  /** Priority fee suggested to wallets. */
  suggestedTip(): bigint;
  feeHistory(blockCount: number, newest: BlockRef, rewardPercentiles: number[] | undefined): Promise<FeeHistory>;

  /**
   * Matching logs in [from, to] (inclusive) or in one block; throws LimitExceededError past the
   * result cap, and charges `budget` for the response it is about to build as it collects.
   */
  getLogs(
    query: { fromBlock: bigint; toBlock: bigint } | { blockHash: Uint8Array },
    filter: LogFilter,
    budget?: RequestBudget,
  ): Promise<LogView[]>;

  onNewBlock(listener: (block: BlockRef, logs: LogView[]) => void): () => void;
  /**
   * Each transaction the pool accepts, by its hash as lowercase 0x hex — the form both consumers
   * (filters, subscriptions) answer in, so a submission pays for no conversion when nobody listens.
   */
  onPendingTransaction(listener: (hash: string) => void): () => void;

  status(): Promise<NodeStatus>;
  peerCount(): number;
  /**
   * Dev mode's history rewriting (`evm_revert`, `anvil_reset`): the chain went back to `head`, and
   * blocks above it are gone. Filters restart from there. Never called outside dev mode.
   */
  onRewind?(listener: (head: BlockRef) => void): () => void;
  /** debug_trace*; undefined where the node does not trace. */
  readonly trace?: TraceBackend;
}

/**
 * Traces, as JSON text (built off the consensus thread, within the node's trace byte cap and time
 * budget, a few at a time node-wide). Throws RPCErrors with geth's messages.
 */
export interface TraceBackend {
  /** undefined when the hash names no mined transaction. */
  traceTransaction(hash: Uint8Array, request: TraceRequest, budget?: RequestBudget): Promise<string | undefined>;
  /** `[{txHash, result}, …]` for every transaction of the block. */
  traceBlock(ref: BlockRef, request: TraceRequest, budget?: RequestBudget): Promise<string>;
  traceCall(ref: BlockRef, req: CallRequest, request: TraceCallRequest, budget?: RequestBudget): Promise<string>;
}

export interface LogFilter {
  /** Lowercase 0x addresses; empty = any. */
  addresses: Uint8Array[];
  /** Per position: null = any, else a set of acceptable topics (OR). */
  topics: (Uint8Array[] | null)[];
}

export type { CallRequest, FilterCriteria, StateOverride };
