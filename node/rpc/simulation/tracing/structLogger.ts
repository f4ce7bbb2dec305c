/**
 * geth's default tracer, the struct logger (eth/tracers/logger): one entry per opcode with pc, op,
 * gas, gasCost, depth, refund, and as asked the stack, memory (32-byte words) and the storage the
 * contract touched so far (at SLOAD and SSTORE only), then the transaction's gas, failure and
 * return value. Shapes as the execution-apis `OpcodeTransactionTrace` specifies (0x-prefixed
 * words). Entries are written as JSON text while the transaction runs, within the trace's byte cap.
 */
import type { InterpreterStep } from "@ethereumjs/evm";
import type { StructLoggerOptions } from "../../../../rpc/trace.js";
import type { FrameEnd, FrameHooks } from "./frames.js";
import { type BoundedText, hex, word } from "./output.js";
import type { TxEnd, TxTracer } from "./tracer.js";

interface PendingLoad {
  /** Text of the SLOAD entry up to its storage field. */
  head: string;
  tail: string;
  depth: number;
  address: string;
  key: string;
}

export class StructLogger implements TxTracer, FrameHooks {
  readonly wantsSteps = true;
  private readonly headerPiece: number;
  private count = 0;
  /** Index (in `out`) of the last entry written at each depth: where an error is added. */
  private readonly lastAtDepth: number[] = [];
  /** Storage seen per contract (storage context address): slot → value, as words. */
  private readonly storage = new Map<string, Map<string, string>>();
  /** An SLOAD's value is the top of the stack at the next step; its entry waits for it. */
  private pending: PendingLoad | undefined;
  private result: TxEnd | undefined;

  constructor(
    private readonly cfg: StructLoggerOptions,
    private readonly out: BoundedText,
  ) {
    this.headerPiece = out.pieces;
    out.push("");
  }

  txStart(): void {}

  step(s: InterpreterStep): void {
    if (this.pending !== undefined) this.resolveLoad(s.depth === this.pending.depth ? s.stack.at(-1) : undefined);
    if (this.cfg.limit > 0 && this.count >= this.cfg.limit) return;
    const op = s.opcode.name;
    let head = `${this.count > 0 ? "," : ""}{"pc":${s.pc},"op":"${op}","gas":${s.gasLeft},"gasCost":${s.opcode.dynamicFee},"depth":${s.depth + 1}`;
    this.count++;
    if (!this.cfg.disableStack) {
      const stack = s.stack;
      let t = ',"stack":[';
      for (let i = 0; i < stack.length; i++) t += `${i > 0 ? "," : ""}"0x${stack[i].toString(16)}"`;
      head += `${t}]`;
    }
    if (this.cfg.enableMemory && s.memory.length > 0) {
      const m = s.memory;
      let t = ',"memory":[';
      for (let i = 0; i + 32 <= m.length; i += 32) t += `${i > 0 ? "," : ""}"${hex(m.subarray(i, i + 32))}"`;
      head += `${t}]`;
    }
    const tail = s.gasRefund > 0n ? `,"refund":${s.gasRefund}}` : "}";
    if (!this.cfg.disableStorage && (op === "SLOAD" || op === "SSTORE") && s.stack.length >= 1) {
      const address = hex(s.address.bytes);
      const key = word(s.stack[s.stack.length - 1]);
      if (op === "SLOAD") {
        this.pending = { head, tail, depth: s.depth, address, key };
        return;
      }
      if (s.stack.length >= 2) this.slots(address).set(key, word(s.stack[s.stack.length - 2]));
      head += this.storageField(address);
    }
    this.emit(s.depth, head + tail);
  }

  private slots(address: string): Map<string, string> {
    let m = this.storage.get(address);
    if (m === undefined) {
      m = new Map();
      this.storage.set(address, m);
    }
    return m;
  }

  private storageField(address: string): string {
    const entries = [...this.slots(address)].map(([k, v]) => `"${k}":"${v}"`);
    return `,"storage":{${entries.join(",")}}`;
  }

  private resolveLoad(value: bigint | undefined): void {
    const p = this.pending as PendingLoad;
    this.pending = undefined;
    if (value !== undefined) this.slots(p.address).set(p.key, word(value));
    this.emit(p.depth, p.head + this.storageField(p.address) + p.tail);
  }

  private emit(depth: number, text: string): void {
    this.lastAtDepth[depth] = this.out.pieces;
    this.out.push(text);
  }

  exit(e: FrameEnd): void {
    // A load that ended its frame (out of gas) has no next step to read its value from.
    if (this.pending !== undefined && this.pending.depth >= e.depth) this.resolveLoad(undefined);
    const at = this.lastAtDepth[e.depth];
    if (e.error !== undefined && !e.reverted && at !== undefined) {
      const entry = this.out.piece(at);
      const depthField = `"depth":${e.depth + 1}`;
      const i = entry.indexOf(depthField) + depthField.length;
      this.out.replace(at, `${entry.slice(0, i)},"error":${JSON.stringify(e.error)}${entry.slice(i)}`);
    }
    this.lastAtDepth.length = e.depth;
  }

  txEnd(t: TxEnd): void {
    this.result = t;
  }

  write(): void {
    const r = this.result;
    if (r === undefined) throw new Error("struct logger: the transaction did not end");
    this.out.replace(
      this.headerPiece,
      `{"gas":${r.gasUsed},"failed":${r.failed},"returnValue":"${hex(r.returnValue)}","structLogs":[`,
    );
    this.out.push("]}");
  }
}
