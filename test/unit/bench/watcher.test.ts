import { Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RpcClient } from "../../../bench/rpc.js";
import { BlockWatcher, type HeadSource } from "../../../bench/watcher.js";
import { DEV_CHAIN_ID, DEV_KEYS, startInProcessNode } from "../../utils/devnode.js";

// The bench's block watcher against a real dev node, in both modes: every block seen once and in order (also when
// many blocks land between two notifications or polls), every submitted tx seen as included.
describe("bench block watcher", () => {
  let node: Awaited<ReturnType<typeof startInProcessNode>>;
  let rpc: RpcClient;
  let nonce = 0;
  const wallet = new Wallet(DEV_KEYS[0]);

  beforeAll(async () => {
    node = await startInProcessNode();
    rpc = new RpcClient(node.url);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  async function sendValue(): Promise<string> {
    const raw = await wallet.signTransaction({
      type: 2,
      chainId: DEV_CHAIN_ID,
      nonce: nonce++,
      to: "0x00000000000000000000000000000000000000aa",
      value: 1n,
      gasLimit: 21_000n,
      maxFeePerGas: 100_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
    });
    return rpc.call<string>("eth_sendRawTransaction", [raw]);
  }

  for (const source of ["subscribe", "poll"] as HeadSource[]) {
    it(`${source}: sees each block once, in order, and every tx included`, async () => {
      const start = Number(BigInt(await rpc.call<string>("eth_blockNumber")));
      const w = await BlockWatcher.create(rpc, source);
      w.start();
      const hashes: string[] = [];
      for (let i = 0; i < 5; i++) hashes.push(await sendValue());
      await rpc.call("anvil_mine", ["0x19"]); // 25 blocks at once: one notification or poll may cover several
      hashes.push(await sendValue());
      await w.waitFor(hashes, 20_000, 30_000, () => true);
      const head = Number(BigInt(await rpc.call<string>("eth_blockNumber")));
      await waitUntil(() => w.blocks.at(-1)?.number === head);
      await w.stop();
      expect(w.pollErrors).toBe(0);
      expect(w.blocks.map((b) => b.number)).toEqual(Array.from({ length: head - start }, (_, i) => start + 1 + i));
      expect(w.blocks.reduce((n, b) => n + b.txs, 0)).toBe(hashes.length);
      for (const h of hashes) expect(w.included.has(h.toLowerCase())).toBe(true);
    });
  }
});

async function waitUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
