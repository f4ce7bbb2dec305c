/**
 * A local content-addressed blob store: one file per blob, named by its CID (v1 raw, sha2-256), under a
 * directory of the worker's data dir. Writes are durable before `put` resolves (temp file, fsync, rename),
 * so a journal entry naming a CID never outlives its bytes. Served at `GET /blobs/<cid>` by the HTTP API
 * until the storage issue brings IPFS.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { CID } from "multiformats/cid";
import { cidOf, parseCID } from "./cid.js";

export interface BlobInfo {
  cid: string;
  size: number;
  contentType: string;
}

export interface BlobStore {
  /** Stores bytes; returns their CID. Idempotent. */
  put(bytes: Uint8Array, contentType?: string): Promise<BlobInfo>;
  get(cid: string | CID): Promise<{ bytes: Uint8Array; info: BlobInfo } | undefined>;
  stat(cid: string | CID): BlobInfo | undefined;
  /** Absolute path of a stored blob's file (for streaming). */
  path(cid: string | CID): string;
}

const DEFAULT_TYPE = "application/octet-stream";

export function createFileBlobStore(dir: string): BlobStore {
  mkdirSync(dir, { recursive: true });
  const fileOf = (cid: string) => join(dir, cid);
  const typeFileOf = (cid: string) => join(dir, `${cid}.type`);
  const key = (cid: string | CID) => (typeof cid === "string" ? parseCID(cid).toString() : cid.toString());

  function writeDurably(file: string, data: Uint8Array | string): void {
    const tmp = join(dir, `.tmp-${randomBytes(6).toString("hex")}`);
    const fd = openSync(tmp, "w", 0o644);
    try {
      if (typeof data === "string") writeSync(fd, data);
      else writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  }

  function stat(cid: string | CID): BlobInfo | undefined {
    const k = key(cid);
    try {
      const st = statSync(fileOf(k));
      let contentType = DEFAULT_TYPE;
      try {
        contentType = readFileSync(typeFileOf(k), "utf8").trim() || DEFAULT_TYPE;
      } catch {
        // no sidecar: octet-stream
      }
      return { cid: k, size: st.size, contentType };
    } catch {
      return undefined;
    }
  }

  return {
    async put(bytes, contentType = DEFAULT_TYPE) {
      const cid = cidOf(bytes).toString();
      if (stat(cid) === undefined) {
        if (contentType !== DEFAULT_TYPE) writeDurably(typeFileOf(cid), contentType);
        writeDurably(fileOf(cid), bytes);
        // the renames are durable once the directory entry is: sync it too
        const dfd = await open(dir, "r");
        try {
          await dfd.sync();
        } finally {
          await dfd.close();
        }
      }
      return { cid, size: bytes.length, contentType };
    },
    async get(cid) {
      const info = stat(cid);
      if (info === undefined) return undefined;
      return { bytes: new Uint8Array(await readFile(fileOf(info.cid))), info };
    },
    stat,
    path: (cid) => fileOf(key(cid)),
  };
}
