import type { Logger } from "../runtime/lib/logger.js";
import { createAIHandlers, missingModels } from "./handlers.js";
import { decodeEmbeddings } from "./kinds/embed.js";
import { shippedModelId } from "./models/store.js";

/**
 * The `ai/embed` model in-process as a plain text embedder (what Azora Search runs for queries and small batches):
 * the same handler a worker serves, so vectors match what the market's `ai/embed` jobs return. USE-lite, 512-d,
 * unit length; about 0.6 s and 30 MB to load, one thread.
 */
export interface TextEmbedder {
  readonly model: string;
  readonly dims: number;
  embed(texts: string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** Texts per `ai/embed` call (the kind's limit). */
const BATCH = 128;

export async function createTextEmbedder(opts: { modelsDir?: string; logger?: Logger } = {}): Promise<TextEmbedder> {
  const { missing, hint } = await missingModels({ kinds: ["ai/embed"], modelsDir: opts.modelsDir });
  if (missing.length > 0) throw new Error(hint);
  const [handler] = await createAIHandlers({ kinds: ["ai/embed"], modelsDir: opts.modelsDir, logger: opts.logger });
  await handler.init?.();
  const ctx = { signal: new AbortController().signal, progress() {} };
  return {
    model: shippedModelId("use-lite"),
    dims: 512,
    async embed(texts) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += BATCH) {
        const batch = texts.slice(i, i + BATCH).map((t) => (t === "" ? " " : t));
        const input = new TextEncoder().encode(JSON.stringify({ texts: batch }));
        const r = await handler.run({ id: 0n, kind: "ai/embed", spec: {}, input }, ctx);
        out.push(...decodeEmbeddings(r.bytes));
      }
      return out;
    },
    async close() {
      await handler.close?.();
    },
  };
}
