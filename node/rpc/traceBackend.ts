/**
 * The node's `TraceBackend`: finds what a trace needs (the block, its parent's state root, the raw
 * transactions and their senders) and runs it as a job on the simulation pool, a few traces at a
 * time node-wide (`rpc.traceConcurrency`, then round-robin by client until the request's deadline),
 * each within its time budget and `rpc.traceMaxBytes`.
 */
import type { BlockRef, TraceBackend } from "../../rpc/backend.js";
import { ServerError } from "../../rpc/errors.js";
import { Gate } from "../../rpc/logQuery.js";
import type { TraceCallRequest, TraceRequest } from "../../rpc/trace.js";
import type { CallRequest, RequestBudget } from "../../rpc/types.js";
import { keccak256 } from "../../runtime/primitives/hash.js";
import type { Chain } from "../chain/chain.js";
import type { SimulationPool } from "./simulation/pool.js";
import type { TraceBlockParams, TraceCallParams } from "./simulation/trace.js";

export interface TraceLimits {
  /** Traces running at once, node-wide. */
  concurrency: number;
  /** Bytes of one trace's JSON. */
  maxBytes: number;
}

/** What replaying a block needs from the database; immutable for a given block hash. */
interface BlockReplay {
  parentStateRoot: Uint8Array;
  transactions: Uint8Array[];
  senders: Uint8Array[];
  bytes: number;
}

/**
 * Blocks recently traced, by hash (content-addressed, so an entry never goes stale — not even across a dev-chain
 * rewind), within a byte budget: traces of the same block (a debugger stepping through its transactions, a bench)
 * skip three database reads and the receipts' decoding.
 */
class ReplayCache {
  private readonly map = new Map<string, BlockReplay>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(hash: Uint8Array): BlockReplay | undefined {
    const key = Buffer.from(hash).toString("hex");
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(hash: Uint8Array, v: BlockReplay): void {
    if (v.bytes > this.maxBytes) return;
    const key = Buffer.from(hash).toString("hex");
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.bytes -= old.bytes;
    }
    this.map.set(key, v);
    this.bytes += v.bytes;
    for (const [k, e] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= e.bytes;
    }
  }
}

/** Bytes of transactions (plus per-entry overhead) the replay cache keeps. */
const REPLAY_CACHE_BYTES = 16 * 1024 * 1024;

/** geth's default `timeout` of a trace. */
const DEFAULT_TRACE_TIMEOUT_MS = 5000;
/** Traces waiting for their turn at most; more are refused as busy. */
const TRACE_QUEUE = 256;

export class NodeTraceBackend implements TraceBackend {
  private readonly gate: Gate;
  private readonly replays = new ReplayCache(REPLAY_CACHE_BYTES);

  constructor(
    private readonly limits: TraceLimits,
    private readonly m: { chain: Chain; simulations: SimulationPool },
  ) {
    this.gate = new Gate(limits.concurrency, TRACE_QUEUE, "traces");
  }

  async traceTransaction(hash: Uint8Array, request: TraceRequest, budget?: RequestBudget): Promise<string | undefined> {
    const { chain } = this.m;
    const loc = await chain.db.getTxLocation(hash);
    if (loc === undefined || loc.number > chain.head.header.number) return undefined;
    const ref = await chain.getHeaderByNumber(loc.number);
    if (ref === undefined) return undefined;
    const params = await this.blockParams(ref, request, loc.index);
    return this.run("traceBlock", params, request, budget);
  }

  async traceBlock(ref: BlockRef, request: TraceRequest, budget?: RequestBudget): Promise<string> {
    return this.run("traceBlock", await this.blockParams(ref, request, undefined), request, budget);
  }

  traceCall(ref: BlockRef, req: CallRequest, request: TraceCallRequest, budget?: RequestBudget): Promise<string> {
    const params = {
      header: ref.header,
      req,
      overrides: request.stateOverrides,
      request: { options: request.options, timeoutMs: request.timeoutMs },
      maxBytes: this.limits.maxBytes,
    };
    return this.run("traceCall", params, request, budget);
  }

  private async blockParams(
    ref: BlockRef,
    request: TraceRequest,
    index: number | undefined,
  ): Promise<TraceBlockParams> {
    const replay = await this.replay(ref);
    const count = index === undefined ? replay.transactions.length : index + 1;
    const txs = replay.transactions.slice(0, count);
    return {
      header: ref.header,
      parentStateRoot: replay.parentStateRoot,
      txs,
      senders: replay.senders.slice(0, count),
      index,
      hashes: index === undefined ? txs.map((raw) => keccak256(raw)) : undefined,
      request,
      maxBytes: this.limits.maxBytes,
    };
  }

  private async replay(ref: BlockRef): Promise<BlockReplay> {
    const cached = this.replays.get(ref.hash);
    if (cached !== undefined) return cached;
    const { chain } = this.m;
    // The parent's state root — or, in dev mode, the state cheats made between the parent and it.
    const [preStateRoot, body, receipts] = await Promise.all([
      chain.preStateRoot(ref),
      chain.db.getBody(ref.hash),
      chain.db.getReceipts(ref.hash),
    ]);
    if (preStateRoot === undefined || body === undefined || receipts === undefined)
      throw new ServerError(`block #${ref.header.number} not found`);
    const replay: BlockReplay = {
      parentStateRoot: preStateRoot,
      transactions: body.transactions,
      // The sender was recovered at admission and stored with the receipt: no ecrecover on replay.
      senders: receipts.map((r) => r.from),
      bytes: 256 + body.transactions.reduce((n, t) => n + t.length + 64, 0),
    };
    this.replays.set(ref.hash, replay);
    return replay;
  }

  private run(
    kind: "traceBlock" | "traceCall",
    params: TraceBlockParams | TraceCallParams,
    request: TraceRequest,
    budget: RequestBudget | undefined,
  ): Promise<string> {
    const opts = {
      deadlineMs: budget?.deadlineMs,
      client: budget?.client,
      // geth's default trace timeout is 5 s; the pool caps it at rpc.evmTimeoutMs.
      timeoutMs: request.timeoutMs ?? DEFAULT_TRACE_TIMEOUT_MS,
    };
    return this.gate.run(budget, () =>
      kind === "traceBlock"
        ? this.m.simulations.run("traceBlock", params as TraceBlockParams, opts)
        : this.m.simulations.run("traceCall", params as TraceCallParams, opts),
    );
  }
}
