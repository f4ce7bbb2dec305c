import type { JobContext, JobInput, JobOutput } from "../../services/runtime/handler.js";
import { BatchQueue } from "../engine/batchQueue.js";
import { createONNXSession, ONNX_ENGINE, type ONNXSession, Tensor } from "../engine/session.js";
import { cropResizeBGR, decodeImage, type RGBAImage } from "../image/decode.js";
import { loadShippedModel, shippedModelId } from "../models/store.js";
import { checkSpecModel, JSON_CONTENT_TYPE, jsonBytes, type KindModel, parseJSON } from "./kind.js";
import { type Box, boxesFromProbMap, ctcGreedy, sortReadingOrder } from "./ocrPostprocess.js";

/**
 * `ai/ocr` ("Azora Vision"): PNG or JPEG in, lines of text out, with PaddleOCR PP-OCRv4 mobile detection +
 * recognition (Chinese and Latin script, digits, punctuation).
 *
 * Output (application/json): `{"lines": [{"text": "...", "box": [x0, y0, x1, y1]}]}` in reading order, boxes in
 * integer pixels of the input image (x1, y1 exclusive). Comparison for replay: the same number of lines with
 * exactly the same texts in the same order, and every box coordinate within `BOX_TOLERANCE_PX`.
 *
 * Each line is recognised alone (batch 1, padded to at least 320 columns as PaddleOCR does), and requests are not
 * batched together: images differ in size, and padding a line to another's width would make its result depend on
 * its batch mates.
 */
export const OCR_KIND = "ai/ocr";
export const BOX_TOLERANCE_PX = 2;

const DET_MAX_SIDE = 960;
const DET_MEAN = [0.406, 0.456, 0.485]; // ImageNet mean/std in B, G, R order
const DET_STD = [0.225, 0.224, 0.229];
const REC_H = 48;
const REC_MIN_W = 320;
const REC_MAX_W = 1600;
const REC_MARGIN = 0.1;
const DROP_SCORE = 0.5;

export interface OCROptions {
  readonly modelsDir: string;
  /** Largest image accepted, in pixels (default 16 Mpx). */
  readonly maxPixels?: number;
  readonly maxQueue?: number;
  /** Most lines recognised per image (default 200). */
  readonly maxLines?: number;
}

export interface OCRLine {
  readonly text: string;
  readonly box: [number, number, number, number];
}

export type OCRModel = KindModel & { readonly runner: PaddleOCRRunner };

export async function createOCRModel(opts: OCROptions): Promise<OCRModel> {
  const files = await loadShippedModel(opts.modelsDir, "ppocr-v4");
  const det = await createONNXSession(files.get("det.onnx")!);
  const rec = await createONNXSession(files.get("rec.onnx")!);
  const dict = files.get("keys.txt")!.toString("utf8").split("\n");
  if (dict[dict.length - 1] === "") dict.pop();
  const runner = new PaddleOCRRunner(det, rec, dict, opts.maxLines ?? 200);
  const modelId = shippedModelId("ppocr-v4");
  const maxPixels = opts.maxPixels ?? 16_000_000;
  const queue = new BatchQueue<{ img: RGBAImage; ctx: JobContext }, OCRLine[]>({
    name: "ppocr-v4",
    maxBatch: 1,
    maxQueue: opts.maxQueue ?? 16,
    run: async ([item]) => [await runner.read(item.img, item.ctx)],
  });
  return {
    runner,
    kind: OCR_KIND,
    modelId,
    engine: `${ONNX_ENGINE}; model ppocr-v4 0x${modelId} det max ${DET_MAX_SIDE} db 0.3/0.6/1.5 rec h${REC_H} margin ${REC_MARGIN} batch 1 ctc-greedy; image pngjs@7.0.0 jpeg-js@0.4.4 bilinear`,
    async run(job: JobInput, ctx: JobContext): Promise<JobOutput> {
      checkSpecModel(job, modelId);
      const img = decodeImage(job.input, maxPixels);
      const lines = await queue.push({ img, ctx });
      return { bytes: jsonBytes({ lines }), contentType: JSON_CONTENT_TYPE };
    },
    agrees(own: JobOutput, submitted: Uint8Array): boolean {
      return ocrResultsAgree(own.bytes, submitted);
    },
    async close() {
      queue.close();
      await det.release();
      await rec.release();
    },
  };
}

/** The `ai/ocr` comparison rule: the same texts in the same order, box coordinates within BOX_TOLERANCE_PX. */
export function ocrResultsAgree(own: Uint8Array, submitted: Uint8Array): boolean {
  const a = (parseJSON(own) as { lines?: unknown } | undefined)?.lines;
  const b = (parseJSON(submitted) as { lines?: unknown } | undefined)?.lines;
  if (!Array.isArray(a) || !Array.isArray(b) || b.length !== a.length) return false;
  return (a as OCRLine[]).every((l, i) => {
    const o = b[i] as OCRLine | undefined;
    return (
      o?.text === l.text &&
      Array.isArray(o.box) &&
      o.box.length === 4 &&
      o.box.every((v, j) => Number.isInteger(v) && Math.abs(v - l.box[j]) <= BOX_TOLERANCE_PX)
    );
  });
}

export class PaddleOCRRunner {
  constructor(
    private readonly det: ONNXSession,
    private readonly rec: ONNXSession,
    private readonly dict: readonly string[],
    private readonly maxLines: number,
  ) {}

  async read(img: RGBAImage, ctx?: JobContext): Promise<OCRLine[]> {
    const boxes = (await this.detect(img)).slice(0, this.maxLines);
    const lines: { text: string; box: Box }[] = [];
    for (const [i, box] of boxes.entries()) {
      ctx?.signal.throwIfAborted();
      if (boxes.length > 20 && i % 10 === 0) ctx?.progress(i / boxes.length, `line ${i}/${boxes.length}`);
      const { text, score } = await this.recognise(img, box);
      const trimmed = text.trim();
      if (score >= DROP_SCORE && trimmed.length > 0) lines.push({ text: trimmed, box });
    }
    return sortReadingOrder(lines).map((l) => ({
      text: l.text,
      box: [Math.round(l.box.x0), Math.round(l.box.y0), Math.round(l.box.x1), Math.round(l.box.y1)],
    }));
  }

  /** Text boxes in input-image coordinates. */
  async detect(img: RGBAImage): Promise<Box[]> {
    const ratio = Math.min(1, DET_MAX_SIDE / Math.max(img.width, img.height));
    const w = Math.max(32, Math.round((img.width * ratio) / 32) * 32);
    const h = Math.max(32, Math.round((img.height * ratio) / 32) * 32);
    const input = cropResizeBGR(img, { x: 0, y: 0, w: img.width, h: img.height }, w, h, (v, c) => {
      return (v - DET_MEAN[c]) / DET_STD[c];
    });
    const out = await this.det.run({ x: new Tensor("float32", input, [1, 3, h, w]) });
    const prob = out[this.det.outputNames[0]].data as Float32Array;
    const sx = img.width / w;
    const sy = img.height / h;
    return boxesFromProbMap(prob, w, h).map((b) => ({
      x0: Math.max(0, b.x0 * sx),
      y0: Math.max(0, b.y0 * sy),
      x1: Math.min(img.width, b.x1 * sx),
      y1: Math.min(img.height, b.y1 * sy),
    }));
  }

  async recognise(img: RGBAImage, box: Box): Promise<{ text: string; score: number }> {
    // A margin around the detected box: crops as tight as the DB box lose the spaces between words.
    const m = REC_MARGIN * (box.y1 - box.y0);
    const x0 = Math.max(0, box.x0 - m);
    const y0 = Math.max(0, box.y0 - m);
    const region = { x: x0, y: y0, w: Math.min(img.width, box.x1 + m) - x0, h: Math.min(img.height, box.y1 + m) - y0 };
    const w = Math.min(REC_MAX_W, Math.max(1, Math.ceil((REC_H * region.w) / region.h)));
    const padW = Math.max(REC_MIN_W, w);
    const input = cropResizeBGR(img, region, w, REC_H, (v) => (v - 0.5) / 0.5, padW, 0);
    const out = await this.rec.run({ x: new Tensor("float32", input, [1, 3, REC_H, padW]) });
    const t = out[this.rec.outputNames[0]];
    const [, steps, classes] = t.dims as number[];
    return ctcGreedy(t.data as Float32Array, steps, classes, this.dict);
  }
}
