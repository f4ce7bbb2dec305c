import type { ExecResult } from "@ethereumjs/evm";
import type { VM } from "@ethereumjs/vm";
import { getCreateAddress } from "ethers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AzoraEVM } from "../../../../runtime/modules/evm.js";
import { bytesToHex, hexToBytes } from "../../../../runtime/primitives/bytes.js";
import { deployToken, erc20, ethCall, runBlock, SENDERS, txMaker, world } from "./evmDifferential.js";

/**
 * Differential test of `runFrame` (runtime/evm/frameResult.ts, ethereumjs's `runInterpreter` with the
 * frame's `runState` copied on first read): the same random blocks — ERC-20 transfers and approvals,
 * over-balance transfers (REVERT), calls jumping to a non-JUMPDEST (an exceptional halt: all gas used),
 * the same through a forwarding contract (nested frames whose inner failure the outer one reverts),
 * contract creations — and the same eth_calls give the same state roots, receipts, gas, return data and
 * `runState` fields on an Azora VM with it and on one running ethereumjs's own `runInterpreter`.
 */

/** Jumps to the offset in calldata's first byte: a JUMPDEST at 7 returns 1, anything else halts. */
const JUMPER = Uint8Array.from([
  0x60, 0x00, 0x35, 0x60, 0xf8, 0x1c, 0x56, 0x5b, 0x60, 1, 0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xf3,
]);

/** Calls `target` with its own calldata and all gas; returns what it returned, reverts with it if it failed. */
function forwarder(target: string): Uint8Array {
  const to = hexToBytes(target as `0x${string}`);
  return Uint8Array.from([
    ...[0x36, 0x60, 0x00, 0x60, 0x00, 0x37], // CALLDATACOPY(0, 0, CALLDATASIZE)
    ...[0x60, 0x00, 0x60, 0x00, 0x36, 0x60, 0x00, 0x60, 0x00, 0x73, ...to, 0x5a, 0xf1], // CALL
    ...[0x3d, 0x60, 0x00, 0x60, 0x00, 0x3e], // RETURNDATACOPY(0, 0, RETURNDATASIZE)
    ...[0x15, 0x60, 52, 0x57], // failed → 52
    ...[0x3d, 0x60, 0x00, 0xf3], // RETURN
    ...[0x5b, 0x3d, 0x60, 0x00, 0xfd], // 52: REVERT
  ]);
}

/** Initcode that returns `runtime`. */
function initcode(runtime: Uint8Array): Uint8Array {
  const n = runtime.length;
  return Uint8Array.from([0x61, n >> 8, n & 0xff, 0x80, 0x60, 12, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3, ...runtime]);
}

type Op =
  | { kind: "transfer" | "approve"; sender: number; to: number; amount: bigint; forwarded: boolean }
  | { kind: "jump"; sender: number; target: number; forwarded: boolean }
  | { kind: "create"; sender: number };

const amountArb = fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.constant(0n), fc.constant(10n ** 40n));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constantFrom("transfer" as const, "approve" as const),
    sender: fc.nat(2),
    to: fc.nat(2),
    amount: amountArb,
    forwarded: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("jump" as const),
    sender: fc.nat(2),
    target: fc.constantFrom(7, 7, 8, 0),
    forwarded: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("create" as const), sender: fc.nat(2) }),
);

/** The fields of a frame's `runState` that are plain values, as text (objects and functions by key only). */
function describeRunState(runState: Record<string, unknown>): string {
  return Object.keys(runState)
    .sort()
    .map((k) => {
      const v = runState[k];
      if (v instanceof Uint8Array) return `${k}=${bytesToHex(v)}`;
      if (typeof v === "object" || typeof v === "function") return k;
      return `${k}=${String(v)}`;
    })
    .join(",");
}

/** The frame's refund and `runState` fields, after the common parts of an eth_call's answer. */
const frameFields = (x: ExecResult) =>
  ` ${x.gasRefund} ${describeRunState(x.runState as unknown as Record<string, unknown>)}`;
const lean = (on: boolean) => (vm: VM) => {
  (vm.evm as AzoraEVM).leanFrames = on;
};

describe("lean frame results: differential against ethereumjs's runInterpreter", () => {
  it("same roots, receipts, gas, return data and runState for random blocks and eth_calls", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(3), fc.constantFrom(7, 8), fc.nat(2)), { minLength: 1, maxLength: 6 }),
        async (blocks, calls) => {
          const worlds = [await world(lean(true)), await world(lean(false))];
          const tx = txMaker(worlds[0]);
          const [tokenAddr, jumperAddr] = [0, 1].map((n) => getCreateAddress({ from: SENDERS[0], nonce: n }));
          const setup = [
            deployToken(tx),
            tx(0, undefined, initcode(JUMPER)),
            tx(0, undefined, initcode(forwarder(tokenAddr))),
            tx(0, undefined, initcode(forwarder(jumperAddr))),
            // the token forwarder holds tokens, so forwarded transfers succeed too
            tx(
              0,
              tokenAddr,
              hexToBytes(
                erc20.encodeFunctionData("transfer", [
                  getCreateAddress({ from: SENDERS[0], nonce: 2 }),
                  10n ** 24n,
                ]) as `0x${string}`,
              ),
            ),
          ];
          const [fwdToken, fwdJumper] = [2, 3].map((n) => getCreateAddress({ from: SENDERS[0], nonce: n }));
          const plan = blocks.map((ops) =>
            ops.map((op) => {
              switch (op.kind) {
                case "jump":
                  return tx(op.sender, op.forwarded ? fwdJumper : jumperAddr, Uint8Array.of(op.target), 200_000n);
                case "create":
                  return tx(op.sender, undefined, initcode(JUMPER));
                default:
                  return tx(
                    op.sender,
                    op.forwarded ? fwdToken : tokenAddr,
                    hexToBytes(erc20.encodeFunctionData(op.kind, [SENDERS[op.to], op.amount]) as `0x${string}`),
                  );
              }
            }),
          );
          const seen: string[][] = [[], []];
          for (const [i, w] of worlds.entries()) {
            seen[i].push(JSON.stringify(await runBlock(w, setup)));
            for (const block of plan) {
              seen[i].push(JSON.stringify(await runBlock(w, block)));
              for (const [c, target, who] of calls) {
                const balanceOf = hexToBytes(erc20.encodeFunctionData("balanceOf", [SENDERS[who]]) as `0x${string}`);
                const [to, data] = [
                  [tokenAddr, balanceOf],
                  [fwdToken, balanceOf],
                  [jumperAddr, Uint8Array.of(target)],
                  [fwdJumper, Uint8Array.of(target)],
                ][c] as [string, Uint8Array];
                seen[i].push(await ethCall(w, to, data, frameFields));
              }
            }
          }
          expect(seen[0]).toEqual(seen[1]);
        },
      ),
      { numRuns: 12 },
    );
  });
});
