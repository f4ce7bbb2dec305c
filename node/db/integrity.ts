import { type CommitCertificate, decodeCommit } from "../../consensus/commit.js";
import {
  type BlockBody,
  type BlockHeader,
  decodeBody,
  decodeHeader,
  hashHeader,
} from "../../runtime/primitives/block.js";
import { bytesToHex, equalsBytes, readUint64BE } from "../../runtime/primitives/bytes.js";
import { keccak256 } from "../../runtime/primitives/hash.js";
import { decodeReceipts, encodeReceiptForRoot, type Receipt } from "../../runtime/primitives/receipt.js";
import { expectUint, rlpDecodeList } from "../../runtime/primitives/rlpCodec.js";
import { orderedTrieRoot } from "../../runtime/primitives/trieRoot.js";
import type { ChainDB, HeadPointer } from "./chainDb.js";
import { StorageError } from "./errors.js";
import { bodyKey, canonicalKey, commitKey, headerKey, KeyPrefix, receiptsKey, txIndexKey } from "./keys.js";
import { walkState } from "./stateWalk.js";

/**
 * Checks the chain database end to end: the head pointer, and for each height of the checked range
 * the canonical hash, the header (its hash and number, the link to its parent), the body and receipts
 * (against the header's roots), the commit certificate (height and block hash; with `verifyCommit`
 * its signatures), the transaction index, and the head's state trie (every node against its hash).
 *
 * At start the range is the recent tail: at least `minBlocks` blocks below the head AND more than
 * `minBytes` bytes of their data. LevelDB replays its write-ahead log on open and silently drops what
 * it cannot read (a damaged record takes the rest of its 32 KiB block with it), so the blocks a damaged
 * log can lose are the newest ones whose writes were still in the log: at most the log's size in
 * bytes. Counting at least that many bytes of block data from the head down covers all of them (the
 * bytes counted are a lower bound of each block's write). The head state is walked as a diff against
 * the state below the range, i.e. the trie nodes those blocks wrote. `full` checks every height and
 * the whole head state.
 */

export interface IntegrityOptions {
  full: boolean;
  /** Start-up check: at least this many blocks below the head … */
  minBlocks: number;
  /** … and more than this many bytes of block data (the LevelDB log bytes replayed at open). */
  minBytes: number;
  /**
   * Also verify a commit's signatures (full check; needs the validators of the height): a reason, or null
   * when valid.
   */
  verifyCommit?: (commit: CommitCertificate, height: bigint, hash: Uint8Array) => Promise<string | null>;
  /** Problems listed at most (the count is kept). */
  maxProblems?: number;
}

export interface IntegrityReport {
  /** The head pointer's height, or the highest canonical height when the pointer is unusable; null = empty. */
  head: bigint | null;
  /** Lowest height checked (the range is [checkedFrom, head]). */
  checkedFrom: bigint | null;
  blocks: number;
  stateNodes: number;
  /** What is missing or wrong, lowest height first; at most `maxProblems`. */
  problems: string[];
  problemCount: number;
  /** How many of the problems are entries LevelDB could not read at all (Corruption or I/O errors). */
  unreadableCount: number;
  /** Lowest height found damaged (block data or head state), or null. */
  lowestDamagedHeight: bigint | null;
  /** The highest height below which everything checked is intact: the rollback target. */
  lastIntactHeight: bigint | null;
  ms: number;
}

const CHUNK = 256;
const MAX_KEPT_PROBLEMS = 10_000;

/** Problems by height; runs of missing blocks are kept as one range ("blocks 145..151: missing"). */
class Problems {
  private readonly list: { from: bigint; to: bigint; what: string; missing: boolean }[] = [];
  count = 0;
  lowest: bigint | null = null;
  constructor(private readonly max: number) {}
  /** Entries LevelDB failed to read (Corruption, I/O errors): `azora db repair` comes first. */
  unreadable = 0;
  add(height: bigint, what: string): void {
    this.record(height, what, false);
  }
  /** An entry LevelDB could not read at all (not merely missing or wrong). */
  addUnreadable(height: bigint, what: string): void {
    this.unreadable++;
    this.record(height, what, false);
  }
  /** A height with no block at all (the checker walks down, so runs arrive highest first). */
  addMissing(height: bigint): void {
    const last = this.list.at(-1);
    if (last?.missing === true && last.from === height + 1n) {
      last.from = height;
      this.count++;
      if (this.lowest === null || height < this.lowest) this.lowest = height;
      return;
    }
    this.record(height, "missing (no canonical hash)", true);
  }
  private record(height: bigint, what: string, missing: boolean): void {
    this.count++;
    if (this.lowest === null || height < this.lowest) this.lowest = height;
    // The walk goes down, so the lowest (most useful) ones come last: keep a generous buffer.
    if (this.list.length < MAX_KEPT_PROBLEMS) this.list.push({ from: height, to: height, what, missing });
  }
  /** Lowest height first, at most `max`. */
  lines(): string[] {
    return [...this.list]
      .sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0))
      .slice(0, this.max)
      .map((p) =>
        p.missing ? (p.from === p.to ? `block ${p.from}: ${p.what}` : `blocks ${p.from}..${p.to}: ${p.what}`) : p.what,
      );
  }
}

function reasonOf(e: unknown): string {
  return e instanceof StorageError ? e.type.reason : (e as Error).message;
}

/** Values of `keys`; a failing batch read is retried key by key so one damaged entry names itself. */
async function readMany(
  db: ChainDB,
  keys: Uint8Array[],
): Promise<({ ok: true; value: Uint8Array | undefined } | { ok: false; reason: string })[]> {
  try {
    return (await db.getMany(keys)).map((value) => ({ ok: true as const, value }));
  } catch {
    const out: ({ ok: true; value: Uint8Array | undefined } | { ok: false; reason: string })[] = [];
    for (const k of keys) {
      try {
        out.push({ ok: true, value: (await db.getMany([k]))[0] });
      } catch (e) {
        out.push({ ok: false, reason: reasonOf(e) });
      }
    }
    return out;
  }
}

/** Entries of one height-keyed space in [lo, hi], by height; on an iterator failure, key by key. */
async function readHeightRange(
  db: ChainDB,
  keyOf: (n: bigint) => Uint8Array,
  lo: bigint,
  hi: bigint,
): Promise<Map<bigint, { ok: true; value: Uint8Array } | { ok: false; reason: string }>> {
  const out = new Map<bigint, { ok: true; value: Uint8Array } | { ok: false; reason: string }>();
  try {
    for (const [k, v] of await db.entries({ gte: keyOf(lo), lt: keyOf(hi + 1n) })) {
      out.set(readUint64BE(k, 1), { ok: true, value: v });
    }
    return out;
  } catch {
    const keys: Uint8Array[] = [];
    for (let n = lo; n <= hi; n++) keys.push(keyOf(n));
    const values = await readMany(db, keys);
    for (let i = 0; i < values.length; i++) {
      const r = values[i];
      const n = lo + BigInt(i);
      if (!r.ok) out.set(n, r);
      else if (r.value !== undefined) out.set(n, { ok: true, value: r.value });
    }
    return out;
  }
}

/** The head pointer, or null with the reason it is unusable. */
async function readHead(db: ChainDB): Promise<{ head: HeadPointer | undefined } | { problem: string }> {
  try {
    return { head: await db.getHead() };
  } catch (e) {
    return { problem: `head pointer unreadable: ${reasonOf(e)}` };
  }
}

/** The highest height in the canonical index (scanning from the top), or null. */
async function highestCanonical(db: ChainDB): Promise<bigint | null> {
  const top = await db.entries({
    gte: Uint8Array.of(KeyPrefix.canonical),
    lt: Uint8Array.of(KeyPrefix.canonical + 1),
    reverse: true,
    limit: 1,
  });
  return top.length === 0 ? null : readUint64BE(top[0][0], 1);
}

export async function checkChain(db: ChainDB, opts: IntegrityOptions): Promise<IntegrityReport> {
  const started = performance.now();
  const problems = new Problems(opts.maxProblems ?? 50);
  const report = (
    head: bigint | null,
    from: bigint | null,
    blocks: number,
    stateNodes: number,
    intact: bigint | null,
  ) => ({
    head,
    checkedFrom: from,
    blocks,
    stateNodes,
    problems: problems.lines(),
    problemCount: problems.count,
    unreadableCount: problems.unreadable,
    lowestDamagedHeight: problems.lowest,
    lastIntactHeight: intact,
    ms: Math.round(performance.now() - started),
  });

  // The head: the pointer, cross-checked with the top of the canonical index.
  const pointer = await readHead(db);
  let topCanonical: bigint | null;
  try {
    topCanonical = await highestCanonical(db);
  } catch (e) {
    topCanonical = null;
    problems.addUnreadable(0n, `canonical index unreadable: ${reasonOf(e)}`);
  }
  let head: bigint;
  if ("problem" in pointer || pointer.head === undefined) {
    if (topCanonical === null) {
      if ("problem" in pointer) problems.add(0n, pointer.problem);
      return report(null, null, 0, 0, null); // an empty database (or nothing left to check)
    }
    head = topCanonical;
    problems.add(head, "problem" in pointer ? pointer.problem : "head pointer missing");
  } else {
    head = pointer.head.number;
    if (topCanonical !== null && topCanonical > head) {
      problems.add(head + 1n, `canonical index continues above the head pointer (${head}) to ${topCanonical}`);
    }
  }
  const headHash = "problem" in pointer || pointer.head === undefined ? null : pointer.head.hash;

  // Blocks, from the head down.
  let blocks = 0;
  let bytes = 0;
  let from = head;
  let childParentHash: Uint8Array | null = null; // parentHash of height (lo of the previous chunk)
  /** State roots of the checked heights (the head's state check and the search for an intact one). */
  const stateRoots = new Map<bigint, Uint8Array>();
  let hi = head;
  for (;;) {
    const lo = hi - BigInt(CHUNK) + 1n < 0n ? 0n : hi - BigInt(CHUNK) + 1n;
    const canonical = await readHeightRange(db, canonicalKey, lo, hi);
    const commits = await readHeightRange(db, commitKey, lo, hi);
    const heights: bigint[] = [];
    for (let n = hi; n >= lo; n--) heights.push(n);
    const hashes = heights.map((n) => {
      const c = canonical.get(n);
      return c?.ok === true && c.value.length === 32 ? c.value : null;
    });
    const present = hashes.filter((h): h is Uint8Array => h !== null);
    const [hdrs, bodies, rcpts] = await Promise.all([
      readMany(db, present.map(headerKey)),
      readMany(db, present.map(bodyKey)),
      readMany(db, present.map(receiptsKey)),
    ]);
    const txChecks: { n: bigint; i: number; hash: Uint8Array }[] = [];
    let j = 0;
    let stop = false;
    for (let k = 0; k < heights.length; k++) {
      const n = heights[k];
      const hash = hashes[k];
      blocks++;
      from = n;
      const c = canonical.get(n);
      if (hash === null) {
        if (c?.ok === false) problems.addUnreadable(n, `block ${n}: canonical hash unreadable (${c.reason})`);
        else problems.addMissing(n);
        childParentHash = null;
      } else {
        bytes += 41;
        if (n === head && headHash !== null && !equalsBytes(hash, headHash)) {
          problems.add(n, `block ${n}: canonical hash ${bytesToHex(hash)} differs from the head pointer's`);
        }
        if (childParentHash !== null && !equalsBytes(childParentHash, hash)) {
          problems.add(n + 1n, `block ${n + 1n}: parent hash does not match block ${n}'s hash`);
        }
        childParentHash = null;
        const h = hdrs[j];
        const b = bodies[j];
        const r = rcpts[j];
        j++;
        const header = checkHeader(n, hash, h, problems);
        // What this block's write held, as a lower bound: the keys and values read here.
        for (const x of [h, b, r]) if (x.ok && x.value !== undefined) bytes += 33 + x.value.length;
        if (header !== null) {
          stateRoots.set(n, header.stateRoot);
          childParentHash = header.parentHash;
        }
        const body = checkBody(n, b, problems);
        const receipts = checkReceipts(n, r, problems);
        if (header !== null && body !== null) {
          if (!equalsBytes(await orderedTrieRoot(body.transactions), header.transactionsRoot)) {
            problems.add(n, `block ${n}: body does not match the header's transactionsRoot`);
          }
          for (let i = 0; i < body.transactions.length; i++) {
            txChecks.push({ n, i, hash: keccak256(body.transactions[i]) });
          }
        }
        if (header !== null && receipts !== null) {
          if (!equalsBytes(await orderedTrieRoot(receipts.map(encodeReceiptForRoot)), header.receiptsRoot)) {
            problems.add(n, `block ${n}: receipts do not match the header's receiptsRoot`);
          }
        }
        if (n > 0n) {
          const cm = commits.get(n);
          if (cm === undefined) problems.add(n, `block ${n}: commit certificate missing`);
          else if (!cm.ok) problems.addUnreadable(n, `block ${n}: commit certificate unreadable (${cm.reason})`);
          else {
            bytes += 9 + cm.value.length;
            await checkCommit(n, hash, cm.value, opts, problems);
          }
        }
      }
      // A partial check stops only on a clean block: while the damage reaches the lowest block checked, the
      // height below it is not known to be intact, and `lastIntactHeight` must never name an unchecked one.
      const clean = problems.lowest === null || problems.lowest > n;
      if (!opts.full && blocks >= opts.minBlocks && bytes > opts.minBytes && clean) {
        stop = true;
        break;
      }
    }
    // Transaction index: every transaction of the checked blocks points at its block and position.
    const locs = await readMany(
      db,
      txChecks.map((t) => txIndexKey(t.hash)),
    );
    for (let i = 0; i < txChecks.length; i++) {
      const t = txChecks[i];
      const l = locs[i];
      if (!l.ok) problems.addUnreadable(t.n, `block ${t.n}: index of transaction ${t.i} unreadable (${l.reason})`);
      else if (l.value === undefined) problems.add(t.n, `block ${t.n}: index of transaction ${t.i} missing`);
      else {
        let ok = false;
        try {
          const v = rlpDecodeList(l.value, "tx index");
          ok = expectUint(v[0], "n") === t.n && expectUint(v[1], "i") === BigInt(t.i);
        } catch {
          ok = false;
        }
        if (!ok) problems.add(t.n, `block ${t.n}: index of transaction ${t.i} points elsewhere`);
      }
    }
    if (stop || lo === 0n) break;
    hi = lo - 1n;
  }

  // State: the head's trie (a diff against the state below the range at start-up).
  let stateNodes = 0;
  let stateIntact: bigint | null = head;
  const headRoot = stateRoots.get(head);
  if (headRoot !== undefined) {
    const base = opts.full || from === 0n ? null : await stateRootAt(db, from - 1n);
    const walked = await walkState(db, headRoot, base, { maxProblems: opts.maxProblems ?? 50 });
    stateNodes += walked.nodes;
    if (walked.problems.length > 0) {
      for (const p of walked.problems) problems.add(head, `state at block ${head}: ${p}`);
      // The newest height whose state is intact (binary search, assuming damage persists once there).
      // The base counts as intact only if its own root node is (the walk skips what it shares).
      const baseOk = base !== null && (await walkState(db, base, base, { maxProblems: 1 })).problems.length === 0;
      let good = baseOk ? from - 1n : -1n;
      let bad = head;
      while (bad - good > 1n) {
        const mid = good + (bad - good) / 2n;
        const root = stateRoots.get(mid);
        const w = root === undefined ? null : await walkState(db, root, base, { maxProblems: 1 });
        if (w !== null) stateNodes += w.nodes;
        if (w !== null && w.problems.length === 0) good = mid;
        else bad = mid;
      }
      stateIntact = good < 0n ? null : good;
    }
  }
  let intact: bigint | null = problems.lowest === null ? head : problems.lowest - 1n;
  if (stateIntact === null) intact = null;
  else if (intact !== null && stateIntact < intact) intact = stateIntact;
  if (intact !== null && intact < 0n) intact = null;
  return report(head, from, blocks, stateNodes, intact);
}

async function stateRootAt(db: ChainDB, n: bigint): Promise<Uint8Array | null> {
  try {
    const hash = await db.getCanonicalHash(n);
    const header = hash === undefined ? undefined : await db.getHeader(hash);
    return header?.stateRoot ?? null;
  } catch {
    return null;
  }
}

type Read = { ok: true; value: Uint8Array | undefined } | { ok: false; reason: string };

function checkHeader(n: bigint, hash: Uint8Array, r: Read, problems: Problems): BlockHeader | null {
  if (!r.ok) {
    problems.addUnreadable(n, `block ${n}: header unreadable (${r.reason})`);
    return null;
  }
  if (r.value === undefined) {
    problems.add(n, `block ${n}: header missing`);
    return null;
  }
  let header: BlockHeader;
  try {
    header = decodeHeader(r.value);
  } catch (e) {
    problems.add(n, `block ${n}: header does not decode (${(e as Error).message})`);
    return null;
  }
  if (!equalsBytes(hashHeader(header), hash)) {
    problems.add(n, `block ${n}: header does not hash to ${bytesToHex(hash)}`);
    return null;
  }
  if (header.number !== n) {
    problems.add(n, `block ${n}: header says number ${header.number}`);
    return null;
  }
  return header;
}

function checkBody(n: bigint, r: Read, problems: Problems): BlockBody | null {
  if (!r.ok) problems.addUnreadable(n, `block ${n}: body unreadable (${r.reason})`);
  else if (r.value === undefined) problems.add(n, `block ${n}: body missing`);
  else {
    try {
      return decodeBody(r.value);
    } catch (e) {
      problems.add(n, `block ${n}: body does not decode (${(e as Error).message})`);
    }
  }
  return null;
}

function checkReceipts(n: bigint, r: Read, problems: Problems): Receipt[] | null {
  if (!r.ok) problems.addUnreadable(n, `block ${n}: receipts unreadable (${r.reason})`);
  else if (r.value === undefined) problems.add(n, `block ${n}: receipts missing`);
  else {
    try {
      return decodeReceipts(r.value);
    } catch (e) {
      problems.add(n, `block ${n}: receipts do not decode (${(e as Error).message})`);
    }
  }
  return null;
}

async function checkCommit(
  n: bigint,
  hash: Uint8Array,
  raw: Uint8Array,
  opts: IntegrityOptions,
  problems: Problems,
): Promise<void> {
  let commit: CommitCertificate;
  try {
    commit = decodeCommit(raw);
  } catch (e) {
    problems.add(n, `block ${n}: commit certificate does not decode (${(e as Error).message})`);
    return;
  }
  if (commit.height !== n || !equalsBytes(commit.blockHash, hash)) {
    problems.add(n, `block ${n}: commit certificate is for another block`);
    return;
  }
  const why = (await opts.verifyCommit?.(commit, n, hash)) ?? null;
  if (why !== null) problems.add(n, `block ${n}: commit certificate invalid (${why})`);
}
