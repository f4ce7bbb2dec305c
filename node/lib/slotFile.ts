import fs from "node:fs";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { assert } from "../../runtime/lib/assert.js";
import { AzoraError } from "../../runtime/lib/errors.js";
import { crc32c } from "./crc32c.js";

/**
 * A small record kept durably in a file of two fixed-size checksummed slots written alternately in
 * place, like LMDB's two meta pages: a write touches only the older slot and is followed by one
 * fdatasync, so a crash or power loss mid-write can only tear the slot being written; on read the
 * valid slot with the highest sequence number wins. One sync per write, where temp file + rename
 * costs a second one for the directory.
 *
 * Each slot is one JSON line `{"version":V,"seq":"N",…fields…,"crc":"xxxxxxxx"}` padded with spaces
 * to the slot size and ending in "\n" (so `cat` and `jq` read it); `crc` is the CRC-32C (8 hex
 * digits) of the line's JSON without it. Used by the double-sign guard (`signer_state.json`) and the
 * highest-committed record beside the chain database.
 */

export type SlotFields = Record<string, string | number | null>;

export enum SlotFileErrorCode {
  /** Neither slot holds a valid record. */
  CORRUPT = "SLOT_FILE_ERROR_CORRUPT",
  /** Writing or syncing a slot failed. */
  WRITE_FAILED = "SLOT_FILE_ERROR_WRITE_FAILED",
}

export class SlotFileError extends AzoraError<
  | { code: SlotFileErrorCode.CORRUPT; file: string; reason: string }
  | { code: SlotFileErrorCode.WRITE_FAILED; file: string; reason: string }
> {}

export interface SlotFileRead<T> {
  value: T;
  /** Sequence number of the slot read; the next write uses seq + 1. */
  seq: bigint;
  /** Which slot (0 or 1) held it. */
  index: number;
  /** Why the other slot was unusable ("slot 1: checksum mismatch"), when it was not blank. */
  problems: string[];
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

/** The JSON line of one slot with its CRC, padded with spaces to `slotBytes` (ending in "\n"). */
export function encodeSlot(version: number, seq: bigint, fields: SlotFields, slotBytes: number): string {
  const body = JSON.stringify({ version, seq: seq.toString(), ...fields });
  const crc = crc32c(Buffer.from(body, "utf8")).toString(16).padStart(8, "0");
  const line = `${body.slice(0, -1)},"crc":"${crc}"}`;
  assert(Buffer.byteLength(line) < slotBytes, "slot record fits its slot");
  return `${line}${" ".repeat(slotBytes - 1 - Buffer.byteLength(line))}\n`;
}

/**
 * The newest valid slot of `bytes` (a whole file of two slots), decoded by `decode`. A slot that does
 * not parse, fails its checksum or is refused by `decode` is what a torn write leaves: it is skipped
 * and named in `problems`. Errors for which `fatal(e)` holds propagate (e.g. a record of another
 * key). Throws SLOT_FILE_ERROR_CORRUPT when neither slot is valid.
 */
export function readSlots<T>(
  bytes: Uint8Array,
  file: string,
  slotBytes: number,
  decode: (fields: Record<string, unknown>) => T,
  fatal: (e: unknown) => boolean = () => false,
): SlotFileRead<T> {
  if (bytes.length !== 2 * slotBytes) {
    throw corrupt(file, `expected ${2 * slotBytes} bytes (two slots), found ${bytes.length}`);
  }
  const found: { index: number; seq: bigint; value: T }[] = [];
  const problems: string[] = [];
  for (const index of [0, 1]) {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset + index * slotBytes, slotBytes)
      .toString("utf8")
      .trimEnd();
    if (text.length === 0) continue; // never written
    try {
      const f = parseObject(text);
      const { crc, ...rest } = f;
      const seq = rest.seq;
      if (typeof seq !== "string" || !DECIMAL.test(seq)) throw new Error("seq is not a decimal string");
      if (typeof crc !== "string") throw new Error("crc missing");
      const expected = crc32c(Buffer.from(JSON.stringify(rest), "utf8"))
        .toString(16)
        .padStart(8, "0");
      if (crc !== expected) throw new Error("checksum mismatch");
      found.push({ index, seq: BigInt(seq), value: decode(rest) });
    } catch (e) {
      if (fatal(e)) throw e;
      const reason =
        e instanceof AzoraError && typeof e.type.reason === "string" ? e.type.reason : (e as Error).message;
      problems.push(`slot ${index}: ${reason}`);
    }
  }
  if (found.length === 0) throw corrupt(file, problems.length > 0 ? problems.join("; ") : "both slots are blank");
  found.sort((a, b) => (a.seq > b.seq ? -1 : a.seq < b.seq ? 1 : 0));
  const newest = found[0];
  if (found.length === 2 && found[1].seq === newest.seq) throw corrupt(file, "both slots have the same seq");
  return { value: newest.value, seq: newest.seq, index: newest.index, problems };
}

function parseObject(text: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error("not a JSON object");
  return raw as Record<string, unknown>;
}

function corrupt(file: string, reason: string): SlotFileError {
  return new SlotFileError({ code: SlotFileErrorCode.CORRUPT, file, reason }, `${file} is damaged: ${reason}`);
}

/**
 * Writes a new file holding `fields` in slot 0 (seq 0) and a blank slot 1, atomically and durably:
 * temp file, fdatasync, rename, fsync of the directory. For creating (or converting) a file only;
 * updates go through `SlotWriter.write`.
 */
export function createSlotFile(file: string, version: number, fields: SlotFields, slotBytes: number): void {
  const data = `${encodeSlot(version, 0n, fields, slotBytes)}${" ".repeat(slotBytes - 1)}\n`;
  replaceFileDurably(file, data);
}

/** `file` + ".tmp": what a crash during `createSlotFile` may leave; never read. */
export function slotTempPath(file: string): string {
  return `${file}.tmp`;
}

/** Writes records into the older slot of an open two-slot file. Not safe for two writers. */
export class SlotWriter {
  readonly file: string;
  private readonly fd: number;
  private seq: bigint;

  constructor(
    file: string,
    private readonly version: number,
    private readonly slotBytes: number,
    /** Sequence number of the newest slot on disk. */
    seq: bigint,
  ) {
    this.file = file;
    this.seq = seq;
    this.fd = fs.openSync(file, "r+");
  }

  /**
   * Writes `fields` into the older slot; with `sync` (the default) fdatasyncs before returning, so
   * the record survives power loss. Throws SLOT_FILE_ERROR_WRITE_FAILED; after a failure the file may
   * hold either record, and the caller should stop writing until it re-reads the file.
   */
  write(fields: SlotFields, sync = true): void {
    const { seq, slot, position } = this.nextSlot(fields);
    try {
      checkWritten(fs.writeSync(this.fd, slot, 0, this.slotBytes, position), this.slotBytes);
      if (sync) fs.fdatasyncSync(this.fd);
    } catch (e) {
      throw this.writeFailed(e);
    }
    this.seq = seq;
  }

  /**
   * `write` with the write and the fdatasync on libuv's thread pool: the event loop serves other
   * work while the disk syncs (a synced record per block blocked the dev node's only thread ~5 ms).
   * Durable on resolve like `write`; the caller must not start another write before it settles.
   */
  async writeAsync(fields: SlotFields, sync = true): Promise<void> {
    const { seq, slot, position } = this.nextSlot(fields);
    try {
      const { bytesWritten } = await writeAt(this.fd, slot, 0, this.slotBytes, position);
      checkWritten(bytesWritten, this.slotBytes);
      if (sync) await fdatasync(this.fd);
    } catch (e) {
      throw this.writeFailed(e);
    }
    this.seq = seq;
  }

  /** The next record's sequence number, bytes and offset: the older of the two slots. */
  private nextSlot(fields: SlotFields): { seq: bigint; slot: Buffer; position: number } {
    const seq = this.seq + 1n;
    const slot = Buffer.from(encodeSlot(this.version, seq, fields, this.slotBytes), "utf8");
    return { seq, slot, position: Number(seq % 2n) * this.slotBytes };
  }

  private writeFailed(e: unknown): SlotFileError {
    return new SlotFileError(
      { code: SlotFileErrorCode.WRITE_FAILED, file: this.file, reason: (e as Error).message },
      `cannot write ${this.file}: ${(e as Error).message}`,
    );
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Replaces `file` atomically and durably: temp file, fdatasync, rename, fsync of the directory. */
function replaceFileDurably(file: string, data: string): void {
  const tmp = slotTempPath(file);
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeFileSync(fd, data, "utf8");
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dir = fs.openSync(dirname(file), "r");
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

const writeAt = promisify(fs.write);
const fdatasync = promisify(fs.fdatasync);

function checkWritten(written: number, expected: number): void {
  if (written !== expected) throw new Error(`short write (${written} of ${expected} bytes)`);
}
