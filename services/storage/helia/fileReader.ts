/**
 * Reads a byte range of a UnixFS file by walking its DAG and streaming only the leaves the range touches:
 * a raw leaf held on disk is streamed from its block file (so the first bytes leave before the whole 1 MiB
 * leaf is read, as a static file server does), anything else — DAG-PB nodes, leaves fetched from peers — is
 * read as a block. Follows the UnixFS spec: a file node's inline `data` comes first, then its children in
 * link order, child i holding `blockSizes[i]` bytes. Any importer's layout (balanced, trickle, CIDv0, leaves
 * with or without the raw codec) reads the same way.
 */
import * as dagPb from "@ipld/dag-pb";
import { UnixFS } from "ipfs-unixfs";
import type { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { identity } from "multiformats/hashes/identity";
import { StorageError, StorageErrorCode } from "../errors.js";

export interface FileReaderPorts {
  /** A block's bytes (local, or fetched and verified by the node). */
  block(cid: CID, signal?: AbortSignal): Promise<Uint8Array>;
  /** A stream of bytes [start, end) of a raw block held locally, or undefined when it is not local. */
  streamLocal(cid: CID, start: number, end: number): Promise<AsyncIterable<Uint8Array> | undefined>;
}

/** Deepest DAG a file may have (1024-link balanced trees of 1 MiB leaves reach petabytes at depth 4). */
const MAX_DEPTH = 32;

/** Bytes [offset, offset + length) of the file at `cid` (to its end without `length`). */
export async function* readFileRange(
  ports: FileReaderPorts,
  cid: CID,
  offset = 0,
  length?: number,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const end = length === undefined ? Number.POSITIVE_INFINITY : offset + length;
  if (end <= offset) return;
  yield* read(ports, cid, offset, end, signal, 0);
}

async function* read(
  ports: FileReaderPorts,
  cid: CID,
  start: number,
  end: number,
  signal: AbortSignal | undefined,
  depth: number,
): AsyncGenerator<Uint8Array> {
  signal?.throwIfAborted();
  if (depth > MAX_DEPTH)
    throw new StorageError({ code: StorageErrorCode.UNSUPPORTED_CONTENT, cid: cid.toString(), codec: cid.code });
  if (cid.multihash.code === identity.code) {
    yield cid.multihash.digest.subarray(start, Math.min(end, cid.multihash.digest.length));
    return;
  }
  if (cid.code === raw.code) {
    const local = await ports.streamLocal(cid, start, end);
    if (local !== undefined) {
      yield* local;
      return;
    }
    const bytes = await ports.block(cid, signal);
    if (start < bytes.length) yield bytes.subarray(start, Math.min(end, bytes.length));
    return;
  }
  if (cid.code !== dagPb.code)
    throw new StorageError({ code: StorageErrorCode.UNSUPPORTED_CONTENT, cid: cid.toString(), codec: cid.code });
  const node = dagPb.decode(await ports.block(cid, signal));
  if (node.Data === undefined)
    throw new StorageError({ code: StorageErrorCode.UNSUPPORTED_CONTENT, cid: cid.toString(), codec: cid.code });
  const fs = UnixFS.unmarshal(node.Data);
  if (fs.type !== "file" && fs.type !== "raw")
    throw new StorageError({ code: StorageErrorCode.UNSUPPORTED_CONTENT, cid: cid.toString(), codec: cid.code });
  let pos = 0;
  const data = fs.data ?? new Uint8Array(0);
  if (data.length > 0) {
    if (start < data.length) yield data.subarray(start, Math.min(end, data.length));
    pos = data.length;
  }
  if (node.Links.length !== fs.blockSizes.length)
    throw new StorageError({ code: StorageErrorCode.UNSUPPORTED_CONTENT, cid: cid.toString(), codec: cid.code });
  for (let i = 0; i < node.Links.length && pos < end; i++) {
    const size = Number(fs.blockSizes[i]);
    const childEnd = pos + size;
    if (childEnd > start)
      yield* read(
        ports,
        node.Links[i].Hash,
        Math.max(0, start - pos),
        Math.min(end, childEnd) - pos,
        signal,
        depth + 1,
      );
    pos = childEnd;
  }
}
