import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Wallet } from "ethers";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PaymentSession } from "../../../services/client/payments.js";
import { MeteredPayee, PaymentError } from "../../../services/runtime/payments/meteredPayee.js";
import type { ReceiptWriter } from "../../../services/runtime/payments/receiptWriter.js";
import { CHAIN, PRICE, payeeWallet, payerWallet, standInMarket } from "./payeeFixture.js";

// `Hold.commitBehind` writes a receipt's journal rows on the payee's writer thread (receiptWriter.ts) while the
// caller runs the model, and the payee joins that write before any other use of its journal. These tests hold it
// against `commit` (the write on the loop): the same operations in the same order leave the same journal and the
// same totals, whenever the joins come — right away, after a later hold, a voucher, an account read or a restart.
const otherPayer = new Wallet("0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6");
const market = standInMarket(async () => 1_000_000n * PRICE);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "azora-receipt-writer-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const open = (name: string) =>
  new MeteredPayee({ wallet: payeeWallet, market, chainId: CHAIN, dbPath: join(dir, name), voucherEvery: 3 });

/** The journal's receipts and payer rows, read with a connection of its own. */
function journal(name: string) {
  const db = new Database(join(dir, name), { readonly: true });
  try {
    return {
      receipts: db.prepare("SELECT payer, nonce, value, ts, sig FROM receipts ORDER BY payer, nonce").all(),
      payers: db.prepare("SELECT * FROM payers ORDER BY payer").all(),
    };
  } finally {
    db.close();
  }
}

const writerOf = (p: MeteredPayee) => (p as unknown as { writer?: ReceiptWriter }).writer;

const outcome = <T>(f: () => T): T | string => {
  try {
    return f();
  } catch (e) {
    if (e instanceof PaymentError) return e.message;
    throw e;
  }
};

describe("receipt journal writes on the writer thread", () => {
  it("leave the journal and totals the loop's commits leave, however the joins interleave (property)", async () => {
    const Action = fc.oneof(
      fc.record({ t: fc.constant("receipt" as const), who: fc.integer({ min: 0, max: 1 }), join: fc.boolean() }),
      fc.record({ t: fc.constant("replay" as const), i: fc.nat() }),
      fc.record({ t: fc.constant("voucher" as const) }),
      fc.record({ t: fc.constant("account" as const) }),
      fc.record({ t: fc.constant("restart" as const) }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(Action, { minLength: 1, maxLength: 18 }), async (actions) => {
        run++;
        const [loopDb, threadDb] = [`loop${run}.sqlite`, `thread${run}.sqlite`];
        let loop = open(loopDb);
        let thread = open(threadDb);
        let viaThread = 0;
        let commits = 0; // every one of them on the thread: signature receipts, the thread up
        const up = async () => {
          expect(await thread.startWriter()).toBe(true);
          const w = writerOf(thread)!;
          const begin = w.begin.bind(w);
          vi.spyOn(w, "begin").mockImplementation((x) => {
            const started = begin(x);
            if (started) viaThread++;
            return started;
          });
        };
        await up();
        try {
          // signature receipts (a session's first receipt journals its session: that one commits on the loop)
          const payers = [
            new PaymentSession(payerWallet, CHAIN, payeeWallet.address),
            new PaymentSession(otherPayer, CHAIN, payeeWallet.address),
          ];
          const addresses = [payerWallet.address, otherPayer.address];
          const sent: string[] = [];
          let open_: (() => unknown) | null = null; // the thread side's join not yet called
          const requests: Awaited<ReturnType<MeteredPayee["charge"]>>["voucherRequest"][] = [null, null];
          for (const act of actions) {
            if (act.t === "restart") {
              open_?.();
              open_ = null;
              await loop.close();
              await thread.close();
              loop = open(loopDb);
              thread = open(threadDb);
              await up();
              continue;
            }
            if (act.t === "account") {
              for (const a of addresses) expect(thread.account(a)).toEqual(loop.account(a));
              continue;
            }
            if (act.t === "voucher") {
              const i = requests.findIndex((r) => r !== null);
              if (i < 0) continue;
              const v = await payers[i].voucher(requests[i]!);
              expect(outcome(() => thread.acceptVoucher(v))).toEqual(outcome(() => loop.acceptVoucher(v)));
              requests[i] = null;
              continue;
            }
            const header =
              act.t === "receipt" || sent.length === 0
                ? await payers[act.t === "receipt" ? act.who : 0].receipt(PRICE)
                : sent[act.i % sent.length];
            sent.push(header);
            const [a, b] = await Promise.all([
              loop.hold(header, PRICE).then(
                (h) => h,
                (e: Error) => e.message,
              ),
              thread.hold(header, PRICE).then(
                (h) => h,
                (e: Error) => e.message,
              ),
            ]);
            expect(typeof b).toBe(typeof a);
            if (typeof a === "string") {
              expect(b).toBe(a);
              continue;
            }
            const charged = outcome(() => a.commit());
            commits++;
            const join = (b as Exclude<typeof b, string>).commitBehind();
            const joined = () => {
              const c = outcome(join);
              expect(c).toEqual(charged);
              if (typeof c !== "string" && c.voucherRequest !== null) {
                requests[addresses.indexOf(c.payer)] = c.voucherRequest;
              }
            };
            open_?.(); // (joined already by the hold above: its outcome stays its own)
            if (act.t === "receipt" && act.join) {
              joined();
              open_ = null;
            } else open_ = joined;
          }
          open_?.();
          for (const a of addresses) expect(thread.account(a)).toEqual(loop.account(a));
        } finally {
          await loop.close();
          await thread.close();
        }
        expect(journal(threadDb)).toEqual(journal(loopDb));
        expect(viaThread).toBe(commits);
      }),
      { numRuns: 12 },
    );
  }, 120_000);

  it("a payee whose writer thread is not up commits on the loop, and joins give the charge", async () => {
    const payee = open("p.sqlite");
    try {
      const s = new PaymentSession(payerWallet, CHAIN, payeeWallet.address);
      const h = await payee.hold(await s.receipt(PRICE), PRICE);
      const join = h.commitBehind(); // the first use starts the thread: this one runs here
      expect(join()).toMatchObject({ account: { receipts: 1, accepted: PRICE } });
      expect(journal("p.sqlite").receipts).toHaveLength(1);
      expect(() => h.commit()).toThrow(/already committed/);
    } finally {
      await payee.close();
    }
  });
});
