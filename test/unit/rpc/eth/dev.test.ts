import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  devWallet,
  type Json,
  MANUAL_MINING,
  mine,
  q,
  result,
  rpcError,
  send,
  startInProcessNode,
  type TestNode,
  UNUSED_ADDRESS,
} from "./helpers.js";

describe("dev methods: evm_mine, anvil_mine, hardhat_mine, evm_increaseTime, evm_setNextBlockTimestamp", () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startInProcessNode(MANUAL_MINING);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  const head = async (): Promise<Json> => result(node.url, "eth_getBlockByNumber", ["latest", false]);

  it("evm_mine produces exactly one block with the pooled txs and answers 0x0", async () => {
    const before = await head();
    const hash = await send(node.url, devWallet(node.url, 0), { to: UNUSED_ADDRESS, value: 1n });
    expect(await result(node.url, "evm_mine", [])).toBe("0x0");
    const after = await head();
    expect(after.number).toBe(q(BigInt(before.number) + 1n));
    expect(after.parentHash).toBe(before.hash);
    expect(after.transactions).toEqual([hash]);
    expect(await result(node.url, "evm_mine")).toBe("0x0"); // params omitted
    expect((await head()).transactions).toEqual([]);
  });

  it("evm_mine with a timestamp (JSON number or hex) sets that block's timestamp", async () => {
    const base = BigInt((await head()).timestamp) + 1000n;
    expect(await result(node.url, "evm_mine", [Number(base)])).toBe("0x0");
    expect((await head()).timestamp).toBe(q(base));
    expect(await result(node.url, "evm_mine", [q(base + 10n)])).toBe("0x0");
    expect((await head()).timestamp).toBe(q(base + 10n));
    for (const bad of ["soon", -1, 1.5, true]) {
      expect(await rpcError(node.url, "evm_mine", [bad]), JSON.stringify(bad)).toEqual({
        code: -32602,
        message: "invalid argument 0 (timestamp): expected a non-negative number",
      });
    }
  });

  it("anvil_mine / hardhat_mine mine N blocks (default 1) and answer null", async () => {
    for (const method of ["anvil_mine", "hardhat_mine"]) {
      const start = BigInt((await head()).number);
      expect(await result(node.url, method, ["0x5"])).toBeNull();
      expect((await head()).number).toBe(q(start + 5n));
      expect(await result(node.url, method, [])).toBeNull();
      expect((await head()).number).toBe(q(start + 6n));
      // Consecutive, linked blocks.
      const b = await result(node.url, "eth_getBlockByNumber", [q(start + 6n), false]);
      expect(b.parentHash).toBe((await result(node.url, "eth_getBlockByNumber", [q(start + 5n), false])).hash);
      expect(await rpcError(node.url, method, ["0x0"])).toEqual({
        code: -32602,
        message: "invalid argument 0 (blocks): 1 to 10000",
      });
      expect(await rpcError(node.url, method, ["0x2711"])).toMatchObject({ code: -32602 });
      expect(await rpcError(node.url, method, ["5"])).toEqual({
        code: -32602,
        message: "invalid argument 0 (blocks): expected a non-negative number",
      });
    }
  });

  it("evm_setNextBlockTimestamp fixes the next block's timestamp once", async () => {
    const target = BigInt((await head()).timestamp) + 100_000n;
    expect(await result(node.url, "evm_setNextBlockTimestamp", [Number(target)])).toBeNull();
    const b = await mine(node.url);
    expect(b.timestamp).toBe(q(target));
    // Once only: the following block is back on the clock, which continues from the set time
    // (Hardhat/Anvil): an hour later is an hour after the target, not stuck at it.
    expect(BigInt(await result(node.url, "evm_increaseTime", [3600]))).toBeGreaterThanOrEqual(100_000n + 3600n - 5n);
    const next = await mine(node.url);
    expect(BigInt(next.timestamp)).toBeGreaterThanOrEqual(target + 3600n);
    const later = BigInt(next.timestamp) + 5n;
    expect(await result(node.url, "evm_setNextBlockTimestamp", [q(later)])).toBeNull();
    expect((await mine(node.url)).timestamp).toBe(q(later));
    expect(await rpcError(node.url, "evm_setNextBlockTimestamp", ["tomorrow"])).toEqual({
      code: -32602,
      message: "invalid argument 0 (timestamp): expected a non-negative number",
    });
    expect(await rpcError(node.url, "evm_setNextBlockTimestamp", [])).toEqual({
      code: -32602,
      message: "missing value for required argument 0",
    });
  });

  it("evm_increaseTime shifts later block timestamps and answers the total offset", async () => {
    const before = await mine(node.url);
    const total = BigInt(await result(node.url, "evm_increaseTime", [3600]));
    expect(total).toBeGreaterThanOrEqual(3600n);
    expect(BigInt(await result(node.url, "evm_increaseTime", ["0xe10"]))).toBe(total + 3600n);
    const after = await mine(node.url);
    expect(BigInt(after.timestamp)).toBeGreaterThanOrEqual(BigInt(before.timestamp) + 7200n);
    for (const bad of [-1, "an hour", null]) {
      expect(await rpcError(node.url, "evm_increaseTime", [bad]), JSON.stringify(bad)).toMatchObject({ code: -32602 });
    }
  });
});
