import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_MAX_TX_BYTES } from "../../../../node/mempool/options.js";
import { DEFAULT_TOPIC_LIMITS } from "../../../../node/network/options.js";
import {
  BATCH_DELAY_MS,
  decodeTxBatch,
  encodeTxBatch,
  MAX_BATCH_BYTES,
  MAX_TXS_PER_BATCH,
  TxBatcher,
} from "../../../../node/network/txBatch.js";
import { CodecError } from "../../../../runtime/primitives/codecError.js";
import { rlpEncode } from "../../../../runtime/primitives/rlpCodec.js";

const tx = (i: number, size = 110) => new Uint8Array(size).fill(i & 0xff);

describe("tx batch codec", () => {
  it("round-trips one and many transactions byte for byte", () => {
    for (const txs of [[tx(1)], Array.from({ length: MAX_TXS_PER_BATCH }, (_, i) => tx(i, 50 + (i % 7)))]) {
      expect(decodeTxBatch(encodeTxBatch(txs))).toEqual(txs);
    }
  });

  it("a batch of one largest tx (128 KiB) still fits the tx topic's message limit", () => {
    const largest = new Uint8Array(DEFAULT_MAX_TX_BYTES).fill(7);
    expect(encodeTxBatch([largest]).length).toBeLessThanOrEqual(DEFAULT_TOPIC_LIMITS.tx.maxMessageBytes);
    expect(MAX_BATCH_BYTES).toBeLessThan(DEFAULT_TOPIC_LIMITS.tx.maxMessageBytes);
  });

  it("refuses what is not a non-empty, bounded list of byte strings", () => {
    const bad = [
      new Uint8Array([0x01]), // a byte string, not a list
      rlpEncode([]), // empty
      rlpEncode([[tx(1)]]), // nested list
      rlpEncode(Array.from({ length: MAX_TXS_PER_BATCH + 1 }, (_, i) => tx(i, 2))),
      encodeTxBatch([tx(1)]).subarray(0, 20), // truncated
    ];
    for (const data of bad) expect(() => decodeTxBatch(data)).toThrow(CodecError);
  });
});

describe("TxBatcher", () => {
  let published: Uint8Array[][];
  let batcher: TxBatcher;
  beforeEach(() => {
    vi.useFakeTimers();
    published = [];
    batcher = new TxBatcher((b) => published.push(decodeTxBatch(b)));
  });
  afterEach(() => vi.useRealTimers());

  it("publishes what arrived within the delay as one batch, in order", () => {
    batcher.add(tx(1));
    batcher.add(tx(2));
    expect(published).toEqual([]);
    vi.advanceTimersByTime(BATCH_DELAY_MS - 1);
    batcher.add(tx(3));
    expect(published).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(published).toEqual([[tx(1), tx(2), tx(3)]]);
    vi.advanceTimersByTime(BATCH_DELAY_MS * 10);
    expect(published.length).toBe(1); // no empty batches
  });

  it("publishes a full batch at once, by count and by size", () => {
    for (let i = 0; i < MAX_TXS_PER_BATCH; i++) batcher.add(tx(i));
    expect(published.length).toBe(1);
    expect(published[0].length).toBe(MAX_TXS_PER_BATCH);
    const big = Math.floor(MAX_BATCH_BYTES / 3);
    batcher.add(tx(1, big));
    batcher.add(tx(2, big));
    expect(published.length).toBe(1);
    batcher.add(tx(3, big)); // would not fit with the two before it: they go first
    expect(published.length).toBe(2);
    expect(published[1]).toEqual([tx(1, big), tx(2, big)]);
    for (const b of published) expect(encodeTxBatch(b).length).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    vi.advanceTimersByTime(BATCH_DELAY_MS);
    expect(published[2]).toEqual([tx(3, big)]);
  });

  it("close publishes what is queued and ignores later transactions", () => {
    batcher.add(tx(9));
    batcher.close();
    expect(published).toEqual([[tx(9)]]);
    batcher.add(tx(10));
    vi.advanceTimersByTime(BATCH_DELAY_MS * 2);
    expect(published.length).toBe(1);
  });
});
