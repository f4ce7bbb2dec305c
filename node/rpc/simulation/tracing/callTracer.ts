/**
 * geth's `callTracer` (eth/tracers/native/call.go): the tree of call frames with type, from, to,
 * value, gas, gasUsed, input, output, error and decoded revert reason; `onlyTopCall` keeps the
 * top frame, `withLog` adds each frame's logs with their position among its sub-calls. Frames into
 * native modules carry one field geth has no counterpart for: `decoded` (module, function, args).
 */
import type { InterpreterStep } from "@ethereumjs/evm";
import { decodeRevertReason } from "../../../../rpc/errors.js";
import type { CallTracerOptions } from "../../../../rpc/trace.js";
import { uintToWord } from "../../../../runtime/modules/words.js";
import type { CallKind, FrameEnd, FrameHooks, FrameStart } from "./frames.js";
import { type DecodedNativeCall, decodeNativeCall } from "./native.js";
import { type BoundedText, hex, quantity } from "./output.js";
import type { TxEnd, TxStart, TxTracer } from "./tracer.js";

interface CallLog {
  address: Uint8Array;
  topics: Uint8Array[];
  data: Uint8Array;
  position: number;
}

interface CallFrame {
  type: CallKind;
  from: Uint8Array;
  to: Uint8Array | undefined;
  input: Uint8Array;
  gas: bigint;
  gasUsed: bigint;
  value: bigint | undefined;
  output?: Uint8Array;
  error?: string;
  revertReason?: string;
  calls: CallFrame[];
  logs: CallLog[];
  decoded?: DecodedNativeCall;
  /** Logs came from its LOG opcodes (a contract); else from its result (a native module). */
  stepped?: boolean;
}

/** Bytes a frame holds beyond its input and output (numbers, addresses, field names) in the JSON. */
const FRAME_OVERHEAD_BYTES = 300;

const LOG_OPS = new Set(["LOG0", "LOG1", "LOG2", "LOG3", "LOG4"]);

export class CallTracer implements TxTracer, FrameHooks {
  readonly wantsSteps: boolean;
  private readonly stack: CallFrame[] = [];
  private root: CallFrame | undefined;
  /** withLog: per depth, the log entries of the frame's finished sub-calls (ethereumjs passes them up by identity). */
  private readonly childLogs: Set<unknown>[] = [];

  constructor(
    private readonly cfg: CallTracerOptions,
    private readonly out: BoundedText,
  ) {
    // Logs need their position among sub-calls, which only the LOG opcodes' steps tell.
    this.wantsSteps = cfg.withLog && !cfg.onlyTopCall;
  }

  txStart(_t: TxStart): void {}

  enter(f: FrameStart): void {
    if (this.cfg.withLog) this.childLogs[f.depth] = new Set();
    if (this.cfg.onlyTopCall && f.depth > 0) return;
    this.out.charge(FRAME_OVERHEAD_BYTES + 2 * f.input.length);
    const frame: CallFrame = {
      type: f.kind,
      from: f.from,
      to: f.to,
      input: f.input,
      gas: f.gas,
      gasUsed: 0n,
      value: f.value,
      calls: [],
      logs: [],
    };
    if (f.to !== undefined && f.kind !== "CREATE" && f.kind !== "CREATE2") {
      frame.decoded = decodeNativeCall(f.to, f.input);
    }
    this.stack.push(frame);
  }

  created(depth: number, address: Uint8Array): void {
    const frame = this.stack[depth];
    if (frame !== undefined && frame.to === undefined) frame.to = address;
  }

  step(s: InterpreterStep): void {
    const frame = this.stack[s.depth];
    if (frame === undefined) return;
    frame.stepped = true;
    if (!LOG_OPS.has(s.opcode.name)) return;
    const n = s.stack.length;
    const offset = Number(s.stack[n - 1]);
    const size = Number(s.stack[n - 2]);
    const topics: Uint8Array[] = [];
    for (let i = 0; i < s.opcode.code - 0xa0; i++) topics.push(uintToWord(s.stack[n - 3 - i]));
    // Memory past its current size reads as zeros (the LOG expands it).
    const data = new Uint8Array(size);
    data.set(s.memory.subarray(offset, Math.min(offset + size, s.memory.length)));
    this.out.charge(FRAME_OVERHEAD_BYTES + 2 * size);
    frame.logs.push({ address: s.address.bytes, topics, data, position: frame.calls.length });
  }

  exit(e: FrameEnd): void {
    if (this.cfg.withLog && e.depth > 0) for (const l of e.logs) this.childLogs[e.depth - 1]?.add(l);
    if (this.cfg.onlyTopCall && e.depth > 0) return;
    const frame = this.stack.pop();
    if (frame === undefined) return;
    frame.gasUsed = e.gasUsed;
    if (e.createdAddress !== undefined && frame.to === undefined) frame.to = e.createdAddress;
    this.out.charge(2 * e.output.length);
    processOutput(frame, e);
    if (this.cfg.withLog && frame.stepped !== true) this.resultLogs(frame, e);
    const parent = this.stack[this.stack.length - 1];
    if (parent === undefined || e.depth === 0) this.root = frame;
    else parent.calls.push(frame);
  }

  /**
   * Logs of a frame seen without opcode steps (a native module, or the top frame with onlyTopCall):
   * those of its result that no sub-call emitted, placed after its sub-calls.
   */
  private resultLogs(frame: CallFrame, e: FrameEnd): void {
    if (frame.error !== undefined) return;
    const fromChildren = this.childLogs[e.depth];
    for (const entry of e.logs) {
      if (fromChildren?.has(entry)) continue;
      const [address, topics, data] = entry;
      this.out.charge(FRAME_OVERHEAD_BYTES + 2 * data.length);
      frame.logs.push({ address, topics, data, position: frame.calls.length });
    }
  }

  txEnd(t: TxEnd): void {
    const root = this.root;
    if (root === undefined) return;
    // geth: the top frame's gas is the transaction's gas limit and its gasUsed the receipt's.
    root.gas = t.gasLimit;
    root.gasUsed = t.gasUsed;
    if (this.cfg.withLog) clearFailedLogs(root, false);
  }

  write(): void {
    if (this.root === undefined) throw new Error("callTracer: no call was traced");
    writeFrame(this.out, this.root);
  }
}

/** geth's `callFrame.processOutput`. */
function processOutput(frame: CallFrame, e: FrameEnd): void {
  if (e.error === undefined) {
    frame.output = e.output;
    return;
  }
  frame.error = e.error;
  if (frame.type === "CREATE" || frame.type === "CREATE2") frame.to = undefined;
  if (!e.reverted || e.output.length === 0) return;
  frame.output = e.output;
  frame.revertReason = decodeRevertReason(e.output);
}

/** geth's `clearFailedLogs`: a failed frame's logs, and its children's, never happened. */
function clearFailedLogs(frame: CallFrame, parentFailed: boolean): void {
  const failed = frame.error !== undefined || parentFailed;
  if (failed) frame.logs = [];
  for (const c of frame.calls) clearFailedLogs(c, failed);
}

/** One frame as geth's JSON marshals it (gen_callframe_json.go: field order and omitempty rules). */
function writeFrame(out: BoundedText, f: CallFrame): void {
  let s = `{"from":"${hex(f.from)}","gas":"${quantity(f.gas)}","gasUsed":"${quantity(f.gasUsed)}"`;
  if (f.to !== undefined) s += `,"to":"${hex(f.to)}"`;
  s += `,"input":"${hex(f.input)}"`;
  if (f.output !== undefined && f.output.length > 0) s += `,"output":"${hex(f.output)}"`;
  if (f.error !== undefined) s += `,"error":${JSON.stringify(f.error)}`;
  if (f.revertReason !== undefined) s += `,"revertReason":${JSON.stringify(f.revertReason)}`;
  out.push(s);
  if (f.calls.length > 0) {
    out.push(`,"calls":[`);
    f.calls.forEach((c, i) => {
      if (i > 0) out.push(",");
      writeFrame(out, c);
    });
    out.push("]");
  }
  if (f.logs.length > 0) {
    const logs = f.logs.map(
      (l) =>
        `{"address":"${hex(l.address)}","topics":[${l.topics.map((t) => `"${hex(t)}"`).join(",")}],"data":"${hex(l.data)}","position":"${quantity(l.position)}"}`,
    );
    out.push(`,"logs":[${logs.join(",")}]`);
  }
  let tail = "";
  if (f.value !== undefined) tail += `,"value":"${quantity(f.value)}"`;
  tail += `,"type":"${f.type}"`;
  if (f.decoded !== undefined) tail += `,"decoded":${JSON.stringify(f.decoded)}`;
  out.push(`${tail}}`);
}
