import type { Common } from "@ethereumjs/common";
import { Account, Address } from "@ethereumjs/util";
import { type GenesisContext, installModules, NATIVE_MODULES } from "../runtime/modules/index.js";
import { type BlockHeader, hashEvidence, hashHeader } from "../runtime/primitives/block.js";
import { ZERO_ADDRESS, ZERO_HASH } from "../runtime/primitives/bytes.js";
import { EMPTY_TRIE_ROOT, keccak256 } from "../runtime/primitives/hash.js";
import { BLOOM_BYTES } from "../runtime/primitives/receipt.js";
import { hashValidatorSet } from "../runtime/primitives/validatorSet.js";
import type { TrieNodeStore } from "../runtime/state/trieNodeStore.js";
import { openWorldState, READER_STATE_OPTIONS } from "../runtime/state/worldState.js";
import { installPredeploys } from "./predeploys.js";
import { canonicalJSON, type GenesisSpec } from "./spec.js";

/** What the native modules' genesis reads besides their own parameters. */
export function genesisContext(spec: GenesisSpec): GenesisContext {
  return {
    totalNativeSupply: spec.alloc.reduce((sum, a) => sum + a.balance, 0n),
    genesisTime: spec.genesisTime,
    validators: spec.validators.map((v, i) => ({
      name: spec.validatorNames[i],
      publicKey: v.publicKey,
      power: v.votingPower,
      operator: spec.validatorOperators[i],
    })),
  };
}

export interface GenesisBlock {
  header: BlockHeader;
  hash: Uint8Array;
}

/**
 * Writes the genesis allocation into `store` (pending writes, persisted by the caller in the same
 * batch as block 0) and returns block 0. Its parentHash is keccak256 of the canonical genesis JSON,
 * so the genesis hash commits to every chain parameter, not only to the state: two nodes with
 * different timeouts or fees cannot mistake each other's chain for their own.
 */
export async function buildGenesis(spec: GenesisSpec, common: Common, store: TrieNodeStore): Promise<GenesisBlock> {
  const state = openWorldState(common, store, EMPTY_TRIE_ROOT, READER_STATE_OPTIONS);
  for (const a of spec.alloc) {
    const address = new Address(a.address);
    await state.putAccount(address, new Account(a.nonce, a.balance));
    if (a.code !== undefined && a.code.length > 0) await state.putCode(address, a.code);
    for (const [k, v] of a.storage) await state.putStorage(address, k, v);
  }
  await installModules(state, NATIVE_MODULES, spec.modules, genesisContext(spec));
  await installPredeploys(state, common);
  const stateRoot = await state.getStateRoot();
  const header: BlockHeader = {
    parentHash: keccak256(new TextEncoder().encode(canonicalJSON(spec.source))),
    number: 0n,
    timestamp: spec.genesisTime,
    stateRoot,
    transactionsRoot: EMPTY_TRIE_ROOT,
    receiptsRoot: EMPTY_TRIE_ROOT,
    logsBloom: new Uint8Array(BLOOM_BYTES),
    gasLimit: spec.gasLimit,
    gasUsed: 0n,
    baseFeePerGas: spec.baseFeePerGas,
    miner: ZERO_ADDRESS,
    proposer: ZERO_ADDRESS,
    validatorsHash: hashValidatorSet(spec.validators),
    lastCommitHash: ZERO_HASH,
    evidenceHash: hashEvidence([]),
  };
  return { header, hash: hashHeader(header) };
}
