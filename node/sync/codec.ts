import { type Block, decodeBlock, encodeBlock } from "../../runtime/primitives/block.js";
import { CodecError } from "../../runtime/primitives/codecError.js";
import { expectBytes, rlpDecodeList, rlpEncode, rlpList } from "../../runtime/primitives/rlpCodec.js";

/** One item of a blocks response: RLP [block, commit certificate of that block]. */
export function encodeSyncItem(block: Block, commit: Uint8Array): Uint8Array {
  return rlpEncode([encodeBlock(block), commit]);
}

/**
 * `encodeSyncItem` from the block's stored encodings (`encodeHeader`, `encodeBody` output, as the database holds
 * them): the same bytes, with no decoding and encoding again.
 */
export function encodeSyncItemRaw(header: Uint8Array, body: Uint8Array, commit: Uint8Array): Uint8Array {
  return rlpEncode([rlpList([header, body]), commit]);
}

export function decodeSyncItem(bytes: Uint8Array): { block: Block; commit: Uint8Array } {
  const v = rlpDecodeList(bytes, "sync item");
  if (v.length !== 2) throw new CodecError("sync item", "expected 2 fields");
  return { block: decodeBlock(expectBytes(v[0], "sync.block")), commit: expectBytes(v[1], "sync.commit") };
}
