import { type Common, createCustomCommon, Hardfork, Mainnet } from "@ethereumjs/common";
import { nativeEcrecover } from "../primitives/nativeCrypto.js";

/** The EVM rule set Azora runs: Ethereum's Prague (solc contracts must target `evmVersion: "prague"`). */
export const AZORA_HARDFORK = Hardfork.Prague;

/**
 * The ethereumjs `Common` for a chain id: Prague rules, native ecrecover.
 * Transaction objects copy their Common, so create one per chain and pass it everywhere.
 */
export function createChainCommon(chainId: bigint): Common {
  return createCustomCommon({ chainId: Number(chainId), name: `azora-${chainId}` }, Mainnet, {
    hardfork: AZORA_HARDFORK,
    customCrypto: { ecrecover: nativeEcrecover },
  });
}
