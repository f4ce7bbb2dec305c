import { createEVM, type EVM } from "@ethereumjs/evm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { devnetGenesis } from "../../../../genesis/devnet.js";
import { type CodeAnalysis, CodeAnalysisCache } from "../../../../runtime/evm/codeAnalysis.js";
import { createChainCommon } from "../../../../runtime/evm/common.js";
import { CODE_ANALYSIS, frameCodeAnalysis } from "../../../../runtime/evm/interpreterHook.js";
import { AzoraEVM } from "../../../../runtime/modules/evm.js";

/**
 * The code-analysis cache against ethereumjs's own analysis: for random byte strings — many of one
 * length, PUSH data full of 0x5b (JUMPDEST) bytes, the same bytes in new arrays — the analysis a frame of
 * the Azora EVM gets is the one a plain ethereumjs EVM computes. A cache keyed on less than the code
 * (its length, its array alone) fails here.
 */
const common = createChainCommon(devnetGenesis().chainId);

/** Comparable form: opcode-table entries by opcode (each EVM has its own table objects). */
function plain(a: CodeAnalysis) {
  return {
    jumps: Array.from(a.jumps),
    pushes: Object.entries(a.pushes).map(([k, v]) => `${k}:${v}`),
    ops: Array.from(a.opcodesCached, (e) =>
      e === undefined ? -1 : (e as { opcodeInfo: { code: number } }).opcodeInfo.code,
    ),
  };
}

/** Byte strings biased towards PUSHn, JUMPDEST and truncated PUSH data at the end. */
const codeArb = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x5b, 0x60, 0x61, 0x7f, 0x56, 0x57, 0x5f)), {
    minLength: 0,
    maxLength: 48,
  })
  .map((bytes) => Uint8Array.from(bytes));

describe("code analysis cache", () => {
  it("a frame of the Azora EVM gets ethereumjs's analysis of its code, whatever was analysed before", async () => {
    const reference: EVM = await createEVM({ common });
    const evm = new AzoraEVM({ common });
    const cache = evm[CODE_ANALYSIS];
    fc.assert(
      fc.property(
        fc.array(codeArb, { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (codes, picks) => {
          // Re-use earlier codes both as the same array and as a copy of their bytes.
          const sequence = [...codes];
          for (const p of picks) {
            const c = codes[p % codes.length];
            sequence.push(p % 2 === 0 ? c : Uint8Array.from(c));
          }
          for (const code of sequence) {
            expect(plain(frameCodeAnalysis(evm, code))).toEqual(plain(frameCodeAnalysis(reference, code)));
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(cache.hits).toBeGreaterThan(0);
  });

  it("evicts the least recently used code past its byte budget and its contract count", () => {
    const cache = new CodeAnalysisCache(10, 3);
    const table = {};
    let computed = 0;
    const analyse = (code: Uint8Array) =>
      cache.analyse(code, table, () => {
        computed++;
        return { jumps: new Uint8Array(code.length), pushes: {}, opcodesCached: [] };
      });
    const codes = [1, 2, 3, 4].map((b) => Uint8Array.of(b, b));
    for (const c of codes.slice(0, 3)) analyse(c);
    analyse(codes[0]); // most recently used now
    analyse(codes[3]); // fourth contract: evicts codes[1]
    expect(cache.size).toBe(3);
    computed = 0;
    analyse(codes[0]);
    analyse(codes[2]);
    expect(computed).toBe(0);
    analyse(codes[1]);
    expect(computed).toBe(1);
    analyse(Uint8Array.from({ length: 9 }, () => 7)); // 9 bytes: only it and nothing else fits in 10
    expect(cache.size).toBe(1);
    analyse(Uint8Array.from({ length: 11 }, () => 7)); // over the budget alone: computed, not kept
    expect(cache.size).toBe(1);
  });

  it("a new opcode table (hardfork or EIP change) empties the cache", () => {
    const cache = new CodeAnalysisCache();
    let computed = 0;
    const compute = () => {
      computed++;
      return { jumps: new Uint8Array(0), pushes: {}, opcodesCached: [] };
    };
    const code = Uint8Array.of(0x5b);
    cache.analyse(code, { table: 1 }, compute);
    cache.analyse(code, { table: 2 }, compute);
    expect(computed).toBe(2);
  });
});
