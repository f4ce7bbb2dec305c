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
  private eipList: number[] | null = null;
  private eipSet = new Set<number>();

  /**
   * ethereumjs answers with `Array.includes` over ~100 EIPs, and the EVM asks on every opcode
   * step (~2 % of CPU). The set is rebuilt whenever ethereumjs rebuilds its list.
   */
  override isActivatedEIP(eip: number): boolean {
    const list = (this as unknown as { _activatedEIPsCache: number[] })._activatedEIPsCache;
    if (list !== this.eipList) {
      this.eipList = list;
      this.eipSet = new Set(list);
    }
    return this.eipSet.has(eip);
  }

  override copy(): Common {
    return this;
  }

  /**
   * The hardfork of a chain is fixed. Every EVM built on a Common subscribes to its
   * 'hardforkChanged' event; on a shared instance those listeners would pile up (one per state
   * view), so subscriptions are dropped and a hardfork change is refused instead.
   */
  override setHardfork(hardfork: string): void {
    if (hardfork !== this.hardfork() && this.frozenHardfork) {
      throw new Error(`the hardfork of an Azora chain is fixed (${this.hardfork()}); refusing ${hardfork}`);
    }
    super.setHardfork(hardfork);
  }

  private frozenHardfork = false;

  freeze(): this {
    this.frozenHardfork = true;
    this.events.on = () => this.events;
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
  }).freeze();
}
