import { ZeroAddress } from "ethers";
import { CALL_TRACE_HEADER, parseStamps } from "../runtime/callTrace.js";
import { Http1Pool, type Http1Response } from "./http1.js";

/** The AZT1 tensor container's MIME type (ai-oracle/engine/tensorContainer.ts). */
const AZT1_CONTENT_TYPE = "application/vnd.azora.tensors";

import {
  decodeSigned,
  type PaymentSession,
  paymentsContract,
  RECEIPT_HEADER,
  VOUCHER_REQUEST_HEADER,
} from "./payments.js";
import { RECEIPT_SESSION_HEADER, sessionIdOf } from "./receiptSession.js";

/**
 * A typed client of an AI worker's metered inference (`POST /v1/infer/<model>` on the worker's HTTP port): each
 * call carries a receipt for `price` wei signed by the `PaymentSession`; a voucher the worker asks for is checked
 * against the receipts signed and handed in before the call returns. `deposit()` opens (or tops up) the payer's
 * deposit for the worker in the market. The output's hash is checked here: it is the hash an on-chain `ai/onnx` job
 * of the same model and input would commit, so a doubtful answer can be re-posted as a job with replay verification.
 */
export class InferenceHTTPError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

export interface InferenceClientOptions {
  /** The worker's HTTP base URL (its registered endpoint). */
  url: string;
  payment: PaymentSession;
  /** Wei per request, as the worker's operator advertises it (`metered.price`); 0: a free model, no receipt. */
  price: bigint;
  /**
   * Sign the next call's receipt while this one waits for its answer (default true), so a lone call does not wait
   * for a signature (~0.1 ms). A spare receipt older than `SPARE_MAX_AGE_MS` is not sent (a fresh one is signed):
   * the payer's `owed` counts it all the same, an upper bound as before.
   */
  presign?: boolean;
  /**
   * Session-keyed receipts (receiptSession.ts) when the worker advertises them in `GET /v1/payments` (default
   * true): one signed session open, then an HMAC per call instead of a signature the worker recovers.
   */
  sessions?: boolean;
}

/** A receipt signed ahead is sent only while it is this young (a payee refuses receipts past its max age, 5 min by default). */
export const SPARE_MAX_AGE_MS = 10_000;

export interface Inference {
  /** The canonical output: an AZT1 tensor container. */
  output: Uint8Array;
  contentType: string;
  /** 0x + sha256(output), checked. */
  resultHash: string;
  payment: { payer: string; price: bigint; accepted: bigint; receipts: number; vouchered: bigint; redeemed: bigint };
  /** The worker's `server-timing` header: where the call's time went there (`recv`, `pay`, `run`, `hash`, ms). */
  serverTiming?: string;
  /** Where the call's time went here (ms from the request's start): body handed to the kernel, response head, last byte. */
  clientTiming: { sent: number; head: number; end: number };
  /**
   * With `AZORA_CALL_TRACE=1` here and on the worker (callTrace.ts): the call's stamps on both sides, µs on the
   * machine's monotonic clock — the client's (`start`, `write`, `sent`, `first`, `end`: http1.ts) and the worker's
   * (its `x-azora-trace` header: services/runtime/payments/meteredRoutes.ts).
   */
  trace?: Record<string, number>;
}

/** The worker's refusal of a session receipt whose session it does not know (meteredPayee.ts: SESSION_UNKNOWN). */
const SESSION_UNKNOWN = "PAYMENT_SESSION_UNKNOWN";

/** Connections by worker origin, shared by the clients of this process (as node:http's global agent would be). */
const POOLS = new Map<string, Http1Pool>();

export class InferenceClient {
  vouchersSigned = 0;

  constructor(private readonly o: InferenceClientOptions) {}

  private base(): string {
    return this.o.url.replace(/\/+$/, "");
  }

  /**
   * One POST over a pooled keep-alive connection (http1.ts: the head and the tensor body in one write, the answer
   * parsed off the socket and hashed as it arrives — node:http's client cost ~0.4 ms more per lone call here).
   */
  private post(
    path: string,
    headers: Record<string, string>,
    body: Uint8Array,
    onSent?: () => void,
  ): Promise<Http1Response> {
    if (this.pool === null) {
      const u = new URL(this.base());
      this.prefix = u.pathname.replace(/\/+$/, "");
      this.pool = POOLS.get(u.origin) ?? new Http1Pool(u.origin);
      POOLS.set(u.origin, this.pool);
    }
    return this.pool.post(`${this.prefix}${path}`, headers, body, onSent);
  }

  private pool: Http1Pool | null = null;
  private prefix = "";

  /** Opens or tops up this payer's deposit for the worker (AZR, wei), mined. */
  async deposit(amountWei: bigint): Promise<void> {
    const market = paymentsContract(this.o.payment.signer);
    await (await market.deposit(this.o.payment.payee, ZeroAddress, amountWei, { value: amountWei })).wait();
  }

  /** Runs `model` (its sha256, hex) on an AZT1 container, paying one receipt. */
  infer(model: string, input: Uint8Array, receipt?: string): Promise<Inference> {
    return this.call(model, input, receipt, true);
  }

  private async call(
    model: string,
    input: Uint8Array,
    receipt: string | undefined,
    mayReopen: boolean,
  ): Promise<Inference> {
    const id = model.toLowerCase().replace(/^0x/, "");
    const headers: Record<string, string> = {
      "content-type": "application/octet-stream",
      accept: "application/octet-stream",
    };
    // A model its operator serves free (price 0) takes no receipt.
    const paid = receipt ?? (this.o.price === 0n ? undefined : await this.takeReceipt());
    if (paid !== undefined) headers[RECEIPT_HEADER] = paid;
    // A session receipt carries its session's signed open until the worker has answered one call of that session.
    const session = paid === undefined ? null : sessionIdOf(paid);
    const open =
      session !== null && session !== this.sessionConfirmed ? this.o.payment.sessionOpenFor(paid!) : undefined;
    if (open !== undefined) headers[RECEIPT_SESSION_HEADER] = open;
    // the spare is signed once the request is in the kernel: signing right after the write would hold up the
    // rest of a body larger than the socket's buffer
    const presign = paid !== undefined && receipt === undefined ? () => this.signSpare() : undefined;
    const r = await this.post(`/v1/infer/0x${id}`, headers, input, presign);
    if (r.status !== 200) {
      const json = JSON.parse(r.body.toString("utf8") || "{}") as Record<string, unknown>;
      if (json.code === SESSION_UNKNOWN && session !== null && receipt === undefined && mayReopen) {
        // the worker does not know the session (expired, or its journal lost it): a new one, and one retry
        await this.o.payment.reopenReceiptSession();
        this.spare = null;
        return this.call(model, input, undefined, false);
      }
      throw new InferenceHTTPError(r.status, String(json.code ?? "HTTP"), String(json.message ?? ""));
    }
    if (session !== null) this.sessionConfirmed = session;
    const output = new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.byteLength);
    const resultHash = `0x${r.sha256}`;
    const said = r.headers["x-azora-result-hash"];
    if (resultHash !== said)
      throw new InferenceHTTPError(
        r.status,
        "RESULT_HASH_MISMATCH",
        `worker said ${said}, output hashes to ${resultHash}`,
      );
    const ask = r.headers[VOUCHER_REQUEST_HEADER];
    if (typeof ask === "string") await this.handInVoucher(ask);
    const p = JSON.parse(r.headers["x-azora-payment"] ?? "{}") as Record<string, string | number>;
    return {
      output,
      contentType: AZT1_CONTENT_TYPE,
      resultHash,
      serverTiming: r.headers["server-timing"],
      clientTiming: r.timing,
      trace: r.trace && { ...parseStamps(r.headers[CALL_TRACE_HEADER]), ...r.trace },
      payment: {
        payer: p.payer as string,
        price: BigInt(p.price),
        accepted: BigInt(p.accepted),
        receipts: Number(p.receipts),
        vouchered: BigInt(p.vouchered),
        redeemed: BigInt(p.redeemed),
      },
    };
  }

  /**
   * Concurrent calls all see the request until one voucher lands, each with a higher total: the newest request
   * wins — vouchers go one at a time, each for the highest total asked so far, and a request at or below the
   * total already handed in is dropped (the worker would refuse it as not above its last voucher).
   */
  private async handInVoucher(ask: string): Promise<void> {
    const req = decodeSigned(ask, ["valueAggregate", "timestampMs"]);
    const value = req.valueAggregate as bigint;
    if (this.wanted === null || value > this.wanted.valueAggregate)
      this.wanted = { valueAggregate: value, timestampMs: req.timestampMs as bigint };
    const run = this.voucherChain.then(() => this.handInWanted());
    this.voucherChain = run.catch(() => {});
    return run;
  }

  /** The session the worker has answered a call of (its open need not be sent again). */
  private sessionConfirmed: string | null = null;
  private sessionsChecked: Promise<void> | null = null;

  /**
   * Switches the payment session to session receipts when the worker advertises them (asked once per client; a
   * failed ask, or a public key that is not the payee's, leaves signature receipts, tried again on the next call).
   */
  private useSessions(): Promise<void> {
    if (this.o.sessions === false || this.o.payment.receiptSessionId !== null) return Promise.resolve();
    this.sessionsChecked ??= (async () => {
      const r = await fetch(`${this.base()}/v1/payments`);
      const j = (await r.json()) as { receiptSessions?: { version?: number; publicKey?: unknown } };
      const pk = j.receiptSessions?.publicKey;
      if (j.receiptSessions?.version === 1 && typeof pk === "string") await this.o.payment.useReceiptSessions(pk);
    })().catch(() => {
      this.sessionsChecked = null;
    });
    return this.sessionsChecked;
  }

  /** The spare receipt when there is a young one (see `presign`), else one signed now. */
  private async takeReceipt(): Promise<string> {
    await this.useSessions();
    const s = this.spare;
    this.spare = null;
    if (s !== null && Date.now() - s.signedAt < SPARE_MAX_AGE_MS) return s.receipt;
    return this.o.payment.receipt(this.o.price);
  }

  private signSpare(): void {
    if (this.o.presign === false || this.spare !== null || this.signingSpare) return;
    this.signingSpare = true;
    const signedAt = Date.now();
    this.o.payment.receipt(this.o.price).then(
      (receipt) => {
        this.signingSpare = false;
        this.spare = { receipt, signedAt };
      },
      () => {
        this.signingSpare = false; // the next call signs its own, and fails there if signing does
      },
    );
  }

  private spare: { receipt: string; signedAt: number } | null = null;
  private signingSpare = false;

  private voucherChain: Promise<void> = Promise.resolve();
  private wanted: { valueAggregate: bigint; timestampMs: bigint } | null = null;
  private handedIn = 0n;

  private async handInWanted(): Promise<void> {
    const want = this.wanted;
    if (want === null || want.valueAggregate <= this.handedIn) return;
    const voucher = await this.o.payment.voucher(want);
    const r = await fetch(`${this.base()}/v1/payments/vouchers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ voucher }),
    });
    if (!r.ok) {
      const j = (await r.json()) as { code?: string; message?: string };
      throw new InferenceHTTPError(r.status, j.code ?? "HTTP", j.message ?? "");
    }
    if (want.valueAggregate > this.handedIn) this.handedIn = want.valueAggregate;
    this.vouchersSigned++;
  }
}
