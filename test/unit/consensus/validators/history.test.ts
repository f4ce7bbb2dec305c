import { describe, expect, it } from "vitest";
import { ValidatorHistory } from "../../../../consensus/validators/history.js";
import { genesisValidators, nextValidators } from "../../../../consensus/validators/updates.js";
import { type Validator, type ValidatorUpdate, validatorAddress } from "../../../../runtime/primitives/validatorSet.js";

const key = (i: number) => new Uint8Array(32).fill(i + 1);
const fee = (i: number) => new Uint8Array(20).fill(i + 1);
const validator = (i: number, power: number): Validator => ({
  publicKey: key(i),
  address: validatorAddress(key(i)),
  votingPower: BigInt(power),
  feeRecipient: fee(i),
});
const update = (i: number, power: number): ValidatorUpdate => ({
  publicKey: key(i),
  power: BigInt(power),
  feeRecipient: fee(i),
});

function fresh(): ValidatorHistory {
  const first = genesisValidators([0, 1, 2, 3].map((i) => validator(i, 10)));
  return new ValidatorHistory(0n, [first, nextValidators(first, [])]);
}

/** Commits heights head + 1 … `to`, with `updates` reported by the blocks that have any. */
function commitUpTo(h: ValidatorHistory, to: bigint, updates: Map<bigint, ValidatorUpdate[]> = new Map()): void {
  for (let n = h.head + 1n; n <= to; n++) h.settle(n, h.next(n, updates.get(n) ?? []));
}

describe("ValidatorHistory", () => {
  it("knows the validators of head + 1 and head + 2 only; offers the newest as a guess beyond", () => {
    const h = fresh();
    commitUpTo(h, 5n);
    expect(h.settledThrough).toBe(7n);
    expect(h.validators(7n)).not.toBeNull();
    expect(h.validators(8n)).toBeNull();
    expect(h.tentative(8n)?.validators).toBe(h.validators(7n));
    expect(h.tentative(7n)).toBeNull();
  });

  it("settles block H's updates at H + 2, keeps 16 heights below the head, and answers in O(1) at any length", () => {
    const h = fresh();
    commitUpTo(h, 10_000n, new Map([[9_990n, [update(4, 25)]]]));
    expect(h.validators(9_991n)?.length).toBe(4);
    expect(h.validators(9_992n)?.length).toBe(5);
    expect(h.validators(10_002n)?.length).toBe(5);
    expect(h.at(10_000n - 16n)).toBeDefined();
    expect(h.at(10_000n - 17n)).toBeUndefined();
  });

  it("recomputes a proposer it guessed for an unsettled height once that height settles with other validators", () => {
    const h = fresh();
    commitUpTo(h, 4n);
    // Height 8 is not settled (head 4 settles 6): message admission asks for a guess.
    const guessed = Array.from({ length: 8 }, (_, r) => h.proposer(8n, r));
    // Block 6 makes validator 4 the heaviest; height 8 is settled with it.
    commitUpTo(h, 6n, new Map([[6n, [update(4, 1_000)]]]));
    const settled = h.setAt(8n);
    const actual = Array.from({ length: 8 }, (_, r) => h.proposer(8n, r));
    expect(actual).toEqual(settled.proposerSequence(8));
    expect(actual).not.toEqual(guessed);
  });

  it("is settled in order, one height at a time", () => {
    const h = fresh();
    expect(() => h.settle(2n, h.next(1n, []))).toThrow();
    expect(() => h.next(2n, [])).toThrow();
  });
});
