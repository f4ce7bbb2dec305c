import fs from "node:fs";
import { join } from "node:path";
import { assert } from "../../runtime/lib/assert.js";
import { type Logger, nullLogger } from "../../runtime/lib/logger.js";
import { crc32c } from "../lib/crc32c.js";
import { SerialQueue } from "../lib/serialQueue.js";
import { WALError, WALErrorCode } from "./errors.js";

/**
 * Consensus write-ahead log, after CometBFT's `consensus/wal.go`: the driver appends every input
 * before handling it and fsyncs before its own votes leave the node; after a restart the records of
 * the current height are replayed into a fresh state machine.
 *
 * One file per height, `wal-<height>.log`, a sequence of records framed as
 *   [u32 BE length][u32 BE CRC-32C(length bytes ‖ payload)][payload]
 * whose first record is the height marker `"azora/wal/1" ‖ u64 BE height`. The checksum also covers
 * the length field so that a zero-filled tail (what some filesystems leave after a crash) never
 * reads as valid empty records. On open, a torn or corrupt tail of the newest file is truncated
 * back to the last valid record, with a warning.
 */

/** Largest payload accepted by `append` and by the reader. */
export const MAX_WAL_RECORD_BYTES = 8 * 1024 * 1024;
const HEADER_BYTES = 8;
const MARKER_MAGIC = new TextEncoder().encode("azora/wal/1");
const MAX_HEIGHT = 2n ** 64n - 1n;
const FILE_NAME = /^wal-(0|[1-9][0-9]*)\.log$/;
const TMP_NAME = /^wal-.*\.tmp$/;

export { crc32c };

/** Frames one payload: header (length, checksum) and payload in one buffer. */
export function encodeWALFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(HEADER_BYTES + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, payload.length);
  const crc = crc32c(payload, crc32c(frame.subarray(0, 4)));
  view.setUint32(4, crc);
  frame.set(payload, HEADER_BYTES);
  return frame;
}

export interface WALScan {
  /** Payloads of the valid prefix, in order (views into the scanned buffer). */
  records: Uint8Array[];
  /** Length of the valid prefix in bytes. */
  validBytes: number;
  /** Why the scan stopped before the end, or null when the whole buffer is valid. */
  problem: string | null;
}

/** Reads records from the start of `buf` up to the first torn or corrupt one. */
export function scanWALRecords(buf: Uint8Array): WALScan {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: Uint8Array[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < HEADER_BYTES) {
      return { records, validBytes: off, problem: "partial record header" };
    }
    const length = view.getUint32(off);
    if (length > MAX_WAL_RECORD_BYTES) {
      return { records, validBytes: off, problem: `record length ${length} above the maximum` };
    }
    if (buf.length - off - HEADER_BYTES < length) {
      return { records, validBytes: off, problem: "truncated payload" };
    }
    const payload = buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + length);
    if (crc32c(payload, crc32c(buf.subarray(off, off + 4))) !== view.getUint32(off + 4)) {
      return { records, validBytes: off, problem: "checksum mismatch" };
    }
    records.push(payload);
    off += HEADER_BYTES + length;
  }
  return { records, validBytes: off, problem: null };
}

function markerPayload(height: bigint): Uint8Array {
  const out = new Uint8Array(MARKER_MAGIC.length + 8);
  out.set(MARKER_MAGIC);
  new DataView(out.buffer).setBigUint64(MARKER_MAGIC.length, height);
  return out;
}

function isMarker(payload: Uint8Array | undefined, height: bigint): boolean {
  if (payload === undefined) return false;
  return Buffer.from(payload).equals(markerPayload(height));
}

function walFileName(height: bigint): string {
  return `wal-${height}.log`;
}

/** Where a height's file is made before its rename (matches TMP_NAME; `open` removes leftovers). */
function tempPath(path: string): string {
  return `${path}.tmp`;
}

function walHeights(dir: string): bigint[] {
  const heights: bigint[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = FILE_NAME.exec(name);
    if (m !== null) heights.push(BigInt(m[1]));
  }
  return heights.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)); // newest first
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A callback fs call on libuv's pool, looked up at call time (tests spy on `fs`). */
function onPool(call: (cb: (e: NodeJS.ErrnoException | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => call((e) => (e === null ? resolve() : reject(e))));
}

/** Opens `file` for appending, created empty (truncated if a leftover exists), owner-only. */
function openNewForAppend(file: string): Promise<number> {
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_APPEND;
  return new Promise((resolve, reject) =>
    fs.open(file, flags, 0o600, (e, fd) => (e === null ? resolve(fd) : reject(e))),
  );
}

/**
 * `tmp` holding only the marker of `height`, fdatasync'd, open for appending; the write and the
 * sync on libuv's pool. On failure the file is closed (and left: `open` removes temp files).
 */
async function createMarkerFile(tmp: string, height: bigint): Promise<number> {
  const fd = await openNewForAppend(tmp);
  try {
    const frame = encodeWALFrame(markerPayload(height));
    await onPool((cb) => fs.write(fd, frame, 0, frame.length, null, (e, n) => cb(e ?? checkWhole(n, frame.length))));
    await onPool((cb) => fs.fdatasync(fd, cb));
    return fd;
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

function checkWhole(written: number, length: number): NodeJS.ErrnoException | null {
  return written === length ? null : new Error(`short write (${written} of ${length} bytes)`);
}

function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) {
    const n = fs.writeSync(fd, buf, off, buf.length - off);
    assert(n > 0, "write made no progress");
    off += n;
  }
}

interface CurrentFile {
  height: bigint;
  path: string;
  fd: number;
}

/** The next height's file, made in the background: marker written and synced, under its temp name. */
interface PreparedFile {
  height: bigint;
  tmp: string;
  /** Its descriptor, open for appending; rejects when making it failed (`startHeight` then makes its own). */
  fd: Promise<number>;
}

export interface ConsensusWALOpts {
  log?: Logger;
}

/**
 * Appends are synchronous writes (a record is a few hundred bytes into the page cache: microseconds,
 * in exactly the order of the calls), but every disk sync runs on libuv's pool and is awaited: an
 * fdatasync blocked the node's only thread 1-5 ms on the 2-core VM, several times per height.
 * Operations run one at a time in call order (`serial`), so a record appended while a sync or a new
 * height's file is in flight waits for it and lands in the right file.
 *
 * A height's file is made ahead: right after height h starts, `wal-<h+1>.log.tmp` is created with its
 * marker and fdatasync'd in the background, so starting h+1 is a rename and one directory fsync (on
 * the pool) instead of create + write + fdatasync + rename + directory fsync on the event loop.
 */
export class ConsensusWAL {
  readonly dir: string;
  private readonly log: Logger;
  private current: CurrentFile | null;
  private prepared: PreparedFile | null = null;
  /** The WAL directory, open for its fsyncs (a rename is durable once the directory is synced). */
  private readonly dirFd: number;
  private closed = false;
  /** Records written since the last fdatasync. */
  private unsynced = false;
  /** Set after a failed write or fsync; every later operation is refused. */
  private failure: { file: string; reason: string } | null = null;
  /** Operations run one at a time in call order. */
  private readonly ops = new SerialQueue();

  private constructor(dir: string, log: Logger, current: CurrentFile | null) {
    this.dir = dir;
    this.log = log;
    this.current = current;
    this.dirFd = fs.openSync(dir, "r");
  }
  /**
   * Opens (creating if needed) the WAL in `dir`: removes leftover temp files and cuts a torn or
   * corrupt tail of the newest file back to its last valid record (truncate + fsync, one `warn`).
   */
  static async open(dir: string, opts: ConsensusWALOpts = {}): Promise<ConsensusWAL> {
    const log = opts.log ?? nullLogger;
    fs.mkdirSync(dir, { recursive: true });
    for (const name of fs.readdirSync(dir)) {
      if (TMP_NAME.test(name)) fs.rmSync(join(dir, name), { force: true });
    }
    for (const height of walHeights(dir)) {
      const path = join(dir, walFileName(height));
      const buf = fs.readFileSync(path);
      const scan = scanWALRecords(buf);
      if (!isMarker(scan.records[0], height)) {
        // Cannot happen through `startHeight` (the marker is synced before the rename): disk damage.
        log.warn("consensus WAL file has no valid height marker; dropping it", {
          file: path,
          offset: 0,
          droppedBytes: buf.length,
          reason: scan.problem ?? "first record is not the height marker",
        });
        fs.rmSync(path);
        fsyncDir(dir);
        continue;
      }
      if (scan.problem !== null) {
        log.warn("consensus WAL has a torn or corrupt tail; cutting it back to the last valid record", {
          file: path,
          offset: scan.validBytes,
          droppedBytes: buf.length - scan.validBytes,
          reason: scan.problem,
        });
        fs.truncateSync(path, scan.validBytes);
      }
      const fd = fs.openSync(path, "a");
      if (scan.problem !== null) fs.fsyncSync(fd);
      return new ConsensusWAL(dir, log, { height, path, fd });
    }
    return new ConsensusWAL(dir, log, null);
  }

  /**
   * Appends one record to the current height's file. Resolves once written (in the OS page cache,
   * so it survives a process crash), or with `sync` once fdatasync'd (survives a power loss too).
   */
  append(record: Uint8Array, opts: { sync?: boolean } = {}): Promise<void> {
    if (record.length > MAX_WAL_RECORD_BYTES) {
      return Promise.reject(
        new WALError({ code: WALErrorCode.RECORD_TOO_LARGE, size: record.length, maxSize: MAX_WAL_RECORD_BYTES }),
      );
    }
    return this.serial(async () => {
      const cur = this.current;
      if (cur === null) throw new WALError({ code: WALErrorCode.NO_HEIGHT });
      await this.guarded(cur.path, async () => {
        writeAll(cur.fd, encodeWALFrame(record));
        this.unsynced = true;
        if (opts.sync === true) await this.syncNow(cur);
      });
    });
  }

  /** fdatasyncs what was appended since the last sync (a no-op when nothing was). */
  sync(): Promise<void> {
    return this.serial(async () => {
      const cur = this.current;
      if (cur !== null && this.unsynced) await this.guarded(cur.path, () => this.syncNow(cur));
    });
  }

  /** The records after the marker of the newest height (its height, or null for an empty WAL). */
  replay(): Promise<{ height: bigint | null; records: Uint8Array[] }> {
    return this.serial(() => {
      const cur = this.current;
      if (cur === null) return { height: null, records: [] };
      const scan = scanWALRecords(fs.readFileSync(cur.path));
      // `open` repaired the tail and only this object writes the file since.
      assert(scan.problem === null, `consensus WAL ${cur.path} changed under us: ${scan.problem}`);
      assert(isMarker(scan.records[0], cur.height), `consensus WAL ${cur.path} lost its height marker`);
      return { height: cur.height, records: scan.records.slice(1).map((r) => new Uint8Array(r)) };
    });
  }

  /**
   * Starts `height`: `wal-<height>.log` holding only the marker (made ahead in the background when
   * `height` follows the current one; else temp file, fdatasync), renamed into place and made durable
   * by a directory fsync; appends go there from now on, files of heights below `height - 1` are
   * deleted and the next height's file is begun. A no-op when `height` is already the current height
   * (restart).
   */
  startHeight(height: bigint): Promise<void> {
    return this.serial(async () => {
      assert(height >= 0n, "WAL height must be >= 0");
      assert(height <= MAX_HEIGHT, "WAL height must fit in 64 bits");
      const prev = this.current;
      if (prev !== null && height < prev.height) {
        throw new WALError({ code: WALErrorCode.HEIGHT_REGRESSION, height, walHeight: prev.height });
      }
      if (prev !== null && prev.height === height) return;
      const path = join(this.dir, walFileName(height));
      await this.guarded(path, async () => {
        const tmp = tempPath(path);
        const fd = (await this.takePrepared(height)) ?? (await createMarkerFile(tmp, height));
        try {
          fs.renameSync(tmp, path); // a metadata update: microseconds; the fsync below makes it durable
          await onPool((cb) => fs.fsync(this.dirFd, cb));
        } catch (e) {
          fs.closeSync(fd);
          throw e;
        }
        this.current = { height, path, fd };
        this.unsynced = false;
        if (prev !== null) fs.closeSync(prev.fd);
      });
      for (const h of walHeights(this.dir)) {
        if (h < height - 1n) fs.rmSync(join(this.dir, walFileName(h)), { force: true });
      }
      if (height < MAX_HEIGHT) this.prepare(height + 1n);
    });
  }

  /** Closes the files after the operations queued before it. Later calls throw WALError(CLOSED). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const done = this.serial(async () => {
      const cur = this.current;
      this.current = null;
      if (cur !== null) fs.closeSync(cur.fd);
      await this.dropPrepared();
      fs.closeSync(this.dirFd);
    });
    this.closed = true;
    return done;
  }

  /** Begins `height`'s file in the background (`startHeight` of that height awaits it). */
  private prepare(height: bigint): void {
    const tmp = tempPath(join(this.dir, walFileName(height)));
    const fd = createMarkerFile(tmp, height);
    fd.catch(() => undefined); // a failure is startHeight's to handle (it makes the file itself)
    this.prepared = { height, tmp, fd };
  }

  /** The prepared file's descriptor when it is `height`'s and was made; else null (and it is dropped). */
  private async takePrepared(height: bigint): Promise<number | null> {
    const p = this.prepared;
    if (p === null) return null;
    if (p.height !== height) {
      await this.dropPrepared();
      return null;
    }
    this.prepared = null;
    try {
      return await p.fd;
    } catch (e) {
      this.log.warn("consensus WAL: making the next height's file ahead failed; making it now", {
        file: p.tmp,
        reason: (e as Error).message,
      });
      return null;
    }
  }

  /** Closes and removes the prepared file (a height skipped by block sync, or close). */
  private async dropPrepared(): Promise<void> {
    const p = this.prepared;
    if (p === null) return;
    this.prepared = null;
    const fd = await p.fd.catch(() => null);
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(p.tmp, { force: true });
  }

  /** fdatasync on libuv's pool. */
  private async syncNow(cur: CurrentFile): Promise<void> {
    this.unsynced = false;
    try {
      await onPool((cb) => fs.fdatasync(cur.fd, cb));
    } catch (e) {
      this.unsynced = true;
      throw e;
    }
  }

  /** Runs `op` after every operation queued before it; refused at once when closed, when run if failed. */
  private serial<T>(op: () => T | Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new WALError({ code: WALErrorCode.CLOSED }));
    return this.ops.run(() => {
      this.checkNotFailed();
      return op();
    });
  }

  /**
   * Runs a file operation; a failure poisons the WAL. A partial record may now sit at the end of
   * the file: nothing is written after it (the next open cuts it), and every later call is refused.
   */
  private async guarded(file: string, op: () => Promise<void>): Promise<void> {
    try {
      await op();
    } catch (e) {
      if (e instanceof WALError) throw e;
      this.failure = { file, reason: (e as Error).message };
      throw new WALError({ code: WALErrorCode.WRITE_FAILED, ...this.failure });
    }
  }

  private checkNotFailed(): void {
    if (this.failure !== null) throw new WALError({ code: WALErrorCode.WRITE_FAILED, ...this.failure });
  }
}
