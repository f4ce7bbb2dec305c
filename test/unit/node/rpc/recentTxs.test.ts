import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RecentTxIndex, type TxLocation } from "../../../../node/rpc/recentTxs.js";

const h = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

describe("RecentTxIndex", () => {
  it("locates the txs of the last blocks and forgets older ones", () => {
    const idx = new RecentTxIndex(2, 100);
    idx.addBlock(1n, [h(1), h(2)]);
    idx.addBlock(2n, [h(3)]);
    expect(idx.get(h(2))).toEqual({ number: 1n, index: 1 });
    idx.addBlock(3n, [h(4), h(5)]);
    expect(idx.get(h(1))).toBeUndefined();
    expect(idx.get(h(3))).toEqual({ number: 2n, index: 0 });
    expect(idx.get(h(5))).toEqual({ number: 3n, index: 1 });
  });

  it("keeps at most maxEntries txs, dropping whole blocks, oldest first", () => {
    const idx = new RecentTxIndex(100, 3);
    idx.addBlock(1n, [h(1), h(2)]);
    idx.addBlock(2n, [h(3), h(4)]);
    expect(idx.size).toBe(2);
    expect(idx.get(h(1))).toBeUndefined();
    idx.addBlock(3n, [h(5), h(6), h(7), h(8)]); // taller than the budget: not indexed
    expect(idx.get(h(5))).toBeUndefined();
    expect(idx.get(h(4))).toEqual({ number: 2n, index: 1 });
  });

  it("forgets the blocks above a rewind, and a tx re-included after it points at its new block", () => {
    const idx = new RecentTxIndex();
    idx.addBlock(1n, [h(1)]);
    idx.addBlock(2n, [h(2), h(3)]);
    idx.rewind(1n);
    expect(idx.get(h(2))).toBeUndefined();
    expect(idx.get(h(1))).toEqual({ number: 1n, index: 0 });
    idx.addBlock(2n, [h(3)]);
    idx.addBlock(3n, [h(2)]);
    expect(idx.get(h(3))).toEqual({ number: 2n, index: 0 });
    expect(idx.get(h(2))).toEqual({ number: 3n, index: 0 });
  });

  it("answers as a full index restricted to its window would, on random block sequences with rewinds", () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("block" as const),
        txs: fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 6 }),
      }),
      fc.record({ kind: fc.constant("rewind" as const), by: fc.integer({ min: 0, max: 3 }) }),
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 12 }),
        (ops, maxBlocks, maxEntries) => {
          const idx = new RecentTxIndex(maxBlocks, maxEntries);
          // The model: every block on the chain, each tx's location its latest inclusion (as LevelDB's index).
          let chain: string[][] = [];
          for (const o of ops) {
            if (o.kind === "block") {
              // A tx hash appears once in a chain (nonces); drop the ones already on it.
              const onChain = new Set(chain.flat());
              const txs = [...new Set(o.txs.map(h))].filter((t) => !onChain.has(t));
              chain.push(txs);
              idx.addBlock(BigInt(chain.length), txs);
              // A block just committed is always indexed when it fits.
              if (txs.length <= maxEntries)
                for (const [index, t] of txs.entries())
                  expect(idx.get(t)).toEqual({ number: BigInt(chain.length), index });
            } else {
              chain = chain.slice(0, Math.max(0, chain.length - o.by));
              idx.rewind(BigInt(chain.length));
            }
          }
          const truth = new Map<string, TxLocation>();
          for (const [i, txs] of chain.entries())
            for (const [index, t] of txs.entries()) truth.set(t, { number: BigInt(i + 1), index });
          for (let n = 0; n <= 40; n++) {
            const got = idx.get(h(n));
            // Never a wrong location; whatever it does not hold is read from LevelDB.
            if (got !== undefined) expect(got).toEqual(truth.get(h(n)));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
