import { setImmediate as tick } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { BlockRef, EthBackend, LogView } from "../../../../rpc/backend.js";
import { createEthSubscriptionSource } from "../../../../rpc/ethSubscriptions.js";
import { handleMessage } from "../../../../rpc/jsonrpc.js";
import { createSubscriptionMethods, type SubscriptionSource } from "../../../../rpc/subscriptions.js";
import type { CallContext, WSConnectionHandle } from "../../../../rpc/types.js";

/**
 * Subscription fan-out (issue 16): the work per event does not grow with the subscribers — logs
 * are matched once per filter shape and formatted and serialised once per log — and each client
 * (remote address) holds a bounded number of subscriptions over all its connections.
 */

/** Only what the eth subscription source uses. */
function fakeBackend() {
  const blockListeners = new Set<(b: BlockRef, logs: LogView[]) => void>();
  const backend = {
    onNewBlock: (l: (b: BlockRef, logs: LogView[]) => void) => {
      blockListeners.add(l);
      return () => blockListeners.delete(l);
    },
    onPendingTransaction: () => () => undefined,
  } as unknown as EthBackend;
  const emitBlock = (logs: LogView[]) => {
    const ref = { hash: new Uint8Array(32).fill(7), header: {} } as unknown as BlockRef;
    for (const l of blockListeners) l(ref, logs);
  };
  return { backend, emitBlock };
}

const address = (b: number) => new Uint8Array(20).fill(b);
const topic = (b: number) => new Uint8Array(32).fill(b);

function logsFrom(addresses: number[]): LogView[] {
  return addresses.map((a, i) => ({
    log: [address(a), [topic(1)], new Uint8Array(32)],
    blockNumber: 5n,
    blockHash: new Uint8Array(32).fill(7),
    transactionHash: new Uint8Array(32).fill(9),
    transactionIndex: 0,
    logIndex: i,
  }));
}

class FakeConnection implements WSConnectionHandle {
  readonly texts: string[] = [];
  private open = true;
  private readonly closeFns: (() => void)[] = [];
  constructor(
    readonly id: number,
    readonly remoteAddress: string,
  ) {}
  isOpen() {
    return this.open;
  }
  send(message: unknown) {
    return this.sendText(JSON.stringify(message));
  }
  sendText(text: string) {
    this.texts.push(text);
    return true;
  }
  onClose(fn: () => void) {
    this.closeFns.push(fn);
    return () => undefined;
  }
  close() {
    this.open = false;
    for (const fn of this.closeFns) fn();
  }
}

async function subscribe(
  methods: ReturnType<typeof createSubscriptionMethods>,
  conn: FakeConnection,
  params: unknown[],
): Promise<{ result?: string; error?: { code: number; message: string } }> {
  const afterResponse: (() => void)[] = [];
  const ctx: CallContext = { transport: "ws", connection: conn, afterResponse: (fn) => afterResponse.push(fn) };
  const res = await handleMessage({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params }, methods, ctx);
  for (const fn of afterResponse) fn();
  return res as { result?: string; error?: { code: number; message: string } };
}

async function drained(): Promise<void> {
  for (let i = 0; i < 50; i++) await tick();
}

describe("logs fan-out: once per event and filter shape", () => {
  it("every subscriber of a shape is handed the same formatted object; other shapes are matched separately", () => {
    const { backend, emitBlock } = fakeBackend();
    const source = createEthSubscriptionSource(backend);
    const pushed: unknown[][] = [];
    for (let i = 0; i < 1000; i++) {
      const got: unknown[] = [];
      pushed.push(got);
      // One shape, written two ways.
      const filter = i % 2 === 0 ? { address: [`0x${"aa".repeat(20)}`] } : { address: `0x${"AA".repeat(20)}` };
      source.subscribe("logs", [filter], (r) => got.push(r));
    }
    const other: unknown[] = [];
    source.subscribe("logs", [{ address: `0x${"bb".repeat(20)}` }], (r) => other.push(r));
    emitBlock(logsFrom([0xaa, 0xbb, 0xaa, 0xcc]));
    for (const got of pushed) {
      expect(got).toHaveLength(2);
      expect(got[0]).toBe(pushed[0][0]); // one object per log, whatever the number of subscribers
      expect(got[1]).toBe(pushed[0][1]);
    }
    expect(other).toHaveLength(1);
    expect(other[0]).toMatchObject({ address: `0x${"bb".repeat(20)}`, logIndex: "0x1" });
    source.dispose();
  });

  it("a result pushed to many subscribers is serialised once", async () => {
    let serialised = 0;
    const pushes: ((r: unknown) => void)[] = [];
    const source: SubscriptionSource = {
      subscribe: (_kind, _params, push) => {
        pushes.push(push);
        return () => undefined;
      },
    };
    const methods = createSubscriptionMethods(source);
    const conn = new FakeConnection(1, "10.0.0.1");
    for (let i = 0; i < 100; i++) expect((await subscribe(methods, conn, ["ticks"])).result).toBeDefined();
    const result = {
      toJSON() {
        serialised++;
        return { n: 1 };
      },
    };
    for (const push of pushes) push(result);
    await drained();
    expect(conn.texts).toHaveLength(100);
    expect(serialised).toBe(1);
    expect(JSON.parse(conn.texts[0])).toMatchObject({ method: "eth_subscription", params: { result: { n: 1 } } });
  });
});

describe("subscription quotas and delivery", () => {
  const source: SubscriptionSource = { subscribe: () => () => undefined };

  it("a client's quota holds over all its connections and is given back when a connection closes", async () => {
    const methods = createSubscriptionMethods(source, { maxPerConnection: 3, maxPerClient: 4 });
    const a = new FakeConnection(1, "10.0.0.2");
    const b = new FakeConnection(2, "::ffff:10.0.0.2"); // the same client over IPv6-mapped IPv4
    const other = new FakeConnection(3, "10.0.0.3");
    for (let i = 0; i < 3; i++) expect((await subscribe(methods, a, ["x"])).result).toBeDefined();
    expect((await subscribe(methods, a, ["x"])).error).toEqual({
      code: -32005,
      message: "too many subscriptions (limit 3 per connection)",
    });
    expect((await subscribe(methods, b, ["x"])).result).toBeDefined();
    expect((await subscribe(methods, b, ["x"])).error).toEqual({
      code: -32005,
      message: "too many subscriptions (limit 4 per client)",
    });
    expect((await subscribe(methods, other, ["x"])).result).toBeDefined();
    a.close();
    expect((await subscribe(methods, b, ["x"])).result).toBeDefined();
  });

  it("one connection's flood does not hold back another connection's notifications", async () => {
    const pushes = new Map<string, (r: unknown) => void>();
    const src: SubscriptionSource = {
      subscribe: (kind, _params, push) => {
        pushes.set(kind, push);
        return () => undefined;
      },
    };
    const methods = createSubscriptionMethods(src);
    const flood = new FakeConnection(1, "10.0.0.4");
    const quiet = new FakeConnection(2, "10.0.0.5");
    await subscribe(methods, flood, ["flood"]);
    await subscribe(methods, quiet, ["quiet"]);
    for (let i = 0; i < 20_000; i++) pushes.get("flood")?.(i);
    for (let i = 0; i < 10; i++) pushes.get("quiet")?.(i);
    await tick();
    await tick();
    expect(quiet.texts).toHaveLength(10);
    expect(flood.texts.length).toBeLessThan(20_000);
    await drained();
    expect(flood.texts).toHaveLength(20_000);
    // In order, per subscription.
    expect(flood.texts.map((t) => JSON.parse(t).params.result)).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
  });
});
