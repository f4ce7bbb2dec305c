import { EVM, EVMError, type ExecResult, type Log, type Message } from "@ethereumjs/evm";
import { Account, BIGINT_0, createZeroAddress } from "@ethereumjs/util";
import { interpreterClass } from "./interpreterHook.js";
import { assertPinnedSource } from "./pinnedSource.js";
import { type FrameInterpreter as LoopInterpreter, runFrameCode } from "./stepLoop.js";

/**
 * `EVM.runInterpreter` (one call frame: build the interpreter, run the code, shape the result) of the
 * pinned @ethereumjs/evm 10.1.3, line for line, but for one thing: the result's `runState` is built
 * when first read, not for every frame. ethereumjs ends each frame with
 * `runState: { ...interpreterRes.runState, ...result, ...interpreter._env }` — a copy of ~50 properties
 * into a new object, the largest single self-time line of an ERC-20 transfer's execution in a CPU
 * profile (bench/execution.ts's world) — and neither ethereumjs (`runCall`, `runTx`, the CALL and CREATE
 * opcodes) nor this repository reads it. A frame's interpreter is dropped when `run` returns, so the copy
 * made on first read has the same fields as the one ethereumjs makes up front. The frame's opcode loop is
 * `stepLoop.ts`'s port of `Interpreter.run` (static-fee synchronous opcodes stepped without a promise).
 *
 * The original's source is fingerprinted: if ethereumjs changes it, loading fails here, loudly, instead of
 * running a stale copy (the version is pinned exactly; update the port and the hash together).
 */
const PINNED_SOURCE_SHA256 = "1f4905264075376daed820fac392b3d077c2aa2d3767bed3d5e25e50b360d4ca";

/** ethereumjs's `InterpreterOpts` (not exported by the package). */
export interface FrameOpts {
  pc?: number;
  initialLogs?: Log[];
}

type RunInterpreter = (this: EVM, message: Message, opts?: FrameOpts) => Promise<ExecResult>;
const original = (EVM.prototype as unknown as { runInterpreter: RunInterpreter }).runInterpreter;
assertPinnedSource("EVM.runInterpreter", original, PINNED_SOURCE_SHA256, "runtime/evm/frameResult.ts");

/** The EVM's members the frame set-up reads (protected or private in ethereumjs's types). */
interface EVMInternals {
  stateManager: EVM["stateManager"];
  blockchain: EVM["blockchain"];
  journal: EVM["journal"];
  performanceLogger: unknown;
  _optsCached: { profiler?: unknown };
  _tx?: { gasPrice: bigint; origin?: Message["caller"] };
  _block?: unknown;
}

interface FrameInterpreter {
  _result: Record<string, unknown> & { returnValue?: Uint8Array };
  _env: object;
  run(
    code: Uint8Array,
    opts: FrameOpts,
  ): Promise<{
    runState: { gasLeft: bigint; gasRefund: bigint; stateGasSpilled?: bigint } & object;
    exceptionError?: EVMError;
  }>;
}

const Interpreter = interpreterClass as unknown as new (...args: unknown[]) => FrameInterpreter;

/** `evm.runInterpreter(message, opts)` with the frame's `runState` copied on first read. */
export async function runFrame(evm: EVM, message: Message, opts: FrameOpts = {}): Promise<ExecResult> {
  const self = evm as unknown as EVMInternals;
  // Outside a runCall/runTx ethereumjs falls back to a default block (a private function): leave it that case.
  if (self._block === undefined || self._tx === undefined) return original.call(evm, message, opts);
  let contract = await self.stateManager.getAccount(message.to ?? createZeroAddress());
  if (!contract) {
    contract = new Account();
  }
  const env = {
    address: message.to ?? createZeroAddress(),
    caller: message.caller ?? createZeroAddress(),
    callData: message.data ?? Uint8Array.from([0]),
    callValue: message.value ?? BIGINT_0,
    code: message.code,
    isStatic: message.isStatic ?? false,
    isCreate: message.isCreate ?? false,
    depth: message.depth ?? 0,
    gasPrice: self._tx.gasPrice,
    origin: self._tx.origin ?? message.caller ?? createZeroAddress(),
    block: self._block,
    contract,
    codeAddress: message.codeAddress,
    gasRefund: message.gasRefund,
    chargeCodeAccesses: message.chargeCodeAccesses,
    blobVersionedHashes: message.blobVersionedHashes ?? [],
    accessWitness: message.accessWitness,
    createdAddresses: message.createdAddresses,
    initialLogs: opts.initialLogs,
  };
  const interpreter = new Interpreter(
    evm,
    self.stateManager,
    self.blockchain,
    env,
    message.gasLimit,
    self.journal,
    self.performanceLogger,
    self._optsCached.profiler,
  );
  if (message.selfdestruct) {
    interpreter._result.selfdestruct = message.selfdestruct;
  }
  if (message.createdAddresses) {
    interpreter._result.createdAddresses = message.createdAddresses;
  }
  const interpreterRes = await runFrameCode(
    interpreter as unknown as LoopInterpreter,
    message.code as Uint8Array,
    opts,
  );
  let result = interpreter._result;
  let gasUsed = message.gasLimit - interpreterRes.runState.gasLeft;
  if (interpreterRes.exceptionError) {
    if (
      interpreterRes.exceptionError.error !== EVMError.errorMessages.REVERT &&
      interpreterRes.exceptionError.error !== EVMError.errorMessages.INVALID_EOF_FORMAT
    ) {
      gasUsed = message.gasLimit;
    }
    // Clear the result on error
    result = {
      ...result,
      logs: [],
      selfdestruct: new Map(),
      createdAddresses: new Set(),
    };
  }
  message.accessWitness?.commit();
  const frameResult = result;
  let runState: object | undefined;
  return {
    ...result,
    get runState() {
      runState ??= { ...interpreterRes.runState, ...frameResult, ...interpreter._env };
      return runState;
    },
    set runState(value: object) {
      runState = value;
    },
    exceptionError: interpreterRes.exceptionError,
    gas: interpreterRes.runState?.gasLeft,
    executionGasUsed: gasUsed,
    gasRefund: interpreterRes.runState.gasRefund,
    stateGasSpilled: interpreterRes.runState.stateGasSpilled,
    returnValue: result.returnValue ?? new Uint8Array(0),
  } as unknown as ExecResult;
}
