import { LimitExceededError } from "../../../../rpc/errors.js";

/**
 * A trace's JSON text, built in pieces and bounded in size: a trace of a large transaction (the
 * struct logger with memory on a loop of a million steps) stops at the cap with an RPC error
 * instead of growing until the worker runs out of memory.
 */
export class BoundedText {
  private readonly parts: string[] = [];
  private bytes = 0;
  /**
   * Set once the cap was hit. The error is thrown from inside ethereumjs's event handlers, which may
   * wrap it on the way out; the job checks this flag to answer the cap's error whatever arrives.
   */
  overflowed = false;

  constructor(readonly maxBytes: number) {}

  /** Counts `n` bytes the trace is about to hold (text or the objects it will become). */
  charge(n: number): void {
    this.bytes += n;
    if (this.bytes > this.maxBytes) {
      this.overflowed = true;
      throw traceTooLarge(this.maxBytes);
    }
  }

  push(s: string): void {
    this.charge(s.length);
    this.parts.push(s);
  }

  get size(): number {
    return this.bytes;
  }

  get pieces(): number {
    return this.parts.length;
  }

  /** Rewrites piece `i` (e.g. to add an `error` to a struct log already written). */
  replace(i: number, s: string): void {
    this.charge(s.length - this.parts[i].length);
    this.parts[i] = s;
  }

  piece(i: number): string {
    return this.parts[i];
  }

  text(): string {
    return this.parts.join("");
  }
}

/** -32005, named after the config key an operator raises. */
export function traceTooLarge(maxBytes: number): LimitExceededError {
  return new LimitExceededError(
    `trace larger than ${maxBytes} bytes (rpc.traceMaxBytes); trace less (callTracer, a struct logger limit, disableStack) or raise the limit`,
  );
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** 0x-prefixed lowercase hex of `b`. */
export function hex(b: Uint8Array): string {
  let s = "0x";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
}

/** 0x quantity without leading zeros. */
export function quantity(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

/** A 32-byte word as 0x + 64 hex digits. */
export function word(v: bigint | Uint8Array): string {
  if (typeof v === "bigint") return `0x${v.toString(16).padStart(64, "0")}`;
  let s = "0x";
  for (let i = v.length; i < 32; i++) s += "00";
  for (let i = 0; i < v.length; i++) s += HEX[v[i]];
  return s;
}
