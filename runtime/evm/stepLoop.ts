import type { EVM } from "@ethereumjs/evm";
import { EVMError } from "@ethereumjs/evm";
import { BIGINT_0, EthereumJSErrorWithoutCode } from "@ethereumjs/util";
import { interpreterClass } from "./interpreterHook.js";
import { assertPinnedSource } from "./pinnedSource.js";
import { isWordOp, withWordOps } from "./wordOps.js";

/**
 * `Interpreter.run` (a call frame's opcode loop) of the pinned @ethereumjs/evm, line for line for legacy
 * code, but for one thing: an opcode with a static fee and a synchronous handler (PUSH, DUP, SWAP, JUMP,
 * arithmetic: 271 of the 299 steps of an OpenZeppelin ERC-20 transfer) runs inline instead of through
 * `await this.runStep(…)`. `runStep` is an `async` method, so ethereumjs pays a promise, an async frame and
 * a microtask turn for every opcode, although only dynamic-gas handlers (all `async` in ethereumjs: they
 * may read state) and async opcodes (SLOAD, CALL, …) ever wait for anything. The inline step does what
 * `runStep` does for such an opcode when nothing observes steps: the invalid-opcode check, the base fee,
 * the program counter, EIP-7928's pending call-OOG, the handler, the access witness's commit. Every other
 * opcode, and every opcode while a `step` listener or DEBUG is on, still goes through `runStep`.
 *
 * Frames this port does not cover run ethereumjs's own `run`: EOF code (EIP-3540 active and a 0xEF
 * prefix), code-chunk charging (EIP-6800/7864 stateless access), and the opcode profiler.
 *
 * The originals' sources (`run`, `runStep`, `useGas`) are fingerprinted: if ethereumjs changes one,
 * loading fails here, loudly, instead of running a stale copy (the version is pinned exactly; update the
 * port and the hashes together).
 */
const PINNED_SOURCES_SHA256 = {
  run: "8e769d9b5ec21205c8c64ae416deb303b1bece964d69a1179dd14f94a0ae1412",
  runStep: "cc2ccda2341c2f427a6a856a7a742584963f55fab622482b7f32ebbd02f39601",
  useGas: "2362d4d43a082739c100bca02c4666280fd30a1cce68799a7c61c72ce8b48ea9",
} as const;

/** An opcode-table entry (`EVM._opcodeMap[op]`, the analysis's `opcodesCached[pc]`). */
interface OpEntry {
  opcodeInfo: { code: number; feeBigInt: bigint; dynamicGas: boolean; isAsync: boolean; isInvalid: boolean };
  opHandler: (runState: RunState, common: unknown) => unknown;
}

/** The parts of ethereumjs's `RunState` the loop touches. */
interface RunState {
  code: Uint8Array;
  programCounter: number;
  opCode: number;
  gasLeft: bigint;
  gasRefund: bigint;
  stateGasSpilled?: bigint;
  validJumps: Uint8Array;
  cachedPushes: Record<number, bigint>;
  shouldDoJumpAnalysis: boolean;
  eip8037BurnLeftoverAfterCreateHaltOntoAlive?: boolean;
  env: { accessWitness?: { commit(): void; revert(): void }; chargeCodeAccesses?: boolean };
}

export interface FrameRun {
  runState: RunState;
  exceptionError?: EVMError;
}

/** ethereumjs's `Interpreter` (not exported by the package): what the loop reads of it. */
export interface FrameInterpreter {
  _evm: EVM & { DEBUG: boolean; events: { listenerCount(event: string): number } };
  _runState: RunState;
  _env: { chargeCodeAccesses?: boolean };
  common: EVM["common"];
  profilerOpts?: { enabled?: boolean };
  run(code: Uint8Array, opts: { pc?: number }): Promise<FrameRun>;
  runStep(opcodeObj?: OpEntry): Promise<void>;
  useGas(amount: bigint, context?: unknown): void;
  lookupOpInfo(op: number): OpEntry;
  _getValidJumpDestinations(code: Uint8Array): {
    jumps: Uint8Array;
    pushes: Record<number, bigint>;
    opcodesCached: OpEntry[];
  };
}

const entry = import.meta.resolve("@ethereumjs/evm");
const { consumeEip7928PostTargetCallOog } = (await import(new URL("./opcodes/EIP7928.js", entry).href)) as {
  consumeEip7928PostTargetCallOog: (runState: RunState) => void;
};
const { FORMAT } = (await import(new URL("./eof/constants.js", entry).href)) as { FORMAT: number };
const { EVMErrorTypeString } = (await import(new URL("./errors.js", entry).href)) as { EVMErrorTypeString: string };

const prototype = (interpreterClass as { prototype: FrameInterpreter }).prototype;
for (const [name, pinned] of Object.entries(PINNED_SOURCES_SHA256)) {
  const original = prototype[name as keyof typeof PINNED_SOURCES_SHA256];
  assertPinnedSource(`Interpreter.${name}`, original, pinned, "runtime/evm/stepLoop.ts");
}
if (typeof consumeEip7928PostTargetCallOog !== "function" || FORMAT !== 0xef) {
  throw new Error("@ethereumjs/evm's EIP-7928 or EOF internals changed: runtime/evm/stepLoop.ts must be updated");
}

/**
 * An EVM opts out by setting this to false (tests compare a world with the inline steps to one without).
 * A registered symbol, like `CODE_ANALYSIS`: test runners may evaluate this module more than once.
 */
export const INLINE_STEPS: unique symbol = Symbol.for("azora.evm.inlineSteps") as never;
/** Likewise for wordOps.ts's handlers (on by default; only read where the inline steps run). */
export const WORD_OPS: unique symbol = Symbol.for("azora.evm.wordOps") as never;

/** `interpreter.run(code, opts)`, with static-fee synchronous opcodes stepped inline where the port covers the frame. */
export function runFrameCode(
  interpreter: FrameInterpreter,
  code: Uint8Array,
  opts: { pc?: number },
): Promise<FrameRun> {
  const common = interpreter.common;
  if (
    (interpreter._evm as { [INLINE_STEPS]?: boolean })[INLINE_STEPS] === false ||
    (common.isActivatedEIP(3540) && code[0] === FORMAT) ||
    ((common.isActivatedEIP(6800) || common.isActivatedEIP(7864)) &&
      (interpreter._env.chargeCodeAccesses === true || interpreter._runState.env.chargeCodeAccesses === true)) ||
    interpreter.profilerOpts?.enabled === true
  ) {
    return interpreter.run(code, opts);
  }
  return runLegacyCode(interpreter, code, opts, (interpreter._evm as { [WORD_OPS]?: boolean })[WORD_OPS] !== false);
}

/** The legacy-code path of `Interpreter.run`, ported (the profiler's timers and the EIP-7864 witness check cannot occur here). */
async function runLegacyCode(
  interpreter: FrameInterpreter,
  code: Uint8Array,
  opts: { pc?: number },
  wordOps: boolean,
): Promise<FrameRun> {
  const runState = interpreter._runState;
  const evm = interpreter._evm;
  const common = interpreter.common;
  runState.code = code;
  runState.programCounter = opts.pc ?? runState.programCounter;
  // Check that the programCounter is in range
  const pc = runState.programCounter;
  if (pc !== 0 && (pc < 0 || pc >= runState.code.length)) {
    throw EthereumJSErrorWithoutCode("Internal error: program counter not in range");
  }
  let err: EVMError | undefined;
  let cachedOpcodes: OpEntry[] | undefined;
  let doJumpAnalysis = true;
  // Iterate through the given ops until something breaks or we hit STOP
  while (runState.programCounter < runState.code.length) {
    const programCounter = runState.programCounter;
    let opCode: number;
    let opCodeObj: OpEntry | undefined;
    if (doJumpAnalysis) {
      opCode = runState.code[programCounter];
      // Only run the jump destination analysis if `code` actually contains a JUMP/JUMPI/JUMPSUB opcode
      if (opCode === 0x56 || opCode === 0x57 || opCode === 0x5e) {
        const { jumps, pushes, opcodesCached } = interpreter._getValidJumpDestinations(runState.code);
        runState.validJumps = jumps;
        runState.cachedPushes = pushes;
        runState.shouldDoJumpAnalysis = false;
        cachedOpcodes = opcodesCached;
        doJumpAnalysis = false;
      }
    } else {
      opCodeObj = (cachedOpcodes as OpEntry[])[programCounter];
      opCode = opCodeObj.opcodeInfo.code;
    }
    runState.opCode = opCode;
    try {
      const opEntry = opCodeObj ?? interpreter.lookupOpInfo(opCode);
      const opInfo = opEntry.opcodeInfo;
      if (opInfo.dynamicGas || opInfo.isAsync || evm.events.listenerCount("step") > 0 || evm.DEBUG) {
        // MSTORE, SLOAD and LOGn (dynamic gas) step with wordOps.ts's handlers: their words made without hex round trips
        await interpreter.runStep(wordOps && isWordOp(opCode) ? withWordOps(opCode, opEntry) : opCodeObj);
      } else {
        // `runStep` for a static-fee synchronous opcode with no step observer, without its promise.
        if (opInfo.isInvalid) {
          throw new EVMError(EVMError.errorMessages.INVALID_OPCODE);
        }
        interpreter.useGas(opInfo.feeBigInt, opInfo);
        runState.programCounter++;
        consumeEip7928PostTargetCallOog(runState);
        const opFn = opEntry.opHandler;
        opFn(runState, common);
        runState.env.accessWitness?.commit();
      }
    } catch (e) {
      // Revert access witness changes if we revert - per EIP-4762
      runState.env.accessWitness?.revert();
      // re-throw on non-VM errors
      if (!("errorType" in (e as object) && (e as { errorType: unknown }).errorType === EVMErrorTypeString)) {
        throw e;
      }
      // STOP is not an exception
      if ((e as EVMError).error !== EVMError.errorMessages.STOP) {
        err = e as EVMError;
      }
      break;
    }
  }
  if (
    err === undefined &&
    runState.eip8037BurnLeftoverAfterCreateHaltOntoAlive === true &&
    runState.gasLeft > BIGINT_0
  ) {
    // Consume leftover and exceptional-halt this frame so the CREATE nonce
    // bump is journal-reverted (fill post-state keeps the pre-create nonce)
    // while EIP-7928 BAL reads from the following SSTORE remain.
    runState.gasLeft = BIGINT_0;
    err = new EVMError(EVMError.errorMessages.OUT_OF_GAS);
  }
  return {
    runState,
    exceptionError: err,
  };
}
