import { Account } from "@ethereumjs/util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeAccount } from "../../../../runtime/state/accountRlp.js";

/** Integers around the encoding's edges: 0, single bytes below and above 0x80, every byte length. */
const uintArb = (maxBits: number) =>
  fc.oneof(
    fc.constantFrom(0n, 1n, 0x7fn, 0x80n, 0xffn, 0x100n),
    fc.nat(maxBits).chain((bits) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n })),
  );

describe("encodeAccount", () => {
  it("equals ethereumjs's account.serialize() byte for byte", () => {
    fc.assert(
      fc.property(
        uintArb(64),
        uintArb(256),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (nonce, balance, storageRoot, codeHash) => {
          const account = new Account(nonce, balance, storageRoot, codeHash);
          expect(encodeAccount(account)).toEqual(account.serialize());
        },
      ),
      { numRuns: 5000 },
    );
  });
});
