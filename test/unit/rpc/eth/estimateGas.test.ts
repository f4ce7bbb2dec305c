import { Interface, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Deployed,
  deploy,
  devWallet,
  QUANTITY,
  q,
  result,
  rpcError,
  startInProcessNode,
  type TestNode,
  UNKNOWN_HASH,
  UNUSED_ADDRESS,
  waitReceipt,
} from "./helpers.js";

const GWEI = 1_000_000_000n;

describe("eth_estimateGas", () => {
  let node: TestNode;
  let probe: Deployed;
  let iface: Interface;
  let from: string;

  const data = (fn: string, args: unknown[] = []) => iface.encodeFunctionData(fn, args);
  const estimate = async (req: object, ...rest: unknown[]) =>
    BigInt(await result(node.url, "eth_estimateGas", [req, ...rest]));

  beforeAll(async () => {
    node = await startInProcessNode();
    const w = devWallet(node.url, 0);
    from = w.address.toLowerCase();
    probe = await deploy(w, "Probe");
    iface = new Interface(probe.abi);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("a plain value transfer is exactly 21000 (0x5208)", async () => {
    expect(await result(node.url, "eth_estimateGas", [{ from, to: UNUSED_ADDRESS, value: "0x1" }])).toBe("0x5208");
    expect(await result(node.url, "eth_estimateGas", [{ from, to: Wallet.createRandom().address }])).toBe("0x5208");
    expect(await result(node.url, "eth_estimateGas", [{ to: UNUSED_ADDRESS }, "latest"])).toBe("0x5208");
    expect(await result(node.url, "eth_estimateGas", [{ from, to: UNUSED_ADDRESS, value: "0x1" }, "earliest"])).toBe(
      "0x5208",
    );
  });

  it("a contract call: enough to succeed, close to what the mined tx uses", async () => {
    const w = devWallet(node.url, 1);
    for (const iterations of [1n, 20n]) {
      const req = { from: w.address.toLowerCase(), to: probe.address, data: data("burnGas", [iterations]) };
      const gas = await estimate(req);
      const tx = await w.sendTransaction({ ...req, gasLimit: gas });
      const r = await waitReceipt(node.url, tx.hash);
      expect(r.status).toBe("0x1");
      expect(BigInt(r.gasUsed)).toBeLessThanOrEqual(gas);
      // geth's search stops within 1.5% of the optimum; refunds and the 63/64 rule add a little.
      expect(Number(gas - BigInt(r.gasUsed)) / Number(r.gasUsed)).toBeLessThan(0.1);
    }
    // Value into a contract's receive(): more than 21000.
    const deposit = await estimate({ from, to: probe.address, value: "0x10" });
    expect(deposit).toBeGreaterThan(21_000n);
  });

  it("deployments and the block parameter", async () => {
    const { loadArtifact } = await import("../../../../contracts/artifacts.js");
    const gas = await estimate({ from, data: loadArtifact("Probe").bytecode });
    expect(gas).toBeGreaterThan(100_000n);
    // Before Probe existed its address had no code: a call to it costs only the calldata.
    const req = { from, to: probe.address, data: data("burnGas", [5n]) };
    // EIP-7623 (Prague) floor: 21000 + 10 per zero byte + 40 per non-zero byte (5 of the 36 here).
    const floor = 21_000n + 40n * 5n + 10n * 31n;
    const early = await estimate(req, q(probe.blockNumber - 1));
    expect(early).toBeGreaterThanOrEqual(floor);
    expect(Number(early - floor) / Number(floor)).toBeLessThan(0.015);
    expect(await estimate(req, "latest")).toBeGreaterThan(early + 20_000n);
    expect(await rpcError(node.url, "eth_estimateGas", [req, "0xffffff"])).toEqual({
      code: -32000,
      message: "header not found",
    });
    expect(await rpcError(node.url, "eth_estimateGas", [req, UNKNOWN_HASH])).toEqual({
      code: -32000,
      message: "header for hash not found",
    });
  });

  it("state overrides apply to the estimate", async () => {
    // Code replaced by `STOP`: the call costs only the intrinsic gas.
    const overrides = { [probe.address]: { code: "0x00" } };
    const req = { from, to: probe.address, data: data("burnGas", [50n]) };
    expect(await estimate(req, "latest", overrides)).toBeLessThan(30_000n);
    expect(await estimate(req, "latest")).toBeGreaterThan(500_000n);
  });

  it("a revert is code 3 with the revert data (reason, custom error)", async () => {
    const reason = await rpcError(node.url, "eth_estimateGas", [
      { from, to: probe.address, data: data("revertWithReason", ["nope"]) },
    ]);
    expect(reason).toEqual({
      code: 3,
      message: "execution reverted: nope",
      data: new Interface(["error Error(string)"]).encodeErrorResult("Error", ["nope"]),
    });
    const custom = await rpcError(node.url, "eth_estimateGas", [
      { from, to: probe.address, data: data("revertWithCustomError", [9n]) },
    ]);
    expect(custom.code).toBe(3);
    expect(custom.message).toBe("execution reverted");
    expect(iface.parseError(custom.data)?.args[1]).toBe(9n);
    const panic = await rpcError(node.url, "eth_estimateGas", [{ to: probe.address, data: data("panicDivide", [0n]) }]);
    expect(panic).toMatchObject({ code: 3, message: "execution reverted: division or modulo by zero" });
  });

  it("out of gas: `gas required exceeds allowance (<cap>)` (-32000), with the RPC cap or the request's gas", async () => {
    // ~4000 fresh storage writes need far more than the 50M RPC gas cap.
    expect(
      await rpcError(node.url, "eth_estimateGas", [{ from, to: probe.address, data: data("burnGas", [4000n]) }]),
    ).toEqual({ code: -32000, message: "gas required exceeds allowance (50000000)" });
    expect(
      await rpcError(node.url, "eth_estimateGas", [
        { from, to: probe.address, data: data("burnGas", [50n]), gas: q(100_000) },
      ]),
    ).toEqual({ code: -32000, message: "gas required exceeds allowance (100000)" });
    // A request gas above the need is just an upper bound; one below a transfer's cost is ignored (geth).
    expect(await result(node.url, "eth_estimateGas", [{ from, to: UNUSED_ADDRESS, gas: q(1_000_000) }])).toBe("0x5208");
    expect(await result(node.url, "eth_estimateGas", [{ from, to: UNUSED_ADDRESS, gas: "0x100" }])).toBe("0x5208");
    expect(
      await result(node.url, "eth_estimateGas", [{ from, to: probe.address, data: data("value"), gas: "0x100" }]),
    ).toMatch(QUANTITY);
  });

  describe("fee fields: the sender's balance bounds the gas (geth's allowance)", () => {
    let poor: string;

    beforeAll(async () => {
      poor = Wallet.createRandom().address;
      const tx = await devWallet(node.url, 2).sendTransaction({ to: poor, value: 10n ** 15n }); // 0.001 ETH
      await tx.wait();
    });

    it("a funded sender with fee fields gets the same estimate", async () => {
      const a = poor.toLowerCase();
      expect(
        await result(node.url, "eth_estimateGas", [
          { from: a, to: UNUSED_ADDRESS, value: "0x1", maxFeePerGas: q(2n * GWEI), maxPriorityFeePerGas: q(GWEI) },
        ]),
      ).toBe("0x5208");
      expect(
        await result(node.url, "eth_estimateGas", [
          { from: a, to: UNUSED_ADDRESS, value: "0x1", gasPrice: q(2n * GWEI) },
        ]),
      ).toBe("0x5208");
      const call = { from: a, to: probe.address, data: data("burnGas", [2n]) };
      expect(await estimate({ ...call, maxFeePerGas: q(2n * GWEI) })).toBe(await estimate(call));
    });

    it("value above the balance: `insufficient funds for transfer`", async () => {
      const e = await rpcError(node.url, "eth_estimateGas", [
        { from: poor, to: UNUSED_ADDRESS, value: q(10n ** 16n), maxFeePerGas: q(2n * GWEI) },
      ]);
      expect(e).toEqual({ code: -32000, message: "insufficient funds for transfer" });
    });

    it("a fee cap the balance cannot pay for: `gas required exceeds allowance (<balance / feeCap>)`", async () => {
      const feeCap = 10n ** 11n; // 100 gwei: 0.001 ETH buys 10000 gas
      const e = await rpcError(node.url, "eth_estimateGas", [
        { from: poor, to: UNUSED_ADDRESS, value: "0x0", maxFeePerGas: q(feeCap) },
      ]);
      expect(e).toEqual({ code: -32000, message: `gas required exceeds allowance (${10n ** 15n / feeCap})` });
    });

    it("without fee fields an unfunded sender may estimate, but not send value it lacks", async () => {
      const nobody = Wallet.createRandom().address.toLowerCase();
      expect(await estimate({ from: nobody, to: probe.address, data: data("burnGas", [1n]) })).toBeGreaterThan(21_000n);
      const e = await rpcError(node.url, "eth_estimateGas", [{ from: nobody, to: UNUSED_ADDRESS, value: "0x1" }]);
      expect(e.code).toBe(-32000);
      expect(e.message).toMatch(/^insufficient funds for gas \* price \+ value/);
    });
  });

  it("wrong parameter types are -32602 naming the parameter", async () => {
    const cases: [unknown[], string][] = [
      [[], "missing value for required argument 0"],
      [[null], "missing value for required argument 0"],
      [[{ from: "0xabc" }], "invalid argument 0 (transaction): from: hex string of odd length"],
      [[{ to: UNUSED_ADDRESS, nonce: "0x" }], 'invalid argument 0 (transaction): nonce: hex string "0x"'],
      [[{ to: UNUSED_ADDRESS }, "pending", {}, "x"], "too many arguments, want at most 3"],
      [
        [{ to: UNUSED_ADDRESS }, "latest", []],
        "invalid argument 2 (stateOverrides): json: cannot unmarshal array into Go value of type override.StateOverride",
      ],
    ];
    for (const [params, message] of cases) {
      expect(await rpcError(node.url, "eth_estimateGas", params), JSON.stringify(params)).toEqual({
        code: -32602,
        message,
      });
    }
  });
});
