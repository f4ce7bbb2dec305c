/**
 * eth_config (EIP-7910) for an Azora chain: one fork, active since genesis, so there is no `next`
 * or `last` to report. The fork id is EIP-6122's FORK_HASH — CRC32 of the genesis hash folded with
 * the activations after genesis, of which Azora has none.
 */
import { crc32 } from "node:zlib";
import type { ForkConfig } from "../../rpc/backend.js";
import { createChainCommon } from "../../runtime/evm/common.js";
import { precompileDirectory } from "../../runtime/evm/vm.js";

/**
 * Prague's blob parameters (EIP-7691) with no blob per block: Azora accepts no blob transactions,
 * and its BLOBBASEFEE reads the minimum blob base fee.
 */
const BLOB_SCHEDULE = { target: 0, max: 0, baseFeeUpdateFraction: 5_007_716 };

export function azoraForkConfig(chainId: bigint, genesisHash: Uint8Array): ForkConfig {
  const forkId = new Uint8Array(4);
  new DataView(forkId.buffer).setUint32(0, crc32(genesisHash));
  return {
    activationTime: 0,
    chainId,
    forkId,
    blobSchedule: BLOB_SCHEDULE,
    precompiles: precompileDirectory(createChainCommon(chainId)),
    // Azora's blocks make no system calls (no beacon roots, history contract or request queues).
    systemContracts: {},
  };
}
