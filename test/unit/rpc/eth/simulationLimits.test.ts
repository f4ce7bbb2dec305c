import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devWallet, type Json, result, rpc, rpcError, startInProcessNode, type TestNode } from "./helpers.js";

/**
 * Simulations (eth_call, eth_estimateGas, eth_createAccessList) run on worker threads within the
 * node's limits: rpc.gasCap on every path, rpc.evmTimeoutMs per simulation (the worker running an
 * overdue one is replaced), rpc.evmQueue waiting simulations before callers are told the node is busy.
 */

/** JUMPDEST PUSH1 0 JUMP: burns whatever gas it gets. */
const TIGHT_LOOP = "0x5b600056";
const LOOP_AT = "0x00000000000000000000000000000000000100a0";
/** CALLDATACOPY the input, STATICCALL blake2f (0x09) with it. */
const BLAKE_CALLER = "0x366000600037604061010036600060095afa00";
/** blake2f with 40M rounds: one precompile call of ~40M gas, many seconds of CPU. */
const BLAKE_INPUT = `0x${(40_000_000).toString(16).padStart(8, "0")}${"00".repeat(64 + 128 + 16)}01`;
const MAX_UINT64 = "0xffffffffffffffff";

describe("rpc.gasCap applies to every simulation, whatever gas the request names", () => {
  let node: TestNode;
  let loop: string;

  beforeAll(async () => {
    node = await startInProcessNode({ rpc: { gasCap: 1_000_000 } });
    // A deployed tight loop (eth_createAccessList takes no state overrides).
    const n = (TIGHT_LOOP.length / 2 - 1).toString(16).padStart(2, "0");
    const tx = await devWallet(node.url, 0).sendTransaction({
      data: `0x60${n}600c60003960${n}6000f3${TIGHT_LOOP.slice(2)}`,
    });
    loop = (await tx.wait())?.contractAddress as string;
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("eth_call runs out of gas at the cap", async () => {
    const e = await rpcError(node.url, "eth_call", [
      { to: LOOP_AT, gas: MAX_UINT64 },
      "latest",
      { [LOOP_AT]: { code: TIGHT_LOOP } },
    ]);
    expect(e).toEqual({ code: -32000, message: "out of gas" });
  });

  it("eth_estimateGas: `gas required exceeds allowance (<cap>)`", async () => {
    const e = await rpcError(node.url, "eth_estimateGas", [{ to: loop, gas: MAX_UINT64 }]);
    expect(e).toEqual({ code: -32000, message: "gas required exceeds allowance (1000000)" });
  });

  it("eth_createAccessList (uncapped before issue 16) stops at the cap too", async () => {
    const r: Json = await result(node.url, "eth_createAccessList", [{ to: loop, gas: MAX_UINT64 }, "latest"]);
    expect(r.error).toBe("out of gas");
    expect(BigInt(r.gasUsed)).toBe(1_000_000n);
  });
});

describe("rpc.evmTimeoutMs and rpc.evmQueue", () => {
  let node: TestNode;
  const blake = () =>
    rpc(node.url, "eth_call", [{ to: LOOP_AT, data: BLAKE_INPUT }, "latest", { [LOOP_AT]: { code: BLAKE_CALLER } }]);

  beforeAll(async () => {
    node = await startInProcessNode({ rpc: { evmTimeoutMs: 1000, evmQueue: 1, evmWorkers: 1 } });
    // The worker is up (its first answer), so the next call starts at once.
    await result(node.url, "eth_call", [{ to: "0x0000000000000000000000000000000000000A01", data: "0x18160ddd" }]);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("an overdue simulation answers geth's error; with the worker busy and the queue full, callers hear busy", async () => {
    const answers = await Promise.all([blake(), blake(), blake()]);
    const errors = answers.map((a) => a.error).sort((x, y) => (x?.code ?? 0) - (y?.code ?? 0));
    expect(errors).toEqual([
      { code: -32005, message: "server busy: 1 simulations waiting (limit 1); try again later" },
      { code: -32000, message: "execution aborted (timeout = 1s)" },
      { code: -32000, message: "execution aborted (timeout = 1s)" },
    ]);
  });

  it("the replaced worker serves the next simulations", async () => {
    const supply = await result(node.url, "eth_call", [
      { to: "0x0000000000000000000000000000000000000A01", data: "0x18160ddd" },
    ]);
    expect(BigInt(supply)).toBeGreaterThan(0n);
    const from = devWallet(node.url, 0).address;
    expect(await result(node.url, "eth_estimateGas", [{ from, to: LOOP_AT, value: "0x1" }])).toBe("0x5208");
  });
});
