const MiB = 1024 * 1024;

/** Bounds of the buffer of messages that arrived before the node reached their height. */
export interface FutureBufferLimits {
  /** Messages held over all heights. */
  maxMessages: number;
  /** Bytes held over all heights (a proposal can weigh 4 MiB). */
  maxBytes: number;
}

export const DEFAULT_FUTURE_BUFFER_LIMITS: Readonly<FutureBufferLimits> = {
  maxMessages: 2048,
  maxBytes: 16 * MiB,
};

type Entry<T> = { key: string; bytes: number; item: T };

/**
 * Verified messages of heights above the node's, held until it enters their height. Bounded in
 * count and bytes; when full, a message for a nearer height evicts the newest of the farthest
 * height (the nearer one is needed sooner), and a message for the farthest height is refused.
 * Duplicates (same key) are refused. The caller stores copies, not views into network buffers,
 * so what is held is exactly what is counted. Pure, with the item type left to the caller.
 */
export class FutureBuffer<T> {
  readonly limits: Readonly<FutureBufferLimits>;
  private readonly byHeight = new Map<bigint, Entry<T>[]>();
  private readonly keys = new Set<string>();
  private heldBytes = 0;

  constructor(limits: Partial<FutureBufferLimits> = {}) {
    this.limits = { ...DEFAULT_FUTURE_BUFFER_LIMITS, ...limits };
  }

  get size(): number {
    return this.keys.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /** Holds `item` for `height` under `key` (unique per height), unless it is a duplicate or there is no room. */
  add(height: bigint, key: string, bytes: number, item: T): "held" | "duplicate" | "full" {
    const k = `${height}/${key}`;
    if (this.keys.has(k)) return "duplicate";
    if (bytes > this.limits.maxBytes) return "full";
    while (this.keys.size + 1 > this.limits.maxMessages || this.heldBytes + bytes > this.limits.maxBytes) {
      if (!this.evictAbove(height)) return "full";
    }
    let list = this.byHeight.get(height);
    if (list === undefined) {
      list = [];
      this.byHeight.set(height, list);
    }
    list.push({ key: k, bytes, item });
    this.keys.add(k);
    this.heldBytes += bytes;
    return "held";
  }

  /** Removes everything held for heights ≤ `height`; returns the items of `height`, in arrival order. */
  take(height: bigint): T[] {
    let out: T[] = [];
    for (const [h, list] of this.byHeight) {
      if (h > height) continue;
      if (h === height) out = list.map((e) => e.item);
      this.drop(h, list);
    }
    return out;
  }

  /** Drops everything (a restart of the height sequence, e.g. after block sync jumped ahead). */
  clear(): void {
    this.byHeight.clear();
    this.keys.clear();
    this.heldBytes = 0;
  }

  private drop(h: bigint, list: Entry<T>[]): void {
    for (const e of list) {
      this.keys.delete(e.key);
      this.heldBytes -= e.bytes;
    }
    this.byHeight.delete(h);
  }

  /** Evicts the newest message of the farthest height above `height`; false if there is none. */
  private evictAbove(height: bigint): boolean {
    let far: bigint | null = null;
    for (const h of this.byHeight.keys()) if (h > height && (far === null || h > far)) far = h;
    if (far === null) return false;
    const list = this.byHeight.get(far) as Entry<T>[];
    const e = list.pop() as Entry<T>;
    this.keys.delete(e.key);
    this.heldBytes -= e.bytes;
    if (list.length === 0) this.byHeight.delete(far);
    return true;
  }
}
