import { describe, expect, it } from "vitest";
import { layoutOf, type PoolEntry, SenderTxs } from "../../../../node/mempool/senderTxs.js";
import type { PooledTx } from "../../../../node/mempool/types.js";
import { prng } from "./fixtures.js";

/** An entry with what the bookkeeping reads: its nonce, slots, cost and identity (`seq`). */
function entry(nonce: bigint, seq: number, slots: number): PoolEntry {
  return {
    tx: { nonce, hash: `0x${seq.toString(16)}`, cost: BigInt(seq * 7 + slots) } as unknown as PooledTx,
    seq,
    slots,
    admittedAt: 0,
    pending: false,
  };
}

/**
 * The plain classification `SenderTxs.classify` used to run on every settle, over the whole list:
 * the reference its incremental bookkeeping must match.
 */
function reference(entries: readonly PoolEntry[], stateNonce: bigint): { pending: number[]; queued: number[] } {
  const pending: number[] = [];
  const queued: number[] = [];
  let next = stateNonce;
  for (const e of entries) {
    if (e.tx.nonce === next) {
      next++;
      pending.push(e.seq);
    } else queued.push(e.seq);
  }
  return { pending, queued };
}

/** `layoutWith`'s append shortcut against the copy and recount, for entries around the list's end. */
function expectLayoutWith(acct: SenderTxs, seq: number, label: string): void {
  const last = acct.entries().at(-1)?.tx.nonce ?? acct.stateNonce;
  for (const nonce of [last - 1n, last, last + 1n, last + 2n, acct.stateNonce])
    for (const stateNonce of [acct.stateNonce, acct.stateNonce + 1n]) {
      const probe = entry(nonce, seq, 2);
      expect(acct.layoutWith(probe, stateNonce), `${label}: layoutWith ${nonce} at ${stateNonce}`).toEqual(
        layoutOf(acct.withEntry(probe), stateNonce),
      );
    }
}

describe("SenderTxs bookkeeping (incremental) against a full recount", () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])("seed %i: flags, counts and promotions after random edits", (seed) => {
    const rand = prng(seed);
    const acct = new SenderTxs("0xabc", 0n, 0n);
    let seq = 0;
    let wasPending = new Set<number>();
    for (let step = 0; step < 400; step++) {
      const label = `seed ${seed} step ${step}`;
      // A few edits between settles, like an admission, a block's inclusions or a drop.
      const edits = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < edits; k++) {
        const roll = rand();
        const nonce = acct.stateNonce + BigInt(Math.floor(rand() * 10));
        if (roll < 0.55)
          acct.put(entry(nonce, seq++, 1 + Math.floor(rand() * 3))); // insert or replace
        else if (roll < 0.8) acct.remove(nonce);
        else acct.stateNonce += BigInt(Math.floor(rand() * 3)); // a block included (or skipped past) some
      }
      expectLayoutWith(acct, seq, label);
      acct.removeStale();
      const promoted = acct.classify().map((e) => e.seq);
      expectLayoutWith(acct, seq, label);
      const entries = acct.entries();
      const want = reference(entries, acct.stateNonce);
      expect(
        entries.filter((e) => e.pending).map((e) => e.seq),
        `${label}: pending flags`,
      ).toEqual(want.pending);
      expect(acct.counts, `${label}: counts`).toEqual(layoutOf(entries, acct.stateNonce));
      expect(promoted, `${label}: promoted = newly pending, in nonce order`).toEqual(
        want.pending.filter((s) => !wasPending.has(s)),
      );
      expect(acct.lastPending()?.seq, `${label}: last pending`).toBe(want.pending.at(-1));
      expect(acct.totalCost, `${label}: total cost`).toBe(entries.reduce((sum, e) => sum + e.tx.cost, 0n));
      wasPending = new Set(want.pending);
    }
  });

  it("reports a replacement of a pending tx as promoted (announced like any newly pending tx)", () => {
    const acct = new SenderTxs("0xabc", 5n, 0n);
    for (const [i, n] of [5n, 6n, 7n].entries()) acct.put(entry(n, i, 1));
    expect(acct.classify().map((e) => e.seq)).toEqual([0, 1, 2]);
    acct.put(entry(6n, 9, 1));
    expect(acct.classify().map((e) => e.seq)).toEqual([9]);
    expect(acct.counts).toEqual({ pendingCount: 3, pendingSlots: 3, queuedCount: 0, queuedSlots: 0 });
  });
});
