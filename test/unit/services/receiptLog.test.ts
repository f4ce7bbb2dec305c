import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PaymentError } from "../../../services/runtime/payments/meteredPayee.js";
import { type LoggedReceipt, ReceiptLog } from "../../../services/runtime/payments/receiptLog.js";
import { CHAIN, PRICE, payeeAt, payeeWallet, payerWallet, standInMarket } from "./payeeFixture.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "azora-receipt-log-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const outcome = (p: Promise<{ release(): void }>) =>
  p.then(
    (h) => {
      h.release();
      return "accepted";
    },
    (e: unknown) => {
      if (e instanceof PaymentError) return e.message;
      throw e;
    },
  );

describe("receipt log", () => {
  it("reads back what it appended, drops a torn last line, refuses a bad line before the last", () => {
    const path = join(dir, "r.log");
    const log = new ReceiptLog(path);
    const a: LoggedReceipt = ["0xA", "1", "10", "1000", "sig-a", null];
    const b: LoggedReceipt = ["0xB", "2", "20", "2000", "s1.b", ["id", "0xb", "0x02ab", 5]];
    log.append(a);
    log.append(b);
    expect(log.read()).toEqual([a, b]);
    appendFileSync(path, '["0xC","3","30"'); // a power loss tore the last write
    expect(log.read()).toEqual([a, b]);
    appendFileSync(path, "\n");
    expect(log.read()).toEqual([a, b]); // torn, then a newline: still the last line, still dropped
    appendFileSync(path, `${JSON.stringify(a)}\n`);
    expect(() => log.read()).toThrow(/line 3 is not a receipt/);
    log.clear();
    expect(statSync(path).size).toBe(0);
    log.append(a); // appends after a clear start at the beginning again
    expect(readFileSync(path, "utf8")).toBe(`${JSON.stringify(a)}\n`);
    log.close();
  });

  it("receipts whose answers were released survive kill -9 before their SQLite commit; a restart commits them", async () => {
    const dbPath = join(dir, "p.sqlite");
    // A child accepts 8 receipts (the first opens a receipt session), commits them all, says so, and blocks its event
    // loop: their SQLite commit, one macrotask later, never runs. SIGKILL lands with them only in the receipt log.
    const url = (p: string) => JSON.stringify(pathToFileURL(join(process.cwd(), p)).href);
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { Wallet } from "ethers";
         import { MeteredPayee } from ${url("dist/services/runtime/payments/meteredPayee.js")};
         import { PaymentSession } from ${url("dist/services/client/payments.js")};
         const market = { deposits: async () => [10n ** 21n, 0n, 0n, 0n] };
         const payeeWallet = new Wallet(${JSON.stringify(payeeWallet.privateKey)});
         const payee = new MeteredPayee({ wallet: payeeWallet, market, chainId: ${CHAIN}n, dbPath: ${JSON.stringify(dbPath)} });
         const s = new PaymentSession(new Wallet(${JSON.stringify(payerWallet.privateKey)}), ${CHAIN}n, payeeWallet.address);
         await s.useReceiptSessions(payee.sessions.publicKey);
         const headers = [];
         for (let i = 0; i < 8; i++) headers.push(await s.receipt(${PRICE}n));
         const holds = await Promise.all(headers.map((h) => payee.hold(h, ${PRICE}n, s.sessionOpenFor(h))));
         for (const h of holds) h.commit();
         const next = await s.receipt(${PRICE}n); // the session's next receipt, not sent
         process.stdout.write(JSON.stringify({ headers, next }) + "\\n");
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const sent = await new Promise<{ headers: string[]; next: string }>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.endsWith("\n")) resolve(JSON.parse(out));
      });
      child.once("exit", (code) => reject(new Error(`child exited ${code} before committing: ${out}`)));
    });
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;

    const receiptsInSqlite = () => {
      const db = new Database(dbPath, { readonly: true });
      try {
        return (db.prepare("SELECT count(*) AS n FROM receipts").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    expect(receiptsInSqlite()).toBe(0); // the kill landed between the log and SQLite: what this test is about
    expect(new ReceiptLog(`${dbPath}-receipts.log`).read()).toHaveLength(8);

    const payee = payeeAt(
      dbPath,
      standInMarket(async () => 10n ** 21n),
    );
    try {
      expect(receiptsInSqlite()).toBe(8); // committed at the start, before serving
      expect(statSync(`${dbPath}-receipts.log`).size).toBe(0);
      expect(payee.account(payerWallet.address)).toMatchObject({ receipts: 8, accepted: 8n * PRICE });
      for (const h of sent.headers) expect(await outcome(payee.hold(h, PRICE))).toMatch(/already used/);
      // the session, journaled with its first receipt through the log: known without its open
      expect(await outcome(payee.hold(sent.next, PRICE))).toBe("accepted");
    } finally {
      await payee.close();
    }
  }, 60_000);
});
