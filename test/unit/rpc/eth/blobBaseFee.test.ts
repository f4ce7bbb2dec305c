import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { result, rpcError, startInProcessNode, type TestNode, UNUSED_ADDRESS, word } from "./helpers.js";

describe("eth_blobBaseFee and the methods Azora does not have", () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startInProcessNode();
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("eth_blobBaseFee is what BLOBBASEFEE reads in a contract: the minimum, on a chain without blobs", async () => {
    expect(await result(node.url, "eth_blobBaseFee", [])).toBe("0x1");
    // BLOBBASEFEE PUSH0 MSTORE PUSH1 32 PUSH0 RETURN, run as the code of an unused address.
    const code = "0x4a5f5260205ff3";
    const seen = await result(node.url, "eth_call", [{ to: UNUSED_ADDRESS }, "latest", { [UNUSED_ADDRESS]: { code } }]);
    expect(seen).toBe(word(1));
  });

  it("methods that make no sense here are a clear -32601", async () => {
    for (const m of ["eth_baseFee", "eth_getBlobSidecars"]) {
      const e = await rpcError(node.url, m, []);
      expect(e.code, m).toBe(-32601);
      expect(e.message, m).toContain(m);
    }
  });
});
