import { rmSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeCommit, verifiesCommitsAlike } from "../../../../consensus/commit.js";
import { devnetGenesis } from "../../../../genesis/devnet.js";
import type { GenesisSpec } from "../../../../genesis/spec.js";
import { Chain } from "../../../../node/chain/chain.js";
import { UpgradeErrorCode, UpgradeRequiredError } from "../../../../node/chain/upgrades.js";
import { ValidatorStore } from "../../../../node/chain/validatorStore.js";
import { resolveConfig } from "../../../../node/config.js";
import { ChainApp } from "../../../../node/consensus/app.js";
import { Ed25519Verifier } from "../../../../node/crypto/ed25519.js";
import { effectsKey, validatorsKey } from "../../../../node/db/keys.js";
import { rollbackChain } from "../../../../node/db/rollback.js";
import { openChainStorage } from "../../../../node/db/storage.js";
import { createLogger } from "../../../../node/logger.js";
import { DEFAULT_MEMPOOL_OPTIONS, Mempool } from "../../../../node/mempool/index.js";
import { startDevNode } from "../../../../node/node.js";
import {
  BlockSync,
  decodeSyncItem,
  encodeSyncItem,
  encodeSyncItemRaw,
  SyncErrorCode,
  SyncServer,
  verifySyncItems,
} from "../../../../node/sync/index.js";
import type { BlockEffects, EndBlockContext } from "../../../../runtime/effects.js";
import { createChainCommon } from "../../../../runtime/evm/common.js";
import { nullLogger } from "../../../../runtime/lib/logger.js";
import { NATIVE_MODULES, type NativeModule } from "../../../../runtime/modules/index.js";
import { type Block, encodeBody, encodeHeader, hashHeader } from "../../../../runtime/primitives/block.js";
import { bytesToHex, equalsBytes } from "../../../../runtime/primitives/bytes.js";
import { hashValidatorSet, type Validator } from "../../../../runtime/primitives/validatorSet.js";
import { commitFor, testValidators } from "../../../utils/consensusFixtures.js";
import { startInProcessNode, tempDir } from "../../../utils/devnode.js";
import { rpc } from "../../../utils/network.js";

/**
 * The node's side of BlockEffects, on real LevelDB chains executing real blocks: validator updates a
 * block reports take effect two heights later on every node and are stored per height; a node syncing
 * from genesis verifies each commit against the validators of its own height; parameter changes take
 * effect at their height; a software-upgrade plan stops a node that does not run the named version.
 * The effects come from a module's end-block hook, as staking and governance report them.
 */

const { signers, validators: keys } = testValidators(5);
const POWER = [10n, 10n, 10n, 10n, 30n];
const ALL = keys.map((v, i) => ({ ...v, votingPower: POWER[i], feeRecipient: new Uint8Array(20).fill(i + 1) }));

function spec(): GenesisSpec {
  const g = devnetGenesis();
  return {
    ...g,
    validators: ALL.slice(0, 4),
    validatorNames: ["v0", "v1", "v2", "v3"],
    // Staking self-stakes each genesis validator for its operator (one account per validator).
    validatorOperators: ALL.slice(0, 4).map((_, i) => new Uint8Array(20).fill(0x10 + i)),
  };
}

/** What the test module's end-block hook reports, by block height. */
let plan = new Map<bigint, Partial<BlockEffects>>();
// A module without an end-block hook of its own (staking and governance have one and keep it).
const hooked = NATIVE_MODULES.find((m) => m.endBlock === undefined) as NativeModule;
beforeEach(() => {
  plan = new Map();
  hooked.endBlock = async (ctx: EndBlockContext) => plan.get(ctx.env.number);
});
afterEach(() => {
  delete hooked.endBlock;
});

const dirs: string[] = [];
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface TestNode {
  dir: string;
  chain: Chain;
  app: ChainApp;
  close(): Promise<void>;
}

async function openNode(dir = tempDir("effects"), nodeVersion?: string): Promise<TestNode> {
  if (!dirs.includes(dir)) dirs.push(dir);
  const g = spec();
  const { db, record } = await openChainStorage(dir, { syncWrites: false });
  const chain = await Chain.open(db, g, createChainCommon(g.chainId), nullLogger, { nodeVersion });
  const mempool = new Mempool(
    { ...DEFAULT_MEMPOOL_OPTIONS, minBaseFeePerGas: 0n, blockGasLimit: g.gasLimit },
    { state: { getAccount: async () => ({ nonce: 0n, balance: 0n }) } },
  );
  const app = new ChainApp({ chain, mempool, verifier: new Ed25519Verifier(), log: nullLogger });
  let closed = false;
  const node = {
    dir,
    chain,
    app,
    close: async () => {
      if (closed) return;
      closed = true;
      record.close();
      await db.close();
    },
  };
  open.push(node);
  return node;
}

const signerOf = (v: Validator) => signers[ALL.findIndex((x) => equalsBytes(x.publicKey, v.publicKey))];

/** The next block on `node` (its proposer of round 0), committed by every validator of the height. */
async function build(node: TestNode): Promise<{ block: Block; commit: Uint8Array; proposer: Validator }> {
  const { chain } = node;
  const height = chain.head.header.number + 1n;
  const vals = chain.validators.validators(height) as readonly Validator[];
  const proposer = vals[chain.validators.proposer(height, 0)];
  const lastCommit = height === 1n ? new Uint8Array(0) : ((await chain.db.getCommit(height - 1n)) as Uint8Array);
  const { block } = await node.app.buildProposal({ proposer, timestamp: 1_700_000_000n + height, lastCommit });
  const commit = commitFor(
    chain.spec.chainId,
    vals.map(signerOf),
    block,
    vals.map((_, i) => i),
  );
  return { block, commit, proposer };
}

/** Builds `count` blocks on `a`; every other node executes and commits each one too. */
async function run(a: TestNode, others: TestNode[], count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const { block, commit, proposer } = await build(a);
    for (const b of others) {
      const verdict = await b.app.processProposal(block, proposer);
      expect(verdict, `height ${block.header.number}`).toMatchObject({ valid: true });
      await b.app.finalize(block, commit, proposer);
    }
    await a.app.finalize(block, commit, proposer);
  }
}

const keysAt = (chain: Chain, h: bigint) => (chain.validators.validators(h) ?? []).map((v) => bytesToHex(v.publicKey));
const key = (i: number) => bytesToHex(ALL[i].publicKey);
const update = (i: number, power: bigint) => ({
  publicKey: ALL[i].publicKey,
  power,
  feeRecipient: ALL[i].feeRecipient,
});

describe("validator updates from BlockEffects", () => {
  it("take effect at H + 2 on every node, are in each header's validatorsHash, and read back per height after a restart", async () => {
    plan.set(3n, { validatorUpdates: [update(4, 30n)] }); // joins at 5
    plan.set(6n, { validatorUpdates: [update(0, 0n)] }); // leaves at 8
    const a = await openNode();
    const b = await openNode();
    await run(a, [b], 10);
    for (const n of [a, b]) {
      expect(keysAt(n.chain, 4n)).toEqual([0, 1, 2, 3].map(key));
      expect(keysAt(n.chain, 5n)).toEqual([4, 0, 1, 2, 3].map(key).sort(byPowerThenAddress));
      expect(keysAt(n.chain, 8n)).not.toContain(key(0));
      expect(keysAt(n.chain, 7n)).toContain(key(0));
    }
    const setHashes = new Map<bigint, string>();
    for (let h = 1n; h <= 10n; h++) {
      const header = (await a.chain.getHeaderByNumber(h))?.header;
      const store = new ValidatorStore(a.chain.db, nullLogger);
      const stored = await store.load(h);
      expect(bytesToHex(header?.validatorsHash as Uint8Array), `height ${h}`).toBe(
        bytesToHex(stored?.hash as Uint8Array),
      );
      setHashes.set(h, bytesToHex(stored?.hash as Uint8Array));
    }
    expect(new Set(setHashes.values()).size).toBe(3);
    // A commit at 5 needs the newcomer: the others hold 40 of 70.
    const signersAt5 = decodeCommit((await a.chain.db.getCommit(5n)) as Uint8Array).signatures.length;
    expect(signersAt5).toBe(5);

    // After a restart: every height's validators, priorities included, from the stored records.
    const before = new Map<bigint, string>();
    for (let h = 1n; h <= 12n; h++) {
      const v = await a.chain.validatorsAt(h);
      before.set(h, JSON.stringify(v?.map((x) => [bytesToHex(x.publicKey), x.votingPower.toString()])));
    }
    const prio = a.chain.validators.setAt(12n).proposerPriorities.join();
    await a.close();
    const again = await openNode(a.dir);
    for (let h = 1n; h <= 12n; h++) {
      const v = await again.chain.validatorsAt(h);
      expect(JSON.stringify(v?.map((x) => [bytesToHex(x.publicKey), x.votingPower.toString()])), `height ${h}`).toBe(
        before.get(h),
      );
    }
    expect(again.chain.validators.setAt(12n).proposerPriorities.join()).toBe(prio);
    await run(again, [b], 2); // and goes on with the same proposers as the node that never restarted
  });

  it("serves each block as its stored encodings: the bytes of the decoded block encoded again, held blocks too", async () => {
    const a = await openNode();
    await run(a, [], 6);
    const server = new SyncServer(a.chain);
    const hex = (items: Uint8Array[]) => items.map(bytesToHex);
    const served = await server.blocks(1n, 64);
    expect(served).toHaveLength(6);
    expect(hex(served)).toEqual(hex(await servedByDecoding(a.chain, 1n, 64)));
    for (const [from, count] of [
      [3n, 2],
      [5n, 64],
      [6n, 1],
      [7n, 64],
      [2n, 0],
    ] as const) {
      expect(hex(await server.blocks(from, count)), `${from} +${count}`).toEqual(
        hex(await servedByDecoding(a.chain, from, count)),
      );
    }
    // A body with transactions and evidence: the raw encoding is the same bytes.
    const { block, commit } = decodeItems(served.slice(2, 3))[0];
    const body = {
      transactions: [Uint8Array.of(1, 2, 3), new Uint8Array(70).fill(9)],
      lastCommit: block.body.lastCommit,
      evidence: [new Uint8Array(200).fill(7)],
    };
    expect(bytesToHex(encodeSyncItemRaw(encodeHeader(block.header), encodeBody(body), commit))).toBe(
      bytesToHex(encodeSyncItem({ header: block.header, body }, commit)),
    );
    // A node syncing them serves what its synced run holds (not in LevelDB yet) alike.
    const c = await openNode();
    const cServer = new SyncServer(c.chain);
    const items = decodeItems(served);
    await c.chain.commitSyncedRun(
      items.map((i) => hashHeader(i.block.header)),
      async () => {
        await applyBlocks(c, items.slice(0, 4));
        expect(c.chain.db.heldSize.blocks).toBe(4);
        expect(hex(await cServer.blocks(1n, 64))).toEqual(hex(served.slice(0, 4)));
        await applyBlocks(c, items.slice(4));
      },
    );
    expect(hex(await cServer.blocks(1n, 64))).toEqual(hex(served));
  });

  it("a node syncing from genesis verifies each commit against the validators of its height", async () => {
    plan.set(2n, { validatorUpdates: [update(4, 30n)] }); // joins at 4: the others then hold 40 of 70
    const a = await openNode();
    await run(a, [], 8);
    const c = await openNode();
    const server = new SyncServer(a.chain);

    // A peer that serves block 4 with a commit of the genesis validators only: enough for the old set
    // (40 of 40), not for the set of height 4 (40 of 70).
    await applyBlocks(c, decodeItems(await server.blocks(1n, 3)));
    const items = await server.blocks(4n, 1);
    const genuine = decodeItems(items)[0];
    const vals4 = c.chain.validators.validators(4n) as readonly Validator[];
    const old = vals4.map((v, i) => (ALL.slice(0, 4).some((g) => equalsBytes(g.publicKey, v.publicKey)) ? i : -1));
    const forged = commitFor(
      a.chain.spec.chainId,
      vals4.map(signerOf),
      genuine.block,
      old.filter((i) => i >= 0),
    );
    const ctx = { chainId: a.chain.spec.chainId, schedule: c.chain.validators, verifier: new Ed25519Verifier() };
    const refused = await verifySyncItems([encodeSyncItem(genuine.block, forged)], 4n, ctx);
    expect(refused.blocks).toEqual([]);
    expect(refused.error?.type.code).toBe(SyncErrorCode.INVALID_BLOCK);
    expect(refused.error?.message).toMatch(/INSUFFICIENT_POWER|power/i);

    // The real block sync, against the serving node: verified per height, executed, same state.
    let idle = 0;
    const sync = new BlockSync(
      { chainId: a.chain.spec.chainId },
      {
        network: {
          peerIds: () => ["a"],
          requestStatus: () => server.status(),
          requestBlocks: (_peer, from, count) => server.blocks(from, count),
          penalize: () => {
            throw new Error("the honest peer was penalised");
          },
        },
        chain: { headHeight: () => c.chain.head.header.number, apply: (blocks) => applyBlocks(c, blocks) },
        schedule: c.chain.validators,
        verifier: new Ed25519Verifier(),
        log: nullLogger,
        now: () => 0,
        onIdle: () => idle++,
      },
    );
    sync.poll();
    await until(() => idle > 0 && c.chain.head.header.number >= 8n);
    await sync.stop();
    expect(c.chain.head.header.number).toBe(8n);
    expect(bytesToHex(c.chain.head.hash)).toBe(bytesToHex(a.chain.head.hash));
    expect(bytesToHex(c.chain.head.header.stateRoot)).toBe(bytesToHex(a.chain.head.header.stateRoot));
    for (let h = 1n; h <= 10n; h++) expect(keysAt(c.chain, h), `height ${h}`).toEqual(keysAt(a.chain, h));
  });

  it("a block whose commit only the guessed validators signed is refused mid-batch, nothing of it committed", async () => {
    plan.set(2n, { validatorUpdates: [update(4, 30n)] }); // the set changes at 4
    const a = await openNode();
    await run(a, [], 8);
    const c = await openNode();
    const server = new SyncServer(a.chain);
    // Block 4 as the old validators alone would make it: a header naming their set, their commit. Verified in one
    // response with blocks 1–3 (before block 2 settles height 4), it matches the guess (the newest settled set).
    const old = a.chain.validators.validators(3n) as readonly Validator[];
    const genuine = decodeItems(await server.blocks(4n, 1))[0].block;
    const forged: Block = { ...genuine, header: { ...genuine.header, validatorsHash: hashValidatorSet(old) } };
    const forgedItem = encodeSyncItem(forged, commitFor(a.chain.spec.chainId, old.map(signerOf), forged, [0, 1, 2, 3]));
    const penalties: string[] = [];
    const sync = new BlockSync(
      { chainId: a.chain.spec.chainId },
      {
        network: {
          peerIds: () => ["evil"],
          requestStatus: () => server.status(),
          requestBlocks: async (_peer, from, count) =>
            (await server.blocks(from, Math.min(count, Number(4n - from) + 1))).map((item, i) =>
              from + BigInt(i) === 4n ? forgedItem : item,
            ),
          penalize: (_peer, _points, reason) => penalties.push(reason),
        },
        chain: { headHeight: () => c.chain.head.header.number, apply: (blocks) => applyBlocks(c, blocks) },
        schedule: c.chain.validators,
        verifier: new Ed25519Verifier(),
        log: nullLogger,
        now: () => 0,
      },
    );
    sync.poll();
    await until(() => penalties.length > 0);
    await sync.stop();
    expect(penalties).toEqual(["sync_invalid"]); // verified again against the validators of height 4: refused
    expect(c.chain.head.header.number).toBe(3n);
    expect(bytesToHex(c.chain.head.hash)).toBe(bytesToHex((await a.chain.db.getCanonicalHash(3n)) as Uint8Array));
  });
});

describe("parameter changes from BlockEffects", () => {
  it("take effect at their stated height on every node (headers and validation), and survive a restart", async () => {
    const g = spec();
    const gasLimit = g.gasLimit + 10_000_000n;
    const minBaseFeePerGas = g.fees.minBaseFeePerGas * 2n + 1n;
    plan.set(2n, { paramChanges: [{ height: 5n, changes: { gasLimit, fees: { minBaseFeePerGas } } }] });
    const a = await openNode();
    const b = await openNode();
    await run(a, [b], 4);
    expect(a.chain.params.at(4n).gasLimit).toBe(g.gasLimit);
    expect(a.chain.params.at(5n).gasLimit).toBe(gasLimit);
    // Block 5 built with the old gas limit is refused by a node that applied the change.
    const { block, proposer } = await build(a);
    expect(block.header.gasLimit).toBe(gasLimit);
    expect(block.header.baseFeePerGas).toBeGreaterThanOrEqual(minBaseFeePerGas);
    const stale = { ...block, header: { ...block.header, gasLimit: g.gasLimit } };
    expect(await b.app.processProposal(stale, proposer)).toMatchObject({ valid: false });
    await b.app.reset();
    await a.app.reset();
    await run(a, [b], 2);
    expect((await b.chain.getHeaderByNumber(6n))?.header.gasLimit).toBe(gasLimit);
    expect((await b.chain.getHeaderByNumber(4n))?.header.gasLimit).toBe(g.gasLimit);
    await b.close();
    const again = await openNode(b.dir);
    expect(again.chain.params.at(4n).gasLimit).toBe(g.gasLimit);
    expect(again.chain.params.at(5n).gasLimit).toBe(gasLimit);
    expect(again.chain.params.at(9n).fees.minBaseFeePerGas).toBe(minBaseFeePerGas);
  });
});

describe("software-upgrade plans from BlockEffects", () => {
  it("stop a node below the version at the plan's height (before it executes anything there), not one that runs it", async () => {
    plan.set(2n, { upgradePlan: { name: "v2-staking", height: 5n, version: "99.0.0" } });
    const a = await openNode();
    await run(a, [], 4);
    expect(a.chain.upgrades.haltReason(4n)).toBeNull();
    const reason = a.chain.upgrades.haltReason(5n);
    expect(reason).toMatch(/software upgrade "v2-staking" is required from height 5/);
    expect(reason).toMatch(/needs 99\.0\.0 or later/);
    let thrown: unknown = null;
    try {
      a.chain.upgrades.check(5n);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(UpgradeRequiredError);
    expect((thrown as UpgradeRequiredError).type).toMatchObject({ code: UpgradeErrorCode.REQUIRED, height: 5n });
    await a.close();
    // After a restart the plan is still known (read from the stored effects) …
    const old = await openNode(a.dir);
    expect(old.chain.upgrades.haltReason(5n)).not.toBeNull();
    await old.close();
    // … and the upgraded software goes on.
    const upgraded = await openNode(a.dir, "99.0.0");
    expect(upgraded.chain.upgrades.haltReason(5n)).toBeNull();
    await run(upgraded, [], 2);
    expect(upgraded.chain.head.header.number).toBe(6n);
  });
});

describe("a dev node (in process) at a scheduled upgrade", () => {
  it("stops producing at the height with the plan's message, and refuses to start again below the version", async () => {
    plan.set(2n, { upgradePlan: { name: "v2-staking", height: 4n, version: "99.0.0" } });
    const dataDir = tempDir("upgrade-dev");
    dirs.push(dataDir);
    const cfg = resolveConfig(undefined, {
      dataDir,
      rpc: { port: 0 },
      blockTimeMs: 20,
      log: { level: "silent" },
      storage: { syncWrites: false },
    });
    const { logger } = createLogger({ level: "silent", format: "json" });
    let stopped: (e: Error) => void = () => undefined;
    const fatal = new Promise<Error>((resolve) => {
      stopped = resolve;
    });
    const node = await startDevNode(cfg, logger, { onFatal: (e) => stopped(e) });
    let err: Error;
    try {
      err = await fatal;
      expect(node.chain.head.header.number).toBe(3n);
    } finally {
      await node.close();
    }
    expect(err).toBeInstanceOf(UpgradeRequiredError);
    expect(err.message).toMatch(/software upgrade "v2-staking" is required from height 4.*resumes at height 4/);
    await expect(startDevNode(cfg, logger)).rejects.toBeInstanceOf(UpgradeRequiredError);
  });
});

describe("a dev chain rewind (evm_revert, anvil_reset)", () => {
  it("takes validators, parameters and upgrade plans back to what the remaining blocks settled", async () => {
    const g = spec();
    plan.set(2n, {
      paramChanges: [{ height: 4n, changes: { gasLimit: g.gasLimit * 2n } }],
      upgradePlan: { name: "later", height: 50n, version: "99.0.0" },
    });
    const node = await startInProcessNode({ blockTimeMs: 3_600_000 });
    try {
      await rpc(node.url, "anvil_mine", ["0x1"]);
      const snapshot = await rpc<string>(node.url, "evm_snapshot");
      await rpc(node.url, "anvil_mine", ["0x4"]);
      expect(node.chain.params.at(4n).gasLimit).toBe(g.gasLimit * 2n);
      expect(node.chain.upgrades.haltReason(50n)).not.toBeNull();
      plan = new Map();
      expect(await rpc(node.url, "evm_revert", [snapshot])).toBe(true);
      expect(node.chain.head.header.number).toBe(1n);
      expect(node.chain.params.at(4n).gasLimit).toBe(g.gasLimit);
      expect(node.chain.upgrades.haltReason(50n)).toBeNull();
      expect(node.chain.validators.settledThrough).toBe(3n);
      await rpc(node.url, "anvil_mine", ["0x4"]);
      expect(node.chain.head.header.number).toBe(5n);
      expect((await node.chain.getHeaderByNumber(4n))?.header.gasLimit).toBe(g.gasLimit);
    } finally {
      await node.cleanup();
    }
  });
});

describe("a rollback (azora db rollback)", () => {
  it("drops the effects and validator records of the dropped blocks: a re-committed height does not inherit them", async () => {
    const g = spec();
    plan.set(4n, {
      paramChanges: [{ height: 6n, changes: { gasLimit: g.gasLimit * 2n } }],
      validatorUpdates: [update(4, 30n)],
    });
    const a = await openNode();
    await run(a, [], 6);
    expect(a.chain.params.at(6n).gasLimit).toBe(g.gasLimit * 2n);
    await a.close();
    const { db, record } = await openChainStorage(a.dir, { syncWrites: false });
    await rollbackChain(db, 3n);
    expect(await db.getRecord(effectsKey(4n))).toBeUndefined();
    expect(await db.getRecord(validatorsKey(6n))).toBeUndefined();
    expect(await db.getRecord(validatorsKey(5n))).toBeDefined(); // settled by block 3, which stays
    record.close();
    await db.close();
    plan = new Map(); // the chain goes another way from height 4
    const again = await openNode(a.dir);
    expect(again.chain.params.at(6n).gasLimit).toBe(g.gasLimit);
    await run(again, [], 4);
    await again.close();
    const later = await openNode(a.dir);
    expect(later.chain.params.at(6n).gasLimit).toBe(g.gasLimit);
    expect(keysAt(later.chain, 7n)).toEqual([0, 1, 2, 3].map(key));
  });
});

function byPowerThenAddress(a: string, b: string): number {
  const va = ALL.find((v) => bytesToHex(v.publicKey) === a) as Validator;
  const vb = ALL.find((v) => bytesToHex(v.publicKey) === b) as Validator;
  if (va.votingPower !== vb.votingPower) return va.votingPower > vb.votingPower ? -1 : 1;
  return Buffer.compare(va.address, vb.address);
}

function decodeItems(items: Uint8Array[]) {
  return items.map((raw) => {
    const { block, commit } = decodeSyncItem(raw);
    return { block, commit, round: decodeCommit(commit).round };
  });
}

/** What `SyncServer.blocks` served before it sent the stored encodings: each block decoded and encoded again. */
async function servedByDecoding(chain: Chain, from: bigint, count: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const head = chain.head.header.number;
  for (let n = from; n < from + BigInt(count) && n <= head; n++) {
    const ref = await chain.getHeaderByNumber(n);
    const body = ref === undefined ? undefined : await chain.db.getBody(ref.hash);
    const commit = await chain.db.getCommit(n);
    if (ref === undefined || body === undefined || commit === undefined) break;
    out.push(encodeSyncItem({ header: ref.header, body }, commit));
  }
  return out;
}

/**
 * Commits synced blocks on `node` as the driver does: each through the app, named for its proposer; stops before one
 * whose commit was verified against other validators than its height's.
 */
async function applyBlocks(
  node: TestNode,
  blocks: { block: Block; commit: Uint8Array; verifiedWith?: readonly Validator[] }[],
): Promise<void> {
  for (const b of blocks) {
    const n = b.block.header.number;
    if (n <= node.chain.head.header.number) continue;
    const vals = node.chain.validators.validators(n) as readonly Validator[];
    if (b.verifiedWith !== undefined && !verifiesCommitsAlike(b.verifiedWith, vals)) return;
    const proposer = vals.find((v) => equalsBytes(v.address, b.block.header.proposer)) as Validator;
    await node.app.finalize(b.block, b.commit, proposer);
  }
}

/**
 * Waits until `cond` holds, checking every few milliseconds: block sync applies on real LevelDB, whose writes take
 * as long as the machine's load makes them (a count of event-loop turns is not a bound). Gives up after 30 s.
 */
async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("the sync never got there");
    await new Promise((r) => setTimeout(r, 5));
  }
}
