import {
  createAccessList2930Tx,
  createFeeMarket1559Tx,
  createLegacyTx,
  createTxFromRLP,
  type TypedTransaction,
} from "@ethereumjs/tx";
import { hexToBytes, privateToAddress } from "@ethereumjs/util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildGenesis } from "../../../genesis/build.js";
import { devnetGenesis } from "../../../genesis/devnet.js";
import { createChainCommon } from "../../../runtime/evm/common.js";
import { createAzoraVM } from "../../../runtime/evm/vm.js";
import { BlockExecution } from "../../../runtime/executor.js";
import { bytesToHex } from "../../../runtime/primitives/bytes.js";
import { TrieNodeStore } from "../../../runtime/state/trieNodeStore.js";
import { HEAD_STATE_OPTIONS, openWorldState } from "../../../runtime/state/worldState.js";
import { DEV_KEYS } from "../../utils/devnode.js";

/**
 * Differential test: random sequences of value transfers executed with the fast path and with the
 * full ethereumjs VM must give identical inclusion decisions, receipts and state roots — and so must
 * the fast path fed as the block builder feeds it (the raw bytes and a function building the
 * ethereumjs object, which a plain transfer must never call).
 */
const spec = devnetGenesis();
const common = createChainCommon(spec.chainId);
const POOR_KEY = `0x${"11".repeat(32)}` as const;
const KEYS = [DEV_KEYS[0], DEV_KEYS[1], DEV_KEYS[2], POOR_KEY];
const addressOf = (k: string) => bytesToHex(privateToAddress(hexToBytes(k as `0x${string}`))) as `0x${string}`;
const MINER = addressOf(DEV_KEYS[1]); // the miner is also a sender and a recipient
const RECIPIENTS: `0x${string}`[] = [
  addressOf(DEV_KEYS[0]),
  addressOf(DEV_KEYS[2]),
  MINER,
  addressOf(POOR_KEY),
  "0x000000000000000000000000000000000000dead",
  "0x000000000000000000000000000000000000beef",
  "0x0000000000000000000000000000000000000001", // ecrecover precompile: VM path in both
  "0x000000000000000000000000000000000000000a", // removed KZG precompile: plain account
];
const BASE_FEE = 1_000_000_000n;

interface Spec {
  key: number;
  to: number;
  value: bigint;
  nonceDelta: number;
  type: 0 | 1 | 2;
  maxFee: bigint;
  tip: bigint;
  gasLimit: bigint;
  data: Uint8Array;
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  key: fc.nat({ max: KEYS.length - 1 }),
  to: fc.nat({ max: RECIPIENTS.length - 1 }),
  value: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 10n ** 18n }), fc.constant(10n ** 25n)),
  nonceDelta: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1) }),
  type: fc.constantFrom(0 as const, 1 as const, 2 as const),
  maxFee: fc.constantFrom(BASE_FEE - 1n, BASE_FEE, 2n * BASE_FEE, 10n * BASE_FEE),
  tip: fc.constantFrom(0n, 1n, BASE_FEE, 5n * BASE_FEE),
  gasLimit: fc.constantFrom(21_000n, 30_000n),
  // Mostly none; with data the VM decides (and words the intrinsic-gas error of a 21,000 limit).
  data: fc.oneof(
    { weight: 6, arbitrary: fc.constant(new Uint8Array(0)) },
    { weight: 1, arbitrary: fc.constantFrom(Uint8Array.of(0), Uint8Array.of(0x12, 0x34)) },
  ),
});

function build(s: Spec, nonce: bigint): TypedTransaction {
  const key = hexToBytes(KEYS[s.key] as `0x${string}`);
  const base = { nonce, to: RECIPIENTS[s.to], value: s.value, gasLimit: s.gasLimit, data: s.data };
  let tx: TypedTransaction;
  if (s.type === 0) tx = createLegacyTx({ ...base, gasPrice: s.maxFee }, { common }).sign(key);
  else if (s.type === 1)
    tx = createAccessList2930Tx({ ...base, chainId: spec.chainId, gasPrice: s.maxFee }, { common }).sign(key);
  else {
    const tip = s.tip > s.maxFee ? s.maxFee : s.tip;
    tx = createFeeMarket1559Tx(
      { ...base, chainId: spec.chainId, maxFeePerGas: s.maxFee, maxPriorityFeePerGas: tip },
      { common },
    ).sign(key);
  }
  return createTxFromRLP(tx.serialize(), { common });
}

/** "vm": no fast path; "fast": ethereumjs objects given; "raw": raw bytes and a builder, as the block builder does. */
async function run(specs: Spec[], mode: "vm" | "fast" | "raw") {
  const fastTransfers = mode !== "vm";
  const nodes = new Map<string, Uint8Array>();
  const store = new TrieNodeStore({ getNode: async (k) => nodes.get(k) });
  const genesis = await buildGenesis(spec, common, store);
  const state = openWorldState(common, store, genesis.header.stateRoot, HEAD_STATE_OPTIONS);
  const vm = await createAzoraVM(common, state, { getBlockHash: async () => genesis.hash });
  const exec = await BlockExecution.begin(
    vm,
    state,
    common,
    {
      number: 1n,
      timestamp: spec.genesisTime,
      gasLimit: spec.gasLimit,
      baseFeePerGas: BASE_FEE,
      miner: hexToBytes(MINER),
      parentHash: genesis.hash,
    },
    { fastTransfers, fastModuleCalls: fastTransfers },
  );
  const nonces = new Map<number, bigint>();
  const included: boolean[] = [];
  /** Per tx in "raw" mode: whether the ethereumjs object was built. */
  const built: boolean[] = [];
  for (const s of specs) {
    const next = nonces.get(s.key) ?? 0n;
    const nonce = next + BigInt(s.nonceDelta) < 0n ? 0n : next + BigInt(s.nonceDelta);
    const tx = build(s, nonce);
    let r: Awaited<ReturnType<typeof exec.apply>>;
    if (mode === "raw") {
      let made = false;
      r = await exec.apply(
        () => {
          made = true;
          return tx;
        },
        tx.getSenderAddress(),
        tx.serialize(),
      );
      built.push(made);
    } else r = await exec.apply(tx, tx.getSenderAddress(), tx.serialize());
    included.push(r.included);
    if (r.included) nonces.set(s.key, next + 1n);
  }
  const sealed = await exec.seal();
  return {
    result: {
      included,
      stateRoot: bytesToHex(sealed.stateRoot),
      receiptsRoot: bytesToHex(sealed.receiptsRoot),
      gasUsed: sealed.gasUsed,
    },
    built,
  };
}

/**
 * Whether the fast path must build the ethereumjs object for a tx: it must for one with data (the VM
 * runs it), never for a transfer between plain accounts; the precompile addresses go either way.
 */
const built = (s: Spec, made: boolean) => (s.data.length > 0 ? true : BigInt(RECIPIENTS[s.to]) <= 0xffn ? made : false);

describe("value-transfer fast path", () => {
  it("matches the full VM on random transfer sequences (same inclusions, receipts and state root)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(specArb, { minLength: 1, maxLength: 25 }), async (specs) => {
        const slow = (await run(specs, "vm")).result;
        expect((await run(specs, "fast")).result).toEqual(slow);
        const raw = await run(specs, "raw");
        expect(raw.result).toEqual(slow);
        expect(raw.built).toEqual(specs.map((s, i) => built(s, raw.built[i])));
      }),
      { numRuns: 60, seed: 20261126 },
    );
  });
});
