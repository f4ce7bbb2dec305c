import type { VM } from "@ethereumjs/vm";
import { getCreateAddress } from "ethers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CodeAnalysisCache } from "../../../../runtime/evm/codeAnalysis.js";
import { CODE_ANALYSIS } from "../../../../runtime/evm/interpreterHook.js";
import { hexToBytes } from "../../../../runtime/primitives/bytes.js";
import { deployToken, erc20, ethCall, runBlock, SENDERS, txMaker, world } from "./evmDifferential.js";

/**
 * Differential test of the code-analysis cache: the same random transactions (ERC-20 transfers and
 * approvals, some failing; calls into hand-made contracts whose PUSH data is full of 0x5b, jumping to
 * real and to fake JUMPDESTs; contract creations whose initcode jumps) and the same eth_calls of several
 * contracts in a row give the same state roots, receipts, gas and return data on an Azora VM with the cache
 * and on one without. Two of the hand-made contracts have the same length and different jump
 * destinations, a third has the first one's code: a cache keyed on less than the code fails here.
 */

/** A segment of 11 bytes: a JUMPDEST that returns `id`, or a PUSH10 of JUMPDEST-looking bytes. */
const dest = (id: number) => [0x5b, 0x60, id, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3];
const fake = [0x69, ...new Array(10).fill(0x5b)];
/** Jumps to the offset in calldata's first byte (PUSH1 0 CALLDATALOAD PUSH1 248 SHR JUMP), then segments. */
const jumper = (segments: number[][]) =>
  Uint8Array.from([0x60, 0x00, 0x35, 0x60, 0xf8, 0x1c, 0x56, ...segments.flat()]);
const JUMPER_A = jumper([dest(1), fake, dest(2), fake, dest(3), fake]);
const JUMPER_B = jumper([fake, dest(4), fake, dest(5), fake, dest(6)]); // same length as A
const SEGMENT_STARTS = [7, 18, 29, 40, 51, 62];

/** Initcode returning `runtime`, after a jump to `target` over a PUSH2 of 0x5b5b and a JUMPDEST at 6. */
function initcode(runtime: Uint8Array, target: number): Uint8Array {
  const n = runtime.length;
  const prefix = [0x60, target, 0x56, 0x61, 0x5b, 0x5b, 0x5b];
  const copy = [
    0x61,
    n >> 8,
    n & 0xff,
    0x60,
    prefix.length + 14,
    0x60,
    0x00,
    0x39,
    0x61,
    n >> 8,
    n & 0xff,
    0x60,
    0x00,
    0xf3,
  ];
  return Uint8Array.from([...prefix, ...copy, ...runtime]);
}

type Op =
  | { kind: "jump"; sender: number; contract: number; target: number }
  | { kind: "transfer"; sender: number; to: number; amount: bigint }
  | { kind: "approve"; sender: number; to: number; amount: bigint }
  | { kind: "create"; sender: number; variant: number; target: number };

const targetArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SEGMENT_STARTS) },
  fc.constantFrom(...SEGMENT_STARTS.map((s) => s + 1)),
  fc.nat({ max: 80 }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("jump" as const), sender: fc.nat(2), contract: fc.nat(2), target: targetArb }),
  fc.record({
    kind: fc.constant("transfer" as const),
    sender: fc.nat(2),
    to: fc.nat(2),
    amount: fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.constant(10n ** 40n)), // the last one reverts
  }),
  fc.record({
    kind: fc.constant("approve" as const),
    sender: fc.nat(2),
    to: fc.nat(2),
    amount: fc.bigInt({ min: 0n, max: 10n ** 20n }),
  }),
  fc.record({
    kind: fc.constant("create" as const),
    sender: fc.nat(2),
    variant: fc.nat(1),
    target: fc.constantFrom(5, 6),
  }),
);

const uncached = (vm: VM) => {
  (vm.evm as unknown as Record<symbol, unknown>)[CODE_ANALYSIS] = undefined;
};

describe("code analysis cache: differential against the uncached EVM", () => {
  it("same roots, receipts, gas and return data for random blocks and eth_calls", async () => {
    let hits = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(fc.nat(3), targetArb), { minLength: 1, maxLength: 8 }),
        async (blocks, calls) => {
          const worlds = [await world(() => {}), await world(uncached)];
          const tx = txMaker(worlds[0]);
          // Setup: the token (sender 0 holds the supply) and A, B and a copy of A.
          const deployer = SENDERS[0];
          const setup = [
            deployToken(tx),
            tx(0, undefined, initcode(JUMPER_A, 6)),
            tx(0, undefined, initcode(JUMPER_B, 6)),
            tx(0, undefined, initcode(JUMPER_A, 6)),
          ];
          const [tokenAddr, ...jumpers] = [0, 1, 2, 3].map((n) => getCreateAddress({ from: deployer, nonce: n }));
          const plan = blocks.map((ops) =>
            ops.map((op) => {
              switch (op.kind) {
                case "jump":
                  return tx(op.sender, jumpers[op.contract], Uint8Array.of(op.target), 100_000n);
                case "transfer":
                  return tx(
                    op.sender,
                    tokenAddr,
                    hexToBytes(erc20.encodeFunctionData("transfer", [SENDERS[op.to], op.amount]) as `0x${string}`),
                  );
                case "approve":
                  return tx(
                    op.sender,
                    tokenAddr,
                    hexToBytes(erc20.encodeFunctionData("approve", [SENDERS[op.to], op.amount]) as `0x${string}`),
                  );
                default: // create
                  return tx(op.sender, undefined, initcode(op.variant === 0 ? JUMPER_A : JUMPER_B, op.target));
              }
            }),
          );
          const seen: string[][] = [[], []];
          for (const [i, w] of worlds.entries()) {
            seen[i].push(JSON.stringify(await runBlock(w, setup)));
            for (const block of plan) {
              seen[i].push(JSON.stringify(await runBlock(w, block)));
              // eth_calls of several contracts in a row, between blocks
              for (const [c, target] of calls) {
                const data =
                  c === 3
                    ? hexToBytes(erc20.encodeFunctionData("balanceOf", [SENDERS[target % 3]]) as `0x${string}`)
                    : Uint8Array.of(target);
                seen[i].push(await ethCall(w, c === 3 ? tokenAddr : jumpers[c], data));
              }
            }
          }
          expect(seen[0]).toEqual(seen[1]);
          hits += (worlds[0].vm.evm as unknown as Record<symbol, CodeAnalysisCache>)[CODE_ANALYSIS].hits;
        },
      ),
      { numRuns: 12 },
    );
    expect(hits).toBeGreaterThan(0); // the cache was used, not bypassed
  });
});
