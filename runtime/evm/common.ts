import { Common, Hardfork, Mainnet, type ParamsDict } from "@ethereumjs/common";
import { keccak256 } from "../primitives/hash.js";
import { nativeEcrecover } from "../primitives/nativeCrypto.js";

/** The EVM rule set Azora runs: Ethereum's Prague (solc contracts must target `evmVersion: "prague"`). */
export const AZORA_HARDFORK = Hardfork.Prague;

/**
 * A Common that is shared instead of copied. Every ethereumjs transaction and block copies its
 * Common and re-merges parameter tables into it (`copy()` + `updateParams`): ~10 % of a node's
 * CPU under load. One chain has one rule set, so all of them can share this instance; each
 * parameter table is merged once.
 */
class SharedCommon extends Common {
  private readonly merged = new Set<ParamsDict>();

  override copy(): Common {
    return this;
  }

  override updateParams(params: ParamsDict): void {
    if (this.merged.has(params)) return;
    this.merged.add(params);
    super.updateParams(params);
  }
}

/** The ethereumjs `Common` for a chain id: Prague rules, native ecrecover and keccak. */
export function createChainCommon(chainId: bigint): Common {
  return new SharedCommon({
    chain: { ...Mainnet, chainId: Number(chainId), name: `azora-${chainId}` },
    hardfork: AZORA_HARDFORK,
    customCrypto: { ecrecover: nativeEcrecover, keccak256 },
  });
}
