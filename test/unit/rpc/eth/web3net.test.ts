import { Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHAIN_ID,
  DEV_KEYS,
  devWallet,
  post,
  QUANTITY,
  q,
  result,
  rpc,
  rpcError,
  startInProcessNode,
  type TestNode,
} from "./helpers.js";

describe("web3_*, net_* and the chain identity methods", () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startInProcessNode();
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("web3_clientVersion names the client", async () => {
    const v = await result(node.url, "web3_clientVersion", []);
    expect(typeof v).toBe("string");
    expect(v).toContain("azora");
    expect(v).toMatch(/^azora\/v\d+\.\d+\.\d+\S*\/[a-z0-9]+-[a-z0-9]+\/node\d+/);
  });

  it("web3_sha3 is keccak256 of the bytes", async () => {
    // keccak256("hello world") and keccak256("")
    expect(await result(node.url, "web3_sha3", ["0x68656c6c6f20776f726c64"])).toBe(
      "0x47173285a8d7341e5e972fc677286384f802f8ef42a5ec5f03bbfa254cb01fad",
    );
    expect(await result(node.url, "web3_sha3", ["0x"])).toBe(
      "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
    );
    expect(await rpcError(node.url, "web3_sha3", ["hello"])).toEqual({
      code: -32602,
      message: "invalid argument 0 (data): hex string without 0x prefix",
    });
    expect(await rpcError(node.url, "web3_sha3", ["0x123"])).toEqual({
      code: -32602,
      message: "invalid argument 0 (data): hex string of odd length",
    });
    expect(await rpcError(node.url, "web3_sha3", [])).toEqual({
      code: -32602,
      message: "missing value for required argument 0",
    });
    expect(await rpcError(node.url, "web3_sha3", ["0x", "0x"])).toEqual({
      code: -32602,
      message: "too many arguments, want at most 1",
    });
  });

  it("net_version is the decimal chain id, net_listening true, net_peerCount a quantity", async () => {
    expect(await result(node.url, "net_version", [])).toBe(CHAIN_ID.toString());
    expect(await result(node.url, "net_listening", [])).toBe(true);
    expect(await result(node.url, "net_peerCount", [])).toBe("0x0");
  });

  it("eth_chainId is the hex chain id, with or without a params member", async () => {
    expect(await result(node.url, "eth_chainId", [])).toBe(q(CHAIN_ID));
    expect(await result(node.url, "eth_chainId")).toBe("0x415a");
    const r = await post(node.url, { jsonrpc: "2.0", id: 7, method: "eth_chainId", params: null });
    expect(r.json).toEqual({ jsonrpc: "2.0", id: 7, result: "0x415a" });
  });

  it("eth_syncing is false, eth_accounts the 10 unlocked dev accounts, eth_mining false, eth_hashrate 0x0", async () => {
    expect(await result(node.url, "eth_syncing", [])).toBe(false);
    // A dev node (a network node answers []: test/e2e/network.test.ts).
    expect(await result(node.url, "eth_accounts", [])).toEqual(DEV_KEYS.map((k) => new Wallet(k).address));
    expect(await result(node.url, "eth_mining", [])).toBe(false);
    expect(await result(node.url, "eth_hashrate", [])).toBe("0x0");
  });

  it("eth_blockNumber is a quantity that follows the chain", async () => {
    const before = await result(node.url, "eth_blockNumber", []);
    expect(before).toMatch(QUANTITY);
    const w = devWallet(node.url, 0);
    const tx = await w.sendTransaction({ to: "0x00000000000000000000000000000000000000b1", value: 1n });
    const receipt = (await tx.wait())!;
    const after = await result(node.url, "eth_blockNumber", []);
    expect(BigInt(after)).toBeGreaterThanOrEqual(BigInt(receipt.blockNumber));
    expect(BigInt(after)).toBeGreaterThan(BigInt(before));
  });

  it("methods without params refuse extra params; named params are refused", async () => {
    for (const m of ["eth_chainId", "eth_blockNumber", "net_version", "web3_clientVersion", "eth_syncing"]) {
      expect(await rpcError(node.url, m, ["0x1"])).toEqual({
        code: -32602,
        message: "too many arguments, want at most 0",
      });
    }
    const r = await post(node.url, { jsonrpc: "2.0", id: 1, method: "web3_sha3", params: { data: "0x" } });
    expect(r.json).toEqual({ jsonrpc: "2.0", id: 1, error: { code: -32602, message: "non-array args" } });
  });

  it("unknown and unregistered methods answer -32601", async () => {
    for (const m of ["eth_foo", "personal_unlockAccount", "eth_submitWork", "eth_getWork"]) {
      expect(await rpcError(node.url, m, [])).toEqual({
        code: -32601,
        message: `the method ${m} does not exist/is not available`,
      });
    }
  });

  it("eth_subscribe over HTTP is refused with geth's message", async () => {
    const r = await rpc(node.url, "eth_subscribe", ["newHeads"]);
    expect(r.error).toEqual({ code: -32601, message: "notifications not supported" });
  });
});
