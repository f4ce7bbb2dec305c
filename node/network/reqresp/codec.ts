import { bigIntToUnpaddedBytes, bytesToUtf8, intToUnpaddedBytes, utf8ToBytes } from "@ethereumjs/util";
import { CodecError } from "../../../runtime/primitives/codecError.js";
import { expectBytes, expectList, expectUint, rlpDecodeList, rlpEncode } from "../../../runtime/primitives/rlpCodec.js";
import { type GossipTopic, isGossipTopic } from "../topics.js";

/**
 * Wire format of the request–response protocols. Each request is one length-prefixed RLP frame; the
 * response is zero or more DATA chunks then exactly one terminal chunk (END or an error). A chunk is
 * one length-prefixed frame: a code byte, then the payload (raw for DATA, UTF-8 for errors).
 */
export enum ResponseCode {
  DATA = 0,
  END = 1,
  INVALID_REQUEST = 2,
  SERVER_ERROR = 3,
  UNAVAILABLE = 4,
  /** direct: the topic handler ignored the message. */
  IGNORED = 5,
  /** direct: the topic handler rejected the message. */
  REJECTED = 6,
}

const MAX_CODE = ResponseCode.REJECTED;
/** Error texts cross the wire; keep them short, they are peer-supplied on the other side. */
export const MAX_ERROR_MESSAGE_BYTES = 256;
const EMPTY = new Uint8Array(0);

export type ResponseChunk = { code: ResponseCode; payload: Uint8Array };

export function encodeChunk(code: ResponseCode, payload: Uint8Array = EMPTY): Uint8Array {
  const out = new Uint8Array(1 + payload.length);
  out[0] = code;
  out.set(payload, 1);
  return out;
}

export function encodeErrorChunk(code: ResponseCode, message: string): Uint8Array {
  return encodeChunk(code, utf8ToBytes(message).subarray(0, MAX_ERROR_MESSAGE_BYTES));
}

export function decodeChunk(bytes: Uint8Array): ResponseChunk {
  if (bytes.length === 0) throw new CodecError("response chunk", "empty");
  const code = bytes[0];
  if (code > MAX_CODE) throw new CodecError("response chunk", `unknown code ${code}`);
  return { code, payload: bytes.subarray(1) };
}

/** Error payloads are for debug logs only; the length bound is enforced on read too. */
export function decodeErrorMessage(payload: Uint8Array): string {
  return bytesToUtf8(payload.subarray(0, MAX_ERROR_MESSAGE_BYTES));
}

export function encodeBlocksRequest(from: bigint, count: number): Uint8Array {
  return rlpEncode([bigIntToUnpaddedBytes(from), intToUnpaddedBytes(count)]);
}

export function decodeBlocksRequest(bytes: Uint8Array): { from: bigint; count: number } {
  const v = rlpDecodeList(bytes, "blocks request");
  if (v.length !== 2) throw new CodecError("blocks request", `expected 2 fields, got ${v.length}`);
  const from = expectUint(v[0], "blocks request from");
  const count = expectUint(v[1], "blocks request count");
  if (count > 0xffff_ffffn) throw new CodecError("blocks request", "count above 2^32");
  return { from, count: Number(count) };
}

export function encodeStatusRequest(): Uint8Array {
  return rlpEncode([]);
}

export function decodeStatusRequest(bytes: Uint8Array): void {
  const v = rlpDecodeList(bytes, "status request");
  if (v.length !== 0) throw new CodecError("status request", "expected an empty list");
}

/**
 * A node's head, with the proof of it: `commit` is the encoded commit certificate of block `hash` at
 * `height` (empty at genesis). A peer believes the height only if the certificate verifies. `signers`
 * are the public keys of the validators of `height` in set order (the certificate names signers by
 * index): a peer that does not know that height's validators yet checks the signatures of the ones it
 * trusts (light-client skipping verification). Left out by older nodes.
 */
export type PeerStatus = { height: bigint; hash: Uint8Array; commit: Uint8Array; signers?: Uint8Array[] };

/** A status is tiny but its certificate grows with the validator set (~70 bytes per signer). */
export const MAX_STATUS_BYTES = 64 * 1024;

export function encodeStatus(s: PeerStatus): Uint8Array {
  const fields = [bigIntToUnpaddedBytes(s.height), s.hash, s.commit];
  return rlpEncode(s.signers === undefined ? fields : [...fields, s.signers]);
}

export function decodeStatus(bytes: Uint8Array): PeerStatus {
  const v = rlpDecodeList(bytes, "status");
  if (v.length !== 3 && v.length !== 4) throw new CodecError("status", `expected 3 or 4 fields, got ${v.length}`);
  const status: PeerStatus = {
    height: expectUint(v[0], "status height"),
    hash: expectBytes(v[1], "status hash", 32),
    commit: expectBytes(v[2], "status commit"),
  };
  if (v.length === 4) status.signers = expectList(v[3], "status signers").map((k) => expectBytes(k, "signer", 32));
  return status;
}

export function encodeDirectRequest(topic: GossipTopic, data: Uint8Array): Uint8Array {
  return rlpEncode([utf8ToBytes(topic), data]);
}

export function decodeDirectRequest(bytes: Uint8Array): { topic: GossipTopic; data: Uint8Array } {
  const v = rlpDecodeList(bytes, "direct request");
  if (v.length !== 2) throw new CodecError("direct request", `expected 2 fields, got ${v.length}`);
  const topicBytes = expectBytes(v[0], "direct request topic");
  const topic = topicBytes.length <= 16 ? bytesToUtf8(topicBytes) : "";
  if (!isGossipTopic(topic)) throw new CodecError("direct request", "unknown topic");
  return { topic, data: expectBytes(v[1], "direct request data") };
}
