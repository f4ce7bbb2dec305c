import { Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deploy,
  devWallet,
  MANUAL_MINING,
  mine,
  q,
  result,
  rpcError,
  send,
  signTx,
  startInProcessNode,
  type TestNode,
  UNKNOWN_HASH,
  UNUSED_ADDRESS,
} from "./helpers.js";

describe("eth_getTransactionCount (manual mining: txs wait in the pool until evm_mine)", () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startInProcessNode(MANUAL_MINING);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  const count = (address: string, block?: unknown) =>
    result(node.url, "eth_getTransactionCount", block === undefined ? [address] : [address, block]);

  it("is 0x0 for an unknown account at every tag", async () => {
    for (const tag of ["latest", "pending", "earliest", "safe", "finalized"]) {
      expect(await count(UNUSED_ADDRESS, tag)).toBe("0x0");
    }
    expect(await count(UNUSED_ADDRESS)).toBe("0x0");
  });

  it("pending counts pooled executable txs; latest only mined ones", async () => {
    const w = devWallet(node.url, 0);
    const a = w.address.toLowerCase();
    expect(await count(a, "latest")).toBe("0x0");
    await send(node.url, w, { to: UNUSED_ADDRESS, value: 1n });
    await send(node.url, w, { to: UNUSED_ADDRESS, value: 2n });
    expect(await count(a, "pending")).toBe("0x2");
    expect(await count(a, "latest")).toBe("0x0");
    expect(await count(a)).toBe("0x0");

    const block = await mine(node.url);
    expect(block.transactions).toHaveLength(2);
    expect(await count(a, "latest")).toBe("0x2");
    expect(await count(a, "pending")).toBe("0x2");
    expect(await count(a, block.number)).toBe("0x2");
    expect(await count(a, { blockHash: block.hash })).toBe("0x2");
    expect(await count(a, q(BigInt(block.number) - 1n))).toBe("0x0");
  });

  it("a nonce-gapped (queued) tx does not raise the pending count until the gap is filled", async () => {
    const w = devWallet(node.url, 1);
    const a = w.address.toLowerCase();
    const raw = await signTx(w, { to: UNUSED_ADDRESS, value: 1n, nonce: 1 });
    await result(node.url, "eth_sendRawTransaction", [raw]);
    expect(await count(a, "pending")).toBe("0x0");
    await send(node.url, w, { to: UNUSED_ADDRESS, value: 1n, nonce: 0 });
    expect(await count(a, "pending")).toBe("0x2");
    await mine(node.url);
    expect(await count(a, "latest")).toBe("0x2");
  });

  it("a contract's nonce counts its creations (EIP-161: starts at 1)", async () => {
    const w = devWallet(node.url, 2);
    const probe = await deploy(w, "Probe", [], { manualMining: true });
    expect(await count(probe.address, "latest")).toBe("0x1");
    expect(await count(probe.address, q(probe.blockNumber - 1))).toBe("0x0");
  });

  it("errors: unknown block → -32000, wrong types → -32602", async () => {
    const a = Wallet.createRandom().address;
    expect(await rpcError(node.url, "eth_getTransactionCount", [a, "0xffffff"])).toEqual({
      code: -32000,
      message: "header not found",
    });
    expect(await rpcError(node.url, "eth_getTransactionCount", [a, UNKNOWN_HASH])).toEqual({
      code: -32000,
      message: "header for hash not found",
    });
    expect(await rpcError(node.url, "eth_getTransactionCount", [])).toEqual({
      code: -32602,
      message: "missing value for required argument 0",
    });
    expect(await rpcError(node.url, "eth_getTransactionCount", [a, true])).toEqual({
      code: -32602,
      message:
        "invalid argument 1 (block): json: cannot unmarshal non-string into Go value of type rpc.BlockNumberOrHash",
    });
    expect(await rpcError(node.url, "eth_getTransactionCount", [a, "latest", {}])).toEqual({
      code: -32602,
      message: "too many arguments, want at most 2",
    });
  });
});
