/**
 * A Bloom filter over a payer's used receipt nonces (decimal strings), so that a receipt's hold can say "never
 * used" from memory instead of asking the journal: a SQLite lookup costs ~0.035 ms on an event loop that was idle
 * between lone calls, and the hold runs while the request's body waits in the kernel. A filter has no false
 * negatives — `mayHave` is true for every nonce added — so a "no" is exact; a "maybe" (every used nonce, and
 * ~0.05 % of new ones) is decided by the journal. Memory: 2 bytes per nonce. It grows by layers, each four times
 * the last's capacity, so it needs no resize nor a second look at the journal.
 */
const BITS_PER_NONCE = 16;
const HASHES = 7;
const FIRST_CAPACITY = 1024;

interface Layer {
  bits: Uint32Array;
  /** Bit-index mask: the layer's size in bits is a power of two. */
  mask: number;
  capacity: number;
  n: number;
}

export class NonceFilter {
  private readonly layers: Layer[] = [];

  add(nonce: string): void {
    let top = this.layers.at(-1);
    if (top === undefined || top.n >= top.capacity) {
      top = layer(top === undefined ? FIRST_CAPACITY : top.capacity * 4);
      this.layers.push(top);
    }
    const [h1, h2] = hashes(nonce);
    for (let i = 0; i < HASHES; i++) {
      const b = (h1 + Math.imul(i, h2)) & top.mask;
      top.bits[b >>> 5] |= 1 << (b & 31);
    }
    top.n += 1;
  }

  /** False only for a nonce never added; true for every added one (and, rarely, for another). */
  mayHave(nonce: string): boolean {
    if (this.layers.length === 0) return false;
    const [h1, h2] = hashes(nonce);
    outer: for (const l of this.layers) {
      for (let i = 0; i < HASHES; i++) {
        const b = (h1 + Math.imul(i, h2)) & l.mask;
        if ((l.bits[b >>> 5] & (1 << (b & 31))) === 0) continue outer;
      }
      return true;
    }
    return false;
  }
}

function layer(capacity: number): Layer {
  const size = 2 ** Math.ceil(Math.log2(capacity * BITS_PER_NONCE));
  return { bits: new Uint32Array(size / 32), mask: size - 1, capacity, n: 0 };
}

/** Two independent 32-bit FNV-1a hashes (different offset bases); the second odd, for double hashing. */
function hashes(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return [a >>> 0, (b | 1) >>> 0];
}
