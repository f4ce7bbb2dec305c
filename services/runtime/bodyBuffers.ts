/**
 * Request-body buffers recycled from one call to the next (issue 8: the lone call's free path).
 *
 * Why: a metered call's 460 KB body is read into a buffer of its own (payments/alignedBody.ts). Freshly allocated,
 * that buffer comes back from the allocator as new pages — glibc maps a block this large anew and unmaps it on free —
 * and the kernel faults each page in as the body's chunks are copied in: ~80 minor faults and ~0.26 ms per 460 KB
 * on the 2-core VM (after a 5 ms idle, in-process), against ~0.03 ms to fill a buffer used before. The buffer is
 * on the critical path of every call (the upload cannot end before it is filled), so it is reused instead.
 *
 * The rule that makes reuse safe is ownership, not timing: `take` hands out a buffer, and only the code that took
 * it gives it back, once nothing can read it any more (for the metered route: after the answer is written, and
 * only after a handler run that settled — see `JobInput.inputDisposable`). A buffer is given back at most once per
 * take (a second `give` is ignored), a buffer moved to another thread (detached) or not from this pool is ignored,
 * and a recycled buffer's old bytes are never visible: `take(n)` returns exactly n bytes, which the body reader
 * overwrites whole before the body is handed on (a body that ends short is refused and its buffer dropped).
 */
export interface BodyBufferOptions {
  /** Buffers kept for reuse (default 2: a lone call's body, and one more for the next request). */
  readonly keep?: number;
  /** Larger buffers are not kept (default 8 MiB: the idle worker holds at most keep × this). */
  readonly maxBytes?: number;
}

export class BodyBuffers {
  private readonly keep: number;
  private readonly maxBytes: number;
  private readonly free: ArrayBuffer[] = [];
  /** Taken and not yet given back: only these may come back (a stale or second `give` is ignored). */
  private readonly out = new WeakSet<ArrayBuffer>();
  /** Takes served from a kept buffer (for tests and metrics). */
  reused = 0;

  constructor(opts: BodyBufferOptions = {}) {
    this.keep = opts.keep ?? 2;
    this.maxBytes = opts.maxBytes ?? 8 * 1024 * 1024;
  }

  /**
   * A buffer of exactly `size` bytes at offset 0 of an ArrayBuffer nobody else holds (so it may be moved to a
   * thread). Its bytes are whatever was there: the caller overwrites them all before anyone reads them.
   */
  take(size: number): Buffer {
    // the smallest kept buffer that fits without wasting more than half of it
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const n = this.free[i].byteLength;
      if (n >= size && n <= 2 * size && (best < 0 || n < this.free[best].byteLength)) best = i;
    }
    let ab: ArrayBuffer;
    if (best >= 0) {
      ab = this.free.splice(best, 1)[0];
      this.reused++;
    } else {
      ab = Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer;
    }
    this.out.add(ab);
    return Buffer.from(ab, 0, size);
  }

  /** `buf` (a view into a buffer `take` returned) will not be read again by anyone: its buffer may be reused. */
  give(buf: Uint8Array): void {
    const ab = buf.buffer as ArrayBuffer;
    if (!this.out.delete(ab)) return; // not ours, or already given back
    if (ab.byteLength === 0 || ab.byteLength > this.maxBytes) return; // moved to a thread (detached), or too big
    if (this.free.length >= this.keep) this.free.shift();
    this.free.push(ab);
  }
}
