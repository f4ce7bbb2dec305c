import type { VM } from "@ethereumjs/vm";
import type { FrameHooks } from "./frames.js";

export interface TxStart {
  from: Uint8Array;
  /** undefined for a contract creation. */
  to: Uint8Array | undefined;
  coinbase: Uint8Array;
  gasLimit: bigint;
}

export interface TxEnd {
  gasLimit: bigint;
  /** The receipt's gas used. */
  gasUsed: bigint;
  failed: boolean;
  returnValue: Uint8Array;
}

/**
 * One geth tracer over one transaction: frame and step hooks while it runs, then its JSON written
 * to the trace's bounded text (`write`). Transaction hooks get the VM: the prestate tracer reads
 * state before and after.
 */
export interface TxTracer extends FrameHooks {
  txStart(t: TxStart, vm: VM): void | Promise<void>;
  txEnd(t: TxEnd, vm: VM): void | Promise<void>;
  write(): void;
}
