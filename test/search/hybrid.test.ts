import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTextEmbedder, type TextEmbedder } from "../../ai-oracle/index.js";
import { SearchEngine } from "../../services/search/index.js";
import type { SearchStore } from "../../services/search/store.js";
import { BACKENDS } from "./backends.js";

/**
 * Hybrid ranking on a small judged set: keyword queries with exact rare terms (where BM25 shines), paraphrases that
 * share no word with their answer (where the `ai/embed` model shines), and mixed ones. nDCG@5 of BM25 alone,
 * vectors alone and their reciprocal-rank fusion; fusion must beat both. Uses the real USE-lite model.
 */
const DOCS = [
  ["pf", "Personal Finance Basics", "Budgeting, saving money every month, an emergency fund and paying off debt."],
  ["inv", "Investing for the Long Run", "Index funds, diversification, compound interest and retirement accounts."],
  [
    "tax",
    "Understanding Income Tax",
    "Brackets, deductions, filing a return and what withholding means for your paycheck.",
  ],
  ["bc", "Introduction to Blockchain", "Blocks, hashes, consensus and how a shared ledger stays honest."],
  ["sol", "Solidity Smart Contracts", "Writing, testing and deploying contracts on an EVM chain."],
  ["sec", "Smart Contract Security", "Reentrancy, access control, audits and common exploits."],
  ["gtr", "Guitar for Beginners", "Chords, strumming patterns and your first songs on an acoustic instrument."],
  ["pno", "Piano Foundations", "Reading sheet music, scales and playing with both hands."],
  ["photo", "Photography Fundamentals", "Exposure, aperture, shutter speed and composition."],
  ["cook", "Home Cooking Essentials", "Knife skills, sauces, roasting vegetables and planning weekly meals."],
  ["bake", "Bread Baking at Home", "Sourdough starters, kneading, proofing and baking a crusty loaf."],
  ["fit", "Strength Training 101", "Squats, deadlifts, progressive overload and recovery between workouts."],
  ["yoga", "Yoga for Flexibility", "Gentle stretches, breathing and poses to loosen tight hips and hamstrings."],
  ["run", "Couch to 5K", "A nine-week plan that takes beginners from walking to running five kilometres."],
  ["py", "Python Programming", "Variables, loops, functions and writing your first scripts."],
  ["ml", "Machine Learning Basics", "Regression, classification, overfitting and evaluating models."],
  ["ds", "Data Visualization", "Charts, dashboards and telling stories with numbers."],
  ["es", "Spanish for Travelers", "Greetings, ordering food, asking directions and numbers in Spanish."],
  ["jp", "Japanese Hiragana", "Learn the 46 basic characters of the Japanese writing system."],
  ["gard", "Vegetable Gardening", "Soil, seeds, watering and growing tomatoes on a balcony."],
  ["first", "First Aid Training", "CPR, bandaging wounds and what to do in an emergency until help arrives."],
  ["speak", "Public Speaking", "Beating stage fright, structuring a talk and engaging an audience."],
  ["write", "Creative Writing", "Characters, plot and finding your voice in short stories."],
  ["nego", "Negotiation Skills", "Preparing, anchoring and reaching agreements that last."],
  ["roth", "Retirement Accounts Explained", "401(k) plans, Roth IRA conversions and employer matching."],
  [
    "sheet",
    "Budgeting with Spreadsheets",
    "Track spending in a spreadsheet: categories, formulas and monthly reviews.",
  ],
  ["nft", "NFT Standards", "ERC-721 and ERC-1155 tokens, metadata and royalties."],
  ["gas", "Ethereum Fees", "EIP-1559 base fee, priority tips and estimating gas."],
  ["video", "Video Encoding", "x264 presets, bitrates and HLS packaging with ffmpeg."],
  ["kanji", "Japanese Kanji", "Stroke order and the first 100 kanji with their readings."],
  ["wallet", "Crypto Wallets", "Seed phrases, hardware wallets and keeping keys offline."],
].map(([id, title, description]) => ({ id, title, description }));

/** Query → relevant ids with grades (2 = the answer, 1 = related). */
const JUDGED: [string, Record<string, number>][] = [
  ["a course about saving money", { pf: 2, inv: 1 }],
  ["how to stop being nervous when presenting", { speak: 2 }],
  ["learning to play an instrument", { gtr: 2, pno: 2 }],
  ["keeping my wallet safe from hackers on ethereum", { sec: 2, sol: 1 }],
  ["get in shape", { fit: 2, run: 1, yoga: 1 }],
  ["what to do if someone collapses", { first: 2 }],
  ["sourdough", { bake: 2 }],
  ["hiragana", { jp: 2 }],
  ["reentrancy", { sec: 2 }],
  ["deductions", { tax: 2 }],
  ["compound interest", { inv: 2, pf: 1 }],
  ["blockchain consensus", { bc: 2, sec: 1 }],
  ["regression models", { ml: 2 }],
  ["talking to people in Madrid", { es: 2 }],
  ["grow my own food", { gard: 2, cook: 1 }],
  ["charts and dashboards", { ds: 2 }],
  ["Roth IRA", { roth: 2, inv: 1 }],
  ["EIP-1559", { gas: 2 }],
  ["ERC-1155", { nft: 2 }],
  ["x264 presets", { video: 2 }],
  ["kanji stroke order", { kanji: 2, jp: 1 }],
  ["spreadsheet formulas", { sheet: 2 }],
  ["seed phrase", { wallet: 2 }],
  ["401(k) matching", { roth: 2 }],
];

function ndcg5(ranked: string[], rel: Record<string, number>): number {
  const dcg = (gains: number[]) => gains.slice(0, 5).reduce((s, g, i) => s + (2 ** g - 1) / Math.log2(i + 2), 0);
  const ideal = dcg(Object.values(rel).sort((a, b) => b - a));
  return dcg(ranked.map((id) => rel[id] ?? 0)) / ideal;
}

let embedder: TextEmbedder;
beforeAll(async () => {
  embedder = await createTextEmbedder();
}, 120_000);
afterAll(async () => embedder?.close());

describe.each(BACKENDS.filter((b) => !b.variant))("hybrid ranking on $name", (backend) => {
  let store: SearchStore;
  let engine: SearchEngine;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const b = await backend.create();
    store = b.store;
    cleanup = b.cleanup;
    engine = new SearchEngine(store, { embedder });
    engine.start();
    await engine.createIndex("courses", {
      searchableAttributes: ["title", "description"],
      embedder: { source: "azora" },
      stopWords: ["a", "an", "the", "to", "of", "about", "my", "how", "what", "if", "when", "in", "on", "from", "do"],
    });
    const t = await engine.waitForTask((await engine.addDocuments("courses", DOCS)).uid);
    expect(t.status, String(t.error)).toBe("succeeded");
  }, 120_000);
  afterAll(async () => {
    await engine.stop();
    await store.close();
    await cleanup();
  });

  it("reciprocal-rank fusion beats BM25 alone and vectors alone (nDCG@5)", async () => {
    const score = async (hybrid: number) => {
      let sum = 0;
      for (const [q, rel] of JUDGED) {
        const r = await engine.search("courses", { q, hybrid, limit: 5, prefix: false, matchingStrategy: "last" });
        sum += ndcg5(
          r.hits.map((h) => h.id as string),
          rel,
        );
      }
      return sum / JUDGED.length;
    };
    const keyword = await score(0);
    const semantic = await score(1);
    const hybrid = await score(0.5);
    console.log(
      `nDCG@5 on ${JUDGED.length} judged queries (${backend.name}): BM25 ${keyword.toFixed(3)}, vectors ${semantic.toFixed(3)}, hybrid ${hybrid.toFixed(3)}`,
    );
    expect(hybrid).toBeGreaterThan(keyword);
    expect(hybrid).toBeGreaterThan(semantic);
  });

  it("a semantic query finds the course that shares no word with it", async () => {
    const r = await engine.search("courses", { q: "a course about saving money", hybrid: 1, limit: 3 });
    expect(r.hits[0].id).toBe("pf");
    const f = await engine.search("courses", { q: "learning to play an instrument", hybrid: 0.5, limit: 3 });
    expect(f.hits.map((h) => h.id)).toEqual(expect.arrayContaining(["gtr", "pno"]));
  });
});
