import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import { assert } from "../../runtime/lib/assert.js";
import { CodecError } from "../../runtime/primitives/codecError.js";
import {
  expectBytes,
  expectList,
  expectUint,
  type RLPInput,
  rlpDecodeList,
  rlpEncode,
} from "../../runtime/primitives/rlpCodec.js";
import type { CoreProposal, CoreVote, Input, TimeoutKind, VoteKind } from "../core/types.js";

/**
 * Bytes of one WAL record: a consensus `Input` (consensus/core/types.ts) plus optional opaque bytes
 * the driver attaches (`extra`), as RLP:
 *
 *   [version = 1, tag, body, extra]     extra = [] (none) or [bytes]
 *
 *   tag 1 startHeight   body = [height]
 *   tag 2 proposal      body = [height, round, valueId, polRound + 1, valid (0 | 1)]
 *   tag 3 vote          body = [kind (1 prevote | 2 precommit), height, round, valueId?, validator]
 *                       valueId? = [] for a nil vote, [valueId] otherwise
 *   tag 4 timeout       body = [kind (1 propose | 2 prevote | 3 precommit), height, round]
 *   tag 5 proposeValue  body = [height, round, valueId]
 *
 * Integers are canonical RLP unsigned integers (rounds and validator indexes at most 2^53 − 1);
 * value ids are UTF-8 strings. `CoreVote.signed` is `unknown` to the core and is NOT encoded: the
 * driver passes its wire encoding of the signed vote (or of a signed proposal with its block) as
 * `extra`, and re-attaches it after `decodeWalInput`. Decoding is strict: it accepts exactly the
 * bytes `encodeWalInput` produces and throws only `CodecError`.
 */

const WAL_CODEC_VERSION = 1n;

const TAG = { startHeight: 1n, proposal: 2n, vote: 3n, timeout: 4n, proposeValue: 5n } as const;
const VOTE_KINDS: readonly VoteKind[] = ["prevote", "precommit"];
const TIMEOUT_KINDS: readonly TimeoutKind[] = ["propose", "prevote", "precommit"];

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** A lone surrogate: a JS string that UTF-8 cannot carry. */
const LONE_SURROGATE = /\p{Cs}/u;

function uint(n: bigint | number): Uint8Array {
  if (typeof n === "number") {
    assert(Number.isSafeInteger(n), "WAL integer must be a safe integer");
    assert(n >= 0, "WAL integer must be >= 0");
    return bigIntToUnpaddedBytes(BigInt(n));
  }
  assert(n >= 0n, "WAL integer must be >= 0");
  return bigIntToUnpaddedBytes(n);
}

function str(s: string): Uint8Array {
  assert(!LONE_SURROGATE.test(s), "WAL value id must be valid Unicode");
  return utf8.encode(s);
}

export function encodeWalInput(input: Input, extra?: Uint8Array): Uint8Array {
  let tag: bigint;
  let body: RLPInput[];
  switch (input.type) {
    case "startHeight":
      tag = TAG.startHeight;
      body = [uint(input.height)];
      break;
    case "proposal": {
      const p = input.proposal;
      assert(p.polRound >= -1, "proposal polRound must be >= -1");
      tag = TAG.proposal;
      body = [uint(p.height), uint(p.round), str(p.valueId), uint(p.polRound + 1), uint(p.valid ? 1 : 0)];
      break;
    }
    case "vote": {
      const v = input.vote;
      tag = TAG.vote;
      body = [
        uint(VOTE_KINDS.indexOf(v.kind) + 1),
        uint(v.height),
        uint(v.round),
        v.valueId === null ? [] : [str(v.valueId)],
        uint(v.validator),
      ];
      break;
    }
    case "timeout":
      tag = TAG.timeout;
      body = [uint(TIMEOUT_KINDS.indexOf(input.kind) + 1), uint(input.height), uint(input.round)];
      break;
    case "proposeValue":
      tag = TAG.proposeValue;
      body = [uint(input.height), uint(input.round), str(input.valueId)];
      break;
    default:
      assert(false, `unknown consensus input ${(input as { type: string }).type}`);
  }
  return rlpEncode([uint(WAL_CODEC_VERSION), uint(tag), body, extra === undefined ? [] : [extra]]);
}

function fields(value: RLPInput | undefined, n: number, what: string): RLPInput[] {
  const list = expectList(value, what);
  if (list.length !== n) throw new CodecError(what, `expected ${n} items, got ${list.length}`);
  return list;
}

function safeInt(value: RLPInput | undefined, what: string): number {
  const n = expectUint(value, what);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new CodecError(what, "above 2^53 - 1");
  return Number(n);
}

function text(value: RLPInput | undefined, what: string): string {
  const bytes = expectBytes(value, what);
  try {
    return utf8Strict.decode(bytes);
  } catch {
    throw new CodecError(what, "not UTF-8");
  }
}

function oneOf<T>(value: RLPInput | undefined, options: readonly T[], what: string): T {
  const n = expectUint(value, what);
  if (n < 1n || n > BigInt(options.length)) throw new CodecError(what, `unknown kind ${n}`);
  return options[Number(n) - 1];
}

function decodeBody(tag: bigint, body: RLPInput | undefined): Input {
  switch (tag) {
    case TAG.startHeight: {
      const [height] = fields(body, 1, "WAL startHeight");
      return { type: "startHeight", height: expectUint(height, "WAL startHeight height") };
    }
    case TAG.proposal: {
      const f = fields(body, 5, "WAL proposal");
      const valid = expectUint(f[4], "WAL proposal valid");
      if (valid > 1n) throw new CodecError("WAL proposal valid", "expected 0 or 1");
      const proposal: CoreProposal = {
        height: expectUint(f[0], "WAL proposal height"),
        round: safeInt(f[1], "WAL proposal round"),
        valueId: text(f[2], "WAL proposal valueId"),
        polRound: safeInt(f[3], "WAL proposal polRound") - 1,
        valid: valid === 1n,
      };
      return { type: "proposal", proposal };
    }
    case TAG.vote: {
      const f = fields(body, 5, "WAL vote");
      const value = expectList(f[3], "WAL vote valueId");
      if (value.length > 1) throw new CodecError("WAL vote valueId", "expected 0 or 1 items");
      const vote: CoreVote = {
        kind: oneOf(f[0], VOTE_KINDS, "WAL vote kind"),
        height: expectUint(f[1], "WAL vote height"),
        round: safeInt(f[2], "WAL vote round"),
        valueId: value.length === 0 ? null : text(value[0], "WAL vote valueId"),
        validator: safeInt(f[4], "WAL vote validator"),
      };
      return { type: "vote", vote };
    }
    case TAG.timeout: {
      const f = fields(body, 3, "WAL timeout");
      return {
        type: "timeout",
        kind: oneOf(f[0], TIMEOUT_KINDS, "WAL timeout kind"),
        height: expectUint(f[1], "WAL timeout height"),
        round: safeInt(f[2], "WAL timeout round"),
      };
    }
    case TAG.proposeValue: {
      const f = fields(body, 3, "WAL proposeValue");
      return {
        type: "proposeValue",
        height: expectUint(f[0], "WAL proposeValue height"),
        round: safeInt(f[1], "WAL proposeValue round"),
        valueId: text(f[2], "WAL proposeValue valueId"),
      };
    }
    default:
      throw new CodecError("WAL input", `unknown tag ${tag}`);
  }
}

/** Inverse of `encodeWalInput`; throws only `CodecError`. */
export function decodeWalInput(bytes: Uint8Array): { input: Input; extra?: Uint8Array } {
  const [version, tag, body, extraList] = fields(rlpDecodeList(bytes, "WAL input"), 4, "WAL input");
  const v = expectUint(version, "WAL input version");
  if (v !== WAL_CODEC_VERSION) throw new CodecError("WAL input version", `unsupported version ${v}`);
  const input = decodeBody(expectUint(tag, "WAL input tag"), body);
  const extras = expectList(extraList, "WAL input extra");
  if (extras.length > 1) throw new CodecError("WAL input extra", "expected 0 or 1 items");
  const extra = extras.length === 0 ? undefined : expectBytes(extras[0], "WAL input extra");
  // Strictness: only the exact bytes the encoder produces decode (no alternative RLP spellings).
  const again = encodeWalInput(input, extra);
  if (!Buffer.from(again).equals(bytes)) throw new CodecError("WAL input", "non-canonical encoding");
  return extra === undefined ? { input } : { input, extra };
}
