import { createHash } from "node:crypto";
import { LengthPrefixedDecoder } from "@libp2p/utils";

/**
 * @libp2p/utils' `LengthPrefixedDecoder` (Noise's frame reader: every encrypted frame of every connection goes
 * through it) learns that it has consumed all it buffered by calling its length decoder on the empty buffer, which
 * throws a new `RangeError` that the loop catches. So every socket read cost one `Error` with its captured stack:
 * ~8–10 µs on this VM (vs ~1 µs for throwing a preallocated one), a few per gossip message (each relayed copy is
 * one read), 4 % of a validator's main-thread profile at idle (issue 14).
 *
 * The length decoder of each decoder is wrapped, once, so that an EMPTY buffer throws one preallocated
 * `RangeError` instead: the loop breaks exactly as before (it catches any RangeError as "not enough data yet").
 * Only the empty case changes; a partial prefix (1 byte of Noise's 2) reaches the original decoder unchanged.
 */

/** sha256 of `LengthPrefixedDecoder.prototype.decode`'s source in @libp2p/utils 7.4.1 (what the wrapper relies on). */
const PINNED_DECODE_SHA256 = "c5f365bb64c2c0f7b9d3543343b994b9dd4f0e205300f90c4d6b93187bff26d7";

/** What the original loop takes for "no length prefix buffered yet"; thrown without capturing a new stack. */
const EMPTY = new RangeError("length prefix: buffer empty");

/** Marks a decoder whose length decoder is already wrapped. */
const GUARDED = Symbol("azora.emptyBufferGuard");

type LengthDecoder = (data: { byteLength: number }) => number;
interface DecoderFields {
  lengthDecoder: LengthDecoder;
  [GUARDED]?: true;
}

let installed = false;

/** Patches `LengthPrefixedDecoder.prototype.decode` once per process; idempotent. */
export function installEmptyBufferGuard(): void {
  if (installed) return;
  const proto = LengthPrefixedDecoder.prototype as unknown as {
    decode: (this: DecoderFields, buf: unknown) => Generator<unknown, void, undefined>;
  };
  const original = proto.decode;
  const fingerprint = createHash("sha256").update(String(original)).digest("hex");
  if (fingerprint !== PINNED_DECODE_SHA256) {
    throw new Error(
      `@libp2p/utils' LengthPrefixedDecoder.decode changed (sha256 ${fingerprint}): node/network/lengthPrefix.ts ` +
        "wraps its length decoder and must be checked against the new version",
    );
  }
  proto.decode = function decode(this: DecoderFields, buf: unknown) {
    if (this[GUARDED] !== true) {
      this.lengthDecoder = guardEmpty(this.lengthDecoder);
      this[GUARDED] = true;
    }
    return original.call(this, buf);
  };
  installed = true;
}

/** `decoder`, except that an empty buffer throws the preallocated RangeError (the original would throw a new one). */
export function guardEmpty(decoder: LengthDecoder): LengthDecoder {
  return (data) => {
    if (data.byteLength === 0) throw EMPTY;
    return decoder(data);
  };
}
