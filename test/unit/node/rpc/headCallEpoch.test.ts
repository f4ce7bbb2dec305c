/**
 * eth_call at the head after the state changed under the same head block or under a new one: an
 * answer cached before must never be served after a dev cheat (`anvil_setStorageAt`), a snapshot
 * revert (`evm_revert`) or a new block that changed what it read. Each step asks the same call twice
 * (the second one a cache hit when the cache keeps it) and compares with the value just written.
 */
import { ContractFactory, Interface, type InterfaceAbi } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadArtifact } from "../../../../contracts/artifacts.js";
import {
  devWallet,
  MANUAL_MINING,
  mine,
  result,
  send,
  startInProcessNode,
  type TestNode,
  waitReceipt,
  word,
} from "../../rpc/eth/helpers.js";

describe("eth_call at the head sees the head state's latest edit", () => {
  let node: TestNode;
  let probe: string;
  const probeAbi = new Interface(loadArtifact("Probe").abi as string[]);

  beforeAll(async () => {
    node = await startInProcessNode(MANUAL_MINING);
    const artifact = loadArtifact("Probe");
    const tx = await new ContractFactory(artifact.abi as InterfaceAbi, artifact.bytecode).getDeployTransaction();
    const hash = await send(node.url, devWallet(node.url, 0), { data: tx.data, gasLimit: 3_000_000n });
    await mine(node.url);
    probe = (await waitReceipt(node.url, hash)).contractAddress as string;
  }, 120_000);
  afterAll(async () => {
    await node?.cleanup();
  });

  /** Probe.value() at latest, twice: the first may run, the second is answered by the cache when it can. */
  async function value(): Promise<bigint[]> {
    const req = { to: probe, data: probeAbi.encodeFunctionData("value") };
    const a = BigInt((await result(node.url, "eth_call", [req, "latest"])) as string);
    const b = BigInt((await result(node.url, "eth_call", [req, "latest"])) as string);
    return [a, b];
  }

  const setStorage = (v: number) => result(node.url, "anvil_setStorageAt", [probe, word(0), word(v)]);

  it("after anvil_setStorageAt, evm_revert and new blocks", async () => {
    expect(await value()).toEqual([0n, 0n]);
    // Same head block, new state root (twice: each edit is a new root).
    await setStorage(7);
    expect(await value()).toEqual([7n, 7n]);
    await setStorage(8);
    expect(await value()).toEqual([8n, 8n]);
    // A snapshot, an edit and a block after it, then back.
    const snap = await result(node.url, "evm_snapshot", []);
    await setStorage(9);
    expect(await value()).toEqual([9n, 9n]);
    await mine(node.url);
    expect(await value()).toEqual([9n, 9n]);
    expect(await result(node.url, "evm_revert", [snap])).toBe(true);
    expect(await value()).toEqual([8n, 8n]);
    // A block that writes the slot by a transaction.
    await send(node.url, devWallet(node.url, 1), {
      to: probe,
      data: probeAbi.encodeFunctionData("set", [11n, word(0)]),
      gasLimit: 200_000n,
    });
    await mine(node.url);
    expect(await value()).toEqual([11n, 11n]);
    // And a block that does not: the answer is carried over, still right.
    await mine(node.url);
    expect(await value()).toEqual([11n, 11n]);
  }, 120_000);
});
