import { AzoraError } from "../../runtime/lib/errors.js";
import { decodeBody, decodeHeader, hashHeader } from "../../runtime/primitives/block.js";
import { bytesToHex, equalsBytes, readUint64BE } from "../../runtime/primitives/bytes.js";
import { keccak256 } from "../../runtime/primitives/hash.js";
import { expectUint, rlpDecodeList } from "../../runtime/primitives/rlpCodec.js";
import type { ChainDB } from "./chainDb.js";
import {
  bodyKey,
  canonicalKey,
  commitKey,
  devPreStateKey,
  effectsKey,
  headerKey,
  KeyPrefix,
  logAddressKey,
  receiptsKey,
  txIndexKey,
  validatorsKey,
} from "./keys.js";

/**
 * Takes the chain database back to height `to`: deletes every block above it (canonical hash, header,
 * body, receipts, commit, transaction index and log index entries, the effects it reported and the
 * validator records it settled — block H settles H + 2) and moves the head pointer, in one
 * atomic synced batch, so a crash leaves either the old chain or the rolled-back one. State trie nodes
 * stay: they are content-addressed and immutable, and nodes no root reaches are never read.
 *
 * Entries are found through the blocks above `to`; when one of those is missing or unreadable (the
 * damage being repaired), the transaction index, log index and headers are scanned whole for entries
 * above `to` instead, so nothing of the dropped blocks stays reachable.
 */

export enum RollbackErrorCode {
  /** `to` is above the current head. */
  ABOVE_HEAD = "ROLLBACK_ERROR_ABOVE_HEAD",
  /** The block at `to` is itself missing or damaged: it cannot become the head. */
  TARGET_DAMAGED = "ROLLBACK_ERROR_TARGET_DAMAGED",
  /** The database holds no chain. */
  EMPTY = "ROLLBACK_ERROR_EMPTY",
}

export class RollbackError extends AzoraError<
  | { code: RollbackErrorCode.ABOVE_HEAD; to: bigint; head: bigint }
  | { code: RollbackErrorCode.TARGET_DAMAGED; to: bigint; reason: string }
  | { code: RollbackErrorCode.EMPTY }
> {}

export interface RollbackResult {
  /** The highest height found before (head pointer or canonical index, whichever is higher). */
  previousTop: bigint;
  to: bigint;
  hash: Uint8Array;
  deletedKeys: number;
  /** Whether the index key spaces were scanned whole (some dropped block was unreadable). */
  scanned: boolean;
}

async function topHeight(db: ChainDB): Promise<bigint | null> {
  let top: bigint | null = null;
  try {
    const head = await db.getHead();
    if (head !== undefined) top = head.number;
  } catch {
    // An unreadable head pointer is what rollback repairs; the indexes below say how high the chain went.
  }
  for (const prefix of [KeyPrefix.canonical, KeyPrefix.commit]) {
    const last = await db.entries({
      gte: Uint8Array.of(prefix),
      lt: Uint8Array.of(prefix + 1),
      reverse: true,
      limit: 1,
    });
    if (last.length > 0) {
      const n = readUint64BE(last[0][0], 1);
      if (top === null || n > top) top = n;
    }
  }
  return top;
}

/** What `rollbackChain` would do, without writing: the keys to delete. */
export async function planRollback(
  db: ChainDB,
  to: bigint,
): Promise<{ top: bigint; hash: Uint8Array; keys: Uint8Array[]; scanned: boolean }> {
  const top = await topHeight(db);
  if (top === null) throw new RollbackError({ code: RollbackErrorCode.EMPTY }, "the database holds no chain");
  if (to > top) {
    throw new RollbackError(
      { code: RollbackErrorCode.ABOVE_HEAD, to, head: top },
      `height ${to} is above the head (${top})`,
    );
  }
  const damaged = (reason: string) =>
    new RollbackError(
      { code: RollbackErrorCode.TARGET_DAMAGED, to, reason },
      `block ${to} cannot become the head: ${reason} (\`azora db check\` names the last intact height)`,
    );
  let hash: Uint8Array | undefined;
  try {
    hash = await db.getCanonicalHash(to);
    if (hash === undefined) throw damaged("it is missing");
    const raw = await db.getHeader(hash);
    if (raw === undefined || !equalsBytes(hashHeader(raw), hash) || raw.number !== to)
      throw damaged("its header is damaged");
    if (to > 0n && (await db.getCommit(to)) === undefined) throw damaged("its commit certificate is missing");
  } catch (e) {
    if (e instanceof RollbackError) throw e;
    throw damaged((e as Error).message);
  }

  const keys: Uint8Array[] = [];
  let scanned = false;
  for (let n = to + 1n; n <= top; n++) {
    keys.push(canonicalKey(n), commitKey(n));
    try {
      const h = await db.getCanonicalHash(n);
      if (h === undefined) {
        scanned = true;
        continue;
      }
      keys.push(headerKey(h), bodyKey(h), receiptsKey(h), devPreStateKey(h));
      const body = await db.getBody(h);
      const receipts = await db.getReceipts(h);
      if (body === undefined || receipts === undefined) scanned = true;
      for (const tx of body?.transactions ?? []) keys.push(txIndexKey(keccak256(tx)));
      const addresses = new Set<string>();
      for (const r of receipts ?? []) for (const l of r.logs) addresses.add(bytesToHex(l[0]));
      for (const a of addresses) keys.push(logAddressKey(Buffer.from(a.slice(2), "hex"), n));
    } catch {
      scanned = true;
    }
  }
  if (scanned) await scanAbove(db, to, keys);
  // What the dropped blocks settled and reported: ranges of their own key spaces (a re-committed height
  // must not find a dropped block's effects, which are written only when a block reports any).
  for (const [from, prefix] of [
    [effectsKey(to + 1n), KeyPrefix.effects],
    [validatorsKey(to + 3n), KeyPrefix.validators],
  ] as const) {
    for (const [k] of await db.entries({ gte: from, lt: Uint8Array.of(prefix + 1) })) keys.push(k);
  }
  return { top, hash, keys, scanned };
}

/** Adds the index and header entries of heights above `to`, found by scanning their key spaces. */
async function scanAbove(db: ChainDB, to: bigint, keys: Uint8Array[]): Promise<void> {
  const space = (p: number) => ({ gte: Uint8Array.of(p), lt: Uint8Array.of(p + 1) });
  for (const [k, v] of await db.entries(space(KeyPrefix.txIndex))) {
    try {
      if (expectUint(rlpDecodeList(v, "tx index")[0], "n") > to) keys.push(k);
    } catch {
      keys.push(k); // an undecodable entry is damage: drop it
    }
  }
  await db.forEachKey(space(KeyPrefix.logAddress), (k) => {
    if (k.length === 29 && readUint64BE(k, 21) > to) keys.push(k);
  });
  for (const [k, v] of await db.entries(space(KeyPrefix.header))) {
    let number: bigint | null = null;
    try {
      number = decodeHeader(v).number;
    } catch {
      number = null;
    }
    if (number === null || number > to) {
      const hash = k.subarray(1);
      keys.push(k, bodyKey(hash), receiptsKey(hash), devPreStateKey(hash));
    }
  }
  // Receipts and bodies of dropped blocks whose header is gone too are unreachable (keyed by a hash
  // nothing names any more); a body that still decodes names its transactions.
  for (const [k, v] of await db.entries(space(KeyPrefix.body))) {
    const hash = k.subarray(1);
    if ((await db.getHeader(hash).catch(() => undefined)) !== undefined) continue;
    try {
      for (const tx of decodeBody(v).transactions) keys.push(txIndexKey(keccak256(tx)));
    } catch {
      // nothing more to find from it
    }
    keys.push(k);
  }
  for (const [k] of await db.entries(space(KeyPrefix.receipts))) {
    if ((await db.getHeader(k.subarray(1)).catch(() => undefined)) === undefined) keys.push(k);
  }
}

/** Rolls the chain back to `to` (see the file comment); returns what it removed. */
export async function rollbackChain(db: ChainDB, to: bigint): Promise<RollbackResult> {
  const plan = await planRollback(db, to);
  await db.writeRollback({ deleteKeys: plan.keys, head: { number: to, hash: plan.hash } });
  return { previousTop: plan.top, to, hash: plan.hash, deletedKeys: plan.keys.length, scanned: plan.scanned };
}
