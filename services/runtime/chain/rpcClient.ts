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
}

export function createRPCClient(url: string, opts: { timeoutMs?: number } = {}): RPCClient {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let nextId = 1;
  return {
    url,
    async call<T>(method: string, params: unknown[]): Promise<T> {
      const id = nextId++;
      let res: Response;
      try {
        res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (e) {
        const err = e as Error & { cause?: { code?: string } };
        throw new RPCError(method, 0, err.cause?.code ?? err.message);
      }
      if (!res.ok && res.status !== 200) {
        const text = await res.text().catch(() => "");
        throw new RPCError(method, 0, `HTTP ${res.status} ${text.slice(0, 200)}`);
      }
      const body = (await res.json()) as {
        result?: T;
        error?: { code: number; message: string; data?: unknown };
      };
      if (body.error !== undefined) {
        const data = typeof body.error.data === "string" ? body.error.data : undefined;
        throw new RPCError(method, body.error.code, body.error.message, data);
      }
      return body.result as T;
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
