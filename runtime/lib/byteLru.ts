/**
 * An LRU map bounded by the bytes its values hold, as the caller estimates them at `set`: a cache
 * whose entries differ in size (a 16-way trie branch against a short leaf, a full block against an
 * empty one) is bounded by what it costs, not by how many entries it has. A value larger than the
 * whole budget is not kept.
 */
export class ByteLRU<K, V> {
  private readonly map = new Map<K, { value: V; bytes: number }>();
  private used = 0;
  /** Set once the cache first evicted: from then on a hit moves its entry to the recent end. */
  private evicting = false;

  constructor(readonly capacityBytes: number) {}

  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    // Recency only matters once eviction happens; until then a hit costs one lookup.
    if (this.evicting) {
      this.map.delete(key);
      this.map.set(key, e);
    }
    return e.value;
  }

  set(key: K, value: V, bytes: number): void {
    this.delete(key);
    if (bytes > this.capacityBytes) return;
    this.map.set(key, { value, bytes });
    this.used += bytes;
    while (this.used > this.capacityBytes) {
      this.evicting = true;
      this.delete(this.map.keys().next().value as K);
    }
  }

  delete(key: K): void {
    const e = this.map.get(key);
    if (e === undefined) return;
    this.map.delete(key);
    this.used -= e.bytes;
  }

  clear(): void {
    this.map.clear();
    this.used = 0;
    this.evicting = false;
  }

  get size(): number {
    return this.map.size;
  }

  /** The estimated bytes of the values held; never above `capacityBytes`. */
  get bytes(): number {
    return this.used;
  }
}
