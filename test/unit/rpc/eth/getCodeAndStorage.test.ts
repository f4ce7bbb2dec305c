import { AbiCoder, Contract, keccak256 } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadArtifact } from "../../../../contracts/artifacts.js";
import {
  type Deployed,
  deploy,
  devWallet,
  q,
  result,
  rpcError,
  startInProcessNode,
  type TestNode,
  UNKNOWN_HASH,
  UNUSED_ADDRESS,
  word,
  ZERO_HASH,
} from "./helpers.js";

describe("eth_getCode and eth_getStorageAt", () => {
  let node: TestNode;
  let probe: Deployed;
  let setBlock: number;

  beforeAll(async () => {
    node = await startInProcessNode();
    const w = devWallet(node.url, 0);
    probe = await deploy(w, "Probe");
    const c = new Contract(probe.address, probe.abi, w);
    setBlock = (await (await c.set(42n, word(1))).wait()).blockNumber;
    await (await c.burnGas(3n)).wait();
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  describe("eth_getCode", () => {
    it("is the deployed runtime bytecode, 0x before the deployment and for accounts without code", async () => {
      const code = await result(node.url, "eth_getCode", [probe.address, "latest"]);
      expect(code).toBe(loadArtifact("Probe").deployedBytecode.toLowerCase());
      expect(await result(node.url, "eth_getCode", [probe.address, q(probe.blockNumber)])).toBe(code);
      expect(await result(node.url, "eth_getCode", [probe.address])).toBe(code);
      expect(await result(node.url, "eth_getCode", [probe.address, q(probe.blockNumber - 1)])).toBe("0x");
      expect(await result(node.url, "eth_getCode", [UNUSED_ADDRESS, "latest"])).toBe("0x");
      const eoa = devWallet(node.url, 0).address;
      expect(await result(node.url, "eth_getCode", [eoa, "latest"])).toBe("0x");
    });

    it("errors: unknown block → -32000, wrong types → -32602", async () => {
      expect(await rpcError(node.url, "eth_getCode", [probe.address, "0xfffffff"])).toEqual({
        code: -32000,
        message: "header not found",
      });
      expect(await rpcError(node.url, "eth_getCode", [probe.address, { blockHash: UNKNOWN_HASH }])).toEqual({
        code: -32000,
        message: "header for hash not found",
      });
      expect(await rpcError(node.url, "eth_getCode", [null, "latest"])).toEqual({
        code: -32602,
        message: "missing value for required argument 0",
      });
      expect(await rpcError(node.url, "eth_getCode", [`${probe.address}00`, "latest"])).toEqual({
        code: -32602,
        message: "invalid argument 0 (address): hex string has length 42, want 40 for common.Address",
      });
    });
  });

  describe("eth_getStorageAt", () => {
    it("answers 32-byte words: declared slots, mapping slots, unset slots", async () => {
      expect(await result(node.url, "eth_getStorageAt", [probe.address, "0x0", "latest"])).toBe(word(42));
      expect(await result(node.url, "eth_getStorageAt", [probe.address, "0x1", "latest"])).toBe(word(1)); // burnRound
      // burned[i] lives at keccak256(i . 2)
      for (let i = 0; i < 4; i++) {
        const slot = keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [i, 2]));
        const v = await result(node.url, "eth_getStorageAt", [probe.address, slot, "latest"]);
        expect(v, `burned[${i}]`).toBe(i < 3 ? word(1) : ZERO_HASH);
      }
      expect(await result(node.url, "eth_getStorageAt", [probe.address, "0x5", "latest"])).toBe(ZERO_HASH);
      expect(await result(node.url, "eth_getStorageAt", [UNUSED_ADDRESS, "0x0", "latest"])).toBe(ZERO_HASH);
    });

    it("reads the state of the requested block", async () => {
      expect(await result(node.url, "eth_getStorageAt", [probe.address, "0x0", q(setBlock)])).toBe(word(42));
      expect(await result(node.url, "eth_getStorageAt", [probe.address, "0x0", q(setBlock - 1)])).toBe(ZERO_HASH);
      const block = await result(node.url, "eth_getBlockByNumber", [q(setBlock), false]);
      expect(await result(node.url, "eth_getStorageAt", [probe.address, "0x0", { blockHash: block.hash }])).toBe(
        word(42),
      );
      expect(await result(node.url, "eth_getStorageAt", [probe.address, "0x0"])).toBe(word(42));
    });

    it("accepts the slot as geth does: a quantity, a 32-byte hash, or short/odd/zero-padded hex", async () => {
      const want = word(42);
      for (const slot of ["0x0", ZERO_HASH, "0x00", "0x000", "0X0"]) {
        expect(await result(node.url, "eth_getStorageAt", [probe.address, slot, "latest"]), slot).toBe(want);
      }
      expect(await result(node.url, "eth_getStorageAt", [probe.address, word(1), "latest"])).toBe(word(1));
      expect(await result(node.url, "eth_getStorageAt", [probe.address, "0x01", "latest"])).toBe(word(1));
    });

    it("errors: unknown block → -32000; a bad slot → -32602 naming it", async () => {
      expect(await rpcError(node.url, "eth_getStorageAt", [probe.address, "0x0", "0xfffffff"])).toEqual({
        code: -32000,
        message: "header not found",
      });
      expect(await rpcError(node.url, "eth_getStorageAt", [probe.address, `0x${"00".repeat(33)}`, "latest"])).toEqual({
        code: -32602,
        message: "invalid argument 1 (slot): hex string too long, want at most 32 bytes",
      });
      expect(await rpcError(node.url, "eth_getStorageAt", [probe.address, "0xzz", "latest"])).toEqual({
        code: -32602,
        message: "invalid argument 1 (slot): hex string invalid",
      });
      expect(await rpcError(node.url, "eth_getStorageAt", [probe.address, 0, "latest"])).toEqual({
        code: -32602,
        message: "invalid argument 1 (slot): json: cannot unmarshal number into Go value of type string",
      });
      expect(await rpcError(node.url, "eth_getStorageAt", [probe.address])).toEqual({
        code: -32602,
        message: "missing value for required argument 1",
      });
      expect(await rpcError(node.url, "eth_getStorageAt", [probe.address, "0x0", "latest", "0x0"])).toEqual({
        code: -32602,
        message: "too many arguments, want at most 3",
      });
    });
  });
});
