import { readFileSync, rmSync } from "node:fs";
import { assert } from "../../runtime/lib/assert.js";
import { AzoraError } from "../../runtime/lib/errors.js";
import { bytesToHex, hexToBytes } from "../../runtime/primitives/bytes.js";
import {
  createSlotFile,
  readSlots,
  type SlotFields,
  SlotFileError,
  SlotWriter,
  slotTempPath,
} from "../lib/slotFile.js";

/**
 * The durable "highest committed" record beside the chain database (`highest_committed.json`, a
 * two-slot checksummed file like the signer's state): the highest block this node committed and
 * made visible (RPC, peers), written and synced after the block's LevelDB batch and before the new
 * head is visible. So it never runs ahead of what clients could have seen, and a database whose head
 * is below it has lost committed blocks (a damaged or truncated LevelDB log, a restored old copy):
 * the node then refuses to produce blocks at those heights, which would rewrite history clients saw
 * as final.
 *
 * It also carries `uncheckedLogBytes`: LevelDB log bytes replayed by opens whose start-up check has
 * not passed yet, so that a refused start is not forgotten by the next one (`integrity.ts`).
 */

export const COMMITTED_RECORD_FILE = "highest_committed.json";
const VERSION = 1;
const SLOT_BYTES = 256;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

export interface CommittedRecordState {
  /** The highest committed height; null before the node has recorded one (only log bytes are kept). */
  height: bigint | null;
  /** Hash of the block at `height` (null with it). */
  hash: Uint8Array | null;
  uncheckedLogBytes: number;
}

export enum CommittedRecordErrorCode {
  /** Both slots of the file are unreadable; it is never reset silently. */
  CORRUPT = "COMMITTED_RECORD_ERROR_CORRUPT",
}

export class CommittedRecordError extends AzoraError<{
  code: CommittedRecordErrorCode.CORRUPT;
  file: string;
  reason: string;
}> {}

function fieldsOf(s: CommittedRecordState): SlotFields {
  return {
    height: s.height === null ? null : s.height.toString(),
    hash: s.hash === null ? null : bytesToHex(s.hash),
    uncheckedLogBytes: s.uncheckedLogBytes,
  };
}

function decode(f: Record<string, unknown>): CommittedRecordState {
  if (f.version !== VERSION) throw new Error(`unsupported version ${JSON.stringify(f.version)}`);
  const u = f.uncheckedLogBytes;
  if (typeof u !== "number" || !Number.isSafeInteger(u) || u < 0) throw new Error("bad uncheckedLogBytes");
  if (f.height === null && f.hash === null) return { height: null, hash: null, uncheckedLogBytes: u };
  if (typeof f.height !== "string" || !DECIMAL.test(f.height)) throw new Error("height is not a decimal string");
  if (typeof f.hash !== "string" || !/^0x[0-9a-f]{64}$/.test(f.hash)) throw new Error("hash is not 32 bytes of hex");
  return { height: BigInt(f.height), hash: hexToBytes(f.hash as `0x${string}`), uncheckedLogBytes: u };
}

/** Reads the record file; null when there is none (a new data dir, or one from before this record). */
export function readCommittedRecord(file: string): CommittedRecordState | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  try {
    return readSlots(bytes, file, SLOT_BYTES, decode).value;
  } catch (e) {
    if (e instanceof SlotFileError) {
      throw new CommittedRecordError(
        { code: CommittedRecordErrorCode.CORRUPT, file, reason: e.type.reason },
        `${file} is damaged (${e.type.reason}); it is never reset silently: if the chain database is ` +
          "intact (`azora db check --full`), delete the file and the node recreates it at the database's head",
      );
    }
    throw e;
  }
}

/** The open record: read at start, then rewritten for every committed block. */
export class CommittedRecord {
  readonly file: string;
  private state: CommittedRecordState | null;
  private writer: SlotWriter | null = null;
  private writing = false;
  private readonly sync: boolean;

  private constructor(file: string, state: CommittedRecordState | null, sync: boolean) {
    this.file = file;
    this.state = state;
    this.sync = sync;
  }

  /**
   * Opens the record file (absent = no record yet). `sync: false` (the node's `--no-sync-writes`)
   * skips the fdatasync like the database's own writes do.
   */
  static open(file: string, opts: { sync: boolean }): CommittedRecord {
    rmSync(slotTempPath(file), { force: true }); // left only by a crash during creation
    return new CommittedRecord(file, readCommittedRecord(file), opts.sync);
  }

  get(): CommittedRecordState | null {
    return this.state === null ? null : { ...this.state, hash: this.state.hash?.slice() ?? null };
  }

  /**
   * Replaces the record (the first write of this process creates the file afresh); durable on return
   * unless the node runs without sync writes (`opts.sync` overrides). Throws SLOT_FILE_ERROR_WRITE_FAILED.
   */
  write(next: CommittedRecordState, opts: { sync?: boolean } = {}): void {
    assert(!this.writing, "one highest-committed record write at a time");
    if (this.writer === null) {
      createSlotFile(this.file, VERSION, fieldsOf(next), SLOT_BYTES);
      this.writer = new SlotWriter(this.file, VERSION, SLOT_BYTES, 0n);
    } else {
      this.writer.write(fieldsOf(next), opts.sync ?? this.sync);
    }
    this.state = { ...next, hash: next.hash?.slice() ?? null };
  }

  /**
   * `write` for each committed block: the sync runs on libuv's thread pool, so the event loop is not
   * blocked while the disk syncs. Durable on resolve; one at a time (blocks commit one by one).
   */
  async writeAsync(next: CommittedRecordState): Promise<void> {
    if (this.writer === null) return this.write(next);
    assert(!this.writing, "one highest-committed record write at a time");
    this.writing = true;
    try {
      await this.writer.writeAsync(fieldsOf(next), this.sync);
    } finally {
      this.writing = false;
    }
    this.state = { ...next, hash: next.hash?.slice() ?? null };
  }

  close(): void {
    this.writer?.close();
    this.writer = null;
  }
}
