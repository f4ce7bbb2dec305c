/**
 * The storage port over a Kubo daemon's RPC API (`kubo-rpc-client`), for operators who already run Kubo.
 * Imports pass the same UnixFS parameters as the Helia backend (CIDv1, raw leaves, `size-1048576` chunks),
 * so both give the same CID for the same bytes.
 *
 * Not exercised against a daemon here: Kubo cannot be installed on the build machines (its npm package
 * downloads the binary from GitHub; Debian 12 has none), so no test proves this adapter end to end. What is
 * tested is that an unreachable daemon fails with BACKEND_UNAVAILABLE at start. Known gaps: `offline` reads
 * are not honoured (Kubo decides from its own config), and Kubo's errors carry no stable codes, so only
 * "not found" and connection failures are mapped; everything else surfaces as is.
 */
import { multiaddr } from "@multiformats/multiaddr";
import { create, type KuboRPCClient } from "kubo-rpc-client";
import type { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { IMPORT_PARAMS, type StorageBackend } from "../backend.js";
import { StorageError, StorageErrorCode } from "../errors.js";

export interface KuboBackendOptions {
  /** RPC API base URL, e.g. http://127.0.0.1:5001. */
  url: string;
}

const ADD = {
  cidVersion: IMPORT_PARAMS.cidVersion,
  rawLeaves: IMPORT_PARAMS.rawLeaves,
  chunker: `size-${IMPORT_PARAMS.chunkSizeBytes}`,
  pin: false,
} as const;

export async function createKuboBackend(opts: KuboBackendOptions): Promise<StorageBackend> {
  const kubo: KuboRPCClient = create({ url: opts.url });
  let addresses: string[];
  try {
    const id = await kubo.id({ signal: AbortSignal.timeout(10_000) });
    addresses = id.addresses.map((a) => a.toString());
  } catch (e) {
    throw unavailable(opts.url, e);
  }
  const fail = (e: unknown, cid: CID, path: readonly string[] = []) => mapError(e, opts.url, cid, path);
  const ipfsPath = (cid: CID, path: readonly string[]) =>
    `/ipfs/${cid.toString()}${path.length > 0 ? `/${path.join("/")}` : ""}`;

  return {
    kind: "kubo",
    async addFile(content, o) {
      const r = await kubo.add(content, { ...ADD, signal: o?.signal });
      return r.cid;
    },
    async addTree(entries, o) {
      let root: CID | undefined;
      for await (const r of kubo.addAll(entries, { ...ADD, wrapWithDirectory: true, signal: o?.signal }))
        if (r.path === "") root = r.cid;
      if (root === undefined) throw new StorageError({ code: StorageErrorCode.INVALID_PATH, path: "(empty tree)" });
      return root;
    },
    async stat(cid, path = [], o) {
      try {
        const s = await kubo.files.stat(ipfsPath(cid, path), { signal: o?.signal });
        const type = s.cid.code === raw.code ? "raw" : s.type;
        return { cid: s.cid, type, size: type === "directory" ? 0n : BigInt(s.size) };
      } catch (e) {
        throw fail(e, cid, path);
      }
    },
    async *cat(cid, o) {
      try {
        yield* kubo.cat(cid, { offset: o?.offset, length: o?.length, signal: o?.signal });
      } catch (e) {
        throw fail(e, cid);
      }
    },
    async *ls(cid, o) {
      try {
        for await (const e of kubo.ls(cid, { signal: o?.signal }))
          yield {
            name: e.name,
            cid: e.cid,
            type: e.cid.code === raw.code ? "raw" : e.type === "dir" ? "directory" : "file",
            size: BigInt(e.size),
          };
      } catch (e) {
        throw fail(e, cid);
      }
    },
    async getBlock(cid, o) {
      try {
        return await kubo.block.get(cid, { signal: o?.signal });
      } catch (e) {
        throw fail(e, cid);
      }
    },
    async hasBlock(cid) {
      try {
        await kubo.block.stat(cid, {
          signal: AbortSignal.timeout(2_000),
          searchParams: new URLSearchParams({ offline: "true" }),
        });
        return true;
      } catch {
        return false;
      }
    },
    async pin(cid, o) {
      await kubo.pin.add(cid, { recursive: true, signal: o?.signal });
    },
    async unpin(cid) {
      await kubo.pin.rm(cid).catch(() => {});
    },
    async isPinned(cid) {
      try {
        for await (const _ of kubo.pin.ls({ paths: cid, type: "recursive" })) return true;
        return false;
      } catch {
        return false;
      }
    },
    addresses: () => addresses,
    async connect(addr, o) {
      try {
        await kubo.swarm.connect(multiaddr(addr), { signal: o?.signal });
      } catch (e) {
        throw unavailable(opts.url, e);
      }
    },
    async stop() {
      // the daemon is not ours to stop
    },
  };
}

function unavailable(url: string, e: unknown): StorageError {
  return new StorageError({
    code: StorageErrorCode.BACKEND_UNAVAILABLE,
    backend: `kubo ${url}`,
    reason: (e as Error).message,
  });
}

/** Kubo's RPC errors have no stable codes (Code is 0), so the few that matter are told apart by message. */
function mapError(e: unknown, url: string, cid: CID, path: readonly string[]): unknown {
  const msg = (e as Error).message ?? "";
  if ((e as { name?: string }).name === "TypeError" || /ECONNREFUSED|fetch failed/.test(msg))
    return unavailable(url, e);
  if (/no link named|not found/i.test(msg))
    return path.length > 0
      ? new StorageError({ code: StorageErrorCode.PATH_NOT_FOUND, cid: cid.toString(), path: path.join("/") })
      : new StorageError({ code: StorageErrorCode.NOT_FOUND, cid: cid.toString() });
  return e;
}
