/**
 * The messages between an `InferencePool` and its threads (engine/sessionThread.ts). Tensors cross as their
 * dtype, dims and an ArrayBuffer with the view's offset and length, so a buffer given up by its owner moves
 * without a copy (transfer) and the receiver rebuilds the same typed-array view over it.
 */

export interface WireTensor {
  readonly type: string;
  readonly dims: readonly number[];
  /** Numeric tensors: the buffer, the view's byte offset and element count. String tensors: the strings. */
  readonly buffer?: ArrayBuffer;
  readonly byteOffset?: number;
  readonly length?: number;
  readonly strings?: readonly string[];
}

export interface WireMetadata {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly unknown[];
  readonly outputMetadata: readonly unknown[];
}

export type ThreadRequest =
  | { op: "create"; id: number; session: number; model: Uint8Array }
  | { op: "run"; id: number; session: number; feeds: Record<string, WireTensor> }
  /** `run`, answered with the named outputs as an AZT1 container and its sha256 (`encoded`). */
  | { op: "runEncoded"; id: number; session: number; feeds: Record<string, WireTensor>; outputs: readonly string[] }
  | { op: "release"; id: number; session: number };

export type ThreadReply =
  | {
      id: number;
      ok: true;
      metadata?: WireMetadata;
      outputs?: Record<string, WireTensor>;
      /** A run's `session.run` time in the thread (ms). */
      modelMs?: number;
      /** When it returned, µs on the machine's monotonic clock. */
      modelEndUs?: number;
      /** `runEncoded`: the container (a buffer of its own, moved) and its sha256. */
      encoded?: { bytes: Uint8Array; sha256: `0x${string}` };
    }
  | { id: number; ok: false; error: { name: string; message: string } };

type Typed = ArrayBufferView & { readonly length: number };

/**
 * A tensor's data as wire fields. With `giveAway` the view's buffer is moved (listed in `transfer`: the sender's
 * views over it become empty); otherwise just the view is copied and the copy moved — never a structured clone,
 * which would copy the view's whole underlying buffer.
 */
export function toWire(
  type: string,
  dims: readonly number[],
  data: unknown,
  giveAway: boolean,
  transfer: ArrayBuffer[],
): WireTensor {
  if (Array.isArray(data)) return { type, dims: [...dims], strings: data as string[] };
  const v = data as Typed;
  if (!giveAway || !(v.buffer instanceof ArrayBuffer)) {
    const copy = new Uint8Array(v.byteLength);
    copy.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    transfer.push(copy.buffer);
    return { type, dims: [...dims], buffer: copy.buffer, byteOffset: 0, length: v.length };
  }
  if (!transfer.includes(v.buffer)) transfer.push(v.buffer);
  return { type, dims: [...dims], buffer: v.buffer, byteOffset: v.byteOffset, length: v.length };
}

const CTORS: Record<string, new (b: ArrayBuffer, off: number, len: number) => unknown> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  float16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
};

/** The typed array (or string list) a wire tensor carries. */
export function fromWire(t: WireTensor): unknown {
  if (t.strings) return [...t.strings];
  const Ctor = CTORS[t.type];
  if (!Ctor || !t.buffer) throw new TypeError(`tensor dtype ${t.type} cannot cross threads`);
  return new Ctor(t.buffer, t.byteOffset ?? 0, t.length ?? 0);
}
