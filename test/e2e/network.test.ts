import { JsonRpcProvider, parseEther, parseUnits, type TransactionResponse, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devOnlyMethodNames } from "../../node/dev/methods.js";
import { DEV_KEYS } from "../utils/devnode.js";
import { type NetNode, RPCError, rpc, rpcBatch, TestNetwork, waitFor } from "../utils/network.js";

/**
 * The BFT network with real processes (issue 3): 4 validators made by `azora init` and run by
 * `azora start`, libp2p on 127.0.0.1, 200 ms empty blocks. One network runs through the whole file:
 * transactions to every node, kill -9 of one validator under load and its restart, kill -9 of all
 * four, a full node that joins past height 100 and syncs to the tip, and every dev-only method
 * (cheats, snapshots, unlocked accounts) refused by all of them.
 */

const VALIDATORS = 4;
const FULL_NODE = 4;
const providerOpts = { cacheTimeout: -1, batchMaxCount: 1, staticNetwork: true } as const;
const RECIPIENT = "0x000000000000000000000000000000000000c0de";
const FEES = { maxFeePerGas: parseUnits("20", "gwei"), maxPriorityFeePerGas: parseUnits("1", "gwei") };

let net: TestNetwork;
const providers: JsonRpcProvider[] = [];

function provider(node: NetNode): JsonRpcProvider {
  const p = new JsonRpcProvider(node.url, Number(net.chainId), providerOpts);
  p.pollingInterval = 50;
  providers.push(p);
  return p;
}

function validators(): NetNode[] {
  return net.nodes.slice(0, VALIDATORS);
}

/** Every node in `nodes` has the same block hash and state root at each height 1..`upTo`. */
async function expectIdenticalChains(nodes: NetNode[], upTo: bigint): Promise<void> {
  const [ref, ...rest] = await Promise.all(nodes.map((n) => n.blocks(1n, upTo)));
  expect(ref.length).toBe(Number(upTo));
  for (const [k, other] of rest.entries()) {
    for (let i = 0; i < ref.length; i++) {
      const at = `height ${i + 1}, node${nodes[0].index} vs node${nodes[k + 1].index}`;
      expect(other[i]?.hash, at).toBe(ref[i].hash);
      expect(other[i]?.stateRoot, at).toBe(ref[i].stateRoot);
    }
  }
}

/** The lowest head among `nodes`. */
async function commonHeight(nodes: NetNode[]): Promise<bigint> {
  const hs = await Promise.all(nodes.map((n) => n.height()));
  return hs.reduce((a, b) => (a < b ? a : b));
}

/** Receipt of `hash` on `node`, polled until present. */
async function receiptOn(node: NetNode, hash: string, timeoutMs = 30_000): Promise<{ blockNumber: string }> {
  return waitFor(
    `tx ${hash} included (node${node.index})`,
    () => rpc<{ blockNumber: string; status: string } | null>(node.url, "eth_getTransactionReceipt", [hash]),
    timeoutMs,
  );
}

/**
 * Sends value transfers from one account per target node, one every `intervalMs`, with locally
 * tracked nonces; a send a node refuses for a transient reason is retried with the same nonce.
 */
class LoadGenerator {
  private stopped = false;
  private loops: Promise<void>[] = [];
  readonly sent: string[] = [];
  readonly errors: string[] = [];

  start(targets: NetNode[], keys: string[], intervalMs: number): void {
    this.loops = targets.map((node, i) => this.loop(node, new Wallet(keys[i]), intervalMs));
  }

  private async loop(node: NetNode, wallet: Wallet, intervalMs: number): Promise<void> {
    let nonce = Number(BigInt(await rpc<string>(node.url, "eth_getTransactionCount", [wallet.address, "pending"])));
    while (!this.stopped) {
      const raw = await wallet.signTransaction({
        type: 2,
        chainId: net.chainId,
        nonce,
        to: RECIPIENT,
        value: 1n,
        gasLimit: 21_000n,
        ...FEES,
      });
      try {
        this.sent.push(await rpc<string>(node.url, "eth_sendRawTransaction", [raw]));
        nonce++;
      } catch (e) {
        this.errors.push(`${node.index}: ${(e as Error).message}`);
        if (e instanceof RPCError && /already known/i.test(e.message)) nonce++;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

beforeAll(async () => {
  const t0 = Date.now();
  // Validators start now; the full node (node 4) only in its test, past height 100.
  net = await TestNetwork.create({ validators: VALIDATORS, fullNodes: 1, emptyBlockIntervalMs: 200 });
  await net.waitForHeight(validators(), 2n, 60_000);
  console.log(`network up at height ≥ 2 in ${Date.now() - t0} ms`);
}, 120_000);

afterAll(async () => {
  for (const p of providers) p.destroy();
  if (net !== undefined) {
    await net.stopAll();
    net.saveLogs("network");
    await net.destroy();
  }
}, 60_000);

describe("4-validator network (azora init / azora start)", () => {
  it("includes transactions sent to different nodes; every node has the same blocks and state roots", async () => {
    // Account i sends 3 transfers through node i, with ethers v6.
    const sends = validators().map(async (node, i) => {
      const wallet = new Wallet(DEV_KEYS[i], provider(node));
      const txs: TransactionResponse[] = [];
      let nonce = await wallet.getNonce("pending");
      for (let k = 0; k < 3; k++) {
        txs.push(await wallet.sendTransaction({ to: RECIPIENT, value: parseEther("0.001"), nonce: nonce++, ...FEES }));
      }
      return txs;
    });
    const txs = (await Promise.all(sends)).flat();
    expect(txs).toHaveLength(12);
    // Every transaction is included, and every node sees it in the same block.
    for (const tx of txs) {
      const receipts = await Promise.all(validators().map((n) => receiptOn(n, tx.hash)));
      expect(new Set(receipts.map((r) => r.blockNumber)).size, tx.hash).toBe(1);
    }
    const h = await commonHeight(validators());
    expect(h).toBeGreaterThan(1n);
    await expectIdenticalChains(validators(), h);
  }, 180_000);

  it("gossips a transaction sent to node 2 to node 0 (mempool or block)", async () => {
    const wallet = new Wallet(DEV_KEYS[4], provider(net.node(2)));
    const tx = await wallet.sendTransaction({ to: RECIPIENT, value: 1n, ...FEES });
    const seen = await waitFor(
      "node 0 to know the tx sent to node 2",
      () =>
        rpc<{ hash: string; blockNumber: string | null } | null>(net.node(0).url, "eth_getTransactionByHash", [
          tx.hash,
        ]),
      20_000,
    );
    expect(seen.hash).toBe(tx.hash);
    await receiptOn(net.node(0), tx.hash);
  }, 180_000);

  it("keeps committing when a validator is kill -9'd under load; it restarts, catches up and signs again without double-signing", async () => {
    const victim = net.node(1);
    const victimIndex = net.validatorIndexOf(1);
    const others = validators().filter((n) => n !== victim);
    const load = new LoadGenerator();
    load.start(others, [DEV_KEYS[5], DEV_KEYS[6], DEV_KEYS[7]], 60);
    try {
      await waitFor("load flowing", () => load.sent.length >= 6, 20_000);
      await victim.kill9();
      const atKill = await Promise.all(others.map((n) => n.height()));
      // The other three (30 of 40 voting power) keep committing.
      await net.waitForHeight(others, atKill.reduce((a, b) => (a > b ? a : b)) + 5n, 30_000);

      const t0 = Date.now();
      await victim.start();
      const restartedAt = (await Promise.all(others.map((n) => n.height()))).reduce((a, b) => (a > b ? a : b));
      // It catches up: its head reaches the height the others had when it came back.
      await net.waitForHeight([victim], restartedAt, 30_000);
      const caughtUpMs = Date.now() - t0;
      // And signs again: a vote at a height after the one it restarted at.
      await waitFor(
        `node1 signing past height ${restartedAt}`,
        async () => BigInt((await victim.status()).lastSignedHeight) > restartedAt,
        30_000,
      );
      console.log(`restarted validator caught up in ${caughtUpMs} ms, signing after ${Date.now() - t0} ms`);
    } finally {
      await load.stop();
    }
    // Everything the load generator got accepted is committed.
    expect(load.sent.length).toBeGreaterThan(10);
    console.log(`load: ${load.sent.length} txs sent, errors: ${JSON.stringify(load.errors.slice(0, 10))}`);
    for (const hash of load.sent) {
      try {
        await receiptOn(net.node(0), hash);
      } catch (e) {
        const views = await Promise.all(
          validators().map((n) => rpc(n.url, "eth_getTransactionByHash", [hash]).catch((x) => String(x))),
        );
        const pools = await Promise.all(validators().map((n) => rpc(n.url, "txpool_status").catch((x) => String(x))));
        throw new Error(`${(e as Error).message}\n${JSON.stringify(views)}\n${JSON.stringify(pools)}\n${net.logs(15)}`);
      }
    }

    const head = await commonHeight(validators());
    await expectIdenticalChains(validators(), head);
    // No double-sign: no block holds evidence against the restarted validator (nor anyone).
    const evidence = await evidenceIn(net.node(0), 1n, head);
    expect(evidence.filter((e) => e.validatorIndex === victimIndex)).toEqual([]);
    expect(evidence).toEqual([]);
  }, 180_000);

  it("resumes from the last committed height after all four are kill -9'd", async () => {
    const before = await Promise.all(validators().map((n) => n.status()));
    await Promise.all(validators().map((n) => n.kill9()));
    const heights = before.map((s) => BigInt(s.height));
    const top = heights.reduce((a, b) => (a > b ? a : b));

    await Promise.all(validators().map((n) => n.start()));
    // Nothing committed was lost: each head is at least where it was, with the same block there.
    for (const [i, node] of validators().entries()) {
      expect(await node.height()).toBeGreaterThanOrEqual(heights[i]);
      const [b] = await node.blocks(heights[i], heights[i]);
      expect(b.hash).toBe(before[i].hash);
      expect(b.stateRoot).toBe(before[i].stateRoot);
    }
    // They keep committing, and agree on every height up to and past the pre-crash heads.
    await net.waitForHeight(validators(), top + 5n, 60_000);
    const wallet = new Wallet(DEV_KEYS[8], provider(net.node(3)));
    const tx = await wallet.sendTransaction({ to: RECIPIENT, value: 1n, ...FEES });
    await receiptOn(net.node(0), tx.hash);
    await expectIdenticalChains(validators(), await commonHeight(validators()));
  }, 180_000);

  it("syncs a full node started past height 100 to the tip", async () => {
    const v0 = net.node(0);
    // Waiting transactions start a height at once (no empty-block wait): drive the chain past 100.
    const load = new LoadGenerator();
    load.start(validators(), [DEV_KEYS[5], DEV_KEYS[6], DEV_KEYS[7], DEV_KEYS[9]], 20);
    try {
      await net.waitForHeight([v0], 101n, 90_000);
    } finally {
      await load.stop();
    }
    const full = net.node(FULL_NODE);
    const t0 = Date.now();
    await full.start();
    const status = await full.status();
    expect(status.mode).toBe("full node");
    const tip = await v0.height();
    expect(tip).toBeGreaterThan(100n);
    await waitFor(`full node at height ≥ ${tip}`, async () => (await full.height()) >= tip, 60_000);
    const syncedMs = Date.now() - t0;
    // It follows the tip (not only the height it saw at start) and is no longer catching up.
    await waitFor(
      "full node following the validators, not catching up",
      async () => {
        const [s, vh] = await Promise.all([full.status(), v0.height()]);
        return !s.catching_up && BigInt(s.height) >= vh - 1n;
      },
      30_000,
    );
    console.log(`full node synced ${tip} blocks in ${syncedMs} ms`);
    // Operators see the sync's progress: height, target, rate and ETA, as structured log lines.
    const progress = full
      .output()
      .split("\n")
      .filter((l) => l.includes('"msg":"block sync"'))
      .map((l) => JSON.parse(l) as { height: string; target: string; blocksPerSec: number });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.some((p) => p.height === p.target)).toBe(true); // a sync that reached its target says so
    expect(progress.every((p) => typeof p.blocksPerSec === "number")).toBe(true);
    const h = await commonHeight([v0, full]);
    await expectIdenticalChains([v0, full], h);
  }, 180_000);
});

describe("dev-only methods on a network node (issue 13)", () => {
  it("refuses every one with -32601 on each validator and the full node; eth_accounts is empty", async () => {
    const names = devOnlyMethodNames();
    // The list is the dev method table itself, so a new cheat is covered without editing this test.
    for (const n of ["evm_snapshot", "evm_revert", "anvil_setBalance", "hardhat_impersonateAccount", "anvil_reset"]) {
      expect(names).toContain(n);
    }
    for (const n of [
      "eth_sendTransaction",
      "eth_sign",
      "personal_sign",
      "eth_signTypedData_v4",
      "eth_signTransaction",
    ]) {
      expect(names).toContain(n);
    }
    const full = net.node(FULL_NODE);
    if (!full.running) await full.start(); // the sync test started it, unless it failed first
    const nodes = [...validators(), full];
    for (const n of nodes) expect(n.running, `node${n.index} running`).toBe(true);
    for (const node of nodes) {
      // Plausible params, so a refusal can only be the method's absence, not a bad argument.
      const body = names.map((method, id) => ({ jsonrpc: "2.0", id, method, params: [RECIPIENT, "0x1"] }));
      const res = await fetch(node.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const answers = (await res.json()) as { id: number; result?: unknown; error?: { code: number } }[];
      const codes = Object.fromEntries(answers.map((a) => [names[a.id], a.error?.code ?? "answered"]));
      expect(codes, `node${node.index}`).toEqual(Object.fromEntries(names.map((n) => [n, -32601])));
      expect(await rpc(node.url, "eth_accounts"), `node${node.index}`).toEqual([]);
    }
  }, 120_000);
});

async function evidenceIn(node: NetNode, from: bigint, to: bigint): Promise<{ validatorIndex: number }[]> {
  const calls = [];
  for (let n = from; n <= to; n++) calls.push({ method: "azora_getBlockEvidence", params: [`0x${n.toString(16)}`] });
  const perBlock = await rpcBatch<{ validatorIndex: number }[] | null>(node.url, calls);
  return perBlock.flatMap((e) => e ?? []);
}
