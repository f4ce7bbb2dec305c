import { keccak256 } from "../primitives/hash.js";

/**
 * What ethereumjs's interpreter derives from a contract's code before its first JUMP: the valid jump
 * destinations, every PUSH operand as a bigint (keyed by the operand's offset) and the opcode-table
 * entry of every instruction. The interpreter only reads it, and it depends only on the code and on the
 * EVM's opcode table.
 */
export interface CodeAnalysis {
  jumps: Uint8Array;
  pushes: Record<number, bigint>;
  opcodesCached: unknown[];
}

/** The EVM's opcode table (`EVM._opcodeMap`): rebuilt, as a new object, when the hardfork or the EIPs change. */
type OpcodeTable = object;

interface Entry {
  key: string;
  bytes: number;
  analysis: CodeAnalysis;
}

/** Enough for a few hundred typical contracts; an analysis costs ~5 bytes of heap per code byte on top. */
export const DEFAULT_CODE_BUDGET_BYTES = 1 << 20;
export const DEFAULT_MAX_CONTRACTS = 256;

/**
 * A bounded, least-recently-used cache of code analyses, for one EVM. ethereumjs analyses the code of
 * every call frame anew: an `Array(code.length)`, an opcode lookup per byte and a bigint per PUSH — tens
 * of µs for each OpenZeppelin ERC-20 transfer, again for each eth_call and each trace.
 *
 * Keyed by the code's keccak (not by the array's identity: state reads may hand out a new array for the
 * same bytes), with the array's identity as a shortcut that skips hashing when the same array comes back.
 * Analyses are only valid for the opcode table they were made with: a new table empties the cache.
 */
export class CodeAnalysisCache {
  private readonly byKey = new Map<string, Entry>();
  private readonly byArray = new WeakMap<Uint8Array, Entry>();
  private table: OpcodeTable | undefined;
  private bytes = 0;
  /** Lookups answered from the cache / analyses computed: for tests and benches. */
  hits = 0;
  misses = 0;

  constructor(
    private readonly budgetBytes = DEFAULT_CODE_BUDGET_BYTES,
    private readonly maxContracts = DEFAULT_MAX_CONTRACTS,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  analyse(code: Uint8Array, table: OpcodeTable, compute: () => CodeAnalysis): CodeAnalysis {
    if (table !== this.table) this.reset(table);
    const known = this.byArray.get(code);
    // The identity shortcut holds only while the entry is cached: an evicted entry must not come back
    // through an array that outlived it (its table may be gone too).
    if (known !== undefined && this.byKey.get(known.key) === known) return this.touch(known);
    const key = Buffer.from(keccak256(code)).toString("latin1");
    const cached = this.byKey.get(key);
    if (cached !== undefined) {
      this.byArray.set(code, cached);
      return this.touch(cached);
    }
    this.misses++;
    const entry: Entry = { key, bytes: code.length, analysis: compute() };
    if (code.length > this.budgetBytes) return entry.analysis;
    this.byKey.set(key, entry);
    this.byArray.set(code, entry);
    this.bytes += code.length;
    this.evict();
    return entry.analysis;
  }

  private touch(entry: Entry): CodeAnalysis {
    this.hits++;
    // Map iteration order is insertion order: re-inserting makes the entry the most recently used.
    this.byKey.delete(entry.key);
    this.byKey.set(entry.key, entry);
    return entry.analysis;
  }

  private evict(): void {
    for (const [key, entry] of this.byKey) {
      if (this.bytes <= this.budgetBytes && this.byKey.size <= this.maxContracts) return;
      this.byKey.delete(key);
      this.bytes -= entry.bytes;
    }
  }

  private reset(table: OpcodeTable): void {
    this.table = table;
    this.byKey.clear();
    this.bytes = 0;
  }
}
