/**
 * Child-process half of the determinism test: runs the fixture jobs of every shipped-model kind through
 * `createAIHandlers` and prints `{kind: sha256(output bytes)}` as JSON on stdout.
 * Usage: node --import tsx test/utils/aiOutputs.ts
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createAIHandlers } from "../../ai-oracle/handlers.js";

export const AI_FIXTURES = join(import.meta.dirname, "..", "fixtures", "ai");
export const EMBED_TEXTS = [
  "Why did the node miss its slot when producing blocks?",
  "The validator was offline because its clock drifted.",
  "Transaction fees are burned and NFT royalties go to the creator.",
  "My cat sleeps on the sofa all afternoon.",
];

export function fixtureJobs(): { kind: string; input: Uint8Array; spec: Record<string, unknown> }[] {
  return [
    { kind: "ai/transcribe", input: readFileSync(join(AI_FIXTURES, "transfer.wav")), spec: {} },
    { kind: "ai/ocr", input: readFileSync(join(AI_FIXTURES, "invoice.png")), spec: {} },
    { kind: "ai/embed", input: Buffer.from(JSON.stringify({ texts: EMBED_TEXTS })), spec: {} },
  ];
}

export async function fixtureHashes(): Promise<Record<string, string>> {
  const jobs = fixtureJobs();
  const handlers = createAIHandlers({ kinds: jobs.map((j) => j.kind) as never });
  await Promise.all(handlers.map((h) => h.init?.()));
  const ctx = { signal: new AbortController().signal, progress() {} };
  const out: Record<string, string> = {};
  for (const [i, j] of jobs.entries()) {
    const r = await handlers[i].run({ id: BigInt(i), ...j }, ctx);
    out[j.kind] = createHash("sha256").update(r.bytes).digest("hex");
  }
  for (const h of handlers) await h.close?.();
  return out;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  console.log(JSON.stringify(await fixtureHashes()));
}
