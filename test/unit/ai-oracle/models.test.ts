import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AIErrorCode, AIInputCode } from "../../../ai-oracle/errors.js";
import { missingModels } from "../../../ai-oracle/handlers.js";
import { cosine, createEmbedModel, decodeEmbeddings, type EmbedModel } from "../../../ai-oracle/kinds/embed.js";
import { createOCRModel, type OCRLine, type OCRModel } from "../../../ai-oracle/kinds/ocr.js";
import { createTranscribeModel, type TranscribeModel, type Transcript } from "../../../ai-oracle/kinds/transcribe.js";
import { createUSELiteEncoder } from "../../../ai-oracle/kinds/useLite.js";
import { fetchModels } from "../../../ai-oracle/models/fetch.js";
import { defaultModelsDir } from "../../../ai-oracle/models/store.js";
import { JobInputError } from "../../../services/runtime/handler.js";
import { AI_FIXTURES, EMBED_TEXTS, fixtureJobs } from "../../utils/aiOutputs.js";

/**
 * The shipped models on real inputs: speech synthesised with espeak-ng (test/fixtures/ai/README.md), a rendered
 * invoice, and sentences. Model files come from `npm run models:fetch` (CI runs it first; fetched here if absent).
 */
const dir = defaultModelsDir();
const ctx = { signal: new AbortController().signal, progress() {} };
let transcribe: TranscribeModel;
let ocr: OCRModel;
let embed: EmbedModel;

const job = (kind: string, input: Uint8Array, spec: Record<string, unknown> = {}) => ({ id: 7n, kind, spec, input });
const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

async function inputCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    if (e instanceof JobInputError) return e.code;
    throw e;
  }
  return undefined;
}

beforeAll(async () => {
  await fetchModels(dir);
  [transcribe, ocr, embed] = await Promise.all([
    createTranscribeModel({ modelsDir: dir, useFFmpeg: false }),
    createOCRModel({ modelsDir: dir }),
    createUSELiteEncoder(dir).then((e) => createEmbedModel(e)),
  ]);
}, 600_000);

afterAll(async () => {
  await Promise.all([transcribe?.close(), ocr?.close(), embed?.close()]);
});

describe("ai/transcribe (Moonshine tiny)", () => {
  it("transcribes synthesised speech: the text holds the spoken words", async () => {
    const a = JSON.parse(
      text((await transcribe.run(job("ai/transcribe", readFileSync(join(AI_FIXTURES, "transfer.wav"))), ctx)).bytes),
    ) as Transcript;
    expect(a.text.toLowerCase()).toMatch(/please transfer 10 tokens to my wallet before noon tomorrow/);
    expect(a.segments.length).toBe(1);
    expect(a.segments[0].tokens.length).toBeGreaterThan(5);
    const b = JSON.parse(
      text((await transcribe.run(job("ai/transcribe", readFileSync(join(AI_FIXTURES, "weather.wav"))), ctx)).bytes),
    ) as Transcript;
    for (const w of ["weather", "today", "sunny", "breeze", "west"]) expect(b.text.toLowerCase()).toContain(w);
  });

  it("fails bad input with a code and keeps serving", async () => {
    expect(await inputCode(transcribe.run(job("ai/transcribe", Buffer.from("hello, not audio")), ctx))).toBe(
      AIInputCode.INPUT_NOT_AUDIO,
    );
    expect(
      await inputCode(transcribe.run(job("ai/transcribe", readFileSync(join(AI_FIXTURES, "invoice.png"))), ctx)),
    ).toBe(AIInputCode.INPUT_NOT_AUDIO);
    const wav = readFileSync(join(AI_FIXTURES, "weather.wav"));
    expect(await inputCode(transcribe.run(job("ai/transcribe", wav, { model: "00".repeat(32) }), ctx))).toBe(
      AIInputCode.MODEL_UNKNOWN,
    );
    const ok = await transcribe.run(job("ai/transcribe", wav, { model: `0x${transcribe.modelId}` }), ctx);
    expect(text(ok.bytes)).toContain("weather");
  });

  it("agrees with its own output and not with a changed transcript", async () => {
    const own = await transcribe.run(job("ai/transcribe", readFileSync(join(AI_FIXTURES, "weather.wav"))), ctx);
    expect(transcribe.agrees(own, own.bytes, job("ai/transcribe", new Uint8Array()))).toBe(true);
    const lie = text(own.bytes).replace("sunny", "rainy");
    expect(transcribe.agrees(own, Buffer.from(lie), job("ai/transcribe", new Uint8Array()))).toBe(false);
    expect(transcribe.agrees(own, Buffer.from("{}"), job("ai/transcribe", new Uint8Array()))).toBe(false);
  });
});

describe("ai/ocr (PP-OCRv4)", () => {
  const expected = ["Invoice No. 4821", "Total: 129.50 USD", "Paid to azora wallet"];

  it("reads the printed lines of a PNG in reading order, with integer boxes", async () => {
    const out = await ocr.run(job("ai/ocr", readFileSync(join(AI_FIXTURES, "invoice.png"))), ctx);
    const lines = (JSON.parse(text(out.bytes)) as { lines: OCRLine[] }).lines;
    expect(lines.map((l) => l.text)).toEqual(expected);
    for (let i = 1; i < lines.length; i++) expect(lines[i].box[1]).toBeGreaterThan(lines[i - 1].box[3] - 1);
    for (const l of lines) for (const v of l.box) expect(Number.isInteger(v)).toBe(true);
  });

  it("reads the same image as a JPEG", async () => {
    const png = PNG.sync.read(readFileSync(join(AI_FIXTURES, "invoice.png")));
    const jpg = jpeg.encode({ data: png.data, width: png.width, height: png.height }, 90).data;
    const lines = (JSON.parse(text((await ocr.run(job("ai/ocr", jpg), ctx)).bytes)) as { lines: OCRLine[] }).lines;
    expect(lines.map((l) => l.text.replace(/\s/g, ""))).toEqual(expected.map((t) => t.replace(/\s/g, "")));
  });

  it("fails images that do not decode, or are too large, with a code", async () => {
    const png = readFileSync(join(AI_FIXTURES, "invoice.png"));
    expect(await inputCode(ocr.run(job("ai/ocr", png.subarray(0, 200)), ctx))).toBe(AIInputCode.INPUT_NOT_IMAGE);
    expect(await inputCode(ocr.run(job("ai/ocr", Buffer.from("GIF89a....")), ctx))).toBe(AIInputCode.INPUT_NOT_IMAGE);
    const huge = Buffer.from(png);
    huge.writeUInt32BE(100_000, 16); // IHDR width
    expect(await inputCode(ocr.run(job("ai/ocr", huge), ctx))).toBe(AIInputCode.INPUT_TOO_LARGE);
  });

  it("agrees within the box tolerance and not on other text", async () => {
    const own = await ocr.run(job("ai/ocr", readFileSync(join(AI_FIXTURES, "invoice.png"))), ctx);
    const parsed = JSON.parse(text(own.bytes)) as { lines: OCRLine[] };
    const moved = { lines: parsed.lines.map((l) => ({ ...l, box: l.box.map((v) => v + 1) })) };
    const far = { lines: parsed.lines.map((l) => ({ ...l, box: l.box.map((v) => v + 5) })) };
    const other = { lines: parsed.lines.map((l, i) => (i === 1 ? { ...l, text: "Total: 999.50 USD" } : l)) };
    const j = job("ai/ocr", new Uint8Array());
    expect(ocr.agrees(own, Buffer.from(JSON.stringify(moved)), j)).toBe(true);
    expect(ocr.agrees(own, Buffer.from(JSON.stringify(far)), j)).toBe(false);
    expect(ocr.agrees(own, Buffer.from(JSON.stringify(other)), j)).toBe(false);
  });
});

describe("ai/embed (USE-lite)", () => {
  it("ranks the paraphrase above unrelated sentences", async () => {
    const out = await embed.run(job("ai/embed", Buffer.from(JSON.stringify({ texts: EMBED_TEXTS }))), ctx);
    const [q, related, fees, cat] = decodeEmbeddings(out.bytes);
    expect(cosine(q, related)).toBeGreaterThan(cosine(q, fees));
    expect(cosine(q, related)).toBeGreaterThan(cosine(q, cat));
    const docs = [
      "Reset your wallet password using the recovery phrase",
      "My cat sleeps on the sofa",
      "Gas fees are paid in AZR",
    ];
    const r = decodeEmbeddings(
      (
        await embed.run(
          job("ai/embed", Buffer.from(JSON.stringify({ texts: ["I forgot my wallet login", ...docs] }))),
          ctx,
        )
      ).bytes,
    );
    const scores = docs.map((_, i) => cosine(r[0], r[i + 1]));
    expect(scores.indexOf(Math.max(...scores))).toBe(0);
    for (const v of r) expect(Math.hypot(...v)).toBeCloseTo(1, 4);
  });

  it("takes one plain text with spec.input = text", async () => {
    const out = await embed.run(job("ai/embed", Buffer.from("Hello Azora"), { input: "text" }), ctx);
    expect(decodeEmbeddings(out.bytes).map((v) => v.length)).toEqual([512]);
  });

  it("batches concurrent jobs; each result agrees with running it alone", async () => {
    const jobs = EMBED_TEXTS.map((t) => job("ai/embed", Buffer.from(JSON.stringify({ texts: [t] }))));
    const alone: Uint8Array[] = [];
    for (const j of jobs) alone.push((await embed.run(j, ctx)).bytes);
    const before = embed.queue.batchSizes.length;
    const together = await Promise.all(jobs.map((j) => embed.run(j, ctx)));
    expect(Math.max(...embed.queue.batchSizes.slice(before))).toBeGreaterThan(1);
    together.forEach((r, i) => {
      expect(embed.agrees({ bytes: alone[i], contentType: r.contentType }, r.bytes, jobs[i]), `job ${i}`).toBe(true);
    });
  });

  it("fails input that is not the documented text format with a code", async () => {
    const run = (b: Uint8Array, spec = {}) => inputCode(embed.run(job("ai/embed", b, spec), ctx));
    expect(await run(Buffer.from("not json"))).toBe(AIInputCode.INPUT_NOT_TEXT);
    expect(await run(Buffer.from(JSON.stringify({ texts: [] })))).toBe(AIInputCode.INPUT_NOT_TEXT);
    expect(await run(Buffer.from(JSON.stringify({ texts: [1, 2] })))).toBe(AIInputCode.INPUT_NOT_TEXT);
    expect(await run(Buffer.from([0xff, 0xfe, 0x00]), { input: "text" })).toBe(AIInputCode.INPUT_NOT_TEXT);
    expect(await run(Buffer.from("x"), { input: "yaml" })).toBe(AIInputCode.SPEC_INVALID);
  });
});

describe("replay determinism", () => {
  it("gives byte-identical outputs in another process", async () => {
    const models = { "ai/transcribe": transcribe, "ai/ocr": ocr, "ai/embed": embed };
    const here: Record<string, string> = {};
    for (const j of fixtureJobs()) {
      const out = await models[j.kind as keyof typeof models].run(job(j.kind, j.input, j.spec), ctx);
      here[j.kind] = createHash("sha256").update(out.bytes).digest("hex");
    }
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "test/utils/aiOutputs.ts"], {
      env: { ...process.env, AZORA_MODELS_DIR: dir },
    });
    expect(JSON.parse(stdout)).toEqual(here);
  });
});

describe("model files", () => {
  it("refuses a shipped model file whose sha256 differs, and names the fetch command when one is missing", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "azora-ai-models-"));
    await mkdir(join(tmp, "ppocr-v4"));
    for (const f of ["det.onnx", "rec.onnx"]) symlinkSync(join(dir, "ppocr-v4", f), join(tmp, "ppocr-v4", f));
    const keys = readFileSync(join(dir, "ppocr-v4", "keys.txt"));
    keys[0] ^= 1;
    writeFileSync(join(tmp, "ppocr-v4", "keys.txt"), keys);
    await expect(createOCRModel({ modelsDir: tmp })).rejects.toMatchObject({
      type: { code: AIErrorCode.MODEL_HASH_MISMATCH },
    });
    await expect(createTranscribeModel({ modelsDir: tmp })).rejects.toMatchObject({
      type: { code: AIErrorCode.MODEL_MISSING },
      message: expect.stringContaining("npm run models:fetch"),
    });
    const { missing, hint } = await missingModels({ modelsDir: tmp, kinds: ["ai/transcribe", "ai/ocr", "ai/onnx"] });
    expect(missing).toEqual(["moonshine-tiny", "ppocr-v4"]);
    expect(hint).toContain("npm run models:fetch -- --only moonshine-tiny,ppocr-v4");
    await rm(tmp, { recursive: true, force: true });
  });
});
