import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NonceFilter } from "../../../services/runtime/payments/nonceFilter.js";

// The hold answers "never used" from this filter without asking the journal, so it must have no false negatives:
// every nonce added is "maybe", across the layers it grows into.
describe("NonceFilter", () => {
  it("has no false negatives (property: random and counter nonces, across layer growth)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 300 }),
        fc.bigInt({ min: 0n, max: 1n << 50n }),
        fc.integer({ min: 0, max: 6000 }),
        (random, start, run) => {
          const f = new NonceFilter();
          const added = [...random.map(String), ...Array.from({ length: run }, (_, i) => String(start + BigInt(i)))];
          for (const n of added) f.add(n);
          for (const n of added) if (!f.mayHave(n)) return false;
          return true;
        },
      ),
      { numRuns: 60 },
    );
  });

  it("says no to most nonces never added (so the journal is rarely asked)", () => {
    const f = new NonceFilter();
    const base = 1_765_000_000_000_000n; // a client's counter: Date.now() × 1000
    for (let i = 0n; i < 20_000n; i++) f.add(String(base + i));
    let maybe = 0;
    for (let i = 20_000n; i < 40_000n; i++) if (f.mayHave(String(base + i))) maybe += 1;
    expect(maybe).toBeLessThan(200); // < 1 % (16 bits and 7 hashes per nonce: ~0.05 % expected)
    expect(new NonceFilter().mayHave("0")).toBe(false);
  });
});
