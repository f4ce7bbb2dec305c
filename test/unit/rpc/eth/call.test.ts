import { Contract, Interface, isCallException, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadArtifact } from "../../../../contracts/artifacts.js";
import {
  CHAIN_ID,
  type Deployed,
  deploy,
  devWallet,
  FEE_RECIPIENT,
  q,
  result,
  rpcError,
  startInProcessNode,
  type TestNode,
  UNKNOWN_HASH,
  UNUSED_ADDRESS,
  word,
} from "./helpers.js";

/** Runtime code `SELFBALANCE PUSH0 MSTORE PUSH1 32 PUSH0 RETURN`: returns its own balance. */
const SELF_BALANCE_CODE = "0x475f5260205ff3";
/** Runtime code `PUSH0 SLOAD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN`: returns storage slot 0. */
const SLOT0_CODE = "0x5f545f5260205ff3";

describe("eth_call", () => {
  let node: TestNode;
  let probe: Deployed;
  let iface: Interface;
  let setBlock: number;
  let caller: string;

  const data = (fn: string, args: unknown[] = []) => iface.encodeFunctionData(fn, args);

  beforeAll(async () => {
    node = await startInProcessNode();
    const w = devWallet(node.url, 0);
    caller = w.address.toLowerCase();
    probe = await deploy(w, "Probe");
    iface = new Interface(probe.abi);
    const c = new Contract(probe.address, probe.abi, w);
    setBlock = (await (await c.set(42n, word(1))).wait()).blockNumber;
    await (await c.burnGas(1n)).wait();
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("returns the ABI-encoded result as 0x data, at the requested block", async () => {
    const call = { to: probe.address, data: data("value") };
    expect(await result(node.url, "eth_call", [call, "latest"])).toBe(word(42));
    expect(await result(node.url, "eth_call", [call])).toBe(word(42));
    expect(await result(node.url, "eth_call", [call, q(setBlock)])).toBe(word(42));
    expect(await result(node.url, "eth_call", [call, q(setBlock - 1)])).toBe(word(0));
    expect(await result(node.url, "eth_call", [call, { blockNumber: q(setBlock - 1) }])).toBe(word(0));
    // Before the deployment the address has no code: an empty return.
    expect(await result(node.url, "eth_call", [call, q(probe.blockNumber - 1)])).toBe("0x");
    // `input` is accepted like `data`; both must agree when both are set.
    expect(await result(node.url, "eth_call", [{ to: probe.address, input: data("value") }, "latest"])).toBe(word(42));
    expect(await rpcError(node.url, "eth_call", [{ to: probe.address, input: "0x01", data: "0x02" }])).toEqual({
      code: -32602,
      message: 'invalid argument 0 (transaction): both "data" and "input" are set and not equal',
    });
  });

  it("runs in the context of the requested block (NUMBER, TIMESTAMP, COINBASE, CHAINID, GASLIMIT, BLOCKHASH)", async () => {
    const block = await result(node.url, "eth_getBlockByNumber", [q(setBlock), false]);
    const out = await result(node.url, "eth_call", [{ to: probe.address, data: data("blockInfo") }, q(setBlock)]);
    const [number, timestamp, coinbase, basefee, chainid, gaslimit, parentHash] = iface.decodeFunctionResult(
      "blockInfo",
      out,
    );
    expect(number).toBe(BigInt(setBlock));
    expect(timestamp).toBe(BigInt(block.timestamp));
    expect(coinbase.toLowerCase()).toBe(FEE_RECIPIENT);
    expect(basefee).toBe(0n); // geth: no fee fields in the call → BASEFEE reads 0
    expect(chainid).toBe(CHAIN_ID);
    expect(gaslimit).toBe(BigInt(block.gasLimit));
    expect(parentHash).toBe(block.parentHash);
    // With fee fields, BASEFEE is the block's base fee.
    const withFees = await result(node.url, "eth_call", [
      { from: caller, to: probe.address, data: data("blockInfo"), maxFeePerGas: q(10n ** 10n) },
      q(setBlock),
    ]);
    expect(iface.decodeFunctionResult("blockInfo", withFees)[3]).toBe(BigInt(block.baseFeePerGas));
  });

  it("a call without `to` runs init code and returns the runtime code", async () => {
    const probeArtifact = loadArtifact("Probe");
    expect(await result(node.url, "eth_call", [{ data: probeArtifact.bytecode }, "latest"])).toBe(
      probeArtifact.deployedBytecode.toLowerCase(),
    );
  });

  describe("state overrides", () => {
    it("balance and code of any account", async () => {
      const overrides = { [UNUSED_ADDRESS]: { code: SELF_BALANCE_CODE, balance: "0x1234" } };
      expect(await result(node.url, "eth_call", [{ to: UNUSED_ADDRESS }, "latest", overrides])).toBe(word(0x1234));
      // Overrides are per call: nothing sticks.
      expect(await result(node.url, "eth_getCode", [UNUSED_ADDRESS, "latest"])).toBe("0x");
      expect(await result(node.url, "eth_getBalance", [UNUSED_ADDRESS, "latest"])).toBe("0x0");
      // Replacing a contract's code keeps its storage.
      expect(
        await result(node.url, "eth_call", [
          { to: probe.address },
          "latest",
          { [probe.address]: { code: SLOT0_CODE } },
        ]),
      ).toBe(word(42));
    });

    it("stateDiff patches single slots; state replaces the whole storage", async () => {
      const slot0 = word(0);
      const diff = { [probe.address]: { stateDiff: { [slot0]: word(99) } } };
      expect(await result(node.url, "eth_call", [{ to: probe.address, data: data("value") }, "latest", diff])).toBe(
        word(99),
      );
      // burnRound (slot 1) survives a stateDiff but not a full `state` replacement.
      expect(await result(node.url, "eth_call", [{ to: probe.address, data: data("burnRound") }, "latest", diff])).toBe(
        word(1),
      );
      const full = { [probe.address]: { state: { [slot0]: word(99) } } };
      expect(await result(node.url, "eth_call", [{ to: probe.address, data: data("burnRound") }, "latest", full])).toBe(
        word(0),
      );
      expect(await result(node.url, "eth_call", [{ to: probe.address, data: data("value") }, "latest", full])).toBe(
        word(99),
      );
      expect(await result(node.url, "eth_getStorageAt", [probe.address, "0x0", "latest"])).toBe(word(42));
    });

    it("a balance override funds a value transfer from an empty account", async () => {
      const poor = Wallet.createRandom().address.toLowerCase();
      const call = { from: poor, to: probe.address, data: data("deposit"), value: "0x64" };
      expect(await result(node.url, "eth_call", [call, "latest", { [poor]: { balance: "0x64" } }])).toBe("0x");
    });

    it("invalid overrides are -32602", async () => {
      const both = { [probe.address]: { state: {}, stateDiff: {} } };
      expect(await rpcError(node.url, "eth_call", [{ to: probe.address }, "latest", both])).toEqual({
        code: -32602,
        message: `invalid argument 2 (stateOverrides): ${probe.address}: has both 'state' and 'stateDiff'`,
      });
      expect(
        await rpcError(node.url, "eth_call", [{ to: probe.address }, "latest", { "0x1234": { balance: "0x1" } }]),
      ).toMatchObject({ code: -32602, message: expect.stringMatching(/^invalid argument 2 \(stateOverrides\): /) });
      expect(
        await rpcError(node.url, "eth_call", [{ to: probe.address }, "latest", { [probe.address]: { balance: 1 } }]),
      ).toMatchObject({ code: -32602, message: expect.stringContaining("balance") });
    });

    it("a simulation never leaks into concurrent state reads", async () => {
      // eth_call runs on the shared state view of its block; reads served meanwhile must not see
      // the override (or the simulated tx's own writes: nonce bump, storage).
      const victim = Wallet.createRandom().address.toLowerCase();
      const overrides = {
        [victim]: { balance: "0x123456", nonce: "0x7" },
        [probe.address]: { stateDiff: { [word(0)]: word(7) } },
      };
      const calls: Promise<unknown>[] = [];
      const reads: Promise<string>[] = [];
      for (let i = 0; i < 6; i++) {
        calls.push(
          result(node.url, "eth_call", [
            { from: victim, to: probe.address, data: data("burnGas", [40n]) },
            "latest",
            overrides,
          ]),
        );
        for (let j = 0; j < 8; j++) {
          reads.push(result(node.url, "eth_getBalance", [victim, "latest"]));
          reads.push(result(node.url, "eth_getTransactionCount", [victim, "latest"]));
          reads.push(result(node.url, "eth_getStorageAt", [probe.address, "0x0", "latest"]));
        }
      }
      await Promise.all(calls);
      const seen = new Set(await Promise.all(reads));
      expect([...seen].sort()).toEqual(["0x0", word(42)].sort());
    });
  });

  describe("reverts: code 3, the revert data in `data`", () => {
    it("Error(string): message `execution reverted: <reason>`", async () => {
      const e = await rpcError(node.url, "eth_call", [{ to: probe.address, data: data("revertWithReason", ["nope"]) }]);
      expect(e).toEqual({
        code: 3,
        message: "execution reverted: nope",
        data: new Interface(["error Error(string)"]).encodeErrorResult("Error", ["nope"]),
      });
    });

    it("custom error: plain `execution reverted`, data decodable with the ABI", async () => {
      const e = await rpcError(node.url, "eth_call", [
        { from: caller, to: probe.address, data: data("revertWithCustomError", [7n]) },
        "latest",
      ]);
      expect(e.code).toBe(3);
      expect(e.message).toBe("execution reverted");
      const decoded = iface.parseError(e.data)!;
      expect(decoded.name).toBe("Unauthorized");
      expect(decoded.args[0].toLowerCase()).toBe(caller);
      expect(decoded.args[1]).toBe(7n);
    });

    it("panics: Panic(uint256) data, geth's wording of the code", async () => {
      const div = await rpcError(node.url, "eth_call", [{ to: probe.address, data: data("panicDivide", [0n]) }]);
      expect(div).toEqual({
        code: 3,
        message: "execution reverted: division or modulo by zero",
        data: `0x4e487b71${word(0x12).slice(2)}`,
      });
      const assertion = await rpcError(node.url, "eth_call", [{ to: probe.address, data: data("assertFail") }]);
      expect(assertion).toEqual({
        code: 3,
        message: "execution reverted: assert(false)",
        data: `0x4e487b71${word(1).slice(2)}`,
      });
      expect(await result(node.url, "eth_call", [{ to: probe.address, data: data("panicDivide", [4n]) }])).toBe(
        word(0),
      );
    });

    it("ethers decodes all three flavours from the wire", async () => {
      const c = new Contract(probe.address, probe.abi, devWallet(node.url, 0));
      const catchOf = async (p: Promise<unknown>) =>
        p.then(
          () => undefined,
          (e: unknown) => e,
        );
      const reason = await catchOf(c.revertWithReason.staticCall("why"));
      expect(isCallException(reason) && reason.reason).toBe("why");
      const custom = await catchOf(c.revertWithCustomError.staticCall(3n));
      expect(isCallException(custom) && custom.revert?.name).toBe("Unauthorized");
      const panic = await catchOf(c.panicDivide.staticCall(0n));
      expect(isCallException(panic) && panic.revert?.name).toBe("Panic");
    });
  });

  describe("other failures: -32000 with geth's message", () => {
    it("out of gas", async () => {
      expect(
        await rpcError(node.url, "eth_call", [{ to: probe.address, data: data("burnGas", [50n]), gas: q(60_000) }]),
      ).toEqual({ code: -32000, message: "out of gas" });
    });

    it("gas below the intrinsic cost", async () => {
      const e = await rpcError(node.url, "eth_call", [{ to: probe.address, gas: "0x100" }]);
      expect(e.code).toBe(-32000);
      expect(e.message).toMatch(/^intrinsic gas too low/);
    });

    it("insufficient funds: value above the balance (with or without fee fields)", async () => {
      const poor = Wallet.createRandom().address.toLowerCase();
      const withFees = await rpcError(node.url, "eth_call", [
        { from: poor, to: UNUSED_ADDRESS, value: "0x1", maxFeePerGas: q(10n ** 10n) },
      ]);
      expect(withFees.code).toBe(-32000);
      expect(withFees.message).toMatch(/^insufficient funds for gas \* price \+ value/);
      // geth checks the value against the balance even when no fee is charged.
      const noFees = await rpcError(node.url, "eth_call", [{ from: poor, to: UNUSED_ADDRESS, value: "0x1" }]);
      expect(noFees.code).toBe(-32000);
      expect(noFees.message).toMatch(/^insufficient funds for gas \* price \+ value/);
      // An unfunded caller without value and without fees is fine (read calls from any address).
      expect(await result(node.url, "eth_call", [{ from: poor, to: probe.address, data: data("value") }])).toBe(
        word(42),
      );
    });

    it("unknown block → header not found", async () => {
      expect(await rpcError(node.url, "eth_call", [{ to: probe.address }, "0xffffff"])).toEqual({
        code: -32000,
        message: "header not found",
      });
      expect(await rpcError(node.url, "eth_call", [{ to: probe.address }, UNKNOWN_HASH])).toEqual({
        code: -32000,
        message: "header for hash not found",
      });
    });
  });

  it("wrong parameter types are -32602 naming the parameter", async () => {
    const cases: [unknown[], string][] = [
      [[], "missing value for required argument 0"],
      [["0x"], "invalid argument 0 (transaction): json: cannot unmarshal string into Go value of type TransactionArgs"],
      [[{ to: "0x12" }], "invalid argument 0 (transaction): to: hex string has length 2, want 40 for common.Address"],
      [
        [{ to: probe.address, gas: 100000 }],
        "invalid argument 0 (transaction): gas: json: cannot unmarshal non-string into Go value of type hexutil.Uint64",
      ],
      [
        [{ to: probe.address, value: "0x01" }],
        "invalid argument 0 (transaction): value: hex number with leading zero digits",
      ],
      [[{ to: probe.address, data: "0x1" }], "invalid argument 0 (transaction): data: hex string of odd length"],
      [[{ to: probe.address }, "latest", {}, 1], "too many arguments, want at most 3"],
      [[{ to: probe.address }, "0x"], 'invalid argument 1 (block): hex string "0x"'],
    ];
    for (const [params, message] of cases) {
      expect(await rpcError(node.url, "eth_call", params), JSON.stringify(params)).toEqual({ code: -32602, message });
    }
  });
});
