import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";

/**
 * The receipts accepted but not yet in the payments journal's SQLite tables: one line per receipt, appended with one
 * `write()` before the paid answer leaves (meteredPayee.ts). A `write()` that returned is in the OS's page cache,
 * so the line survives `kill -9` of the process exactly as a WAL commit with synchronous=NORMAL does (the journal's
 * durability rule), at a fraction of its cost on an event loop that was idle (~0.05 against ~0.16 ms, issue 8): the
 * SQLite commit then runs after the answer. A start replays the lines into SQLite (idempotent: a receipt's row is
 * keyed by payer and nonce) before serving, and the file is emptied once its lines are committed.
 *
 * A power loss may tear the last line (a `write()` of one line is atomic against a killed process, not against
 * the disk): a last line without its newline, or that does not parse, is dropped — the receipts a power loss may
 * lose, as with an unsynced WAL (it costs the payee, never the payer).
 */
export type LoggedReceipt = readonly [
  payer: string,
  nonce: string,
  value: string,
  timestampMs: string,
  sig: string,
  /** The receipt's session row (id, payer, ephemeral key, expiry ms) when it is the session's first receipt. */
  session: readonly [string, string, string, number] | null,
];

export class ReceiptLog {
  private readonly fd: number;
  private empty = false;

  constructor(readonly path: string) {
    this.fd = openSync(path, "a+");
  }

  /** The receipts in the file, in order (a torn last line dropped). */
  read(): LoggedReceipt[] {
    const text = readFileSync(this.path, "utf8");
    const lines = text.split("\n");
    const out: LoggedReceipt[] = [];
    // the element after the last "\n" is "" for a whole file, or a torn last line
    for (let i = 0; i < lines.length - 1; i++) {
      try {
        out.push(JSON.parse(lines[i]) as LoggedReceipt);
      } catch (e) {
        if (i === lines.length - 2) break; // a torn last line
        throw new Error(`${this.path}: line ${i + 1} is not a receipt (${(e as Error).message})`);
      }
    }
    return out;
  }

  /** Appends one receipt: in the OS's page cache when this returns (survives the process's death). */
  append(r: LoggedReceipt): void {
    const line = `${JSON.stringify(r)}\n`;
    // one write() of a short line to a regular file is written whole; a short count would mean a full disk
    if (writeSync(this.fd, line) !== Buffer.byteLength(line)) throw new Error(`${this.path}: short write`);
    this.empty = false;
  }

  /** Empties the file (call once every line in it is committed elsewhere). */
  clear(): void {
    if (this.empty) return;
    ftruncateSync(this.fd, 0);
    this.empty = true;
  }

  close(): void {
    closeSync(this.fd);
  }
}
