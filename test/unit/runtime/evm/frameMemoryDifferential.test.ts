import { Address } from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import { getCreateAddress } from "ethers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FRAME_MEMORY_INITIAL_BYTES } from "../../../../runtime/evm/frameInterpreter.js";
import type { AzoraEVM } from "../../../../runtime/modules/evm.js";
import { bytesToHex, hexToBytes } from "../../../../runtime/primitives/bytes.js";
import { runBlock, SENDERS, txMaker, type World, world } from "./evmDifferential.js";

/**
 * Differential test of `createFrameInterpreter` (runtime/evm/frameInterpreter.ts: a frame's memory starts with a
 * 1 KB store, not 8 KB): random programs of memory opcodes — MSTORE, MSTORE8, MLOAD, MSIZE, KECCAK256,
 * CALLDATACOPY, CODECOPY, MCOPY, RETURNDATACOPY, LOG1 — at offsets on both sides of the first store's end and of
 * the 8 KB containers `Memory.extend` grows by, calls to another program with argument and return ranges there
 * (nested frames, each with its own memory), ending in RETURN or REVERT of such a range, with gas limits that
 * run out at random points: the same state roots, receipts (logs), gas, return data and errors as ethereumjs's
 * own `runInterpreter` (lean frames off).
 */

const K = FRAME_MEMORY_INITIAL_BYTES;
/** Offsets and lengths around the first store's end and the 8 KB containers. */
const offsetArb = fc.oneof(
  fc.constantFrom(0, 1, 31, 32, K - 33, K - 32, K - 1, K, K + 1, 8192 - 32, 8192, K + 8192 - 1, K + 8192, 16_383),
  fc.nat(20_000),
);
const lengthArb = fc.oneof(fc.constantFrom(0, 1, 32, 33, K, K + 1, 8192), fc.nat(3_000));
const push2 = (v: number) => [0x61, (v >> 8) & 0xff, v & 0xff];

/** The address of program `i` (contract `i + 1` of sender 0; set by the test before the programs are built). */
let programAddress: (i: number) => Uint8Array = () => new Uint8Array(20);

const pieceArb: fc.Arbitrary<number[]> = fc.oneof(
  fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), offsetArb).map(([v, o]) => [
    0x7f,
    ...hexToBytes(`0x${v.toString(16).padStart(64, "0")}`),
    ...push2(o),
    0x52, // MSTORE
  ]),
  fc.tuple(fc.nat(255), offsetArb).map(([v, o]) => [0x60, v, ...push2(o), 0x53]), // MSTORE8
  offsetArb.map((o) => [...push2(o), 0x51, 0x60, 0x00, 0x55]), // SSTORE(0, MLOAD(o))
  fc.constant<number[]>([0x59, 0x60, 0x01, 0x55]), // SSTORE(1, MSIZE)
  fc.tuple(offsetArb, lengthArb).map(([o, n]) => [...push2(n), ...push2(o), 0x20, 0x60, 0x02, 0x55]), // SSTORE(2, KECCAK256)
  fc.tuple(offsetArb, offsetArb, lengthArb).map(([d, s, n]) => [...push2(n), ...push2(s), ...push2(d), 0x37]), // CALLDATACOPY
  fc.tuple(offsetArb, fc.nat(200), lengthArb).map(([d, s, n]) => [...push2(n), ...push2(s), ...push2(d), 0x39]), // CODECOPY
  fc.tuple(offsetArb, offsetArb, lengthArb).map(([d, s, n]) => [...push2(n), ...push2(s), ...push2(d), 0x5e]), // MCOPY
  offsetArb.map((d) => [0x3d, 0x60, 0x00, ...push2(d), 0x3e]), // RETURNDATACOPY(d, 0, RETURNDATASIZE)
  fc.tuple(offsetArb, lengthArb).map(([o, n]) => [0x60, 0x07, ...push2(n), ...push2(o), 0xa1]), // LOG1
  // CALL(gas/2, program, 0, in, inLen, out, outLen), then SSTORE(3, success)
  fc.tuple(fc.nat(3), offsetArb, lengthArb, offsetArb, lengthArb).map(([p, i, il, o, ol]) => [
    ...push2(ol),
    ...push2(o),
    ...push2(il),
    ...push2(i),
    0x60,
    0x00,
    0x73,
    ...programAddress(p),
    0x60,
    0x02,
    0x5a,
    0x04, // GAS / 2
    0xf1,
    0x60,
    0x03,
    0x55,
  ]),
);

/** A program: memory pieces, then RETURN or REVERT of a range. */
const programArb = fc
  .tuple(fc.array(pieceArb, { minLength: 1, maxLength: 12 }), offsetArb, lengthArb, fc.boolean())
  .map(([pieces, o, n, revert]) => Uint8Array.from([...pieces.flat(), ...push2(n), ...push2(o), revert ? 0xfd : 0xf3]));

/** Initcode that returns `runtime`. */
function initcode(runtime: Uint8Array): Uint8Array {
  const n = runtime.length;
  return Uint8Array.from([0x61, n >> 8, n & 0xff, 0x80, 0x60, 12, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3, ...runtime]);
}

const lean = (on: boolean) => (vm: VM) => {
  (vm.evm as AzoraEVM).leanFrames = on;
};

/** An eth_call of `to` (state thrown away): return data, gas, error. */
async function call(w: World, to: string, data: Uint8Array, gasLimit: bigint): Promise<string> {
  await w.vm.stateManager.checkpoint();
  try {
    const r = await w.vm.evm.runCall({
      caller: new Address(hexToBytes(SENDERS[1] as `0x${string}`)),
      to: new Address(hexToBytes(to as `0x${string}`)),
      data,
      gasLimit,
      skipBalance: true,
    });
    const x = r.execResult;
    return `${bytesToHex(x.returnValue)} ${x.executionGasUsed} ${x.exceptionError?.error ?? ""} ${x.logs?.length}`;
  } finally {
    await w.vm.stateManager.revert();
  }
}

describe("a frame's 1 KB first memory store: differential against ethereumjs's Interpreter", () => {
  it("same roots, receipts, gas, return data and errors for random memory programs and eth_calls", async () => {
    programAddress = (i) => hexToBytes(getCreateAddress({ from: SENDERS[0], nonce: i % 3 }) as `0x${string}`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(programArb, { minLength: 3, maxLength: 3 }),
        fc.array(
          fc.record({
            program: fc.nat(2),
            data: fc.uint8Array({ maxLength: 64 }),
            gas: fc.oneof(fc.integer({ min: 22_100, max: 60_000 }), fc.constant(1_000_000)),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        async (programs, runs) => {
          const worlds = [await world(lean(true)), await world(lean(false))];
          const tx = txMaker(worlds[0]);
          const setup = programs.map((p) => tx(0, undefined, initcode(p), 3_000_000n));
          const addresses = programs.map((_, i) => getCreateAddress({ from: SENDERS[0], nonce: i }));
          const block = runs.map((r) => tx(1, addresses[r.program], r.data, BigInt(r.gas)));
          const seen: string[][] = [[], []];
          for (const [i, w] of worlds.entries()) {
            seen[i].push(JSON.stringify(await runBlock(w, setup)));
            seen[i].push(JSON.stringify(await runBlock(w, block)));
            for (const r of runs) seen[i].push(await call(w, addresses[r.program], r.data, BigInt(r.gas)));
          }
          expect(seen[0]).toEqual(seen[1]);
        },
      ),
      { numRuns: 20 },
    );
  });
});
