import type { VM } from "@ethereumjs/vm";
import { getCreateAddress } from "ethers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { INLINE_STEPS } from "../../../../runtime/evm/stepLoop.js";
import type { AzoraEVM } from "../../../../runtime/modules/evm.js";
import { hexToBytes } from "../../../../runtime/primitives/bytes.js";
import {
  callOf,
  deployToken,
  erc20,
  ethCall,
  runBlock,
  SENDERS,
  txMaker,
  type World,
  withRefund,
  world,
} from "./evmDifferential.js";

/**
 * Differential test of `runFrameCode` (runtime/evm/stepLoop.ts, ethereumjs's `Interpreter.run` with static-fee
 * synchronous opcodes stepped inline): random programs — arithmetic, comparisons, stack and environment
 * opcodes, PUSHes (some cut off by the end of the code), JUMPs to real and fake JUMPDESTs, memory (with operands
 * that grow it, aligned or not), storage and transient storage, LOG0–LOG4, undefined opcodes, INVALID, RETURN and
 * REVERT, and stack underflows — run as transactions
 * with gas limits that run out at random points and as eth_calls, beside OpenZeppelin ERC-20 transfers. Three
 * worlds must agree on state roots, receipts, gas, return data and errors: the inline steps, the same VM with
 * ethereumjs's own `run` (INLINE_STEPS off), and ethereumjs's own `runInterpreter` (lean frames off).
 */

/** Opcodes drawn for the programs, biased to the ones the inline step runs. */
const STATIC_OPS = [
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
  0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x30, 0x32, 0x33, 0x34, 0x35, 0x36, 0x38, 0x3a, 0x3d, 0x41, 0x42, 0x43, 0x44, 0x45,
  0x46, 0x48, 0x50, 0x58, 0x59, 0x5a, 0x5b, 0x5f, 0x80, 0x81, 0x82, 0x83, 0x8f, 0x90, 0x91, 0x92, 0x9f,
];
/** Dynamic-gas or async opcodes and the ones that end a frame. */
const OTHER_OPS = [
  0x0a, 0x20, 0x37, 0x51, 0x52, 0x53, 0x54, 0x55, 0x5c, 0x5d, 0xa0, 0xa1, 0xa3, 0xa4, 0x00, 0xf3, 0xfd, 0xfe, 0x0c,
  0x21, 0xef, 0x4f,
];

const pieceArb: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...STATIC_OPS).map((op) => [op]) },
  { weight: 2, arbitrary: fc.constantFrom(...OTHER_OPS).map((op) => [op]) },
  // PUSH1 value
  { weight: 5, arbitrary: fc.nat(255).map((v) => [0x60, v]) },
  // PUSHn with n random bytes
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 32 })
      .chain((n) => fc.array(fc.nat(255), { minLength: n, maxLength: n }).map((b) => [0x5f + n, ...b])),
  },
  // PUSH1 dest JUMP / JUMPI: real or fake JUMPDESTs
  { weight: 2, arbitrary: fc.tuple(fc.nat(63), fc.constantFrom(0x56, 0x57)).map(([d, op]) => [0x60, d, op]) },
  // memory opcodes with their operands: MSTORE, MSTORE8, MLOAD, KECCAK256, CALLDATACOPY, LOG0–LOG2
  { weight: 3, arbitrary: memoryPieceArb() },
);

/** A memory opcode with its operands, leaving the stack as it found it (offsets aligned or not, growing memory). */
function memoryPieceArb(): fc.Arbitrary<number[]> {
  const offset = fc.oneof(fc.nat(96), fc.nat(1_200));
  const length = fc.oneof(fc.nat(64), fc.nat(400));
  return fc.oneof(
    // PUSH1 value PUSH2 offset MSTORE / MSTORE8
    fc.tuple(fc.nat(255), offset, fc.constantFrom(0x52, 0x53)).map(([v, off, op]) => [0x60, v, ...push2(off), op]),
    // PUSH2 offset MLOAD POP
    offset.map((off) => [...push2(off), 0x51, 0x50]),
    // PUSH2 length PUSH2 offset KECCAK256 POP
    fc.tuple(length, offset).map(([len, off]) => [...push2(len), ...push2(off), 0x20, 0x50]),
    // topics, PUSH2 length PUSH2 offset LOG0–LOG2
    fc
      .tuple(length, offset, fc.nat(2))
      .map(([len, off, n]) => [...[0x60, 7, 0x60, 9].slice(0, 2 * n), ...push2(len), ...push2(off), 0xa0 + n]),
    // PUSH2 length PUSH1 dataOffset PUSH2 memOffset CALLDATACOPY
    fc.tuple(length, fc.nat(40), offset).map(([len, src, off]) => [...push2(len), 0x60, src, ...push2(off), 0x37]),
    // MSIZE GAS ADD PUSH0 MSTORE: the memory size and the gas left, into the return data
    fc.constant<number[]>([0x59, 0x5a, 0x01, 0x5f, 0x52]),
  );
}

function push2(n: number): number[] {
  return [0x61, n >> 8, n & 0xff];
}

/** A program: a few PUSHes, random pieces, maybe ending in a PUSH its code cuts off. */
const programArb = fc
  .tuple(
    // a stack to work on, so most programs run well past their first opcodes before they underflow
    fc.array(fc.nat(255), { maxLength: 12 }),
    fc.array(pieceArb, { minLength: 1, maxLength: 60 }),
    fc.boolean(),
  )
  .map(([stack, pieces, cut]) =>
    Uint8Array.from([...stack.flatMap((v) => [0x60, v]), ...pieces.flat(), ...(cut ? [0x7f, 1, 2] : [])]),
  );

/** Initcode that returns `runtime`. */
function initcode(runtime: Uint8Array): Uint8Array {
  const n = runtime.length;
  return Uint8Array.from([0x61, n >> 8, n & 0xff, 0x80, 0x60, 12, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3, ...runtime]);
}

const inline = (on: boolean) => (vm: VM) => {
  (vm.evm as AzoraEVM & { [INLINE_STEPS]?: boolean })[INLINE_STEPS] = on;
};
const lean = (on: boolean) => (vm: VM) => {
  (vm.evm as AzoraEVM).leanFrames = on;
};

/** An eth_call of `to` with `gasLimit` from sender 1 (state thrown away): return data, gas, error, refund. */
async function call(w: World, to: string, data: Uint8Array, gasLimit: bigint): Promise<string> {
  try {
    return await callOf(w, { to, data, gasLimit, sender: 1 }, withRefund);
  } catch (e) {
    // BASEFEE outside a block throws (ethereumjs's default block has none): the same throw is expected.
    return `threw ${(e as Error).message}`;
  }
}

describe("inline opcode steps: differential against ethereumjs's Interpreter.run", () => {
  it("same roots, receipts, gas, return data and errors for random programs, transfers and eth_calls", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(programArb, { minLength: 1, maxLength: 4 }),
        fc.array(
          fc.record({
            program: fc.nat(3),
            data: fc.uint8Array({ maxLength: 40 }),
            gas: fc.oneof(fc.integer({ min: 21_700, max: 30_000 }), fc.constant(200_000)),
            sender: fc.nat(2),
            transfer: fc.option(fc.bigInt({ min: 0n, max: 10n ** 18n })),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (programs, runs) => {
          const worlds = [await world(inline(true)), await world(inline(false)), await world(lean(false))];
          const tx = txMaker(worlds[0]);
          const tokenAddr = getCreateAddress({ from: SENDERS[0], nonce: 0 });
          const setup = [deployToken(tx), ...programs.map((p) => tx(0, undefined, initcode(p), 1_000_000n))];
          const addresses = programs.map((_, i) => getCreateAddress({ from: SENDERS[0], nonce: i + 1 }));
          const block = runs.map((r) =>
            r.transfer === null
              ? tx(r.sender, addresses[r.program % addresses.length], r.data, BigInt(r.gas))
              : tx(
                  0,
                  tokenAddr,
                  hexToBytes(erc20.encodeFunctionData("transfer", [SENDERS[r.sender], r.transfer]) as `0x${string}`),
                ),
          );
          const seen: string[][] = [[], [], []];
          for (const [i, w] of worlds.entries()) {
            seen[i].push(JSON.stringify(await runBlock(w, setup)));
            seen[i].push(JSON.stringify(await runBlock(w, block)));
            for (const r of runs) {
              const to = addresses[r.program % addresses.length];
              seen[i].push(await call(w, to, r.data, BigInt(r.gas - 21_000)));
            }
            const balanceOf = hexToBytes(erc20.encodeFunctionData("balanceOf", [SENDERS[1]]) as `0x${string}`);
            seen[i].push(await ethCall(w, tokenAddr, balanceOf));
          }
          expect(seen[0]).toEqual(seen[1]);
          expect(seen[0]).toEqual(seen[2]);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("same gas, memory sizes, return data and logs for random memory programs that run to their end", async () => {
    // Programs of memory steps that keep the stack balanced end in RETURN, REVERT or STOP instead of an exception
    // (which burns all gas and hides a mispriced step): memory expansion gas shows in receipts and calls.
    const memoryProgramArb = fc
      .tuple(
        fc.array(memoryPieceArb(), { minLength: 1, maxLength: 24 }),
        fc.tuple(fc.nat(300), fc.nat(1_200), fc.constantFrom(0xf3, 0xfd, 0x00)),
      )
      .map(([pieces, [len, off, end]]) =>
        Uint8Array.from([...pieces.flat(), ...(end === 0x00 ? [0x00] : [...push2(len), ...push2(off), end])]),
      );
    await fc.assert(
      fc.asyncProperty(
        fc.array(memoryProgramArb, { minLength: 1, maxLength: 3 }),
        fc.array(
          fc.record({
            program: fc.nat(2),
            data: fc.uint8Array({ maxLength: 40 }),
            gas: fc.oneof(fc.integer({ min: 21_700, max: 40_000 }), fc.constant(300_000)),
            sender: fc.nat(2),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        async (programs, runs) => {
          const worlds = [await world(inline(true)), await world(inline(false)), await world(lean(false))];
          const tx = txMaker(worlds[0]);
          const setup = programs.map((p) => tx(0, undefined, initcode(p), 1_000_000n));
          const addresses = programs.map((_, i) => getCreateAddress({ from: SENDERS[0], nonce: i }));
          const block = runs.map((r) => tx(r.sender, addresses[r.program % addresses.length], r.data, BigInt(r.gas)));
          const seen: string[][] = [[], [], []];
          for (const [i, w] of worlds.entries()) {
            seen[i].push(JSON.stringify(await runBlock(w, setup)));
            seen[i].push(JSON.stringify(await runBlock(w, block)));
            for (const r of runs) {
              seen[i].push(await call(w, addresses[r.program % addresses.length], r.data, BigInt(r.gas - 21_000)));
            }
          }
          expect(seen[0]).toEqual(seen[1]);
          expect(seen[0]).toEqual(seen[2]);
        },
      ),
      { numRuns: 25 },
    );
  }, 300_000);
});
