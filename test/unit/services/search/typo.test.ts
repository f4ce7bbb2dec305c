import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TermTrie, typoDistance } from "../../../../services/search/text/typo.js";

/**
 * The trie's pruned, banded walk must find exactly the terms a brute-force scan with `typoDistance` finds: random
 * vocabularies over a small alphabet (so near neighbours, swaps and shared prefixes are common) and random words.
 */
const word = fc.string({ unit: fc.constantFrom(..."abcde"), minLength: 1, maxLength: 12 });

describe("TermTrie.fuzzy", () => {
  it("equals a brute-force scan for budgets 0, 1 and 2", () => {
    fc.assert(
      fc.property(fc.uniqueArray(word, { maxLength: 200 }), word, fc.integer({ min: 0, max: 2 }), (vocab, w, max) => {
        const trie = new TermTrie();
        for (const t of vocab) trie.add(t);
        const got = trie.fuzzy(w, max, Number.POSITIVE_INFINITY);
        const want = vocab
          .map((term) => ({ term, typos: typoDistance(w, term, max) }))
          .filter((x) => x.typos <= max)
          .sort((a, b) => a.typos - b.typos || (a.term < b.term ? -1 : a.term > b.term ? 1 : 0));
        expect(got).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });

  it("counts a swap of neighbours as one typo", () => {
    const trie = new TermTrie();
    for (const t of ["finance", "personal", "guitar"]) trie.add(t);
    expect(trie.fuzzy("fianance", 1)).toEqual([{ term: "finance", typos: 1 }]);
    expect(trie.fuzzy("finacne", 1)).toEqual([{ term: "finance", typos: 1 }]);
    expect(trie.fuzzy("guitra", 1)).toEqual([{ term: "guitar", typos: 1 }]);
    expect(trie.fuzzy("prsonla", 2)).toEqual([{ term: "personal", typos: 2 }]);
  });

  it("answers a repeated lookup from memory until a term is added", () => {
    const trie = new TermTrie();
    trie.add("guitar");
    expect(trie.fuzzy("guitr", 1)).toEqual([{ term: "guitar", typos: 1 }]);
    trie.fuzzy("guitr", 1).pop(); // a caller's copy
    expect(trie.fuzzy("guitr", 1)).toEqual([{ term: "guitar", typos: 1 }]);
    trie.add("guita");
    expect(trie.fuzzy("guitr", 1)).toEqual([
      { term: "guita", typos: 1 },
      { term: "guitar", typos: 1 },
    ]);
  });

  it("lists completions shortest first", () => {
    const trie = new TermTrie();
    for (const t of ["blockchain", "blocks", "block", "blob", "zip"]) trie.add(t);
    expect(trie.withPrefix("blo", 10)).toEqual(["blob", "block", "blocks", "blockchain"]);
    expect(trie.withPrefix("blo", 2)).toEqual(["blob", "block"]);
    expect(trie.withPrefix("x", 2)).toEqual([]);
  });
});
