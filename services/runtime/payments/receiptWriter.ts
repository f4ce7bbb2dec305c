import type { Worker } from "node:worker_threads";
import { spawnModuleThread } from "../moduleThread.js";

/**
 * A receipt's journal commit on a thread of its own (receiptWriterThread.ts, a second SQLite connection to the
 * payee's journal), so that it runs while the model does — an inline model holds the event loop for its whole run,
 * and the ~0.15–0.3 ms commit used to run on the loop right before it. The caller joins the write synchronously
 * (`Atomics.wait`) before it answers or touches the journal again, so nothing on the loop ever sees the journal
 * between the write's start and its join: the payee behaves as if the commit had run on the loop at the join.
 */

/** The statements of a receipt's commit, shared by the loop's connection and the writer thread's. */
export const RECEIPT_INSERT_SQL =
  "INSERT OR IGNORE INTO receipts (payer, nonce, value, ts, sig) VALUES (?, ?, ?, ?, ?)";
export const PAYER_SAVE_SQL = `INSERT OR REPLACE INTO payers (payer, accepted, receipts, vouchered, voucher_ts, voucher, redeemed)
  VALUES (?, ?, ?, ?, ?, ?, ?)`;

/** One receipt's row and its payer's row with it, as the statements above take them. */
export type ReceiptWrite = [
  receipt: [payer: string, nonce: string, value: string, ts: string, sig: string],
  payer: [string, string, number, string, string, string | null, string],
];

/** ctrl[0]: the exchange's state; ctrl[1]: the payload's length (bytes, after the 8-byte header). */
export const WriterState = {
  IDLE: 0,
  REQUEST: 1,
  STORED: 2,
  /** The receipt's nonce was in the journal already (INSERT OR IGNORE changed nothing): nothing written. */
  IGNORED: 3,
  /** The transaction threw (rolled back): the payload holds its message. */
  FAILED: 4,
  CLOSE: 5,
} as const;

const PAYLOAD_MAX = 64 * 1024;
/** Longest a join waits for the thread: past it the write's outcome is unknown and the writer is given up. */
const JOIN_TIMEOUT_MS = 10_000;

export type WriteOutcome = "stored" | "ignored";

export class ReceiptWriter {
  private readonly sab = new SharedArrayBuffer(8 + PAYLOAD_MAX);
  private readonly ctrl = new Int32Array(this.sab, 0, 2);
  private readonly bytes = new Uint8Array(this.sab, 8);
  private readonly thread: Worker;
  private ready = false;
  private broken = false;
  private writing = false;
  /** Resolves once the thread has its connection (true), or has failed to start (false). */
  readonly started: Promise<boolean>;

  constructor(dbPath: string) {
    this.thread = spawnModuleThread(import.meta.url, "receiptWriterThread", { workerData: { dbPath, sab: this.sab } });
    this.thread.unref();
    this.started = new Promise((resolve) => {
      this.thread.once("message", () => {
        this.ready = !this.broken;
        resolve(this.ready);
      });
      const fail = () => {
        this.ready = false;
        this.broken = true;
        resolve(false);
      };
      this.thread.once("error", fail);
      this.thread.once("exit", fail);
    });
  }

  /** Whether a write can be started now (the thread is up and no write is open). */
  get available(): boolean {
    return this.ready && !this.broken && !this.writing;
  }

  /** Starts the write; false (nothing started) when the writer is not available or the rows do not fit. */
  begin(w: ReceiptWrite): boolean {
    if (!this.available) return false;
    const { read, written } = new TextEncoder().encodeInto(JSON.stringify(w), this.bytes);
    if (read === undefined || written === undefined || written >= PAYLOAD_MAX - 1) return false;
    this.ctrl[1] = written;
    this.writing = true;
    Atomics.store(this.ctrl, 0, WriterState.REQUEST);
    Atomics.notify(this.ctrl, 0);
    return true;
  }

  /**
   * Waits for the open write: "stored" or "ignored", or throws — the transaction's error (nothing written), or a
   * `ReceiptWriterLost` when the thread did not answer in time (whether it wrote is then unknown).
   */
  join(): WriteOutcome {
    if (!this.writing) throw new Error("receipt writer: no write open");
    const deadline = performance.now() + JOIN_TIMEOUT_MS;
    let s = Atomics.load(this.ctrl, 0);
    while (s === WriterState.REQUEST) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.broken = true;
        throw new ReceiptWriterLost();
      }
      Atomics.wait(this.ctrl, 0, WriterState.REQUEST, left);
      s = Atomics.load(this.ctrl, 0);
    }
    this.writing = false;
    const message = s === WriterState.FAILED ? new TextDecoder().decode(this.bytes.subarray(0, this.ctrl[1])) : "";
    Atomics.store(this.ctrl, 0, WriterState.IDLE);
    if (s === WriterState.STORED) return "stored";
    if (s === WriterState.IGNORED) return "ignored";
    throw new Error(`receipt journal write failed: ${message}`);
  }

  /** Stops the thread (after joining any open write). */
  async close(): Promise<void> {
    if (this.writing) {
      try {
        this.join();
      } catch {
        // its owner learns the outcome from its own join; closing only needs the thread idle
      }
    }
    this.broken = true;
    Atomics.store(this.ctrl, 0, WriterState.CLOSE);
    Atomics.notify(this.ctrl, 0);
    await this.thread.terminate();
  }
}

/** The writer thread did not answer a write in time: whether the receipt was journaled is unknown. */
export class ReceiptWriterLost extends Error {
  constructor() {
    super("receipt writer thread did not answer: the receipt's journal row is in an unknown state");
  }
}
