import { concat, encodeRlp, Interface, keccak256, Transaction, toBeHex, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHAIN_ID,
  type Deployed,
  deploy,
  devWallet,
  expectTxShape,
  MANUAL_MINING,
  mine,
  q,
  result,
  rpc,
  rpcError,
  signTx,
  startInProcessNode,
  type TestNode,
  UNUSED_ADDRESS,
} from "./helpers.js";

const GWEI = 1_000_000_000n;

describe("eth_sendRawTransaction (manual mining: txs stay pooled until evm_mine)", () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startInProcessNode(MANUAL_MINING);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  /** A fully specified type-2 tx (nothing asked from the node). */
  const tx2 = (nonce: number, extra: object = {}) => ({
    type: 2,
    chainId: CHAIN_ID,
    nonce,
    to: UNUSED_ADDRESS,
    value: 1n,
    gasLimit: 21_000n,
    maxFeePerGas: 3n * GWEI,
    maxPriorityFeePerGas: GWEI,
    ...extra,
  });

  const legacyTx = (nonce: number, extra: object = {}) => ({
    type: 0,
    chainId: CHAIN_ID,
    nonce,
    to: UNUSED_ADDRESS,
    value: 1n,
    gasLimit: 21_000n,
    gasPrice: 3n * GWEI,
    ...extra,
  });

  const rejected = async (raw: string) => rpcError(node.url, "eth_sendRawTransaction", [raw]);

  it("accepts a signed transaction: returns keccak256(raw), the tx is pooled, then mined", async () => {
    const w = devWallet(node.url, 0);
    const raw = await w.signTransaction(tx2(0));
    const hash = await result(node.url, "eth_sendRawTransaction", [raw]);
    expect(hash).toBe(keccak256(raw));
    const pooled = await result(node.url, "eth_getTransactionByHash", [hash]);
    expectTxShape(pooled, false);
    const block = await mine(node.url);
    expect(block.transactions).toEqual([hash]);
    expect((await result(node.url, "eth_getTransactionReceipt", [hash])).status).toBe("0x1");
  });

  it("nonce too low", async () => {
    const w = devWallet(node.url, 1);
    await result(node.url, "eth_sendRawTransaction", [await w.signTransaction(tx2(0))]);
    await mine(node.url);
    expect(await rejected(await w.signTransaction(tx2(0, { value: 2n })))).toEqual({
      code: -32000,
      message: "nonce too low",
    });
  });

  it("already known: the same bytes again while pooled (and after mining: nonce too low)", async () => {
    const raw = await devWallet(node.url, 2).signTransaction(tx2(0));
    await result(node.url, "eth_sendRawTransaction", [raw]);
    expect(await rejected(raw)).toEqual({ code: -32000, message: "already known" });
    await mine(node.url);
    expect(await rejected(raw)).toEqual({ code: -32000, message: "nonce too low" });
  });

  it("replacement transaction underpriced; a 10% bump on both fees replaces", async () => {
    const w = devWallet(node.url, 3);
    const first = await result(node.url, "eth_sendRawTransaction", [await w.signTransaction(tx2(0))]);
    expect(await rejected(await w.signTransaction(tx2(0, { value: 2n })))).toEqual({
      code: -32000,
      message: "replacement transaction underpriced",
    });
    // +5%: still underpriced
    const small = tx2(0, {
      value: 3n,
      maxFeePerGas: (3n * GWEI * 105n) / 100n,
      maxPriorityFeePerGas: (GWEI * 105n) / 100n,
    });
    expect(await rejected(await w.signTransaction(small))).toEqual({
      code: -32000,
      message: "replacement transaction underpriced",
    });
    const bumped = tx2(0, {
      value: 4n,
      maxFeePerGas: (3n * GWEI * 110n) / 100n,
      maxPriorityFeePerGas: (GWEI * 110n) / 100n,
    });
    const second = await result(node.url, "eth_sendRawTransaction", [await w.signTransaction(bumped)]);
    expect(await result(node.url, "eth_getTransactionByHash", [first])).toBeNull();
    expect((await mine(node.url)).transactions).toEqual([second]);
  });

  it("insufficient funds for gas * price + value", async () => {
    const poor = Wallet.createRandom();
    expect(await rejected(await poor.signTransaction(tx2(0)))).toEqual({
      code: -32000,
      message: "insufficient funds for gas * price + value",
    });
    const rich = devWallet(node.url, 4);
    expect(await rejected(await rich.signTransaction(tx2(0, { value: 10n ** 25n })))).toEqual({
      code: -32000,
      message: "insufficient funds for gas * price + value",
    });
  });

  it("invalid chain id", async () => {
    const w = devWallet(node.url, 5);
    expect(await rejected(await w.signTransaction(tx2(0, { chainId: 1n })))).toEqual({
      code: -32000,
      message: "invalid chain id",
    });
    expect(await rejected(await w.signTransaction(legacyTx(0, { chainId: 1n })))).toEqual({
      code: -32000,
      message: "invalid chain id",
    });
  });

  it("intrinsic gas too low", async () => {
    const w = devWallet(node.url, 5);
    expect(await rejected(await w.signTransaction(tx2(0, { gasLimit: 20_999n })))).toEqual({
      code: -32000,
      message: "intrinsic gas too low",
    });
    // Calldata costs gas too.
    expect(await rejected(await w.signTransaction(tx2(0, { data: "0xffffffff" })))).toEqual({
      code: -32000,
      message: "intrinsic gas too low",
    });
  });

  it("exceeds block gas limit", async () => {
    const w = devWallet(node.url, 5);
    expect(await rejected(await w.signTransaction(tx2(0, { gasLimit: 60_000_001n })))).toEqual({
      code: -32000,
      message: "exceeds block gas limit",
    });
  });

  it("oversized data (> 128 KiB)", async () => {
    const w = devWallet(node.url, 5);
    const data = `0x${"ab".repeat(128 * 1024)}`;
    expect(await rejected(await w.signTransaction(tx2(0, { data, gasLimit: 10_000_000n })))).toEqual({
      code: -32000,
      message: "oversized data",
    });
  });

  it("transaction underpriced: a fee cap below the chain's minimum base fee", async () => {
    const w = devWallet(node.url, 5);
    const cheap = tx2(0, { maxFeePerGas: GWEI / 2n, maxPriorityFeePerGas: 0n });
    expect(await rejected(await w.signTransaction(cheap))).toEqual({
      code: -32000,
      message: "transaction underpriced",
    });
    const legacy = legacyTx(0, { gasPrice: GWEI - 1n });
    expect(await rejected(await w.signTransaction(legacy))).toEqual({
      code: -32000,
      message: "transaction underpriced",
    });
  });

  it("other refusals: tip above fee cap, unprotected legacy, unsupported type, undecodable bytes", async () => {
    const w = devWallet(node.url, 5);
    // ethers refuses to sign a tip above the fee cap: build the EIP-1559 envelope by hand.
    const fields = [q(CHAIN_ID), "0x", q(3n * GWEI), q(2n * GWEI), q(21_000n), UNUSED_ADDRESS, "0x01", "0x", []].map(
      (f) => (f === "0x0" ? "0x" : f),
    );
    const sig = w.signingKey.sign(keccak256(concat(["0x02", encodeRlp(fields)])));
    const badTip = concat([
      "0x02",
      encodeRlp([...fields, sig.yParity === 0 ? "0x" : "0x01", toBeHex(sig.r), toBeHex(sig.s)]),
    ]);
    expect(await rejected(badTip)).toEqual({
      code: -32000,
      message: "max priority fee per gas higher than max fee per gas",
    });
    // Legacy without EIP-155 (v = 27/28).
    const unsigned = Transaction.from({
      type: 0,
      nonce: 0,
      gasLimit: 21_000n,
      gasPrice: 3n * GWEI,
      to: UNUSED_ADDRESS,
    });
    unsigned.signature = w.signingKey.sign(unsigned.unsignedHash);
    expect(unsigned.signature.legacyChainId).toBeNull();
    expect(await rejected(unsigned.serialized)).toEqual({
      code: -32000,
      message: "only replay-protected (EIP-155) transactions allowed over RPC",
    });
    expect(await rejected("0x03c0")).toEqual({ code: -32000, message: "transaction type not supported" });
    const garbage = await rejected("0xc0");
    expect(garbage.code).toBe(-32000);
    expect(garbage.message).toMatch(/^rlp: /);
    expect((await rejected("0x")).code).toBe(-32000);
  });

  it("wrong parameter types are -32602", async () => {
    const cases: [unknown[], string][] = [
      [[], "missing value for required argument 0"],
      [["f86c"], "invalid argument 0 (transaction): hex string without 0x prefix"],
      [["0xf86"], "invalid argument 0 (transaction): hex string of odd length"],
      [[{}], "invalid argument 0 (transaction): json: cannot unmarshal non-string into Go value of type hexutil.Bytes"],
      [["0x00", "0x00"], "too many arguments, want at most 1"],
    ];
    for (const [params, message] of cases) {
      expect(await rpcError(node.url, "eth_sendRawTransaction", params), JSON.stringify(params)).toEqual({
        code: -32602,
        message,
      });
    }
  });

  describe("simulations vs. admission", () => {
    let probe: Deployed;

    beforeAll(async () => {
      probe = await deploy(devWallet(node.url, 6), "Probe", [], { manualMining: true });
    });

    // Admission reads the head StateView that simulations run on; reads wait for simulations to
    // revert, so a simulated nonce bump or state override is never seen by admission.
    it("a tx sent while its sender is being simulated is admitted", async () => {
      const data = new Interface(probe.abi).encodeFunctionData("burnGas", [40n]);
      for (let i = 7; i <= 9; i++) {
        const w = devWallet(node.url, i);
        const from = w.address.toLowerCase();
        const raw = await signTx(w, { to: UNUSED_ADDRESS, value: 1n, nonce: 0, gasLimit: 21_000n });
        const simulations = Array.from({ length: 4 }, (_, j) =>
          j % 2 === 0
            ? result(node.url, "eth_estimateGas", [{ from, to: probe.address, data }, "latest"])
            : result(node.url, "eth_call", [{ from, to: probe.address, data }, "latest", { [from]: { nonce: "0x9" } }]),
        );
        // The simulations queue on the head view; the tx arrives while they run.
        await result(node.url, "eth_chainId", []);
        const sent = await rpc(node.url, "eth_sendRawTransaction", [raw]);
        await Promise.all(simulations);
        expect(sent.error).toBeUndefined();
        expect(sent.result).toBe(keccak256(raw));
      }
      await mine(node.url);
    });
  });
});
