import { RLP } from "@ethereumjs/rlp";
import { bytesToBigInt } from "@ethereumjs/util";
import { CodecError } from "./codecError.js";

/** RLP helpers that turn every decoding problem into a `CodecError` naming the structure. */
export type RLPInput = Uint8Array | RLPInput[];

export function rlpEncode(value: RLPInput): Uint8Array {
  return RLP.encode(value);
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
