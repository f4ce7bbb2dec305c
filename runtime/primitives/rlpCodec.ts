import { RLP } from "@ethereumjs/rlp";
import { bytesToBigInt } from "@ethereumjs/util";
import { CodecError } from "./codecError.js";

/** RLP helpers that turn every decoding problem into a `CodecError` naming the structure. */
export type RLPInput = Uint8Array | RLPInput[];

export function rlpEncode(value: RLPInput): Uint8Array {
  return RLP.encode(value);
}

/*
 * RLP written straight into its bytes, for hot encoders (trie nodes, receipts): a list is built from
 * "pieces" (each string's header piece then its bytes, or an item already encoded) in one
 * allocation, with no intermediate `RLPInput` tree. Their output equals `rlpEncode` byte for byte
 * (differential tests in trieRoot.test.ts and codecs.test.ts).
 */

const NO_BYTES = new Uint8Array(0);

/** The one-byte headers of strings under 56 bytes, shared: pieces are only ever read. */
const SHORT_STRING_HEADERS = Array.from({ length: 56 }, (_, n) => Uint8Array.of(0x80 + n));

function stringHeader(length: number): Uint8Array {
  if (length < 56) return SHORT_STRING_HEADERS[length];
  const out = new Uint8Array(rlpHeaderLength(length));
  writeRlpHeader(out, 0, 0x80, length);
  return out;
}

/** Appends the RLP string `bytes` to `pieces` (a single byte below 0x80 is its own encoding). */
export function pushRlpString(pieces: Uint8Array[], bytes: Uint8Array): void {
  pieces.push(bytes.length === 1 && bytes[0] < 0x80 ? NO_BYTES : stringHeader(bytes.length), bytes);
}

/** The RLP list of `pieces`, after an optional first byte (an EIP-2718 type), in one allocation. */
export function rlpList(pieces: Uint8Array[], typePrefix?: number): Uint8Array {
  let length = 0;
  for (const p of pieces) length += p.length;
  const skip = typePrefix === undefined ? 0 : 1;
  const out = new Uint8Array(skip + rlpHeaderLength(length) + length);
  if (typePrefix !== undefined) out[0] = typePrefix;
  let o = writeRlpHeader(out, skip, 0xc0, length);
  for (const p of pieces) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Bytes of RLP's length prefix for a payload of `length` bytes (a string's or a list's). */
export function rlpHeaderLength(length: number): number {
  return length < 56 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : length < 0x1000000 ? 4 : 5;
}

/**
 * Writes RLP's length prefix into `out` at `at` — `offset + length` below 56 bytes, else `offset + 55 + n`
 * and the length's n big-endian bytes (`offset` 0x80 for a string, 0xc0 for a list) — and returns where
 * the payload starts: for encoders that size their output first and allocate it once.
 */
export function writeRlpHeader(out: Uint8Array, at: number, offset: number, length: number): number {
  if (length < 56) {
    out[at] = offset + length;
    return at + 1;
  }
  const width = rlpHeaderLength(length) - 1;
  out[at] = offset + 55 + width;
  for (let i = width, v = length; i >= 1; i--, v >>>= 8) out[at + i] = v & 0xff;
  return at + 1 + width;
}

export function rlpDecodeList(bytes: Uint8Array, what: string): RLPInput[] {
  let decoded: unknown;
  try {
    decoded = RLP.decode(bytes);
  } catch (e) {
    throw new CodecError(what, (e as Error).message);
  }
  if (!Array.isArray(decoded)) throw new CodecError(what, "expected a list");
  return decoded as RLPInput[];
}

export function expectList(value: RLPInput | undefined, what: string): RLPInput[] {
  if (!Array.isArray(value)) throw new CodecError(what, "expected a list");
  return value;
}

export function expectBytes(value: RLPInput | undefined, what: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CodecError(what, "expected bytes");
  if (length !== undefined && value.length !== length) {
    throw new CodecError(what, `expected ${length} bytes, got ${value.length}`);
  }
  return value;
}

/** A canonical RLP integer: at most 32 bytes, no leading zero byte. */
export function expectUint(value: RLPInput | undefined, what: string): bigint {
  const bytes = expectBytes(value, what);
  if (bytes.length > 32) throw new CodecError(what, "integer wider than 256 bits");
  if (bytes.length > 0 && bytes[0] === 0) throw new CodecError(what, "integer with leading zero byte");
  return bytesToBigInt(bytes);
}
