import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, truncate } from "node:fs/promises";
import { join } from "node:path";
import { assert } from "../../runtime/lib/assert.js";
import { type Logger, nullLogger } from "../../runtime/lib/logger.js";
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
/** Bytes per write syscall when many appends are pending (at least one record is always written). */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
const HEADER_BYTES = 8;
const MARKER_MAGIC = new TextEncoder().encode("azora/wal/1");
const MAX_HEIGHT = 2n ** 64n - 1n;
const FILE_NAME = /^wal-(0|[1-9][0-9]*)\.log$/;
const TMP_NAME = /^wal-.*\.tmp$/;

// ---- CRC-32C (Castagnoli, reflected 0x82F63B78), as in iSCSI, ext4 and LevelDB; table-driven. ----

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Continues a CRC-32C over `bytes`; start with `crc = 0`. */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC32C_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

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

async function walHeights(dir: string): Promise<bigint[]> {
  const heights: bigint[] = [];
  for (const name of await readdir(dir)) {
    const m = FILE_NAME.exec(name);
    if (m !== null) heights.push(BigInt(m[1]));
  }
  return heights.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)); // newest first
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeAll(fh: FileHandle, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    assert(bytesWritten > 0, "write made no progress");
    off += bytesWritten;
  }
}

interface CurrentFile {
  height: bigint;
  path: string;
  fh: FileHandle;
}

/** A queued operation: a record to write, or a task (rotate, replay, close) that runs alone, in order. */
type Pending =
  | { kind: "record"; frame: Uint8Array; sync: boolean; resolve: () => void; reject: (e: unknown) => void }
  | { kind: "task"; run: () => Promise<void> };

export interface ConsensusWALOpts {
  log?: Logger;
}

export class ConsensusWAL {
  readonly dir: string;
  private readonly log: Logger;
  private current: CurrentFile | null;
  /** Height of the current file once every queued operation has run (checked when queueing). */
  private queuedHeight: bigint | null;
  private readonly pending: Pending[] = [];
  private draining = false;
  private closed = false;
  /** Set after a failed write or fsync; every later operation is refused. */
  private failure: { file: string; reason: string } | null = null;

  private constructor(dir: string, log: Logger, current: CurrentFile | null) {
    this.dir = dir;
    this.log = log;
    this.current = current;
    this.queuedHeight = current?.height ?? null;
  }

  /**
   * Opens (creating if needed) the WAL in `dir`: removes leftover temp files and cuts a torn or
   * corrupt tail of the newest file back to its last valid record (truncate + fsync, one `warn`).
   */
  static async open(dir: string, opts: ConsensusWALOpts = {}): Promise<ConsensusWAL> {
    const log = opts.log ?? nullLogger;
    await mkdir(dir, { recursive: true });
    for (const name of await readdir(dir)) {
      if (TMP_NAME.test(name)) await rm(join(dir, name), { force: true });
    }
    for (const height of await walHeights(dir)) {
      const path = join(dir, walFileName(height));
      const buf = await readFile(path);
      const scan = scanWALRecords(buf);
      if (!isMarker(scan.records[0], height)) {
        // Cannot happen through `startHeight` (the marker is synced before the rename): disk damage.
        log.warn("consensus WAL file has no valid height marker; dropping it", {
          file: path,
          offset: 0,
          droppedBytes: buf.length,
          reason: scan.problem ?? "first record is not the height marker",
        });
        await rm(path);
        await fsyncDir(dir);
        continue;
      }
      if (scan.problem !== null) {
        log.warn("consensus WAL has a torn or corrupt tail; cutting it back to the last valid record", {
          file: path,
          offset: scan.validBytes,
          droppedBytes: buf.length - scan.validBytes,
          reason: scan.problem,
        });
        await truncate(path, scan.validBytes);
      }
      const fh = await open(path, "a");
      if (scan.problem !== null) await fh.sync();
      return new ConsensusWAL(dir, log, { height, path, fh });
    }
    return new ConsensusWAL(dir, log, null);
  }

  /**
   * Appends one record to the current height's file. Resolves once written (in the OS page cache,
   * so it survives a process crash), or with `sync` once fdatasync'd (survives a power loss too).
   * Concurrent appends are written in order and share write and fsync calls (group commit).
   */
  append(record: Uint8Array, opts: { sync?: boolean } = {}): Promise<void> {
    try {
      this.checkUsable();
      if (record.length > MAX_WAL_RECORD_BYTES) {
        throw new WALError({ code: WALErrorCode.RECORD_TOO_LARGE, size: record.length, maxSize: MAX_WAL_RECORD_BYTES });
      }
      if (this.queuedHeight === null) throw new WALError({ code: WALErrorCode.NO_HEIGHT });
    } catch (e) {
      return Promise.reject(e);
    }
    const frame = encodeWALFrame(record);
    return new Promise((resolve, reject) => {
      this.pending.push({ kind: "record", frame, sync: opts.sync === true, resolve, reject });
      this.kick();
    });
  }

  /** The records after the marker of the newest height (its height, or null for an empty WAL). */
  replay(): Promise<{ height: bigint | null; records: Uint8Array[] }> {
    try {
      this.checkUsable();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.task(async () => {
      this.checkNotFailed();
      const cur = this.current;
      if (cur === null) return { height: null, records: [] };
      const scan = scanWALRecords(await readFile(cur.path));
      // `open` repaired the tail and only this object writes the file since.
      assert(scan.problem === null, `consensus WAL ${cur.path} changed under us: ${scan.problem}`);
      assert(isMarker(scan.records[0], cur.height), `consensus WAL ${cur.path} lost its height marker`);
      return { height: cur.height, records: scan.records.slice(1).map((r) => new Uint8Array(r)) };
    });
  }

  /**
   * Starts `height`: writes `wal-<height>.log` holding only the marker (temp file, fdatasync,
   * rename, fsync of the directory), appends go there from now on, and files of heights below
   * `height - 1` are deleted. A no-op when `height` is already the current height (restart).
   */
  startHeight(height: bigint): Promise<void> {
    try {
      this.checkUsable();
      assert(height >= 0n, "WAL height must be >= 0");
      assert(height <= MAX_HEIGHT, "WAL height must fit in 64 bits");
      if (this.queuedHeight !== null && height < this.queuedHeight) {
        throw new WALError({ code: WALErrorCode.HEIGHT_REGRESSION, height, walHeight: this.queuedHeight });
      }
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.queuedHeight === height) return this.task(async () => this.checkNotFailed());
    this.queuedHeight = height;
    return this.task(async () => {
      this.checkNotFailed();
      const path = join(this.dir, walFileName(height));
      try {
        const tmp = `${path}.tmp`;
        const fh = await open(tmp, "w", 0o600);
        try {
          await writeAll(fh, encodeWALFrame(markerPayload(height)));
          await fh.datasync();
        } finally {
          await fh.close();
        }
        await rename(tmp, path);
        await fsyncDir(this.dir);
        const next = await open(path, "a");
        const prev = this.current;
        this.current = { height, path, fh: next };
        await prev?.fh.close();
      } catch (e) {
        this.failure = { file: path, reason: (e as Error).message };
        throw new WALError({ code: WALErrorCode.WRITE_FAILED, ...this.failure });
      }
      for (const h of await walHeights(this.dir)) {
        if (h < height - 1n) await rm(join(this.dir, walFileName(h)), { force: true });
      }
    });
  }

  /** Writes what is queued, then closes the file. Later calls throw WALError(CLOSED). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return this.task(async () => {
      await this.current?.fh.close();
      this.current = null;
    });
  }

  private checkUsable(): void {
    if (this.closed) throw new WALError({ code: WALErrorCode.CLOSED });
    this.checkNotFailed();
  }

  private checkNotFailed(): void {
    if (this.failure !== null) throw new WALError({ code: WALErrorCode.WRITE_FAILED, ...this.failure });
  }

  /** Queues `run` after every operation queued before it. */
  private task<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ kind: "task", run: () => run().then(resolve, reject) });
      this.kick();
    });
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    void this.drain().finally(() => {
      this.draining = false;
      if (this.pending.length > 0) this.kick();
    });
  }

  /** Runs queued operations in order; consecutive records go out in one write and at most one fdatasync. */
  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const head = this.pending[0];
      if (head.kind === "task") {
        this.pending.shift();
        await head.run();
        continue;
      }
      let end = 0;
      let bytes = 0;
      for (; end < this.pending.length; end++) {
        const p = this.pending[end];
        if (p.kind !== "record") break;
        if (end > 0 && bytes + p.frame.length > MAX_BATCH_BYTES) break;
        bytes += p.frame.length;
      }
      const batch = this.pending.splice(0, end) as Extract<Pending, { kind: "record" }>[];
      try {
        this.checkNotFailed();
        const cur = this.current;
        assert(cur !== null, "WAL record queued without a current file");
        try {
          await writeAll(cur.fh, batch.length === 1 ? batch[0].frame : Buffer.concat(batch.map((p) => p.frame)));
          if (batch.some((p) => p.sync)) await cur.fh.datasync();
        } catch (e) {
          // A partial record may now sit at the end of the file: write nothing after it (the next
          // open cuts it), and refuse every later operation.
          this.failure = { file: cur.path, reason: (e as Error).message };
          throw new WALError({ code: WALErrorCode.WRITE_FAILED, ...this.failure });
        }
      } catch (e) {
        for (const p of batch) p.reject(e);
        continue;
      }
      for (const p of batch) p.resolve();
    }
  }
}
