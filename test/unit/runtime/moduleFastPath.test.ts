import {
  createAccessList2930Tx,
  createFeeMarket1559Tx,
  createLegacyTx,
  createTxFromRLP,
  type TypedTransaction,
} from "@ethereumjs/tx";
import { generateAddress, hexToBytes, privateToAddress } from "@ethereumjs/util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildGenesis } from "../../../genesis/build.js";
import { devnetGenesis } from "../../../genesis/devnet.js";
import { createChainCommon } from "../../../runtime/evm/common.js";
import { type BlockEnv, createAzoraVM } from "../../../runtime/evm/vm.js";
import { BlockExecution } from "../../../runtime/executor.js";
import { type AbiType, type AbiValue, concat, encodeArgs, selector } from "../../../runtime/modules/abi.js";
import { LEARN_ADDRESS, NFT_REGISTRY_ADDRESS } from "../../../runtime/modules/index.js";
import { collectionAddress } from "../../../runtime/modules/nft/index.js";
import { bytesToHex } from "../../../runtime/primitives/bytes.js";
import { encodeReceiptForRoot, logsBloom } from "../../../runtime/primitives/receipt.js";
import { orderedTrieRoot } from "../../../runtime/primitives/trieRoot.js";
import { TrieNodeStore } from "../../../runtime/state/trieNodeStore.js";
import { HEAD_STATE_OPTIONS, openWorldState } from "../../../runtime/state/worldState.js";
import { DEV_KEYS } from "../../utils/devnode.js";

/**
 * Differential test of the direct native-module path (runtime/moduleFastPath.ts): random sequences
 * of calls into LEARN and NFT collections — valid and failing (short balance or allowance, not the
 * owner, bad arguments, unknown selectors, out of gas, too little gas for the intrinsic cost, fees
 * below the base fee, wrong nonces, value or access lists attached, calls that need the EVM) — run
 * through the executor with the direct path and with the plain ethereumjs VM must give the same
 * inclusions, receipts and roots, over two blocks.
 */
const spec = devnetGenesis();
const common = createChainCommon(spec.chainId);
const POOR_KEY = `0x${"11".repeat(32)}` as const;
// DEV_KEYS[0] is LEARN's admin and issuer and holds LEARN, as do 1 and 2; POOR has neither AZR nor LEARN.
const KEYS = [DEV_KEYS[0], DEV_KEYS[1], DEV_KEYS[2], POOR_KEY];
const addressOf = (k: string) => privateToAddress(hexToBytes(k as `0x${string}`));
const MINER = addressOf(DEV_KEYS[1]); // the miner also sends and receives
const ZERO = new Uint8Array(20);
/** Accounts named in arguments: the senders, the zero address, an account with code (LEARN itself), a fresh one. */
const PARTIES: Uint8Array[] = [
  ...KEYS.map(addressOf),
  ZERO,
  LEARN_ADDRESS.bytes,
  hexToBytes("0x000000000000000000000000000000000000dead"),
];
/** Collection 1 (key 0's), 2 (key 1's), and 3, which nobody created. */
const COLLECTIONS = [collectionAddress(1n), collectionAddress(2n), collectionAddress(3n)];
const BASE_FEE = 1_000_000_000n;
const URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";

type Op =
  | { kind: "learn.transfer"; to: number; amount: bigint }
  | { kind: "learn.approve"; spender: number; amount: bigint }
  | { kind: "learn.transferFrom"; from: number; to: number; amount: bigint }
  | { kind: "learn.mint"; to: number; amount: bigint }
  | { kind: "learn.burn"; amount: bigint }
  | { kind: "learn.balanceOf"; who: number }
  | { kind: "nft.mint"; collection: number; to: number; uri: string }
  | { kind: "nft.transferFrom"; collection: number; from: number; to: number; id: bigint }
  | { kind: "nft.safeTransferFrom"; collection: number; from: number; to: number; id: bigint }
  | { kind: "nft.approve"; collection: number; to: number; id: bigint }
  | { kind: "nft.setApprovalForAll"; collection: number; operator: number; approved: boolean }
  | { kind: "nft.burn"; collection: number; id: bigint }
  | { kind: "junk"; target: number; data: Uint8Array }
  | { kind: "truncated"; target: number; cut: number };

interface Spec {
  key: number;
  op: Op;
  gasLimit: bigint;
  value: bigint;
  type: 0 | 1 | 2;
  accessList: boolean;
  maxFee: bigint;
  tip: bigint;
  nonceDelta: number;
}

const party = fc.nat({ max: PARTIES.length - 1 });
const amount = fc.oneof(
  fc.constantFrom(0n, 1n, 10n ** 18n, 2n * 10n ** 24n, 2n ** 256n - 1n),
  fc.bigInt({ min: 1n, max: 10n ** 20n }),
);
const collection = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 1) }, { weight: 1, arbitrary: fc.constant(2) });
const tokenId = fc.bigInt({ min: 1n, max: 6n });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("learn.transfer" as const), to: party, amount }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("learn.approve" as const), spender: party, amount }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("learn.transferFrom" as const), from: party, to: party, amount }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("learn.mint" as const), to: party, amount }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("learn.burn" as const), amount }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("learn.balanceOf" as const), who: party }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("nft.mint" as const),
      collection,
      to: party,
      uri: fc.constantFrom(URI, "not-ipfs", `${URI}/${"x".repeat(40)}`),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("nft.transferFrom" as const),
      collection,
      from: party,
      to: party,
      id: tokenId,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("nft.safeTransferFrom" as const),
      collection,
      from: party,
      to: party,
      id: tokenId,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("nft.approve" as const), collection, to: party, id: tokenId }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("nft.setApprovalForAll" as const),
      collection,
      operator: party,
      approved: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("nft.burn" as const), collection, id: tokenId }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("junk" as const),
      target: fc.nat({ max: 3 }),
      // Long non-zero calldata makes the EIP-7623 floor exceed intrinsic + execution gas.
      data: fc.oneof(
        fc.uint8Array({ minLength: 4, maxLength: 40 }),
        fc.uint8Array({ minLength: 600, maxLength: 1200 }),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("truncated" as const),
      target: fc.nat({ max: 3 }),
      cut: fc.nat({ max: 40 }),
    }),
  },
);

const specArb: fc.Arbitrary<Spec> = fc.record({
  key: fc.oneof({ weight: 6, arbitrary: fc.nat({ max: 2 }) }, { weight: 1, arbitrary: fc.constant(3) }),
  op: opArb,
  gasLimit: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(120_000n, 300_000n) },
    { weight: 3, arbitrary: fc.constantFrom(21_000n, 21_700n, 23_500n, 30_000n, 45_000n, 60_000n) },
  ),
  value: fc.oneof({ weight: 12, arbitrary: fc.constant(0n) }, { weight: 1, arbitrary: fc.constant(1n) }),
  type: fc.constantFrom(0 as const, 1 as const, 2 as const),
  accessList: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  maxFee: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(2n * BASE_FEE, 10n * BASE_FEE) },
    {
      weight: 1,
      arbitrary: fc.constant(BASE_FEE - 1n),
    },
  ),
  tip: fc.constantFrom(0n, 1n, BASE_FEE, 5n * BASE_FEE),
  nonceDelta: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1) }),
});

const call = (sig: string, types: AbiType[], values: AbiValue[]) => concat(selector(sig), encodeArgs(types, values));

/** The transaction's target and calldata. */
function encode(op: Op): { to: Uint8Array; data: Uint8Array } {
  const learn = LEARN_ADDRESS.bytes;
  const p = (i: number) => PARTIES[i];
  switch (op.kind) {
    case "learn.transfer":
      return { to: learn, data: call("transfer(address,uint256)", ["address", "uint256"], [p(op.to), op.amount]) };
    case "learn.approve":
      return {
        to: learn,
        data: call("approve(address,uint256)", ["address", "uint256"], [p(op.spender), op.amount]),
      };
    case "learn.transferFrom":
      return {
        to: learn,
        data: call(
          "transferFrom(address,address,uint256)",
          ["address", "address", "uint256"],
          [p(op.from), p(op.to), op.amount],
        ),
      };
    case "learn.mint":
      return { to: learn, data: call("mint(address,uint256)", ["address", "uint256"], [p(op.to), op.amount]) };
    case "learn.burn":
      return { to: learn, data: call("burn(uint256)", ["uint256"], [op.amount]) };
    case "learn.balanceOf":
      return { to: learn, data: call("balanceOf(address)", ["address"], [p(op.who)]) };
    case "nft.mint":
      return {
        to: COLLECTIONS[op.collection].bytes,
        data: call("mint(address,string)", ["address", "string"], [p(op.to), op.uri]),
      };
    case "nft.transferFrom":
    case "nft.safeTransferFrom":
      return {
        to: COLLECTIONS[op.collection].bytes,
        data: call(
          `${op.kind.slice(4)}(address,address,uint256)`,
          ["address", "address", "uint256"],
          [p(op.from), p(op.to), op.id],
        ),
      };
    case "nft.approve":
      return {
        to: COLLECTIONS[op.collection].bytes,
        data: call("approve(address,uint256)", ["address", "uint256"], [p(op.to), op.id]),
      };
    case "nft.setApprovalForAll":
      return {
        to: COLLECTIONS[op.collection].bytes,
        data: call("setApprovalForAll(address,bool)", ["address", "bool"], [p(op.operator), op.approved]),
      };
    case "nft.burn":
      return { to: COLLECTIONS[op.collection].bytes, data: call("burn(uint256)", ["uint256"], [op.id]) };
    case "junk":
      return { to: op.target === 3 ? LEARN_ADDRESS.bytes : COLLECTIONS[op.target].bytes, data: op.data };
    case "truncated": {
      const full = call("transferFrom(address,address,uint256)", ["address", "address", "uint256"], [ZERO, ZERO, 1n]);
      const to = op.target === 3 ? LEARN_ADDRESS.bytes : COLLECTIONS[op.target].bytes;
      return { to, data: full.subarray(0, 4 + op.cut) };
    }
  }
}

function build(s: Spec, nonce: bigint): TypedTransaction {
  const key = hexToBytes(KEYS[s.key] as `0x${string}`);
  const { to, data } = encode(s.op);
  const base = { nonce, to, data, value: s.value, gasLimit: s.gasLimit };
  const accessList = s.accessList ? [{ address: bytesToHex(to), storageKeys: [] }] : [];
  let tx: TypedTransaction;
  if (s.type === 0) tx = createLegacyTx({ ...base, gasPrice: s.maxFee }, { common }).sign(key);
  else if (s.type === 1)
    tx = createAccessList2930Tx({ ...base, chainId: spec.chainId, gasPrice: s.maxFee, accessList }, { common }).sign(
      key,
    );
  else {
    const tip = s.tip > s.maxFee ? s.maxFee : s.tip;
    tx = createFeeMarket1559Tx(
      { ...base, chainId: spec.chainId, maxFeePerGas: s.maxFee, maxPriorityFeePerGas: tip, accessList },
      { common },
    ).sign(key);
  }
  return createTxFromRLP(tx.serialize(), { common });
}

/** Key 0 and key 1 each create a collection (through the VM in both modes): collections 1 and 2. */
function setupTxs(): TypedTransaction[] {
  return [0, 1].map((k) =>
    createFeeMarket1559Tx(
      {
        chainId: spec.chainId,
        nonce: 0n,
        to: NFT_REGISTRY_ADDRESS.bytes,
        data: call(
          "createCollection(string,string,address,uint96)",
          ["string", "string", "address", "uint96"],
          [`C${k}`, `C${k}`, PARTIES[2], 250n],
        ),
        gasLimit: 1_000_000n,
        maxFeePerGas: 10n * BASE_FEE,
        maxPriorityFeePerGas: 1n,
      },
      { common },
    ).sign(hexToBytes(KEYS[k] as `0x${string}`)),
  );
}

/** "vm": no direct path; "fast": ethereumjs objects given; "raw": raw bytes and a builder, as the block builder does. */
async function run(specs: (Spec | TypedTransaction)[], mode: "vm" | "fast" | "raw", miner: Uint8Array = MINER) {
  const fast = mode !== "vm";
  /** Raw mode: transactions whose ethereumjs object was built. */
  let built = 0;
  const nodes = new Map<string, Uint8Array>();
  const store = new TrieNodeStore({ getNode: async (k) => nodes.get(k) });
  const genesis = await buildGenesis(spec, common, store);
  const state = openWorldState(common, store, genesis.header.stateRoot, HEAD_STATE_OPTIONS);
  const vm = await createAzoraVM(common, state, { getBlockHash: async () => genesis.hash });
  let evmCalls = 0;
  const runCall = vm.evm.runCall.bind(vm.evm);
  vm.evm.runCall = (opts) => {
    evmCalls++;
    return runCall(opts);
  };
  const nonces = new Map<number, bigint>([
    [0, 1n],
    [1, 1n],
  ]);
  const blocks: unknown[] = [];
  const included: boolean[] = [];
  const halves = [setupTxs(), specs.slice(0, specs.length >> 1), specs.slice(specs.length >> 1)] as const;
  for (let b = 0; b < halves.length; b++) {
    const env: BlockEnv = {
      number: BigInt(b + 1),
      timestamp: spec.genesisTime + BigInt(b),
      gasLimit: spec.gasLimit,
      baseFeePerGas: BASE_FEE,
      miner,
      parentHash: genesis.hash,
    };
    const exec = await BlockExecution.begin(vm, state, common, env, { fastTransfers: fast, fastModuleCalls: fast });
    for (const item of halves[b]) {
      let tx: TypedTransaction;
      let key = -1;
      if ("op" in item) {
        key = item.key;
        const next = nonces.get(key) ?? 0n;
        tx = build(item, next + BigInt(item.nonceDelta) < 0n ? 0n : next + BigInt(item.nonceDelta));
      } else tx = item;
      const made = tx;
      const r =
        mode === "raw"
          ? await exec.apply(
              () => {
                built++;
                return made;
              },
              tx.getSenderAddress(),
              tx.serialize(),
            )
          : await exec.apply(tx, tx.getSenderAddress(), tx.serialize());
      if (b === 0) expect(r.included && r.receipt.status).toBe(1);
      included.push(r.included);
      if (r.included && key >= 0) nonces.set(key, (nonces.get(key) ?? 0n) + 1n);
    }
    const sealed = await exec.seal();
    await exec.commit();
    // The seal computes each receipt's bloom once; the plain definitions must agree.
    expect(sealed.logsBloom).toEqual(logsBloom(sealed.receipts.flatMap((r) => r.logs)));
    expect(sealed.receiptsRoot).toEqual(await orderedTrieRoot(sealed.receipts.map(encodeReceiptForRoot)));
    blocks.push({
      receipts: sealed.receipts,
      stateRoot: bytesToHex(sealed.stateRoot),
      receiptsRoot: bytesToHex(sealed.receiptsRoot),
      logsBloom: bytesToHex(sealed.logsBloom),
      gasUsed: sealed.gasUsed,
    });
  }
  return { result: { included, blocks }, evmCalls, built };
}

describe("direct native-module path", () => {
  it("matches the full VM on random LEARN and NFT call sequences (same inclusions, receipts and roots)", async () => {
    let direct = 0;
    let fallbacks = 0;
    let statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fc.array(specArb, { minLength: 10, maxLength: 24 }), async (specs) => {
        const fast = await run(specs, "fast");
        const slow = await run(specs, "vm");
        expect(fast.result).toEqual(slow.result);
        // As the block builder runs them: the same, and the ethereumjs object built only for
        // transactions the VM ran or refused.
        const raw = await run(specs, "raw");
        expect(raw.result).toEqual(slow.result);
        expect(raw.evmCalls).toBe(fast.evmCalls);
        expect(raw.built).toBeLessThanOrEqual(raw.evmCalls + raw.result.included.filter((i) => !i).length);
        direct += slow.evmCalls - fast.evmCalls;
        fallbacks += fast.evmCalls - 2; // the two setup transactions always run on the VM
        for (const b of fast.result.blocks as { receipts: { status: number }[] }[])
          statuses = new Set([...statuses, ...b.receipts.map((r) => r.status)]);
      }),
      { numRuns: 40, seed: 20261205 },
    );
    // Not vacuous: most calls took the direct path, some fell back, and both outcomes occurred.
    expect(direct).toBeGreaterThan(200);
    expect(fallbacks).toBeGreaterThan(20);
    expect([...statuses].sort()).toEqual([0, 1]);
  });
});

describe("direct native-module path beside the VM in one block", () => {
  const spec = (key: number, op: Op, over: Partial<Spec> = {}): Spec => ({
    key,
    op,
    gasLimit: 300_000n,
    value: 0n,
    type: 2,
    accessList: false,
    maxFee: 10n * BASE_FEE,
    tip: 1n,
    nonceDelta: 0,
    ...over,
  });
  const viaVM = { accessList: true }; // an access list keeps a call off the direct path

  it("a VM transaction reads what direct calls before it in the block wrote, and its writes are not overwritten at the seal", async () => {
    const specs = [
      spec(0, { kind: "learn.transfer", to: 1, amount: 5n }),
      spec(1, { kind: "learn.transfer", to: 2, amount: 7n }),
      spec(0, { kind: "learn.transfer", to: 1, amount: 11n }, viaVM),
      spec(1, { kind: "learn.transfer", to: 0, amount: 13n }),
      spec(0, { kind: "nft.mint", collection: 0, to: 1, uri: URI }),
      spec(0, { kind: "nft.mint", collection: 0, to: 2, uri: URI }, viaVM),
      spec(1, { kind: "nft.transferFrom", collection: 0, from: 1, to: 2, id: 1n }),
      spec(0, { kind: "learn.transfer", to: 2, amount: 17n }),
    ];
    // Both halves (blocks 2 and 3) mix direct calls and VM calls on the same words.
    const fast = await run([...specs, ...specs], "fast");
    const slow = await run([...specs, ...specs], "vm");
    expect(fast.evmCalls).toBe(2 + 4); // the setup, and the two VM calls of each block
    expect(fast.result).toEqual(slow.result);
  });

  it("a failed or EVM-bound direct call leaves none of its writes: a revert after a write, a mint to a contract", async () => {
    const big = 2n ** 200n; // more LEARN than anyone holds
    const specs = [
      // Mints write every word before calling the receiver; LEARN's account has code: the EVM takes over.
      spec(0, { kind: "nft.mint", collection: 0, to: 5, uri: URI }),
      spec(0, { kind: "nft.mint", collection: 0, to: 1, uri: URI }),
      // transferFrom spends the allowance (a write) before the balance check reverts.
      spec(0, { kind: "learn.approve", spender: 1, amount: big }),
      spec(1, { kind: "learn.transferFrom", from: 0, to: 2, amount: big - 1n }),
      spec(1, { kind: "learn.transferFrom", from: 0, to: 2, amount: 3n }),
      spec(0, { kind: "learn.transfer", to: 1, amount: 1n }, viaVM),
    ];
    const fast = await run([...specs, ...specs], "fast");
    const slow = await run([...specs, ...specs], "vm");
    // Per block: the mint to LEARN's account (its receiver call a nested EVM call) and the call with an access list.
    expect(fast.evmCalls).toBe(2 + 2 * 3);
    expect(fast.result).toEqual(slow.result);
    const statuses = (fast.result.blocks as { receipts: { status: number }[] }[])[1].receipts.map((r) => r.status);
    expect(statuses).toEqual([0, 1, 1, 0, 1, 1]); // LEARN's marker code answers the receiver check with INVALID
  });

  it("the miner's tips from direct calls are there whenever the miner's account is read (a guard for deferring them)", async () => {
    // POOR (key 3) mines: it holds no AZR but the tips of the calls before its own transactions,
    // which it can only pay with them — directly and through the VM (an access list). A contract
    // stores BALANCE(COINBASE) when called (through the VM) after direct calls that tipped.
    const rich = { tip: 5n * BASE_FEE };
    const poor = { gasLimit: 60_000n, maxFee: 2n * BASE_FEE, tip: 0n };
    const prober = hexToBytes(DEV_KEYS[4] as `0x${string}`);
    const probeTx = (nonce: bigint, data: Uint8Array, to?: Uint8Array) =>
      createTxFromRLP(
        createFeeMarket1559Tx(
          { chainId: common.chainId(), nonce, to, data, gasLimit: 100_000n, maxFeePerGas: 10n * BASE_FEE },
          { common },
        )
          .sign(prober)
          .serialize(),
        { common },
      );
    // Init code returning the runtime COINBASE BALANCE PUSH1 0 SSTORE STOP.
    const deploy = probeTx(0n, hexToBytes("0x654131600055006000526006601af3"));
    const probe = probeTx(1n, new Uint8Array(0), generateAddress(privateToAddress(prober), Uint8Array.of()));
    const half = (probeOrDeploy: TypedTransaction) => [
      spec(0, { kind: "nft.mint", collection: 0, to: 1, uri: URI }, rich),
      spec(0, { kind: "learn.transfer", to: 1, amount: 5n }, rich),
      spec(3, { kind: "learn.transfer", to: 1, amount: 0n }, poor),
      spec(1, { kind: "learn.transfer", to: 2, amount: 7n }, rich),
      probeOrDeploy,
      spec(0, { kind: "nft.mint", collection: 0, to: 2, uri: URI }, rich),
      spec(3, { kind: "learn.transfer", to: 1, amount: 0n }, { ...poor, ...viaVM }),
      spec(1, { kind: "learn.transfer", to: 0, amount: 1n }, rich),
    ];
    const miner = addressOf(POOR_KEY);
    const specs = [...half(deploy), ...half(probe)];
    const fast = await run(specs, "fast", miner);
    const slow = await run(specs, "vm", miner);
    expect(fast.result).toEqual(slow.result);
    // Not vacuous: the miner's own transactions were included (they need the tips before them), its
    // first of each block took the direct path, and the probe stored a balance.
    expect(slow.result.included.every((i) => i)).toBe(true);
    expect(fast.evmCalls).toBe(2 + 2 * 2);
    const probeReceipt = (fast.result.blocks as { receipts: { status: number; gasUsed: bigint }[] }[])[2].receipts[4];
    expect(probeReceipt.status).toBe(1);
    expect(probeReceipt.gasUsed).toBeGreaterThan(40_000n); // SSTORE of a non-zero value into a fresh slot
  });
});
