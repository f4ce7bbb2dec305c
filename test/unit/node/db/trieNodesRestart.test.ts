import { rmSync } from "node:fs";
import { join } from "node:path";
import { Wallet } from "ethers";
import { afterAll, describe, expect, it } from "vitest";
import { ChainDB } from "../../../../node/db/chainDb.js";
import { checkChain } from "../../../../node/db/integrity.js";
import { DEV_CHAIN_ID, DEV_KEYS, startInProcessNode, tempDir } from "../../../utils/devnode.js";
import { rpc } from "../../../utils/network.js";

/**
 * The state a dev node writes to LevelDB — trie nodes stored by the batched flush straight into the
 * node store (`storeTrieNodes`) and cached on confirmation — read back whole after a restart: random
 * blocks of value transfers to fresh accounts and storage writes, overwrites and deletions (slots set
 * to zero). Every account and slot reads the same from the reopened database, and the chain checker
 * walks the head's state tries, every node against its hash: a node the fast path failed to write is
 * named missing.
 */

/** Runtime `SSTORE(calldata[0:32], calldata[32:64])`, behind init code that returns it. */
const STORE_RUNTIME = "602035600035550000";
const STORE_INIT = `0x6009600c60003960096000f3${STORE_RUNTIME}`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

let seed = 14;
const rand = (n: number) => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed >>> 8) % n;
};
const word = (n: number) => n.toString(16).padStart(64, "0");
const address = (n: number) => `0x${(0xa2000000 + n).toString(16).padStart(40, "0")}`;

describe("trie nodes across a restart", () => {
  it("reads every account and slot back from the reopened database, and every state node is stored", async () => {
    const dataDir = tempDir("trienodes");
    dirs.push(dataDir);
    const wallets = DEV_KEYS.slice(5, 8).map((k) => new Wallet(k));
    const nonces = wallets.map(() => 0);
    const sign = (w: number, tx: { to?: string; value?: bigint; data?: string; gasLimit: bigint }) =>
      wallets[w].signTransaction({
        type: 2,
        chainId: DEV_CHAIN_ID,
        nonce: nonces[w]++,
        maxFeePerGas: 10_000_000_000n,
        maxPriorityFeePerGas: 1n,
        ...tx,
      });
    const slots = new Map<string, number>(); // the contract's storage as the transactions left it
    const recipients = new Set<string>(wallets.map((w) => w.address));
    let contract = "";
    let before: unknown;

    const node = await startInProcessNode({ dataDir, blockTimeMs: 3_600_000 });
    try {
      const deploy = await rpc<string>(node.url, "eth_sendRawTransaction", [
        await sign(0, { data: STORE_INIT, gasLimit: 200_000n }),
      ]);
      await rpc(node.url, "anvil_mine", ["0x1"]);
      const receipt = await rpc<{ contractAddress: string; status: string }>(node.url, "eth_getTransactionReceipt", [
        deploy,
      ]);
      expect(receipt.status).toBe("0x1");
      contract = receipt.contractAddress;
      for (let block = 0; block < 12; block++) {
        for (let i = rand(25); i >= 0; i--) {
          const w = rand(wallets.length);
          if (rand(2) === 0) {
            const to = address(rand(300));
            recipients.add(to);
            await rpc(node.url, "eth_sendRawTransaction", [
              await sign(w, { to, value: BigInt(1 + rand(1000)), gasLimit: 21_000n }),
            ]);
          } else {
            // A few hundred slots: new ones, overwrites, and zeros that delete a slot.
            const slot = rand(400);
            const value = rand(3) === 0 ? 0 : 1 + rand(1_000_000);
            slots.set(word(slot), value);
            await rpc(node.url, "eth_sendRawTransaction", [
              await sign(w, { to: contract, data: `0x${word(slot)}${word(value)}`, gasLimit: 100_000n }),
            ]);
          }
        }
        await rpc(node.url, "anvil_mine", ["0x1"]);
      }
      before = await readState(node.url, contract, recipients, slots);
    } finally {
      await node.close();
    }
    expect(slots.size).toBeGreaterThan(50);
    expect([...slots.values()].filter((v) => v === 0).length).toBeGreaterThan(10);

    const db = await ChainDB.open(join(dataDir, "chaindata"), { syncWrites: false });
    try {
      const report = await checkChain(db, { full: true, minBlocks: 0, minBytes: 0 });
      expect(report.problems).toEqual([]);
      expect(report.stateNodes).toBeGreaterThan(100);
    } finally {
      await db.close();
    }

    const reopened = await startInProcessNode({ dataDir, blockTimeMs: 3_600_000 });
    try {
      const after = await readState(reopened.url, contract, recipients, slots);
      expect(after).toEqual(before);
      const { storage } = after as { storage: [string, string][] };
      for (const [slot, value] of storage) expect(BigInt(value)).toBe(BigInt(slots.get(slot) as number));
    } finally {
      await reopened.close();
    }
  }, 120_000);
});

/** The head's state root, the balances of the senders and of every recipient, and every slot written. */
async function readState(url: string, contract: string, recipients: Set<string>, slots: Map<string, number>) {
  const head = await rpc<{ stateRoot: string; number: string }>(url, "eth_getBlockByNumber", ["latest", false]);
  const accounts: string[][] = [];
  for (const a of [...recipients].sort()) {
    accounts.push([a, await rpc<string>(url, "eth_getBalance", [a, "latest"])]);
  }
  const storage: [string, string][] = [];
  for (const slot of [...slots.keys()].sort()) {
    storage.push([slot, await rpc<string>(url, "eth_getStorageAt", [contract, `0x${slot}`, "latest"])]);
  }
  return { stateRoot: head.stateRoot, number: head.number, accounts, storage };
}
