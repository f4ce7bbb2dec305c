import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import { describe, expect, it } from "vitest";
import { VoteType, voteSignBytes } from "../../../consensus/vote.js";
import { rlpEncode } from "../../../runtime/primitives/rlpCodec.js";

/** The sign bytes as the generic RLP encoder makes them: the definition any faster writer must match (sync14c). */
function reference(chainId: bigint, type: VoteType, height: bigint, round: number, hash: Uint8Array | null) {
  return rlpEncode([
    new TextEncoder().encode("azora/vote/1"),
    bigIntToUnpaddedBytes(chainId),
    bigIntToUnpaddedBytes(BigInt(type)),
    bigIntToUnpaddedBytes(height),
    bigIntToUnpaddedBytes(BigInt(round)),
    hash ?? new Uint8Array(0),
  ]);
}

/** Seeded xorshift: the same values every run. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe("voteSignBytes", () => {
  it("equals the generic RLP encoding at the integers' byte boundaries and over random votes", () => {
    const edges = [0n, 1n, 0x7fn, 0x80n, 0xffn, 0x100n, 0xffffn, 0x10000n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 48n + 5n];
    edges.push(
      BigInt(Number.MAX_SAFE_INTEGER),
      BigInt(Number.MAX_SAFE_INTEGER) + 1n,
      2n ** 54n + 1n,
      2n ** 64n - 1n,
      2n ** 64n,
    );
    const hash = new Uint8Array(32).map((_, i) => i * 7);
    for (const n of edges) {
      for (const type of [VoteType.Prevote, VoteType.Precommit]) {
        expect(voteSignBytes(n, type, n, 0, hash)).toEqual(reference(n, type, n, 0, hash));
        expect(voteSignBytes(16730n, type, n, 3, null)).toEqual(reference(16730n, type, n, 3, null));
      }
    }
    for (const round of [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffffffff]) {
      expect(voteSignBytes(1n, VoteType.Precommit, 5n, round, hash)).toEqual(
        reference(1n, VoteType.Precommit, 5n, round, hash),
      );
    }
    const r = rng(12345);
    for (let i = 0; i < 500; i++) {
      const chainId = BigInt(Math.floor(r() * 2 ** (1 + Math.floor(r() * 52))));
      const height = BigInt(Math.floor(r() * 2 ** 40)) * BigInt(1 + Math.floor(r() * 2 ** 30));
      const round = Math.floor(r() * 2 ** Math.floor(r() * 32));
      const h = r() < 0.2 ? null : new Uint8Array(32).map(() => Math.floor(r() * 256));
      expect(voteSignBytes(chainId, VoteType.Precommit, height, round, h)).toEqual(
        reference(chainId, VoteType.Precommit, height, round, h),
      );
    }
  });
});
