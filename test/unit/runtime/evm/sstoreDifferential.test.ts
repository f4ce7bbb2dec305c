import type { VM } from "@ethereumjs/vm";
import { getCreateAddress } from "ethers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { INLINE_STEPS, WORD_OPS } from "../../../../runtime/evm/stepLoop.js";
import type { AzoraEVM } from "../../../../runtime/modules/evm.js";
import { hexToBytes } from "../../../../runtime/primitives/bytes.js";
import { callOf, runBlock, SENDERS, txMaker, withRefund, world } from "./evmDifferential.js";

/**
 * Differential test of the inline steps on storage-heavy code (SSTORE's gas: EIP-2200's net metering, EIP-2929's warm
 * and cold slots, EIP-3529's refunds, the 2,300-gas sentry — through `runStep`, beside wordOps.ts's SLOAD): contracts
 * made of random SSTORE sequences on four slots (values zero, small, full-width; set, reset, cleared, restored),
 * SLOADs, CALLs between the contracts with random gas (out of gas inside), STATICCALLs (SSTORE in a static frame),
 * ending in STOP, REVERT or INVALID, run as transactions over two blocks (slots whose original values are zero or not)
 * with gas limits that run out at random points, and as eth_calls. Three worlds must agree on state roots, receipts
 * (gas used after refunds), return data, gas, refunds and errors: the inline steps with wordOps.ts's handlers, the
 * inline steps with ethereumjs's handlers (WORD_OPS off), and ethereumjs's own `run` (INLINE_STEPS off). A port of
 * SSTORE's handlers (tried in evm15, reverted) would be weighed here.
 */

const PROGRAMS = 3;
const ADDRESSES = Array.from({ length: PROGRAMS }, (_, i) => getCreateAddress({ from: SENDERS[0], nonce: i }));

const valueArb = fc.oneof(
  fc.constant(0n),
  fc.constant(1n),
  fc.constant(2n),
  fc.bigInt({ min: 0n, max: 255n }),
  fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
);
const word = (x: bigint) => Array.from(hexToBytes(`0x${x.toString(16).padStart(64, "0")}`));
const addressBytes = (i: number) => Array.from(hexToBytes(ADDRESSES[i] as `0x${string}`));

const pieceArb: fc.Arbitrary<number[]> = fc.oneof(
  // PUSH32 value PUSH1 key SSTORE
  { weight: 8, arbitrary: fc.tuple(valueArb, fc.nat(3)).map(([v, k]) => [0x7f, ...word(v), 0x60, k, 0x55]) },
  // PUSH1 key SLOAD POP
  { weight: 2, arbitrary: fc.nat(3).map((k) => [0x60, k, 0x54, 0x50]) },
  // CALL another program (or itself) with little gas: retSize retOffset argsSize argsOffset value address gas
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.nat(PROGRAMS - 1), fc.nat(40_000))
      .map(([p, g]) => [
        ...[0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0],
        0x73,
        ...addressBytes(p),
        0x62,
        g >> 16,
        (g >> 8) & 0xff,
        g & 0xff,
        0xf1,
        0x50,
      ]),
  },
  // STATICCALL: retSize retOffset argsSize argsOffset address gas
  {
    weight: 1,
    arbitrary: fc
      .nat(PROGRAMS - 1)
      .map((p) => [...[0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0], 0x73, ...addressBytes(p), 0x61, 0x80, 0x00, 0xfa, 0x50]),
  },
);

/** A program: random pieces, then STOP, REVERT, INVALID or the end of the code. */
const programArb = fc
  .tuple(fc.array(pieceArb, { minLength: 1, maxLength: 14 }), fc.constantFrom([], [0x00], [0x5f, 0x5f, 0xfd], [0xfe]))
  .map(([pieces, end]) => Uint8Array.from([...pieces.flat(), ...end]));

/** Initcode that returns `runtime`. */
function initcode(runtime: Uint8Array): Uint8Array {
  const n = runtime.length;
  return Uint8Array.from([0x61, n >> 8, n & 0xff, 0x80, 0x60, 12, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3, ...runtime]);
}

const runArb = fc.record({
  program: fc.nat(PROGRAMS - 1),
  gas: fc.oneof(fc.integer({ min: 21_000, max: 90_000 }), fc.constant(1_000_000)),
  sender: fc.nat(2),
});

const configure = (inlineSteps: boolean, wordOps: boolean) => (vm: VM) => {
  const evm = vm.evm as AzoraEVM & { [INLINE_STEPS]?: boolean; [WORD_OPS]?: boolean };
  evm[INLINE_STEPS] = inlineSteps;
  evm[WORD_OPS] = wordOps;
};

describe("storage-heavy code with the inline steps: differential against ethereumjs's run", () => {
  it("same roots, receipts, gas, refunds and errors for random SSTORE sequences, calls, reverts and out-of-gas", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(programArb, { minLength: PROGRAMS, maxLength: PROGRAMS }),
        fc.array(runArb, { minLength: 1, maxLength: 10 }),
        fc.array(runArb, { minLength: 1, maxLength: 10 }),
        async (programs, first, second) => {
          const worlds = [
            await world(configure(true, true)),
            await world(configure(true, false)),
            await world(configure(false, false)),
          ];
          const tx = txMaker(worlds[0]);
          const setup = programs.map((p) => tx(0, undefined, initcode(p), 1_000_000n));
          const block = (runs: typeof first) =>
            runs.map((r) => tx(r.sender, ADDRESSES[r.program], new Uint8Array(0), BigInt(r.gas)));
          const blocks = [setup, block(first), block(second)];
          const seen: string[][] = [[], [], []];
          for (const [i, w] of worlds.entries()) {
            for (const b of blocks) seen[i].push(JSON.stringify(await runBlock(w, b)));
            for (const r of [...first, ...second]) {
              const gasLimit = BigInt(Math.max(r.gas - 21_000, 0));
              seen[i].push(await callOf(w, { to: ADDRESSES[r.program], gasLimit, sender: 1 }, withRefund));
            }
          }
          expect(seen[0]).toEqual(seen[1]);
          expect(seen[0]).toEqual(seen[2]);
        },
      ),
      { numRuns: 30 },
    );
    // ~25 s alone on the 2-core VM; beside other suites' workers, more than vitest's default minute
  }, 300_000);
});
