import { JsonRpcProvider, Network, WebSocketProvider } from "ethers";
import { createPublicClient, http, webSocket } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers.js";

/** Real client libraries against the server: proves envelope, batching and notification compatibility. */
describe("ethers v6 and viem compatibility", () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.close();
  });

  it("ethers JsonRpcProvider detects the network and batches calls", async () => {
    const provider = new JsonRpcProvider(t.addr.url);
    try {
      expect((await provider.getNetwork()).chainId).toBe(1337n);
      // Concurrent sends are coalesced into one JSON-RPC batch by ethers.
      const [chainId, echo, block] = await Promise.all([
        provider.send("eth_chainId", []),
        provider.send("test_echo", ["0x2a"]),
        provider.getBlockNumber(),
      ]);
      expect(chainId).toBe("0x539");
      expect(echo).toBe("0x2a");
      expect(block).toBe(42);
      await expect(provider.send("test_add", ["0x1"])).rejects.toThrow(/missing value for required argument 1/);
    } finally {
      provider.destroy();
    }
  });

  it("ethers surfaces code 3 revert data", async () => {
    const provider = new JsonRpcProvider(t.addr.url, undefined, { staticNetwork: Network.from(1337) });
    try {
      await expect(provider.send("test_revert", [])).rejects.toMatchObject({
        error: { code: 3, message: "execution reverted: boom" },
      });
    } finally {
      provider.destroy();
    }
  });

  it("ethers WebSocketProvider calls and receives newHeads notifications", async () => {
    const provider = new WebSocketProvider(t.addr.wsUrl);
    try {
      expect((await provider.getNetwork()).chainId).toBe(1337n);
      const block = new Promise<number>((resolve) => {
        void provider.on("block", (n: number) => resolve(n));
      });
      for (let i = 0; i < 100 && t.source.live.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
      t.source.emitHead({ number: 43n, hash: `0x${"11".repeat(32)}` });
      expect(await block).toBe(43);
    } finally {
      await provider.destroy();
    }
  });

  it("viem public client over http (single and batched)", async () => {
    const client = createPublicClient({ transport: http(t.addr.url) });
    expect(await client.getChainId()).toBe(1337);
    expect(await client.getBlockNumber({ cacheTime: 0 })).toBe(42n);
    const batched = createPublicClient({ transport: http(t.addr.url, { batch: true }) });
    const request = batched.request as (args: { method: string; params: unknown[] }) => Promise<unknown>;
    const [a, b] = await Promise.all([batched.getChainId(), request({ method: "test_echo", params: ["0x7"] })]);
    expect(a).toBe(1337);
    expect(b).toBe("0x7");
  });

  it("viem public client over webSocket", async () => {
    const client = createPublicClient({ transport: webSocket(t.addr.wsUrl) });
    try {
      expect(await client.getChainId()).toBe(1337);
    } finally {
      const rpc = await client.transport.getRpcClient();
      rpc.close();
    }
  });
});
