/**
 * Uploading a file to a storage gateway: one POST for small files, tus (resumable, in chunks) for large
 * ones. A chunk that fails is retried from the offset the server reports (`HEAD`), so a dropped connection
 * costs one chunk, not the file.
 */
import { open, stat } from "node:fs/promises";
import { basename } from "node:path";
import type { UploadResult } from "./gateway/uploads.js";

export interface UploadClientOptions {
  /** Gateway base URL (http://host:port). */
  url: string;
  authToken?: string;
  /** Files up to this size go in one POST; larger ones through tus. */
  plainMaxBytes?: number;
  chunkBytes?: number;
  /** Attempts per chunk before giving up. */
  retries?: number;
  /** Keep the file's name (wrap it in a directory). */
  wrap?: boolean;
  onProgress?: (sentBytes: number, totalBytes: number) => void;
}

const TUS = { "tus-resumable": "1.0.0" };

export async function uploadFile(path: string, opts: UploadClientOptions): Promise<UploadResult> {
  const base = opts.url.replace(/\/+$/, "");
  const auth: Record<string, string> =
    opts.authToken === undefined ? {} : { authorization: `Bearer ${opts.authToken}` };
  const size = (await stat(path)).size;
  const name = basename(path);
  const fh = await open(path, "r");
  try {
    if (size <= (opts.plainMaxBytes ?? 8 * 1024 * 1024)) {
      const body = new Uint8Array(size);
      await fh.read(body, 0, size, 0);
      const q = opts.wrap ? `?filename=${encodeURIComponent(name)}` : "";
      const res = await fetch(`${base}/upload${q}`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/octet-stream" },
        body,
      });
      if (!res.ok) throw new Error(`upload failed: HTTP ${res.status} ${await res.text()}`);
      opts.onProgress?.(size, size);
      return (await res.json()) as UploadResult;
    }
    const meta: Record<string, string> = opts.wrap
      ? { "upload-metadata": `filename ${Buffer.from(name).toString("base64")}` }
      : {};
    const created = await fetch(`${base}/uploads`, {
      method: "POST",
      headers: { ...TUS, ...auth, ...meta, "upload-length": String(size) },
    });
    if (created.status !== 201) throw new Error(`upload refused: HTTP ${created.status} ${await created.text()}`);
    const location = new URL(created.headers.get("location") ?? "", `${base}/uploads/`).toString();
    const chunk = opts.chunkBytes ?? 8 * 1024 * 1024;
    let offset = 0;
    let failures = 0;
    let cid: string | null = null;
    while (offset < size) {
      const n = Math.min(chunk, size - offset);
      const body = new Uint8Array(n);
      await fh.read(body, 0, n, offset);
      try {
        const res = await fetch(location, {
          method: "PATCH",
          headers: {
            ...TUS,
            ...auth,
            "content-type": "application/offset+octet-stream",
            "upload-offset": String(offset),
          },
          body,
        });
        if (res.status !== 204 && res.status !== 200) throw new Error(`HTTP ${res.status} ${await res.text()}`);
        offset = Number(res.headers.get("upload-offset"));
        cid = res.headers.get("azora-cid");
        failures = 0;
        opts.onProgress?.(offset, size);
      } catch (e) {
        if (++failures > (opts.retries ?? 5))
          throw new Error(`upload failed at byte ${offset}: ${(e as Error).message}`);
        const head = await fetch(location, { method: "HEAD", headers: { ...TUS, ...auth } });
        offset = Number(head.headers.get("upload-offset") ?? offset);
      }
    }
    const id = location.split("/").pop() as string;
    const done = await fetch(`${base}/uploads/${id}`, { headers: auth });
    if (done.ok) return (await done.json()) as UploadResult;
    if (cid !== null) return { cid, size, path: `/ipfs/${cid}` };
    throw new Error(`upload finished but the gateway reported no CID (HTTP ${done.status})`);
  } finally {
    await fh.close();
  }
}
