/** Test-only fixtures for the JSON-RPC transport tests: a dummy method table, a fake subscription
 * source, a capturing logger, a real server on 127.0.0.1:0 and a small WebSocket client. */
import { WebSocket } from "ws";
import { ExecutionRevertedError, InvalidParamsError } from "../../../../rpc/errors.js";
import {
  createRPCServer,
  type RPCServer,
  type RPCServerAddress,
  type RPCServerOptions,
} from "../../../../rpc/server.js";
import { createSubscriptionMethods, type SubscriptionSource } from "../../../../rpc/subscriptions.js";
import { defineMethod, type MethodTable } from "../../../../rpc/types.js";
import type { Logger } from "../../../../runtime/lib/logger.js";

export interface LogEntry {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  ctx?: Record<string, unknown>;
  err?: unknown;
}

export function createCaptureLogger(entries: LogEntry[] = []): Logger & { entries: LogEntry[] } {
  const logger = {
    entries,
    debug: (msg: string, ctx?: Record<string, unknown>) => entries.push({ level: "debug", msg, ctx }),
    info: (msg: string, ctx?: Record<string, unknown>) => entries.push({ level: "info", msg, ctx }),
    warn: (msg: string, ctx?: Record<string, unknown>, err?: unknown) => entries.push({ level: "warn", msg, ctx, err }),
    error: (msg: string, ctx?: Record<string, unknown>, err?: unknown) =>
      entries.push({ level: "error", msg, ctx, err }),
    child: () => logger,
  };
  return logger;
}

/** `Error(string)` revert data for "boom". */
export const REVERT_BOOM =
  "0x08c379a0" +
  "0000000000000000000000000000000000000000000000000000000000000020" +
  "0000000000000000000000000000000000000000000000000000000000000004" +
  "626f6f6d00000000000000000000000000000000000000000000000000000000";

/**
 * Subscription kinds: `ticks` (pushed by `emit`), `immediate` (pushes synchronously while
 * subscribing, then like ticks), `newHeads` (pushed by `emitHead`), `flood` (pushes 64 KiB strings
 * on every macrotask until disposed).
 */
export class FakeSubscriptionSource implements SubscriptionSource {
  readonly live = new Map<number, { kind: string; push: (r: unknown) => void }>();
  subscribed = 0;
  disposed = 0;
  private nextId = 0;

  subscribe(kind: string, params: unknown[], push: (result: unknown) => void): () => void {
    if (!["ticks", "immediate", "newHeads", "flood"].includes(kind)) {
      throw new InvalidParamsError(`no "${kind}" subscription in eth namespace`);
    }
    const id = this.nextId++;
    this.subscribed++;
    this.live.set(id, { kind, push });
    let stopped = false;
    if (kind === "immediate") push({ immediate: true, params });
    if (kind === "flood") {
      const chunk = "x".repeat(64 * 1024);
      const loop = (): void => {
        if (stopped) return;
        push(chunk);
        setImmediate(loop);
      };
      setImmediate(loop);
    }
    return () => {
      stopped = true;
      if (this.live.delete(id)) this.disposed++;
    };
  }

  emit(result: unknown): void {
    for (const s of this.live.values()) if (s.kind === "ticks" || s.kind === "immediate") s.push(result);
  }

  emitHead(head: unknown): void {
    for (const s of this.live.values()) if (s.kind === "newHeads") s.push(head);
  }
}

export function createDummyMethods(source: SubscriptionSource): MethodTable {
  return {
    eth_chainId: defineMethod([], () => 1337n),
    net_version: defineMethod([], () => "1337"),
    eth_blockNumber: defineMethod([], () => 42n),
    test_echo: defineMethod([{ name: "value", type: "quantity" }], ([v]) => v),
    test_add: defineMethod(
      [
        { name: "a", type: "quantity" },
        { name: "b", type: "quantity" },
      ],
      ([a, b]) => a + b,
    ),
    test_address: defineMethod(
      [
        { name: "address", type: "address" },
        { name: "block", type: "blockTagOrHash", optional: true },
      ],
      ([address, block]) => ({ address, block: block ?? null }),
    ),
    test_big: defineMethod([], () => ({
      big: 2n ** 200n,
      zero: 0n,
      bytes: new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
      buffer: Buffer.from("0102", "hex"),
      list: [1n, new Uint8Array(0), undefined],
      skipped: undefined,
    })),
    test_slow: defineMethod([{ name: "ms", type: "any" }], async ([ms]) => {
      await new Promise((r) => setTimeout(r, Number(ms)));
      return ms;
    }),
    test_throw: defineMethod([], () => {
      throw new Error("secret database path /var/lib/azora");
    }),
    test_revert: defineMethod([], () => {
      throw new ExecutionRevertedError(REVERT_BOOM);
    }),
    test_void: defineMethod([], () => undefined),
    ...createSubscriptionMethods(source),
  };
}

export interface TestServer {
  server: RPCServer;
  addr: RPCServerAddress;
  source: FakeSubscriptionSource;
  logger: ReturnType<typeof createCaptureLogger>;
  close(): Promise<void>;
}

export async function startTestServer(overrides: Partial<RPCServerOptions> = {}): Promise<TestServer> {
  const source = new FakeSubscriptionSource();
  const logger = createCaptureLogger();
  const server = createRPCServer({
    host: "127.0.0.1",
    port: 0,
    methods: createDummyMethods(source),
    logger,
    ...overrides,
  });
  const addr = await server.listen();
  return { server, addr, source, logger, close: () => server.close() };
}

export interface HTTPResult {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON.
  json: any;
}

/** POSTs `body` (a string is sent verbatim, anything else JSON-encoded). */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HTTPResult> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text.length > 0 ? JSON.parse(text) : undefined };
}

export function call(method: string, params?: unknown[], id: number | string | null = 1): Record<string, unknown> {
  return params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params };
}

/** A WebSocket client that queues every received text message. */
export class WSClient {
  // biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON.
  readonly messages: any[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  // biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON.
  private waiters: { pred: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  private nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString());
      const w = this.waiters.find((x) => x.pred(msg));
      if (w !== undefined) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(msg);
      } else {
        this.messages.push(msg);
      }
    });
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  }

  static async connect(url: string): Promise<WSClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new WSClient(ws);
  }

  /** Resolves with the first queued or future message matching `pred`. */
  // biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON.
  next(pred: (m: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
    const i = this.messages.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.messages.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out waiting for a WebSocket message")), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  // biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON.
  async request(method: string, params?: unknown[]): Promise<any> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify(call(method, params, id)));
    return this.next((m) => m.id === id);
  }

  // biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON.
  notifications(subscription: string): any[] {
    return this.messages.filter((m) => m.method === "eth_subscription" && m.params?.subscription === subscription);
  }

  async close(): Promise<void> {
    this.ws.close();
    await this.closed;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
