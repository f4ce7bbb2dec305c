// A minimal JSON-RPC client over node:http with a keep-alive agent: lighter on the (shared) CPU than fetch, one
// pool of persistent connections per target, and a timeout on every request so a stalled node cannot hang the bench.
import http from "node:http";

export class RpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
  ) {
    super(`${method}: ${message} (code ${code})`);
  }
}

export interface RpcResponse {
  id: number;
  result?: unknown;
  error?: { code: number; message: string };
}

const RETRYABLE = new Set(["ECONNRESET", "EPIPE"]);

export class RpcClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly host: string;
  private readonly port: number;
  private readonly path: string;
  private nextId = 1;

  constructor(
    readonly url: string,
    readonly timeoutMs = 30_000,
  ) {
    const u = new URL(url);
    this.host = u.hostname;
    this.port = Number(u.port);
    this.path = u.pathname === "" ? "/" : u.pathname;
  }

  async call<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const id = this.nextId++;
    const res = (await this.post(JSON.stringify({ jsonrpc: "2.0", id, method, params }), method)) as RpcResponse;
    if (res === null || typeof res !== "object") throw new RpcError(method, -1, "malformed response");
    if (res.error !== undefined) throw new RpcError(method, res.error.code, res.error.message);
    return res.result as T;
  }

  /** One JSON-RPC batch; responses in request order. Per-entry errors are returned, not thrown. */
  async batch(calls: Array<[method: string, params: unknown[]]>): Promise<RpcResponse[]> {
    if (calls.length === 0) return [];
    const first = this.nextId;
    const body = calls.map(([method, params]) => ({ jsonrpc: "2.0", id: this.nextId++, method, params }));
    const res = await this.post(JSON.stringify(body), `batch(${calls[0][0]} x${calls.length})`);
    if (!Array.isArray(res)) throw new RpcError("batch", -1, `expected an array, got ${JSON.stringify(res)}`);
    const out: RpcResponse[] = new Array(calls.length);
    for (const r of res as RpcResponse[]) out[r.id - first] = r;
    for (let i = 0; i < out.length; i++) {
      if (out[i] === undefined) out[i] = { id: first + i, error: { code: -1, message: "missing from batch response" } };
    }
    return out;
  }

  /** Batches of `size`, `parallel` batches in flight at a time. */
  async batchAll(calls: Array<[string, unknown[]]>, size = 100, parallel = 4): Promise<RpcResponse[]> {
    const chunks: Array<Array<[string, unknown[]]>> = [];
    for (let i = 0; i < calls.length; i += size) chunks.push(calls.slice(i, i + size));
    const results: RpcResponse[][] = new Array(chunks.length);
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const i = next++;
        results[i] = await this.batch(chunks[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, chunks.length) }, worker));
    return results.flat();
  }

  close(): void {
    this.agent.destroy();
  }

  private async post(body: string, what: string): Promise<unknown> {
    try {
      return await this.postOnce(body, what);
    } catch (e) {
      // Node's documented pattern: a keep-alive socket the server closed meanwhile fails once; retry on a new one.
      const err = e as NodeJS.ErrnoException & { reusedSocket?: boolean };
      if (err.reusedSocket === true && err.code !== undefined && RETRYABLE.has(err.code))
        return this.postOnce(body, what);
      throw e;
    }
  }

  private postOnce(body: string, what: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          host: this.host,
          port: this.port,
          path: this.path,
          method: "POST",
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode !== 200) {
              reject(new RpcError(what, -(res.statusCode ?? 0), `HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
              return;
            }
            try {
              resolve(JSON.parse(text));
            } catch {
              reject(new RpcError(what, -1, `invalid JSON: ${text.slice(0, 300)}`));
            }
          });
        },
      );
      req.setTimeout(this.timeoutMs, () => {
        req.destroy(new Error(`${what}: no response within ${this.timeoutMs} ms from ${this.url}`));
      });
      req.on("error", (e: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
        e.reusedSocket = req.reusedSocket;
        reject(e);
      });
      req.end(body);
    });
  }
}

export function hexToBigInt(v: unknown): bigint {
  if (typeof v !== "string" || !v.startsWith("0x"))
    throw new Error(`expected a hex quantity, got ${JSON.stringify(v)}`);
  return v === "0x" ? 0n : BigInt(v);
}

export function toHex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
