import type { Common } from "@ethereumjs/common";
import type { MerkleStateManager } from "@ethereumjs/statemanager";
import type { VM } from "@ethereumjs/vm";
import { type BlockEnv, createAzoraVM } from "../runtime/evm/vm.js";
import { hexToBytes } from "../runtime/primitives/bytes.js";
import { TrieNodeStore } from "../runtime/state/trieNodeStore.js";
import { HEAD_STATE_OPTIONS, openWorldState } from "../runtime/state/worldState.js";
import { buildGenesis, type GenesisBlock } from "./build.js";
import type { GenesisSpec } from "./spec.js";

/**
 * A chain's genesis state over an in-memory node map, opened as a node's head state with a VM on it:
 * for in-process execution without LevelDB (the executor's and modules' tests, the ledger's local
 * chain, the execution bench). Trie nodes the state writes later stay in its store until taken.
 * `env` is a block at genesis time on top of genesis (number 0, the genesis gas limit and minimum base
 * fee, a fixed miner), for callers that execute blocks by hand.
 */
export async function memoryGenesisWorld(
  spec: GenesisSpec,
  common: Common,
): Promise<{ genesis: GenesisBlock; state: MerkleStateManager; vm: VM; env: BlockEnv }> {
  const nodes = new Map<string, Uint8Array>();
  const store = new TrieNodeStore({ getNode: async (k) => nodes.get(k) });
  const genesis = await buildGenesis(spec, common, store);
  for (const [k, v] of store.takeWrites()) nodes.set(k, v);
  const state = openWorldState(common, store, genesis.header.stateRoot, HEAD_STATE_OPTIONS);
  const vm = await createAzoraVM(common, state, { getBlockHash: async () => genesis.hash });
  const env: BlockEnv = {
    number: 0n,
    timestamp: spec.genesisTime,
    gasLimit: spec.gasLimit,
    baseFeePerGas: spec.fees.minBaseFeePerGas,
    miner: hexToBytes("0x000000000000000000000000000000000000fee0"),
    parentHash: genesis.hash,
  };
  return { genesis, state, vm, env };
}
