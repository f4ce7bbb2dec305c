export interface GossipQueueOptions {
  maxLength: number;
  maxBytes: number;
  concurrency: number;
}

type Entry<T> = { item: T; bytes: number };

/**
 * A FIFO bounded by item count and by bytes, drained by at most `concurrency` workers. `push` refuses
 * instead of growing, so a flood costs at most `maxBytes` plus `concurrency` messages in flight.
 */
export class GossipQueue<T> {
  private entries: (Entry<T> | undefined)[] = [];
  private head = 0;
  private queuedBytes = 0;
  private running = 0;

  constructor(
    private readonly opts: GossipQueueOptions,
    /** Must not throw; a rejection is swallowed so one bad job never stalls the queue. */
    private readonly worker: (item: T) => Promise<void>,
  ) {}

  get length(): number {
    return this.entries.length - this.head;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  get inFlight(): number {
    return this.running;
  }

  /** False (and nothing queued) when the queue is at its length or byte bound. */
  push(item: T, bytes: number): boolean {
    if (this.length >= this.opts.maxLength || this.queuedBytes + bytes > this.opts.maxBytes) return false;
    this.entries.push({ item, bytes });
    this.queuedBytes += bytes;
    this.drain();
    return true;
  }

  /** Removes and returns everything not yet handed to a worker. */
  clear(): T[] {
    const out: T[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e !== undefined) out.push(e.item);
    }
    this.entries = [];
    this.head = 0;
    this.queuedBytes = 0;
    return out;
  }

  private drain(): void {
    while (this.running < this.opts.concurrency && this.length > 0) {
      const entry = this.entries[this.head]!;
      this.entries[this.head] = undefined;
      this.head++;
      this.queuedBytes -= entry.bytes;
      if (this.head >= 1024 && this.head * 2 >= this.entries.length) {
        this.entries = this.entries.slice(this.head);
        this.head = 0;
      }
      this.running++;
      this.worker(entry.item)
        .catch(() => {})
        .finally(() => {
          this.running--;
          this.drain();
        });
    }
  }
}
