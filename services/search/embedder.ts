/**
 * Where vectors come from. The search worker runs the `ai/embed` model itself (USE-lite, 512-d) for queries and
 * small batches (ai-oracle's `createTextEmbedder`, wired in by `node/searchCommands.ts`); bulk indexing can buy embeddings as `ai/embed` jobs on the market
 * (`createMarketEmbedder` in marketEmbedder.ts), each result checked before its vectors are used. Both give unit vectors.
 */
export interface Embedder {
  /** The model's id (registry 0x…0A08), so an index never mixes vectors of two models. */
  readonly model: string;
  readonly dims: number;
  embed(texts: string[], opts?: { signal?: AbortSignal }): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** Texts per `ai/embed` call (the kind's limit). */
export const EMBED_BATCH = 128;
