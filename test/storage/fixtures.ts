/** Shared by the storage tests: temp dirs, deterministic bytes, a real PNG, a storage service in-process. */
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { nullLogger } from "../../runtime/lib/logger.js";
import {
  resolveStorageConfig,
  type StorageConfigInput,
  type StorageService,
  startStorageService,
} from "../../services/storage/index.js";

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `azora-storage-${tag}-`));
}

/** `n` pseudo-random bytes from a seed (sha256 in counter mode): the same every run. */
export function seededBytes(n: number, seed = "azora"): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, ctr = 0; i < n; ctr++) {
    const block = createHash("sha256").update(`${seed}:${ctr}`).digest();
    out.set(block.subarray(0, Math.min(32, n - i)), i);
    i += 32;
  }
  return out;
}

/** A real w×h RGBA PNG (a gradient). */
export function pngBytes(w = 8, h = 8): Uint8Array {
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) png.data.set([(i * 13) & 255, (i * 7) & 255, 200, 255], i * 4);
  return new Uint8Array(PNG.sync.write(png));
}

export async function startStorage(over: StorageConfigInput = {}, dataDir = tempDir("svc")): Promise<StorageService> {
  const cfg = resolveStorageConfig(undefined, {
    dataDir,
    http: { host: "127.0.0.1", port: 0 },
    p2p: { listen: ["/ip4/127.0.0.1/tcp/0"], peers: [] },
    ...over,
  });
  return startStorageService(cfg, { log: nullLogger, version: "test" });
}

export async function bodyOf(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

/** A response's JSON, loosely typed for assertions. */
// biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary fields
export async function jsonOf(res: Response): Promise<any> {
  return res.json();
}
