/**
 * The receipt writer's thread (receiptWriter.ts): a second connection to the payee's journal that runs one receipt
 * commit at a time, handed over and answered through a shared buffer, with the loop's pragmas (WAL,
 * synchronous=NORMAL: a commit is in the OS's page cache when it returns, so it survives `kill -9`).
 */
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { PAYER_SAVE_SQL, RECEIPT_INSERT_SQL, type ReceiptWrite, WriterState } from "./receiptWriter.js";

const { dbPath, sab } = workerData as { dbPath: string; sab: SharedArrayBuffer };
const ctrl = new Int32Array(sab, 0, 2);
const bytes = new Uint8Array(sab, 8);
const db = new Database(dbPath);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
const insert = db.prepare(RECEIPT_INSERT_SQL);
const save = db.prepare(PAYER_SAVE_SQL);
const store = db.transaction(([receipt, payer]: ReceiptWrite): boolean => {
  if (insert.run(...receipt).changes === 0) return false;
  save.run(...payer);
  return true;
});
parentPort?.postMessage("ready");

for (;;) {
  let s = Atomics.load(ctrl, 0);
  while (s !== WriterState.REQUEST && s !== WriterState.CLOSE) {
    Atomics.wait(ctrl, 0, s);
    s = Atomics.load(ctrl, 0);
  }
  if (s === WriterState.CLOSE) break;
  let out: number;
  try {
    const w = JSON.parse(new TextDecoder().decode(bytes.subarray(0, ctrl[1]))) as ReceiptWrite;
    out = store(w) ? WriterState.STORED : WriterState.IGNORED;
  } catch (e) {
    const { written } = new TextEncoder().encodeInto(String((e as Error)?.message ?? e).slice(0, 1000), bytes);
    ctrl[1] = written ?? 0;
    out = WriterState.FAILED;
  }
  Atomics.store(ctrl, 0, out);
  Atomics.notify(ctrl, 0);
}
db.close();
