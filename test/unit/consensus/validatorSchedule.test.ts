import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidatorSet } from "../../../consensus/core/validatorSet.js";
import { StaticValidatorSchedule } from "../../../consensus/validatorSchedule.js";
import { bytesToHex } from "../../../runtime/primitives/bytes.js";
import { type Validator, validatorAddress } from "../../../runtime/primitives/validatorSet.js";

function validators(powers: number[]): Validator[] {
  return powers.map((p, i) => {
    const publicKey = new Uint8Array(32).fill(i + 1);
    return {
      publicKey,
      address: validatorAddress(publicKey),
      votingPower: BigInt(p),
      feeRecipient: new Uint8Array(20),
    };
  });
}

/** The definition: genesis priorities advanced once per height, then once per round. */
function naiveProposer(list: Validator[], height: bigint, round: number): number {
  let vs = new ValidatorSet(list.map((v) => ({ address: bytesToHex(v.address), votingPower: v.votingPower })));
  for (let h = 0n; h < height; h++) vs = vs.next();
  return vs.proposer(round);
}

describe("StaticValidatorSchedule", () => {
  it("matches the definition for any height and round, in any order of questions", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 7 }),
        fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 60n }), fc.nat(40)), { minLength: 1, maxLength: 25 }),
        (powers, questions) => {
          const list = validators(powers);
          const schedule = new StaticValidatorSchedule(list);
          for (const [h, r] of questions) expect(schedule.proposer(h, r)).toBe(naiveProposer(list, h, r));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("proposerSequence(n) lists proposer(0 … n−1)", () => {
    const vs = new ValidatorSet([
      { address: "a", votingPower: 3n },
      { address: "b", votingPower: 1n },
      { address: "c", votingPower: 7n },
    ]).next();
    expect(vs.proposerSequence(30)).toEqual(Array.from({ length: 30 }, (_, r) => vs.proposer(r)));
  });

  it("knows every height's validators (the set does not change yet)", () => {
    const list = validators([1, 2, 3]);
    expect(new StaticValidatorSchedule(list).validators(10n ** 12n)).toBe(list);
  });
});
