import { rmSync } from "node:fs";
import { join } from "node:path";
import { Wallet } from "ethers";
import { Level } from "level";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChainDB } from "../../../../node/db/chainDb.js";
import { checkChain, type IntegrityOptions } from "../../../../node/db/integrity.js";
import {
  bodyKey,
  canonicalKey,
  commitKey,
  headerKey,
  metaKey,
  receiptsKey,
  trieNodeKey,
  txIndexKey,
} from "../../../../node/db/keys.js";
import { rollbackChain } from "../../../../node/db/rollback.js";
import { bytesToHex } from "../../../../runtime/primitives/bytes.js";
import { keccak256 } from "../../../../runtime/primitives/hash.js";
import { DEV_CHAIN_ID, DEV_KEYS, startInProcessNode, tempDir } from "../../../utils/devnode.js";
import { rpc } from "../../../utils/network.js";

/**
 * The chain checker against a real LevelDB written by a real (in-process) dev node, with one kind of
 * damage at a time applied to a copy: each must be found and named with its height.
 */

let template: string;
let head: bigint;
let txBlock: bigint;
let txHash: Uint8Array;
const dirs: string[] = [];

const FULL: IntegrityOptions = { full: true, minBlocks: 0, minBytes: 0 };
const TAIL: IntegrityOptions = { full: false, minBlocks: 8, minBytes: 0 };

beforeAll(async () => {
  template = tempDir("integrity");
  const node = await startInProcessNode({ dataDir: template, blockTimeMs: 3_600_000 });
  try {
    const wallet = new Wallet(DEV_KEYS[4]);
    for (let i = 0; i < 3; i++) {
      const raw = await wallet.signTransaction({
        type: 2,
        chainId: DEV_CHAIN_ID,
        nonce: i,
        to: "0x000000000000000000000000000000000000bEEF",
        value: 1n,
        gasLimit: 21_000n,
        maxFeePerGas: 10_000_000_000n,
        maxPriorityFeePerGas: 1n,
      });
      await rpc(node.url, "eth_sendRawTransaction", [raw]);
    }
    await rpc(node.url, "anvil_mine", ["0x1"]);
    txBlock = node.chain.head.header.number;
    await rpc(node.url, "anvil_mine", ["0x1d"]); // 29 more: 30 blocks
    head = node.chain.head.header.number;
    const body = await node.chain.db.getBody(node.chain.head.hash);
    expect(body?.transactions.length).toBe(0);
    const txBody = await node.chain.db.getBody((await node.chain.getBlockHash(txBlock)) as Uint8Array);
    txHash = keccak256((txBody?.transactions ?? [])[0]);
  } finally {
    await node.close();
  }
}, 120_000);

afterAll(() => {
  for (const d of [template, ...dirs]) rmSync(d, { recursive: true, force: true });
});

/** A copy of the template chain with `damage` applied through LevelDB itself. */
async function damaged(damage: (db: Level<Uint8Array, Uint8Array>) => Promise<void>): Promise<ChainDB> {
  const dir = tempDir("integrity-copy");
  dirs.push(dir);
  const { cpSync } = await import("node:fs");
  cpSync(join(template, "chaindata"), join(dir, "chaindata"), { recursive: true });
  const raw = new Level<Uint8Array, Uint8Array>(join(dir, "chaindata"), { keyEncoding: "view", valueEncoding: "view" });
  await raw.open();
  await damage(raw);
  await raw.close();
  return ChainDB.open(join(dir, "chaindata"), { syncWrites: false });
}

async function hashAt(db: Level<Uint8Array, Uint8Array>, n: bigint): Promise<Uint8Array> {
  return (await db.get(canonicalKey(n))) as Uint8Array;
}

describe("checkChain", () => {
  it("passes an intact chain (tail and full)", async () => {
    const db = await damaged(async () => {});
    try {
      const tail = await checkChain(db, TAIL);
      expect(tail.problems).toEqual([]);
      expect(tail.head).toBe(head);
      expect(tail.checkedFrom).toBe(head - 7n);
      expect(tail.lastIntactHeight).toBe(head);
      const full = await checkChain(db, FULL);
      expect(full.problems).toEqual([]);
      expect(full.checkedFrom).toBe(0n);
      expect(full.stateNodes).toBeGreaterThan(10);
    } finally {
      await db.close();
    }
  });

  const cases: {
    what: string;
    height: () => bigint;
    damage: (db: Level<Uint8Array, Uint8Array>) => Promise<void>;
    expect: RegExp;
  }[] = [
    {
      what: "a missing block (canonical hash)",
      height: () => head - 3n,
      damage: (db) => db.del(canonicalKey(head - 3n)),
      expect: /block \d+: missing/,
    },
    {
      what: "a missing header",
      height: () => head - 2n,
      damage: async (db) => db.del(headerKey(await hashAt(db, head - 2n))),
      expect: /block \d+: header missing/,
    },
    {
      what: "a header with other bytes",
      height: () => head - 4n,
      damage: async (db) => {
        const h = await hashAt(db, head - 4n);
        const bytes = (await db.get(headerKey(h))) as Uint8Array;
        bytes[bytes.length - 1] ^= 1;
        await db.put(headerKey(h), bytes);
      },
      expect: /header does not hash/,
    },
    {
      what: "a missing body",
      height: () => txBlock,
      damage: async (db) => db.del(bodyKey(await hashAt(db, txBlock))),
      expect: /block \d+: body missing/,
    },
    {
      what: "missing receipts",
      height: () => txBlock,
      damage: async (db) => db.del(receiptsKey(await hashAt(db, txBlock))),
      expect: /block \d+: receipts missing/,
    },
    {
      what: "a missing commit certificate",
      height: () => head - 1n,
      damage: (db) => db.del(commitKey(head - 1n)),
      expect: /block \d+: commit certificate missing/,
    },
    {
      what: "a missing transaction index entry",
      height: () => txBlock,
      damage: (db) => db.del(txIndexKey(txHash)),
      expect: /index of transaction 0 missing/,
    },
  ];

  for (const c of cases) {
    it(`finds ${c.what} and names its height`, async () => {
      const db = await damaged(c.damage);
      try {
        const r = await checkChain(db, FULL);
        expect(r.problems.join("\n")).toMatch(c.expect);
        expect(r.lowestDamagedHeight).toBe(c.height());
        expect(r.lastIntactHeight).toBe(c.height() - 1n);
      } finally {
        await db.close();
      }
    });
  }

  it("finds a missing state trie node of the head state", async () => {
    const db = await damaged(async (raw) => {
      const h = await hashAt(raw, head);
      const { decodeHeader } = await import("../../../../runtime/primitives/block.js");
      const header = decodeHeader((await raw.get(headerKey(h))) as Uint8Array);
      await raw.del(trieNodeKey(bytesToHex(header.stateRoot).slice(2)));
    });
    try {
      const r = await checkChain(db, TAIL);
      expect(r.problems.join("\n")).toMatch(/state at block \d+: state trie node 0x[0-9a-f]+ missing/);
      // Every block since the transactions shares that root: no state below the damage is intact.
      expect(r.lastIntactHeight === null || r.lastIntactHeight < head).toBe(true);
    } finally {
      await db.close();
    }
  });

  it("finds an undecodable head pointer and falls back to the canonical index", async () => {
    const db = await damaged((raw) => raw.put(metaKey("head"), Uint8Array.of(0xff, 0x00)));
    try {
      const r = await checkChain(db, TAIL);
      expect(r.head).toBe(head);
      expect(r.problems.join("\n")).toMatch(/head pointer unreadable/);
    } finally {
      await db.close();
    }
  });

  it("the start-up range stops at minBlocks when the log was small; full finds older damage", async () => {
    const db = await damaged((raw) => raw.del(commitKey(5n)));
    try {
      expect((await checkChain(db, TAIL)).problems).toEqual([]);
      // A replayed log as large as the whole chain pulls the range down to the damage.
      const big = await checkChain(db, { full: false, minBlocks: 8, minBytes: 10_000_000 });
      expect(big.lowestDamagedHeight).toBe(5n);
      expect((await checkChain(db, FULL)).lowestDamagedHeight).toBe(5n);
    } finally {
      await db.close();
    }
  });
  it("a partial check whose damage reaches its lowest block goes on down: the last intact height is checked", async () => {
    // Commits missing from head − 12 to head − 4, across the 8-block start-up range (head − 7 … head): a stop at
    // minBlocks would name head − 8 intact though its commit is gone (seen as a `db rollback` refusal).
    const db = await damaged(async (raw) => {
      for (let n = head - 12n; n <= head - 4n; n++) await raw.del(commitKey(n));
    });
    try {
      const tail = await checkChain(db, TAIL);
      expect(tail.lowestDamagedHeight).toBe(head - 12n);
      expect(tail.lastIntactHeight).toBe(head - 13n);
      expect(await db.getCommit(tail.lastIntactHeight as bigint)).toBeDefined();
    } finally {
      await db.close();
    }
  });
});

describe("rollbackChain", () => {
  it("removes everything above the target in one batch, including the indexes of damaged blocks", async () => {
    const db = await damaged((raw) => raw.del(canonicalKey(txBlock + 1n)));
    try {
      const r = await rollbackChain(db, txBlock - 1n);
      expect(r.previousTop).toBe(head);
      expect(r.scanned).toBe(true);
      expect((await db.getHead())?.number).toBe(txBlock - 1n);
      expect(await db.getTxLocation(txHash)).toBeUndefined();
      expect(await db.getCommit(txBlock)).toBeUndefined();
      const check = await checkChain(db, FULL);
      expect(check.problems).toEqual([]);
      expect(check.head).toBe(txBlock - 1n);
    } finally {
      await db.close();
    }
  });

  it("refuses a target above the head or one that is itself damaged", async () => {
    const db = await damaged((raw) => raw.del(commitKey(10n)));
    try {
      await expect(rollbackChain(db, head + 1n)).rejects.toMatchObject({ type: { code: "ROLLBACK_ERROR_ABOVE_HEAD" } });
      await expect(rollbackChain(db, 10n)).rejects.toMatchObject({ type: { code: "ROLLBACK_ERROR_TARGET_DAMAGED" } });
    } finally {
      await db.close();
    }
  });
});
