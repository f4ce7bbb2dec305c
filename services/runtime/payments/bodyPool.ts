import { alignedBuffer, alignPad } from "./alignedBody.js";

/**
 * Kept buffers for the metered front's request bodies. Why: the front reads a body's rest straight into its own
 * buffer (rpc/transport/ownReads.ts); a fresh 459 KB buffer per call is fresh pages, faulted in inside that read
 * (~114 minor faults, +1.3 ms of system CPU per call), as glibc gives a freed body's pages back to the OS (README,
 * issue 8, "lone8read" / "lone8pool"). A body read into a kept buffer touches pages that are already there.
 *
 * Lifetime: `take` lends a buffer; `give` returns it once nothing reads the body any more — for a metered call,
 * when the handler's run has settled, not when the answer is made (a run can outlive its answer: a commit that
 * throws answers 500 while the model still reads its input). A buffer moved to an inference thread comes back
 * detached and is dropped; one not lent by this pool, or given twice, is ignored.
 */
export class BodyPool {
  private readonly free: ArrayBuffer[] = [];
  private readonly lent = new WeakSet<ArrayBufferLike>();

  /**
   * @param keep buffers kept free at most (the oldest goes first)
   * @param maxBytes bodies larger than this get a buffer of their own, never kept
   */
  constructor(
    private readonly keep: number,
    private readonly maxBytes: number,
  ) {}

  /** A buffer for a body of `length` bytes, aligned as `alignedBuffer` does, on a kept ArrayBuffer when one fits. */
  take(length: number, first: Uint8Array): Buffer {
    const pad = alignPad(first);
    const size = roundUp(length + pad);
    if (size > this.maxBytes) return alignedBuffer(length, first);
    // Same size class only: a small body does not hold a large buffer, nor a large one get several small ones.
    const i = this.free.findIndex((b) => b.byteLength === size);
    const ab = i < 0 ? (Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer) : this.free.splice(i, 1)[0];
    this.lent.add(ab);
    return Buffer.from(ab, pad, length);
  }

  /** Gives a body's buffer back: call only once nothing reads `body` (nor a view of it) any more. */
  give(body: Uint8Array): void {
    const ab = body.buffer;
    if (!this.lent.has(ab)) return;
    this.lent.delete(ab);
    if (ab.byteLength === 0) return; // moved to a thread: detached, its memory is the thread's
    this.free.push(ab as ArrayBuffer);
    if (this.free.length > this.keep) this.free.shift();
  }

  /** Buffers kept free now (for tests). */
  get size(): number {
    return this.free.length;
  }
}

/** Size classes of 64 KiB: bodies of the same shape, give or take a header, share buffers. */
const CLASS_BYTES = 64 * 1024;
function roundUp(n: number): number {
  return Math.ceil(n / CLASS_BYTES) * CLASS_BYTES;
}
