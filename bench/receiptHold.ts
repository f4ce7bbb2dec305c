import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Contract, parseEther, Wallet } from "ethers";
import { PaymentSession } from "../services/client/payments.js";
import { MeteredPayee } from "../services/runtime/payments/meteredPayee.js";
import { percentileOf } from "./stats.js";
import { parseOrUsage } from "./usage.js";

const HELP = `Usage: node dist/bench/receiptHold.js [--calls N] [--gap-ms MS]

The metered payee's receipt check alone, signature receipts against session receipts, interleaved: event-loop
time to the first await (sync) and to the hold, each after an idle gap.

Options:
  --calls <n>       calls per receipt kind (default 400)
  --gap-ms <ms>     idle gap before each call (default 12)
  -h, --help        show this help`;

/**
 * The metered payee's receipt check on its own, signature receipts against session receipts (HMAC), interleaved
 * call by call in one process on a real SQLite journal and a stand-in market: the hold's time on the event loop up
 * to its first await (`sync`, what a lone call's upload waits behind) and to its hold (`hold`), each after an idle
 * gap like a lone call's. `node dist/bench/receiptHold.js [--calls 400] [--gap-ms 12]`.
 */
const { values } = parseOrUsage(HELP, () =>
  parseArgs({
    options: { calls: { type: "string", default: "400" }, "gap-ms": { type: "string", default: "12" } },
  }),
);
const calls = Number(values.calls);
const gapMs = Number(values["gap-ms"]);
const CHAIN = 31337n;
const PRICE = parseEther("0.001");
const payeeWallet = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const payerWallet = new Wallet("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
const market = { deposits: async () => [10n ** 24n, 0n, 0n, 0n] } as unknown as Contract;

const dir = mkdtempSync(join(tmpdir(), "azora-receipt-hold-"));
const payee = new MeteredPayee({ wallet: payeeWallet, market, chainId: CHAIN, dbPath: join(dir, "p.sqlite") });
try {
  const signed = new PaymentSession(payerWallet, CHAIN, payeeWallet.address);
  const session = new PaymentSession(payerWallet, CHAIN, payeeWallet.address);
  await session.useReceiptSessions(payee.sessions.publicKey);
  const first = await session.receipt(PRICE);
  (await payee.hold(first, PRICE, session.sessionOpenFor(first))).release(); // the session open, once
  const kinds = { signature: signed, session } as const;
  const out: Record<keyof typeof kinds, { sync: number[]; hold: number[] }> = {
    signature: { sync: [], hold: [] },
    session: { sync: [], hold: [] },
  };
  for (let i = 0; i < calls; i++) {
    for (const k of i % 2 === 0 ? (["signature", "session"] as const) : (["session", "signature"] as const)) {
      const r = await kinds[k].receipt(PRICE);
      await new Promise((ok) => setTimeout(ok, gapMs));
      const t0 = performance.now();
      const p = payee.hold(r, PRICE);
      const t1 = performance.now();
      (await p).release();
      const t2 = performance.now();
      if (i >= 20) {
        out[k].sync.push(t1 - t0);
        out[k].hold.push(t2 - t0);
      }
    }
  }
  const p = (xs: number[], q: number) => percentileOf(xs, q, 4);
  for (const [k, v] of Object.entries(out))
    console.log(
      `${k}: sync p50 ${p(v.sync, 50)} p90 ${p(v.sync, 90)} ms; hold p50 ${p(v.hold, 50)} p90 ${p(v.hold, 90)} ms (${v.sync.length} calls, ${gapMs} ms gaps)`,
    );
} finally {
  await payee.close();
  rmSync(dir, { recursive: true, force: true });
}
