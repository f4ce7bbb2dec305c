import { createHash } from "node:crypto";
import type { EVM } from "@ethereumjs/evm";
import { BIGINT_0, EthereumJSErrorWithoutCode } from "@ethereumjs/util";
import { interpreterClass } from "./interpreterHook.js";

/**
 * `new Interpreter(…)` of the pinned @ethereumjs/evm (a call frame's interpreter), line for line, but for
 * one thing: the frame's memory starts with a 1 KB store, not ethereumjs's 8 KB container. Every frame
 * allocates that store, zero-filled, outside V8's heap (a typed array over 64 bytes), before its first
 * opcode; an OpenZeppelin ERC-20 transfer touches the first ~0x100 bytes of it. The store's size is not
 * observable: `Memory.extend` grows it (by whole 8 KB containers, as before) whenever a write or read
 * goes past its end, and reads past what was written see zeros either way; MSIZE and memory gas count
 * `memoryWordCount`, not the store.
 *
 * The originals' sources (the whole `Interpreter` and `Memory` classes) are fingerprinted: if ethereumjs
 * changes either, loading fails here, loudly, instead of building a stale copy (the version is pinned
 * exactly; update the port and the hashes together).
 */
const PINNED_SOURCES_SHA256 = {
  Interpreter: "137939166a656c1167e057c7a521961206dff2c7acaec2815e0731729c660a0d",
  Memory: "ab11f192cc3f5e7a912eeadcadf835e1f2fa48572aa7e9d2c59417876eebf306",
} as const;

/** The first memory store of a frame, in bytes (a multiple of 32, as `Memory.extend` keeps it). */
export const FRAME_MEMORY_INITIAL_BYTES = 1024;

/**
 * An EVM may set its frames' first store size under this key (8192 is ethereumjs's: benches and tests compare).
 * A registered symbol, like `CODE_ANALYSIS`: test runners may evaluate this module more than once.
 */
export const FRAME_MEMORY_BYTES: unique symbol = Symbol.for("azora.evm.frameMemoryBytes") as never;

const entry = import.meta.resolve("@ethereumjs/evm");
const { Memory } = (await import(new URL("./memory.js", entry).href)) as { Memory: { prototype: object } };
const { Stack } = (await import(new URL("./stack.js", entry).href)) as { Stack: new () => object };

for (const [name, source] of [
  ["Interpreter", String(interpreterClass)],
  ["Memory", String(Memory)],
] as const) {
  const fingerprint = createHash("sha256").update(source).digest("hex");
  if (fingerprint !== PINNED_SOURCES_SHA256[name]) {
    throw new Error(
      `@ethereumjs/evm's ${name} class changed (sha256 ${fingerprint}): runtime/evm/frameInterpreter.ts is a port of its set-up and must be updated`,
    );
  }
}

/** A `Memory` whose store starts at `bytes` (ethereumjs's constructor sets only `_store`). */
function frameMemory(bytes: number): object {
  const memory = Object.create(Memory.prototype) as { _store: Uint8Array };
  memory._store = new Uint8Array(bytes);
  return memory;
}

/** What the constructor is given (ethereumjs's `Env` and the EVM's collaborators). */
interface FrameEnv {
  gasRefund: bigint;
  initialLogs?: unknown[];
}

/**
 * `new Interpreter(evm, stateManager, blockchain, env, gasLeft, journal, performanceLogs, profilerOpts)`, with the
 * first memory store `evm[FRAME_MEMORY_BYTES]` bytes (default `FRAME_MEMORY_INITIAL_BYTES`).
 */
export function createFrameInterpreter(
  evm: EVM,
  stateManager: unknown,
  blockchain: unknown,
  env: FrameEnv,
  gasLeft: bigint,
  journal: unknown,
  performanceLogs: unknown,
  profilerOpts: unknown,
): unknown {
  // biome-ignore lint/suspicious/noExplicitAny: the fields of ethereumjs's Interpreter, set as its constructor sets them
  const self: any = Object.create((interpreterClass as { prototype: object }).prototype);
  // Opcode debuggers (e.g. { 'push': [debug Object], 'sstore': [debug Object], ...})
  self.opDebuggers = {};
  self._evm = evm;
  self._stateManager = stateManager;
  self.common = self._evm.common;
  if (self.common.consensusType() === "poa" && self._evm._optsCached.cliqueSigner === undefined)
    throw EthereumJSErrorWithoutCode(
      "Must include cliqueSigner function if clique/poa is being used for consensus type",
    );
  self._runState = {
    programCounter: 0,
    opCode: 0xfe, // INVALID opcode
    memory: frameMemory((evm as { [FRAME_MEMORY_BYTES]?: number })[FRAME_MEMORY_BYTES] ?? FRAME_MEMORY_INITIAL_BYTES),
    memoryWordCount: BIGINT_0,
    highestMemCost: BIGINT_0,
    stack: new Stack(),
    code: new Uint8Array(0),
    validJumps: Uint8Array.from([]),
    cachedPushes: {},
    stateManager: self._stateManager,
    blockchain,
    env,
    shouldDoJumpAnalysis: true,
    interpreter: self,
    gasRefund: env.gasRefund,
    gasLeft,
    stateGasSpilled: BIGINT_0,
    returnBytes: new Uint8Array(0),
  };
  self.journal = journal;
  self._env = env;
  self._result = {
    logs: env.initialLogs ? [...env.initialLogs] : [],
    returnValue: undefined,
    selfdestruct: new Map(),
  };
  self.profilerOpts = profilerOpts;
  self.performanceLogger = performanceLogs;
  return self;
}
