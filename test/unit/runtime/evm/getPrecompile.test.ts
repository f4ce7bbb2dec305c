import { Address, KECCAK256_RLP } from "@ethereumjs/util";
import { describe, expect, it } from "vitest";
import { createChainCommon } from "../../../../runtime/evm/common.js";
import { createAzoraVM } from "../../../../runtime/evm/vm.js";
import { LEARN_ADDRESS } from "../../../../runtime/modules/index.js";
import { TrieNodeStore } from "../../../../runtime/state/trieNodeStore.js";
import { openWorldState } from "../../../../runtime/state/worldState.js";

/**
 * `AzoraEVM.getPrecompile` looks an `Address` up by its own hex: it must find what ethereumjs's
 * lookup by string finds (fixed precompiles and native modules), and nothing for a plain account.
 * Both the VM and the transfer fast path ask it, so a wrong key would send both the same wrong way
 * and their differential tests could not tell.
 */
describe("the node's EVM precompile lookup", () => {
  it("finds by Address what the lookup by hex string finds", async () => {
    const common = createChainCommon(1337n);
    const state = openWorldState(common, new TrieNodeStore({ getNode: async () => undefined }), KECCAK256_RLP, {
      cacheEntries: 10,
      trieCacheEntries: 0,
    });
    const vm = await createAzoraVM(common, state, { getBlockHash: async () => new Uint8Array(32) });
    const evm = vm.evm as typeof vm.evm & { getPrecompile(a: Address | `0x${string}`): unknown };
    for (const hex of ["0x0000000000000000000000000000000000000001", LEARN_ADDRESS.toString()] as const) {
      const found = evm.getPrecompile(new Address(Buffer.from(hex.slice(2), "hex")));
      expect(found, hex).toBeDefined();
      expect(found).toBe(evm.getPrecompile(hex as `0x${string}`));
    }
    expect(evm.getPrecompile(new Address(new Uint8Array(20).fill(0xbe)))).toBeUndefined();
  });
});
