/**
 * The EVM's call frames as a tracer sees them, from ethereumjs's `beforeMessage` / `afterMessage` /
 * `newContract` / `step` events: the call kind (CALL, STATICCALL, DELEGATECALL, CALLCODE, CREATE,
 * CREATE2), who called whom with what, and how each frame ended, with errors worded as geth words
 * them. Native modules are precompiles, so calls into them are frames like any other.
 */
import type { EVMResult, InterpreterStep, Message } from "@ethereumjs/evm";
import type { VM } from "@ethereumjs/vm";

export type CallKind = "CALL" | "STATICCALL" | "DELEGATECALL" | "CALLCODE" | "CREATE" | "CREATE2";

export interface FrameStart {
  kind: CallKind;
  /** geth's `from`: the caller, or for DELEGATECALL / CALLCODE the contract whose code makes the call. */
  from: Uint8Array;
  /** geth's `to`: the callee, the code address for DELEGATECALL / CALLCODE; undefined for a create until known. */
  to: Uint8Array | undefined;
  input: Uint8Array;
  gas: bigint;
  /** undefined for STATICCALL (geth shows no value there). */
  value: bigint | undefined;
  /** 0 for the transaction's own frame. */
  depth: number;
}

export interface FrameEnd {
  depth: number;
  output: Uint8Array;
  gasUsed: bigint;
  /** geth's wording (`execution reverted`, `out of gas`, …); undefined on success. */
  error: string | undefined;
  reverted: boolean;
  /** Set for a create frame that got an address. */
  createdAddress: Uint8Array | undefined;
  /** The frame's logs with those of its successful children, in emission order (ethereumjs's `execResult.logs`). */
  logs: [Uint8Array, Uint8Array[], Uint8Array][];
}

/** What a tracer implements; every hook is optional. */
export interface FrameHooks {
  /** Set to receive `step` (each opcode: costs a copy of memory per step in ethereumjs). */
  readonly wantsSteps: boolean;
  enter?(f: FrameStart): void;
  created?(depth: number, address: Uint8Array): void;
  exit?(e: FrameEnd): void;
  step?(s: InterpreterStep): void;
}

/** ethereumjs error strings → geth's (`core/vm/errors.go`). */
const GETH_ERRORS: Readonly<Record<string, string>> = {
  revert: "execution reverted",
  "out of gas": "out of gas",
  "code store out of gas": "contract creation code storage out of gas",
  "code size to deposit exceeds maximum code size": "max code size exceeded",
  "stack underflow": "stack underflow",
  "stack overflow": "stack limit reached 1024",
  "invalid JUMP": "invalid jump destination",
  "invalid opcode": "invalid opcode",
  "static state change": "write protection",
  "create collision": "contract address collision",
  "insufficient balance": "insufficient balance for transfer",
  "initcode exceeds max initcode size": "max initcode size exceeded",
  "invalid bytecode deployed": "invalid code: must not begin with 0xef",
  "value out of range": "return data out of bounds",
};

export function gethError(ethereumjsError: string): string {
  return GETH_ERRORS[ethereumjsError] ?? ethereumjsError;
}

function kindOf(m: Message): CallKind {
  if (m.to === undefined) return m.salt !== undefined ? "CREATE2" : "CREATE";
  if (m.delegatecall) return "DELEGATECALL";
  if (!m.codeAddress.equals(m.to)) return "CALLCODE";
  // ethereumjs marks every frame below a STATICCALL static, so a CALL made inside a static frame is
  // reported as STATICCALL too (geth names the opcode; Solidity emits STATICCALL there for views).
  return m.isStatic ? "STATICCALL" : "CALL";
}

/**
 * Listens to `vm`'s EVM for one traced transaction; returns the function that stops listening.
 * Only what the tracer asks for is listened to: without `wantsSteps` no per-opcode event is
 * emitted at all, which is what makes a callTracer cheap.
 */
export function attachFrames(vm: VM, hooks: FrameHooks): () => void {
  const events = vm.evm.events;
  if (events === undefined) throw new Error("tracing needs the EVM's events");
  const before = (m: Message) => {
    const kind = kindOf(m);
    const isCodeCall = kind === "DELEGATECALL" || kind === "CALLCODE";
    hooks.enter?.({
      kind,
      from: isCodeCall ? (m.to as NonNullable<Message["to"]>).bytes : m.caller.bytes,
      to: m.to === undefined ? undefined : isCodeCall ? m.codeAddress.bytes : m.to.bytes,
      // Copies: ethereumjs hands out views of EVM memory, which later opcodes overwrite.
      input: m.data.slice(),
      gas: m.gasLimit,
      value: kind === "STATICCALL" ? undefined : m.value,
      depth: m.depth,
    });
  };
  // afterMessage carries no depth: frames nest, so the depth of the frame that ends is tracked here.
  let depth = -1;
  const beforeDepth = (m: Message) => {
    depth = m.depth;
  };
  const after = (r: EVMResult) => {
    const err = r.execResult.exceptionError?.error;
    hooks.exit?.({
      depth,
      output: r.execResult.returnValue.slice(),
      gasUsed: r.execResult.executionGasUsed,
      error: err === undefined ? undefined : gethError(err),
      reverted: err === "revert",
      createdAddress: r.createdAddress?.bytes,
      logs: (r.execResult.logs ?? []) as FrameEnd["logs"],
    });
    depth--;
  };
  const created = (e: { address: { bytes: Uint8Array } }) => hooks.created?.(depth, e.address.bytes);
  const onBefore = (m: Message) => {
    beforeDepth(m);
    before(m);
  };
  events.on("beforeMessage", onBefore);
  events.on("afterMessage", after);
  events.on("newContract", created);
  let onStep: ((s: InterpreterStep) => void) | undefined;
  if (hooks.wantsSteps && hooks.step !== undefined) {
    // One parameter: ethereumjs calls it synchronously (a two-parameter listener is awaited per step).
    onStep = hooks.step.bind(hooks);
    events.on("step", onStep);
  }
  return () => {
    events.off("beforeMessage", onBefore);
    events.off("afterMessage", after);
    events.off("newContract", created);
    if (onStep !== undefined) events.off("step", onStep);
  };
}
