import { type Block, decodeBlock, encodeBlock } from "../../runtime/primitives/block.js";
import { CodecError } from "../../runtime/primitives/codecError.js";
import { expectBytes, rlpDecodeList, rlpEncode } from "../../runtime/primitives/rlpCodec.js";

/** One item of a blocks response: RLP [block, commit certificate of that block]. */
export function encodeSyncItem(block: Block, commit: Uint8Array): Uint8Array {
  return rlpEncode([encodeBlock(block), commit]);
}

export function decodeSyncItem(bytes: Uint8Array): { block: Block; commit: Uint8Array } {
  const v = rlpDecodeList(bytes, "sync item");
  if (v.length !== 2) throw new CodecError("sync item", "expected 2 fields");
  return { block: decodeBlock(expectBytes(v[0], "sync.block")), commit: expectBytes(v[1], "sync.commit") };
}
