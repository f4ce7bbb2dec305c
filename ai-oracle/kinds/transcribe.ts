import llamaTokenizer from "llama-tokenizer-js";
import type { JobContext, JobInput, JobOutput } from "../../services/runtime/handler.js";
import { createAudioDecoder, probeFFmpeg, TARGET_RATE } from "../audio/decode.js";
import { BatchQueue } from "../engine/batchQueue.js";
import { createONNXSession, ONNX_ENGINE, type ONNXFeeds, type ONNXSession, Tensor } from "../engine/session.js";
import { AIError, AIErrorCode } from "../errors.js";
import { loadShippedModel, shippedModelId } from "../models/store.js";
import { checkSpecModel, JSON_CONTENT_TYPE, jsonBytes, type KindModel, parseJSON } from "./kind.js";

/**
 * `ai/transcribe` ("Azora Speech"): audio in, English text out, with Moonshine tiny (int8, dynamically quantized:
 * always batch 1, since the activation scales are computed over the whole batch).
 *
 * Output (application/json): `{"text": "...", "segments": [{"startMs", "endMs", "text", "tokens": [ids]}]}`.
 * Audio over 30 s is cut into segments of at most 30 s at the quietest 100 ms between 20 and 30 s. Comparison
 * for replay: exact on token ids and text (decoded outputs).
 */
export const TRANSCRIBE_KIND = "ai/transcribe";

const START_ID = 1;
const EOS_ID = 2;
const LAYERS = 6;
const HEADS = 8;
const HEAD_DIM = 36;
/** Moonshine emits at most ~6 tokens per second of speech; the cap stops a looping decoder. */
const TOKENS_PER_SECOND = 6;
const SEGMENT_MAX_S = 30;
const SEGMENT_MIN_S = 20;
/** The encoder's convolutions need some samples; shorter audio is padded with silence. */
const MIN_SAMPLES = 1600;
const LLAMA_VOCAB = 32_000;

export interface TranscribeOptions {
  readonly modelsDir: string;
  /** Longest audio accepted, seconds (default 600). */
  readonly maxAudioSeconds?: number;
  /** Waiting transcriptions beyond which jobs are refused with AI_QUEUE_FULL (default 16). */
  readonly maxQueue?: number;
  /** Decode non-WAV audio with ffmpeg when it is on PATH (default true). */
  readonly useFFmpeg?: boolean;
}

export interface TranscriptSegment {
  readonly startMs: number;
  readonly endMs: number;
  readonly text: string;
  readonly tokens: number[];
}

export interface Transcript {
  readonly text: string;
  readonly segments: TranscriptSegment[];
}

export type TranscribeModel = KindModel & { readonly runner: MoonshineRunner };

export async function createTranscribeModel(opts: TranscribeOptions): Promise<TranscribeModel> {
  const files = await loadShippedModel(opts.modelsDir, "moonshine-tiny");
  const encoder = await createONNXSession(files.get("encoder_model.onnx")!);
  const decoder = await createONNXSession(files.get("decoder_model_merged.onnx")!);
  for (const name of ["input_ids", "encoder_hidden_states", "use_cache_branch"]) {
    if (!decoder.inputNames.includes(name)) {
      throw new AIError({ code: AIErrorCode.MODEL_INCOMPATIBLE, model: "moonshine-tiny", reason: `no input ${name}` });
    }
  }
  const modelId = shippedModelId("moonshine-tiny");
  const audio = createAudioDecoder(opts.useFFmpeg === false ? null : await probeFFmpeg());
  const maxSeconds = opts.maxAudioSeconds ?? 600;
  const runner = new MoonshineRunner(encoder, decoder);
  const queue = new BatchQueue<{ samples: Float32Array; ctx: JobContext }, Transcript>({
    name: "moonshine-tiny",
    maxBatch: 1,
    maxQueue: opts.maxQueue ?? 16,
    run: async ([item]) => [await runner.transcribe(item.samples, item.ctx)],
  });
  return {
    runner,
    kind: TRANSCRIBE_KIND,
    modelId,
    engine: `${ONNX_ENGINE}; model moonshine-tiny 0x${modelId} batch 1 greedy; audio ${audio.identity} 16kHz windowed-sinc`,
    async run(job: JobInput, ctx: JobContext): Promise<JobOutput> {
      checkSpecModel(job, modelId);
      const samples = await audio.decode(job.input, maxSeconds);
      const t = await queue.push({ samples, ctx });
      return { bytes: encodeTranscript(t), contentType: JSON_CONTENT_TYPE };
    },
    agrees(own: JobOutput, submitted: Uint8Array): boolean {
      return transcriptsAgree(own.bytes, submitted);
    },
    async close() {
      queue.close();
      await encoder.release();
      await decoder.release();
    },
  };
}

/** The `ai/transcribe` comparison rule: the same text, segment bounds and token ids (decoded outputs: exact). */
export function transcriptsAgree(own: Uint8Array, submitted: Uint8Array): boolean {
  const a = parseJSON(own) as Transcript | undefined;
  const b = parseJSON(submitted) as Transcript | undefined;
  if (!a || !b || !Array.isArray(b.segments) || a.segments.length !== b.segments.length || a.text !== b.text) {
    return false;
  }
  return a.segments.every((s, i) => {
    const o = b.segments[i];
    return (
      o?.text === s.text &&
      o.startMs === s.startMs &&
      o.endMs === s.endMs &&
      Array.isArray(o.tokens) &&
      o.tokens.length === s.tokens.length &&
      o.tokens.every((v, j) => v === s.tokens[j])
    );
  });
}

export function encodeTranscript(t: Transcript): Uint8Array {
  return jsonBytes({
    text: t.text,
    segments: t.segments.map((s) => ({ startMs: s.startMs, endMs: s.endMs, text: s.text, tokens: s.tokens })),
  });
}

/** Sample ranges of at most 30 s, cut at the quietest 100 ms window between 20 and 30 s into each. */
export function segmentAudio(samples: Float32Array): [number, number][] {
  const out: [number, number][] = [];
  const win = TARGET_RATE / 10;
  let start = 0;
  while (samples.length - start > SEGMENT_MAX_S * TARGET_RATE) {
    let best = start + SEGMENT_MAX_S * TARGET_RATE;
    let bestEnergy = Number.POSITIVE_INFINITY;
    for (let w = start + SEGMENT_MIN_S * TARGET_RATE; w + win <= start + SEGMENT_MAX_S * TARGET_RATE; w += win / 2) {
      let e = 0;
      for (let i = w; i < w + win; i++) e += samples[i] * samples[i];
      if (e < bestEnergy) {
        bestEnergy = e;
        best = w + win / 2;
      }
    }
    out.push([start, best]);
    start = best;
  }
  out.push([start, samples.length]);
  return out;
}

export class MoonshineRunner {
  constructor(
    private readonly encoder: ONNXSession,
    private readonly decoder: ONNXSession,
  ) {}

  async transcribe(samples: Float32Array, ctx?: JobContext): Promise<Transcript> {
    const ranges = segmentAudio(samples);
    const segments: TranscriptSegment[] = [];
    for (let i = 0; i < ranges.length; i++) {
      ctx?.signal.throwIfAborted();
      const [a, b] = ranges[i];
      const tokens = await this.tokens(samples.subarray(a, b));
      segments.push({
        startMs: Math.round((a * 1000) / TARGET_RATE),
        endMs: Math.round((b * 1000) / TARGET_RATE),
        text: decodeTokens(tokens),
        tokens,
      });
      if (ranges.length > 1) ctx?.progress((i + 1) / ranges.length, `segment ${i + 1}/${ranges.length}`);
    }
    return {
      text: segments
        .map((s) => s.text)
        .filter((t) => t.length > 0)
        .join(" "),
      segments,
    };
  }

  /** Encoder once, then greedy decoding with the merged decoder's KV cache. Returns the ids between start and EOS. */
  async tokens(segment: Float32Array): Promise<number[]> {
    let audio = segment;
    if (audio.length < MIN_SAMPLES) {
      audio = new Float32Array(MIN_SAMPLES);
      audio.set(segment);
    }
    const enc = await this.encoder.run({ input_values: new Tensor("float32", audio, [1, audio.length]) });
    const hidden = enc.last_hidden_state;
    const maxTokens = Math.ceil((audio.length / TARGET_RATE) * TOKENS_PER_SECOND);
    const emptyPast = new Tensor("float32", new Float32Array(0), [1, HEADS, 0, HEAD_DIM]);
    const past: ONNXFeeds = {};
    for (let l = 0; l < LAYERS; l++) {
      for (const part of ["decoder", "encoder"]) {
        past[`past_key_values.${l}.${part}.key`] = emptyPast;
        past[`past_key_values.${l}.${part}.value`] = emptyPast;
      }
    }
    const out: number[] = [];
    let last = START_ID;
    for (let step = 0; step < maxTokens; step++) {
      const feeds: ONNXFeeds = {
        input_ids: new Tensor("int64", BigInt64Array.from([BigInt(last)]), [1, 1]),
        encoder_hidden_states: hidden,
        use_cache_branch: new Tensor("bool", Uint8Array.from([step > 0 ? 1 : 0]), [1]),
        ...past,
      };
      const r = await this.decoder.run(feeds);
      const logits = r.logits.data as Float32Array;
      const vocab = logits.length; // [1, 1, V]
      let best = 0;
      for (let v = 1; v < vocab; v++) if (logits[v] > logits[best]) best = v;
      for (let l = 0; l < LAYERS; l++) {
        past[`past_key_values.${l}.decoder.key`] = r[`present.${l}.decoder.key`];
        past[`past_key_values.${l}.decoder.value`] = r[`present.${l}.decoder.value`];
        if (step === 0) {
          // The encoder cross-attention cache is computed once, at step 0, and reused.
          past[`past_key_values.${l}.encoder.key`] = r[`present.${l}.encoder.key`];
          past[`past_key_values.${l}.encoder.value`] = r[`present.${l}.encoder.value`];
        }
      }
      if (best === EOS_ID) break;
      out.push(best);
      last = best;
    }
    return out;
  }
}

/** Moonshine shares LLaMA's SentencePiece vocabulary; ids past it (padding rows of the logits) decode to nothing. */
export function decodeTokens(ids: readonly number[]): string {
  const known = ids.filter((id) => id > EOS_ID && id < LLAMA_VOCAB);
  if (known.length === 0) return "";
  return llamaTokenizer.decode(known, false).trim();
}
