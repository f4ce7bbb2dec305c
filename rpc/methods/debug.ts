/**
 * geth's tracing methods: debug_traceTransaction, debug_traceCall, debug_traceBlockByNumber and
 * debug_traceBlockByHash, with the struct logger, callTracer, prestateTracer and 4byteTracer.
 * The traces themselves run in the node (`TraceBackend`); this file parses, resolves blocks and
 * words the errors as geth does.
 */
import type { BlockRef, EthBackend, TraceBackend } from "../backend.js";
import { ServerError } from "../errors.js";
import { RawJSON } from "../jsonrpc.js";
import { parseTraceCallConfig, parseTraceConfig } from "../trace.js";
import { type CallContext, defineMethod, type MethodTable } from "../types.js";
import { bytes, requireBlock } from "./eth.js";

/**
 * A trace holds a simulation worker for up to its time budget and builds up to rpc.traceMaxBytes
 * of JSON: it costs more of a batch's budget than a call (5); a block trace replays a whole block.
 */
export const TRACE_COST = 20;
export const BLOCK_TRACE_COST = 50;

export function createDebugMethods(backend: EthBackend): MethodTable {
  const trace = backend.trace;
  if (trace === undefined) return {};
  const blockTrace = async (
    t: TraceBackend,
    ref: BlockRef | undefined,
    what: string,
    raw: unknown,
    ctx: CallContext,
  ) => {
    const request = parseTraceConfig(raw);
    if (ref === undefined) throw new ServerError(`block ${what} not found`);
    if (ref.header.number === 0n) throw new ServerError("genesis is not traceable");
    return new RawJSON(await t.traceBlock(ref, request, ctx.budget));
  };
  return {
    debug_traceTransaction: defineMethod(
      [
        { name: "hash", type: "hash" },
        { name: "config", type: "any", optional: true },
      ],
      async ([hash, raw], ctx) => {
        const request = parseTraceConfig(raw);
        const text = await trace.traceTransaction(bytes(hash), request, ctx.budget);
        if (text === undefined) throw new ServerError("transaction not found");
        return new RawJSON(text);
      },
      { cost: TRACE_COST },
    ),
    debug_traceCall: defineMethod(
      [
        { name: "transaction", type: "callRequest" },
        { name: "block", type: "blockTagOrHash", optional: true },
        { name: "config", type: "any", optional: true },
      ],
      async ([req, block, raw], ctx) => {
        const request = parseTraceCallConfig(raw);
        const ref = await requireBlock(backend, block);
        return new RawJSON(await trace.traceCall(ref, req, request, ctx.budget));
      },
      { cost: TRACE_COST },
    ),
    debug_traceBlockByNumber: defineMethod(
      [
        { name: "block", type: "blockTag" },
        { name: "config", type: "any", optional: true },
      ],
      async ([block, raw], ctx) => {
        const what = block.kind === "number" ? `#${block.number}` : block.tag;
        return blockTrace(trace, await backend.resolveBlock(block), what, raw, ctx);
      },
      { cost: BLOCK_TRACE_COST },
    ),
    debug_traceBlockByHash: defineMethod(
      [
        { name: "hash", type: "hash" },
        { name: "config", type: "any", optional: true },
      ],
      async ([hash, raw], ctx) => blockTrace(trace, await backend.resolveBlock({ kind: "hash", hash }), hash, raw, ctx),
      { cost: BLOCK_TRACE_COST },
    ),
  };
}
