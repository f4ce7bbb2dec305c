import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Wallet } from "ethers";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeSigned, PaymentSession } from "../../../services/client/payments.js";
import { decodeSessionReceipt, SESSION_RECEIPT_PREFIX } from "../../../services/client/receiptSession.js";
import { MeteredPayee, PaymentError } from "../../../services/runtime/payments/meteredPayee.js";
import { ReceiptLog } from "../../../services/runtime/payments/receiptLog.js";
import { CHAIN, PRICE, payeeWallet, payerWallet, standInMarket } from "./payeeFixture.js";

// The hold reads the payer's row and its used nonces from memory (meteredPayee.ts `rows`, `nonces`), filled from
// the journal and updated once a write commits. These tests hold that copy against the journal: it never accepts
// a receipt the journal would refuse (a replayed nonce — also after a restart, across two sessions of one payer
// that share nonces, and for a second payer), a payer's totals read through it equal the journal's row at every
// step, and an overdue voucher is refused the same before and after a restart.
const otherPayer = new Wallet("0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6");
const market = standInMarket(async () => 1_000_000n * PRICE);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "azora-payee-memory-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const open = (o: { voucherEvery?: number } = {}) =>
  new MeteredPayee({ wallet: payeeWallet, market, chainId: CHAIN, dbPath: join(dir, "p.sqlite"), ...o });

/** The payer's receipts in SQLite (a connection of its own). */
function sqliteReceipts(payer: string): number {
  const db = new Database(join(dir, "p.sqlite"), { readonly: true });
  try {
    const r = db.prepare("SELECT receipts FROM payers WHERE payer = ?").get(payer) as { receipts: number } | undefined;
    return r?.receipts ?? 0;
  } finally {
    db.close();
  }
}

/**
 * The payer's receipts as the journal has them — what a restart would find: SQLite's row, plus the receipt log's
 * lines not in SQLite yet (receiptLog.ts; a start commits them).
 */
function journalReceipts(payer: string): number {
  const db = new Database(join(dir, "p.sqlite"), { readonly: true });
  try {
    const inSqlite = db.prepare("SELECT 1 FROM receipts WHERE payer = ? AND nonce = ?");
    const logged = new ReceiptLog(join(dir, "p.sqlite-receipts.log"));
    const extra = logged.read().filter(([p, nonce]) => p === payer && inSqlite.get(p, nonce) === undefined).length;
    logged.close();
    return sqliteReceipts(payer) + extra;
  } finally {
    db.close();
  }
}

/** payer:nonce of a receipt header (session or signature), as the journal keys it. */
function nonceKey(header: string, payer: string): string {
  const nonce = header.startsWith(SESSION_RECEIPT_PREFIX)
    ? decodeSessionReceipt(header).nonce
    : (decodeSigned(header, ["value", "timestampMs", "nonce"]).nonce as bigint);
  return `${payer}:${nonce}`;
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    (h) => h,
    (e: unknown) => {
      if (e instanceof PaymentError) return e.message;
      throw e;
    },
  );

describe("MeteredPayee memory copy of the journal", () => {
  it("accepts exactly what the journal would: replays, restarts, two sessions sharing nonces, two payers (property)", async () => {
    const Action = fc.oneof(
      fc.record({ t: fc.constant("new" as const), who: fc.integer({ min: 0, max: 2 }), commit: fc.boolean() }),
      fc.record({ t: fc.constant("replay" as const), i: fc.nat(), commit: fc.boolean() }),
      fc.record({ t: fc.constant("restart" as const) }),
      fc.record({ t: fc.constant("idle" as const) }), // a macrotask: the receipts' SQLite commit runs
    );
    await fc.assert(
      fc.asyncProperty(fc.array(Action, { minLength: 1, maxLength: 22 }), async (actions) => {
        rmSync(join(dir, "p.sqlite"), { force: true });
        rmSync(join(dir, "p.sqlite-wal"), { force: true });
        rmSync(join(dir, "p.sqlite-shm"), { force: true });
        rmSync(join(dir, "p.sqlite-receipts.log"), { force: true });
        let payee = open();
        try {
          // two receipt sessions of one payer whose nonce counters collide (two clients started in the same ms),
          // and a second payer on signature receipts
          const a = new PaymentSession(payerWallet, CHAIN, payeeWallet.address);
          const b = new PaymentSession(payerWallet, CHAIN, payeeWallet.address);
          (b as unknown as { nonce: bigint }).nonce = (a as unknown as { nonce: bigint }).nonce;
          await a.useReceiptSessions(payee.sessions.publicKey);
          await b.useReceiptSessions(payee.sessions.publicKey);
          const c = new PaymentSession(otherPayer, CHAIN, payeeWallet.address);
          const who = [a, b, c];
          const payerOf = [payerWallet.address, payerWallet.address, otherPayer.address];
          const sent: { header: string; from: number }[] = [];
          const journaled = new Set<string>();
          const totals = new Map<string, number>();
          for (const act of actions) {
            if (act.t === "restart") {
              await payee.close();
              payee = open();
              continue;
            }
            if (act.t === "idle") {
              await new Promise((r) => setTimeout(r, 5)); // after the flush's timer (due at once)
              for (const p of new Set(payerOf)) expect(sqliteReceipts(p)).toBe(totals.get(p) ?? 0);
              continue;
            }
            let from: number;
            let header: string;
            if (act.t === "new" || sent.length === 0) {
              from = act.t === "new" ? act.who : 0;
              header = await who[from].receipt(PRICE);
              sent.push({ header, from });
            } else {
              ({ header, from } = sent[act.i % sent.length]);
            }
            const payer = payerOf[from];
            const key = nonceKey(header, payer);
            const got = await outcome(payee.hold(header, PRICE, who[from].sessionOpenFor(header)));
            if (journaled.has(key)) {
              expect(got).toMatch(/already used/);
            } else {
              expect(typeof got).toBe("object");
              const h = got as Awaited<ReturnType<MeteredPayee["hold"]>>;
              if (act.commit) {
                h.commit();
                journaled.add(key);
                totals.set(payer, (totals.get(payer) ?? 0) + 1);
              } else h.release();
            }
            for (const p of new Set(payerOf)) {
              const n = totals.get(p) ?? 0;
              expect(payee.account(p)).toMatchObject({ receipts: n, accepted: BigInt(n) * PRICE });
              expect(journalReceipts(p)).toBe(n);
            }
          }
        } finally {
          await payee.close();
        }
      }),
      { numRuns: 25 },
    );
  }, 60_000);

  it("refuses an overdue voucher the same after a restart, and accepts once the voucher is in, also after one", async () => {
    let payee = open({ voucherEvery: 2 });
    try {
      const s = new PaymentSession(payerWallet, CHAIN, payeeWallet.address);
      await s.useReceiptSessions(payee.sessions.publicKey);
      let request = null;
      for (let i = 0; i < 6; i++) {
        const r = await s.receipt(PRICE);
        request = (await payee.charge(r, PRICE, s.sessionOpenFor(r))).voucherRequest ?? request;
      }
      await expect(payee.hold(await s.receipt(PRICE), PRICE)).rejects.toThrow(/voucher overdue/);
      await payee.close();
      payee = open({ voucherEvery: 2 });
      await expect(payee.hold(await s.receipt(PRICE), PRICE)).rejects.toThrow(/voucher overdue/);
      expect(request).not.toBeNull();
      payee.acceptVoucher(await s.voucher(request!));
      expect(payee.account(payerWallet.address).vouchered).toBe(6n * PRICE);
      (await payee.hold(await s.receipt(PRICE), PRICE)).commit();
      await payee.close();
      payee = open({ voucherEvery: 2 });
      expect(payee.account(payerWallet.address)).toMatchObject({ receipts: 7, vouchered: 6n * PRICE });
      (await payee.hold(await s.receipt(PRICE), PRICE)).commit();
    } finally {
      await payee.close();
    }
  });
});
