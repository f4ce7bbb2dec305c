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

/** geth's default `timeout` of a trace. */
const DEFAULT_TRACE_TIMEOUT_MS = 5000;
/** Traces waiting for their turn at most; more are refused as busy. */
const TRACE_QUEUE = 256;

export class NodeTraceBackend implements TraceBackend {
  private readonly gate: Gate;

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
    const { chain } = this.m;
    const parent = await chain.getHeaderByNumber(ref.header.number - 1n);
    const [body, receipts] = await Promise.all([chain.db.getBody(ref.hash), chain.db.getReceipts(ref.hash)]);
    if (parent === undefined || body === undefined || receipts === undefined)
      throw new ServerError(`block #${ref.header.number} not found`);
    const count = index === undefined ? body.transactions.length : index + 1;
    const txs = body.transactions.slice(0, count);
    return {
      header: ref.header,
      parentStateRoot: parent.header.stateRoot,
      txs,
      // The sender was recovered at admission and stored with the receipt: no ecrecover on replay.
      senders: receipts.slice(0, count).map((r) => r.from),
      index,
      hashes: index === undefined ? txs.map((raw) => keccak256(raw)) : undefined,
      request,
      maxBytes: this.limits.maxBytes,
    };
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
