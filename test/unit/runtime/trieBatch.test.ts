import { createMPT, MerklePatriciaTrie } from "@ethereumjs/mpt";
import { Caches, MerkleStateManager } from "@ethereumjs/statemanager";
import { createFeeMarket1559Tx, createTxFromRLP, type TypedTransaction } from "@ethereumjs/tx";
import {
  Account,
  createAddressFromString,
  generateAddress,
  hexToBytes,
  privateToAddress,
  ValueEncoding,
} from "@ethereumjs/util";
import { Interface } from "ethers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadArtifact } from "../../../contracts/artifacts.js";
import { buildGenesis } from "../../../genesis/build.js";
import { devnetGenesis } from "../../../genesis/devnet.js";
import { createChainCommon } from "../../../runtime/evm/common.js";
import { createAzoraVM } from "../../../runtime/evm/vm.js";
import { BlockExecution } from "../../../runtime/executor.js";
import { ByteLRU } from "../../../runtime/lib/byteLru.js";
import { LEARN_ADDRESS } from "../../../runtime/modules/index.js";
import { balanceSlot } from "../../../runtime/modules/learn/ledger.js";
import { bytesToHex } from "../../../runtime/primitives/bytes.js";
import { keccak256 } from "../../../runtime/primitives/hash.js";
import { applyTrieWrites, TrieTops, type TrieWrite } from "../../../runtime/state/trieBatch.js";
import { type DecodedNodeCache, trieGet } from "../../../runtime/state/trieGet.js";
import { TrieNodeStore } from "../../../runtime/state/trieNodeStore.js";
import { BatchFlushStateManager, HEAD_STATE_OPTIONS, openWorldState } from "../../../runtime/state/worldState.js";
import { DEV_KEYS } from "../../utils/devnode.js";

/**
 * Differential tests of the batched trie flush (`applyTrieWrites`, `BatchFlushStateManager`)
 * against ethereumjs's own path: one `trie.put`/`trie.del` per key, and whole blocks of random
 * transactions through the plain `MerkleStateManager` and the plain VM (no fast path).
 */

// Keys from a small pool with long shared prefixes, so that writes split and deletes collapse
// branches and extensions; values of 1–40 bytes, so nodes are both inlined (< 32 bytes) and hashed.
const KEY_POOL: Uint8Array[] = (() => {
  const keys: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const k = keccak256(Uint8Array.of(i)).slice(0, 8);
    if (i % 4 === 1) k.set(keys[i - 1].subarray(0, 6)); // shares 12 nibbles with the previous key
    if (i % 4 === 2) k.set(keys[i - 2].subarray(0, 7)); // and 14 with the one before
    if (i % 4 === 3) k[0] = keys[i - 3][0]; // and 2
    keys.push(k);
  }
  return keys;
})();

const writeArb: fc.Arbitrary<TrieWrite> = fc.record({
  key: fc.nat({ max: KEY_POOL.length - 1 }).map((i) => KEY_POOL[i]),
  value: fc.oneof(
    { weight: 3, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }) },
    // Account-sized values: a leaf whose value and list take two-byte RLP headers.
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 56, maxLength: 120 }) },
    { weight: 2, arbitrary: fc.constant(null) },
  ),
});

// Shared by every run (and small, so it evicts): decoded nodes are named by their hash, so a node
// cached from one trie must serve any other.
// Small enough to evict during the runs (~500 nodes).
const nodeCache: DecodedNodeCache = new ByteLRU(500_000);

async function sequential(trie: MerklePatriciaTrie, writes: readonly TrieWrite[]): Promise<void> {
  for (const w of writes) {
    if (w.value === null) await trie.del(w.key);
    else await trie.put(w.key, w.value);
  }
}

describe("applyTrieWrites and trieGet", () => {
  it("give the root of one put/del per key and the values of trie.get, every key readable from the stored nodes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(writeArb, { maxLength: 40 }),
        fc.array(writeArb, { minLength: 1, maxLength: 40 }),
        async (before, batch) => {
          const plain = await createMPT({ useKeyHashing: false });
          await sequential(plain, before);
          const batched = await createMPT({ useKeyHashing: false });
          await sequential(batched, before);
          await sequential(plain, batch);
          await applyTrieWrites(batched, batch, nodeCache);
          expect(bytesToHex(batched.root())).toBe(bytesToHex(plain.root()));
          // The batch wrote every node of its root: all keys read back through the trie's database.
          for (const key of KEY_POOL) {
            const want = await plain.get(key);
            const hex = (v: Uint8Array | null) => (v === null ? null : bytesToHex(v));
            expect(hex(await batched.get(key))).toBe(hex(want));
            // trieGet answers what ethereumjs's get does, on both tries.
            expect(hex(await trieGet(batched, key, nodeCache))).toBe(hex(want));
            expect(hex(await trieGet(plain, key))).toBe(hex(want));
          }
        },
      ),
      { numRuns: 400, seed: 20261205 },
    );
  });

  it("give the same roots and stored nodes starting from a kept decoded top, over batches some of which are reverted", async () => {
    const batchArb = fc.record({
      writes: fc.array(writeArb, { minLength: 1, maxLength: 30 }),
      reverted: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(batchArb, { minLength: 1, maxLength: 12 }),
        fc.nat({ max: 2 }),
        async (batches, size) => {
          const plain = await createMPT({ useKeyHashing: false });
          const kept = await createMPT({ useKeyHashing: false });
          // No top kept (every batch loads), or one, or a few.
          const tops = new TrieTops([0, 1, 4][size]);
          for (const { writes, reverted } of batches) {
            await kept.checkpoint();
            await applyTrieWrites(kept, writes, nodeCache, tops);
            if (reverted) {
              // A block executed and dropped: its nodes go with the checkpoint, the top it kept stays.
              await kept.revert();
            } else {
              await kept.commit();
              await sequential(plain, writes);
            }
            expect(bytesToHex(kept.root())).toBe(bytesToHex(plain.root()));
          }
          const hex = (v: Uint8Array | null) => (v === null ? null : bytesToHex(v));
          for (const key of KEY_POOL) expect(hex(await kept.get(key))).toBe(hex(await plain.get(key)));
        },
      ),
      { numRuns: 300, seed: 20261206 },
    );
  });
});

// Storage-trie-shaped keys (32-byte hashes) and values (RLP of up to 32 bytes): nodes of 32 bytes and more,
// each one cached decoded by hash once read.
const HASHED_KEYS: Uint8Array[] = Array.from({ length: 300 }, (_, i) => keccak256(Uint8Array.of(i >> 8, i & 255)));
const hashedWriteArb: fc.Arbitrary<TrieWrite> = fc.record({
  key: fc.nat({ max: HASHED_KEYS.length - 1 }).map((i) => HASHED_KEYS[i]),
  value: fc.oneof(
    { weight: 3, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 33 }) },
    { weight: 1, arbitrary: fc.constant(null) },
  ),
});

describe("the decoded-node cache under applyTrieWrites and trieGet", () => {
  it("are the stored nodes: every cached node of the trie encodes to its stored bytes, trieGet through them reads as trie.get", async () => {
    const batchArb = fc.record({
      writes: fc.array(hashedWriteArb, { minLength: 1, maxLength: 60 }),
      reverted: fc.boolean(),
    });
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(batchArb, { minLength: 1, maxLength: 8 }), async (batches) => {
        // Large enough to hold every node written, so each one is checked.
        const cache: DecodedNodeCache = new ByteLRU(64 * 1024 * 1024);
        const plain = await createMPT({ useKeyHashing: false });
        const batched = await createMPT({ useKeyHashing: false });
        const tops = new TrieTops(1);
        for (const { writes, reverted } of batches) {
          await batched.checkpoint();
          await applyTrieWrites(batched, writes, cache, tops);
          // A dropped block's nodes stay cached (named by their hash: still what they were).
          if (reverted) await batched.revert();
          else {
            await batched.commit();
            await sequential(plain, writes);
          }
          expect(bytesToHex(batched.root())).toBe(bytesToHex(plain.root()));
          let cached = 0;
          await batched.walkAllNodes(async (node) => {
            const encoding = node.serialize();
            if (encoding.length < 32) return;
            const hit = cache.get(bytesToHex(keccak256(encoding)));
            if (hit === undefined) return;
            cached++;
            expect(bytesToHex(hit.serialize())).toBe(bytesToHex(encoding));
          });
          checked += cached;
          const hex = (v: Uint8Array | null) => (v === null ? null : bytesToHex(v));
          for (const key of HASHED_KEYS)
            expect(hex(await trieGet(batched, key, cache))).toBe(hex(await plain.get(key)));
        }
      }),
      { numRuns: 60, seed: 20261207 },
    );
    // The check above ran on cached nodes (none would pass it vacuously).
    expect(checked).toBeGreaterThan(1000);
  });
});

// Whole blocks: value transfers, native LEARN transfers and OpenZeppelin ERC-20 transfers (storage
// writes through a module and through SSTORE; a whole balance sent empties its slot, an over-balance
// transfer reverts) from 4 senders, over up to 3 blocks. The first block starts by deploying the
// ERC-20 from the first sender, who holds its whole supply.
const spec = devnetGenesis();
const common = createChainCommon(spec.chainId);
const KEYS = DEV_KEYS.slice(0, 4);
const addressOf = (k: string) => bytesToHex(privateToAddress(hexToBytes(k as `0x${string}`))) as `0x${string}`;
const RECIPIENTS: `0x${string}`[] = [
  ...KEYS.map(addressOf),
  "0x000000000000000000000000000000000000dead",
  "0x000000000000000000000000000000000000beef",
  "0x00000000000000000000000000000000000000f0",
];
const MINER = RECIPIENTS[1];
const BASE_FEE = 1_000_000_000n;
const LEARN_BALANCE = 10n ** 24n; // each dev account's genesis LEARN
const learn = new Interface(["function transfer(address,uint256) returns (bool)"]);
const tokenArtifact = loadArtifact("TestToken");
const TOKEN = bytesToHex(generateAddress(hexToBytes(addressOf(KEYS[0])), new Uint8Array(0))) as `0x${string}`;

interface TxSpec {
  key: number;
  to: number;
  kind: "value" | "learn" | "erc20";
  amount: bigint;
}

const txArb: fc.Arbitrary<TxSpec> = fc.record({
  key: fc.nat({ max: KEYS.length - 1 }),
  to: fc.nat({ max: RECIPIENTS.length - 1 }),
  kind: fc.constantFrom("value" as const, "learn" as const, "erc20" as const),
  amount: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 10n ** 18n }), fc.constant(LEARN_BALANCE)),
});

function build(s: TxSpec, nonce: bigint): TypedTransaction {
  const call = s.kind !== "value";
  return signed(s.key, {
    nonce,
    to: s.kind === "learn" ? LEARN_ADDRESS.toString() : s.kind === "erc20" ? TOKEN : RECIPIENTS[s.to],
    value: call ? 0n : s.amount,
    data: call
      ? hexToBytes(learn.encodeFunctionData("transfer", [RECIPIENTS[s.to], s.amount]) as `0x${string}`)
      : undefined,
    gasLimit: call ? 200_000n : 21_000n,
  });
}

function signed(
  key: number,
  fields: { nonce: bigint; to?: `0x${string}`; value: bigint; data?: Uint8Array; gasLimit: bigint },
): TypedTransaction {
  const tx = createFeeMarket1559Tx(
    { ...fields, chainId: spec.chainId, maxFeePerGas: 2n * BASE_FEE, maxPriorityFeePerGas: BASE_FEE / 2n },
    { common },
  ).sign(hexToBytes(KEYS[key] as `0x${string}`));
  return createTxFromRLP(tx.serialize(), { common });
}

const deployToken = (): TypedTransaction =>
  signed(0, {
    nonce: 0n,
    value: 0n,
    data: hexToBytes(
      (tokenArtifact.bytecode +
        new Interface(tokenArtifact.abi as string[]).encodeDeploy([10n ** 30n]).slice(2)) as `0x${string}`,
    ),
    gasLimit: 3_000_000n,
  });

/** The node's set-up (batched flush, value-transfer fast path) or ethereumjs's plain one. */
async function runBlocks(blocks: TxSpec[][], node: boolean) {
  const nodes = new Map<string, Uint8Array>();
  const genesisStore = new TrieNodeStore({ getNode: async (k) => nodes.get(k) });
  const genesis = await buildGenesis(spec, common, genesisStore);
  for (const [k, v] of genesisStore.takeWrites()) nodes.set(k, v);
  const store = new TrieNodeStore({ getNode: async (k) => nodes.get(k) });
  const state = node
    ? openWorldState(common, store, genesis.header.stateRoot, HEAD_STATE_OPTIONS)
    : plainWorldState(store, genesis.header.stateRoot);
  expect(state instanceof BatchFlushStateManager).toBe(node);
  const vm = await createAzoraVM(common, state, { getBlockHash: async () => genesis.hash });
  const nonces = new Map<number, bigint>();
  const out: unknown[] = [];
  let headRoot = genesis.header.stateRoot;
  for (const [i, specs] of blocks.entries()) {
    const exec = await BlockExecution.begin(
      vm,
      state,
      common,
      {
        number: BigInt(i + 1),
        timestamp: spec.genesisTime + BigInt(i + 1),
        gasLimit: spec.gasLimit,
        baseFeePerGas: BASE_FEE,
        miner: hexToBytes(MINER),
        parentHash: genesis.hash,
      },
      { fastTransfers: node, fastModuleCalls: node },
    );
    const receipts: unknown[] = [];
    if (i === 0) {
      const deploy = deployToken();
      const r = await exec.apply(deploy, deploy.getSenderAddress(), deploy.serialize());
      expect(r.included && r.receipt.status === 1 && bytesToHex(r.receipt.contractAddress ?? new Uint8Array())).toBe(
        TOKEN,
      );
      nonces.set(0, 1n);
    }
    for (const s of specs) {
      const nonce = nonces.get(s.key) ?? 0n;
      const tx = build(s, nonce);
      const r = await exec.apply(tx, tx.getSenderAddress(), tx.serialize());
      // Exclusion reasons are worded differently by the fast path and the VM; the decision must match.
      receipts.push(r.included ? r.receipt : "excluded");
      if (r.included) nonces.set(s.key, nonce + 1n);
    }
    const sealed = await exec.seal();
    await exec.commit();
    headRoot = sealed.stateRoot;
    out.push({
      receipts,
      stateRoot: bytesToHex(sealed.stateRoot),
      receiptsRoot: bytesToHex(sealed.receiptsRoot),
      gasUsed: sealed.gasUsed,
    });
  }
  // Every node of the final state reached the store: a cold reader sees the same accounts and balances.
  for (const [k, v] of store.takeWrites()) nodes.set(k, v);
  const cold = plainWorldState(new TrieNodeStore({ getNode: async (k) => nodes.get(k) }), headRoot);
  const accounts: unknown[] = [];
  for (const a of RECIPIENTS) {
    const acc = await cold.getAccount(createAddressFromString(a));
    accounts.push([
      acc?.nonce,
      acc?.balance,
      bytesToHex(await cold.getStorage(LEARN_ADDRESS, balanceSlot(hexToBytes(a)))),
    ]);
  }
  return { blocks: out, accounts };
}

/** ethereumjs's own state manager over the same trie settings as `openWorldState`. */
function plainWorldState(store: TrieNodeStore, root: Uint8Array): MerkleStateManager {
  const trie = new MerklePatriciaTrie({
    db: store,
    valueEncoding: ValueEncoding.Bytes,
    useKeyHashing: true,
    root,
    common: { customCrypto: { keccak256 } },
  });
  return new MerkleStateManager({
    common,
    trie,
    caches: new Caches({ account: { size: 200_000 }, storage: { size: 200_000 }, code: { size: 20_000 } }),
  });
}

describe("BatchFlushStateManager", () => {
  it("matches ethereumjs's plain state manager and VM on random blocks (same receipts and state roots)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(txArb, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 3 }),
        async (blocks) => {
          const node = await runBlocks(blocks, true);
          const plain = await runBlocks(blocks, false);
          expect(node).toEqual(plain);
        },
      ),
      { numRuns: 40, seed: 20261205 },
    );
  });

  it("reads the same accounts as the plain state manager, each a fresh object the caller may change", async () => {
    // A few addresses, random puts, checkpoints, reverts and flushes; every account written or read is
    // then mutated without a put, which must not leak into the next read (the state manager memoizes
    // the decoding of a cached account, so an object shared with a caller would show here).
    const opArb = fc.oneof(
      fc.record({
        op: fc.constant("put" as const),
        who: fc.nat(4),
        nonce: fc.bigInt(0n, 300n),
        balance: fc.bigInt(0n, 2n ** 80n),
      }),
      fc.record({
        op: fc.constantFrom(
          "get" as const,
          "del" as const,
          "checkpoint" as const,
          "commit" as const,
          "revert" as const,
          "flush" as const,
        ),
        who: fc.nat(4),
      }),
    );
    const addresses = Array.from({ length: 5 }, (_, i) =>
      createAddressFromString(`0x${(i + 1).toString(16).padStart(40, "0")}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), async (ops) => {
        const genesisStore = new TrieNodeStore({ getNode: async () => undefined });
        const root = new MerklePatriciaTrie({ useKeyHashing: true }).EMPTY_TRIE_ROOT;
        const managers = [
          openWorldState(common, new TrieNodeStore({ getNode: async () => undefined }), root, HEAD_STATE_OPTIONS),
          plainWorldState(genesisStore, root),
        ];
        const seen: unknown[][] = [[], []];
        for (const [m, state] of managers.entries()) {
          let depth = 0;
          for (const o of ops) {
            const address = addresses[o.who];
            if (o.op === "put") {
              const acc = (await state.getAccount(address)) ?? new Account();
              acc.nonce = o.nonce;
              acc.balance = o.balance;
              await state.putAccount(address, acc);
              // The caller still holds the account it wrote: changing it afterwards is not a write.
              acc.nonce += 3n;
              acc.codeHash = new Uint8Array(32).fill(2);
            } else if (o.op === "del") await state.deleteAccount(address);
            else if (o.op === "checkpoint") {
              await state.checkpoint();
              depth++;
            } else if (o.op === "commit" || o.op === "revert") {
              if (depth === 0) continue;
              await (o.op === "commit" ? state.commit() : state.revert());
              depth--;
            } else if (o.op === "flush") {
              if (depth > 0) continue;
              seen[m].push(bytesToHex(await state.getStateRoot()));
            }
            const acc = await state.getAccount(address);
            seen[m].push(acc === undefined ? null : bytesToHex(acc.serialize()));
            if (acc !== undefined) {
              acc.nonce += 1n;
              acc.balance += 7n;
              acc.storageRoot = new Uint8Array(32).fill(1);
            }
          }
        }
        expect(seen[0]).toEqual(seen[1]);
      }),
      { numRuns: 200, seed: 20261206 },
    );
  });
});
