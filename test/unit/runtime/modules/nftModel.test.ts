import { createFeeMarket1559Tx } from "@ethereumjs/tx";
import { Address, hexToBytes, privateToAddress } from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { devnetGenesis } from "../../../../genesis/devnet.js";
import { memoryGenesisWorld } from "../../../../genesis/memoryWorld.js";
import { createChainCommon } from "../../../../runtime/evm/common.js";
import { BlockExecution } from "../../../../runtime/executor.js";
import {
  type AbiType,
  type AbiValue,
  concat,
  decodeArgs,
  encodeArgs,
  selector,
} from "../../../../runtime/modules/abi.js";
import { functionTable, ModuleCall, runModuleCall } from "../../../../runtime/modules/host.js";
import type { AzoraEVM } from "../../../../runtime/modules/index.js";
import { collectionFunctions } from "../../../../runtime/modules/nft/collection.js";
import { collectionAddress, NFT_REGISTRY_ADDRESS } from "../../../../runtime/modules/nft/index.js";
import {
  addressToWord,
  balanceSlot,
  COUNTERS_SLOT,
  ownerSlot,
  packCounters,
  uriSlot,
} from "../../../../runtime/modules/nft/storage.js";
import { DEV_KEYS } from "../../../utils/devnode.js";

/**
 * A native collection against a plain model: random sequences of mints, transfers (by the owner,
 * the approved account or anyone), approvals and burns, each run as a top-level call into the
 * collection; every call must succeed exactly when the model says so, and afterwards every view
 * (`ownerOf`, `tokenURI`, `getApproved`, `balanceOf` of every party, `totalSupply`) must answer as
 * the model does — the storage layout (owner word, URI words) read back through the module itself.
 */
const spec = devnetGenesis();
const common = createChainCommon(spec.chainId);
const MINTER = privateToAddress(hexToBytes(DEV_KEYS[0] as `0x${string}`));
const ZERO = new Uint8Array(20);
const PARTIES: Uint8Array[] = [MINTER, ...[1, 2, 3].map((i) => hexToBytes(`0x${"0".repeat(38)}b${i}`)), ZERO];
const COLLECTION = collectionAddress(1n);
const TABLE = functionTable({ name: "NFTCollection", functions: collectionFunctions });
const BLOCK = { timestamp: 1n, number: 1n, prevRandao: new Uint8Array(32) };
const CID = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
/** Lengths around word edges once the prefix is dropped, the longest allowed, and refused ones. */
const URIS = [
  CID,
  `${CID}/1.json`,
  "ipfs://x",
  `ipfs://${"a".repeat(25)}`,
  `ipfs://${"é".repeat(124)}`,
  "ipfs://",
  "http://x",
];

async function world(): Promise<VM> {
  const { genesis, state, vm } = await memoryGenesisWorld(spec, common);
  const create = createFeeMarket1559Tx(
    {
      chainId: common.chainId(),
      nonce: 0n,
      to: NFT_REGISTRY_ADDRESS.toString() as `0x${string}`,
      data: concat(
        selector("createCollection(string,string,address,uint96)"),
        encodeArgs(["string", "string", "address", "uint96"], ["M", "M", ZERO, 0n]),
      ),
      gasLimit: 1_000_000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 0n,
    },
    { common },
  ).sign(hexToBytes(DEV_KEYS[0] as `0x${string}`));
  const env = {
    number: 1n,
    timestamp: spec.genesisTime + 1n,
    gasLimit: spec.gasLimit,
    baseFeePerGas: spec.fees.minBaseFeePerGas,
    miner: MINTER,
    parentHash: genesis.hash,
  };
  const exec = await BlockExecution.begin(vm, state, common, env);
  const r = await exec.apply(create, create.getSenderAddress(), create.serialize());
  expect(r.included && r.receipt.status).toBe(1);
  await exec.seal();
  await exec.commit();
  return vm;
}

/** One call into the collection as `caller`, reverted in state when it fails (as a transaction's would be). */
async function call(vm: VM, caller: Uint8Array, sig: string, types: AbiType[], args: AbiValue[], out: AbiType[] = []) {
  const frame = { to: COLLECTION, caller: new Address(caller), value: 0n, isStatic: false, depth: 0 };
  const mc = new ModuleCall(vm.evm as AzoraEVM, frame, 10_000_000n, BLOCK);
  const state = vm.stateManager;
  await state.checkpoint();
  const r = await runModuleCall(
    "NFTCollection",
    TABLE,
    mc,
    concat(selector(sig), encodeArgs(types, args)),
    10_000_000n,
    false,
  );
  const ok = r.exceptionError === undefined;
  if (ok) await state.commit();
  else await state.revert();
  return { ok, values: ok ? decodeArgs(out, r.returnValue) : [] };
}

type Op =
  | { kind: "mint"; by: number; to: number; uri: number }
  | { kind: "transfer"; by: number; from: number; to: number; id: number }
  | { kind: "approve"; by: number; to: number; id: number }
  | { kind: "burn"; by: number; id: number };

const party = fc.integer({ min: 0, max: PARTIES.length - 1 });
/** A sender (never the zero address), or `OWNER`: the token's current owner, so that many moves succeed. */
const OWNER = -1;
const sender = fc.oneof(fc.constant(OWNER), fc.integer({ min: 0, max: PARTIES.length - 2 }));
const fromParty = fc.oneof(fc.constant(OWNER), party);
const tokenId = fc.integer({ min: 1, max: 16 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("mint" as const),
      by: fc.constantFrom(0, 0, 0, 1),
      to: party,
      uri: fc.integer({ min: 0, max: URIS.length - 1 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("transfer" as const),
      by: sender,
      from: fromParty,
      to: party,
      id: tokenId,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("approve" as const), by: sender, to: party, id: tokenId }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("burn" as const), by: sender, id: tokenId }) },
);

interface Token {
  owner: number;
  uri: string;
  approved: number | undefined;
}

const isZero = (p: number) => p === PARTIES.length - 1;
const validUri = (u: string) => u.startsWith("ipfs://") && u.length > 7 && new TextEncoder().encode(u).length <= 256;

describe("native NFT collection against a model", () => {
  it("random mints, transfers, approvals and burns: outcomes and every view agree", async () => {
    let moved = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 60 }), async (generated) => {
        const ops = structuredClone(generated);
        const vm = await world();
        const tokens = new Map<number, Token>();
        let lastId = 0;
        for (const o of ops) {
          let expected: boolean;
          let r: { ok: boolean };
          const t = "id" in o ? tokens.get(o.id) : undefined;
          // OWNER resolves to the token's owner (another sender when there is none: the call must fail).
          const who = (p: number) => (p !== OWNER ? p : (t?.owner ?? 1));
          if ("by" in o) o.by = who(o.by);
          if (o.kind === "transfer") o.from = who(o.from);
          const authorised = (by: number) => t !== undefined && (t.owner === by || t.approved === by);
          if (o.kind === "mint") {
            expected = o.by === 0 && validUri(URIS[o.uri]) && !isZero(o.to);
            r = await call(
              vm,
              PARTIES[o.by],
              "mint(address,string)",
              ["address", "string"],
              [PARTIES[o.to], URIS[o.uri]],
            );
            if (expected) tokens.set(++lastId, { owner: o.to, uri: URIS[o.uri], approved: undefined });
          } else if (o.kind === "transfer") {
            expected = !isZero(o.to) && authorised(o.by) && t?.owner === o.from;
            const args = [PARTIES[o.from], PARTIES[o.to], BigInt(o.id)];
            r = await call(
              vm,
              PARTIES[o.by],
              "transferFrom(address,address,uint256)",
              ["address", "address", "uint256"],
              args,
            );
            if (expected && t !== undefined) Object.assign(t, { owner: o.to, approved: undefined });
          } else if (o.kind === "approve") {
            expected = t !== undefined && t.owner === o.by;
            r = await call(
              vm,
              PARTIES[o.by],
              "approve(address,uint256)",
              ["address", "uint256"],
              [PARTIES[o.to], BigInt(o.id)],
            );
            if (expected && t !== undefined) t.approved = isZero(o.to) ? undefined : o.to;
          } else {
            expected = authorised(o.by);
            r = await call(vm, PARTIES[o.by], "burn(uint256)", ["uint256"], [BigInt(o.id)]);
            if (expected) tokens.delete(o.id);
          }
          expect(r.ok, JSON.stringify(o)).toBe(expected);
          if (expected && o.kind !== "mint") moved++;
        }

        const anyone = PARTIES[1];
        for (let id = 1; id <= lastId + 1; id++) {
          const t = tokens.get(id);
          const owner = await call(vm, anyone, "ownerOf(uint256)", ["uint256"], [BigInt(id)], ["address"]);
          const uri = await call(vm, anyone, "tokenURI(uint256)", ["uint256"], [BigInt(id)], ["string"]);
          const approved = await call(vm, anyone, "getApproved(uint256)", ["uint256"], [BigInt(id)], ["address"]);
          expect(owner.ok, `token ${id} exists`).toBe(t !== undefined);
          if (t === undefined) continue;
          expect(owner.values[0]).toEqual(PARTIES[t.owner]);
          expect(uri.values[0]).toBe(t.uri);
          expect(approved.values[0]).toEqual(t.approved === undefined ? ZERO : PARTIES[t.approved]);
        }
        for (let p = 0; p < PARTIES.length - 1; p++) {
          const held = [...tokens.values()].filter((t) => t.owner === p).length;
          const balance = await call(vm, anyone, "balanceOf(address)", ["address"], [PARTIES[p]], ["uint256"]);
          expect(balance.values[0], `balance of party ${p}`).toBe(BigInt(held));
        }
        const supply = await call(vm, anyone, "totalSupply()", [], [], ["uint256"]);
        expect(supply.values[0]).toBe(BigInt(tokens.size));
      }),
      { numRuns: 40, seed: 20261206 },
    );
    expect(moved).toBeGreaterThan(50); // the runs did move, approve and burn tokens, not only fail to
  }, 120_000);

  it("reads and moves a token minted by a build before the owner word held the URI's length", async () => {
    const vm = await world();
    const frame = { to: COLLECTION, caller: new Address(MINTER), value: 0n, isStatic: false, depth: 0 };
    const old = new ModuleCall(vm.evm as AzoraEVM, frame, 10_000_000n, BLOCK);
    // What `mint(PARTIES[1], uri)` wrote before: the owner alone, the whole URI as a string at uriSlot.
    const uri = `${CID}/legacy.json`;
    await old.store(COUNTERS_SLOT, packCounters(1n, 1n));
    await old.store(ownerSlot(1n), addressToWord(PARTIES[1]));
    await old.store(balanceSlot(PARTIES[1]), 1n);
    await old.storeString(uriSlot(1n), uri);
    const tokenURI = async (id: bigint) =>
      (await call(vm, MINTER, "tokenURI(uint256)", ["uint256"], [id], ["string"])).values[0];
    expect(await tokenURI(1n)).toBe(uri);
    const moved = await call(
      vm,
      PARTIES[1],
      "transferFrom(address,address,uint256)",
      ["address", "address", "uint256"],
      [PARTIES[1], PARTIES[2], 1n],
    );
    expect(moved.ok).toBe(true);
    expect(await tokenURI(1n)).toBe(uri);
    expect(
      (await call(vm, MINTER, "mint(address,string)", ["address", "string"], [PARTIES[2], CID], ["uint256"])).values,
    ).toEqual([2n]);
    expect(await tokenURI(2n)).toBe(CID);
    const balance = await call(vm, MINTER, "balanceOf(address)", ["address"], [PARTIES[2]], ["uint256"]);
    expect(balance.values).toEqual([2n]);
  });
});
