/**
 * The cross-block eth_call cache (`node/rpc/callCache.ts`) against a fresh execution: on random
 * sequences of transactions (OpenZeppelin ERC-20 transfers, native LEARN transfers, value transfers,
 * contract storage writes), dev cheats (`anvil_setBalance`, `anvil_setStorageAt`) and blocks, every
 * `eth_call` at the head — which the cache answers whenever it can — must equal the same call with an
 * empty state override, which always runs on a simulation worker. Calls read token balances (contract
 * storage), LEARN balances (a native module's storage), a payable call's sender balance, and the block
 * (number, timestamp, BLOCKHASH), so each kind of read must invalidate its answer when a block changes it.
 */

import { ContractFactory, Interface, type InterfaceAbi, type Wallet } from "ethers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadArtifact } from "../../../../contracts/artifacts.js";
import { LEARN_ADDRESS } from "../../../../runtime/modules/index.js";
import {
  type Deployed,
  devWallet,
  type Json,
  MANUAL_MINING,
  mine,
  q,
  result,
  send,
  startInProcessNode,
  type TestNode,
  waitReceipt,
  word,
} from "../../rpc/eth/helpers.js";

const LEARN = LEARN_ADDRESS.toString();
const HOLDERS = [
  "0x00000000000000000000000000000000000c0de1",
  "0x00000000000000000000000000000000000c0de2",
  "0x00000000000000000000000000000000000c0de3",
];
const SENDERS = [1, 2];

type Op =
  | { kind: "erc20"; from: number; to: number; amount: number }
  | { kind: "learn"; from: number; to: number; amount: number }
  | { kind: "value"; from: number; to: number; amount: number }
  | { kind: "set"; from: number; v: number }
  | { kind: "setBalance"; who: number; amount: number }
  | { kind: "setStorage"; v: number }
  | { kind: "mine" }
  | { kind: "call"; query: number };

const from = fc.constantFrom(...SENDERS.keys());
const to = fc.nat({ max: HOLDERS.length + SENDERS.length - 1 });
const amount = fc.integer({ min: 1, max: 1000 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("erc20" as const), from, to, amount }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("learn" as const), from, to, amount }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("value" as const), from, to, amount }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("set" as const), from, v: amount }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("setBalance" as const), who: to, amount }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("setStorage" as const), v: amount }) },
  { weight: 3, arbitrary: fc.constant({ kind: "mine" as const }) },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant("call" as const), query: fc.nat({ max: 99 }) }) },
);

describe("eth_call answers carried across blocks", () => {
  let node: TestNode;
  let token: Deployed;
  let probe: Deployed;
  let wallets: Wallet[];
  let queries: Json[];
  const erc20 = new Interface(loadArtifact("TestToken").abi as string[]);
  const learn = new Interface(loadArtifact("ILearn").abi as string[]);
  const probeAbi = new Interface(loadArtifact("Probe").abi as string[]);

  beforeAll(async () => {
    node = await startInProcessNode(MANUAL_MINING);
    wallets = SENDERS.map((i) => devWallet(node.url, i));
    const admin = devWallet(node.url, 0);
    token = await deployWithGas(admin, "TestToken", [10n ** 24n]);
    probe = await deployWithGas(admin, "Probe", []);
    for (const w of wallets) {
      await send(node.url, admin, {
        to: token.address,
        data: erc20.encodeFunctionData("transfer", [w.address, 10n ** 20n]),
        gasLimit: 200_000n,
      });
      await send(node.url, admin, {
        to: LEARN,
        data: learn.encodeFunctionData("mint", [w.address, 10n ** 20n]),
        gasLimit: 200_000n,
      });
    }
    await mine(node.url);
    const parties = [...HOLDERS, ...wallets.map((w) => w.address.toLowerCase())];
    queries = [
      ...parties.map((p) => ({ to: token.address, data: erc20.encodeFunctionData("balanceOf", [p]) })),
      ...parties.map((p) => ({ to: LEARN, data: learn.encodeFunctionData("balanceOf", [p]) })),
      { to: token.address, data: erc20.encodeFunctionData("totalSupply") },
      { to: probe.address, data: probeAbi.encodeFunctionData("value") },
      { to: probe.address, data: probeAbi.encodeFunctionData("blockInfo") },
      // Payable from a holder: geth's affordability check reads the sender's balance.
      ...parties.map((p) => ({
        from: p,
        to: probe.address,
        value: q(10n ** 15n),
        data: probeAbi.encodeFunctionData("deposit"),
      })),
    ];
  }, 120_000);
  afterAll(async () => {
    await node?.cleanup();
  });

  /** Deploys with a fixed gas limit: no estimate, which on a loaded machine can outlast the EVM time budget. */
  async function deployWithGas(wallet: Wallet, name: string, args: unknown[]): Promise<Deployed> {
    const artifact = loadArtifact(name);
    const factory = new ContractFactory(artifact.abi as InterfaceAbi, artifact.bytecode);
    const tx = await factory.getDeployTransaction(...args);
    const hash = await send(node.url, wallet, { data: tx.data, gasLimit: 3_000_000n });
    await mine(node.url);
    const receipt = await waitReceipt(node.url, hash);
    expect(receipt.status).toBe("0x1");
    return {
      address: receipt.contractAddress,
      txHash: hash,
      blockNumber: Number(receipt.blockNumber),
      abi: artifact.abi as InterfaceAbi,
    };
  }

  async function hits(): Promise<number> {
    const m = await node.metrics.callCache.get();
    return m.values.find((v) => v.labels.result === "hit")?.value ?? 0;
  }

  /** The answer, or the error's code and data (an unfunded payable call fails alike both ways). */
  async function call(params: unknown[]): Promise<Json> {
    const r = await fetch(node.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_call", params }),
    });
    const json = (await r.json()) as Json;
    return json.error === undefined ? json.result : { code: json.error.code, message: json.error.message };
  }

  async function apply(o: Op): Promise<void> {
    const parties = [...HOLDERS, ...wallets.map((w) => w.address)];
    switch (o.kind) {
      case "erc20":
        await send(node.url, wallets[o.from], {
          to: token.address,
          data: erc20.encodeFunctionData("transfer", [parties[o.to], BigInt(o.amount)]),
          gasLimit: 200_000n,
        });
        return;
      case "learn":
        await send(node.url, wallets[o.from], {
          to: LEARN,
          data: learn.encodeFunctionData("transfer", [parties[o.to], BigInt(o.amount)]),
          gasLimit: 200_000n,
        });
        return;
      case "value":
        await send(node.url, wallets[o.from], {
          to: parties[o.to],
          value: BigInt(o.amount) * 10n ** 12n,
          gasLimit: 21_000n,
        });
        return;
      case "set":
        await send(node.url, wallets[o.from], {
          to: probe.address,
          data: probeAbi.encodeFunctionData("set", [BigInt(o.v), word(o.v)]),
          gasLimit: 200_000n,
        });
        return;
      case "setBalance":
        // Whole AZR: a sender set to less than a 200k-gas fee would make the next sends fail, not the cache.
        await result(node.url, "anvil_setBalance", [parties[o.who], q(BigInt(o.amount) * 10n ** 18n)]);
        return;
      case "setStorage":
        await result(node.url, "anvil_setStorageAt", [probe.address, word(0), word(o.v)]);
        return;
      case "mine":
        await mine(node.url);
        return;
      case "call": {
        const query = queries[o.query % queries.length];
        const cached = await call([query, "latest"]);
        const fresh = await call([query, "latest", {}]);
        expect(cached).toEqual(fresh);
        // Asked again at once: a hit now (same head), and still the fresh answer.
        expect(await call([query, "latest"])).toEqual(fresh);
      }
    }
  }

  it("always answers what a fresh execution at the same block answers", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 30 }), async (ops) => {
        // Every query once first, so later blocks have answers to carry or drop.
        for (let i = 0; i < queries.length; i++) await apply({ kind: "call", query: i });
        for (const o of ops) await apply(o);
        await mine(node.url);
      }),
      { numRuns: 12 },
    );
  }, 300_000);

  it("reuses answers across blocks that did not write what they read", async () => {
    const parties = [...HOLDERS, ...wallets.map((w) => w.address)];
    const balance = { to: token.address, data: erc20.encodeFunctionData("balanceOf", [HOLDERS[0]]) };
    const before = await call([balance, "latest"]);
    const hitsBefore = await hits();
    // A block that transfers the token between other accounts: the holder's slot is untouched.
    await send(node.url, wallets[0], {
      to: token.address,
      data: erc20.encodeFunctionData("transfer", [parties[4], 1n]),
      gasLimit: 200_000n,
    });
    await mine(node.url);
    expect(await call([balance, "latest"])).toBe(before);
    expect(await hits()).toBe(hitsBefore + 1);
    // A block that changes the holder's balance: the answer is dropped, and the new one is right.
    await send(node.url, wallets[0], {
      to: token.address,
      data: erc20.encodeFunctionData("transfer", [HOLDERS[0], 5n]),
      gasLimit: 200_000n,
    });
    await mine(node.url);
    expect(BigInt(await call([balance, "latest"]))).toBe(BigInt(before) + 5n);
    expect(await hits()).toBe(hitsBefore + 1);
  });
});
