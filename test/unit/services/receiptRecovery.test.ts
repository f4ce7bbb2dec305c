import { Worker } from "node:worker_threads";
import { Wallet, ZeroAddress } from "ethers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentDigest, RECEIPT_STRUCT, signDigest } from "../../../services/client/paymentSignatures.js";
import { encodeSigned, paymentsDomain, type Receipt } from "../../../services/client/payments.js";
import { type MeteredPayee, PaymentError } from "../../../services/runtime/payments/meteredPayee.js";
import {
  inThreadRecovery,
  ReceiptCheckError,
  spawnRecoveryThread,
  ThreadedReceiptRecovery,
} from "../../../services/runtime/payments/receiptRecovery.js";
import { CHAIN, PRICE, payeeFixture, payeeWallet, payerWallet, standInMarket } from "./payeeFixture.js";

// The receipt's signer recovered on a thread (what the AI worker's payee does, so the check overlaps the body's
// upload) must refuse and accept exactly what the in-thread recovery does, and a thread that crashes or hangs must
// fail its calls with a ReceiptCheckError — never hang them, never refuse the receipt — and be replaced.

const otherWallet = new Wallet("0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6");
const key = (w: Wallet) => Buffer.from(w.privateKey.slice(2), "hex");

/** A receipt header: `r` signed by `signer` under `chainId`, then `tamper`ed (field or signature). */
function header(r: Receipt, signer: Wallet, chainId: bigint, sigOverride?: string): string {
  const sig = sigOverride ?? signDigest(paymentDigest(paymentsDomain(chainId), RECEIPT_STRUCT, { ...r }), key(signer));
  return encodeSigned(r, sig);
}

const KINDS = [
  "valid",
  "wrong signer",
  "wrong chain id",
  "value raised after signing",
  "malformed signature",
  "high s",
  "bad v",
  "overflowing value",
] as const;

const arbReceipt = fc.record({
  kind: fc.constantFrom(...KINDS),
  nonce: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  value: fc.bigInt({ min: 0n, max: 3n * PRICE }),
  ageMs: fc.integer({ min: -1_000, max: 400_000 }),
  junk: fc.stringMatching(/^[0-9a-f]{0,140}$/),
});

type Gen = typeof arbReceipt extends fc.Arbitrary<infer T> ? T : never;

function build(x: Gen, now: number): string {
  const r: Receipt = {
    payer: payerWallet.address,
    payee: payeeWallet.address,
    token: ZeroAddress,
    value: x.value,
    timestampMs: BigInt(now - x.ageMs),
    nonce: x.nonce,
  };
  const good = () => header(r, payerWallet, CHAIN);
  const sigOf = (h: string) => JSON.parse(Buffer.from(h, "base64url").toString()).signature as string;
  switch (x.kind) {
    case "valid":
      return good();
    case "wrong signer":
      return header(r, otherWallet, CHAIN);
    case "wrong chain id":
      return header(r, payerWallet, 1n);
    case "value raised after signing":
      return header({ ...r, value: r.value + 1n }, payerWallet, CHAIN, sigOf(good()));
    case "malformed signature":
      return header(r, payerWallet, CHAIN, `0x${x.junk}`);
    case "high s": {
      // the malleable twin: s' = n − s, v flipped — a valid curve signature that ethers refuses
      const sig = sigOf(good());
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
      const s = n - BigInt(`0x${sig.slice(66, 130)}`);
      const v = sig.slice(130) === "1b" ? "1c" : "1b";
      return header(r, payerWallet, CHAIN, `${sig.slice(0, 66)}${s.toString(16).padStart(64, "0")}${v}`);
    }
    case "bad v":
      return header(r, payerWallet, CHAIN, `${sigOf(good()).slice(0, 130)}1f`);
    case "overflowing value":
      return header({ ...r, value: 1n << 128n }, payerWallet, CHAIN, sigOf(good()));
  }
  throw new Error(`unknown kind ${x.kind}`);
}

const outcome = (p: Promise<{ release(): void }>) =>
  p.then(
    (h) => {
      h.release();
      return "accepted";
    },
    (e: unknown) => (e instanceof PaymentError ? `${e.code}: ${e.message}` : `unexpected: ${String(e)}`),
  );

describe("receipt signer recovery on a thread", () => {
  const market = standInMarket(async () => 2n * PRICE);
  const fxA = payeeFixture("azora-recovery-a-");
  const fxB = payeeFixture("azora-recovery-b-");
  let inThread: MeteredPayee;
  let threaded: MeteredPayee;

  beforeAll(() => {
    inThread = fxA.open(market, inThreadRecovery);
    threaded = fxB.open(market, new ThreadedReceiptRecovery());
  });

  afterAll(async () => {
    await inThread.close();
    await threaded.close();
    fxA.remove();
    fxB.remove();
  });

  it("holds or refuses exactly as the in-thread recovery does, on random valid and invalid receipts", async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(arbReceipt, async (x) => {
        const h = build(x, Date.now());
        const [a, b] = await Promise.all([outcome(inThread.hold(h, PRICE)), outcome(threaded.hold(h, PRICE))]);
        expect(b).toBe(a);
        expect(a).not.toMatch(/^unexpected/);
        seen.add(`${x.kind} → ${a.replace(/:.*malformed receipt: /, ": malformed: ").slice(0, 60)}`);
      }),
      { numRuns: 300 },
    );
    // the generator reaches every path: accepted, and each kind of refusal
    const all = [...seen].join("\n");
    expect(all).toMatch(/^valid → accepted$/m);
    expect(all).toMatch(/^wrong signer → .*not signed by its payer/m);
    expect(all).toMatch(/^wrong chain id → .*not signed by its payer/m);
    expect(all).toMatch(/^malformed signature → .*malformed: signature: 65 bytes/m);
    expect(all).toMatch(/^high s → .*non-canonical s/m);
    expect(all).toMatch(/^bad v → .*bad v/m);
    expect(all).toMatch(/^overflowing value → .*not a uint128/m);
  });

  /** A thread from `first` at the first spawn, then from `then` (default: the real recovery thread). */
  const firstThen = (first: string, then = () => spawnRecoveryThread()) => {
    let spawned = 0;
    return {
      spawns: () => spawned,
      spawn: (): Worker => (++spawned === 1 ? new Worker(first, { eval: true }) : then()),
    };
  };
  const CRASHES = "require('node:worker_threads').parentPort.on('message', () => process.exit(3))";
  const HANGS = "require('node:worker_threads').parentPort.on('message', () => {})";
  /** Answers at once (its boot, unlike the real thread's under tsx, fits a 50 ms timeout). */
  const ANSWERS =
    "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage({ id: m.id, signer: m.receipt.payer }))";

  it("fails a call whose thread crashes with a ReceiptCheckError, and answers the next on a new thread", async () => {
    const t = firstThen(CRASHES);
    const recovery = new ThreadedReceiptRecovery({ spawn: t.spawn });
    const payee = fxB.open(market, recovery, "crash.sqlite");
    try {
      const h = await fxB.session().receipt(PRICE);
      const first = await payee.hold(h, PRICE).then(
        () => null,
        (e: unknown) => e,
      );
      expect(first).toBeInstanceOf(ReceiptCheckError);
      expect((first as ReceiptCheckError).message).toMatch(/recovery thread exited \(code 3\)/);
      // not refused: the same receipt pays once the check runs again
      const held = await payee.hold(h, PRICE);
      expect(held.payer).toBe(payerWallet.address);
      held.release();
      expect(t.spawns()).toBe(2);
    } finally {
      await payee.close();
    }
  });

  it("fails a call its thread leaves unanswered, and replaces the thread", async () => {
    const t = firstThen(HANGS, () => new Worker(ANSWERS, { eval: true }));
    const recovery = new ThreadedReceiptRecovery({ timeoutMs: 50, spawn: t.spawn });
    const r: Receipt = {
      payer: payerWallet.address.toLowerCase(),
      payee: payeeWallet.address.toLowerCase(),
      token: ZeroAddress,
      value: PRICE,
      timestampMs: 1n,
      nonce: 7n,
    };
    const sig = signDigest(paymentDigest(paymentsDomain(CHAIN), RECEIPT_STRUCT, { ...r }), key(payerWallet));
    try {
      await expect(recovery.recover(CHAIN, r, sig)).rejects.toThrow(/no answer in 50 ms/);
      expect(await recovery.recover(CHAIN, r, sig)).toBe(payerWallet.address.toLowerCase());
      expect(t.spawns()).toBe(2);
    } finally {
      await recovery.close();
    }
    await expect(recovery.recover(CHAIN, r, sig)).rejects.toBeInstanceOf(ReceiptCheckError);
  });
});
