import { decodeSigned, type PaymentSession, RECEIPT_HEADER, VOUCHER_REQUEST_HEADER } from "./payments.js";

/**
 * A typed client of Azora Search's HTTP API: indexes, documents (waiting for their tasks), search and suggest,
 * and paid queries — with a `PaymentSession` every search carries a receipt, and a voucher the service asks for is
 * checked against the receipts signed and handed in.
 */
export class SearchHTTPError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

export interface SearchClientOptions {
  url: string;
  apiKey?: string;
  payment?: PaymentSession;
  /** Wei per query to pay on paid indexes (default: the index's pricePerQuery, read once). */
  price?: bigint;
}

export class SearchClient {
  private readonly prices = new Map<string, bigint>();
  vouchersSigned = 0;

  constructor(private readonly o: SearchClientOptions) {}

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ body: T; headers: Headers }> {
    const r = await fetch(`${this.o.url.replace(/\/+$/, "")}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    const json = text === "" ? null : JSON.parse(text);
    if (!r.ok) throw new SearchHTTPError(r.status, json?.code ?? "HTTP", json?.message ?? text);
    return { body: json as T, headers: r.headers };
  }

  async createIndex(name: string, settings: Record<string, unknown> = {}) {
    return (await this.request("POST", "/indexes", { name, settings })).body;
  }

  async index(name: string): Promise<Record<string, unknown> & { settings: { pricePerQuery: string } }> {
    return (
      await this.request<Record<string, unknown> & { settings: { pricePerQuery: string } }>("GET", `/indexes/${name}`)
    ).body;
  }

  async waitForTask(
    uid: number,
    timeoutMs = 300_000,
  ): Promise<{ status: string; error: string | null; details: Record<string, unknown> }> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const t = (
        await this.request<{ status: string; error: string | null; details: Record<string, unknown> }>(
          "GET",
          `/tasks/${uid}`,
        )
      ).body;
      if (t.status === "succeeded" || t.status === "failed") return t;
      if (Date.now() > until) throw new Error(`task ${uid} still ${t.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Adds documents in batches, waiting for each batch's task; returns the tasks. */
  async addDocuments(name: string, docs: unknown[], opts: { batch?: number; onBatch?: (n: number) => void } = {}) {
    const out = [];
    const size = opts.batch ?? 5_000;
    for (let i = 0; i < docs.length; i += size) {
      const t = (await this.request<{ taskUid: number }>("POST", `/indexes/${name}/documents`, docs.slice(i, i + size)))
        .body;
      const done = await this.waitForTask(t.taskUid);
      if (done.status !== "succeeded") throw new Error(`task ${t.taskUid} failed: ${done.error}`);
      out.push(done);
      opts.onBatch?.(Math.min(i + size, docs.length));
    }
    return out;
  }

  async search(name: string, params: Record<string, unknown>) {
    const headers: Record<string, string> = {};
    const pay = this.o.payment;
    if (pay !== undefined) {
      let price = this.o.price ?? this.prices.get(name);
      if (price === undefined) {
        price = BigInt((await this.index(name)).settings.pricePerQuery);
        this.prices.set(name, price);
      }
      if (price > 0n) headers[RECEIPT_HEADER] = await pay.receipt(price);
    }
    const r = await this.request<
      { hits: Record<string, unknown>[]; estimatedTotalHits: number } & Record<string, unknown>
    >("POST", `/indexes/${name}/search`, params, headers);
    const ask = r.headers.get(VOUCHER_REQUEST_HEADER);
    if (ask !== null && pay !== undefined) {
      const req = decodeSigned(ask, ["valueAggregate", "timestampMs"]);
      const voucher = await pay.voucher({
        valueAggregate: req.valueAggregate as bigint,
        timestampMs: req.timestampMs as bigint,
      });
      await this.request("POST", "/payments/vouchers", { voucher });
      this.vouchersSigned++;
    }
    return r.body;
  }

  async suggest(name: string, q: string, limit = 10) {
    return (await this.request("GET", `/indexes/${name}/suggest?q=${encodeURIComponent(q)}&limit=${limit}`)).body;
  }
}
