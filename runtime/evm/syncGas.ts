import { EVMError } from "@ethereumjs/evm";
import { assertPinnedSource } from "./pinnedSource.js";

/**
 * The dynamic-gas handlers of the pinned @ethereumjs/evm that only price memory (MLOAD, MSTORE, MSTORE8, KECCAK256,
 * RETURN, REVERT, LOG0–LOG4; not CALLDATACOPY and the like, whose handlers ethereumjs marks async), line for line, but for one thing: they are plain functions. ethereumjs
 * declares every gas handler `async` (some read state) and `runStep` awaits it, so each of these steps — ~17 of the
 * 28 steps of an OpenZeppelin ERC-20 transfer that `stepLoop.ts` cannot run inline — pays two promises and two
 * microtask turns (`runStep`'s own and the handler's) for arithmetic. With these, `stepLoop.ts` steps such an
 * opcode (a synchronous handler) inline, as it does a static-fee one.
 *
 * The originals' sources are fingerprinted: if ethereumjs changes one, loading fails here, loudly, instead of
 * running a stale copy (the version is pinned exactly; update the port and the hashes together).
 */
const PINNED_SOURCES_SHA256: Record<number, string> = {
  32: "5842e8c742c7782cd4c02093b73b8b3356fe0948ba514f3e74b1b5e0f2b884db",
  55: "c1c4be957f61e467f91445ce912eeb550a0feaab911b227621a0c35f16083464",
  81: "160c132911371eb2b4ff17e3bbffae36cf3885d21f72bac6d617780a06ae6e5f",
  82: "6ad9393e3de696fe06da6545652cda7f7cc7406a743694e10797e8c04c9353df",
  83: "50702563129d262a5c8dc3a32fa139df3a69343a27be01995f89e2e8f5380e2d",
  160: "de048fe2e93ad689bcfb4c2188832cca487f8deca348b1f6cdd9b0fa2779ee69",
  243: "78f2f17fb10abd8e05b44d5b8ba77ec162a4207256e42273964b86613f6a811a",
  253: "78f2f17fb10abd8e05b44d5b8ba77ec162a4207256e42273964b86613f6a811a",
};

/** What the ported handlers touch of ethereumjs's `RunState`. */
interface GasRunState {
  stack: { peek(n?: number): bigint[] };
  opCode: number;
  interpreter: { isStatic(): boolean };
}
interface GasCommon {
  param(name: string): bigint;
}
/** A dynamic-gas handler made synchronous: the opcode's fee plus its dynamic part. */
export type SyncGasHandler = (runState: GasRunState, gas: bigint, common: GasCommon) => bigint;

const entry = import.meta.resolve("@ethereumjs/evm");
const { dynamicGasHandlers } = (await import(new URL("./opcodes/gas.js", entry).href)) as {
  dynamicGasHandlers: Map<number, unknown>;
};
const { subMemUsage, divCeil, trap } = (await import(new URL("./opcodes/util.js", entry).href)) as {
  subMemUsage(runState: GasRunState, offset: bigint, length: bigint, common: GasCommon): bigint;
  divCeil(a: bigint, b: bigint): bigint;
  trap(err: string): never;
};
if (typeof subMemUsage !== "function" || typeof divCeil !== "function" || typeof trap !== "function") {
  throw new Error("@ethereumjs/evm's opcode utilities changed: runtime/evm/syncGas.ts must be updated");
}

const BIGINT_1 = BigInt(1);
const BIGINT_32 = BigInt(32);

/** The ports, by opcode. */
const PORTS: Record<number, SyncGasHandler> = {
  /* KECCAK256 */
  32(runState, gas, common) {
    const [offset, length] = runState.stack.peek(2);
    gas += subMemUsage(runState, offset, length, common);
    gas += common.param("keccak256WordGas") * divCeil(length, BIGINT_32);
    return gas;
  },
  /* MLOAD */
  81(runState, gas, common) {
    const pos = runState.stack.peek()[0];
    gas += subMemUsage(runState, pos, BIGINT_32, common);
    return gas;
  },
  /* MSTORE */
  82(runState, gas, common) {
    const offset = runState.stack.peek()[0];
    gas += subMemUsage(runState, offset, BIGINT_32, common);
    return gas;
  },
  /* MSTORE8 */
  83(runState, gas, common) {
    const offset = runState.stack.peek()[0];
    gas += subMemUsage(runState, offset, BIGINT_1, common);
    return gas;
  },
  /* LOG */
  160(runState, gas, common) {
    if (runState.interpreter.isStatic()) {
      trap(EVMError.errorMessages.STATIC_STATE_CHANGE);
    }
    const [memOffset, memLength] = runState.stack.peek(2);
    const topicsCount = runState.opCode - 0xa0;
    if (topicsCount < 0 || topicsCount > 4) {
      trap(EVMError.errorMessages.OUT_OF_RANGE);
    }
    gas += subMemUsage(runState, memOffset, memLength, common);
    gas += common.param("logTopicGas") * BigInt(topicsCount) + memLength * common.param("logDataGas");
    return gas;
  },
  /* RETURN */
  243(runState, gas, common) {
    const [offset, length] = runState.stack.peek(2);
    gas += subMemUsage(runState, offset, length, common);
    return gas;
  },
  /* REVERT */
  253(runState, gas, common) {
    const [offset, length] = runState.stack.peek(2);
    gas += subMemUsage(runState, offset, length, common);
    return gas;
  },
};

/** ethereumjs's handler → its port (LOG1–LOG4 share LOG0's handler in ethereumjs's table). */
const byOriginal = new Map<unknown, SyncGasHandler>();
for (const [op, pinned] of Object.entries(PINNED_SOURCES_SHA256)) {
  const original = dynamicGasHandlers.get(Number(op));
  assertPinnedSource(`gas handler 0x${Number(op).toString(16)}`, original, pinned, "runtime/evm/syncGas.ts");
  byOriginal.set(original, PORTS[Number(op)]);
}

/**
 * The synchronous port of `gasHandler` (an entry's of the EVM's opcode table), or undefined when it is not one of
 * ethereumjs's memory-pricing handlers (a custom opcode's is left alone).
 */
export function syncGasHandler(gasHandler: unknown): SyncGasHandler | undefined {
  return byOriginal.get(gasHandler);
}
