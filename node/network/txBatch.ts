import { CodecError } from "../../runtime/primitives/codecError.js";
import { expectBytes, rlpDecodeList, rlpEncode } from "../../runtime/primitives/rlpCodec.js";

/**
 * Transactions travel the `tx` topic in batches: an RLP list of raw transactions (EIP-2718
 * envelopes), one or more per gossip message.
 *
 * Why: a gossip message has a fixed cost on every node that is large next to a 110-byte
 * transfer — protobuf framing, a message id, a Noise frame, a Yamux frame, a validation round
 * trip, and in a small full mesh two duplicate forwards per peer. Profiled on the 4-validator
 * localnet at 200 tx/s, per-transaction gossip was ~25 % of every node's CPU. A batch collected
 * for a few milliseconds pays that once for many transactions; the delay is far below a block.
 */

/** Most transactions per batch (a full batch is published at once). */
export const MAX_TXS_PER_BATCH = 256;
/** Largest encoded batch; stays under the `tx` topic's message limit with room for framing. */
export const MAX_BATCH_BYTES = 96 * 1024;
/** How long the first queued transaction waits for others before its batch is published. */
export const BATCH_DELAY_MS = 5;

export function encodeTxBatch(txs: readonly Uint8Array[]): Uint8Array {
  return rlpEncode(txs as Uint8Array[]);
}

/** The raw transactions of a batch; CodecError when it is not a non-empty list of byte strings. */
export function decodeTxBatch(data: Uint8Array): Uint8Array[] {
  const items = rlpDecodeList(data, "tx batch");
  if (items.length === 0) throw new CodecError("tx batch", "empty batch");
  if (items.length > MAX_TXS_PER_BATCH) throw new CodecError("tx batch", `more than ${MAX_TXS_PER_BATCH} txs`);
  return items.map((item, i) => expectBytes(item, `tx batch[${i}]`));
}

/** RLP list header bytes for a payload of `n` bytes (an upper bound is enough here). */
const LIST_OVERHEAD = 9;

/**
 * Collects transactions and publishes them in batches: when `MAX_TXS_PER_BATCH` or
 * `MAX_BATCH_BYTES` is reached, or `BATCH_DELAY_MS` after the first transaction of a batch.
 * Owns one timer at most; `close` publishes what is queued and stops.
 */
export class TxBatcher {
  private queued: Uint8Array[] = [];
  private bytes = LIST_OVERHEAD;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly publish: (batch: Uint8Array) => void,
    private readonly delayMs = BATCH_DELAY_MS,
  ) {}

  add(raw: Uint8Array): void {
    if (this.closed) return;
    // Each item costs its bytes plus at most 5 bytes of RLP length prefix.
    const size = raw.length + 5;
    if (this.queued.length > 0 && this.bytes + size > MAX_BATCH_BYTES) this.flush();
    this.queued.push(raw);
    this.bytes += size;
    if (this.queued.length >= MAX_TXS_PER_BATCH || this.bytes >= MAX_BATCH_BYTES) this.flush();
    else if (this.timer === null) this.timer = setTimeout(() => this.flush(), this.delayMs);
  }

  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.queued.length === 0) return;
    const batch = encodeTxBatch(this.queued);
    this.queued = [];
    this.bytes = LIST_OVERHEAD;
    this.publish(batch);
  }

  close(): void {
    this.flush();
    this.closed = true;
  }
}
