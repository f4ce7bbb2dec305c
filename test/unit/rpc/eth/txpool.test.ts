import { getAddress } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  devWallet,
  expectTxShape,
  HASH,
  type Json,
  MANUAL_MINING,
  mine,
  result,
  send,
  signTx,
  startInProcessNode,
  type TestNode,
  UNUSED_ADDRESS,
} from "./helpers.js";

describe("azora_status, txpool_status, txpool_content and pooled transactions (manual mining)", () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startInProcessNode(MANUAL_MINING);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("azora_status describes the node and agrees with the eth_ methods", async () => {
    const [s, head, genesis] = [
      await result(node.url, "azora_status", []),
      await result(node.url, "eth_getBlockByNumber", ["latest", false]),
      await result(node.url, "eth_getBlockByNumber", ["earliest", false]),
    ];
    expect(s).toMatchObject({
      mode: "dev",
      chainId: "16730",
      networkName: "azora-devnet",
      genesisHash: genesis.hash,
      height: BigInt(head.number).toString(),
      hash: head.hash,
      timestamp: BigInt(head.timestamp).toString(),
      stateRoot: head.stateRoot,
      peers: 0,
      catching_up: false,
      mempool: { pending: 0, queued: 0 },
    });
    expect(s.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(await result(node.url, "web3_clientVersion", [])).toContain(`v${s.version}`);
    expect(s.validators).toHaveLength(1);
    expect(s.validators[0]).toMatchObject({ votingPower: "10", name: "devnet-validator-0" });
    expect(typeof s.uptimeSeconds).toBe("number");
    expect(await result(node.url, "azora_status", [])).toMatchObject({ height: s.height });
  });

  it("txpool_status / txpool_content: pending (executable) and queued (nonce-gapped) txs", async () => {
    expect(await result(node.url, "txpool_status", [])).toEqual({ pending: "0x0", queued: "0x0" });
    expect(await result(node.url, "txpool_content", [])).toEqual({ pending: {}, queued: {} });

    const a = devWallet(node.url, 0);
    const b = devWallet(node.url, 1);
    const p0 = await send(node.url, a, { to: UNUSED_ADDRESS, value: 1n });
    const p1 = await send(node.url, a, { to: UNUSED_ADDRESS, value: 2n, data: "0x1234" });
    const q5raw = await signTx(b, { to: UNUSED_ADDRESS, value: 3n, nonce: 5, gasLimit: 21_000n });
    const q5 = await result(node.url, "eth_sendRawTransaction", [q5raw]);

    expect(await result(node.url, "txpool_status", [])).toEqual({ pending: "0x2", queued: "0x1" });
    expect((await result(node.url, "azora_status", [])).mempool).toEqual({ pending: 2, queued: 1 });

    const content = await result(node.url, "txpool_content", []);
    // geth: keyed by checksummed sender, then by decimal nonce; values are full RPC transactions.
    expect(Object.keys(content.pending)).toEqual([getAddress(a.address)]);
    expect(Object.keys(content.queued)).toEqual([getAddress(b.address)]);
    const mine0: Json = content.pending[getAddress(a.address)];
    expect(Object.keys(mine0)).toEqual(["0", "1"]);
    expect(Object.keys(content.queued[getAddress(b.address)])).toEqual(["5"]);
    const byHash = async (h: string) => result(node.url, "eth_getTransactionByHash", [h]);
    expect(mine0["0"]).toEqual(await byHash(p0));
    expect(mine0["1"]).toEqual(await byHash(p1));
    expect(content.queued[getAddress(b.address)]["5"]).toEqual(await byHash(q5));
    expectTxShape(mine0["1"], false);
    expect(mine0["1"]).toMatchObject({ hash: p1, input: "0x1234", nonce: "0x1", value: "0x2" });

    // Mining takes the pending ones; the gapped one stays queued.
    const block = await mine(node.url);
    expect([...block.transactions].sort()).toEqual([p0, p1].sort());
    expect(await result(node.url, "txpool_status", [])).toEqual({ pending: "0x0", queued: "0x1" });
    const queued = await byHash(q5);
    expectTxShape(queued, false);
    expect(queued.hash).toMatch(HASH);
  });

  it("filling the gap promotes the queued tx; then everything is mined", async () => {
    const b = devWallet(node.url, 1);
    for (let nonce = 0; nonce < 5; nonce++) await send(node.url, b, { to: UNUSED_ADDRESS, value: 1n, nonce });
    expect(await result(node.url, "txpool_status", [])).toEqual({ pending: "0x6", queued: "0x0" });
    expect(await result(node.url, "eth_getTransactionCount", [b.address, "pending"])).toBe("0x6");
    const block = await mine(node.url);
    expect(block.transactions).toHaveLength(6);
    expect(await result(node.url, "txpool_content", [])).toEqual({ pending: {}, queued: {} });
    expect(await result(node.url, "eth_getTransactionCount", [b.address, "latest"])).toBe("0x6");
  });
});
