/**
 * The blob store with content storage behind it: every blob is kept in the local file store (durable before
 * the journal names it, served at `/blobs/<cid>`) and added to the worker's IPFS node too, pinned, so results
 * are served by the gateway at `/ipfs/<cid>` and other nodes fetch them by CID over bitswap. A blob of at most
 * one chunk (1 MiB) is a single raw block whose CID is the blob's own (CIDv1 raw sha2-256), so `ipfs://<cid>`
 * names the same bytes as the market's hash; a larger one gets a UnixFS CID of its own, logged.
 */
import type { Logger } from "../../../runtime/lib/logger.js";
import { IMPORT_PARAMS, type StorageBackend } from "../../storage/backend.js";
import type { BlobStore } from "./blobStore.js";

export function createStorageBlobStore(files: BlobStore, storage: StorageBackend, logger: Logger): BlobStore {
  return {
    ...files,
    async put(bytes, contentType) {
      const info = await files.put(bytes, contentType);
      const cid = await storage.addFile(bytes);
      await storage.pin(cid);
      if (bytes.length > IMPORT_PARAMS.chunkSizeBytes)
        logger.debug("blob added to IPFS under its UnixFS CID", { cid: info.cid, unixfs: cid.toString() });
      return info;
    },
  };
}
