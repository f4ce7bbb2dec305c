import { readFileSync } from "node:fs";

/**
 * Reads the index of a LevelDB table file (.ldb), so a test can damage exactly the data blocks that
 * hold a chosen key range: footer → index block (snappy-decompressed when needed) → one entry per
 * data block, whose key is a separator ≥ every key in that block. Format: LevelDB's doc/table_format.md.
 */

export interface DataBlock {
  offset: number;
  size: number;
  /** User key of the block's separator (internal key without its 8-byte sequence/type trailer). */
  lastKey: Uint8Array;
}

function varint(buf: Uint8Array, pos: { i: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos.i++];
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return result;
    shift += 7;
  }
}

/** Snappy block decompression (the raw format LevelDB uses). */
function snappyDecompress(src: Uint8Array): Uint8Array {
  const pos = { i: 0 };
  const out = new Uint8Array(varint(src, pos));
  let o = 0;
  while (pos.i < src.length) {
    const tag = src[pos.i++];
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >> 2;
      if (len >= 60) {
        const bytes = len - 59;
        len = 0;
        for (let k = 0; k < bytes; k++) len |= src[pos.i++] << (8 * k);
      }
      len += 1;
      out.set(src.subarray(pos.i, pos.i + len), o);
      pos.i += len;
      o += len;
      continue;
    }
    let len: number;
    let off: number;
    if (kind === 1) {
      len = ((tag >> 2) & 7) + 4;
      off = ((tag >> 5) << 8) | src[pos.i++];
    } else if (kind === 2) {
      len = (tag >> 2) + 1;
      off = src[pos.i] | (src[pos.i + 1] << 8);
      pos.i += 2;
    } else {
      len = (tag >> 2) + 1;
      off = src[pos.i] | (src[pos.i + 1] << 8) | (src[pos.i + 2] << 16) | (src[pos.i + 3] << 24);
      pos.i += 4;
    }
    for (let k = 0; k < len; k++, o++) out[o] = out[o - off];
  }
  return out;
}

/** The data blocks of a table file, in key order. */
export function tableDataBlocks(file: string): DataBlock[] {
  const buf = new Uint8Array(readFileSync(file));
  const footer = buf.subarray(buf.length - 48);
  const pos = { i: 0 };
  varint(footer, pos); // metaindex offset
  varint(footer, pos); // metaindex size
  const indexOffset = varint(footer, pos);
  const indexSize = varint(footer, pos);
  const raw = buf.subarray(indexOffset, indexOffset + indexSize);
  const type = buf[indexOffset + indexSize];
  const block = type === 1 ? snappyDecompress(raw) : raw;
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const restarts = view.getUint32(block.length - 4, true);
  const end = block.length - 4 - 4 * restarts;
  const out: DataBlock[] = [];
  let key = new Uint8Array(0);
  const p = { i: 0 };
  while (p.i < end) {
    const shared = varint(block, p);
    const unshared = varint(block, p);
    const valueLen = varint(block, p);
    const next = new Uint8Array(shared + unshared);
    next.set(key.subarray(0, shared));
    next.set(block.subarray(p.i, p.i + unshared), shared);
    key = next;
    p.i += unshared;
    const v = { i: p.i };
    const offset = varint(block, v);
    const size = varint(block, v);
    p.i += valueLen;
    out.push({ offset, size, lastKey: key.subarray(0, key.length - 8) });
  }
  return out;
}
