import { createECDH, createHmac } from "node:crypto";
import { TypedDataEncoder, verifyTypedData, Wallet } from "ethers";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { paymentDigest } from "../../../services/client/paymentSignatures.js";
import { encodeSigned, PaymentSession, paymentsDomain } from "../../../services/client/payments.js";
import {
  decodeSessionReceipt,
  encodeSessionReceipt,
  MacKey,
  newPayerSession,
  RECEIPT_SESSION_STRUCT,
  RECEIPT_SESSION_TYPES,
  type ReceiptSessionOpen,
  sessionKey,
  sessionMac,
} from "../../../services/client/receiptSession.js";
import { PaymentError, PaymentErrorCode } from "../../../services/runtime/payments/meteredPayee.js";
import {
  CHAIN,
  type PayeeFixture,
  PRICE,
  payeeFixture,
  payeeWallet,
  payerWallet,
  standInMarket,
} from "./payeeFixture.js";

// Session-keyed receipts (services/client/receiptSession.ts, services/runtime/payments/receiptSessions.ts) on a real
// payee (SQLite journal, stand-in market): the open's EIP-712 encoding is ethers', a session receipt changed in any
// field or MAC'd under another session is refused, an open that is not the payer's, for another payee or chain, or
// expired is refused, a replayed receipt is refused also after a restart, and an unknown session asks for a reopen.
let fx: PayeeFixture;
let payee: ReturnType<PayeeFixture["open"]>;
const market = standInMarket(async () => 1000n * PRICE);

beforeEach(() => {
  fx = payeeFixture("azora-sessions-");
  payee = fx.open(market);
});
afterEach(async () => {
  await payee.close();
  fx.remove();
});

/** A payer in session mode with this payee; `open` is its signed session open. */
async function sessionPayer() {
  const s = new PaymentSession(payerWallet, CHAIN, payeeWallet.address);
  await s.useReceiptSessions(payee.sessions.publicKey);
  const first = await s.receipt(PRICE);
  return { s, first, open: s.sessionOpenFor(first)! };
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => "accepted",
    (e: unknown) => (e instanceof PaymentError ? `${e.code}: ${e.message}` : `unexpected: ${String(e)}`),
  );

/** An open for this payee signed by `signer`, with `change` applied to its fields before signing. */
function signedOpen(signer: Wallet, change: Partial<ReceiptSessionOpen> = {}, domainChain = CHAIN) {
  let open: ReceiptSessionOpen | null = null;
  const s = newPayerSession(
    {
      payer: payerWallet.address,
      payee: payeeWallet.address,
      chainId: CHAIN,
      payeePublicKey: payee.sessions.publicKey,
      lifetimeMs: 3600_000,
      nowMs: Date.now(),
    },
    (o) => {
      open = { ...o, ...change };
      return paymentDigest(paymentsDomain(domainChain), RECEIPT_SESSION_STRUCT, { ...open });
    },
  );
  const o = open!;
  const sig = signer.signingKey.sign(TypedDataEncoder.hash(paymentsDomain(domainChain), RECEIPT_SESSION_TYPES, o));
  const fields = { session: s.id, token: `0x${"00".repeat(20)}`, value: PRICE, timestampMs: BigInt(Date.now()) };
  const receipt = (nonce: bigint) => {
    const r = { ...fields, nonce };
    return encodeSessionReceipt({ ...r, mac: macOf(s.key, r) });
  };
  return { open: encodeSigned(o, sig.serialized), receipt, key: s.key, id: s.id };
}

const macOf = (key: MacKey, r: Parameters<typeof sessionMac>[1]) => sessionMac(key, r).toString("hex");

describe("receipt sessions", () => {
  it("the open's digest and signature are ethers' (bytes field included)", async () => {
    const { s, open } = await sessionPayer();
    const o = JSON.parse(Buffer.from(open, "base64url").toString()) as Record<string, string>;
    const value = {
      ...o,
      chainId: BigInt(o.chainId),
      sessionNonce: BigInt(o.sessionNonce),
      expiryMs: BigInt(o.expiryMs),
    };
    delete (value as Record<string, unknown>).signature;
    const domain = paymentsDomain(CHAIN);
    expect(Buffer.from(paymentDigest(domain, RECEIPT_SESSION_STRUCT, value)).toString("hex")).toBe(
      TypedDataEncoder.hash(domain, RECEIPT_SESSION_TYPES, value).slice(2),
    );
    expect(s.receiptSessionId).toBe(TypedDataEncoder.hash(domain, RECEIPT_SESSION_TYPES, value).slice(2));
    expect(verifyTypedData(domain, RECEIPT_SESSION_TYPES, value, o.signature)).toBe(payerWallet.address);
  });

  it("both sides derive the same key; it is not the plain ECDH secret", () => {
    const a = createECDH("secp256k1");
    a.generateKeys();
    const b = createECDH("secp256k1");
    b.generateKeys();
    const id = "ab".repeat(32);
    const msg = Buffer.from("a message");
    const ka = sessionKey(b.getPublicKey(null, "compressed"), a.getPrivateKey(), id).mac(msg);
    expect(ka.equals(sessionKey(a.getPublicKey(null, "compressed"), b.getPrivateKey(), id).mac(msg))).toBe(true);
    const other = sessionKey(a.getPublicKey(null, "compressed"), b.getPrivateKey(), "cd".repeat(32));
    expect(ka.equals(other.mac(msg))).toBe(false);
  });

  it("MacKey's precomputed HMAC is createHmac's (property), for every message and reuse", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 64 }),
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 4 }),
        (key, msgs) => {
          const k = new MacKey(key);
          for (const m of msgs) expect(k.mac(m).equals(createHmac("sha256", key).update(m).digest())).toBe(true);
        },
      ),
    );
  });

  it("refuses a session receipt changed in any field (property)", async () => {
    const { s, first, open } = await sessionPayer();
    expect(await outcome(payee.hold(first, PRICE, open))).toBe("accepted"); // the session is open now
    const fields = ["session", "token", "value", "timestampMs", "nonce", "mac"] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), fc.nat(), fc.bigInt({ min: 1n, max: 1000n }), async (f, pos, d) => {
        const good = decodeSessionReceipt(await s.receipt(PRICE));
        const bad = { ...good };
        if (f === "value" || f === "timestampMs" || f === "nonce") bad[f] = good[f] + d;
        else {
          const hex = f === "token" ? good.token.slice(2) : good[f];
          const i = pos % hex.length;
          const flipped = `${hex.slice(0, i)}${((Number.parseInt(hex[i], 16) + 1) % 16).toString(16)}${hex.slice(i + 1)}`;
          bad[f] = f === "token" ? `0x${flipped}` : flipped;
        }
        const r = await outcome(payee.hold(encodeSessionReceipt(bad), PRICE));
        // a changed session id names a session this payee does not know: refused as unknown (a reopen is asked)
        expect(r).toMatch(f === "session" ? /PAYMENT_SESSION_UNKNOWN/ : /PAYMENT_REQUIRED: session receipt's MAC/);
        expect(await outcome(payee.hold(encodeSessionReceipt(good), PRICE))).toBe("accepted");
      }),
      { numRuns: 60 },
    );
  });

  it("refuses a MAC made under another session's key", async () => {
    const a = signedOpen(payerWallet);
    const b = signedOpen(payerWallet);
    expect(await outcome(payee.hold(a.receipt(1n), PRICE, a.open))).toBe("accepted");
    expect(await outcome(payee.hold(b.receipt(2n), PRICE, b.open))).toBe("accepted");
    const r = decodeSessionReceipt(b.receipt(3n));
    const forged = encodeSessionReceipt({ ...r, session: a.id }); // b's MAC under a's id
    expect(await outcome(payee.hold(forged, PRICE))).toMatch(/MAC is not valid/);
  });

  it("refuses an open not signed by its payer, for another payee or chain, or expired", async () => {
    const stranger = Wallet.createRandom();
    const cases: [string, ReturnType<typeof signedOpen>, RegExp][] = [
      ["another signer", signedOpen(new Wallet(stranger.privateKey)), /not signed by its payer/],
      ["another payee", signedOpen(payerWallet, { payee: payerWallet.address }), /names another payee/],
      ["another chain", signedOpen(payerWallet, { chainId: CHAIN + 1n }, CHAIN + 1n), /for chain/],
      ["expired", signedOpen(payerWallet, { expiryMs: BigInt(Date.now() - 1) }), /open: expired/],
      ["too long", signedOpen(payerWallet, { expiryMs: BigInt(Date.now() + 48 * 3600_000) }), /lasts more than/],
    ];
    for (const [name, o, why] of cases) {
      const r = await outcome(payee.hold(o.receipt(1n), PRICE, o.open));
      expect(r, name).toMatch(/^PAYMENT_REQUIRED: receipt session open/);
      expect(r, name).toMatch(why);
    }
    // an open that is not the receipt's session's
    const a = signedOpen(payerWallet);
    const b = signedOpen(payerWallet);
    expect(await outcome(payee.hold(a.receipt(1n), PRICE, b.open))).toMatch(/not the open of the receipt's session/);
    expect(payee.summary()).toEqual([]); // nothing journaled
  });

  it("refuses a replayed session receipt, also after a restart, where the session is derived again", async () => {
    const { s, first, open } = await sessionPayer();
    (await payee.hold(first, PRICE, open)).commit();
    expect(await outcome(payee.hold(first, PRICE))).toMatch(/already used/);
    await payee.close();
    payee = fx.open(market); // kill -9 and restart: nothing in memory, the journal decides
    expect(await outcome(payee.hold(first, PRICE))).toMatch(/already used/);
    const next = await s.receipt(PRICE); // no open: the restarted payee derives the session's key from its journal
    expect(await outcome(payee.hold(next, PRICE))).toBe("accepted");
  });

  it("journals a session only with its first paid receipt (an open nobody pays under costs no disk)", async () => {
    const { s, first, open } = await sessionPayer();
    (await payee.hold(first, PRICE, open)).release(); // checked, nothing served
    await payee.close();
    payee = fx.open(market);
    const next = await s.receipt(PRICE);
    expect(await outcome(payee.hold(next, PRICE))).toMatch(/^PAYMENT_SESSION_UNKNOWN/);
    (await payee.hold(next, PRICE, open)).commit();
    await payee.close();
    payee = fx.open(market);
    expect(await outcome(payee.hold(await s.receipt(PRICE), PRICE))).toBe("accepted");
  });

  it("an unknown session is refused with PAYMENT_SESSION_UNKNOWN; its open makes it known", async () => {
    const { first, open } = await sessionPayer();
    const r = payee.hold(first, PRICE).catch((e: PaymentError) => e);
    expect(((await r) as PaymentError).code).toBe(PaymentErrorCode.SESSION_UNKNOWN);
    expect(await outcome(payee.hold(first, PRICE, open))).toBe("accepted");
  });

  it("vouchers add up in session mode as with signature receipts", async () => {
    const { s, first, open } = await sessionPayer();
    let charged = await payee.charge(first, PRICE, open);
    for (let i = 1; i < payee.voucherEvery; i++) charged = await payee.charge(await s.receipt(PRICE), PRICE);
    const ask = charged.voucherRequest!;
    expect(ask.valueAggregate).toBe(BigInt(payee.voucherEvery) * PRICE);
    expect(payee.acceptVoucher(await s.voucher(ask))).toMatchObject({ valueAggregate: ask.valueAggregate });
    await expect(s.voucher({ ...ask, valueAggregate: s.owed + 1n })).rejects.toThrow(/exceeds/);
    expect(payee.account(payerWallet.address)).toMatchObject({ vouchered: s.owed, receipts: payee.voucherEvery });
  });

  it("a payer refuses a payee public key that is not the payee's", async () => {
    const s = new PaymentSession(payerWallet, CHAIN, payeeWallet.address);
    const other = new Wallet(Wallet.createRandom().privateKey).signingKey.compressedPublicKey;
    await expect(s.useReceiptSessions(other)).rejects.toThrow(/not .*'s/);
  });
});
