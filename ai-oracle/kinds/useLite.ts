import * as core from "@energetic-ai/core";
import { EmbeddingsModel } from "@energetic-ai/embeddings";
import { AIError, AIErrorCode } from "../errors.js";
import { loadShippedModel, shippedModelId } from "../models/store.js";
import { l2normalise, type SentenceEncoder } from "./embed.js";

/**
 * Universal Sentence Encoder lite (512-d) on TF.js's WASM backend, bundled in `@energetic-ai/core`: no native code,
 * one thread (multithreading is switched off before the backend starts), SIMD. The graph and weights are loaded
 * from memory out of the hash-checked files, never from a path or URL.
 */
/** The part of TF.js used here. `@energetic-ai/core` bundles TF.js, but its typings point at packages it does not
 * install, so the surface is declared here. */
interface TFCore {
  env(): { set(flag: string, value: boolean): void };
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  loadGraphModel(handler: unknown): Promise<GraphModel>;
  io: { fromMemory(artifacts: Record<string, unknown>): unknown };
  version: Record<string, string>;
}
interface GraphModel {
  dispose(): void;
}
const tf = core as unknown as TFCore;

let backendReady: Promise<void> | null = null;

function initBackend(): Promise<void> {
  backendReady ??= (async () => {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    if (!(await tf.setBackend("wasm"))) throw new Error("TF.js WASM backend failed to start");
    await tf.ready();
  })();
  return backendReady;
}

interface ModelJSON {
  modelTopology: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  weightsManifest: { paths: string[]; weights: unknown[] }[];
}

export async function createUSELiteEncoder(modelsDir: string): Promise<SentenceEncoder> {
  const files = await loadShippedModel(modelsDir, "use-lite");
  await initBackend();
  const json = JSON.parse(files.get("model.json")!.toString("utf8")) as ModelJSON;
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const shards = json.weightsManifest.flatMap((g) => g.paths);
  const weightData = Buffer.concat(
    shards.map((p) => {
      const b = files.get(p);
      if (!b) throw new AIError({ code: AIErrorCode.MODEL_INCOMPATIBLE, model: "use-lite", reason: `no shard ${p}` });
      return b;
    }),
  );
  const handler = tf.io.fromMemory({
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    weightSpecs,
    weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
  });
  const graph = await tf.loadGraphModel(handler);
  const vocabulary = JSON.parse(files.get("vocab.json")!.toString("utf8"));
  const model = new EmbeddingsModel({ model: graph as never, vocabulary });
  const modelId = shippedModelId("use-lite");
  return {
    modelId,
    dims: 512,
    engine: `tfjs-core@${tf.version["tfjs-core"]} tfjs-backend-wasm@${tf.version["tfjs-backend-wasm"]} simd 1 thread; model use-lite 0x${modelId}`,
    async encode(texts) {
      const rows = await model.embed(texts);
      return rows.map((r) => l2normalise(Float32Array.from(r)));
    },
    async close() {
      graph.dispose();
    },
  };
}
