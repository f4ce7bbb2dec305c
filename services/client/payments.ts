import { Contract, type ContractRunner, type Signer, TypedDataEncoder, ZeroAddress } from "ethers";
import { IJobMarketAbi } from "../../contracts/artifacts/IJobMarket.js";
import {
  paymentDigest,
  privateKeyOf,
  RECEIPT_STRUCT,
  recoverDigestSigner,
  recoverDigestSignerHex,
  signDigest,
  VOUCHER_STRUCT,
} from "./paymentSignatures.js";
import {
  encodeSessionReceipt,
  newPayerSession,
  type PayerReceiptSession,
  RECEIPT_SESSION_STRUCT,
  RECEIPT_SESSION_TYPES,
  type ReceiptSessionOpen,
  sessionIdOf,
  sessionMac,
} from "./receiptSession.js";

/**
 * Metered payments off chain (the TAP pattern; on chain: IMarketPayments at 0x…0A05). A payer signs one EIP-712
 * `Receipt` per unit of service and sends it with the request; when the service asks (a voucher request naming
 * the total), the payer checks the total against the receipts it signed for that payee and signs one `Voucher`
 * for the running total, which the service redeems on chain. Search queries use it; mail and push will too.
 */
export const MARKET = "0x0000000000000000000000000000000000000A05";
export const PAYMENTS_DOMAIN_NAME = "Azora Payments";

export const RECEIPT_TYPES = { Receipt: [...RECEIPT_STRUCT.fields] };
export const VOUCHER_TYPES = { Voucher: [...VOUCHER_STRUCT.fields] };

export interface Receipt {
  payer: string;
  payee: string;
  token: string;
  value: bigint;
  timestampMs: bigint;
  nonce: bigint;
}

export interface Voucher {
  payer: string;
  payee: string;
  token: string;
  valueAggregate: bigint;
  timestampMs: bigint;
}

export const paymentsDomain = (chainId: bigint) => ({
  name: PAYMENTS_DOMAIN_NAME,
  version: "1",
  chainId,
  verifyingContract: MARKET,
});

/** The HTTP headers carrying a receipt (request) and a voucher request (response). */
export const RECEIPT_HEADER = "x-azora-receipt";

/** A request's receipt: the first `x-azora-receipt` header value, if any (what a payee charges). */
export function receiptHeader(headers: Record<string, string | string[] | undefined>): string | undefined {
  const h = headers[RECEIPT_HEADER];
  return Array.isArray(h) ? h[0] : h;
}
export const VOUCHER_REQUEST_HEADER = "x-azora-voucher-request";

const json = (o: object) => JSON.stringify(o, (_k, v) => (typeof v === "bigint" ? v.toString() : (v as unknown)));

export function encodeSigned<T extends object>(message: T, signature: string): string {
  return Buffer.from(json({ ...message, signature })).toString("base64url");
}

/** A receipt or voucher header back into its message and signature (numbers as bigint); throws on malformed input. */
export function decodeSigned<K extends string>(
  text: string,
  bigints: readonly K[],
): Record<string, unknown> & { signature: string } {
  const o = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as Record<string, unknown>;
  if (typeof o !== "object" || o === null || typeof o.signature !== "string") throw new Error("not a signed message");
  for (const k of bigints) {
    if (typeof o[k] !== "string" || !/^[0-9]{1,39}$/.test(o[k] as string)) throw new Error(`${k}: decimal integer`);
    o[k] = BigInt(o[k] as string);
  }
  return o as Record<string, unknown> & { signature: string };
}

/** The receipt's signer (fast keccak + libsecp256k1: the same answer as ethers' verifyTypedData). */
export function recoverReceiptSigner(chainId: bigint, r: Receipt, signature: string): string {
  return recoverDigestSigner(paymentDigest(paymentsDomain(chainId), RECEIPT_STRUCT, { ...r }), signature);
}

/** The receipt's signer as lowercase hex (no checksum: the metered hot path compares, it does not show). */
export function recoverReceiptSignerHex(chainId: bigint, r: Receipt, signature: string): string {
  return recoverDigestSignerHex(
    paymentDigest(paymentsDomain(chainId), RECEIPT_STRUCT, r as unknown as Record<string, unknown>),
    signature,
  );
}

export function recoverVoucherSigner(chainId: bigint, v: Voucher, signature: string): string {
  return recoverDigestSigner(paymentDigest(paymentsDomain(chainId), VOUCHER_STRUCT, { ...v }), signature);
}

export const voucherHash = (chainId: bigint, v: Voucher) =>
  TypedDataEncoder.hash(paymentsDomain(chainId), VOUCHER_TYPES, v);

/** How long a payer's receipt session lasts, and how long before its expiry a new one is opened. */
export const SESSION_LIFETIME_MS = 3600_000;
const SESSION_RENEW_MS = 60_000;

/**
 * A payer's side of a metered service: signs a receipt per request and, when asked, a voucher for what it owes —
 * never for more than the receipts it signed to that payee. Keeps its own ledger in memory (a payer that restarts
 * starts a new session: the payee's ledger, not the payer's, is what a voucher request is checked against on chain).
 */
export class PaymentSession {
  private signed = 0n;
  private vouchered = 0n;
  private nonce = BigInt(Date.now()) * 1000n;
  private lastTimestampMs = 0n;
  private address: string | null = null;
  /** A Wallet's key signs natively (tens of µs); any other Signer (a browser wallet, a KMS) goes through ethers. */
  private readonly key: Uint8Array | null;

  constructor(
    readonly signer: Signer,
    readonly chainId: bigint,
    readonly payee: string,
    readonly token: string = ZeroAddress,
    /** The highest total already vouchered to this payee (from `deposits().redeemed` or an earlier session). */
    start = 0n,
  ) {
    this.signed = start;
    this.vouchered = start;
    this.key = privateKeyOf(signer);
  }

  private async payer(): Promise<string> {
    if (this.address === null) this.address = await this.signer.getAddress();
    return this.address;
  }

  private async sign(
    struct: typeof RECEIPT_STRUCT,
    types: Record<string, { name: string; type: string }[]>,
    value: Receipt | Voucher | ReceiptSessionOpen,
  ): Promise<string> {
    const domain = paymentsDomain(this.chainId);
    if (this.key !== null) return signDigest(paymentDigest(domain, struct, { ...value }), this.key);
    return this.signer.signTypedData(domain, types, value);
  }

  /** The current receipt session (null: signature receipts), with its signed open header. */
  private session: (PayerReceiptSession & { openHeader: string }) | null = null;
  private sessionPayeeKey: string | null = null;

  /**
   * Switches to session receipts (receiptSession.ts) for a payee that advertises its public key: one signed open
   * now (and again when a session nears its expiry), an HMAC per receipt after. Throws when the key is not the
   * payee's.
   */
  async useReceiptSessions(payeePublicKey: string, lifetimeMs = SESSION_LIFETIME_MS): Promise<void> {
    this.sessionPayeeKey = payeePublicKey;
    this.sessionLifetimeMs = lifetimeMs;
    await this.reopenReceiptSession();
  }

  private sessionLifetimeMs = SESSION_LIFETIME_MS;

  /** A new session (the payee said it does not know the current one, or it nears its expiry). */
  async reopenReceiptSession(): Promise<void> {
    if (this.sessionPayeeKey === null) throw new Error("no receipt sessions with this payee");
    const s = newPayerSession(
      {
        payer: await this.payer(),
        payee: this.payee,
        chainId: this.chainId,
        payeePublicKey: this.sessionPayeeKey,
        lifetimeMs: this.sessionLifetimeMs,
        nowMs: Date.now(),
      },
      (open) => paymentDigest(paymentsDomain(this.chainId), RECEIPT_SESSION_STRUCT, { ...open }),
    );
    const sig = await this.sign(RECEIPT_SESSION_STRUCT, RECEIPT_SESSION_TYPES, s.open);
    this.session = { ...s, openHeader: encodeSigned(s.open, sig) };
  }

  /** The signed open of the session a receipt of this payer's names, if it is the current one (else undefined). */
  sessionOpenFor(receipt: string): string | undefined {
    const s = this.session;
    return s !== null && sessionIdOf(receipt) === s.id ? s.openHeader : undefined;
  }

  /** The current session's id (null: signature receipts). */
  get receiptSessionId(): string | null {
    return this.session?.id ?? null;
  }

  /** Total signed in receipts (what this payer owes the payee at most). */
  get owed(): bigint {
    return this.signed;
  }

  /**
   * One receipt for `value`. Timestamps strictly increase within a session: a payee counts the receipts after its
   * latest voucher by timestamp (the voucher carries the timestamp of the receipt that asked for it), so a receipt
   * signed in the same millisecond as that one — the next call's, signed ahead while this call waits — would not
   * count toward the next voucher.
   */
  async receipt(value: bigint): Promise<string> {
    const now = BigInt(Date.now());
    this.lastTimestampMs = now > this.lastTimestampMs ? now : this.lastTimestampMs + 1n;
    const r: Receipt = {
      payer: await this.payer(),
      payee: this.payee,
      token: this.token,
      value,
      timestampMs: this.lastTimestampMs,
      nonce: this.nonce++,
    };
    this.signed += value;
    if (this.session !== null && this.session.expiryMs - BigInt(Date.now()) < BigInt(SESSION_RENEW_MS))
      await this.reopenReceiptSession();
    const s = this.session;
    if (s !== null) {
      const fields = { session: s.id, token: r.token.toLowerCase(), value, timestampMs: r.timestampMs, nonce: r.nonce };
      return encodeSessionReceipt({ ...fields, mac: sessionMac(s.key, fields).toString("hex") });
    }
    return encodeSigned(r, await this.sign(RECEIPT_STRUCT, RECEIPT_TYPES, r));
  }

  /** Signs the voucher a payee asked for, if it asks no more than this payer signed receipts for. */
  async voucher(request: { valueAggregate: bigint; timestampMs: bigint }): Promise<string> {
    if (request.valueAggregate > this.signed) {
      throw new Error(`voucher request for ${request.valueAggregate} exceeds the ${this.signed} signed in receipts`);
    }
    const v: Voucher = {
      payer: await this.payer(),
      payee: this.payee,
      token: this.token,
      valueAggregate: request.valueAggregate,
      timestampMs: request.timestampMs,
    };
    const sig = await this.sign(VOUCHER_STRUCT, VOUCHER_TYPES, v);
    if (request.valueAggregate > this.vouchered) this.vouchered = request.valueAggregate;
    return encodeSigned(v, sig);
  }
}

/** The market's payment functions for a payer (deposit, thaw, withdraw) or a payee (redeem). */
export function paymentsContract(runner: ContractRunner): Contract {
  return new Contract(MARKET, IJobMarketAbi, runner);
}
