import { concat, Interface } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Deployed,
  deploy,
  devWallet,
  initCodeFor,
  type Json,
  QUANTITY,
  q,
  result,
  rpcError,
  startInProcessNode,
  type TestNode,
  UNUSED_ADDRESS,
  waitReceipt,
  word,
} from "./helpers.js";

/**
 * Runtime code that STATICCALLs `target.value()` (Probe) and returns the word:
 * mstore(0, selector); staticcall(gas, target, 28, 4, 0, 32); return(0, 32).
 */
function readerRuntime(target: string, selector: string): string {
  return concat([
    "0x63",
    selector, // PUSH4 selector
    "0x5f52", // PUSH0 MSTORE
    "0x60205f", // PUSH1 32 (retSize) PUSH0 (retOffset)
    "0x6004601c", // PUSH1 4 (argsSize) PUSH1 28 (argsOffset)
    "0x73",
    target, // PUSH20 target
    "0x5afa50", // GAS STATICCALL POP
    "0x60205ff3", // PUSH1 32 PUSH0 RETURN
  ]);
}

describe("eth_createAccessList", () => {
  let node: TestNode;
  let probe: Deployed;
  let nft: Deployed;
  let receiver: Deployed;
  let reader: string;
  let from: string;

  beforeAll(async () => {
    node = await startInProcessNode();
    const w = devWallet(node.url, 0);
    from = w.address.toLowerCase();
    probe = await deploy(w, "Probe");
    nft = await deploy(w, "TestNFT");
    receiver = await deploy(w, "Receiver", [true]);
    const iface = new Interface(probe.abi);
    const runtime = readerRuntime(probe.address, iface.getFunction("value")!.selector);
    const tx = await w.sendTransaction({ data: initCodeFor(runtime) });
    reader = (await waitReceipt(node.url, tx.hash)).contractAddress;
    expect(await result(node.url, "eth_getCode", [reader, "latest"])).toBe(runtime);
    await (await w.sendTransaction({ to: probe.address, data: iface.encodeFunctionData("set", [5n, word(0)]) })).wait();
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("lists the contracts and slots a call touches (from, to and precompiles only for their slots)", async () => {
    const r = await result(node.url, "eth_createAccessList", [{ from, to: reader }, "latest"]);
    expect(Object.keys(r).sort()).toEqual(["accessList", "gasUsed"]);
    expect(r.accessList).toEqual([{ address: probe.address, storageKeys: [word(0)] }]);
    expect(r.gasUsed).toMatch(QUANTITY);
    // The call itself returns Probe.value().
    expect(await result(node.url, "eth_call", [{ from, to: reader }, "latest"])).toBe(word(5));

    // The called contract is left out as an address, but the slots it reads or writes are listed
    // (geth's AccessListTracer); before, a call that reads and writes storage got an empty list.
    const own = await result(node.url, "eth_createAccessList", [
      { from, to: probe.address, data: new Interface(probe.abi).encodeFunctionData("value") },
    ]);
    expect(own.accessList).toEqual([{ address: probe.address, storageKeys: [word(0)] }]);
    const write = await result(node.url, "eth_createAccessList", [
      { from, to: probe.address, data: new Interface(probe.abi).encodeFunctionData("set", [7n, word(1)]) },
    ]);
    expect(write.accessList).toEqual([{ address: probe.address, storageKeys: [word(0)] }]);
    const transfer = await result(node.url, "eth_createAccessList", [{ from, to: UNUSED_ADDRESS, value: "0x1" }]);
    expect(transfer).toEqual({ accessList: [], gasUsed: "0x5208" });
  });

  it("gasUsed is what the transaction uses when sent WITH the returned list", async () => {
    const w = devWallet(node.url, 1);
    for (const req of [
      { to: reader, data: "0x" },
      { to: nft.address, data: new Interface(nft.abi).encodeFunctionData("mint", [receiver.address]) },
    ]) {
      const sender = req.to === nft.address ? devWallet(node.url, 0) : w;
      const call = { from: sender.address.toLowerCase(), ...req };
      const r = await result(node.url, "eth_createAccessList", [call, "latest"]);
      const tx = await sender.sendTransaction({
        ...req,
        accessList: r.accessList,
        gasLimit: BigInt(r.gasUsed) + 10_000n,
      });
      const receipt = await waitReceipt(node.url, tx.hash);
      expect(receipt.status).toBe("0x1");
      expect(receipt.gasUsed, JSON.stringify(r)).toBe(r.gasUsed);
    }
  });

  it("safeMint into a receiver contract lists the receiver", async () => {
    const owner = devWallet(node.url, 0);
    const data = new Interface(nft.abi).encodeFunctionData("safeMint", [receiver.address, "0x"]);
    const r = await result(node.url, "eth_createAccessList", [{ from: owner.address, to: nft.address, data }]);
    // The receiver (an address the call reaches), and the NFT contract's own slots.
    expect(r.accessList.map((e: Json) => e.address).sort()).toEqual([nft.address, receiver.address].sort());
    expect(r.accessList.find((e: Json) => e.address === nft.address).storageKeys.length).toBeGreaterThan(0);
    const tx = await owner.sendTransaction({ to: nft.address, data, accessList: r.accessList });
    expect((await waitReceipt(node.url, tx.hash)).gasUsed).toBe(r.gasUsed);
  });

  it("a reverting call reports `error` beside the list", async () => {
    const data = new Interface(probe.abi).encodeFunctionData("revertWithReason", ["x"]);
    const r = await result(node.url, "eth_createAccessList", [{ from, to: probe.address, data }]);
    // The revert rolls back the counter it bumped, but its slot was still read and written.
    expect(r).toMatchObject({ error: "execution reverted", gasUsed: expect.stringMatching(QUANTITY) });
    expect(r.accessList.map((e: Json) => e.address)).toEqual([probe.address]);
  });

  it("the block parameter: state of that block; unknown → -32000", async () => {
    const before = q(probe.blockNumber - 1);
    const r = await result(node.url, "eth_createAccessList", [{ from, to: reader }, before]);
    expect(r.accessList).toEqual([]); // reader (and probe) had no code yet
    expect(await rpcError(node.url, "eth_createAccessList", [{ from, to: reader }, "0xffffff"])).toEqual({
      code: -32000,
      message: "header not found",
    });
  });

  it("wrong parameter types are -32602 naming the parameter", async () => {
    expect(await rpcError(node.url, "eth_createAccessList", [])).toEqual({
      code: -32602,
      message: "missing value for required argument 0",
    });
    expect(await rpcError(node.url, "eth_createAccessList", [{ to: reader, accessList: {} }])).toEqual({
      code: -32602,
      message:
        "invalid argument 0 (transaction): accessList: json: cannot unmarshal object into Go value of type types.AccessList",
    });
    expect(await rpcError(node.url, "eth_createAccessList", [{ to: reader }, "latest", {}, 1])).toMatchObject({
      code: -32602,
      message: expect.stringMatching(/^too many arguments, want at most/),
    });
  });
});
