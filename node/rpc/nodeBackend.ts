import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { getMerkleStateProof } from "@ethereumjs/statemanager";
import { createTxFromRLP, type TypedTransaction } from "@ethereumjs/tx";
import { Address, createAddressFromString } from "@ethereumjs/util";
import type {
  AccessListResult,
  AccountProof,
  AccountState,
  BlockRef,
  BlockWithTxs,
  CallOutcome,
  EthBackend,
  FeeHistory,
  ForkConfig,
  LogFilter,
  LogView,
  NodeStatus,
  ReceiptView,
  SimulateOptions,
  TraceBackend,
  TxView,
} from "../../rpc/backend.js";
import { LimitExceededError, ServerError, TxRejectedError } from "../../rpc/errors.js";
import { bloomMayMatch, logMatches } from "../../rpc/logFilter.js";
import type { PlannedBlock } from "../../rpc/simulate.js";
import type { BlockTagOrHash, CallRequest, RequestBudget, StateOverride } from "../../rpc/types.js";
import { nextBaseFee } from "../../runtime/fees.js";
import { ByteLRU } from "../../runtime/lib/byteLru.js";
import type { Logger } from "../../runtime/lib/logger.js";
import { LRU } from "../../runtime/lib/lru.js";
import { encodeBody, encodeHeader } from "../../runtime/primitives/block.js";
import { bytesToHex, equalsBytes } from "../../runtime/primitives/bytes.js";
import { CodecError } from "../../runtime/primitives/codecError.js";
import { keccak256 } from "../../runtime/primitives/hash.js";
import type { Chain, CommittedBlock } from "../chain/chain.js";
import { isMempoolError, type Mempool, type ParallelDecoder } from "../mempool/index.js";
import type { Metrics } from "../metrics.js";
import type { StateReaders } from "../state/readers.js";
import { CallResultCache } from "./callCache.js";
import { callKey } from "./callKey.js";
import { azoraForkConfig } from "./forkConfig.js";
import { RecentTxIndex } from "./recentTxs.js";
import { accountFingerprint, slotOfKey } from "./simulation/callReads.js";
import type { SimulationPool } from "./simulation/pool.js";
import { StateWriteLog } from "./stateWrites.js";
import { rawTxRecipient } from "./txRecipient.js";

/** Tip suggested to wallets (eth_maxPriorityFeePerGas); the base fee floor keeps totals low. */
export const SUGGESTED_TIP = 1_000_000_000n;
/** eth_simulateV1 answers at most this many bytes unless told otherwise. */
const DEFAULT_SIMULATE_MAX_BYTES = 25_000_000;
/** eth_getLogs answers at most this many logs (geth's default cap). */
export const DEFAULT_LOGS_MAX_RESULTS = 10_000;

/**
 * Bytes one log takes in a JSON-RPC answer beyond its data and topics (field names, address,
 * hashes, numbers): what eth_getLogs charges the request's budget before formatting it.
 */
const LOG_JSON_OVERHEAD_BYTES = 400;
/** A log query scans blocks for at most this long before letting other work run. */
const LOG_SCAN_SLICE_MS = 5;
const TOPIC_JSON_BYTES = 69;

interface DecodedBlock {
  transactions: TxView[];
  receipts: ReceiptView[];
  size: number;
}

/** The RPC's block caches' bytes when the node does not size them (`cacheShares`). */
export const DEFAULT_BLOCK_CACHE_BYTES = 16 * 1024 * 1024;
/**
 * What a block costs in memory besides its encoded bytes (estimates, Node 20): per transaction its
 * views, the decoded receipt, the receipt's and transaction's JSON text once asked for, and the
 * ethereumjs transaction once decoded (~4 KB together); per log its decoded topics and data.
 */
const TX_VIEW_BYTES = 4096;
const LOG_BYTES = 512;
/** A committed block as handed over (raw transactions, decoded receipts): per transaction. */
const COMMITTED_TX_BYTES = 1024;
/** A block still being read and decoded: weighed again when it is. */
const LOADING_BLOCK_BYTES = 4096;

function logCount(receipts: readonly { logs: readonly unknown[] }[]): number {
  let n = 0;
  for (const r of receipts) n += r.logs.length;
  return n;
}

function decodedBlockBytes(b: DecodedBlock): number {
  const receipts = b.receipts.map((v) => v.receipt);
  return 2 * b.size + TX_VIEW_BYTES * b.transactions.length + LOG_BYTES * logCount(receipts);
}

function committedBlockBytes(b: CommittedBlock): number {
  let raw = 0;
  for (const tx of b.body.transactions) raw += tx.length;
  return raw + COMMITTED_TX_BYTES * b.receipts.length + LOG_BYTES * logCount(b.receipts);
}

export interface NodeBackendModules {
  chain: Chain;
  mempool: Mempool;
  /** State reads at a block (balances, code, storage, proofs); cheap, so on the main thread. */
  readers: StateReaders;
  /** Every EVM simulation runs here, off the main thread. */
  simulations: SimulationPool;
  /** eth_getLogs answers at most this many logs (default 10,000). */
  logsMaxResults?: number;
  log: Logger;
  metrics: Metrics | null;
  clientVersion: string;
  decoder: ParallelDecoder;
  status: () => Promise<NodeStatus>;
  peerCount?: () => number;
  /** debug_trace*. */
  trace?: TraceBackend;
  /** Bytes of one eth_simulateV1 answer at most (the node passes rpc.maxResponseBytes; default 25 MB). */
  simulateMaxBytes?: number;
  /** Called with every transaction the pool accepted from RPC (network mode gossips it). */
  onTxAccepted?: (raw: Uint8Array) => void;
  /** eth_call answers at the head kept across blocks that do not change what they read (default 10,000; 0 = off). */
  callCacheEntries?: number;
  /** Estimated bytes of the decoded and the just-committed blocks kept (default 16 MiB). */
  blockCacheBytes?: number;
}

/** eth_call answers kept at the head by default. */
export const DEFAULT_CALL_CACHE_ENTRIES = 10_000;

/** The node's implementation of the JSON-RPC backend: chain store, state views and mempool. */
export class NodeBackend implements EthBackend {
  readonly chainId: bigint;
  readonly clientVersion: string;
  readonly trace?: TraceBackend;
  private readonly m: NodeBackendModules;
  /** Decoded blocks (three quarters of the block budget), by hash. */
  private readonly blocks: ByteLRU<string, Promise<DecodedBlock>>;
  /** Answers at blocks below the head (or while the head cache moves): per block, keyed by hash and root. */
  private readonly callResults: LRU<string, Promise<CallOutcome>>;
  /** Answers at the head, carried across blocks that did not write what they read. */
  private readonly headCalls: CallResultCache | null;
  private readonly headWrites: StateWriteLog | null;
  /** The last epoch key made, by the identity of its arrays (see `epochKey`). */
  private lastEpoch: { hash: Uint8Array; root: Uint8Array; key: string } | null = null;
  /** The head cache's moves, one at a time. */
  private headCallsMove: Promise<void> = Promise.resolve();
  private config: ForkConfig | undefined;
  /** Where the last blocks' transactions are: receipt polls answered without LevelDB's tx index. */
  private readonly recentTxs = new RecentTxIndex();
  /**
   * The last committed blocks as the chain handed them over: the first read of a new block (block
   * watchers, receipt polls) decodes it from memory instead of reading its body and receipts back.
   */
  private readonly committed: ByteLRU<string, CommittedBlock>;

  constructor(modules: NodeBackendModules) {
    this.m = modules;
    this.chainId = modules.chain.spec.chainId;
    this.clientVersion = modules.clientVersion;
    this.trace = modules.trace;
    const blockBytes = modules.blockCacheBytes ?? DEFAULT_BLOCK_CACHE_BYTES;
    this.blocks = new ByteLRU(Math.floor((blockBytes * 3) / 4));
    this.committed = new ByteLRU(blockBytes - this.blocks.capacityBytes);
    modules.chain.onBlock((b: CommittedBlock) => {
      this.committed.set(bytesToHex(b.hash), b, committedBlockBytes(b));
      this.recentTxs.addBlock(
        b.header.number,
        b.txHashes.map((h) => bytesToHex(h)),
      );
    });
    modules.chain.onRewind((head) => {
      this.recentTxs.rewind(head.header.number);
      this.headCalls?.reset();
    });
    const entries = modules.callCacheEntries ?? DEFAULT_CALL_CACHE_ENTRIES;
    // With the head cache off, head answers are cached here too, as many as it would keep.
    this.callResults = new LRU(entries > 0 ? 1_000 : DEFAULT_CALL_CACHE_ENTRIES);
    const metrics = modules.metrics;
    this.headCalls =
      entries > 0
        ? new CallResultCache(
            entries,
            metrics === null
              ? undefined
              : { invalidated: (reason, n) => metrics.callCacheInvalidations.inc({ reason }, n) },
          )
        : null;
    this.headWrites = entries > 0 ? new StateWriteLog(modules.chain.headState) : null;
  }

  headNumber(): bigint {
    return this.m.chain.head.header.number;
  }

  async resolveBlock(sel: BlockTagOrHash): Promise<BlockRef | undefined> {
    const chain = this.m.chain;
    if (sel.kind === "hash") {
      const hash = Uint8Array.from(Buffer.from(sel.hash.slice(2), "hex"));
      const header = await chain.getHeaderByHash(hash);
      return header === undefined ? undefined : { header, hash };
    }
    if (sel.kind === "tag") {
      // Final on commit: latest, safe and finalized are one block; pending is the head too.
      if (sel.tag === "earliest") return chain.getHeaderByNumber(0n);
      return chain.head;
    }
    return chain.getHeaderByNumber(sel.number);
  }

  private decodeBlock(ref: BlockRef): Promise<DecodedBlock> {
    const key = bytesToHex(ref.hash);
    const cached = this.blocks.get(key);
    if (cached !== undefined) return cached;
    const p = this.loadBlock(ref);
    this.blocks.set(key, p, LOADING_BLOCK_BYTES);
    // Weighed again once decoded, unless evicted (or replaced) meanwhile.
    p.then(
      (b) => {
        if (this.blocks.get(key) === p) this.blocks.set(key, p, decodedBlockBytes(b));
      },
      () => {
        if (this.blocks.get(key) === p) this.blocks.delete(key);
      },
    );
    return p;
  }

  private async loadBlock(ref: BlockRef): Promise<DecodedBlock> {
    const { db, common } = this.m.chain;
    const held = this.committed.get(bytesToHex(ref.hash));
    const [body, receipts] =
      held !== undefined
        ? [held.body, held.receipts]
        : await Promise.all([db.getBody(ref.hash), db.getReceipts(ref.hash)]);
    if (body === undefined || receipts === undefined) throw new Error(`block ${bytesToHex(ref.hash)} body missing`);
    const transactions: TxView[] = body.transactions.map((raw, index) => {
      let tx: TypedTransaction | undefined;
      let to: Uint8Array | null | undefined;
      let toRead = false;
      return {
        // Built on first use: a block read for its tx hashes (eth_getBlockByNumber(n, false)) or a
        // receipt needs no ethereumjs decode.
        get tx(): TypedTransaction {
          tx ??= createTxFromRLP(raw, { common });
          return tx;
        },
        // What a receipt needs of the transaction, read from its RLP (see txRecipient.ts).
        get to(): Uint8Array | null | undefined {
          if (!toRead) {
            to = rawTxRecipient(raw);
            toRead = true;
          }
          return to;
        },
        hash: held?.txHashes[index] ?? keccak256(raw),
        // The sender was recovered at admission and stored with the receipt: no ecrecover on reads.
        from: receipts[index].from,
        location: {
          blockHash: ref.hash,
          blockNumber: ref.header.number,
          blockTimestamp: ref.header.timestamp,
          index,
          baseFeePerGas: ref.header.baseFeePerGas,
        },
      };
    });
    let logIndex = 0;
    const receiptViews: ReceiptView[] = receipts.map((receipt, i) => {
      const view: ReceiptView = {
        receipt,
        tx: transactions[i],
        blockHash: ref.hash,
        blockNumber: ref.header.number,
        transactionIndex: i,
        firstLogIndex: logIndex,
      };
      logIndex += receipt.logs.length;
      return view;
    });
    const size = encodeHeader(ref.header).length + encodeBody(body).length;
    return { transactions, receipts: receiptViews, size };
  }

  async getBlockWithTxs(ref: BlockRef): Promise<BlockWithTxs> {
    const b = await this.decodeBlock(ref);
    return { ...ref, transactions: b.transactions, size: b.size };
  }

  async getReceipts(ref: BlockRef): Promise<ReceiptView[]> {
    return (await this.decodeBlock(ref)).receipts;
  }

  async getTransaction(hash: Uint8Array): Promise<TxView | undefined> {
    const located = await this.locate(hash);
    if (located !== undefined) return located.transactions[located.index];
    const pooled = this.m.mempool.get(bytesToHex(hash));
    if (pooled === undefined) return undefined;
    return { tx: pooled.tx, hash, from: pooled.tx.getSenderAddress().bytes };
  }

  async getReceipt(hash: Uint8Array): Promise<ReceiptView | undefined> {
    const located = await this.locate(hash);
    return located === undefined ? undefined : located.receipts[located.index];
  }

  private async locate(hash: Uint8Array): Promise<(DecodedBlock & { index: number }) | undefined> {
    // A client polling for a receipt asks while its tx waits in the pool and right after its block:
    // the last blocks' txs are found in memory. A pooled tx that is not among them is in no committed
    // block (admission needs a nonce the chain has not used; the pool drops a block's txs as it
    // commits, after this index has them): skip the index read. Only older txs read LevelDB.
    const hex = bytesToHex(hash);
    const recent = this.recentTxs.get(hex);
    if (recent === undefined && this.m.mempool.has(hex)) return undefined;
    const loc = recent ?? (await this.m.chain.db.getTxLocation(hash));
    if (loc === undefined || loc.number > this.headNumber()) return undefined;
    const ref = await this.m.chain.getHeaderByNumber(loc.number);
    if (ref === undefined) return undefined;
    return { ...(await this.decodeBlock(ref)), index: loc.index };
  }

  /** The state at `ref`: at the head, the head state (in dev mode it may carry cheats made since the block). */
  private view(ref: BlockRef) {
    return this.m.readers.at(this.m.chain.stateRootAt(ref));
  }

  /** `ref`'s header with the state root its simulations run on (see `view`). */
  private simulationHeader(ref: BlockRef) {
    const stateRoot = this.m.chain.stateRootAt(ref);
    return stateRoot === ref.header.stateRoot ? ref.header : { ...ref.header, stateRoot };
  }

  async getAccount(ref: BlockRef, address: Uint8Array): Promise<AccountState> {
    const view = await this.view(ref);
    return view.getAccount(address);
  }

  async getCode(ref: BlockRef, address: Uint8Array): Promise<Uint8Array> {
    const view = await this.view(ref);
    return view.getCode(address);
  }

  async getStorage(ref: BlockRef, address: Uint8Array, slot: Uint8Array): Promise<Uint8Array> {
    const view = await this.view(ref);
    return view.getStorage(address, slot);
  }

  async getProof(ref: BlockRef, address: Uint8Array, slots: Uint8Array[]): Promise<AccountProof> {
    const view = await this.view(ref);
    const p = await view.read((sm) => getMerkleStateProof(sm, new Address(address), slots));
    return {
      address: p.address,
      balance: BigInt(p.balance),
      nonce: BigInt(p.nonce),
      codeHash: p.codeHash,
      storageHash: p.storageHash,
      accountProof: p.accountProof,
      // ethereumjs answers no storage proofs at all for an absent account; geth answers each key
      // with value 0 and an empty proof (the storage trie is empty).
      storageProof:
        p.storageProof.length === slots.length
          ? p.storageProof.map((s) => ({ key: s.key, value: BigInt(s.value), proof: s.proof }))
          : slots.map((slot) => ({ key: bytesToHex(slot), value: 0n, proof: [] })),
    };
  }

  pendingNonce(address: Uint8Array): Promise<bigint> {
    return this.m.mempool.pendingNonce(bytesToHex(address));
  }

  async call(ref: BlockRef, req: CallRequest, overrides?: StateOverride, budget?: RequestBudget): Promise<CallOutcome> {
    const header = this.simulationHeader(ref);
    const run = () => this.m.simulations.run("call", { header, req, overrides }, budget);
    if (overrides !== undefined) return run();
    const key = callKey(req);
    const metrics = this.m.metrics;
    if (this.headCalls !== null && equalsBytes(ref.hash, this.m.chain.head.hash)) {
      // At the head: answers carried over from earlier blocks when this one wrote nothing they read.
      const epoch = this.epochKey(ref.hash, header.stateRoot);
      if (this.headCalls.epoch !== epoch) await this.moveHeadCalls();
      if (this.headCalls.epoch === epoch) {
        const cached = this.headCalls.get(key);
        metrics?.callCache.inc({ result: cached === undefined ? "miss" : "hit" });
        return cached ?? this.headCalls.put(key, run());
      }
    }
    // A call's result depends only on the block, its state and the request.
    const blockKey = `${bytesToHex(ref.hash)}|${bytesToHex(header.stateRoot)}|${key}`;
    let outcome = this.callResults.get(blockKey);
    metrics?.callCache.inc({ result: outcome === undefined ? "miss" : "hit" });
    if (outcome === undefined) {
      const started = run().then(({ reads: _reads, ...o }) => o);
      outcome = started;
      this.callResults.set(blockKey, started);
      started.catch(() => this.callResults.delete(blockKey));
    }
    return outcome;
  }

  /**
   * `hash|root` in hex, the head cache's epoch. Every call at the head asks for it with the same two arrays (the
   * head's), so the last one is kept rather than hex-encoding 64 bytes per call.
   */
  private epochKey(hash: Uint8Array, root: Uint8Array): string {
    const last = this.lastEpoch;
    if (last !== null && last.hash === hash && last.root === root) return last.key;
    const key = `${bytesToHex(hash)}|${bytesToHex(root)}`;
    this.lastEpoch = { hash, root, key };
    return key;
  }

  /** Moves the head cache to the current head, dropping the answers the writes since changed. */
  private moveHeadCalls(): Promise<void> {
    const cache = this.headCalls;
    const log = this.headWrites;
    if (cache === null || log === null) return Promise.resolve();
    this.headCallsMove = this.headCallsMove.then(async () => {
      const head = this.m.chain.head;
      const root = this.m.chain.stateRootAt(head);
      const epoch = `${bytesToHex(head.hash)}|${bytesToHex(root)}`;
      if (cache.epoch === epoch) return;
      try {
        const view = await this.m.readers.at(root);
        await cache.advance(epoch, log.take(), {
          account: (a) => view.read(async (sm) => accountFingerprint(await sm.getAccount(createAddressFromString(a)))),
          slot: async (k) => {
            const { address, slot } = slotOfKey(k);
            return bytesToHex(await view.getStorage(address, slot));
          },
        });
      } catch (e) {
        // Answers whose validity could not be checked go; calls meanwhile run uncached.
        cache.reset();
        this.m.log.warn("eth_call cache reset: reading the new head failed", {}, e);
      }
    });
    return this.headCallsMove;
  }

  estimateGas(ref: BlockRef, req: CallRequest, overrides?: StateOverride, budget?: RequestBudget): Promise<bigint> {
    return this.m.simulations.run("estimateGas", { header: this.simulationHeader(ref), req, overrides }, budget);
  }

  createAccessList(ref: BlockRef, req: CallRequest, budget?: RequestBudget): Promise<AccessListResult> {
    return this.m.simulations.run("createAccessList", { header: this.simulationHeader(ref), req }, budget);
  }

  simulateV1(base: BlockRef, blocks: PlannedBlock[], opts: SimulateOptions, budget?: RequestBudget): Promise<string> {
    const params = {
      base: base.header,
      baseHash: base.hash,
      blocks,
      validation: opts.validation,
      returnFullTransactions: opts.returnFullTransactions,
      fees: this.m.chain.params.at(base.header.number + 1n).fees,
      maxBytes: this.m.simulateMaxBytes ?? DEFAULT_SIMULATE_MAX_BYTES,
    };
    return this.m.simulations.run("simulateV1", params, budget);
  }

  async forkConfig(): Promise<ForkConfig> {
    if (this.config === undefined) {
      const genesis = await this.m.chain.getHeaderByNumber(0n);
      if (genesis === undefined) throw new ServerError("unable to load genesis");
      this.config = azoraForkConfig(this.m.chain.spec.chainId, genesis.hash);
    }
    return this.config;
  }

  async sendRawTransaction(raw: Uint8Array): Promise<Uint8Array> {
    const { mempool, metrics } = this.m;
    try {
      const ptx = await this.m.decoder.decode(raw);
      if (metrics === null) await mempool.add(ptx);
      else await metrics.txStages.timeSampled("admission", () => mempool.add(ptx));
      metrics?.txSubmissions.inc({ result: "accepted" });
      this.m.onTxAccepted?.(raw);
      return Uint8Array.from(Buffer.from(ptx.hash.slice(2), "hex"));
    } catch (e) {
      if (isMempoolError(e)) {
        metrics?.txSubmissions.inc({ result: e.type.code });
        throw new TxRejectedError(e.message);
      }
      if (e instanceof CodecError) throw new TxRejectedError(e.message);
      throw e;
    }
  }

  nextBaseFee(): bigint {
    const head = this.m.chain.head.header;
    return nextBaseFee(head, this.m.chain.params.at(head.number + 1n).fees);
  }

  suggestedTip(): bigint {
    return SUGGESTED_TIP;
  }

  async feeHistory(blockCount: number, newest: BlockRef, percentiles: number[] | undefined): Promise<FeeHistory> {
    const newestNumber = newest.header.number;
    const count = BigInt(blockCount) > newestNumber + 1n ? Number(newestNumber + 1n) : blockCount;
    const oldest = newestNumber - BigInt(count) + 1n;
    const baseFeePerGas: bigint[] = [];
    const gasUsedRatio: number[] = [];
    const reward: bigint[][] = [];
    let last = newest;
    for (let n = oldest; n <= newestNumber; n++) {
      const ref = await this.m.chain.getHeaderByNumber(n);
      if (ref === undefined) break;
      last = ref;
      baseFeePerGas.push(ref.header.baseFeePerGas);
      gasUsedRatio.push(Number(ref.header.gasUsed) / Number(ref.header.gasLimit));
      if (percentiles !== undefined) reward.push(await this.blockRewards(ref, percentiles));
    }
    baseFeePerGas.push(nextBaseFee(last.header, this.m.chain.params.at(last.header.number + 1n).fees));
    return { oldestBlock: oldest, baseFeePerGas, gasUsedRatio, reward: percentiles === undefined ? undefined : reward };
  }

  /** Tip percentiles weighted by gas used, as geth's fee history computes them. */
  private async blockRewards(ref: BlockRef, percentiles: number[]): Promise<bigint[]> {
    const receipts = await this.getReceipts(ref);
    if (receipts.length === 0) return percentiles.map(() => 0n);
    const tips = receipts
      .map((r) => ({ tip: r.receipt.effectiveGasPrice - ref.header.baseFeePerGas, gas: r.receipt.gasUsed }))
      .sort((a, b) => (a.tip < b.tip ? -1 : a.tip > b.tip ? 1 : 0));
    const total = Number(ref.header.gasUsed);
    return percentiles.map((p) => {
      const threshold = (total * p) / 100;
      let sum = 0;
      for (const t of tips) {
        sum += Number(t.gas);
        if (sum >= threshold) return t.tip;
      }
      return tips[tips.length - 1].tip;
    });
  }

  /**
   * Logs are charged to `budget` as they are collected (their JSON size, before it is built), and
   * the time budget is checked per block read, so a query — or a batch of them — stops at its
   * limits instead of building an answer that would exhaust memory.
   */
  async getLogs(
    query: { fromBlock: bigint; toBlock: bigint } | { blockHash: Uint8Array },
    filter: LogFilter,
    budget?: RequestBudget,
  ): Promise<LogView[]> {
    const maxResults = this.m.logsMaxResults ?? DEFAULT_LOGS_MAX_RESULTS;
    const out: LogView[] = [];
    let lastYieldMs = performance.now();
    const collect = async (ref: BlockRef) => {
      budget?.checkTime();
      // Cached blocks resolve in microtasks, which never let other work in: hand the event loop
      // back (consensus messages, timers) at least every few milliseconds of scanning.
      if (performance.now() - lastYieldMs > LOG_SCAN_SLICE_MS) {
        await yieldToEventLoop();
        lastYieldMs = performance.now();
      }
      if (!bloomMayMatch(ref.header.logsBloom, filter)) return;
      for (const r of await this.getReceipts(ref)) {
        r.receipt.logs.forEach((log, i) => {
          if (!logMatches(log, filter)) return;
          if (out.length >= maxResults) {
            throw new LimitExceededError(`query returned more than ${maxResults} results`);
          }
          budget?.chargeBytes(LOG_JSON_OVERHEAD_BYTES + 2 * log[2].length + TOPIC_JSON_BYTES * log[1].length);
          out.push({
            log,
            blockNumber: r.blockNumber,
            blockHash: r.blockHash,
            transactionHash: r.tx.hash,
            transactionIndex: r.transactionIndex,
            logIndex: r.firstLogIndex + i,
          });
        });
      }
    };
    if ("blockHash" in query) {
      const header = await this.m.chain.getHeaderByHash(query.blockHash);
      if (header !== undefined) await collect({ header, hash: query.blockHash });
      return out;
    }
    // With an address filter, the per-address index names the only blocks worth reading.
    const heights =
      filter.addresses.length > 0
        ? await this.heightsFromAddressIndex(filter.addresses, query.fromBlock, query.toBlock)
        : null;
    if (heights !== null) {
      for (const n of heights) {
        const ref = await this.m.chain.getHeaderByNumber(n);
        if (ref !== undefined) await collect(ref);
      }
      return out;
    }
    for (let n = query.fromBlock; n <= query.toBlock; n++) {
      const ref = await this.m.chain.getHeaderByNumber(n);
      if (ref !== undefined) await collect(ref);
    }
    return out;
  }

  private async heightsFromAddressIndex(addresses: Uint8Array[], from: bigint, to: bigint): Promise<bigint[]> {
    const set = new Set<bigint>();
    for (const a of addresses) {
      for (const n of await this.m.chain.db.blocksWithLogsFrom(a, from, to, 100_000)) set.add(n);
    }
    return [...set].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  }

  onNewBlock(listener: (block: BlockRef, logs: LogView[]) => void): () => void {
    return this.m.chain.onBlock((b: CommittedBlock) => {
      const logs: LogView[] = [];
      let logIndex = 0;
      b.receipts.forEach((r, i) => {
        for (const log of r.logs) {
          logs.push({
            log,
            blockNumber: b.header.number,
            blockHash: b.hash,
            transactionHash: b.txHashes[i],
            transactionIndex: i,
            logIndex: logIndex++,
          });
        }
      });
      listener({ header: b.header, hash: b.hash }, logs);
    });
  }

  onRewind(listener: (head: BlockRef) => void): () => void {
    return this.m.chain.onRewind(listener);
  }

  onPendingTransaction(listener: (hash: string) => void): () => void {
    // The pool's hashes are lowercase 0x hex already (decodeRawTransaction).
    return this.m.mempool.onPending((ptx) => listener(ptx.hash));
  }

  status(): Promise<NodeStatus> {
    return this.m.status();
  }

  peerCount(): number {
    return this.m.peerCount?.() ?? 0;
  }
}
