/**
 * A minimal JSON-RPC 2.0 client over HTTP (fetch, keep-alive): one request per call, no caching, no batching
 * delay, errors as `RPCError` with the node's code, message and revert data. Services talk to the chain only
 * through this and the generated ABIs, so they run beside a node or on another machine.
 */
export class RPCError extends Error {
  override readonly name = "RPCError";
  constructor(
    readonly method: string,
    /** JSON-RPC error code (-32000 rejected tx, 3 execution reverted, …), or 0 for a transport failure. */
    readonly rpcCode: number,
    message: string,
    /** Revert data (`0x…`) for code 3. */
    readonly data?: string,
  ) {
    super(`${method}: ${message}`);
  }
}

export interface RPCClient {
  readonly url: string;
  call<T = unknown>(method: string, params: unknown[]): Promise<T>;
  /** One JSON-RPC batch; results in request order, an RPCError in place of each failed entry. */
  batch<T = unknown>(calls: [method: string, params: unknown[]][]): Promise<(T | RPCError)[]>;
}

export function createRPCClient(url: string, opts: { timeoutMs?: number } = {}): RPCClient {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let nextId = 1;
  async function post(body: unknown, what: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      throw new RPCError(what, 0, err.cause?.code ?? err.message);
    }
    if (res.status !== 200) {
      const text = await res.text().catch(() => "");
      throw new RPCError(what, 0, `HTTP ${res.status} ${text.slice(0, 200)}`);
    }
    return res.json();
  }
  type Reply<T> = { id: number; result?: T; error?: { code: number; message: string; data?: unknown } };
  const toError = (method: string, e: NonNullable<Reply<unknown>["error"]>) =>
    new RPCError(method, e.code, e.message, typeof e.data === "string" ? e.data : undefined);
  return {
    url,
    async call<T>(method: string, params: unknown[]): Promise<T> {
      const body = (await post({ jsonrpc: "2.0", id: nextId++, method, params }, method)) as Reply<T>;
      if (body.error !== undefined) throw toError(method, body.error);
      return body.result as T;
    },
    async batch<T>(calls: [string, unknown[]][]): Promise<(T | RPCError)[]> {
      if (calls.length === 0) return [];
      const first = nextId;
      const req = calls.map(([method, params]) => ({ jsonrpc: "2.0", id: nextId++, method, params }));
      const replies = (await post(req, `batch(${calls[0][0]}×${calls.length})`)) as Reply<T>[];
      if (!Array.isArray(replies)) throw new RPCError("batch", 0, "not a batch response");
      const out: (T | RPCError)[] = calls.map(([m]) => new RPCError(m, 0, "missing from batch response"));
      for (const r of replies) {
        const i = r.id - first;
        if (i < 0 || i >= calls.length) continue;
        out[i] = r.error !== undefined ? toError(calls[i][0], r.error) : (r.result as T);
      }
      return out;
    },
  };
}

/** `0x`-hex quantity → bigint. */
export function quantity(hex: string): bigint {
  return BigInt(hex);
}

export function toQuantity(n: bigint | number): string {
  return `0x${n.toString(16)}`;
}
