/** Parsing `/ipfs/<cid>[/<path>]`: the CID and the path segments under it, refused when unsafe. */
import { CID } from "multiformats/cid";
import { StorageError, StorageErrorCode } from "../errors.js";

export const MAX_PATH_SEGMENTS = 64;
const MAX_SEGMENT_BYTES = 255;

export function parseCID(value: string): CID {
  try {
    return CID.parse(value);
  } catch {
    throw new StorageError({ code: StorageErrorCode.INVALID_CID, value: value.slice(0, 100) });
  }
}

/**
 * Splits the (already percent-decoded) rest of the path. Empty segments from a trailing slash are dropped;
 * `.`, `..` and over-long segments are refused (a DAG link name is never one of them).
 */
export function parsePathSegments(rest: string): string[] {
  const segs = rest.split("/").filter((s) => s !== "");
  if (segs.length > MAX_PATH_SEGMENTS)
    throw new StorageError({ code: StorageErrorCode.INVALID_PATH, path: rest.slice(0, 200) });
  for (const s of segs) {
    if (s === "." || s === ".." || Buffer.byteLength(s) > MAX_SEGMENT_BYTES)
      throw new StorageError({ code: StorageErrorCode.INVALID_PATH, path: rest.slice(0, 200) });
  }
  return segs;
}

/**
 * The gateway path of an `ipfs://` URI (`ipfs://<cid>[/<path>]`, also the older `ipfs://ipfs/<cid>…`), as
 * NFT token URIs and job results name content: `/ipfs/<cid>[/<path>]`, to append to any gateway's base URL.
 */
export function ipfsURIToPath(uri: string): string {
  const m = /^ipfs:\/\/(?:ipfs\/)?([^/?#]+)((?:\/[^?#]*)?)$/.exec(uri);
  if (m === null) throw new StorageError({ code: StorageErrorCode.INVALID_CID, value: uri.slice(0, 100) });
  const cid = parseCID(m[1]);
  return `/ipfs/${cid.toString()}${m[2]}`;
}
