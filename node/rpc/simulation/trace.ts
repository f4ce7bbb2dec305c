/**
 * The debug_trace* jobs, run on a simulation worker: a mined transaction is traced by re-executing
 * its block from the parent's state (state is archived) up to it — the transactions before it
 * untraced, then it under the tracer — so it sees exactly the state it saw when it was mined. A
 * call (debug_traceCall) is traced as eth_call-style simulation on a block's state. Every trace's
 * JSON is built within `maxBytes` (rpc.traceMaxBytes).
 */
import type { Common } from "@ethereumjs/common";
import { createTxFromRLP } from "@ethereumjs/tx";
import { Address } from "@ethereumjs/util";
import { ServerError } from "../../../rpc/errors.js";
import type { TraceRequest } from "../../../rpc/trace.js";
import type { CallRequest, StateOverride } from "../../../rpc/types.js";
import type { BlockHeader } from "../../../runtime/primitives/block.js";
import { blockContext, runTraced, type SimulationView, simplifyVMError, simulate } from "./simulate.js";
import { BoundedText, createTracer, hex, traceTooLarge } from "./tracing/index.js";

export interface TraceBlockParams {
  /** The block whose transactions are replayed. */
  header: BlockHeader;
  /** The state before the block: its parent's state root. */
  parentStateRoot: Uint8Array;
  /** The block's raw transactions from the first up to the last one traced. */
  txs: Uint8Array[];
  /** Their senders (recovered when they were admitted: no signature is checked again). */
  senders: Uint8Array[];
  /** Index of the one transaction to trace, or undefined to trace every one (a block trace). */
  index?: number;
  /** Block traces: each transaction's hash, for `txHash`. */
  hashes?: Uint8Array[];
  request: TraceRequest;
  maxBytes: number;
}

export interface TraceCallParams {
  header: BlockHeader;
  req: CallRequest;
  overrides?: StateOverride;
  request: TraceRequest;
  maxBytes: number;
}

/** debug_traceTransaction / debug_traceBlockBy*: the trace's JSON text. */
export async function traceBlock(view: SimulationView, common: Common, p: TraceBlockParams): Promise<string> {
  const out = new BoundedText(p.maxBytes);
  const block = blockContext(common, p.header, {
    number: p.header.number,
    timestamp: p.header.timestamp,
    gasLimit: p.header.gasLimit,
    baseFeePerGas: p.header.baseFeePerGas,
    miner: p.header.miner,
    parentHash: p.header.parentHash,
  });
  const whole = p.index === undefined;
  if (whole) out.push("[");
  await view.simulate(async (vm) => {
    let gasUsed = 0n;
    for (let i = 0; i < p.txs.length; i++) {
      const traced = whole || i === p.index;
      const tx = createTxFromRLP(p.txs[i], { common, freeze: false });
      const from = new Address(p.senders[i]);
      tx.getSenderAddress = () => from;
      let tracer: ReturnType<typeof createTracer> | undefined;
      if (traced) {
        if (whole) out.push(`${i > 0 ? "," : ""}{"txHash":"${hex((p.hashes as Uint8Array[])[i])}","result":`);
        tracer = createTracer(p.request.options, out);
      }
      try {
        const r = await runTraced(
          vm,
          tracer,
          tx,
          from,
          block,
          { blockGasUsed: gasUsed, skipHardForkValidation: true },
          // The block ran this transaction already, so its sender passed EIP-3607 then: a sender
          // with code is a contract dev mode impersonated (anvil_impersonateAccount), let through.
          true,
        );
        gasUsed += r.totalGasSpent;
      } catch (e) {
        if (out.overflowed) throw traceTooLarge(out.maxBytes);
        // The block was executed once already: a transaction it included cannot fail validation now.
        throw new ServerError(
          `replaying transaction ${i} of block ${p.header.number}: ${simplifyVMError((e as Error).message)}`,
        );
      }
      if (tracer !== undefined) {
        tracer.write();
        if (whole) out.push("}");
      }
    }
  });
  if (whole) out.push("]");
  return out.text();
}

/** debug_traceCall: the call run as a transaction on the block's state (eth_call's rules), traced. */
export async function traceCall(
  view: SimulationView,
  common: Common,
  gasCap: bigint,
  p: TraceCallParams,
): Promise<string> {
  const out = new BoundedText(p.maxBytes);
  const tracer = createTracer(p.request.options, out);
  try {
    await simulate(view, common, p.header, p.req, { gasCap, overrides: p.overrides, tracer });
  } catch (e) {
    if (out.overflowed) throw traceTooLarge(out.maxBytes);
    throw e;
  }
  tracer.write();
  return out.text();
}
