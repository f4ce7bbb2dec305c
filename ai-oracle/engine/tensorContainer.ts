import { AIInputCode, inputError } from "../errors.js";
import type { NumericDType } from "./session.js";

/**
 * AZT1, the tensor container for `ai/onnx` inputs and outputs and `ai/embed` outputs. All integers little-endian:
 *
 *     "AZT1"  u32 count  then count × { u16 nameLen, name (UTF-8), u8 dtype, u8 rank, rank × u32 dim, data }
 *
 * `data` is prod(dims) elements of the dtype, little-endian, densely packed, row-major (bool: one byte, 0 or 1).
 * No padding, nothing after the last tensor. Canonical form (what results are hashed in): tensors sorted by the
 * byte order of their names, which the encoder does, and names unique, which the decoder checks.
 */
export const AZT1_MAGIC = "AZT1";
export const AZT1_CONTENT_TYPE = "application/vnd.azora.tensors";
export const MAX_TENSORS = 64;
export const MAX_RANK = 8;
const MAX_NAME_BYTES = 256;

/** dtype codes (one byte) and element sizes. */
export const DTYPES: Readonly<Record<NumericDType, { code: number; bytes: number }>> = {
  float32: { code: 1, bytes: 4 },
  float64: { code: 2, bytes: 8 },
  int8: { code: 3, bytes: 1 },
  uint8: { code: 4, bytes: 1 },
  int16: { code: 5, bytes: 2 },
  uint16: { code: 6, bytes: 2 },
  int32: { code: 7, bytes: 4 },
  uint32: { code: 8, bytes: 4 },
  int64: { code: 9, bytes: 8 },
  uint64: { code: 10, bytes: 8 },
  bool: { code: 11, bytes: 1 },
  float16: { code: 12, bytes: 2 },
};
const BY_CODE = new Map(Object.entries(DTYPES).map(([name, d]) => [d.code, name as NumericDType]));
/**
 * Tensor names' decoder, made once: constructing a TextDecoder costs ~10 µs warm (~25 after an idle gap, on a metered
 * call's path before its model), a decode ~1. A non-streaming decode keeps no state between calls, a failed one included.
 */
const NAME_DECODER = new TextDecoder("utf-8", { fatal: true });

export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export interface NamedTensor {
  readonly name: string;
  readonly dtype: NumericDType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function typedArrayFor(dtype: NumericDType, buf: ArrayBuffer, off: number, n: number): TensorData {
  switch (dtype) {
    case "float32":
      return new Float32Array(buf, off, n);
    case "float64":
      return new Float64Array(buf, off, n);
    case "int8":
      return new Int8Array(buf, off, n);
    case "uint8":
    case "bool":
      return new Uint8Array(buf, off, n);
    case "int16":
      return new Int16Array(buf, off, n);
    case "uint16":
    case "float16":
      return new Uint16Array(buf, off, n);
    case "int32":
      return new Int32Array(buf, off, n);
    case "uint32":
      return new Uint32Array(buf, off, n);
    case "int64":
      return new BigInt64Array(buf, off, n);
    case "uint64":
      return new BigUint64Array(buf, off, n);
  }
}

/** This library assumes a little-endian host (x86-64, arm64): typed arrays are then the wire layout. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The canonical container of `tensors`, in a buffer of its own (never a slice of Node's shared allocation pool),
 * so an inference thread can move it to the event loop without a copy.
 */
export function encodeTensors(tensors: readonly NamedTensor[]): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error("AZT1 encoding needs a little-endian host");
  const sorted = [...tensors].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const parts: Uint8Array[] = [];
  const head = Buffer.alloc(8);
  head.write(AZT1_MAGIC, 0, "latin1");
  head.writeUInt32LE(sorted.length, 4);
  parts.push(head);
  for (let i = 0; i < sorted.length; i++) {
    const t = sorted[i];
    if (i > 0 && t.name === sorted[i - 1].name) throw new Error(`duplicate tensor name ${t.name}`);
    const name = Buffer.from(t.name, "utf8");
    const h = Buffer.alloc(2 + name.length + 2 + 4 * t.dims.length);
    h.writeUInt16LE(name.length, 0);
    name.copy(h, 2);
    h.writeUInt8(DTYPES[t.dtype].code, 2 + name.length);
    h.writeUInt8(t.dims.length, 3 + name.length);
    t.dims.forEach((d, j) => {
      h.writeUInt32LE(d, 4 + name.length + 4 * j);
    });
    parts.push(h);
    const expected = elementCount(t.dims) * DTYPES[t.dtype].bytes;
    const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (data.length !== expected)
      throw new Error(`tensor ${t.name}: ${data.length} data bytes, shape needs ${expected}`);
    parts.push(data);
  }
  const out = Buffer.allocUnsafeSlow(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Decodes a container; every malformation is a JobInputError with code TENSOR_FORMAT or TENSOR_NAME. Tensor data
 * are views into `bytes` (no copy) wherever the data's position in the underlying buffer is aligned for its
 * element type, and copies where it is not (a typed array cannot start mid-element): the result shares memory
 * with `bytes`, so `bytes` must not change while the tensors are in use.
 */
export function decodeTensors(bytes: Uint8Array): NamedTensor[] {
  const fail = (why: string) => inputError(AIInputCode.TENSOR_FORMAT, `AZT1 container: ${why}`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 8 || b.toString("latin1", 0, 4) !== AZT1_MAGIC) throw fail("missing AZT1 magic");
  const count = b.readUInt32LE(4);
  if (count > MAX_TENSORS) throw fail(`${count} tensors, at most ${MAX_TENSORS}`);
  let off = 8;
  const need = (n: number, what: string) => {
    if (off + n > b.length) throw fail(`truncated in ${what}`);
  };
  const out: NamedTensor[] = [];
  const names = new Set<string>();
  for (let i = 0; i < count; i++) {
    need(2, "name length");
    const nameLen = b.readUInt16LE(off);
    off += 2;
    if (nameLen === 0 || nameLen > MAX_NAME_BYTES) throw fail(`tensor ${i}: name length ${nameLen}`);
    need(nameLen, "name");
    let name: string;
    try {
      name = NAME_DECODER.decode(b.subarray(off, off + nameLen));
    } catch {
      throw fail(`tensor ${i}: name is not UTF-8`); // (the decoder's TypeError would answer a bad input with a 500)
    }
    off += nameLen;
    if (names.has(name)) throw inputError(AIInputCode.TENSOR_NAME, `tensor ${name} appears twice`);
    names.add(name);
    need(2, "dtype and rank");
    const dtype = BY_CODE.get(b.readUInt8(off));
    const rank = b.readUInt8(off + 1);
    off += 2;
    if (!dtype) throw fail(`tensor ${name}: unknown dtype code ${b.readUInt8(off - 2)}`);
    if (rank > MAX_RANK) throw fail(`tensor ${name}: rank ${rank} > ${MAX_RANK}`);
    need(4 * rank, "dims");
    const dims: number[] = [];
    for (let j = 0; j < rank; j++) dims.push(b.readUInt32LE(off + 4 * j));
    off += 4 * rank;
    const byteLen = elementCount(dims) * DTYPES[dtype].bytes;
    if (!Number.isSafeInteger(byteLen) || off + byteLen > b.length) throw fail(`tensor ${name}: data truncated`);
    const n = elementCount(dims);
    const at = b.byteOffset + off;
    let data: TensorData;
    if (at % DTYPES[dtype].bytes === 0 && b.buffer instanceof ArrayBuffer) {
      data = typedArrayFor(dtype, b.buffer, at, n);
    } else {
      const copy = new ArrayBuffer(byteLen);
      new Uint8Array(copy).set(b.subarray(off, off + byteLen));
      data = typedArrayFor(dtype, copy, 0, n);
    }
    off += byteLen;
    if (dtype === "bool" && (data as Uint8Array).some((v) => v > 1)) throw fail(`tensor ${name}: bool byte not 0/1`);
    out.push({ name, dtype, dims, data });
  }
  if (off !== b.length) throw fail(`${b.length - off} bytes after the last tensor`);
  return out;
}
