/**
 * Serialises async work per key (here: per sender) while different keys run in parallel. Each key
 * holds only the tail of its promise chain and is deleted once idle, so the map is bounded by the
 * number of keys with work in flight.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key);
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The chained tails never reject: `done` only resolves, and `prev` is such a tail.
    const tail = prev === undefined ? done : prev.then(() => done);
    this.tails.set(key, tail);
    if (prev !== undefined) await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with work queued or running. */
  get size(): number {
    return this.tails.size;
  }
}
